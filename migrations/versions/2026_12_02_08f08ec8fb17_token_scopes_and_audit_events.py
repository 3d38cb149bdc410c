"""Token scopes (tokens.region: null is national) and audit_events, the record of every change
of a region, figure, office or token.

Revision ID: 08f08ec8fb17
Revises: 63b9cc25eabc
Create Date: 2026-12-02 08:08:04.225605
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "08f08ec8fb17"
down_revision: str | None = "63b9cc25eabc"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.Column("actor_role", sa.Text(), nullable=False),
        sa.Column("actor_name", sa.Text(), nullable=True),
        sa.Column("actor_region", sa.Text(), nullable=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("before", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("after", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("region", sa.Text(collation="C"), nullable=False),
        sa.CheckConstraint(
            "action IN ('created', 'updated', 'deleted', 'revoked')",
            name=op.f("ck_audit_events_action"),
        ),
        sa.CheckConstraint(
            "kind IN ('region', 'figure', 'office', 'token', 'target')",
            name=op.f("ck_audit_events_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["token_id"], ["tokens.id"], name=op.f("fk_audit_events_token_id_tokens")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index("ix_audit_events_at_id", "audit_events", ["at", "id"], unique=False)
    op.create_index(
        "ix_audit_events_region_at_id", "audit_events", ["region", "at", "id"], unique=False
    )
    op.add_column("tokens", sa.Column("region", sa.Text(), nullable=True))
    op.create_index(op.f("ix_tokens_office_id"), "tokens", ["office_id"], unique=False)
    op.create_index(op.f("ix_tokens_region"), "tokens", ["region"], unique=False)
    op.create_foreign_key(
        op.f("fk_tokens_region_regions"), "tokens", "regions", ["region"], ["code"]
    )
    op.create_check_constraint(
        op.f("ck_tokens_office_unscoped"), "tokens", "role <> 'office' OR region IS NULL"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_tokens_office_unscoped"), "tokens", type_="check")
    op.drop_constraint(op.f("fk_tokens_region_regions"), "tokens", type_="foreignkey")
    op.drop_index(op.f("ix_tokens_region"), table_name="tokens")
    op.drop_index(op.f("ix_tokens_office_id"), table_name="tokens")
    op.drop_column("tokens", "region")
    op.drop_index("ix_audit_events_region_at_id", table_name="audit_events")
    op.drop_index("ix_audit_events_at_id", table_name="audit_events")
    op.drop_table("audit_events")
