"""An index of counts by date, for reporting (who reported on a date) and exports.

Revision ID: 70065f8be6c8
Revises: ec798fcd21df
Create Date: 2026-11-28 14:26:43.243845
"""

from collections.abc import Sequence

from alembic import op

revision: str = "70065f8be6c8"
down_revision: str | None = "ec798fcd21df"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_counts_date_office_id", "counts", ["date", "office_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_counts_date_office_id", table_name="counts")
