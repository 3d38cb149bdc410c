"""Office codes collate in byte order ("C"), the order offices are listed in, so that the
unique index on them serves that order (the nation's list of offices that have not reported).

Revision ID: 373d7a56ea14
Revises: 6258e1e14bfa
Create Date: 2026-11-28 18:34:26.310855
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "373d7a56ea14"
down_revision: str | None = "6258e1e14bfa"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column("offices", "code", type_=sa.Text(collation="C"), existing_nullable=False)


def downgrade() -> None:
    op.alter_column("offices", "code", type_=sa.Text(), existing_nullable=False)
