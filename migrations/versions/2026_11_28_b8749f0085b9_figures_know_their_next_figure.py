"""Figures know the date of their region's next figure of each kind, so a series reads
where each figure stops counting instead of working it out with a window over all figures.

Revision ID: b8749f0085b9
Revises: 70065f8be6c8
Create Date: 2026-11-28 16:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b8749f0085b9"
down_revision: str | None = "70065f8be6c8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("figures", sa.Column("next_eligible", sa.Date(), nullable=True))
    op.add_column("figures", sa.Column("next_recorded", sa.Date(), nullable=True))
    op.execute(
        """
        UPDATE figures f SET next_eligible = n.next_eligible, next_recorded = n.next_recorded
        FROM (
            SELECT region, date,
                   min(date) FILTER (WHERE eligible IS NOT NULL) OVER later AS next_eligible,
                   min(date) FILTER (WHERE recorded IS NOT NULL) OVER later AS next_recorded
            FROM figures
            WINDOW later AS (PARTITION BY region ORDER BY date
                             ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING)
        ) n
        WHERE f.region = n.region AND f.date = n.date
        """
    )


def downgrade() -> None:
    op.drop_column("figures", "next_recorded")
    op.drop_column("figures", "next_eligible")
