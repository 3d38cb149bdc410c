from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(__file__).resolve().parent.parent / "static" / "dashboard"

router = APIRouter(include_in_schema=False)
static_files = StaticFiles(directory=ASSETS)


@router.get("/")
async def root() -> RedirectResponse:
    return RedirectResponse("/dashboard")


@router.get("/dashboard")
async def dashboard() -> FileResponse:
    """The dashboard page; its script and styles are under /dashboard/static/."""
    return FileResponse(ASSETS / "index.html", headers={"Cache-Control": "no-cache"})
