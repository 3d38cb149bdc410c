from fastapi import APIRouter, Response

from app.api.deps import API_ERRORS, OfficeCode, RegionQuery, set_created
from app.auth import Admin, Reader
from app.bodies import ApiRoute
from app.config import SettingsDep
from app.db import SessionDep
from app.schemas import OfficeIn, OfficeListOut, OfficeOut
from app.services import offices

router = APIRouter(
    prefix="/api/v1/offices", tags=["offices"], responses=API_ERRORS, route_class=ApiRoute
)


@router.put("/{code}", responses={201: {"model": OfficeOut}})
async def put_office(
    code: OfficeCode,
    body: OfficeIn,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    actor: Admin,
) -> OfficeOut:
    """Create (201) or replace (200) an office."""
    office, created = await offices.put_office(
        session, actor=actor, code=code, data=body, default_timezone=settings.timezone
    )
    set_created(response, created)
    return OfficeOut.model_validate(office)


@router.get("/{code}")
async def get_office(code: OfficeCode, session: SessionDep, _: Reader) -> OfficeOut:
    """One office."""
    return OfficeOut.model_validate(await offices.get_office(session, code))


@router.get("")
async def list_offices(session: SessionDep, _: Reader, region: RegionQuery = "ID") -> OfficeListOut:
    """Offices in a region or anywhere under it, by code."""
    return OfficeListOut.model_validate(
        {"offices": await offices.list_offices(session, region=region)}
    )
