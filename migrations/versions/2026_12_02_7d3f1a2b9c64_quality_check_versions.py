"""quality_checks bump region_versions: a check changes the quality answer of its region and
every region above it, so their ETags change in the checking transaction.

Revision ID: 7d3f1a2b9c64
Revises: 5b2e7c41d9a3
Create Date: 2026-12-02 14:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "7d3f1a2b9c64"
down_revision: str | None = "5b2e7c41d9a3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As the region_versions triggers: one statement-level trigger per event, the regions of the
# old and new rows gathered and bumped in one ordered statement.
FUNCTION = """
CREATE FUNCTION quality_checks_versions() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE codes text[] := '{}';
BEGIN
    IF TG_OP <> 'DELETE' THEN
        codes := codes || ARRAY(SELECT region FROM new_rows);
    END IF;
    IF TG_OP <> 'INSERT' THEN
        codes := codes || ARRAY(SELECT region FROM old_rows);
    END IF;
    PERFORM bump_region_versions(codes, array_fill(0, ARRAY[cardinality(codes)]));
    RETURN NULL;
END
$$;
"""

EVENTS = (
    ("INSERT", "NEW TABLE AS new_rows"),
    ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    ("DELETE", "OLD TABLE AS old_rows"),
)


def upgrade() -> None:
    op.execute(FUNCTION)
    for event, tables in EVENTS:
        op.execute(
            f"CREATE TRIGGER quality_checks_versions_{event.lower()} AFTER {event} "
            f"ON quality_checks REFERENCING {tables} FOR EACH STATEMENT "
            "EXECUTE FUNCTION quality_checks_versions()"
        )


def downgrade() -> None:
    for event, _ in EVENTS:
        op.execute(f"DROP TRIGGER quality_checks_versions_{event.lower()} ON quality_checks")
    op.execute("DROP FUNCTION quality_checks_versions()")
