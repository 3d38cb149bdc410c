from fastapi import APIRouter, Request, Response

from app.api.deps import API_ERRORS, OfficeCode, RegionQuery, bulk_body, set_created
from app.auth import Admin, Reader
from app.bodies import ApiRoute, media_type
from app.config import SettingsDep
from app.db import SessionDep
from app.etags import conditional
from app.schemas import BatchOut, OfficeBatchIn, OfficeIn, OfficeListOut, OfficeOut
from app.services import bulk_input, offices

router = APIRouter(
    prefix="/api/v1/offices", tags=["offices"], responses=API_ERRORS, route_class=ApiRoute
)


@router.post(
    "",
    openapi_extra=bulk_body(
        OfficeBatchIn, "code,name,region[,kind,daily_target,timezone,opened_on,active]"
    ),
)
async def post_offices(
    request: Request, session: SessionDep, settings: SettingsDep, actor: Admin
) -> BatchOut:
    """Create or replace a batch of offices, all or nothing (JSON or CSV)."""
    batch = bulk_input.parse_body(
        offices.OFFICE_BATCH, await request.body(), media_type(request), settings.max_batch
    )
    summary = await offices.write_offices(
        session, actor=actor, batch=batch, default_timezone=settings.timezone
    )
    return BatchOut.model_validate(summary._asdict())


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
async def list_offices(
    request: Request, response: Response, session: SessionDep, _: Reader, region: RegionQuery = "ID"
) -> OfficeListOut:
    """Offices in a region or anywhere under it, by code."""
    await conditional(request, response, session, region)
    return OfficeListOut.model_validate(
        {"offices": await offices.list_offices(session, region=region)}
    )
