"""Offices: where counts are recorded, each attached to one region."""

import re
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app import codes
from app.auth import Actor
from app.errors import Invalid, NotFound
from app.schemas import OfficeIn
from app.scopes import check_scope
from app.services import audit
from app.services.audit import Change
from app.services.regions import get_region
from app.services.tallies import tally_statement, write_with_tallies

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
CODE = re.compile(CODE_PATTERN)
COLUMNS = "code, name, region, kind, daily_target, timezone, opened_on, active"


class OfficeRow(NamedTuple):
    id: int
    code: str
    region: str
    timezone: str
    opened_on: date | None
    active: bool


def check_code(code: str) -> None:
    if not CODE.fullmatch(code):
        raise Invalid(
            "an office code is 1 to 64 letters, digits, '.', '_' or '-', starting with a "
            "letter or digit"
        )


async def get_office(session: AsyncSession, code: str) -> dict[str, Any]:
    """The office's fields, with its internal id for the queries that need it."""
    check_code(code)
    row = (await session.execute(_GET, {"code": code})).one_or_none()
    if row is None:
        raise NotFound(f"no office {code}")
    return dict(row._mapping)


async def list_offices(session: AsyncSession, *, region: str) -> list[dict[str, Any]]:
    """Offices in the region or anywhere under it."""
    await get_region(session, region)
    rows = await session.execute(
        text(
            f"""
            SELECT {COLUMNS} FROM offices o
            WHERE o.region IN (SELECT code FROM regions WHERE CAST(:region AS text) = ANY(lineage))
            ORDER BY code COLLATE "C"
            """
        ),
        {"region": region},
    )
    return [dict(row._mapping) for row in rows]


# Also switches this transaction to generic plans: the count write that follows is one
# long statement whose plan does not depend on its values, and planning it anew each time
# would cost more than running it. (Reads keep custom plans; see db.py.)
_LOCK = text(
    """
    SELECT id, code, region, timezone, opened_on, active,
           set_config('plan_cache_mode', 'force_generic_plan', true) AS plans
    FROM offices
    WHERE code = ANY(CAST(:codes AS text[])) ORDER BY id FOR NO KEY UPDATE
    """
)
_GET = text(f"SELECT id, {COLUMNS} FROM offices WHERE code = :code")
_STATE = text(f"SELECT {COLUMNS} FROM offices WHERE code = :code")


async def lock_offices(session: AsyncSession, codes: list[str]) -> dict[str, OfficeRow]:
    """Fetch offices and hold their rows until commit: count writes for one office queue here,
    so each write sees the previous one's result and computes its deltas from it."""
    rows = await session.execute(_LOCK, {"codes": codes})
    # By position (the columns are OfficeRow's, in order): a batch locks 7,800 offices, and
    # reading a Row's attributes by name costs several times more.
    offices = (OfficeRow(*columns) for *columns, _plans in rows)
    return {office.code: office for office in offices}


_MOVE = tally_statement(
    """
delta_rows AS (
    SELECT office_id, CAST(:old_region AS text) AS region, date, -recordings AS delta, -1 AS reports
    FROM counts WHERE office_id = :office_id
    UNION ALL
    SELECT office_id, CAST(:new_region AS text), date, recordings, 1
    FROM counts WHERE office_id = :office_id
)"""
)


async def put_office(
    session: AsyncSession, *, actor: Actor, code: str, data: OfficeIn, default_timezone: str
) -> tuple[dict[str, Any], bool]:
    """Create or replace an office; moving it to another region moves its counts' tallies.
    A scoped admin neither moves an office out of its subtree nor takes one in."""
    check_scope(actor, [data.region])
    check_code(code)
    if codes.parse(data.region).level == "nation":
        raise Invalid("an office belongs to a province or a region under one, not to ID")
    if (
        await session.scalar(
            text("SELECT 1 FROM regions WHERE code = :region"), {"region": data.region}
        )
        is None
    ):
        raise Invalid(f"region {data.region} does not exist")
    existing = await lock_offices(session, [code])
    values = data.model_dump() | {"code": code, "timezone": data.timezone or default_timezone}
    previous = existing.get(code)
    before = None
    if previous is not None:
        check_scope(actor, [previous.region])
        before = dict((await session.execute(_STATE, {"code": code})).one()._mapping)
    if previous is not None and previous.region != data.region:
        # Count writers queue on this lock, and so does a figure being computed.
        await session.execute(text("LOCK TABLE counts IN SHARE ROW EXCLUSIVE MODE"))
        await write_with_tallies(
            session,
            _MOVE,
            {"office_id": previous.id, "old_region": previous.region, "new_region": data.region},
        )
    row = (
        await session.execute(
            text(
                f"""
                INSERT INTO offices AS o ({COLUMNS})
                VALUES (:code, :name, :region, :kind, :daily_target, :timezone, :opened_on, :active)
                ON CONFLICT (code) DO UPDATE SET
                    name = excluded.name, region = excluded.region, kind = excluded.kind,
                    daily_target = excluded.daily_target, timezone = excluded.timezone,
                    opened_on = excluded.opened_on, active = excluded.active, updated_at = now()
                RETURNING {COLUMNS}
                """
            ),
            values,
        )
    ).one()
    after = dict(row._mapping)
    if before is None:
        changes = [Change("office", code, "created", None, after, data.region)]
    else:
        changes = audit.update("office", code, before, after, data.region)
    await audit.record(session, actor=actor, changes=changes)
    await session.commit()
    return after, previous is None
