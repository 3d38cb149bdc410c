"""counts carry their outlier verdict (outlier; outlier_median and outlier_mad only on an
outlier), kept by the count write; existing counts are judged here, each against its office's
counts of the 90 days before it. The primary key's index includes recordings, so that a
window is read from the index alone.

Revision ID: 9e4b6c2d1f57
Revises: 7d3f1a2b9c64
Create Date: 2026-12-02 17:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9e4b6c2d1f57"
down_revision: str | None = "7d3f1a2b9c64"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The verdict as the count write computes it (app/services/outliers.py on this day), in
# integers: M2 = 2 x median, MAD4 = 4 x MAD, an outlier when the window holds at least 14
# counts, MAD4 > 0 and 1349 |2x - M2| > 3500 MAD4. One pass over the counts in key order,
# each window gathered by a window function; only the outliers are written.
BACKFILL = """
WITH windows AS (
    SELECT office_id, date, recordings,
           array_agg(recordings) OVER (
               PARTITION BY office_id ORDER BY date
               RANGE BETWEEN INTERVAL '90 days' PRECEDING AND INTERVAL '1 day' PRECEDING
           ) AS unsorted
    FROM counts
),
sorted AS (
    SELECT w.office_id, w.date, w.recordings, p.prior, cardinality(p.prior) AS n
    FROM windows w
    CROSS JOIN LATERAL (SELECT array_agg(v ORDER BY v) FROM unnest(w.unsorted) AS v) AS p(prior)
    WHERE cardinality(w.unsorted) >= 14
),
centred AS (
    SELECT s.*, CAST(s.prior[(s.n + 1) / 2] AS bigint) + s.prior[s.n / 2 + 1] AS median2
    FROM sorted s
),
spread AS (
    SELECT c.*, CAST(d[(c.n + 1) / 2] AS bigint) + d[c.n / 2 + 1] AS mad4
    FROM centred c
    CROSS JOIN LATERAL (
        SELECT array_agg(abs(2 * v - c.median2) ORDER BY abs(2 * v - c.median2))
        FROM unnest(c.prior) AS v
    ) AS x(d)
)
UPDATE counts c
SET outlier = true,
    outlier_median = CAST(s.median2 / 2.0 AS numeric(8, 1)),
    outlier_mad = CAST(s.mad4 / 4.0 AS numeric(8, 2))
FROM spread s
WHERE c.office_id = s.office_id AND c.date = s.date
  AND s.mad4 > 0 AND 1349 * abs(2 * CAST(s.recordings AS bigint) - s.median2) > 3500 * s.mad4
"""


def upgrade() -> None:
    op.add_column(
        "counts",
        sa.Column("outlier", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.add_column("counts", sa.Column("outlier_median", sa.Numeric(8, 1), nullable=True))
    op.add_column("counts", sa.Column("outlier_mad", sa.Numeric(8, 2), nullable=True))
    # One sort of every count by office and date: in memory rather than in temporary files.
    op.execute("SET LOCAL work_mem = '256MB'")
    op.execute(BACKFILL)
    op.create_check_constraint(
        op.f("ck_counts_outlier_verdict"),
        "counts",
        "(outlier_median IS NOT NULL) = outlier AND (outlier_mad IS NOT NULL) = outlier",
    )
    op.execute(
        "ALTER TABLE counts DROP CONSTRAINT pk_counts,"
        " ADD CONSTRAINT pk_counts PRIMARY KEY (office_id, date) INCLUDE (recordings)"
    )
    op.create_index(
        "ix_counts_outlier_date",
        "counts",
        ["date", "office_id"],
        unique=False,
        postgresql_where=sa.text("outlier"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_counts_outlier_date", table_name="counts", postgresql_where=sa.text("outlier")
    )
    op.drop_constraint(op.f("ck_counts_outlier_verdict"), "counts", type_="check")
    op.drop_column("counts", "outlier_mad")
    op.drop_column("counts", "outlier_median")
    op.drop_column("counts", "outlier")
