"""The outlier verdict of every count, kept on the count in the transaction that writes it.

A count dated d is judged against its office's counts dated d-90 ... d-1 (docs/api.md,
`outlier`): counts.outlier says whether it is one, and outlier_median and outlier_mad (null
unless it is) what it was judged against. A change of the count dated d changes its own
verdict and those of its office's counts dated d+1 ... d+90, so write_with_tallies
(services/tallies.py) runs REJUDGE on them right after the write, in its transaction: the
writing statement returns the keys it changed, and REJUDGE reads the windows from the counts
as the write left them, through the primary key. Only verdicts that change are written, and
most counts are no outlier before and after.

The arithmetic is in integers: with M2 = 2 x median and MAD4 = 4 x MAD (medians of integers
are integers or halves, their MADs quarters), 0.6745 |x - median| / MAD > 3.5 is
1349 |2x - M2| > 3500 MAD4."""

from sqlalchemy import text

WINDOW_DAYS = 90
MIN_COUNTS = 14


def verdict_sql(office_id: str, day: str, recordings: str) -> str:
    """A LATERAL subquery of (outlier, outlier_median, outlier_mad) for a count of office
    `office_id` dated `day` holding `recordings` (SQL expressions)."""
    return f"""LATERAL (
    SELECT coalesce(s.flagged, false) AS outlier,
           CAST(CASE WHEN s.flagged THEN s.median2 / 2.0 END AS numeric(8, 1))
               AS outlier_median,
           CAST(CASE WHEN s.flagged THEN s.mad4 / 4.0 END AS numeric(8, 2)) AS outlier_mad
    FROM (
        SELECT m.median2, a.mad4,
               m.n >= {MIN_COUNTS} AND a.mad4 > 0
               AND 1349 * abs(2 * CAST({recordings} AS bigint) - m.median2) > 3500 * a.mad4
                   AS flagged
        FROM (
            SELECT coalesce(array_agg(p.recordings ORDER BY p.recordings), '{{}}') AS prior
            FROM counts p
            WHERE p.office_id = {office_id}
              AND p.date BETWEEN {day} - {WINDOW_DAYS} AND {day} - 1
        ) w
        CROSS JOIN LATERAL (
            SELECT cardinality(w.prior) AS n,
                   CAST(w.prior[(cardinality(w.prior) + 1) / 2] AS bigint)
                       + w.prior[cardinality(w.prior) / 2 + 1] AS median2
        ) m
        CROSS JOIN LATERAL (
            SELECT CAST(d[(m.n + 1) / 2] AS bigint) + d[m.n / 2 + 1] AS mad4
            FROM (SELECT array_agg(abs(2 * v - m.median2) ORDER BY abs(2 * v - m.median2))
                  FROM unnest(w.prior) AS v) AS x(d)
        ) a
    ) s
)"""


# The counts that the changed keys (:office_ids, :dates) judge: each changed count itself, if
# it still exists, and its office's counts of the 90 days after it. Only those whose verdict
# changes are written, found again by their row's address (ctid) in a TID scan: joined back
# by key, the planner takes a national day's 90 days for 1.6 million rows and hashes the
# whole table. The write holds the offices' rows, so none of their counts moves meanwhile.
REJUDGE = text(
    f"""
WITH verdicts AS MATERIALIZED (
    SELECT t.ctid, j.*
    FROM (
        SELECT DISTINCT n.ctid, n.office_id, n.date, n.recordings,
               n.outlier AS was_outlier, n.outlier_median AS was_median,
               n.outlier_mad AS was_mad
        FROM unnest(CAST(:office_ids AS int[]), CAST(:dates AS date[])) AS x(office_id, date)
        JOIN counts n ON n.office_id = x.office_id
            AND n.date BETWEEN x.date AND x.date + {WINDOW_DAYS}
    ) t
    CROSS JOIN {verdict_sql("t.office_id", "t.date", "t.recordings")} j
    WHERE (t.was_outlier, t.was_median, t.was_mad)
          IS DISTINCT FROM (j.outlier, j.outlier_median, j.outlier_mad)
)
UPDATE counts c SET outlier = v.outlier, outlier_median = v.outlier_median,
                    outlier_mad = v.outlier_mad
FROM verdicts v
WHERE c.ctid = ANY(ARRAY(SELECT ctid FROM verdicts)) AND c.ctid = v.ctid
"""
)

# What a count-changing statement returns for REJUDGE: the keys whose recordings it
# created, changed or removed (the rows of its delta_rows with a change).
CHANGED_COLUMNS = """ARRAY(SELECT office_id FROM delta_rows WHERE delta <> 0 OR reports <> 0
             ORDER BY office_id, date) AS changed_office_ids,
       ARRAY(SELECT date FROM delta_rows WHERE delta <> 0 OR reports <> 0
             ORDER BY office_id, date) AS changed_dates"""
