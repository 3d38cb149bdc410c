"""quality_checks: the data-quality flags an admin marked as checked, with what the flag showed
at the time (so that a changed count or figure raises it again); audit kind quality_check.

Revision ID: 5c1e9a7d3b20
Revises: 08f08ec8fb17
Create Date: 2026-12-02 13:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5c1e9a7d3b20"
down_revision: str | None = "08f08ec8fb17"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = (
    "'outlier', 'over_coverage', 'recorded_decrease', 'eligible_jump', 'figure_mismatch', 'silent'"
)


def upgrade() -> None:
    op.create_table(
        "quality_checks",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("region", sa.Text(collation="C"), nullable=False),
        sa.Column("office", sa.Text(collation="C"), nullable=True),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=True),
        sa.Column("expected", sa.Numeric(), nullable=True),
        sa.Column("count_version", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.Column("actor_role", sa.Text(), nullable=False),
        sa.Column("actor_name", sa.Text(), nullable=True),
        sa.CheckConstraint(f"kind IN ({KINDS})", name=op.f("ck_quality_checks_kind")),
        sa.ForeignKeyConstraint(
            ["token_id"], ["tokens.id"], name=op.f("fk_quality_checks_token_id_tokens")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_checks")),
        sa.UniqueConstraint(
            "kind",
            "region",
            "office",
            "date",
            name=op.f("uq_quality_checks_kind"),
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.drop_constraint(op.f("ck_audit_events_kind"), "audit_events", type_="check")
    op.create_check_constraint(
        op.f("ck_audit_events_kind"),
        "audit_events",
        "kind IN ('region', 'figure', 'office', 'token', 'target', 'quality_check')",
    )


def downgrade() -> None:
    op.execute("DELETE FROM audit_events WHERE kind = 'quality_check'")
    op.drop_constraint(op.f("ck_audit_events_kind"), "audit_events", type_="check")
    op.create_check_constraint(
        op.f("ck_audit_events_kind"),
        "audit_events",
        "kind IN ('region', 'figure', 'office', 'token', 'target')",
    )
    op.drop_table("quality_checks")
