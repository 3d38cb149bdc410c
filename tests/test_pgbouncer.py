"""The service behind PgBouncer in transaction pooling mode (REKAM_DATABASE_PGBOUNCER=true).

In that mode a client connection's transactions run on whichever server connection is free,
so statements prepared by one client meet other clients' statements on one server connection.
These tests start a PgBouncer of their own (tests/pgbouncer.py) in front of the test server;
`make test-pgbouncer` also runs the count and progress suites through one."""

import asyncio
import os
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.db import create_engine
from tests.conftest import (
    ADMIN,
    THROUGH_PGBOUNCER,
    RekamServe,
    drop_database,
    new_database,
    settings_for,
)
from tests.pgbouncer import PgBouncer, pgbouncer_binary

# CI installs pgbouncer (.ci/run): there a missing one fails the tests instead.
pytestmark = pytest.mark.skipif(
    pgbouncer_binary() is None and not os.environ.get("CI"),
    reason="pgbouncer is not installed (scripts/install-pgbouncer.sh)",
)


@pytest.fixture
def bouncer(server_url: str, database_url: str) -> Iterator[PgBouncer]:
    # Two server connections, handed out per transaction.
    bouncer = PgBouncer(server_url, settings_for(database_url), pool_size=2)
    yield bouncer
    bouncer.stop()


QUERY = text("SELECT count(*) FROM regions WHERE code = :code")


async def moved_between_server_connections(engine: AsyncEngine) -> list[int]:
    """Runs one query twice on one client connection, the second time on another server
    connection than the first (the two others hold a server connection each meanwhile)."""
    found = []
    async with engine.connect() as a, engine.connect() as b, engine.connect() as c:
        await a.execute(text("SELECT 1"))  # a holds one server connection
        found.append((await b.execute(QUERY, {"code": "ID"})).scalar_one())  # on the other
        await b.commit()
        await c.execute(text("SELECT 1"))  # c takes the one b had
        await a.commit()  # only a's is free now
        found.append((await b.execute(QUERY, {"code": "ID"})).scalar_one())
        await b.commit()
        await c.commit()
    return found


async def test_cached_prepared_statements_break_behind_pgbouncer(bouncer, database_url):
    """The failure the PgBouncer mode exists for: asyncpg prepares a statement on one server
    connection and, by default, reuses it on the next, where it does not exist."""
    engine = create_async_engine(bouncer.url_for(database_url))
    try:
        with pytest.raises(DBAPIError, match="prepared statement"):
            await moved_between_server_connections(engine)
    finally:
        await engine.dispose()


async def test_the_pgbouncer_mode_prepares_nothing_that_breaks(bouncer, database_url):
    settings = settings_for(bouncer.url_for(database_url), database_pgbouncer=True)
    engine = create_engine(settings)
    try:
        assert await moved_between_server_connections(engine) == [1, 1]
        async with engine.connect() as connection:
            # The service's session settings reach the server through PgBouncer's
            # connect_query, though the startup packet no longer carries them.
            shown = [
                (await connection.execute(text(f"SHOW {name}"))).scalar_one()
                for name in ("statement_timeout", "lock_timeout", "jit", "plan_cache_mode")
            ]
    finally:
        await engine.dispose()
    assert shown == ["10s", "10s", "off", "force_custom_plan"]


@pytest.fixture
def served_through_pgbouncer(server_url: str) -> Iterator[RekamServe]:
    url = new_database(server_url, "bouncer")
    bouncer = PgBouncer(server_url, settings_for(url), pool_size=2)
    server = None
    try:
        server = RekamServe(
            bouncer.url_for(url),
            REKAM_DATABASE_PGBOUNCER="true",
            REKAM_POOL_SIZE="6",
            REKAM_MAX_OVERFLOW="0",
        )
        yield server
    finally:
        if server is not None:
            server.stop()
        bouncer.stop()
        drop_database(server_url, url)


async def test_rekam_serve_behind_pgbouncer_writes_and_reads_exactly(served_through_pgbouncer):
    """`rekam serve` migrates through PgBouncer, then serves concurrent writes and reads over
    six client connections sharing two server connections."""
    server = served_through_pgbouncer
    async with httpx.AsyncClient(base_url=server.base_url, headers=ADMIN, timeout=30) as http:
        for code in ("73", "73.71", "73.71.01"):
            response = await http.put(f"/api/v1/regions/{code}", json={"name": f"Region {code}"})
            assert response.status_code == 201, response.text
        offices = [f"OF-{n:02d}" for n in range(12)]
        for office in offices:
            response = await http.put(
                f"/api/v1/offices/{office}",
                json={"name": f"Office {office}", "region": "73.71.01"},
            )
            assert response.status_code == 201, response.text

        async def post_day(n: int, office: str) -> int:
            response = await http.put(
                f"/api/v1/offices/{office}/counts/2026-01-{n + 1:02d}", json={"recordings": n + 1}
            )
            return response.status_code

        async def read() -> int:
            return (await http.get("/api/v1/progress/73.71.01?as_of=2026-01-05")).status_code

        writes = [post_day(n, office) for n in range(5) for office in offices]
        statuses = await asyncio.gather(*writes, *(read() for _ in range(30)))
        progress = (await http.get("/api/v1/progress/73?as_of=2026-01-05")).json()

    assert statuses == [201] * 60 + [200] * 30
    # Each office: 1 + 2 + 3 + 4 + 5 = 15.
    assert progress["recorded"] == 15 * len(offices)
    assert progress["day"]["recordings"] == 5 * len(offices)


@pytest.mark.skipif(not THROUGH_PGBOUNCER, reason="only with REKAM_TEST_PGBOUNCER=1")
def test_the_suites_engine_goes_through_pgbouncer(engine, server_url):
    """Under REKAM_TEST_PGBOUNCER=1 the count and progress suites really pass PgBouncer."""
    from sqlalchemy.engine import make_url

    assert engine.url.port != make_url(server_url).port
