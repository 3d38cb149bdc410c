from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response

from app import metrics
from app.api.deps import (
    API_ERRORS,
    DatePath,
    DateText,
    FromQuery,
    OfficeCode,
    ToQuery,
    check_range,
    error_responses,
    json_body,
    read_json,
)
from app.auth import Admin, Reader, Writer, bearer_scheme, writer_in
from app.bodies import ApiRoute, is_json, media_type
from app.clock import default_range, today_in
from app.config import Settings, SettingsDep
from app.db import DriverConnectionDep, SessionDep
from app.schemas import BatchOut, CountIn, CountListOut, CountOut, HistoryOut
from app.services import batch_input, counts
from app.services.offices import get_office

router = APIRouter(prefix="/api/v1", tags=["counts"], responses=API_ERRORS, route_class=ApiRoute)

LIST_DAYS = 31


# The busiest write: every office posts its day here. It runs on the driver's connection with
# no dependencies but its path and headers (the token is looked up inside the write's own
# transaction), and answers with the JSON it serialises once: the framework's share of a PUT
# was most of its CPU (bench/RESULTS.md).
@router.put(
    "/offices/{code}/counts/{date}",
    response_model=CountOut,
    responses={201: {"model": CountOut}, **error_responses(412)},
    openapi_extra=json_body(CountIn) | {"security": [{bearer_scheme.scheme_name: []}]},
)
async def put_count(
    code: OfficeCode,
    date: DateText,
    request: Request,
    connect: DriverConnectionDep,
    if_match: Annotated[str | None, Header()] = None,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """Create (201) or replace (200) an office's count for a date."""
    settings: Settings = request.app.state.settings
    # The body is read here and validated only after the permission checks (403 before 422).
    raw = await request.body()
    async with connect() as connection:
        stored, outcome = await counts.put_count(
            connection,
            identify=lambda db: writer_in(db, request, settings),
            office_code=code,
            day_text=date,
            read_body=lambda: read_json(CountIn, raw),
            if_match=if_match,
            if_none_match=if_none_match,
            edit_window_days=settings.edit_window_days,
        )
    metrics.observe_counts({outcome: 1}, batch=False)
    return Response(
        CountOut.model_validate(stored._asdict()).model_dump_json(),
        status_code=201 if outcome == "created" else 200,
        media_type="application/json",
        headers={"ETag": f'"{stored.version}"'},
    )


@router.get("/offices/{code}/counts/{date}")
async def get_count(
    code: OfficeCode, date: DatePath, session: SessionDep, response: Response, _: Reader
) -> CountOut:
    """One count."""
    stored = await counts.get_count(session, office=code, day=date)
    response.headers["ETag"] = f'"{stored.version}"'
    return CountOut.model_validate(stored._asdict())


@router.get("/offices/{code}/counts")
async def list_counts(
    code: OfficeCode,
    session: SessionDep,
    _: Reader,
    start: FromQuery = None,
    end: ToQuery = None,
) -> CountListOut:
    """An office's counts by date; by default the last 31 days of its calendar."""
    today = today_in((await get_office(session, code))["timezone"])
    start, end = default_range(start, end, today, LIST_DAYS)
    check_range(start, end)
    found = await counts.list_counts(session, office=code, start=start, end=end)
    return CountListOut.model_validate(
        {"office": code, "counts": [count._asdict() for count in found]}
    )


@router.get("/offices/{code}/counts/{date}/history")
async def count_history(
    code: OfficeCode, date: DatePath, session: SessionDep, _: Reader
) -> HistoryOut:
    """Every revision of a count, oldest first."""
    revisions = await counts.count_history(session, office=code, day=date)
    return HistoryOut.model_validate({"office": code, "date": date, "revisions": revisions})


@router.delete("/offices/{code}/counts/{date}", status_code=204)
async def delete_count(
    code: OfficeCode, date: DatePath, session: SessionDep, actor: Admin
) -> Response:
    """Delete a count (admin); the deletion stays in its history."""
    await counts.delete_count(session, actor=actor, office=code, day=date)
    return Response(status_code=204)


_BATCH_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/BatchIn"}},
            "text/csv": {
                "schema": {"type": "string", "description": "office,date,recordings[,note]"}
            },
        },
    }
}


@router.post(
    "/counts",
    openapi_extra=_BATCH_BODY,
    responses=error_responses(415),
)
async def post_counts(
    request: Request, session: SessionDep, settings: SettingsDep, actor: Writer
) -> BatchOut:
    """Write a batch of counts, all or nothing (JSON or CSV)."""
    # ApiRoute has refused every other media type already (415).
    body = await request.body()
    if is_json(media_type(request)):
        batch = batch_input.parse_json(body, settings.max_batch)
    else:
        batch = batch_input.parse_csv(body, settings.max_batch)
    summary = await counts.write_batch(
        session,
        actor=actor,
        items=batch.items,
        lines=batch.lines,
        early_errors=batch.errors,
        edit_window_days=settings.edit_window_days,
    )
    metrics.observe_counts(summary, batch=True)
    return BatchOut.model_validate(summary)
