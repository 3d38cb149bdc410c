"""Regions and their official figures."""

from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

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
