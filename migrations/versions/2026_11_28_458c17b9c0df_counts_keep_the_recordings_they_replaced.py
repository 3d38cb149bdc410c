"""counts.previous_recordings: the recordings an update replaced, read from the locked row by
the update itself, so a count write needs no office lock to compute an exact delta.

Revision ID: 458c17b9c0df
Revises: 6258e1e14bfa
Create Date: 2026-11-28 17:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "458c17b9c0df"
down_revision: str | None = "6258e1e14bfa"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("counts", sa.Column("previous_recordings", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("counts", "previous_recordings")
