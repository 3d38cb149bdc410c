"""Regions and their official figures."""

from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app import codes
from app.auth import Actor
from app.errors import Conflict, Invalid, NotFound
from app.schemas import FigureIn, RegionIn
from app.scopes import check_scope
from app.services import audit
from app.services.audit import Change
from app.services.figures import store_steps
from app.services.tallies import counts_through

COLUMNS = "code, name, level, parent, daily_target, coverage_target, coverage_deadline"


_GET = text(f"SELECT depth, {COLUMNS} FROM regions WHERE code = :code")


async def get_region(session: AsyncSession, code: str) -> dict[str, Any]:
    """The region's fields, with its depth (0 for the nation) for the progress queries."""
    codes.parse(code)
    row = (await session.execute(_GET, {"code": code})).one_or_none()
    if row is None:
        raise NotFound(f"no region {code}")
    return dict(row._mapping)


# The region first (the shallowest), then its children in code order.
_FAMILY = text(
    f"SELECT depth, {COLUMNS} FROM regions WHERE code = :code OR parent = :code"
    ' ORDER BY depth, code COLLATE "C"'
)


async def get_region_and_children(
    session: AsyncSession, code: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The region's fields, as get_region gives them, and its children's, in one query."""
    codes.parse(code)
    rows = [dict(row._mapping) for row in await session.execute(_FAMILY, {"code": code})]
    if not rows or rows[0]["code"] != code:
        raise NotFound(f"no region {code}")
    return rows[0], rows[1:]


async def list_children(session: AsyncSession, *, parent: str) -> list[dict[str, Any]]:
    _, children = await get_region_and_children(session, parent)
    return children


# What a region's record holds (level and parent follow from the code).
_STATE = "name, daily_target, coverage_target, coverage_deadline"
_LOCK_REGION = text(f"SELECT {_STATE} FROM regions WHERE code = :code FOR UPDATE")


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
    # Count writers wait while this runs, so counts_through is exact when it is stored and
    # every later count write sees the figure and keeps it exact.
    await session.execute(text("LOCK TABLE counts IN SHARE MODE"))
    through = (await counts_through(session, [code], day))[code]
    locked = (await session.execute(_LOCK_FIGURE, {"region": code, "date": day})).one_or_none()
    row = (
        await session.execute(
            text(
                """
                INSERT INTO figures AS f (region, date, eligible, recorded, counts_through)
                VALUES (:region, :date, :eligible, :recorded, :counts_through)
                ON CONFLICT (region, date) DO UPDATE SET
                    eligible = excluded.eligible, recorded = excluded.recorded,
                    counts_through = excluded.counts_through, updated_at = now()
                RETURNING date, eligible, recorded, (xmax = 0) AS created
                """
            ),
            {"region": code, "date": day, "counts_through": through, **data.model_dump()},
        )
    ).one()
    await store_steps(session, [code])
    after = {"eligible": row.eligible, "recorded": row.recorded}
    key = figure_key(code, day)
    if locked is None:
        changes = [Change("figure", key, "created", None, after, code)]
    else:
        changes = audit.update("figure", key, dict(locked._mapping), after, code)
    await audit.record(session, actor=actor, changes=changes)
    await session.commit()
    body = dict(row._mapping)
    created = bool(body.pop("created"))
    return body, created


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
