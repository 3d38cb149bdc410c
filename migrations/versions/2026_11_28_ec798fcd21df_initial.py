"""Initial schema: regions, figures, offices, tokens, counts with history, and their tallies.

Revision ID: ec798fcd21df
Revises:
Create Date: 2026-11-28 13:33:17.797034
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "ec798fcd21df"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "instance_flags",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "set_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_instance_flags")),
    )
    op.create_table(
        "region_days",
        sa.Column("region", sa.Text(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("recordings", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("region", "date", "shard", name=op.f("pk_region_days")),
    )
    op.create_table(
        "region_months",
        sa.Column("region", sa.Text(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("recordings", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("region", "month", "shard", name=op.f("pk_region_months")),
    )
    op.create_table(
        "region_totals",
        sa.Column("region", sa.Text(), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("recordings", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("region", "shard", name=op.f("pk_region_totals")),
    )
    op.create_table(
        "regions",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("level", sa.Text(), nullable=False),
        sa.Column("depth", sa.SmallInteger(), nullable=False),
        sa.Column("parent", sa.Text(), nullable=True),
        sa.Column("lineage", sa.ARRAY(sa.Text()), nullable=False),
        sa.Column("daily_target", sa.Integer(), nullable=True),
        sa.Column("coverage_target", sa.Numeric(precision=7, scale=6), nullable=True),
        sa.Column("coverage_deadline", sa.Date(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(coverage_target IS NULL) = (coverage_deadline IS NULL)",
            name=op.f("ck_regions_target_deadline"),
        ),
        sa.CheckConstraint(
            "coverage_target > 0 AND coverage_target <= 1", name=op.f("ck_regions_coverage_target")
        ),
        sa.CheckConstraint("daily_target >= 0", name=op.f("ck_regions_daily_target")),
        sa.CheckConstraint("depth BETWEEN 0 AND 4", name=op.f("ck_regions_depth")),
        sa.ForeignKeyConstraint(
            ["parent"], ["regions.code"], name=op.f("fk_regions_parent_regions")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_regions")),
    )
    op.create_index(op.f("ix_regions_parent"), "regions", ["parent"], unique=False)
    op.create_table(
        "figures",
        sa.Column("region", sa.Text(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("eligible", sa.BigInteger(), nullable=True),
        sa.Column("recorded", sa.BigInteger(), nullable=True),
        sa.Column("counts_through", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("eligible >= 0", name=op.f("ck_figures_eligible")),
        sa.CheckConstraint(
            "eligible IS NOT NULL OR recorded IS NOT NULL", name=op.f("ck_figures_some_value")
        ),
        sa.CheckConstraint("recorded >= 0", name=op.f("ck_figures_recorded")),
        sa.ForeignKeyConstraint(
            ["region"], ["regions.code"], name=op.f("fk_figures_region_regions")
        ),
        sa.PrimaryKeyConstraint("region", "date", name=op.f("pk_figures")),
    )
    op.create_table(
        "offices",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("region", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("daily_target", sa.Integer(), nullable=True),
        sa.Column("timezone", sa.Text(), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind IN ('dukcapil', 'kecamatan', 'mobile', 'other')", name=op.f("ck_offices_kind")
        ),
        sa.CheckConstraint("daily_target >= 0", name=op.f("ck_offices_daily_target")),
        sa.ForeignKeyConstraint(
            ["region"], ["regions.code"], name=op.f("fk_offices_region_regions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offices")),
        sa.UniqueConstraint("code", name=op.f("uq_offices_code")),
    )
    op.create_index(op.f("ix_offices_region"), "offices", ["region"], unique=False)
    op.create_table(
        "counts",
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("recordings", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("recordings BETWEEN 0 AND 100000", name=op.f("ck_counts_recordings")),
        sa.CheckConstraint("version >= 1", name=op.f("ck_counts_version")),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.id"], name=op.f("fk_counts_office_id_offices")
        ),
        sa.PrimaryKeyConstraint("office_id", "date", name=op.f("pk_counts")),
    )
    op.create_table(
        "tokens",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("secret_hash", sa.LargeBinary(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(role = 'office') = (office_id IS NOT NULL)", name=op.f("ck_tokens_office_role")
        ),
        sa.CheckConstraint("role IN ('admin', 'office', 'viewer')", name=op.f("ck_tokens_role")),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.id"], name=op.f("fk_tokens_office_id_offices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tokens")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_tokens_secret_hash")),
    )
    op.create_table(
        "count_revisions",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("recordings", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.Column("actor_role", sa.Text(), nullable=False),
        sa.Column("actor_name", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.id"], name=op.f("fk_count_revisions_office_id_offices")
        ),
        sa.ForeignKeyConstraint(
            ["token_id"], ["tokens.id"], name=op.f("fk_count_revisions_token_id_tokens")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_count_revisions")),
        sa.UniqueConstraint(
            "office_id", "date", "version", name=op.f("uq_count_revisions_office_id")
        ),
    )
    # The nation is always there: every other region hangs below it.
    op.execute(
        "INSERT INTO regions (code, name, level, depth, parent, lineage)"
        " VALUES ('ID', 'Indonesia', 'nation', 0, NULL, ARRAY['ID'])"
    )


def downgrade() -> None:
    op.drop_table("count_revisions")
    op.drop_table("tokens")
    op.drop_table("counts")
    op.drop_index(op.f("ix_offices_region"), table_name="offices")
    op.drop_table("offices")
    op.drop_table("figures")
    op.drop_index(op.f("ix_regions_parent"), table_name="regions")
    op.drop_table("regions")
    op.drop_table("region_totals")
    op.drop_table("region_months")
    op.drop_table("region_days")
    op.drop_table("instance_flags")
