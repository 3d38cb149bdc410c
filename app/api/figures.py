from fastapi import APIRouter, Request

from app.api.deps import API_ERRORS, bulk_body
from app.auth import Admin
from app.bodies import ApiRoute, media_type
from app.config import SettingsDep
from app.db import SessionDep
from app.schemas import BatchOut, FigureBatchIn
from app.services import bulk_input, regions

router = APIRouter(
    prefix="/api/v1/figures", tags=["regions"], responses=API_ERRORS, route_class=ApiRoute
)


@router.post("", openapi_extra=bulk_body(FigureBatchIn, "region,date,eligible,recorded"))
async def post_figures(
    request: Request, session: SessionDep, settings: SettingsDep, actor: Admin
) -> BatchOut:
    """Record or revise a batch of official figures, all or nothing (JSON or CSV)."""
    batch = bulk_input.parse_body(
        regions.FIGURE_BATCH, await request.body(), media_type(request), settings.max_batch
    )
    summary = await regions.write_figures(session, actor=actor, batch=batch)
    return BatchOut.model_validate(summary._asdict())
