from datetime import datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query

from app import codes
from app.api.deps import API_ERRORS, FromQuery, RegionQuery, ToQuery
from app.auth import Admin
from app.bodies import ApiRoute
from app.config import SettingsDep
from app.db import SessionDep
from app.errors import Invalid
from app.schemas import AuditKind, AuditOut
from app.scopes import check_scope, scope_of
from app.services import audit

router = APIRouter(
    prefix="/api/v1/audit", tags=["audit"], responses=API_ERRORS, route_class=ApiRoute
)


@router.get("")
async def list_audit(
    session: SessionDep,
    settings: SettingsDep,
    actor: Admin,
    region: RegionQuery | None = None,
    start: FromQuery = None,
    end: ToQuery = None,
    kind: AuditKind | None = None,
    limit: Annotated[int, Query(ge=1, le=audit.MAX_LIMIT)] = audit.DEFAULT_LIMIT,
    before: Annotated[str | None, Query(max_length=200)] = None,
) -> AuditOut:
    """Changes of regions, targets, figures, offices and tokens in a region's subtree
    (default: the caller's scope), newest first; `from` and `to` are days in REKAM_TIMEZONE."""
    region = scope_of(actor) if region is None else region
    codes.parse(region)
    # A scoped admin reads the record of its own subtree only.
    check_scope(actor, [region])
    if start is not None and end is not None and start > end:
        raise Invalid(f"from ({start}) is after to ({end})")
    zone = ZoneInfo(settings.timezone)
    page = await audit.list_events(
        session,
        region=region,
        kind=kind,
        start=None if start is None else datetime.combine(start, time(), zone),
        end=None if end is None else datetime.combine(end + timedelta(days=1), time(), zone),
        limit=limit,
        before=None if before is None else audit.decode_cursor(before),
    )
    events = [
        {
            "at": event.at,
            "actor": {
                "token_id": event.token_id,
                "role": event.actor_role,
                "name": event.actor_name,
                "region": event.actor_region,
            },
            "kind": event.kind,
            "key": event.key,
            "action": event.action,
            "before": event.before,
            "after": event.after,
        }
        for event in page.events
    ]
    return AuditOut.model_validate({"events": events, "next_before": page.next_before})
