from fastapi import APIRouter, Request, Response

from app.api.deps import (
    API_ERRORS,
    DatePath,
    RegionCode,
    RegionQuery,
    bulk_body,
    error_responses,
    set_created,
)
from app.auth import Admin, Reader
from app.bodies import ApiRoute, media_type
from app.codes import NATION
from app.config import SettingsDep
from app.db import SessionDep
from app.etags import conditional
from app.schemas import (
    BatchOut,
    FigureIn,
    FigureListOut,
    FigureOut,
    RegionBatchIn,
    RegionIn,
    RegionListOut,
    RegionOut,
)
from app.services import bulk_input, regions

router = APIRouter(
    prefix="/api/v1/regions", tags=["regions"], responses=API_ERRORS, route_class=ApiRoute
)


@router.post(
    "",
    openapi_extra=bulk_body(
        RegionBatchIn, "code,name[,daily_target,coverage_target,coverage_deadline]"
    ),
)
async def post_regions(
    request: Request, session: SessionDep, settings: SettingsDep, actor: Admin
) -> BatchOut:
    """Create or replace a batch of regions, all or nothing (JSON or CSV), in any order."""
    batch = bulk_input.parse_body(
        regions.REGION_BATCH, await request.body(), media_type(request), settings.max_batch
    )
    summary = await regions.write_regions(session, actor=actor, batch=batch)
    return BatchOut.model_validate(summary._asdict())


@router.put("/{code}", responses={201: {"model": RegionOut}})
async def put_region(
    code: RegionCode, body: RegionIn, session: SessionDep, response: Response, actor: Admin
) -> RegionOut:
    """Create (201) or replace (200) a region; its parent must exist."""
    region, created = await regions.put_region(session, actor=actor, code=code, data=body)
    set_created(response, created)
    return RegionOut.model_validate(region)


@router.delete("/{code}", status_code=204, responses=error_responses(409))
async def delete_region(code: RegionCode, session: SessionDep, actor: Admin) -> Response:
    """Delete a region with no regions under it, no offices, figures or tokens (409 else)."""
    await regions.delete_region(session, actor=actor, code=code)
    return Response(status_code=204)


@router.get("/{code}")
async def get_region(code: RegionCode, session: SessionDep, _: Reader) -> RegionOut:
    """One region."""
    return RegionOut.model_validate(await regions.get_region(session, code))


@router.get("")
async def list_regions(
    request: Request,
    response: Response,
    session: SessionDep,
    _: Reader,
    parent: RegionQuery = NATION,
) -> RegionListOut:
    """The direct children of a region (default ID), by code."""
    await conditional(request, response, session, parent)
    children = await regions.list_children(session, parent=parent)
    return RegionListOut.model_validate({"regions": children})


@router.put("/{code}/figures/{date}", responses={201: {"model": FigureOut}})
async def put_figure(
    code: RegionCode,
    date: DatePath,
    body: FigureIn,
    session: SessionDep,
    response: Response,
    actor: Admin,
) -> FigureOut:
    """Record (201) or revise (200) an official figure, as of the end of that date."""
    figure, created = await regions.put_figure(session, actor=actor, code=code, day=date, data=body)
    set_created(response, created)
    return FigureOut.model_validate(figure)


@router.get("/{code}/figures")
async def list_figures(code: RegionCode, session: SessionDep, _: Reader) -> FigureListOut:
    """Every official figure of a region, by date."""
    return FigureListOut.model_validate({"figures": await regions.list_figures(session, code=code)})


@router.delete("/{code}/figures/{date}", status_code=204)
async def delete_figure(
    code: RegionCode, date: DatePath, session: SessionDep, actor: Admin
) -> Response:
    """Delete an official figure."""
    await regions.delete_figure(session, actor=actor, code=code, day=date)
    return Response(status_code=204)
