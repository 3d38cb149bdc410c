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


# :top is the depth of the regions whose numbers are asked for; each event is attributed to
# the region at that depth above its figure (`head`). Ancestors come from the code itself.
_HEAD = """CASE WHEN CAST(:top AS int) = 0 THEN 'ID'
     ELSE array_to_string((string_to_array({0}, '.'))[1 : CAST(:top AS int)], '.') END"""
_STEPS = text(
    f"""
WITH f AS (
    SELECT region, date, eligible, recorded - counts_through AS adjustment,
           min(date) FILTER (WHERE eligible IS NOT NULL) OVER later AS next_eligible,
           min(date) FILTER (WHERE recorded IS NOT NULL) OVER later AS next_recorded
    FROM figures
    WHERE {sql_in_subtree("region")} AND date <= :until
    WINDOW later AS (PARTITION BY region ORDER BY date
                     ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING)
),
firsts AS (
    SELECT region,
           min(date) FILTER (WHERE eligible IS NOT NULL) AS eligible_from,
           min(date) FILTER (WHERE adjustment IS NOT NULL) AS recorded_from,
           CASE WHEN region = 'ID' THEN 0 ELSE cardinality(string_to_array(region, '.')) END
               AS depth
    FROM f GROUP BY region
),
ancestors AS (
    SELECT s.region,
           CASE WHEN k = 0 THEN 'ID'
                ELSE array_to_string((string_to_array(s.region, '.'))[1 : k], '.') END AS code
    FROM firsts s CROSS JOIN LATERAL generate_series(CAST(:top AS int), s.depth - 1) AS k
),
blocked AS (
    SELECT n.region, min(a.eligible_from) AS eligible_until,
           min(a.recorded_from) AS recorded_until
    FROM ancestors n JOIN firsts a ON a.region = n.code
    GROUP BY n.region
),
live AS (
    SELECT {_HEAD.format("f.region")} AS head, f.date, f.eligible, f.adjustment,
           least(f.next_eligible, b.eligible_until) AS eligible_stop,
           least(f.next_recorded, b.recorded_until) AS recorded_stop,
           f.eligible IS NOT NULL AND (b.eligible_until IS NULL OR f.date < b.eligible_until)
               AS eligible_live,
           f.adjustment IS NOT NULL AND (b.recorded_until IS NULL OR f.date < b.recorded_until)
               AS recorded_live
    FROM f
    JOIN firsts s ON s.region = f.region
    LEFT JOIN blocked b ON b.region = f.region
    WHERE s.depth >= CAST(:top AS int)
),
events AS (
    SELECT head, 'eligible' AS kind, date AS day, eligible AS value, 1 AS anchors
    FROM live WHERE eligible_live
    UNION ALL
    SELECT head, 'eligible', eligible_stop, -eligible, -1
    FROM live WHERE eligible_live AND eligible_stop IS NOT NULL
    UNION ALL
    SELECT head, 'recorded', date, adjustment, 1 FROM live WHERE recorded_live
    UNION ALL
    SELECT head, 'recorded', recorded_stop, -adjustment, -1
    FROM live WHERE recorded_live AND recorded_stop IS NOT NULL
)
SELECT head, kind, day, sum(value)::bigint AS value, sum(anchors)::int AS anchors
FROM events GROUP BY head, kind, day ORDER BY head, kind, day
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
