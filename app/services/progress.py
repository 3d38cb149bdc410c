"""Progress toward targets: the numbers dashboards show. Every figure is defined in the
progress contract (docs/api.md); Postgres sums the tallies, Python does the arithmetic."""

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, TypedDict

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import month_end
from app.codes import sql_in_subtree
from app.services.figures import Anchored, anchored_sql, figure_steps
from app.services.regions import AppliedTarget, get_region, get_region_and_children
from app.services.tallies import counts_through, counts_through_sql, through_params

MAX_MISSING = 500
LAST_DATE = date.max

_DAYS = text(
    """
SELECT region, date, sum(recordings) AS recordings FROM region_days
WHERE region = ANY(CAST(:codes AS text[])) AND date BETWEEN :start AND :end
GROUP BY region, date
"""
)

# What progress needs of a region and each child, in one round trip: the counts through
# as_of, the figures' anchoring on as_of, and the recordings of each day of the window.
_NUMBERS = text(
    f"""
SELECT x.code, {counts_through_sql("x.code")} AS counts_through,
       a.eligible, a.eligible_anchors, a.adjustment, w.days, w.recordings
FROM unnest(CAST(:codes AS text[])) AS x(code)
CROSS JOIN LATERAL {anchored_sql("x.code")} a
CROSS JOIN LATERAL (
    SELECT array_agg(date ORDER BY date) AS days, array_agg(recordings ORDER BY date) AS recordings
    FROM (SELECT date, sum(recordings) AS recordings FROM region_days
          WHERE region = x.code AND date BETWEEN :start AND :as_of GROUP BY date) d
) w
"""
)

_EXPECTED = "o.active AND (o.opened_on IS NULL OR o.opened_on <= :as_of)"

# Expected offices: active, opened by as_of, in the subtree; reported: those with a count.
# One pass over the offices (no CTE to materialise and scan twice).
_REPORTING = text(
    f"""
SELECT count(*) AS expected, count(c.office_id) AS reported,
       coalesce((array_agg(o.code ORDER BY o.code COLLATE "C")
                 FILTER (WHERE c.office_id IS NULL))[1 : {MAX_MISSING}], '{{}}') AS missing
FROM offices o
LEFT JOIN counts c ON c.office_id = o.id AND c.date = :as_of
WHERE {sql_in_subtree("o.region")} AND {_EXPECTED}
"""
)

# The same for the nation. Reading the day's counts is what costs here (the day's newest
# rows are not yet all-visible, so each is a visit to the table): the number reported is the
# day's reports from report_days less those of offices not expected (one pass over the
# offices counts the expected and gathers the rest), and only the missing list reads the
# counts. That list walks the offices in code order (their unique index: codes collate "C")
# and stops at the limit, instead of sorting every missing code (all 7,800 offices early in
# the day), and is built only when something is missing.
_REPORTING_NATION = text(
    f"""
SELECT r.expected, r.reported,
       CASE WHEN r.expected > r.reported THEN ARRAY(
           SELECT o.code FROM offices o
           WHERE {_EXPECTED}
             AND o.id NOT IN (SELECT c.office_id FROM counts c WHERE c.date = :as_of)
           ORDER BY o.code COLLATE "C" LIMIT {MAX_MISSING}
       ) ELSE '{{}}' END AS missing
FROM (
    SELECT e.expected,
           (SELECT coalesce(sum(reports), 0) FROM report_days WHERE date = :as_of)
         - (SELECT count(*) FROM counts c
            WHERE c.date = :as_of AND c.office_id = ANY(e.unexpected)) AS reported
    FROM (
        SELECT count(*) FILTER (WHERE {_EXPECTED}) AS expected,
               array_agg(o.id) FILTER (WHERE NOT ({_EXPECTED})) AS unexpected
        FROM offices o
    ) e
) r
"""
)

# Reporting of each direct child: offices counted as _REPORTING counts them, grouped by the
# child their region lies under (lineage[1] is the nation, lineage[depth + 1] the region,
# so lineage[depth + 2] is the child). One pass over the subtree's offices.
_REPORTING_BY_CHILD = text(
    f"""
SELECT r.lineage[CAST(:depth AS int) + 2] AS code,
       count(*) AS expected, count(c.office_id) AS reported
FROM offices o
JOIN regions r ON r.code = o.region
LEFT JOIN counts c ON c.office_id = o.id AND c.date = :as_of
WHERE {sql_in_subtree("o.region")} AND r.depth > :depth AND {_EXPECTED}
GROUP BY 1
"""
)

_OWN_OFFICES = text(
    """
SELECT o.code, o.name, o.kind, o.daily_target,
       coalesce(sum(c.recordings) FILTER (WHERE c.date = :as_of), 0) AS day_recordings,
       coalesce(sum(c.recordings), 0) AS window_recordings,
       bool_or(c.date = :as_of) IS TRUE AS reported
FROM offices o
LEFT JOIN counts c ON c.office_id = o.id AND c.date BETWEEN :start AND :as_of
WHERE o.region = :region
GROUP BY o.id ORDER BY o.code COLLATE "C"
"""
)


def ratio(numerator: int, denominator: int | None) -> float | None:
    return None if not denominator else numerator / denominator


async def daily_recordings(
    session: AsyncSession, codes: Sequence[str], start: date, end: date
) -> dict[str, dict[date, int]]:
    rows = await session.execute(_DAYS, {"codes": list(codes), "start": start, "end": end})
    found: dict[str, dict[date, int]] = defaultdict(dict)
    for region, day, recordings in rows:
        found[region][day] = int(recordings)
    return found


@dataclass(frozen=True, slots=True)
class Numbers:
    """A region's numbers on as_of: its subtree counts through that date, what its figures
    add (recorded is their sum), and its recordings on each day of the window."""

    through: int
    anchored: Anchored
    per_day: dict[date, int]

    @property
    def recorded(self) -> int:
        return self.through + self.anchored.adjustment


async def numbers_of(
    session: AsyncSession, codes: Sequence[str], start: date, as_of: date
) -> dict[str, Numbers]:
    rows = await session.execute(
        _NUMBERS, {"codes": list(codes), "start": start, **through_params(as_of)}
    )
    return {
        code: Numbers(
            int(through),
            Anchored(int(eligible), int(anchors), int(adjustment)),
            dict(zip(days or [], map(int, recordings or []), strict=True)),
        )
        for code, through, eligible, anchors, adjustment, days, recordings in rows
    }


def window_of(
    per_day: dict[date, int], start: date, days: int, target: int | None
) -> dict[str, Any]:
    recordings = sum(per_day.values())
    met = None
    if target is not None:
        met = sum(1 for i in range(days) if per_day.get(start + timedelta(days=i), 0) >= target)
    return {
        "from": start,
        "to": start + timedelta(days=days - 1),
        "days": days,
        "recordings": recordings,
        "average_per_day": recordings / days,
        "days_target_met": met,
    }


class Target(TypedDict):
    coverage: Decimal
    deadline: date
    source: str
    needed: int | None
    remaining: int | None
    days_left: int
    required_per_day: int | None
    projected_date: date | None
    on_track: bool


def child_target(parent: AppliedTarget | None, child: dict[str, Any]) -> AppliedTarget | None:
    """The target that applies to a child: its own, else the one that applies to its parent
    (the child's lineage is its parent's and itself)."""
    if child["coverage_target"] is not None:
        return AppliedTarget(child["code"], child["coverage_target"], child["coverage_deadline"])
    return parent


def target_of(
    applied: AppliedTarget | None, numbers: Numbers, *, as_of: date, days: int
) -> Target | None:
    """Where a region stands against the coverage target that applies to it (its own or
    an ancestor's), from its own numbers and its recordings over the `days`-day window."""
    if applied is None:
        return None
    days_left = (applied.deadline - as_of).days
    eligible = numbers.anchored.eligible_or_none
    window_recordings = sum(numbers.per_day.values())
    needed = remaining = required = projected = None
    if eligible is not None:
        # Exact: the target is the decimal it was written as, not a binary float.
        needed = math.ceil(applied.coverage * eligible)
        remaining = max(0, needed - numbers.recorded)
        required = -(-remaining // days_left) if days_left > 0 else None
        if remaining == 0:
            projected = as_of
        elif window_recordings > 0:
            # ceil(remaining / (recordings / days)), in integers
            extra = -(-remaining * days // window_recordings)
            if extra <= (LAST_DATE - as_of).days:
                projected = as_of + timedelta(days=extra)
    return {
        "coverage": applied.coverage,
        "deadline": applied.deadline,
        "source": applied.source,
        "needed": needed,
        "remaining": remaining,
        "days_left": days_left,
        "required_per_day": required,
        "projected_date": projected,
        "on_track": projected is not None and projected <= applied.deadline,
    }


async def region_progress(
    session: AsyncSession, *, code: str, as_of: date, days: int
) -> dict[str, Any]:
    """The progress body of one region at as_of, with its children and own offices."""
    region, applied, child_rows = await get_region_and_children(session, code)
    start = as_of - timedelta(days=days - 1)
    children = [{key: child[key] for key in ("code", "name", "level")} for child in child_rows]
    codes = [code] + [child["code"] for child in children]
    numbers = await numbers_of(session, codes, start, as_of)
    own = numbers[code]
    eligible = own.anchored.eligible_or_none
    recorded = own.recorded
    window = window_of(own.per_day, start, days, region["daily_target"])
    day_recordings = own.per_day.get(as_of, 0)
    reporting = (
        await session.execute(
            _REPORTING_NATION if region["depth"] == 0 else _REPORTING,
            {"region": code, "as_of": as_of},
        )
    ).one()
    reported_below = {
        row.code: row
        for row in await session.execute(
            _REPORTING_BY_CHILD, {"region": code, "as_of": as_of, "depth": region["depth"]}
        )
    }
    own_offices = []
    if region["depth"] > 0:  # no office sits at the nation itself
        rows = await session.execute(_OWN_OFFICES, {"region": code, "as_of": as_of, "start": start})
        own_offices = [dict(row._mapping) for row in rows]
    child_bodies = []
    by_child = []
    for child, child_row in zip(children, child_rows, strict=True):
        below = numbers[child["code"]]
        this_eligible = below.anchored.eligible_or_none
        target = target_of(child_target(applied, child_row), below, as_of=as_of, days=days)
        counted = reported_below.get(child["code"])
        by_child.append(
            {
                **{key: child[key] for key in ("code", "name")},
                "expected": 0 if counted is None else counted.expected,
                "reported": 0 if counted is None else counted.reported,
            }
        )
        child_bodies.append(
            {
                **child,
                "eligible": this_eligible,
                "recorded": below.recorded,
                "coverage": ratio(below.recorded, this_eligible),
                "day_recordings": below.per_day.get(as_of, 0),
                "window_recordings": sum(below.per_day.values()),
                "target_coverage": None if target is None else target["coverage"],
                "target_source": None if target is None else target["source"],
                "required_per_day": None if target is None else target["required_per_day"],
                "on_track": None if target is None else target["on_track"],
            }
        )
    return {
        "region": {"code": code, "name": region["name"], "level": region["level"]},
        "as_of": as_of,
        "eligible": eligible,
        "recorded": recorded,
        "coverage": ratio(recorded, eligible),
        "day": {
            "recordings": day_recordings,
            "target": region["daily_target"],
            "achievement": ratio(day_recordings, region["daily_target"]),
        },
        "window": window,
        "target": target_of(applied, own, as_of=as_of, days=days),
        "reporting": {
            "date": as_of,
            "expected": reporting.expected,
            "reported": reporting.reported,
            "missing": reporting.missing,
            "missing_total": reporting.expected - reporting.reported,
            "by_child": by_child,
        },
        "children": child_bodies,
        "offices": own_offices,
    }


def buckets(start: date, end: date, bucket: str) -> list[tuple[date, date]]:
    """Consecutive buckets covering start..end: days, ISO weeks (Monday to Sunday) or
    calendar months, the first and last clipped to the range."""
    found = []
    cursor = start
    while True:
        if bucket == "day":
            last = cursor
        elif bucket == "week":
            last = cursor + timedelta(days=min(6 - cursor.weekday(), (end - cursor).days))
        else:
            last = month_end(cursor)
        last = min(last, end)
        found.append((cursor, last))
        if last == end:
            return found
        cursor = last + timedelta(days=1)


async def _series_recordings(
    session: AsyncSession, code: str, spans: list[tuple[date, date]], bucket: str
) -> list[int]:
    """Recordings of each span: whole months from the month tallies, the rest from days."""
    whole = {s for s, e in spans if bucket == "month" and s.day == 1 and e == month_end(s)}
    partial = [(s, e) for s, e in spans if s not in whole]
    month_totals: dict[date, int] = {}
    if whole:
        rows = await session.execute(
            text(
                """
                SELECT month, sum(recordings) AS recordings FROM region_months
                WHERE region = :code AND month BETWEEN :first AND :last GROUP BY month
                """
            ),
            {"code": code, "first": min(whole), "last": max(whole)},
        )
        month_totals = {row.month: int(row.recordings) for row in rows}
    per_day: dict[date, int] = {}
    # Days are needed for every span of a day or week series, and for a month series
    # only for its clipped first and last months.
    ranges = [(partial[0][0], partial[-1][1])] if bucket != "month" else partial
    for first, last in ranges if partial else []:
        per_day |= (await daily_recordings(session, [code], first, last)).get(code, {})
    return [
        month_totals.get(s, 0)
        if s in whole
        else sum(per_day.get(s + timedelta(days=i), 0) for i in range((e - s).days + 1))
        for s, e in spans
    ]


async def region_series(
    session: AsyncSession, *, code: str, start: date, end: date, bucket: str
) -> dict[str, Any]:
    """Recordings per bucket, and recorded, eligible and coverage at each bucket's end."""
    region = await get_region(session, code)
    spans = buckets(start, end, bucket)
    recordings = await _series_recordings(session, code, spans, bucket)
    before = 0
    if start > date.min:
        before = (await counts_through(session, [code], start - timedelta(days=1)))[code]
    anchored = await figure_steps(session, region=code, until=end)
    points = []
    running = before
    target = region["daily_target"]
    for (s, e), total in zip(spans, recordings, strict=True):
        running += total
        eligible = anchored.eligible_at(e)
        recorded = running + anchored.adjustment_at(e)
        points.append(
            {
                "start": s,
                "end": e,
                "recordings": total,
                "recorded": recorded,
                "eligible": eligible,
                "coverage": ratio(recorded, eligible),
                "target": None if target is None else target * ((e - s).days + 1),
            }
        )
    return {
        "region": {"code": code, "name": region["name"], "level": region["level"]},
        "bucket": bucket,
        "points": points,
    }


async def office_progress(
    session: AsyncSession, *, office: dict[str, Any], as_of: date, days: int
) -> dict[str, Any]:
    """One office's day, window, total and last report at as_of."""
    start = as_of - timedelta(days=days - 1)
    rows = await session.execute(
        text(
            """
            SELECT date, recordings FROM counts
            WHERE office_id = :id AND date BETWEEN :start AND :as_of
            """
        ),
        {"id": office["id"], "start": start, "as_of": as_of},
    )
    per_day = {row.date: row.recordings for row in rows}
    totals = (
        await session.execute(
            text(
                """
                SELECT coalesce(sum(recordings), 0) AS total, max(date) AS last_reported
                FROM counts WHERE office_id = :id AND date <= :as_of
                """
            ),
            {"id": office["id"], "as_of": as_of},
        )
    ).one()
    day_recordings = per_day.get(as_of, 0)
    target = office["daily_target"]
    return {
        "office": {k: office[k] for k in ("code", "name", "kind", "region", "timezone")},
        "as_of": as_of,
        "day": {
            "recordings": day_recordings,
            "target": target,
            "achievement": ratio(day_recordings, target),
        },
        "window": window_of(per_day, start, days, target),
        "total": int(totals.total),
        "last_reported": totals.last_reported,
    }
