"""Regions and their official figures."""

from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app import codes
from app.errors import Invalid, NotFound
from app.schemas import FigureIn, RegionIn
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


async def put_region(
    session: AsyncSession, *, code: str, data: RegionIn
) -> tuple[dict[str, Any], bool]:
    """Create or replace a region; its parent must exist already."""
    parsed = codes.parse(code)
    if parsed.parent is not None:
        found = await session.scalar(
            text("SELECT 1 FROM regions WHERE code = :parent"), {"parent": parsed.parent}
        )
        if found is None:
            raise Invalid(f"the parent region {parsed.parent} does not exist")
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
    await session.commit()
    body = dict(row._mapping)
    created = bool(body.pop("created"))
    return body, created


async def list_figures(session: AsyncSession, *, code: str) -> list[dict[str, Any]]:
    await get_region(session, code)
    rows = await session.execute(
        text("SELECT date, eligible, recorded FROM figures WHERE region = :region ORDER BY date"),
        {"region": code},
    )
    return [dict(row._mapping) for row in rows]


async def put_figure(
    session: AsyncSession, *, code: str, day: date, data: FigureIn
) -> tuple[dict[str, Any], bool]:
    """Create or replace the official figure of a region for a date."""
    await get_region(session, code)
    # Count writers wait while this runs, so counts_through is exact when it is stored and
    # every later count write sees the figure and keeps it exact.
    await session.execute(text("LOCK TABLE counts IN SHARE MODE"))
    through = (await counts_through(session, [code], day))[code]
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
    await session.commit()
    body = dict(row._mapping)
    created = bool(body.pop("created"))
    return body, created


async def delete_figure(session: AsyncSession, *, code: str, day: date) -> None:
    await get_region(session, code)
    result = await session.execute(
        text("DELETE FROM figures WHERE region = :region AND date = :date RETURNING 1"),
        {"region": code, "date": day},
    )
    if result.first() is None:
        raise NotFound(f"region {code} has no figure dated {day}")
    await store_steps(session, [code])
    await session.commit()
