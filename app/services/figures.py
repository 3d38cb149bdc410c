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

from app import regions
from app.regions import sql_in_subtree

# On one date: each region's latest eligible and recorded figure (recorded as what it adds
# to the counts). The frontier is then worked out over these few rows. (Regions in
# descending order: a backward scan of the figures' key, where ascending would sort.)
_LATEST = text(
    f"""
    SELECT region, 'eligible' AS kind, value FROM (
        SELECT DISTINCT ON (region) region, eligible AS value FROM figures
        WHERE {sql_in_subtree("region")} AND date <= :as_of AND eligible IS NOT NULL
        ORDER BY region DESC, date DESC
    ) e
    UNION ALL
    SELECT region, 'recorded', value FROM (
        SELECT DISTINCT ON (region) region, recorded - counts_through AS value FROM figures
        WHERE {sql_in_subtree("region")} AND date <= :as_of AND recorded IS NOT NULL
        ORDER BY region DESC, date DESC
    ) r
    """
)


# Where each figure stops counting: the date of its region's next figure of each kind.
# Every figure write refreshes its region's (NEXT_FIGURES); a bulk load refreshes them all.
_NEXT_TEMPLATE = """
UPDATE figures f SET next_eligible = n.next_eligible, next_recorded = n.next_recorded
FROM (
    SELECT region, date,
           min(date) FILTER (WHERE eligible IS NOT NULL) OVER later AS next_eligible,
           min(date) FILTER (WHERE recorded IS NOT NULL) OVER later AS next_recorded
    FROM figures {where}
    WINDOW later AS (PARTITION BY region ORDER BY date
                     ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING)
) n
WHERE f.region = n.region AND f.date = n.date
  AND (f.next_eligible, f.next_recorded) IS DISTINCT FROM (n.next_eligible, n.next_recorded)
"""
NEXT_FIGURES = text(_NEXT_TEMPLATE.format(where="WHERE region = :region"))
EVERY_NEXT_FIGURE = _NEXT_TEMPLATE.format(where="")


@dataclass(slots=True)
class Anchored:
    """What the frontier below one region adds up to on one date."""

    eligible: int = 0
    eligible_anchors: int = 0
    adjustment: int = 0  # what the recorded figures add to the counts

    @property
    def eligible_or_none(self) -> int | None:
        return self.eligible if self.eligible_anchors else None


def _frontier(values: dict[str, int], top_depth: int) -> dict[str, tuple[int, int]]:
    """For each region at top_depth: the sum of its frontier's values, and their number."""
    sums: dict[str, tuple[int, int]] = {}
    for region, value in values.items():
        lineage = regions.lineage_of(region)
        if len(lineage) <= top_depth or not values.keys().isdisjoint(lineage[top_depth:-1]):
            continue
        total, anchors = sums.get(lineage[top_depth], (0, 0))
        sums[lineage[top_depth]] = (total + value, anchors + 1)
    return sums


async def anchored_on(
    session: AsyncSession, *, region: str, top_depths: tuple[int, ...], as_of: date
) -> dict[int, dict[str, Anchored]]:
    """For each top depth, what the figures add up to on as_of below each region there."""
    latest: dict[str, dict[str, int]] = {"eligible": {}, "recorded": {}}
    rows = await session.execute(_LATEST, {"region": region, "as_of": as_of})
    for code, kind, value in rows:
        latest[kind][code] = value
    found: dict[int, dict[str, Anchored]] = {}
    for depth in top_depths:
        by_head: dict[str, Anchored] = {}
        for head, (total, anchors) in _frontier(latest["eligible"], depth).items():
            by_head.setdefault(head, Anchored()).eligible = total
            by_head[head].eligible_anchors = anchors
        for head, (total, _) in _frontier(latest["recorded"], depth).items():
            by_head.setdefault(head, Anchored()).adjustment = total
        found[depth] = by_head
    return found


# :top is the depth of the regions whose numbers are asked for; each figure counts toward
# the region at that depth above it (its head). A figure holds until its region's next one
# of the same kind, or until a region between it and the head gets its first such figure.
# Ancestors come from the code itself, on the few regions with figures.
_DEPTH = "CASE WHEN {0} = 'ID' THEN 0 ELSE cardinality(string_to_array({0}, '.')) END"
_PREFIX = """CASE WHEN {1} = 0 THEN 'ID'
     ELSE array_to_string((string_to_array({0}, '.'))[1 : {1}], '.') END"""
_STEPS = text(
    f"""
WITH f AS (
    SELECT region, date, eligible, recorded - counts_through AS adjustment,
           CASE WHEN next_eligible <= :until THEN next_eligible END AS next_eligible,
           CASE WHEN next_recorded <= :until THEN next_recorded END AS next_recorded
    FROM figures
    WHERE {sql_in_subtree("region")} AND date <= :until
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
    CROSS JOIN LATERAL generate_series(CAST(:top AS int), s.depth - 1) AS k
    JOIN firsts a ON a.region = {_PREFIX.format("s.region", "k")}
    GROUP BY s.region
),
heads AS (
    SELECT s.region, {_PREFIX.format("s.region", "CAST(:top AS int)")} AS head,
           b.eligible_until, b.recorded_until
    FROM firsts s LEFT JOIN blocked b ON b.region = s.region
    WHERE s.depth >= CAST(:top AS int)
),
live AS (
    SELECT h.head, f.date, f.eligible, f.adjustment,
           least(f.next_eligible, h.eligible_until) AS eligible_stop,
           least(f.next_recorded, h.recorded_until) AS recorded_stop,
           f.eligible IS NOT NULL AND (h.eligible_until IS NULL OR f.date < h.eligible_until)
               AS eligible_live,
           f.adjustment IS NOT NULL AND (h.recorded_until IS NULL OR f.date < h.recorded_until)
               AS recorded_live
    FROM f JOIN heads h ON h.region = f.region
)
SELECT head, 'eligible' AS kind, date AS day, sum(eligible)::bigint AS value,
       count(*)::int AS anchors
FROM live WHERE eligible_live GROUP BY 1, 3
UNION ALL
SELECT head, 'eligible', eligible_stop, -sum(eligible)::bigint, -count(*)::int
FROM live WHERE eligible_live AND eligible_stop IS NOT NULL GROUP BY 1, 3
UNION ALL
SELECT head, 'recorded', date, sum(adjustment)::bigint, count(*)::int
FROM live WHERE recorded_live GROUP BY 1, 3
UNION ALL
SELECT head, 'recorded', recorded_stop, -sum(adjustment)::bigint, -count(*)::int
FROM live WHERE recorded_live AND recorded_stop IS NOT NULL GROUP BY 1, 3
ORDER BY 1, 2, 3
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
    # A day may come twice (one figure starting, another stopping): the running sums after
    # both are what holds from that day, and that is where bisect_right lands.
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
