from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app import __version__, metrics
from app.api.deps import error_responses
from app.bodies import ApiRoute
from app.config import SettingsDep
from app.db import SessionDep
from app.errors import RETRY_AFTER_SECONDS, error_response
from app.schemas import MetaOut

router = APIRouter(tags=["operations"], route_class=ApiRoute)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up (no database involved)."""
    return {"status": "ok"}


@router.get("/readyz", responses=error_responses(503))
async def readyz(request: Request) -> JSONResponse:
    """200 when the database answers and its schema is at the latest migration."""
    expected = request.app.state.head_revision
    try:
        async with request.app.state.engine.connect() as connection:
            current = await connection.scalar(text("SELECT version_num FROM alembic_version"))
    except Exception as error:
        return _not_ready(f"the database does not answer ({type(error).__name__})")
    if current != expected:
        return _not_ready(f"the schema is at {current}, expected {expected}")
    return JSONResponse({"status": "ready", "schema": current})


def _not_ready(detail: str) -> JSONResponse:
    return error_response(503, detail, {"Retry-After": RETRY_AFTER_SECONDS})


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
async def metrics_text(request: Request) -> Response:
    """Prometheus metrics: requests, latencies, counts written, batch sizes, pool in use."""
    return Response(metrics.render(request.app.state.engine), media_type=metrics.CONTENT_TYPE)


@router.get("/api/v1/meta", responses=error_responses(503))
async def meta(session: SessionDep, settings: SettingsDep) -> MetaOut:
    """What this deployment is: version, timezone, and whether it holds demo data."""
    demo = await session.scalar(text("SELECT 1 FROM instance_flags WHERE name = 'demo'"))
    return MetaOut(
        version=__version__,
        demo=demo is not None,
        timezone=settings.timezone,
        public_read=settings.public_read,
        edit_window_days=settings.edit_window_days,
    )
