from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from starlette.convertors import StringConvertor, register_url_convertor

from app.api.deps import API_ERRORS, RegionCode, set_created
from app.api.progress import AsOf
from app.auth import Admin, Reader
from app.bodies import ApiRoute
from app.clock import today_in
from app.config import SettingsDep
from app.db import SessionDep
from app.errors import Invalid
from app.etags import conditional
from app.models import QUALITY_KINDS
from app.schemas import ExplainOut, FlagOut, QualityCheckIn, QualityOut
from app.services import explain, quality, quality_checks
from app.services.quality import Flag

router = APIRouter(prefix="/api/v1", tags=["quality"], responses=API_ERRORS, route_class=ApiRoute)


class FlaggedRegion(StringConvertor):
    """A region code in /quality/{code}: any segment but `checks`, which is its own resource
    (so GET /quality/checks is 405 with `Allow: PUT`, not a search for region "checks")."""

    regex = r"(?!checks$)[^/]+"


register_url_convertor("flagged_region", FlaggedRegion())

Kinds = Annotated[
    str | None,
    Query(max_length=200, description="Comma-separated kinds; default every kind"),
]
Limit = Annotated[int, Query(ge=1, le=quality.MAX_LIMIT)]


def parse_kinds(kinds: str | None) -> list[str]:
    if kinds is None:
        return list(QUALITY_KINDS)
    asked = kinds.split(",")
    unknown = [kind for kind in asked if kind not in QUALITY_KINDS]
    if unknown:
        message = f"unknown kind {unknown[0]!r}: one of {', '.join(QUALITY_KINDS)}"
        raise Invalid(f"kinds: {message}", errors=[{"field": "kinds", "message": message}])
    return asked


def flag_body(flag: Flag) -> dict[str, Any]:
    checked = None
    if flag.checked is not None:
        check = flag.checked
        by = {"token_id": check.token_id, "role": check.role, "name": check.name}
        checked = {"at": check.at, "by": by, "note": check.note}
    return {
        "kind": flag.kind,
        "region": flag.region,
        "office": flag.office,
        "date": flag.date,
        "value": flag.value,
        "expected": flag.expected,
        "message": flag.message,
        "checked": checked,
    }


@router.get("/quality/{code:flagged_region}")
async def region_quality(
    code: RegionCode,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    _: Reader,
    as_of: AsOf = None,
    kinds: Kinds = None,
    limit: Limit = quality.DEFAULT_LIMIT,
    unchecked: bool = False,
) -> QualityOut:
    """Data-quality flags of a region's subtree on as_of, by kind, then code, then date."""
    as_of = as_of or today_in(settings.timezone)
    asked = parse_kinds(kinds)
    await conditional(request, response, session, code, as_of, asked, limit, unchecked)
    region, flags, total = await quality.region_quality(
        session, code=code, as_of=as_of, kinds=asked, limit=limit, unchecked=unchecked
    )
    return QualityOut.model_validate(
        {
            "region": {k: region[k] for k in ("code", "name", "level")},
            "as_of": as_of,
            "flags": [flag_body(flag) for flag in flags],
            "total": total,
        }
    )


@router.put("/quality/checks", responses={201: {"model": FlagOut}})
async def put_check(
    body: QualityCheckIn, session: SessionDep, response: Response, actor: Admin
) -> FlagOut:
    """Mark a flag as checked (201), or replace its note (200); 422 if it is not raised."""
    flag, created = await quality_checks.check_flag(
        session,
        actor=actor,
        kind=body.kind,
        region=body.region,
        office=body.office,
        day=body.date,
        note=body.note,
    )
    set_created(response, created)
    return FlagOut.model_validate(flag_body(flag))


@router.get("/progress/{code}/explain")
async def explain_progress(
    code: RegionCode,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    _: Reader,
    as_of: AsOf = None,
) -> ExplainOut:
    """The figures and counts that make a region's eligible and recorded on as_of."""
    as_of = as_of or today_in(settings.timezone)
    await conditional(request, response, session, code, as_of)
    explained = await explain.explain(session, code=code, as_of=as_of)
    return ExplainOut.model_validate(
        {
            "region": explained.region,
            "as_of": as_of,
            "parts": [asdict(part) for part in explained.parts],
            "totals": {"eligible": explained.eligible, "recorded": explained.recorded},
        }
    )
