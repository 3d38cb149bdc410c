"""Data-quality flags: where the numbers of a subtree look wrong on a date.

Each kind is one SQL statement over the subtree, its definition written out in docs/api.md;
Python only shapes, orders and matches the checks (app/services/quality_checks.py). Every
flag is computed at read time from the stored counts and figures, and from the outlier
verdicts the count write keeps on each count in the same transaction, so a write shows in
the very next read."""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.codes import sql_in_subtree
from app.models import QUALITY_KINDS
from app.services.outliers import WINDOW_DAYS
from app.services.regions import get_region
from app.services.tallies import counts_through_sql, through_params

DEFAULT_LIMIT = 500
MAX_LIMIT = 5000
# Outliers (docs/api.md; the verdicts in services/outliers.py) are flagged for the counts
# dated in the 7 days ending as_of.
RECENT_DAYS = 7
SILENT_DAYS = 3

Number = int | Decimal


@dataclass(frozen=True, slots=True)
class Check:
    at: datetime
    token_id: int | None
    role: str
    name: str | None
    note: str


@dataclass(slots=True)
class Flag:
    kind: str
    region: str
    office: str | None
    date: date
    value: Number | None
    expected: Number | None
    message: str
    # What a check must have seen for it to still cover this flag.
    count_version: int | None = None
    checked: Check | None = None

    @property
    def key(self) -> tuple[str, str, str | None, dt.date]:
        return (self.kind, self.region, self.office, self.date)

    def order(self) -> tuple[int, str, dt.date]:
        return (QUALITY_KINDS.index(self.kind), self.office or self.region, self.date)


def exact(value: Any) -> Number | None:
    """A median as the exact number it is: medians of integers are integers or halves, MADs
    quarters (stored as numeric, read back with trailing zeros)."""
    if value is None or isinstance(value, int):
        return value
    number = value if isinstance(value, Decimal) else Decimal(repr(float(value)))
    return int(number) if number == number.to_integral_value() else number.normalize()


# The count write keeps each count's verdict (services/outliers.py): the week's outliers are
# read from the partial index on them.
_OUTLIER = text(
    f"""
SELECT o.code AS office, o.region, c.date, c.recordings, c.version,
       c.outlier_median AS median, c.outlier_mad AS mad
FROM counts c JOIN offices o ON o.id = c.office_id
WHERE c.outlier AND c.date BETWEEN CAST(:as_of AS date) - {RECENT_DAYS - 1} AND :as_of
  AND {sql_in_subtree("o.region")}
"""
)

# Only regions with eligible steps can have an eligible: their steps up to as_of summed in one
# pass (as anchored_sql does for one region, services/figures.py); recorded and eligible are
# then those of progress on as_of. When the nation has no counts dated after as_of (the
# usual case, as_of today), no region has, and a region's counts up to as_of are its total.
# OFFSET 0 keeps the subquery whole, so each region's recorded is summed once.
_OVER_COVERAGE = text(
    f"""
WITH anchored AS (
    SELECT region,
           sum(value) FILTER (WHERE kind = 'eligible') AS eligible,
           sum(anchors) FILTER (WHERE kind = 'eligible') AS eligible_anchors,
           coalesce(sum(value) FILTER (WHERE kind = 'recorded'), 0) AS adjustment
    FROM figure_steps
    WHERE {sql_in_subtree("region")} AND date <= :as_of
    GROUP BY region
),
later AS (
    SELECT EXISTS (SELECT 1 FROM region_days WHERE region = 'ID' AND date > :as_of) AS counts
)
SELECT region, recorded, eligible FROM (
    SELECT a.region, a.eligible,
           a.adjustment + CASE
               WHEN (SELECT counts FROM later) THEN {counts_through_sql("a.region")}
               ELSE (SELECT coalesce(sum(recordings), 0) FROM region_totals t
                     WHERE t.region = a.region)
           END AS recorded
    FROM anchored a
    WHERE a.eligible_anchors > 0 AND a.eligible > 0
    OFFSET 0
) n
WHERE recorded > eligible
"""
)

# Each figure against the region's latest earlier-dated figure whose member is not null.
_FIGURE_CHANGES = text(
    f"""
SELECT 'recorded_decrease' AS kind, region, date, value, previous FROM (
    SELECT region, date, recorded AS value,
           lag(recorded) OVER (PARTITION BY region ORDER BY date) AS previous
    FROM figures
    WHERE {sql_in_subtree("region")} AND date <= :as_of AND recorded IS NOT NULL
) r WHERE value < previous
UNION ALL
SELECT 'eligible_jump', region, date, value, previous FROM (
    SELECT region, date, eligible AS value,
           lag(eligible) OVER (PARTITION BY region ORDER BY date) AS previous
    FROM figures
    WHERE {sql_in_subtree("region")} AND date <= :as_of AND eligible IS NOT NULL
) e WHERE 10 * abs(value - previous) > previous
"""
)

# A figure of a region with children, on a date where every direct child has a figure: the
# children's figures of the parent's dates, summed, in one join; then whether every child
# is among them.
_MISMATCH = text(
    f"""
SELECT f.region, f.date, f.eligible, f.recorded,
       bool_and(g.eligible IS NOT NULL) AS eligible_all, sum(g.eligible) AS eligible_sum,
       bool_and(g.recorded IS NOT NULL) AS recorded_all, sum(g.recorded) AS recorded_sum
FROM figures g
JOIN regions c ON c.code = g.region
JOIN figures f ON f.region = c.parent AND f.date = g.date
WHERE {sql_in_subtree("f.region")} AND f.date <= :as_of
GROUP BY f.region, f.date, f.eligible, f.recorded
HAVING count(*) = (SELECT count(*) FROM regions k WHERE k.parent = f.region)
"""
)

# No count above 0 in the 3 days ending as_of: none at all, zeros, or a mix of both.
_SILENT = text(
    f"""
SELECT o.code AS office, o.region
FROM offices o
WHERE {sql_in_subtree("o.region")} AND o.active
  AND (o.opened_on IS NULL OR o.opened_on <= CAST(:as_of AS date) - {SILENT_DAYS})
  AND NOT EXISTS (
      SELECT 1 FROM counts c
      WHERE c.office_id = o.id
        AND c.date BETWEEN CAST(:as_of AS date) - {SILENT_DAYS - 1} AND :as_of
        AND c.recordings > 0
  )
"""
)


async def _outliers(session: AsyncSession, params: dict[str, Any]) -> list[Flag]:
    rows = (await session.execute(_OUTLIER, params)).all()
    return [
        Flag(
            "outlier",
            row.region,
            row.office,
            row.date,
            row.recordings,
            exact(row.median),
            f"{row.recordings} recordings against a median of {exact(row.median)} "
            f"(MAD {exact(row.mad)}) over the {WINDOW_DAYS} days before",
            count_version=row.version,
        )
        for row in rows
    ]


async def _over_coverage(session: AsyncSession, params: dict[str, Any]) -> list[Flag]:
    rows = (
        await session.execute(_OVER_COVERAGE, {**params, **through_params(params["as_of"])})
    ).all()
    return [
        Flag(
            "over_coverage",
            row.region,
            None,
            params["as_of"],
            int(row.recorded),
            int(row.eligible),
            f"recorded {int(row.recorded)} is above eligible {int(row.eligible)}: recordings "
            "count where they are made, not where the resident is registered",
        )
        for row in rows
    ]


async def _figure_changes(session: AsyncSession, params: dict[str, Any]) -> list[Flag]:
    rows = (await session.execute(_FIGURE_CHANGES, params)).all()
    messages = {
        "recorded_decrease": "recorded fell from {1} to {0} since the previous figure",
        "eligible_jump": "eligible changed by more than 10%: {1} before, {0} now",
    }
    return [
        Flag(
            row.kind,
            row.region,
            None,
            row.date,
            int(row.value),
            int(row.previous),
            messages[row.kind].format(int(row.value), int(row.previous)),
        )
        for row in rows
        if row.kind in params["kinds"]
    ]


async def _mismatches(session: AsyncSession, params: dict[str, Any]) -> list[Flag]:
    flags = []
    for row in (await session.execute(_MISMATCH, params)).all():
        for member, own, whole, total in (
            ("eligible", row.eligible, row.eligible_all, row.eligible_sum),
            ("recorded", row.recorded, row.recorded_all, row.recorded_sum),
        ):
            if own is not None and whole and int(total) != own:
                message = f"{member} {own} differs from the sum of the children's, {int(total)}"
                flags.append(
                    Flag("figure_mismatch", row.region, None, row.date, own, int(total), message)
                )
                break
    return flags


async def _silent(session: AsyncSession, params: dict[str, Any]) -> list[Flag]:
    rows = (await session.execute(_SILENT, params)).all()
    message = f"no recordings in the {SILENT_DAYS} days ending {params['as_of']}"
    return [
        Flag("silent", row.region, row.office, params["as_of"], None, None, message) for row in rows
    ]


_KINDS = {
    "outlier": _outliers,
    "over_coverage": _over_coverage,
    "recorded_decrease": _figure_changes,
    "eligible_jump": _figure_changes,
    "figure_mismatch": _mismatches,
    "silent": _silent,
}


async def flags_of(
    session: AsyncSession, *, region: str, as_of: date, kinds: Sequence[str]
) -> list[Flag]:
    """Every flag of the given kinds in the subtree of region on as_of, in order, with the
    checks that still cover them."""
    params = {"region": region, "as_of": as_of, "kinds": set(kinds)}
    flags: list[Flag] = []
    seen = set()
    for kind in QUALITY_KINDS:
        compute = _KINDS[kind]
        if kind in kinds and compute not in seen:
            seen.add(compute)
            flags += await compute(session, params)
    flags.sort(key=Flag.order)
    await attach_checks(session, region=region, as_of=as_of, flags=flags)
    return flags


# The checks that may cover a flag on as_of: figure flags keep their figure's date, the
# others are dated within the last week.
_CHECKS = text(
    f"""
SELECT kind, region, office, date, value, expected, count_version,
       at, token_id, actor_role, actor_name, note
FROM quality_checks
WHERE {sql_in_subtree("region")} AND date <= :as_of
"""
)


def fingerprint(flag: Flag) -> tuple[Number | None, Number | None, int | None]:
    """What a check keeps of the flag: while the flag shows the same, the check covers it."""
    return (flag.value, flag.expected, flag.count_version)


async def attach_checks(
    session: AsyncSession, *, region: str, as_of: date, flags: Sequence[Flag]
) -> None:
    """Set `checked` on each flag whose check saw what the flag shows now."""
    if not flags:
        return
    by_key = {flag.key: flag for flag in flags}
    for row in (await session.execute(_CHECKS, {"region": region, "as_of": as_of})).all():
        flag = by_key.get((row.kind, row.region, row.office, row.date))
        seen = (row.value, exact(row.expected), row.count_version)
        if flag is not None and fingerprint(flag) == seen:
            flag.checked = Check(row.at, row.token_id, row.actor_role, row.actor_name, row.note)


async def region_quality(
    session: AsyncSession,
    *,
    code: str,
    as_of: date,
    kinds: Sequence[str],
    limit: int,
    unchecked: bool,
) -> tuple[dict[str, Any], list[Flag], int]:
    """The region, the flags of its subtree on as_of (at most limit) and how many there are."""
    region = await get_region(session, code)
    flags = await flags_of(session, region=code, as_of=as_of, kinds=kinds)
    if unchecked:
        flags = [flag for flag in flags if flag.checked is None]
    return region, flags[:limit], len(flags)
