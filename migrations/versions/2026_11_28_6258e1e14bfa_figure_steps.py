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


def upgrade() -> None:
    # The statement the service rebuilds steps with; the backfill must agree with it.
    from app.services.figures import STORE_STEPS

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
