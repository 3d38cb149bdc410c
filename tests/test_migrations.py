"""The real migrations: up, down and up again on a fresh database, and no drift from the models."""

import ast
import asyncio
import os
import random
import subprocess
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.migrate import downgrade, head_revision, upgrade
from app.models import Base
from tests.conftest import ROOT, drop_database, new_database
from tests.test_outlier_verdicts import verdict

TABLES = set(Base.metadata.tables)
VERSIONS = ROOT / "migrations" / "versions"


@pytest.fixture
def fresh_database(server_url: str) -> Iterator[str]:
    url = new_database(server_url, "migrations")
    yield url
    drop_database(server_url, url)


async def _query(url: str, sql: str) -> list[tuple]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return [tuple(row) for row in await connection.execute(text(sql))]
    finally:
        await engine.dispose()


def query(url: str, sql: str) -> list[tuple]:
    return asyncio.run(_query(url, sql))


def tables(url: str) -> set[str]:
    rows = query(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return {name for (name,) in rows}


def alembic(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REKAM_")}
    env["REKAM_DATABASE_URL"] = database_url
    return subprocess.run(
        [str(ROOT / ".venv" / "bin" / "alembic"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_upgrade_downgrade_and_upgrade_again(fresh_database):
    upgrade(fresh_database)
    assert tables(fresh_database) == TABLES | {"alembic_version"}
    assert query(fresh_database, "SELECT version_num FROM alembic_version") == [(head_revision(),)]
    assert query(fresh_database, "SELECT code, name, level FROM regions") == [
        ("ID", "Indonesia", "nation")
    ]

    downgrade(fresh_database, "base")
    assert tables(fresh_database) == {"alembic_version"}
    assert query(fresh_database, "SELECT version_num FROM alembic_version") == []

    upgrade(fresh_database)
    assert tables(fresh_database) == TABLES | {"alembic_version"}
    assert query(fresh_database, "SELECT version_num FROM alembic_version") == [(head_revision(),)]
    assert query(fresh_database, "SELECT code FROM regions") == [("ID",)]


def test_models_and_migrations_do_not_drift(fresh_database):
    upgrade(fresh_database)

    result = alembic("check", database_url=fresh_database)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "No new upgrade operations detected" in result.stdout + result.stderr


def test_alembic_check_notices_a_database_behind_the_models(fresh_database):
    result = alembic("check", database_url=fresh_database)

    assert result.returncode != 0
    assert "not up to date" in result.stdout + result.stderr


async def _execute(url: str, *statements: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


def test_report_days_are_counted_from_the_counts_already_there(fresh_database):
    upgrade(fresh_database, "373d7a56ea14")
    asyncio.run(
        _execute(
            fresh_database,
            """INSERT INTO regions (code, name, level, depth, parent, lineage) VALUES
               ('73', 'P', 'province', 1, 'ID', '{ID,73}')""",
            """INSERT INTO offices (id, code, name, region, kind, timezone, active) VALUES
               (1, 'A', 'A', '73', 'kecamatan', 'Asia/Makassar', true),
               (2, 'B', 'B', '73', 'kecamatan', 'Asia/Makassar', false),
               (9, 'C', 'C', '73', 'dukcapil', 'Asia/Makassar', true)""",
            """INSERT INTO counts (office_id, date, recordings, version, updated_at) VALUES
               (1, '2019-02-10', 5, 1, now()), (2, '2019-02-10', 0, 1, now()),
               (9, '2019-02-10', 7, 1, now()), (1, '2019-02-11', 3, 1, now())""",
        )
    )

    upgrade(fresh_database)

    rows = query(fresh_database, "SELECT date::text, shard, reports FROM report_days ORDER BY 1, 2")
    # Every count is a report, whatever its recordings or its office; by office id mod 8.
    assert rows == [("2019-02-10", 1, 2), ("2019-02-10", 2, 1), ("2019-02-11", 1, 1)]


def application_imports(source: str) -> list[str]:
    """The modules under app/ that source imports, at any depth (inside functions too)."""
    modules = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.append(node.module)
    return [m for m in modules if m == "app" or m.startswith("app.")]


def test_no_revision_imports_application_code():
    # A revision must run the SQL it ran the day it was written, whatever app/ becomes.
    found = {path.name: application_imports(path.read_text()) for path in VERSIONS.glob("*.py")}

    assert found, "no revisions found"
    assert {name: modules for name, modules in found.items() if modules} == {}


def test_existing_counts_are_judged_as_the_count_write_judges_them(fresh_database):
    upgrade(fresh_database, "7d3f1a2b9c64")
    start = date(2024, 1, 1)
    rng = random.Random(16)
    values = {
        (office, start + timedelta(days=day)): rng.choice([0, 9, 10, 10, 11, 12, 40, 400])
        for office in (1, 2)
        for day in range(150)
        if rng.random() < 0.8  # gaps: windows of every size
    }
    rows = ", ".join(f"({o}, '{d}', {n}, 1, now())" for (o, d), n in values.items())
    asyncio.run(
        _execute(
            fresh_database,
            """INSERT INTO regions (code, name, level, depth, parent, lineage) VALUES
               ('73', 'P', 'province', 1, 'ID', '{ID,73}')""",
            """INSERT INTO offices (id, code, name, region, kind, timezone, active) VALUES
               (1, 'A', 'A', '73', 'kecamatan', 'Asia/Makassar', true),
               (2, 'B', 'B', '73', 'kecamatan', 'Asia/Makassar', true)""",
            f"INSERT INTO counts (office_id, date, recordings, version, updated_at) VALUES {rows}",
        )
    )

    upgrade(fresh_database)

    stored = {
        (o, d): (flagged, median, mad)
        for o, d, flagged, median, mad in query(
            fresh_database,
            "SELECT office_id, date, outlier, outlier_median, outlier_mad FROM counts",
        )
    }
    expected = {
        (o, d): verdict(
            [n for (p, e), n in values.items() if p == o and d - timedelta(90) <= e < d], x
        )
        for (o, d), x in values.items()
    }
    assert stored == expected
    assert sum(flagged for flagged, _, _ in stored.values()) > 10
