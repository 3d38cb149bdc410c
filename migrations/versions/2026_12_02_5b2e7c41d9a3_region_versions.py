"""region_versions: how often each region's subtree and own record changed, kept by triggers
on counts, figures, offices and regions in the writing transaction; the ETag of a read.

Revision ID: 5b2e7c41d9a3
Revises: 5c1e9a7d3b20
Create Date: 2026-12-02 14:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b2e7c41d9a3"
down_revision: str | None = "5c1e9a7d3b20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As app.models.SHARDS (a migration never imports the app).
SHARDS = 8

# Adds one to `subtree` of every region in the lineage of each (region, key) pair: the nation
# and province rows by key % SHARDS (an office's id spreads them as the tallies do), deeper
# rows at shard 0. Rows are taken in key order, so concurrent writers queue, not deadlock.
BUMP = f"""
CREATE FUNCTION bump_region_versions(codes text[], keys integer[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO region_versions AS v (region, shard, subtree, own)
    SELECT l.code, CASE WHEN l.pos <= 2 THEN x.key % {SHARDS} ELSE 0 END, 1, 0
    FROM unnest(codes, keys) AS x(code, key)
    JOIN regions r ON r.code = x.code
    CROSS JOIN LATERAL unnest(r.lineage) WITH ORDINALITY AS l(code, pos)
    GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (region, shard) DO UPDATE SET subtree = v.subtree + 1
$$;
"""

# Statement-level triggers with transition tables: a batch of 7,800 counts bumps each
# lineage row once, not once a count. PostgreSQL gives a trigger one event when it has
# transition tables, hence one trigger per event.
# Each trigger gathers the (region, key) pairs of the old and the new rows and bumps them in
# one ordered statement, so a trigger never holds some rows while it waits for earlier ones.
FUNCTIONS = {
    "counts": """
    IF TG_OP <> 'DELETE' THEN
        keys := keys || ARRAY(SELECT DISTINCT office_id FROM new_rows);
    END IF;
    IF TG_OP <> 'INSERT' THEN
        keys := keys || ARRAY(SELECT DISTINCT office_id FROM old_rows);
    END IF;
    PERFORM bump_region_versions(array_agg(o.region), array_agg(o.id))
    FROM offices o WHERE o.id = ANY(keys);
    """,
    "offices": """
    IF TG_OP <> 'DELETE' THEN
        codes := codes || ARRAY(SELECT region FROM new_rows);
        keys := keys || ARRAY(SELECT id FROM new_rows);
    END IF;
    IF TG_OP <> 'INSERT' THEN
        codes := codes || ARRAY(SELECT region FROM old_rows);
        keys := keys || ARRAY(SELECT id FROM old_rows);
    END IF;
    PERFORM bump_region_versions(codes, keys);
    """,
    # counts_through is the tallies' business (the count write bumps already): only a change
    # of what was published counts here, so a count write does not queue on shard 0.
    "figures": """
    IF TG_OP = 'UPDATE' THEN
        codes := ARRAY(
            SELECT n.region FROM new_rows n
            JOIN old_rows o ON o.region = n.region AND o.date = n.date
            WHERE (n.eligible, n.recorded) IS DISTINCT FROM (o.eligible, o.recorded));
    ELSIF TG_OP = 'INSERT' THEN
        codes := ARRAY(SELECT region FROM new_rows);
    ELSE
        codes := ARRAY(SELECT region FROM old_rows);
    END IF;
    PERFORM bump_region_versions(codes, array_fill(0, ARRAY[cardinality(codes)]));
    """,
    # A region's record (name, targets) is read by its descendants too: `own`. Its subtree
    # and its parent's (a children listing) change with it; a deleted region's parent's too.
    # The subtree bump takes the region's own row (a region is in its lineage) in order
    # first; `own` is then added to rows already held.
    "regions": """
    IF TG_OP <> 'DELETE' THEN
        codes := codes || ARRAY(SELECT code FROM new_rows);
    END IF;
    IF TG_OP <> 'INSERT' THEN
        codes := codes || ARRAY(SELECT coalesce(parent, code) FROM old_rows);
    END IF;
    PERFORM bump_region_versions(codes, array_fill(0, ARRAY[cardinality(codes)]));
    IF TG_OP <> 'DELETE' THEN
        UPDATE region_versions v SET own = v.own + 1
        FROM new_rows n WHERE v.region = n.code AND v.shard = 0;
    END IF;
    """,
}


def upgrade() -> None:
    op.create_table(
        "region_versions",
        sa.Column("region", sa.Text(), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("subtree", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("own", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("region", "shard", name=op.f("pk_region_versions")),
    )
    op.execute(BUMP)
    for table, body in FUNCTIONS.items():
        op.execute(
            f"CREATE FUNCTION {table}_versions() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"DECLARE codes text[] := '{{}}'; keys integer[] := '{{}}';\n"
            f"BEGIN\n{body}\n    RETURN NULL;\nEND\n$$;"
        )
        for event, tables in (
            ("INSERT", "NEW TABLE AS new_rows"),
            ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
            ("DELETE", "OLD TABLE AS old_rows"),
        ):
            op.execute(
                f"CREATE TRIGGER {table}_versions_{event.lower()} AFTER {event} ON {table} "
                f"REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION {table}_versions()"
            )
    # Existing data: every region starts at version 1, so a tag is never the empty one.
    op.execute(
        "INSERT INTO region_versions (region, shard, subtree, own) SELECT code, 0, 1, 1 FROM regions"
    )


def downgrade() -> None:
    for table in FUNCTIONS:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER {table}_versions_{event} ON {table}")
        op.execute(f"DROP FUNCTION {table}_versions()")
    op.execute("DROP FUNCTION bump_region_versions(text[], integer[])")
    op.drop_table("region_versions")
