from fastapi import APIRouter, Response

from app.api.deps import API_ERRORS, DatePath, RegionCode, RegionQuery, error_responses, set_created
from app.auth import Admin, Reader
from app.bodies import ApiRoute
from app.codes import NATION
from app.db import SessionDep
from app.schemas import FigureIn, FigureListOut, FigureOut, RegionIn, RegionListOut, RegionOut
from app.services import regions

router = APIRouter(
    prefix="/api/v1/regions", tags=["regions"], responses=API_ERRORS, route_class=ApiRoute
)


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
    session: SessionDep, _: Reader, parent: RegionQuery = NATION
) -> RegionListOut:
    """The direct children of a region (default ID), by code."""
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
