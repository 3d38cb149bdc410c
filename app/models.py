"""Every table. Summaries (region_days, region_months, region_totals, report_days,
figures.counts_through) are kept exact by the count-writing statement itself, never by a
background job; figure_steps by the transaction that changes a figure or its counts_through;
the counts' outlier verdicts by the transaction that changes a count in their window."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    SmallInteger,
    Text,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Writes to the nation and province rows of the summaries are spread over this many rows
# per key, so that offices across the country do not queue on one hot row.
SHARDS = 8


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def stamped_now() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now())


class Region(Base):
    __tablename__ = "regions"
    __table_args__ = (
        CheckConstraint("depth BETWEEN 0 AND 4", name="depth"),
        CheckConstraint("daily_target >= 0", name="daily_target"),
        CheckConstraint("coverage_target > 0 AND coverage_target <= 1", name="coverage_target"),
        CheckConstraint(
            "(coverage_target IS NULL) = (coverage_deadline IS NULL)", name="target_deadline"
        ),
    )

    code: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(Text)
    depth: Mapped[int] = mapped_column(SmallInteger)
    parent: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)
    # Codes from the nation down to this region, itself included: the rows a count updates.
    lineage: Mapped[list[str]] = mapped_column(ARRAY(Text))
    daily_target: Mapped[int | None] = mapped_column(Integer)
    coverage_target: Mapped[Decimal | None] = mapped_column(Numeric(7, 6))
    coverage_deadline: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = stamped_now()
    updated_at: Mapped[datetime] = stamped_now()


class Figure(Base):
    __tablename__ = "figures"
    __table_args__ = (
        CheckConstraint("eligible >= 0", name="eligible"),
        CheckConstraint("recorded >= 0", name="recorded"),
        CheckConstraint("eligible IS NOT NULL OR recorded IS NOT NULL", name="some_value"),
    )

    region: Mapped[str] = mapped_column(ForeignKey("regions.code"), primary_key=True)
    date: Mapped[date] = mapped_column(Date, primary_key=True)
    eligible: Mapped[int | None] = mapped_column(BigInteger)
    recorded: Mapped[int | None] = mapped_column(BigInteger)
    # The sum of the region's subtree counts dated up to `date`: recorded(R, d) swaps exactly
    # this amount for the published `recorded`, so progress needs no scan back to the figure.
    counts_through: Mapped[int] = mapped_column(BigInteger, server_default="0")
    created_at: Mapped[datetime] = stamped_now()
    updated_at: Mapped[datetime] = stamped_now()


class Office(Base):
    __tablename__ = "offices"
    __table_args__ = (
        CheckConstraint("kind IN ('dukcapil', 'kecamatan', 'mobile', 'other')", name="kind"),
        CheckConstraint("daily_target >= 0", name="daily_target"),
    )

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    # Byte order ("C"), the order offices are listed in, so that its unique index can serve
    # that order: the nation's missing offices walk it and stop at the limit.
    code: Mapped[str] = mapped_column(Text(collation="C"), unique=True)
    name: Mapped[str] = mapped_column(Text)
    region: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    kind: Mapped[str] = mapped_column(Text)
    daily_target: Mapped[int | None] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(Text)
    opened_on: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = stamped_now()
    updated_at: Mapped[datetime] = stamped_now()


class Token(Base):
    __tablename__ = "tokens"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'office', 'viewer')", name="role"),
        CheckConstraint("(role = 'office') = (office_id IS NOT NULL)", name="office_role"),
        # An office token is bound to its office; only admin and viewer tokens carry a scope.
        CheckConstraint("role <> 'office' OR region IS NULL", name="office_unscoped"),
    )

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    role: Mapped[str] = mapped_column(Text)
    office_id: Mapped[int | None] = mapped_column(ForeignKey("offices.id"), index=True)
    # The region an admin or viewer token is scoped to (app/scopes.py); null: national.
    region: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)
    name: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = stamped_now()
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Count(Base):
    __tablename__ = "counts"
    __table_args__ = (
        CheckConstraint("recordings BETWEEN 0 AND 100000", name="recordings"),
        CheckConstraint("version >= 1", name="version"),
        CheckConstraint(
            "(outlier_median IS NOT NULL) = outlier AND (outlier_mad IS NOT NULL) = outlier",
            name="outlier_verdict",
        ),
        # recordings in the key's index: an office's 90-day window (an outlier verdict) is
        # read from the index alone.
        PrimaryKeyConstraint("office_id", "date", postgresql_include=["recordings"]),
    )

    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"))
    date: Mapped[date] = mapped_column(Date)
    recordings: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Whether the count is an outlier against its office's counts of the 90 days before it,
    # and (only then) their median and MAD: kept by every count write, for this count and the
    # later ones it judges (app/services/outliers.py), so the flags read no window.
    outlier: Mapped[bool] = mapped_column(Boolean, server_default=false())
    outlier_median: Mapped[Decimal | None] = mapped_column(Numeric(8, 1))
    outlier_mad: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))


# Who reported on a date: reporting and exports read counts by date across offices.
Index("ix_counts_date_office_id", Count.date, Count.office_id)
# The outliers of a week: a few hundred rows among the week's 55,000 counts.
Index("ix_counts_outlier_date", Count.date, Count.office_id, postgresql_where=Count.outlier)


class CountRevision(Base):
    """Every change of a count, deletions included (recordings null)."""

    __tablename__ = "count_revisions"
    __table_args__ = (UniqueConstraint("office_id", "date", "version"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"))
    date: Mapped[date] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer)
    recordings: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Null for the admin token from REKAM_ADMIN_TOKEN, which has no row.
    token_id: Mapped[int | None] = mapped_column(ForeignKey("tokens.id"))
    actor_role: Mapped[str] = mapped_column(Text)
    actor_name: Mapped[str | None] = mapped_column(Text)


class RegionDay(Base):
    """Subtree recordings of a region on one day (summed over shards)."""

    __tablename__ = "region_days"

    region: Mapped[str] = mapped_column(Text, primary_key=True)
    date: Mapped[date] = mapped_column(Date, primary_key=True)
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    recordings: Mapped[int] = mapped_column(BigInteger)


class RegionMonth(Base):
    """Subtree recordings of a region in one calendar month (`month` is its first day)."""

    __tablename__ = "region_months"

    region: Mapped[str] = mapped_column(Text, primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    recordings: Mapped[int] = mapped_column(BigInteger)


class RegionTotal(Base):
    """All subtree recordings of a region, every date."""

    __tablename__ = "region_totals"

    region: Mapped[str] = mapped_column(Text, primary_key=True)
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    recordings: Mapped[int] = mapped_column(BigInteger)


class RegionVersion(Base):
    """How often the data a region's reads depend on has changed, kept by triggers in the
    writing transaction (migrations/versions/*_region_versions.py): `subtree` counts writes
    of counts, figures, offices and regions anywhere under the region (itself included),
    `own` writes of the region's own record (name, targets), which its descendants inherit.
    Nation and province rows are spread over SHARDS rows by office like the tallies, so the
    whole country does not queue on one row. Sums only grow, so a sum is a version."""

    __tablename__ = "region_versions"

    region: Mapped[str] = mapped_column(Text, primary_key=True)
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    subtree: Mapped[int] = mapped_column(BigInteger, server_default="0")
    own: Mapped[int] = mapped_column(BigInteger, server_default="0")


class ReportDay(Base):
    """How many counts are dated one day, nationwide: the nation's reporting starts from it
    instead of reading the day's counts (services/progress.py)."""

    __tablename__ = "report_days"

    date: Mapped[date] = mapped_column(Date, primary_key=True)
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    reports: Mapped[int] = mapped_column(Integer)


class FigureStep(Base):
    """What the official figures below a region add up to, as a step function of the date:
    from `date` on, `value` and `anchors` change by these amounts (app/services/figures.py)."""

    __tablename__ = "figure_steps"
    __table_args__ = (CheckConstraint("kind IN ('eligible', 'recorded')", name="kind"),)

    region: Mapped[str] = mapped_column(Text, primary_key=True)
    kind: Mapped[str] = mapped_column(Text, primary_key=True)
    date: Mapped[date] = mapped_column(Date, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)
    anchors: Mapped[int] = mapped_column(Integer)


class AuditEvent(Base):
    """One change of a region, figure, office or token, written by the transaction that made
    it (app/services/audit.py). Counts keep their own history in count_revisions."""

    __tablename__ = "audit_events"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('region', 'figure', 'office', 'token', 'target', 'quality_check')",
            name="kind",
        ),
        CheckConstraint("action IN ('created', 'updated', 'deleted', 'revoked')", name="action"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Null for the admin token from REKAM_ADMIN_TOKEN and the CLI, which have no row.
    token_id: Mapped[int | None] = mapped_column(ForeignKey("tokens.id"))
    actor_role: Mapped[str] = mapped_column(Text)
    actor_name: Mapped[str | None] = mapped_column(Text)
    actor_region: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    key: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    before: Mapped[dict[str, object] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, object] | None] = mapped_column(JSONB)
    # The region the change lands in ('ID' for a national token), in byte order so that a
    # subtree's prefix match (region LIKE '73.71.%') can use the index. No foreign key: the
    # record of a deleted region outlives it.
    region: Mapped[str] = mapped_column(Text(collation="C"))


# The listing, newest first, for everyone and for one region's subtree.
Index("ix_audit_events_at_id", AuditEvent.at, AuditEvent.id)
Index("ix_audit_events_region_at_id", AuditEvent.region, AuditEvent.at, AuditEvent.id)


QUALITY_KINDS = (
    "outlier",
    "over_coverage",
    "recorded_decrease",
    "eligible_jump",
    "figure_mismatch",
    "silent",
)


class QualityCheck(Base):
    """A data-quality flag an admin marked as checked (app/services/quality_checks.py). It
    keeps what the flag showed then: the check covers the flag only while the flag still
    shows the same value, expected and (for an outlier) count version."""

    __tablename__ = "quality_checks"
    __table_args__ = (
        CheckConstraint(
            "kind IN (" + ", ".join(f"'{kind}'" for kind in QUALITY_KINDS) + ")", name="kind"
        ),
        UniqueConstraint("kind", "region", "office", "date", postgresql_nulls_not_distinct=True),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    # The flag's region: for an office's flag, the office's region (no foreign keys: the
    # record of a check outlives what it checked).
    region: Mapped[str] = mapped_column(Text(collation="C"))
    office: Mapped[str | None] = mapped_column(Text(collation="C"))
    date: Mapped[date] = mapped_column(Date)
    value: Mapped[int | None] = mapped_column(BigInteger)
    expected: Mapped[Decimal | None] = mapped_column(Numeric)
    count_version: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Null for the admin token from REKAM_ADMIN_TOKEN, which has no row.
    token_id: Mapped[int | None] = mapped_column(ForeignKey("tokens.id"))
    actor_role: Mapped[str] = mapped_column(Text)
    actor_name: Mapped[str | None] = mapped_column(Text)


class InstanceFlag(Base):
    """Facts about this deployment, such as whether it holds demo data."""

    __tablename__ = "instance_flags"

    name: Mapped[str] = mapped_column(Text, primary_key=True)
    set_at: Mapped[datetime] = stamped_now()
