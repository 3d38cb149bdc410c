"""The summaries of counts, kept exact by the statement that changes the counts.

Every statement that changes counts is built by tally_statement and run by
write_with_tallies, which is the whole contract: the statement's CTEs end in
`delta_rows(office_id, region, date, delta, reports)`; every region in the lineage of
`region` gets `delta` added to its day, month and all-time rows, and every figure at or after
`date` in that lineage gets it added to `counts_through`, whose step functions
write_with_tallies then rebuilds. `reports` is +1 for a count created, -1 for one removed and
0 otherwise: report_days keeps how many counts each day has, nationwide. Rows are taken in
key order, so concurrent writers queue instead of deadlocking. Nation and province rows are
spread over SHARDS rows per key (by office), so the whole country does not queue on one row.
"""

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import month_end
from app.db import Db, fetch
from app.models import SHARDS
from app.services.figures import store_steps
from app.services.outliers import CHANGED_COLUMNS, REJUDGE

# Public only so that the benchmark can fingerprint the data set it builds the same way; a
# statement takes these through tally_statement.
TALLY_CTES = f"""
tally AS (
    SELECT l.code AS region, d.date,
           CASE WHEN l.pos <= 2 THEN d.office_id % {SHARDS} ELSE 0 END AS shard,
           sum(d.delta) AS delta
    FROM delta_rows d
    JOIN regions r ON r.code = d.region
    CROSS JOIN LATERAL unnest(r.lineage) WITH ORDINALITY AS l(code, pos)
    WHERE d.delta <> 0
    GROUP BY 1, 2, 3
),
tally_days AS (
    INSERT INTO region_days AS t (region, date, shard, recordings)
    SELECT region, date, shard, delta FROM tally ORDER BY region, date, shard
    ON CONFLICT (region, date, shard) DO UPDATE SET recordings = t.recordings + excluded.recordings
),
tally_months AS (
    INSERT INTO region_months AS t (region, month, shard, recordings)
    SELECT region, date_trunc('month', date)::date, shard, sum(delta)
    FROM tally GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (region, month, shard) DO UPDATE SET recordings = t.recordings + excluded.recordings
),
tally_totals AS (
    INSERT INTO region_totals AS t (region, shard, recordings)
    SELECT region, shard, sum(delta) FROM tally GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (region, shard) DO UPDATE SET recordings = t.recordings + excluded.recordings
),
tally_reports AS (
    INSERT INTO report_days AS t (date, shard, reports)
    SELECT date, office_id % {SHARDS}, sum(reports) FROM delta_rows
    GROUP BY 1, 2 HAVING sum(reports) <> 0 ORDER BY 1, 2
    ON CONFLICT (date, shard) DO UPDATE SET reports = t.reports + excluded.reports
),
tally_figures AS (
    UPDATE figures f SET counts_through = f.counts_through + x.delta
    FROM (
        SELECT g.region, g.date, sum(t.delta) AS delta
        FROM figures g JOIN tally t ON t.region = g.region AND t.date <= g.date
        GROUP BY 1, 2
    ) x
    WHERE f.region = x.region AND f.date = x.date
    RETURNING f.region
)
"""

# The regions whose figures' counts_through the statement changed, as its last column.
_REFIGURED = "ARRAY(SELECT DISTINCT region FROM tally_figures) AS refigured_regions"


def tally_statement(
    delta_ctes: str, columns: str = "", rest: str = "", *, rejudge: bool = True
) -> TextClause:
    """`WITH delta_ctes, <the tallies> SELECT columns, refigured_regions rest`: delta_ctes
    are CTEs whose last is delta_rows; columns and rest are the statement's own result.

    A statement that creates, changes or removes counts (rejudge) also returns the keys it
    changed, whose outlier verdicts write_with_tallies then recomputes (services/outliers.py).
    Only a statement that changes no count's date or recordings (an office moving) leaves
    rejudge off."""
    select = ", ".join(
        part for part in (columns, _REFIGURED, CHANGED_COLUMNS if rejudge else "") if part
    )
    return text(f"WITH {delta_ctes},\n{TALLY_CTES}\nSELECT {select}\n{rest}")


async def write_with_tallies(
    db: Db, statement: TextClause, params: dict[str, Any]
) -> Sequence[Any]:
    """Run a statement from tally_statement, then, in the caller's transaction, rebuild the
    step functions of the figures it changed and the outlier verdicts of the counts its
    changes judge; returns the statement's rows (by column name)."""
    rows = await fetch(db, statement, params)
    if rows:
        await store_steps(db, rows[0]["refigured_regions"])
        # (.get: only statements that change counts have the column.)
        if changed := rows[0].get("changed_office_ids"):
            await fetch(db, REJUDGE, {"office_ids": changed, "dates": rows[0]["changed_dates"]})
    return rows


def counts_through_sql(
    region: str, *, as_of: str = ":as_of", month: str = ":month", month_end: str = ":month_end"
) -> str:
    """SQL for the subtree counts of the region named by the expression `region`, dated up to
    `as_of`, from the summaries alone: everything, less the months after the month of as_of,
    less the days after as_of in its month. By default its parameters are
    through_params(as_of); `as_of`, `month` (its first day) and `month_end` may be other SQL
    expressions instead."""
    return f"""(
    coalesce((SELECT sum(recordings) FROM region_totals t WHERE t.region = {region}), 0)
  - coalesce((SELECT sum(recordings) FROM region_months m
              WHERE m.region = {region} AND m.month > {month}), 0)
  - coalesce((SELECT sum(recordings) FROM region_days d
              WHERE d.region = {region} AND d.date > {as_of} AND d.date <= {month_end}), 0))"""


def through_params(as_of: date) -> dict[str, date]:
    return {"as_of": as_of, "month": as_of.replace(day=1), "month_end": month_end(as_of)}


_COUNTS_THROUGH = text(
    f"""
SELECT x.code, {counts_through_sql("x.code")} AS counts_through
FROM unnest(CAST(:codes AS text[])) AS x(code)
"""
)


async def counts_through(
    session: AsyncSession, codes: Sequence[str], as_of: date
) -> dict[str, int]:
    """Each region's subtree counts dated up to as_of."""
    rows = await session.execute(_COUNTS_THROUGH, {"codes": list(codes), **through_params(as_of)})
    return {code: int(through) for code, through in rows}
