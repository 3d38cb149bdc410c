"""Regions and their official figures: one at a time (PUT) and in batches (POST)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app import codes
from app.auth import Actor
from app.errors import Conflict, Invalid, NotFound
from app.schemas import FigureIn, FigureItemIn, RegionIn, RegionItemIn
from app.scopes import check_scope
from app.services import audit
from app.services.audit import Change
from app.services.bulk_input import BatchKind, ItemBatch, ItemProblem, WriteSummary
from app.services.figures import store_steps
from app.services.tallies import counts_through_sql

COLUMNS = "code, name, level, parent, daily_target, coverage_target, coverage_deadline"


_GET = text(f"SELECT depth, {COLUMNS} FROM regions WHERE code = :code")


async def get_region(session: AsyncSession, code: str) -> dict[str, Any]:
    """The region's fields, with its depth (0 for the nation) for the progress queries."""
    codes.parse(code)
    row = (await session.execute(_GET, {"code": code})).one_or_none()
    if row is None:
        raise NotFound(f"no region {code}")
    return dict(row._mapping)


class AppliedTarget(NamedTuple):
    """The coverage target a region works toward: its own, else its nearest ancestor's,
    target and deadline together; `source` is the region that set it."""

    source: str
    coverage: Decimal
    deadline: date


class Family(NamedTuple):
    region: dict[str, Any]
    target: AppliedTarget | None
    children: list[dict[str, Any]]


_APPLIED = ("target_source", "target_coverage", "target_deadline")

# The region first (the shallowest), then its children in code order. The region's row
# also carries its applicable target: the deepest member of its lineage (itself included)
# that has one, a primary-key lookup of at most five codes (one for the nation).
_FAMILY = text(
    f"""
SELECT r.depth, {", ".join(f"r.{column}" for column in COLUMNS.split(", "))},
       t.code AS target_source, t.coverage_target AS target_coverage,
       t.coverage_deadline AS target_deadline
FROM regions r
LEFT JOIN LATERAL (
    SELECT a.code, a.coverage_target, a.coverage_deadline FROM regions a
    WHERE r.code = :code AND a.code = ANY(r.lineage) AND a.coverage_target IS NOT NULL
    ORDER BY a.depth DESC LIMIT 1
) t ON true
WHERE r.code = :code OR r.parent = :code
ORDER BY r.depth, r.code COLLATE "C"
"""
)


async def get_region_and_children(session: AsyncSession, code: str) -> Family:
    """The region's fields, as get_region gives them, the coverage target that applies to
    it, and its children's fields, in one query."""
    codes.parse(code)
    rows = [dict(row._mapping) for row in await session.execute(_FAMILY, {"code": code})]
    if not rows or rows[0]["code"] != code:
        raise NotFound(f"no region {code}")
    # Only the region's row has these filled in; no row keeps them among its fields.
    applied = [[row.pop(column) for column in _APPLIED] for row in rows]
    source, coverage, deadline = applied[0]
    target = None if source is None else AppliedTarget(source, coverage, deadline)
    return Family(rows[0], target, rows[1:])


async def list_children(session: AsyncSession, *, parent: str) -> list[dict[str, Any]]:
    return (await get_region_and_children(session, parent)).children


# What a region's record holds (level and parent follow from the code).
_STATE = "name, daily_target, coverage_target, coverage_deadline"
_LOCK_REGION = text(f"SELECT {_STATE} FROM regions WHERE code = :code FOR UPDATE")
_REGION_STATES = text(
    f"SELECT code, {_STATE} FROM regions WHERE code = ANY(CAST(:codes AS text[])) FOR UPDATE"
)
_FIGURE_STATES = text(
    """
    SELECT f.region, f.date, f.eligible, f.recorded
    FROM figures f
    JOIN unnest(CAST(:regions AS text[]), CAST(:dates AS date[])) AS k(region, date)
      ON f.region = k.region AND f.date = k.date
    FOR UPDATE OF f
    """
)


async def _region_states(session: AsyncSession, codes: list[str]) -> dict[str, dict[str, Any]]:
    """The recorded state of each of these regions that exists, locked until commit."""
    rows = await session.execute(_REGION_STATES, {"codes": codes})
    return {row.code: {k: v for k, v in row._mapping.items() if k != "code"} for row in rows}


async def _figure_states(
    session: AsyncSession, keys: list[tuple[str, date]]
) -> dict[tuple[str, date], dict[str, Any]]:
    """The recorded state of each of these figures that exists, locked until commit."""
    rows = await session.execute(
        _FIGURE_STATES, {"regions": [r for r, _ in keys], "dates": [d for _, d in keys]}
    )
    return {
        (row.region, row.date): {"eligible": row.eligible, "recorded": row.recorded} for row in rows
    }


def region_changes(
    code: str, before: dict[str, Any] | None, after: dict[str, Any] | None
) -> list[Change]:
    """The record of a region written, or deleted (after None). An update that changes only
    targets is of kind `target`; one that changes the name is of kind `region`."""
    if before is None:
        return [Change("region", code, "created", None, after, code)]
    if after is None:
        return [Change("region", code, "deleted", before, None, code)]
    kind: audit.Kind = "target" if before["name"] == after["name"] else "region"
    return audit.update(kind, code, before, after, code)


async def put_region(
    session: AsyncSession, *, actor: Actor, code: str, data: RegionIn
) -> tuple[dict[str, Any], bool]:
    """Create or replace a region; its parent must exist already."""
    check_scope(actor, [code])
    parsed = codes.parse(code)
    if parsed.parent is not None:
        found = await session.scalar(
            text("SELECT 1 FROM regions WHERE code = :parent"), {"parent": parsed.parent}
        )
        if found is None:
            raise Invalid(f"the parent region {parsed.parent} does not exist")
    locked = (await session.execute(_LOCK_REGION, {"code": code})).one_or_none()
    row = (
        await session.execute(
            text(
                f"""
                INSERT INTO regions AS r
                    (code, name, level, depth, parent, lineage,
                     daily_target, coverage_target, coverage_deadline)
                VALUES (:code, :name, :level, :depth, :parent, :lineage,
                        :daily_target, :coverage_target, :coverage_deadline)
                ON CONFLICT (code) DO UPDATE SET
                    name = excluded.name, daily_target = excluded.daily_target,
                    coverage_target = excluded.coverage_target,
                    coverage_deadline = excluded.coverage_deadline, updated_at = now()
                RETURNING {COLUMNS}, (xmax = 0) AS created
                """
            ),
            {
                "code": code,
                "level": parsed.level,
                "depth": parsed.depth,
                "parent": parsed.parent,
                "lineage": parsed.lineage,
                **data.model_dump(),
            },
        )
    ).one()
    body = dict(row._mapping)
    created = bool(body.pop("created"))
    after = {column: body[column] for column in _STATE.split(", ")}
    before = None if locked is None else dict(locked._mapping)
    await audit.record(session, actor=actor, changes=region_changes(code, before, after))
    await session.commit()
    return body, created


_BLOCKERS = text(
    """
    SELECT EXISTS (SELECT 1 FROM regions WHERE parent = :code) AS regions,
           EXISTS (SELECT 1 FROM offices WHERE region = :code) AS offices,
           EXISTS (SELECT 1 FROM figures WHERE region = :code) AS figures,
           EXISTS (SELECT 1 FROM tokens WHERE region = :code) AS tokens
    """
)
_BLOCKER_NAMES = {
    "regions": "regions under it",
    "offices": "offices",
    "figures": "official figures",
    "tokens": "tokens scoped to it",
}
# A region without offices below it has only zero rows in the summaries: they go with it.
_DELETE_REGION = text(
    """
    WITH days AS (DELETE FROM region_days WHERE region = :code),
         months AS (DELETE FROM region_months WHERE region = :code),
         totals AS (DELETE FROM region_totals WHERE region = :code),
         steps AS (DELETE FROM figure_steps WHERE region = :code)
    DELETE FROM regions WHERE code = :code
    """
)


async def delete_region(session: AsyncSession, *, actor: Actor, code: str) -> None:
    """Delete a region that nothing refers to: no regions under it, no offices (so no
    counts), no figures and no tokens scoped to it (409 otherwise)."""
    # A scoped admin keeps its own region: it deletes only strictly below it.
    check_scope(actor, [code], strictly_below=actor.region is not None)
    codes.parse(code)
    if code == codes.NATION:
        raise Conflict("the nation (ID) is always there; it cannot be deleted")
    # Writers that would attach something to the region wait on this lock, so the checks
    # below still hold when the region goes.
    locked = (await session.execute(_LOCK_REGION, {"code": code})).one_or_none()
    if locked is None:
        raise NotFound(f"no region {code}")
    blockers = (await session.execute(_BLOCKERS, {"code": code})).one()._mapping
    found = [name for column, name in _BLOCKER_NAMES.items() if blockers[column]]
    if found:
        raise Conflict(f"region {code} still has {', '.join(found)}; nothing was deleted")
    await session.execute(_DELETE_REGION, {"code": code})
    await audit.record(
        session, actor=actor, changes=region_changes(code, dict(locked._mapping), None)
    )
    await session.commit()


async def list_figures(session: AsyncSession, *, code: str) -> list[dict[str, Any]]:
    await get_region(session, code)
    rows = await session.execute(
        text("SELECT date, eligible, recorded FROM figures WHERE region = :region ORDER BY date"),
        {"region": code},
    )
    return [dict(row._mapping) for row in rows]


def figure_key(code: str, day: date) -> str:
    return f"{code}/{day.isoformat()}"


_LOCK_FIGURE = text(
    "SELECT eligible, recorded FROM figures WHERE region = :region AND date = :date FOR UPDATE"
)


async def put_figure(
    session: AsyncSession, *, actor: Actor, code: str, day: date, data: FigureIn
) -> tuple[dict[str, Any], bool]:
    """Create or replace the official figure of a region for a date."""
    check_scope(actor, [code])
    await get_region(session, code)
    # Counts first, then the figure's row: the order every figure writer takes them in, so a
    # count write (which updates figures) cannot deadlock with this one.
    await session.execute(text("LOCK TABLE counts IN SHARE MODE"))
    locked = (await session.execute(_LOCK_FIGURE, {"region": code, "date": day})).one_or_none()
    written = await _store_figures(
        session, [FigureItemIn(region=code, date=day, **data.model_dump())]
    )
    after = {"eligible": data.eligible, "recorded": data.recorded}
    key = figure_key(code, day)
    if locked is None:
        changes = [Change("figure", key, "created", None, after, code)]
    else:
        changes = audit.update("figure", key, dict(locked._mapping), after, code)
    await audit.record(session, actor=actor, changes=changes)
    await session.commit()
    return {"date": day, **data.model_dump()}, written.created == 1


async def delete_figure(session: AsyncSession, *, actor: Actor, code: str, day: date) -> None:
    check_scope(actor, [code])
    await get_region(session, code)
    gone = (
        await session.execute(
            text(
                "DELETE FROM figures WHERE region = :region AND date = :date"
                " RETURNING eligible, recorded"
            ),
            {"region": code, "date": day},
        )
    ).one_or_none()
    if gone is None:
        raise NotFound(f"region {code} has no figure dated {day}")
    await store_steps(session, [code])
    change = Change("figure", figure_key(code, day), "deleted", dict(gone._mapping), None, code)
    await audit.record(session, actor=actor, changes=[change])
    await session.commit()


# Batches. Each write function takes the actor, and the regions a batch's items land in are
# named by one function per kind (regions_lands_in, figures_land_in), so that a check of who
# may write where is one line at the top of the write.

REGION_BATCH = BatchKind(
    member="regions",
    model=RegionItemIn,
    columns=("code", "name", "daily_target", "coverage_target", "coverage_deadline"),
    required=2,
    keys=("code",),
    integers=frozenset({"daily_target"}),
)
FIGURE_BATCH = BatchKind(
    member="figures",
    model=FigureItemIn,
    columns=("region", "date", "eligible", "recorded"),
    required=4,
    keys=("region", "date"),
    integers=frozenset({"eligible", "recorded"}),
)


@dataclass(frozen=True, slots=True)
class RegionWrite:
    """A region as a batch (or the area list) gives it."""

    code: str
    name: str
    daily_target: int | None = None
    coverage_target: Decimal | None = None
    coverage_deadline: date | None = None


def code_problem(code: str) -> str | None:
    """Why `code` is not a Kemendagri code, or None when it is one."""
    try:
        codes.parse(code)
    except codes.InvalidCode as error:
        return error.detail
    return None


def region_problems(items: Sequence[tuple[int, str]], existing: set[str]) -> dict[int, str]:
    """What is wrong with each (index, code) to be written, given the codes that exist: a
    code that is no Kemendagri code, one given twice, or one whose parent is neither stored
    nor in the same batch."""
    problems: dict[int, str] = {}
    first: dict[str, int] = {}
    for index, code in items:
        if (problem := code_problem(code)) is not None:
            problems[index] = problem
            continue
        if code in first:
            problems[index] = f"same code as item {first[code]}"
        first.setdefault(code, index)
    for index, code in items:
        parent = codes.parse(code).parent if index not in problems else None
        if parent is not None and parent not in existing and parent not in first:
            problems[index] = f"the parent region {parent} does not exist"
    return problems


async def existing_codes(session: AsyncSession, candidates: Sequence[str]) -> set[str]:
    rows = await session.scalars(
        text("SELECT code FROM regions WHERE code = ANY(CAST(:codes AS text[]))"),
        {"codes": list(candidates)},
    )
    return set(rows)


def _upsert_regions_sql(*, names_only: bool) -> str:
    """One statement for the whole batch. A parent may be in the same statement: the foreign
    key is checked at its end. names_only (the area list's load) sets a new region's name
    and renames an existing one, and leaves every target as an admin set it."""
    if names_only:
        assign = "name = excluded.name"
        compared = "r.name IS DISTINCT FROM excluded.name"
    else:
        assign = """name = excluded.name, daily_target = excluded.daily_target,
            coverage_target = excluded.coverage_target,
            coverage_deadline = excluded.coverage_deadline"""
        compared = """(r.name, r.daily_target, r.coverage_target, r.coverage_deadline)
            IS DISTINCT FROM (excluded.name, excluded.daily_target, excluded.coverage_target,
                              excluded.coverage_deadline)"""
    return f"""
WITH input AS (
    SELECT * FROM unnest(
        CAST(:codes AS text[]), CAST(:names AS text[]), CAST(:levels AS text[]),
        CAST(:depths AS smallint[]), CAST(:parents AS text[]), CAST(:lineages AS text[]),
        CAST(:daily_targets AS int[]), CAST(:coverage_targets AS numeric[]),
        CAST(:coverage_deadlines AS date[]))
    AS i(code, name, level, depth, parent, lineage, daily_target, coverage_target,
         coverage_deadline)
),
written AS (
    INSERT INTO regions AS r
        (code, name, level, depth, parent, lineage,
         daily_target, coverage_target, coverage_deadline)
    SELECT code, name, level, depth, parent, string_to_array(lineage, ' '),
           daily_target, coverage_target, coverage_deadline
    FROM input ORDER BY depth, code
    ON CONFLICT (code) DO UPDATE SET {assign}, updated_at = now()
    WHERE {compared}
    RETURNING (xmax = 0) AS created
)
SELECT count(*) FILTER (WHERE created) AS created,
       count(*) FILTER (WHERE NOT created) AS updated
FROM written
"""


_UPSERT_REGIONS = text(_upsert_regions_sql(names_only=False))
_NAME_REGIONS = text(_upsert_regions_sql(names_only=True))


async def upsert_regions(
    session: AsyncSession, items: Sequence[RegionWrite], *, names_only: bool
) -> WriteSummary:
    """Write checked regions (see region_problems) in one statement, in the caller's
    transaction; `updated` counts the regions whose stored row changed."""
    parsed = [codes.parse(item.code) for item in items]
    row = (
        await session.execute(
            _NAME_REGIONS if names_only else _UPSERT_REGIONS,
            {
                "codes": [item.code for item in items],
                "names": [item.name for item in items],
                "levels": [code.level for code in parsed],
                "depths": [code.depth for code in parsed],
                "parents": [code.parent for code in parsed],
                "lineages": [" ".join(code.lineage) for code in parsed],
                "daily_targets": [item.daily_target for item in items],
                "coverage_targets": [item.coverage_target for item in items],
                "coverage_deadlines": [item.coverage_deadline for item in items],
            },
        )
    ).one()
    return WriteSummary(row.created, row.updated, len(items) - row.created - row.updated)


def regions_lands_in(batch: ItemBatch[RegionItemIn]) -> list[str]:
    """The regions a region batch writes: each item's own code."""
    return sorted({item.code for _, item in batch.valid()})


async def write_regions(
    session: AsyncSession, *, actor: Actor, batch: ItemBatch[RegionItemIn]
) -> WriteSummary:
    """Create or replace every region of the batch (PUT's rules for each), all or nothing;
    items may come in any order, a parent in the same batch as its children."""
    check_scope(actor, regions_lands_in(batch))
    valid = batch.valid()
    parents = [parent for _, item in valid if (parent := _parent_or_none(item.code))]
    problems = region_problems(
        [(index, item.code) for index, item in valid], await existing_codes(session, parents)
    )
    batch.refuse_if_any(
        [batch.problem(index, message) for index, message in problems.items()], "regions"
    )
    summary = await upsert_regions_on_record(
        session,
        actor=actor,
        items=[
            RegionWrite(
                item.code,
                item.name,
                item.daily_target,
                item.coverage_target,
                item.coverage_deadline,
            )
            for _, item in valid
        ],
        names_only=False,
    )
    await session.commit()
    return summary


async def upsert_regions_on_record(
    session: AsyncSession, *, actor: Actor, items: Sequence[RegionWrite], names_only: bool
) -> WriteSummary:
    """upsert_regions, with an event for each region it created or changed."""
    written = [item.code for item in items]
    before = await _region_states(session, written)
    summary = await upsert_regions(session, items, names_only=names_only)
    after = await _region_states(session, written)
    await audit.record(
        session,
        actor=actor,
        changes=[
            change
            for code in written
            for change in region_changes(code, before.get(code), after[code])
        ],
    )
    return summary


def _parent_or_none(code: str) -> str | None:
    return codes.parse(code).parent if codes.is_valid(code) else None


# Each figure's counts_through is its region's subtree counts dated up to its date, read
# from the summaries like counts_through() but for every item's own date at once.
_UPSERT_FIGURES = text(
    f"""
WITH input AS (
    SELECT * FROM unnest(CAST(:regions AS text[]), CAST(:dates AS date[]),
                         CAST(:eligibles AS bigint[]), CAST(:recordeds AS bigint[]))
        AS i(region, date, eligible, recorded)
),
written AS (
    INSERT INTO figures AS f (region, date, eligible, recorded, counts_through)
    SELECT i.region, i.date, i.eligible, i.recorded, {
        counts_through_sql(
            "i.region",
            as_of="i.date",
            month="CAST(date_trunc('month', i.date) AS date)",
            month_end="CAST(date_trunc('month', i.date) + interval '1 month - 1 day' AS date)",
        )
    }
    FROM input i ORDER BY i.region, i.date
    ON CONFLICT (region, date) DO UPDATE SET
        eligible = excluded.eligible, recorded = excluded.recorded,
        counts_through = excluded.counts_through, updated_at = now()
    WHERE (f.eligible, f.recorded) IS DISTINCT FROM (excluded.eligible, excluded.recorded)
    RETURNING f.region, (xmax = 0) AS created
)
SELECT count(*) FILTER (WHERE created) AS created,
       count(*) FILTER (WHERE NOT created) AS updated,
       ARRAY(SELECT DISTINCT region FROM written) AS changed_regions
FROM written
"""
)


async def _store_figures(session: AsyncSession, items: Sequence[FigureItemIn]) -> WriteSummary:
    """Write figures of existing regions and rebuild the steps of the regions they change,
    in the caller's transaction."""
    # Count writers wait while this runs, so counts_through is exact when it is stored and
    # every later count write sees the figure and keeps it exact.
    await session.execute(text("LOCK TABLE counts IN SHARE MODE"))
    row = (
        await session.execute(
            _UPSERT_FIGURES,
            {
                "regions": [item.region for item in items],
                "dates": [item.date for item in items],
                "eligibles": [item.eligible for item in items],
                "recordeds": [item.recorded for item in items],
            },
        )
    ).one()
    await store_steps(session, row.changed_regions)
    return WriteSummary(row.created, row.updated, len(items) - row.created - row.updated)


def figures_land_in(batch: ItemBatch[FigureItemIn]) -> list[str]:
    """The regions a figure batch writes: each item's region."""
    return sorted({item.region for _, item in batch.valid()})


async def write_figures(
    session: AsyncSession, *, actor: Actor, batch: ItemBatch[FigureItemIn]
) -> WriteSummary:
    """Create or replace every figure of the batch (PUT's rules for each), all or nothing."""
    lands_in = figures_land_in(batch)
    check_scope(actor, lands_in)
    existing = await existing_codes(session, lands_in)
    problems: list[ItemProblem] = []
    first: dict[tuple[str, date], int] = {}
    for index, item in batch.valid():
        key = (item.region, item.date)
        if (problem := code_problem(item.region)) is not None:
            problems.append(batch.problem(index, problem))
        elif item.region not in existing:
            problems.append(batch.problem(index, f"no region {item.region}"))
        elif key in first:
            problems.append(batch.problem(index, f"same region and date as item {first[key]}"))
        first.setdefault(key, index)
    batch.refuse_if_any(problems, "figures")
    items = [item for _, item in batch.valid()]
    # Counts first, then the figures' rows, as put_figure takes them.
    await session.execute(text("LOCK TABLE counts IN SHARE MODE"))
    before = await _figure_states(session, [(item.region, item.date) for item in items])
    summary = await _store_figures(session, items)
    changes: list[Change] = []
    for item in items:
        event_key = figure_key(item.region, item.date)
        after = {"eligible": item.eligible, "recorded": item.recorded}
        previous = before.get((item.region, item.date))
        if previous is None:
            changes.append(Change("figure", event_key, "created", None, after, item.region))
        else:
            changes += audit.update("figure", event_key, previous, after, item.region)
    await audit.record(session, actor=actor, changes=changes)
    await session.commit()
    return summary
