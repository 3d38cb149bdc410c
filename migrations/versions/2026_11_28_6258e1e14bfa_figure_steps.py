"""figure_steps: the step functions of the official figures below each region, kept by the
writes that change figures, so progress and series read a few events instead of working the
frontier out over every figure below the region.

Revision ID: 6258e1e14bfa
Revises: 70065f8be6c8
Create Date: 2026-11-28 17:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "6258e1e14bfa"
down_revision: str | None = "70065f8be6c8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The events of one region: app/services/figures.py's STORE_STEPS as it was when this revision
# was written, its f-string pieces written out. A revision runs the SQL it ran then, whatever
# the service's statement becomes.
STORE_STEPS = sa.text(
    """
WITH f AS (
    SELECT region, date, eligible, recorded - counts_through AS adjustment,
           min(date) FILTER (WHERE eligible IS NOT NULL) OVER later AS next_eligible,
           min(date) FILTER (WHERE recorded IS NOT NULL) OVER later AS next_recorded
    FROM figures
    WHERE (CAST(:region AS text) = 'ID' OR region = :region OR region LIKE :region || '.%')
    WINDOW later AS (PARTITION BY region ORDER BY date
                     ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING)
),
firsts AS (
    SELECT region, CASE WHEN region = 'ID' THEN 0 ELSE cardinality(string_to_array(region, '.')) END AS depth,
           min(date) FILTER (WHERE eligible IS NOT NULL) AS eligible_from,
           min(date) FILTER (WHERE adjustment IS NOT NULL) AS recorded_from
    FROM f GROUP BY region
),
blocked AS (
    SELECT s.region, min(a.eligible_from) AS eligible_until,
           min(a.recorded_from) AS recorded_until
    FROM firsts s
    CROSS JOIN LATERAL generate_series(CAST(:depth AS int), s.depth - 1) AS k
    JOIN firsts a ON a.region = CASE WHEN k = 0 THEN 'ID'
     ELSE array_to_string((string_to_array(s.region, '.'))[1 : k], '.') END
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


def upgrade() -> None:
    op.create_table(
        "figure_steps",
        sa.Column("region", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("anchors", sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('eligible', 'recorded')", name=op.f("ck_figure_steps_kind")),
        sa.PrimaryKeyConstraint("region", "kind", "date", name=op.f("pk_figure_steps")),
    )
    bind = op.get_bind()
    heads = bind.execute(
        sa.text(
            """
            SELECT DISTINCT a.code, a.depth FROM figures f
            JOIN regions r ON r.code = f.region JOIN regions a ON a.code = ANY(r.lineage)
            """
        )
    )
    for code, depth in heads.all():
        bind.execute(STORE_STEPS, {"region": code, "depth": depth})


def downgrade() -> None:
    op.drop_table("figure_steps")
