"""How official figures anchor the numbers of a region.

eligible(R, d) is R's latest eligible figure dated <= d, else the sum over R's children that
have one. Unrolled, it is the sum over R's *frontier* at d: the regions of R's subtree with a
figure dated <= d and no such figure on any ancestor between them and R (R included).

recorded(R, d) unrolls the same way for recorded figures: the frontier's published values
stand in for all the counts below them dated up to their figure, so
    recorded(R, d) = counts_through(R, d) + sum over the frontier of (recorded - counts_through)
where a figure's counts_through is its region's subtree counts up to its date.

Seen over time, a figure holds from its date until its region's next figure, and leaves the
frontier for good once an ancestor below the top gets its first figure. So each kind of
figure makes a step function of the date, built here in SQL from +/- events: its value (the
sum above) and how many regions anchor it (none: eligible is null).
"""

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date
from itertools import accumulate

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.regions import sql_in_subtree

# :top is the depth of the regions whose numbers are asked for (R, or R's children); each
# event is attributed to the region at that depth above it (`head`).
_STEPS = text(
    f"""
WITH kinds AS (
    SELECT region, date, 'eligible' AS kind, eligible AS value FROM figures
    WHERE {sql_in_subtree("region")} AND date <= :until AND eligible IS NOT NULL
    UNION ALL
    SELECT region, date, 'recorded', recorded - counts_through FROM figures
    WHERE {sql_in_subtree("region")} AND date <= :until AND recorded IS NOT NULL
),
spans AS (
    SELECT region, kind, date AS start, value,
           lead(date) OVER (PARTITION BY region, kind ORDER BY date) AS next
    FROM kinds
),
firsts AS (SELECT region, kind, min(start) AS first FROM spans GROUP BY region, kind),
blocked AS (
    SELECT s.region, s.kind, min(a.first) AS until
    FROM firsts s
    JOIN regions r ON r.code = s.region
    CROSS JOIN LATERAL unnest(r.lineage[(:top + 1) : r.depth]) AS ancestor(code)
    JOIN firsts a ON a.region = ancestor.code AND a.kind = s.kind
    GROUP BY s.region, s.kind
),
live AS (
    SELECT r.lineage[:top + 1] AS head, s.kind, s.start, least(s.next, b.until) AS stop, s.value
    FROM spans s
    JOIN regions r ON r.code = s.region
    LEFT JOIN blocked b ON b.region = s.region AND b.kind = s.kind
    WHERE b.until IS NULL OR s.start < b.until
),
events AS (
    SELECT head, kind, start AS day, value, 1 AS anchors FROM live
    UNION ALL
    SELECT head, kind, stop, -value, -1 FROM live WHERE stop IS NOT NULL
)
SELECT head, kind, day, sum(value)::bigint AS value, sum(anchors)::int AS anchors
FROM events WHERE head IS NOT NULL
GROUP BY head, kind, day ORDER BY head, kind, day
"""
)


@dataclass(slots=True)
class Steps:
    """A step function of the date: the value and anchor count from each day on."""

    days: list[date] = field(default_factory=list)
    values: list[int] = field(default_factory=list)
    anchors: list[int] = field(default_factory=list)

    def at(self, day: date) -> tuple[int, int]:
        i = bisect_right(self.days, day)
        return (self.values[i - 1], self.anchors[i - 1]) if i else (0, 0)


@dataclass(slots=True)
class FigureSteps:
    eligible: Steps = field(default_factory=Steps)
    recorded: Steps = field(default_factory=Steps)

    def eligible_at(self, day: date) -> int | None:
        value, anchors = self.eligible.at(day)
        return value if anchors else None

    def adjustment_at(self, day: date) -> int:
        """What the recorded figures add to the counts up to day."""
        return self.recorded.at(day)[0]


async def figure_steps(
    session: AsyncSession, *, region: str, top_depth: int, until: date
) -> dict[str, FigureSteps]:
    """The figures' step functions up to `until` for each region at top_depth in the
    subtree of `region` (top_depth is region's own depth, or one more for its children)."""
    rows = await session.execute(_STEPS, {"region": region, "top": top_depth, "until": until})
    raw: dict[tuple[str, str], list[tuple[date, int, int]]] = {}
    for row in rows:
        raw.setdefault((row.head, row.kind), []).append((row.day, row.value, row.anchors))
    steps: dict[str, FigureSteps] = {}
    for (head, kind), events in raw.items():
        target = getattr(steps.setdefault(head, FigureSteps()), kind)
        target.days = [day for day, _, _ in events]
        target.values = list(accumulate(value for _, value, _ in events))
        target.anchors = list(accumulate(anchors for _, _, anchors in events))
    return steps
