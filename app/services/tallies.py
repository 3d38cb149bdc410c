"""The summaries of counts, kept exact by the statement that changes the counts.

A statement that changes counts defines a CTE `delta_rows(office_id, region, date, delta)`
and appends TALLY_CTES: every region in the lineage of `region` gets `delta` added to its
day, month and all-time rows, and every figure at or after `date` in that lineage gets it
added to `counts_through`. Rows are taken in key order, so concurrent writers queue instead
of deadlocking. Nation and province rows are spread over SHARDS rows per key (by office),
so the whole country does not queue on one row.
"""

from app.models import SHARDS

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
tally_figures AS (
    UPDATE figures f SET counts_through = f.counts_through + x.delta
    FROM (
        SELECT g.region, g.date, sum(t.delta) AS delta
        FROM figures g JOIN tally t ON t.region = g.region AND t.date <= g.date
        GROUP BY 1, 2
    ) x
    WHERE f.region = x.region AND f.date = x.date
)
"""

# The sum of a region's subtree counts dated up to :date, from the summaries alone:
# everything, less the months after :date's month, less the days after :date in its month.
COUNTS_THROUGH = """
SELECT coalesce((SELECT sum(recordings) FROM region_totals WHERE region = :region), 0)
     - coalesce((SELECT sum(recordings) FROM region_months
                 WHERE region = :region AND month > date_trunc('month', CAST(:date AS date))), 0)
     - coalesce((SELECT sum(recordings) FROM region_days
                 WHERE region = :region AND date > :date
                   AND date < date_trunc('month', CAST(:date AS date)) + interval '1 month'), 0)
"""
