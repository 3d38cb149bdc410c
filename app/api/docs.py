"""/docs: Swagger UI served by Rekam itself from the pinned fastapi-offline package (no CDN),
so the API's documentation works with no internet, under a strict Content-Security-Policy."""

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

PAGE = Path(__file__).resolve().parent.parent / "static" / "docs"
# The page's own script, then Swagger UI's files; nothing else in the package is served.
SERVED = frozenset({"init.js", "swagger-ui-bundle.js", "swagger-ui.css"})
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
HEADERS = {"Content-Security-Policy": CSP, "Cache-Control": "no-cache"}

router = APIRouter(include_in_schema=False)


class DocsFiles(StaticFiles):
    """Files looked up in app/static/docs, then in fastapi-offline's static folder."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        if path not in SERVED:
            raise HTTPException(status_code=404)
        response = await super().get_response(path, scope)
        response.headers.update(HEADERS)
        return response


@router.get("/docs")
async def docs() -> FileResponse:
    """The API's documentation page; its script and styles are under /docs/static/."""
    return FileResponse(PAGE / "index.html", headers=HEADERS)


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.mount(
        "/docs/static",
        DocsFiles(directory=PAGE, packages=[("fastapi_offline", "static")]),
        name="docs-static",
    )
