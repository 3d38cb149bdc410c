"""How a region's eligible and recorded on a date are made (docs/api.md, Progress).

Unrolled, eligible(R, d) is the sum of the frontier's latest eligible figures, and
recorded(R, d) the sum of the frontier's latest recorded figures, each with the subtree
counts dated after it, plus the counts of offices attached to the regions above that
frontier (services/figures.py). This lists those parts; their sums are progress's numbers."""

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app import codes
from app.codes import sql_in_subtree
from app.errors import Invalid
from app.services.regions import get_region
from app.services.tallies import counts_through, counts_through_sql, through_params

MAX_PARTS = 10_000

# Each region's latest figure dated <= as_of with an eligible, and with a recorded.
_LATEST = text(
    f"""
(SELECT DISTINCT ON (region) 'eligible' AS member, region, date, eligible AS value,
        counts_through
 FROM figures
 WHERE {sql_in_subtree("region")} AND date <= :as_of AND eligible IS NOT NULL
 ORDER BY region, date DESC)
UNION ALL
(SELECT DISTINCT ON (region) 'recorded', region, date, recorded, counts_through
 FROM figures
 WHERE {sql_in_subtree("region")} AND date <= :as_of AND recorded IS NOT NULL
 ORDER BY region, date DESC)
"""
)

_OFFICE_REGIONS = text(
    f"SELECT DISTINCT region FROM offices WHERE {sql_in_subtree('region')} ORDER BY region"
)

# The counts of the offices attached to a region itself: its subtree's, less its children's
# (only children with any count at all can have some).
_OWN_COUNTS = text(
    f"""
SELECT x.code, {counts_through_sql("x.code")} - coalesce((
    SELECT sum({counts_through_sql("c.code")}) FROM regions c
    WHERE c.parent = x.code AND EXISTS (SELECT 1 FROM region_totals t WHERE t.region = c.code)
), 0) AS recordings
FROM unnest(CAST(:codes AS text[])) AS x(code)
"""
)


@dataclass(frozen=True, slots=True)
class FigurePart:
    region: str
    figure_date: date
    eligible: int | None
    recorded: int | None
    counts_after: int | None
    counts_after_from: date | None
    counts_after_to: date | None


@dataclass(frozen=True, slots=True)
class OfficePart:
    region: str
    recordings: int


@dataclass(frozen=True, slots=True)
class Explained:
    region: dict[str, Any]  # code, name, level
    as_of: date
    parts: list[FigurePart | OfficePart]
    eligible: int | None
    recorded: int


def _covered(code: str, top_depth: int, anchors: set[str]) -> bool:
    """Whether code or a region between it and the top (both included) is an anchor."""
    return any(a in anchors for a in codes.lineage_of(code)[top_depth:])


def _frontier(found: dict[str, tuple[date, int, int]], top_depth: int) -> list[str]:
    return sorted(
        code for code in found if not any(a in found for a in codes.lineage_of(code)[top_depth:-1])
    )


async def explain(session: AsyncSession, *, code: str, as_of: date) -> Explained:
    """The parts of code's eligible and recorded on as_of; 422 beyond MAX_PARTS parts."""
    region = await get_region(session, code)
    depth = region["depth"]
    latest: dict[str, dict[str, tuple[date, int, int]]] = {"eligible": {}, "recorded": {}}
    for member, where, day, value, through in await session.execute(
        _LATEST, {"region": code, "as_of": as_of}
    ):
        latest[member][where] = (day, int(value), int(through))
    eligible_anchors = _frontier(latest["eligible"], depth)
    recorded_anchors = _frontier(latest["recorded"], depth)
    office_regions = sorted(
        row.region
        for row in await session.execute(_OFFICE_REGIONS, {"region": code})
        if not _covered(row.region, depth, set(recorded_anchors))
    )
    figure_parts = len(set(eligible_anchors) | set(recorded_anchors)) + sum(
        1
        for where in set(eligible_anchors) & set(recorded_anchors)
        if latest["eligible"][where][0] != latest["recorded"][where][0]
    )
    if figure_parts + len(office_regions) > MAX_PARTS:
        raise Invalid(
            f"the explanation of {code} on {as_of} has more than {MAX_PARTS} parts: "
            "ask for a region lower down"
        )
    now_through = await counts_through(session, recorded_anchors, as_of)
    parts: list[FigurePart | OfficePart] = []
    for where in sorted(set(eligible_anchors) | set(recorded_anchors)):
        by_eligible = latest["eligible"].get(where) if where in eligible_anchors else None
        by_recorded = latest["recorded"].get(where) if where in recorded_anchors else None
        recorded_part = None
        if by_recorded is not None:
            day, value, through = by_recorded
            recorded_part = FigurePart(
                where,
                day,
                None,
                value,
                now_through[where] - through,
                day + timedelta(days=1) if day < date.max else None,
                as_of,
            )
        if by_eligible is not None:
            day, value, _ = by_eligible
            if recorded_part is not None and recorded_part.figure_date == day:
                parts.append(
                    FigurePart(
                        where,
                        day,
                        value,
                        recorded_part.recorded,
                        recorded_part.counts_after,
                        recorded_part.counts_after_from,
                        as_of,
                    )
                )
                continue
            parts.append(FigurePart(where, day, value, None, None, None, None))
        if recorded_part is not None:
            parts.append(recorded_part)
    if office_regions:
        rows = await session.execute(
            _OWN_COUNTS, {"codes": office_regions, **through_params(as_of)}
        )
        own = {row.code: int(row.recordings) for row in rows}
        parts += [OfficePart(where, own[where]) for where in office_regions]
    eligible_values = [p.eligible for p in parts if isinstance(p, FigurePart) and p.eligible]
    has_eligible = any(isinstance(p, FigurePart) and p.eligible is not None for p in parts)
    recorded = sum(
        (p.recorded or 0) + (p.counts_after or 0) if isinstance(p, FigurePart) else p.recordings
        for p in parts
    )
    return Explained(
        {k: region[k] for k in ("code", "name", "level")},
        as_of,
        parts,
        sum(eligible_values) if has_eligible else None,
        recorded,
    )
