"""How official figures anchor the numbers of a region.

eligible(R, d) is R's latest eligible figure dated <= d, else the sum over R's children that
have one. Unrolled, it is the sum over R's *frontier* at d: the regions of R's subtree with a
figure dated <= d and no such figure on any ancestor between them and R (R included).

recorded(R, d) unrolls the same way for recorded figures: the frontier's published values
stand in for all the counts below them dated up to their figure, so
    recorded(R, d) = counts_through(R, d) + sum over the frontier of (recorded - counts_through)
where a figure's counts_through is its region's subtree counts up to its date.

Seen over time, a figure holds from its date until its region's next figure, and leaves the
frontier for good once a region between it and R gets its first figure. So each kind of
figure makes a step function of the date for R: its value (the sum above) and how many
regions anchor it (none: eligible is null). Working it out touches every figure below R
(all of them, for the nation), so it is kept in figure_steps as +/- events per date, rebuilt
for R and its ancestors by whatever changes a figure or its counts_through, in the same
transaction; reads only add up a few events.
"""

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from itertools import accumulate

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app import codes
from app.codes import sql_in_subtree
from app.db import Db, fetch

# Ancestors come from the code itself, computed on the few regions that have figures.
_DEPTH = "CASE WHEN {0} = 'ID' THEN 0 ELSE cardinality(string_to_array({0}, '.')) END"
_PREFIX = """CASE WHEN {1} = 0 THEN 'ID'
     ELSE array_to_string((string_to_array({0}, '.'))[1 : {1}], '.') END"""

# The events of region :region (at depth :depth): each figure below it starts counting on its
# date and stops at its region's next figure of the same kind, or when a region between it
# and :region (that one included) gets its first figure of that kind, whichever comes first.
STORE_STEPS = text(
    f"""
WITH f AS (
    SELECT region, date, eligible, recorded - counts_through AS adjustment,
           min(date) FILTER (WHERE eligible IS NOT NULL) OVER later AS next_eligible,
           min(date) FILTER (WHERE recorded IS NOT NULL) OVER later AS next_recorded
    FROM figures
    WHERE {sql_in_subtree("region")}
    WINDOW later AS (PARTITION BY region ORDER BY date
                     ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING)
),
firsts AS (
    SELECT region, {_DEPTH.format("region")} AS depth,
           min(date) FILTER (WHERE eligible IS NOT NULL) AS eligible_from,
           min(date) FILTER (WHERE adjustment IS NOT NULL) AS recorded_from
    FROM f GROUP BY region
),
blocked AS (
    SELECT s.region, min(a.eligible_from) AS eligible_until,
           min(a.recorded_from) AS recorded_until
    FROM firsts s
    CROSS JOIN LATERAL generate_series(CAST(:depth AS int), s.depth - 1) AS k
    JOIN firsts a ON a.region = {_PREFIX.format("s.region", "k")}
    GROUP BY s.region
),
live AS (
    SELECT f.date, f.eligible, f.adjustment,
           least(f.next_eligible, b.eligible_until) AS eligible_stop,
           least(f.next_recorded, b.recorded_until) AS recorded_stop,
           f.eligible IS NOT NULL AND (b.eligible_until IS NULL OR f.date < b.eligible_until)
               AS eligible_live,
           f.adjustment IS NOT NULL AND (b.recorded_until IS NULL OR f.date < b.recorded_until)
               AS recorded_live
    FROM f LEFT JOIN blocked b ON b.region = f.region
),
events AS (
    SELECT 'eligible' AS kind, date, eligible AS value, 1 AS anchors
    FROM live WHERE eligible_live
    UNION ALL
    SELECT 'eligible', eligible_stop, -eligible, -1
    FROM live WHERE eligible_live AND eligible_stop IS NOT NULL
    UNION ALL
    SELECT 'recorded', date, adjustment, 1 FROM live WHERE recorded_live
    UNION ALL
    SELECT 'recorded', recorded_stop, -adjustment, -1
    FROM live WHERE recorded_live AND recorded_stop IS NOT NULL
)
INSERT INTO figure_steps (region, kind, date, value, anchors)
SELECT :region, kind, date, sum(value), sum(anchors) FROM events
GROUP BY kind, date HAVING sum(value) <> 0 OR sum(anchors) <> 0
"""
)

# Rebuilds run one at a time (they all rebuild the nation's steps): each starts from the
# figures as the one before it left them.
_REBUILD_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('rekam.figure_steps'))")
_CLEAR = text("DELETE FROM figure_steps WHERE region = ANY(CAST(:regions AS text[]))")


async def store_steps(db: Db, changed: Iterable[str]) -> None:
    """Rebuild the steps of every region at or above the regions whose figures changed."""
    heads = sorted({head for code in changed for head in codes.lineage_of(code)})
    if not heads:
        return
    await fetch(db, _REBUILD_LOCK, {})
    await fetch(db, _CLEAR, {"regions": heads})
    for head in heads:
        await fetch(db, STORE_STEPS, {"region": head, "depth": codes.parse(head).depth})


@dataclass(slots=True)
class Anchored:
    """What the frontier below one region adds up to on one date."""

    eligible: int = 0
    eligible_anchors: int = 0
    adjustment: int = 0  # what the recorded figures add to the counts

    @property
    def eligible_or_none(self) -> int | None:
        return self.eligible if self.eligible_anchors else None


def anchored_sql(region: str) -> str:
    """SQL for the columns of Anchored (eligible, eligible_anchors, adjustment) of the region
    named by the expression `region` on :as_of: the sums of its steps up to that date."""
    return f"""(
    SELECT coalesce(sum(value) FILTER (WHERE kind = 'eligible'), 0) AS eligible,
           coalesce(sum(anchors) FILTER (WHERE kind = 'eligible'), 0) AS eligible_anchors,
           coalesce(sum(value) FILTER (WHERE kind = 'recorded'), 0) AS adjustment
    FROM figure_steps WHERE region = {region} AND date <= :as_of)"""


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


_STEPS = text(
    """
SELECT kind, date, value, anchors FROM figure_steps
WHERE region = :region AND date <= :until ORDER BY kind, date
"""
)


async def figure_steps(session: AsyncSession, *, region: str, until: date) -> FigureSteps:
    """The figures' step functions below `region` up to `until`."""
    steps = FigureSteps()
    events: dict[str, list[tuple[date, int, int]]] = {"eligible": [], "recorded": []}
    for kind, day, value, anchors in await session.execute(
        _STEPS, {"region": region, "until": until}
    ):
        events[kind].append((day, int(value), int(anchors)))
    for kind, target in (("eligible", steps.eligible), ("recorded", steps.recorded)):
        target.days = [day for day, _, _ in events[kind]]
        target.values = list(accumulate(value for _, value, _ in events[kind]))
        target.anchors = list(accumulate(anchors for _, _, anchors in events[kind]))
    return steps
