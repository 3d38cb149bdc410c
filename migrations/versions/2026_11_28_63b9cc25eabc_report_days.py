"""report_days: how many counts each day has, nationwide, kept by the statements that change
counts, so that the nation's reporting need not read the day's counts.

Revision ID: 63b9cc25eabc
Revises: 373d7a56ea14
Create Date: 2026-11-28 21:24:32.328504
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "63b9cc25eabc"
down_revision: str | None = "373d7a56ea14"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# app.models.SHARDS when this revision was written: a migration must not change with the app.
SHARDS = 8


def upgrade() -> None:
    op.create_table(
        "report_days",
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("reports", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("date", "shard", name=op.f("pk_report_days")),
    )
    op.execute(
        f"""
        INSERT INTO report_days (date, shard, reports)
        SELECT date, office_id % {SHARDS}, count(*) FROM counts GROUP BY 1, 2
        """
    )


def downgrade() -> None:
    op.drop_table("report_days")
