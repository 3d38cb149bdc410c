"""The outlier verdict of every count, kept on the count by the statement that writes counts.

A count dated d is judged against its office's counts dated d-90 ... d-1 (docs/api.md,
`outlier`): counts.outlier says whether it is one, and outlier_median and outlier_mad (null
unless it is) what it was judged against. A change of the count dated d changes its own
verdict and those of its office's counts dated d+1 ... d+90, so the write recomputes them
all in the same statement. A statement does not see its own changes, so it names them in a
CTE `changes(office_id, dates, recordings)`, one row per office: the dates it writes with
their new recordings (null for a count it removes), which the windows read in place of the
stored counts.

The arithmetic is in integers: with M2 = 2 x median and MAD4 = 4 x MAD (medians of integers
are integers or halves, their MADs quarters), 0.6745 |x - median| / MAD > 3.5 is
1349 |2x - M2| > 3500 MAD4."""

WINDOW_DAYS = 90
MIN_COUNTS = 14


def _verdict(prior: str, recordings: str) -> str:
    """A LATERAL subquery of (outlier, outlier_median, outlier_mad) for a count of
    `recordings` whose window holds the values of the sorted int[] `prior`."""
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
        FROM (SELECT cardinality({prior}) AS n,
                     CAST({prior}[(cardinality({prior}) + 1) / 2] AS bigint)
                         + {prior}[cardinality({prior}) / 2 + 1] AS median2) m
        CROSS JOIN LATERAL (
            SELECT CAST(d[(m.n + 1) / 2] AS bigint) + d[m.n / 2 + 1] AS mad4
            FROM (SELECT array_agg(abs(2 * v - m.median2) ORDER BY abs(2 * v - m.median2))
                  FROM unnest({prior}) AS v) AS x(d)
        ) a
    ) s
)"""


def verdict_sql(office_id: str, day: str, recordings: str, dates: str, changed: str) -> str:
    """A LATERAL subquery of (outlier, outlier_median, outlier_mad) for a count of office
    `office_id` dated `day` holding `recordings` (SQL expressions), its window read from the
    stored counts except on `dates`, where the int[] `changed` stand instead (null: none)."""
    window = f"BETWEEN {day} - {WINDOW_DAYS} AND {day} - 1"
    prior = f"""LATERAL (
    SELECT coalesce(array_agg(w.recordings ORDER BY w.recordings), '{{}}') AS prior FROM (
        SELECT p.recordings FROM counts p
        WHERE p.office_id = {office_id} AND p.date {window} AND p.date <> ALL ({dates})
        UNION ALL
        SELECT u.recordings FROM unnest({dates}, {changed}) AS u(date, recordings)
        WHERE u.date {window} AND u.recordings IS NOT NULL
    ) w
) w"""
    return f"{prior}\nCROSS JOIN {_verdict('w.prior', recordings)}"


# The counts after a changed one that it may judge: those of the 90 days after each count the
# statement created, removed or changed the recordings of (`delta_rows`), other than the ones
# it writes; each updated only if its verdict changed (most stay no outlier).
REJUDGE_CTE = f"""
rejudged AS (
    UPDATE counts c SET outlier = v.outlier, outlier_median = v.outlier_median,
                        outlier_mad = v.outlier_mad
    FROM (
        SELECT l.office_id, l.date, j.*
        FROM (
            SELECT DISTINCT n.office_id, n.date, n.recordings,
                   ch.dates AS changed_dates, ch.recordings AS changed_recordings
            FROM delta_rows d
            JOIN changes ch ON ch.office_id = d.office_id
            JOIN counts n ON n.office_id = d.office_id
                AND n.date BETWEEN d.date + 1 AND d.date + {WINDOW_DAYS}
            WHERE (d.delta <> 0 OR d.reports <> 0) AND n.date <> ALL (ch.dates)
        ) l
        CROSS JOIN {
    verdict_sql("l.office_id", "l.date", "l.recordings", "l.changed_dates", "l.changed_recordings")
} j
    ) v
    WHERE c.office_id = v.office_id AND c.date = v.date
      AND (c.outlier, c.outlier_median, c.outlier_mad)
          IS DISTINCT FROM (v.outlier, v.outlier_median, v.outlier_mad)
)"""
