"""Offices: where counts are recorded, each attached to one region."""

import re
from collections.abc import Sequence
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app import codes
from app.auth import Actor
from app.db import Db, fetch
from app.errors import Invalid, NotFound
from app.schemas import OfficeIn, OfficeItemIn
from app.scopes import check_scope
from app.services import audit
from app.services.audit import Change
from app.services.bulk_input import BatchKind, ItemBatch, ItemProblem, WriteSummary
from app.services.regions import code_problem, existing_codes, get_region
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


BAD_CODE = (
    "an office code is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
)


def check_code(code: str) -> None:
    if not CODE.fullmatch(code):
        raise Invalid(BAD_CODE)


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
# would cost more than running it. (Reads keep custom plans; see db.py.) Public so that the
# benchmark's bare asyncpg baseline sends the very same SQL as a count write.
LOCK_OFFICES = text(
    """
    SELECT id, code, region, timezone, opened_on, active,
           set_config('plan_cache_mode', 'force_generic_plan', true) AS plans
    FROM offices
    WHERE code = ANY(CAST(:codes AS text[])) ORDER BY id FOR NO KEY UPDATE
    """
)
_GET = text(f"SELECT id, {COLUMNS} FROM offices WHERE code = :code")
_STATE = text(f"SELECT {COLUMNS} FROM offices WHERE code = :code")
_STATES = text(f"SELECT {COLUMNS} FROM offices WHERE code = ANY(CAST(:codes AS text[]))")


async def _office_states(session: AsyncSession, codes: list[str]) -> dict[str, dict[str, Any]]:
    """The recorded state of each of these offices that exists (as put_office records it)."""
    rows = await session.execute(_STATES, {"codes": codes})
    return {row.code: dict(row._mapping) for row in rows}


async def lock_offices(db: Db, codes: list[str]) -> dict[str, OfficeRow]:
    """Fetch offices and hold their rows until commit: count writes for one office queue here,
    so each write sees the previous one's result and computes its deltas from it."""
    rows = await fetch(db, LOCK_OFFICES, {"codes": codes})
    # By position (the columns are OfficeRow's, in order): a batch locks 7,800 offices, and
    # reading a row by column name costs several times more.
    offices = (OfficeRow(*tuple(row.values())[:-1]) for row in rows)
    return {office.code: office for office in offices}


# Offices that move take their counts from the old region's tallies to the new one's.
_MOVE = tally_statement(
    """
moves AS (
    SELECT * FROM unnest(CAST(:office_ids AS int[]), CAST(:old_regions AS text[]),
                         CAST(:new_regions AS text[])) AS m(office_id, old_region, new_region)
),
delta_rows AS (
    SELECT c.office_id, m.old_region AS region, c.date, -c.recordings AS delta, -1 AS reports
    FROM counts c JOIN moves m ON m.office_id = c.office_id
    UNION ALL
    SELECT c.office_id, m.new_region, c.date, c.recordings, 1
    FROM counts c JOIN moves m ON m.office_id = c.office_id
)""",
    # A count's verdict is its office's business, wherever the office is.
    rejudge=False,
)


class OfficeMove(NamedTuple):
    office_id: int
    old_region: str
    new_region: str


async def move_tallies(session: AsyncSession, moves: Sequence[OfficeMove]) -> None:
    """Move the counts of offices changing region to their new region's tallies, in the
    caller's transaction and before the offices' rows change."""
    if not moves:
        return
    # Count writers queue on this lock, and so does a figure being computed.
    await session.execute(text("LOCK TABLE counts IN SHARE ROW EXCLUSIVE MODE"))
    await write_with_tallies(
        session,
        _MOVE,
        {
            "office_ids": [move.office_id for move in moves],
            "old_regions": [move.old_region for move in moves],
            "new_regions": [move.new_region for move in moves],
        },
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
        await move_tallies(session, [OfficeMove(previous.id, previous.region, data.region)])
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


OFFICE_BATCH = BatchKind(
    member="offices",
    model=OfficeItemIn,
    columns=("code", "name", "region", "kind", "daily_target", "timezone", "opened_on", "active"),
    required=3,
    keys=("code",),
    integers=frozenset({"daily_target"}),
    booleans=frozenset({"active"}),
)


def offices_land_in(batch: ItemBatch[OfficeItemIn], stored: dict[str, OfficeRow]) -> list[str]:
    """The regions an office batch writes in: each item's region, and the region a moved
    office leaves (stored: the batch's offices that exist, as lock_offices gives them)."""
    regions = {item.region for _, item in batch.valid()}
    regions |= {stored[item.code].region for _, item in batch.valid() if item.code in stored}
    return sorted(regions)


_UPSERT_OFFICES = text(
    f"""
WITH written AS (
    INSERT INTO offices AS o ({COLUMNS})
    SELECT * FROM unnest(
        CAST(:codes AS text[]), CAST(:names AS text[]), CAST(:regions AS text[]),
        CAST(:kinds AS text[]), CAST(:daily_targets AS int[]), CAST(:timezones AS text[]),
        CAST(:opened_ons AS date[]), CAST(:actives AS boolean[]))
    ON CONFLICT (code) DO UPDATE SET
        name = excluded.name, region = excluded.region, kind = excluded.kind,
        daily_target = excluded.daily_target, timezone = excluded.timezone,
        opened_on = excluded.opened_on, active = excluded.active, updated_at = now()
    WHERE (o.name, o.region, o.kind, o.daily_target, o.timezone, o.opened_on, o.active)
        IS DISTINCT FROM (excluded.name, excluded.region, excluded.kind, excluded.daily_target,
                          excluded.timezone, excluded.opened_on, excluded.active)
    RETURNING (xmax = 0) AS created
)
SELECT count(*) FILTER (WHERE created) AS created,
       count(*) FILTER (WHERE NOT created) AS updated
FROM written
"""
)


async def write_offices(
    session: AsyncSession,
    *,
    actor: Actor,
    batch: ItemBatch[OfficeItemIn],
    default_timezone: str,
) -> WriteSummary:
    """Create or replace every office of the batch (PUT's rules for each), all or nothing;
    an office moved to another region takes its counts with it, as with PUT.

    The stored offices are locked first, so the regions the batch writes in,
    offices_land_in(batch, stored), are known before any item is checked."""
    valid = batch.valid()
    stored = await lock_offices(session, sorted({item.code for _, item in valid}))
    check_scope(actor, offices_land_in(batch, stored))
    regions = await existing_codes(session, [item.region for _, item in valid])
    problems: list[ItemProblem] = []
    first: dict[str, int] = {}
    for index, item in valid:
        if not CODE.fullmatch(item.code):
            problems.append(batch.problem(index, BAD_CODE))
        elif (problem := code_problem(item.region)) is not None:
            problems.append(batch.problem(index, f"region: {problem}"))
        elif item.region == codes.NATION:
            problems.append(
                batch.problem(
                    index, "an office belongs to a province or a region under one, not to ID"
                )
            )
        elif item.region not in regions:
            problems.append(batch.problem(index, f"region {item.region} does not exist"))
        elif item.code in first:
            problems.append(batch.problem(index, f"same code as item {first[item.code]}"))
        first.setdefault(item.code, index)
    batch.refuse_if_any(problems, "offices")
    items = [item for _, item in valid]
    # The offices are locked already (lock_offices above).
    before = await _office_states(session, [item.code for item in items])
    await move_tallies(
        session,
        [
            OfficeMove(stored[item.code].id, stored[item.code].region, item.region)
            for item in items
            if item.code in stored and stored[item.code].region != item.region
        ],
    )
    row = (
        await session.execute(
            _UPSERT_OFFICES,
            {
                "codes": [item.code for item in items],
                "names": [item.name for item in items],
                "regions": [item.region for item in items],
                "kinds": [item.kind for item in items],
                "daily_targets": [item.daily_target for item in items],
                "timezones": [item.timezone or default_timezone for item in items],
                "opened_ons": [item.opened_on for item in items],
                "actives": [item.active for item in items],
            },
        )
    ).one()
    after = await _office_states(session, [item.code for item in items])
    changes: list[Change] = []
    for item in items:
        if item.code not in before:
            changes.append(
                Change("office", item.code, "created", None, after[item.code], item.region)
            )
        else:
            changes += audit.update(
                "office", item.code, before[item.code], after[item.code], item.region
            )
    await audit.record(session, actor=actor, changes=changes)
    await session.commit()
    return WriteSummary(row.created, row.updated, len(items) - row.created - row.updated)
