"""Marking a data-quality flag as checked: the follow-up list.

A check names a flag by its key (kind, region, office, date) and keeps what the flag showed
(value, expected, and for an outlier the count's version): it covers the flag while the flag
shows the same, so a count or figure that changes afterwards raises the flag again, and a
resubmission of the same values (which changes no version) keeps it checked."""

from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app import codes
from app.auth import Actor
from app.clock import now
from app.errors import Invalid
from app.scopes import check_scope
from app.services import audit
from app.services.offices import get_office
from app.services.quality import Flag, exact, fingerprint, flags_of
from app.services.regions import get_region

OFFICE_KINDS = frozenset({"outlier", "silent"})

_STORED = text(
    """
SELECT note, value, expected, count_version FROM quality_checks
WHERE kind = :kind AND region = :region AND office IS NOT DISTINCT FROM :office AND date = :date
FOR UPDATE
"""
)

_UPSERT = text(
    """
INSERT INTO quality_checks AS q
    (kind, region, office, date, value, expected, count_version, note, at,
     token_id, actor_role, actor_name)
VALUES (:kind, :region, :office, :date, :value, :expected, :count_version, :note, :at,
        :token_id, :role, :name)
ON CONFLICT (kind, region, office, date) DO UPDATE SET
    value = excluded.value, expected = excluded.expected,
    count_version = excluded.count_version, note = excluded.note, at = excluded.at,
    token_id = excluded.token_id, actor_role = excluded.actor_role,
    actor_name = excluded.actor_name
"""
)


def _key(kind: str, region: str, office: str | None, day: date) -> str:
    return f"{kind} {office or region} {day.isoformat()}"


async def _flag_region(kind: str, region: str | None, office: str | None, session: Any) -> str:
    """The region the flag lands in: the office's for an office's flag."""
    if kind in OFFICE_KINDS:
        if office is None:
            raise Invalid(f"a {kind} flag names an office", errors=[_field("office")])
        found: str = (await get_office(session, office))["region"]
        if region is not None and region != found:
            message = f"office {office} is in region {found}, not {region}"
            raise Invalid(message, errors=[{"field": "body.region", "message": message}])
        return found
    if office is not None:
        message = f"a {kind} flag is a region's: it names no office"
        raise Invalid(message, errors=[{"field": "body.office", "message": message}])
    if region is None:
        raise Invalid(f"a {kind} flag names a region", errors=[_field("region")])
    return region


def _field(name: str) -> dict[str, str]:
    return {"field": f"body.{name}", "message": "required for this kind"}


async def check_flag(
    session: AsyncSession,
    *,
    actor: Actor,
    kind: str,
    region: str | None,
    office: str | None,
    day: date,
    note: str,
) -> tuple[Flag, bool]:
    """Mark the flag with this key as checked (its region must be in the actor's scope);
    422 when no such flag is raised on that date. Returns the flag and whether the check is
    new."""
    where = await _flag_region(kind, region, office, session)
    check_scope(actor, [where])
    codes.parse(where)
    await get_region(session, where)
    # Each kind's flags keep their date when as_of is that date: an outlier is one of the
    # week ending as_of, over_coverage and silent are dated as_of, a figure flag its date.
    flags = await flags_of(session, region=where, as_of=day, kinds=[kind])
    wanted = (kind, where, office if kind in OFFICE_KINDS else None, day)
    flag = next((f for f in flags if f.key == wanted), None)
    if flag is None:
        who = f"office {office}" if kind in OFFICE_KINDS else f"region {where}"
        raise Invalid(f"no {kind} flag of {who} on {day}: nothing to check")
    value, expected, count_version = fingerprint(flag)
    stored = (
        await session.execute(
            _STORED, {"kind": kind, "region": where, "office": flag.office, "date": day}
        )
    ).one_or_none()
    state = {"note": note, "value": value, "expected": expected}
    before = None
    if stored is not None:
        before = {"note": stored.note, "value": stored.value, "expected": exact(stored.expected)}
    seen = stored is not None and (
        stored.value,
        exact(stored.expected),
        stored.count_version,
    ) == (value, expected, count_version)
    if seen and before == state:
        # Nothing changed: the check stays as it was, and nothing is recorded.
        return flag, False
    await session.execute(
        _UPSERT,
        {
            "kind": kind,
            "region": where,
            "office": flag.office,
            "date": day,
            "value": value,
            "expected": expected,
            "count_version": count_version,
            "note": note,
            "at": now(),
            "token_id": actor.token_id,
            "role": actor.role,
            "name": actor.name,
        },
    )
    ident = {"kind": kind, "region": where, "office": flag.office, "date": day}
    change = audit.Change(
        "quality_check",
        _key(kind, where, flag.office, day),
        "created" if before is None else "updated",
        None if before is None else {**ident, **before},
        {**ident, **state},
        where,
    )
    await audit.record(session, actor=actor, changes=[change])
    await session.commit()
    flags = await flags_of(session, region=where, as_of=day, kinds=[kind])
    return next(f for f in flags if f.key == wanted), before is None
