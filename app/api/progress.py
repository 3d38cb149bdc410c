from datetime import date, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from app import codes
from app.api.deps import (
    API_ERRORS,
    FromQuery,
    OfficeCode,
    RegionCode,
    RegionQuery,
    ToQuery,
    check_range,
)
from app.auth import Reader
from app.bodies import ApiRoute
from app.clock import default_range, today_in
from app.config import SettingsDep
from app.db import SessionDep, SessionFactoryDep
from app.errors import Invalid
from app.etags import conditional
from app.schemas import IsoDate, OfficeProgressOut, ProgressOut, SeriesOut
from app.services import export, progress
from app.services.offices import get_office
from app.services.regions import get_region

router = APIRouter(prefix="/api/v1", tags=["progress"], responses=API_ERRORS, route_class=ApiRoute)

AsOf = Annotated[IsoDate | None, Query(description="Default: today")]
Days = Annotated[int, Query(ge=1, le=366, description="The trailing window, in days")]
SERIES_DAYS = 30


def trailing_window_start(as_of: date, days: int) -> date:
    """The first day of the `days` days ending on as_of; 422 before the calendar begins."""
    if (as_of - date.min).days < days - 1:
        raise Invalid(f"a {days}-day window cannot end on {as_of}")
    return as_of - timedelta(days=days - 1)


def series_range(start: date | None, end: date | None, today: date) -> tuple[date, date]:
    """The range a series or an export covers: as asked, or the SERIES_DAYS days ending at
    `end` (default today); checked."""
    if start is None:
        trailing_window_start(end or today, SERIES_DAYS)
    start, end = default_range(start, end, today, SERIES_DAYS)
    check_range(start, end)
    return start, end


@router.get("/progress/{code}")
async def region_progress(
    request: Request,
    response: Response,
    code: RegionCode,
    session: SessionDep,
    settings: SettingsDep,
    _: Reader,
    as_of: AsOf = None,
    days: Days = 7,
) -> ProgressOut:
    """Coverage, the day, the trailing window, the target and reporting of a region."""
    as_of = as_of or today_in(settings.timezone)
    trailing_window_start(as_of, days)
    await conditional(request, response, session, code, as_of, days)
    body = await progress.region_progress(session, code=code, as_of=as_of, days=days)
    return ProgressOut.model_validate(body)


@router.get("/progress/{code}/series")
async def region_series(
    request: Request,
    response: Response,
    code: RegionCode,
    session: SessionDep,
    settings: SettingsDep,
    _: Reader,
    start: FromQuery = None,
    end: ToQuery = None,
    bucket: Literal["day", "week", "month"] = "day",
) -> SeriesOut:
    """Recordings per day, ISO week or month, with recorded and coverage at each end."""
    start, end = series_range(start, end, today_in(settings.timezone))
    await conditional(request, response, session, code, start, end, bucket)
    body = await progress.region_series(session, code=code, start=start, end=end, bucket=bucket)
    return SeriesOut.model_validate(body)


@router.get("/offices/{code}/progress")
async def office_progress(
    request: Request,
    response: Response,
    code: OfficeCode,
    session: SessionDep,
    _: Reader,
    as_of: AsOf = None,
    days: Days = 7,
) -> OfficeProgressOut:
    """An office's day, trailing window, total and last report."""
    office = await get_office(session, code)
    as_of = as_of or today_in(office["timezone"])
    trailing_window_start(as_of, days)
    # The office's region's version: it changes with the office and its counts (and, more
    # often than needed, with its neighbours').
    await conditional(request, response, session, office["region"], code, as_of, days)
    body = await progress.office_progress(session, office=office, as_of=as_of, days=days)
    return OfficeProgressOut.model_validate(body)


@router.get(
    "/counts.csv",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/csv": {}}, "description": "office,region,date,recordings,note"}
    },
)
async def counts_csv(
    session: SessionDep,
    sessions: SessionFactoryDep,
    settings: SettingsDep,
    _: Reader,
    region: RegionQuery = codes.NATION,
    start: FromQuery = None,
    end: ToQuery = None,
) -> StreamingResponse:
    """Counts of a region's subtree as CSV, by date then office (default: the last 30 days)."""
    start, end = series_range(start, end, today_in(settings.timezone))
    await get_region(session, region)
    return StreamingResponse(
        export.counts_csv(sessions, region=region, start=start, end=end),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="counts-{region}.csv"'},
    )
