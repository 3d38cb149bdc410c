"""The test database and client.

A fresh database is created on the server named by REKAM_TEST_DATABASE_URL (or on an
embedded PostgreSQL started for the session), migrated with the real migrations, and dropped
at the end. Each test runs in a transaction that is rolled back afterwards.
"""

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine

from app.config import Settings, normalise_database_url
from app.db import (
    DriverConnection,
    SessionFactory,
    create_engine,
    driver_connection,
    get_driver_connection,
    get_session_factory,
)
from app.main import create_app
from app.migrate import create_database, drop_database, upgrade

ADMIN_TOKEN = "rekam-test-admin-token-0123456789"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A PostgreSQL server to create test databases on."""
    configured = os.environ.get("REKAM_TEST_DATABASE_URL")
    if configured:
        yield normalise_database_url(configured)
        return
    import pgserver  # type: ignore[import-untyped]

    with tempfile.TemporaryDirectory(prefix="rekam-pg-") as data:
        server = pgserver.get_server(Path(data) / "pgdata", cleanup_mode="stop")
        yield normalise_database_url(server.get_uri())
        server.cleanup()


def new_database(server: str, label: str) -> str:
    """Create an empty database beside the server's default one; returns its URL."""
    return create_database(server, f"rekam_{label}_{os.getpid()}_{secrets.token_hex(3)}")


@pytest.fixture(scope="session")
def database_url(server_url: str) -> Iterator[str]:
    url = new_database(server_url, "test")
    upgrade(url)
    yield url
    drop_database(server_url, url)


def settings_for(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "admin_token": ADMIN_TOKEN,
        "timezone": "Asia/Makassar",
        "log_requests": False,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


# REKAM_TEST_PGBOUNCER=1: the tests' engine reaches the test database through a PgBouncer in
# transaction pooling mode (tests/pgbouncer.py), made as the service makes it in that mode.
THROUGH_PGBOUNCER = os.environ.get("REKAM_TEST_PGBOUNCER", "") not in ("", "0", "false")


@pytest.fixture(scope="session")
async def engine(database_url: str, server_url: str) -> AsyncIterator[AsyncEngine]:
    if not THROUGH_PGBOUNCER:
        engine = create_async_engine(database_url)
        yield engine
        await engine.dispose()
        return
    from tests.pgbouncer import PgBouncer

    bouncer = PgBouncer(server_url, settings_for(database_url))
    try:
        through = bouncer.url_for(database_url)
        engine = create_engine(settings_for(through, database_pgbouncer=True))
        yield engine
        await engine.dispose()
    finally:
        bouncer.stop()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as connection:
        transaction = await connection.begin()
        try:
            yield connection
        finally:
            await transaction.rollback()


def make_client(app: Any, connection: AsyncConnection) -> httpx.AsyncClient:
    def session_in_test_transaction() -> AsyncSession:
        return AsyncSession(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )

    async def sessions_in_test_transaction() -> SessionFactory:
        return session_in_test_transaction

    @asynccontextmanager
    async def joined() -> AsyncIterator[AsyncConnection]:
        yield connection

    async def driver_in_test_transaction() -> DriverConnection:
        return lambda: driver_connection(joined)

    app.dependency_overrides[get_session_factory] = sessions_in_test_transaction
    app.dependency_overrides[get_driver_connection] = driver_in_test_transaction
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://rekam.test")


@pytest.fixture
async def client(
    database_url: str, engine: AsyncEngine, connection: AsyncConnection
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings_for(database_url), engine=engine)
    async with make_client(app, connection) as client:
        yield client


@pytest.fixture
async def db(connection: AsyncConnection) -> AsyncConnection:
    """The test's own transaction, for checks straight in SQL."""
    return connection


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LiveServer:
    """A real uvicorn on 127.0.0.1 over its own committed database."""

    def __init__(self, server_url: str, label: str, **env: str) -> None:
        self.server_url = server_url
        self.database_url = new_database(server_url, label)
        upgrade(self.database_url)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "REKAM_DATABASE_URL": self.database_url,
            "REKAM_ADMIN_TOKEN": ADMIN_TOKEN,
            "REKAM_LOG_REQUESTS": "false",
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *extra: str) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app.main:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
                # As `rekam serve` runs it: no forwarded header believed from 127.0.0.1.
                "--no-proxy-headers",
                *extra,
            ],
            cwd=ROOT,
            env=self.env,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base_url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the live server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None

    def close(self) -> None:
        self.stop()
        drop_database(self.server_url, self.database_url)


@contextmanager
def serving(server_url: str, label: str, *args: str, **env: str) -> Iterator["RekamServe"]:
    """`rekam serve` over a new database of its own, stopped and dropped afterwards."""
    url = new_database(server_url, label)
    server = RekamServe(url, *args, **env)
    try:
        yield server
    finally:
        server.stop()
        drop_database(server_url, url)


class RekamServe:
    """`rekam serve`, as operators run it, on 127.0.0.1 over a database of the caller's (the
    command migrates it). Its standard output and error are kept in files, read by stdout()
    and stderr()."""

    def __init__(self, database_url: str, *args: str, **env: str) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        environment = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("REKAM_") and k != "PROMETHEUS_MULTIPROC_DIR"
        }
        environment |= {
            "REKAM_DATABASE_URL": database_url,
            "REKAM_ADMIN_TOKEN": ADMIN_TOKEN,
            "REKAM_LOG_REQUESTS": "false",
            **env,
        }
        self._output = tempfile.TemporaryDirectory(prefix="rekam-serve-")
        self._stdout = Path(self._output.name) / "stdout"
        self._stderr = Path(self._output.name) / "stderr"
        with self._stdout.open("ab") as stdout, self._stderr.open("ab") as stderr:
            self.process = subprocess.Popen(
                [
                    str(ROOT / ".venv" / "bin" / "rekam"),
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    *args,
                ],
                cwd=ROOT,
                env=environment,
                stdout=stdout,
                stderr=stderr,
            )
        self._wait_until_up()

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"rekam serve exited: {self.stderr()}")
            try:
                if httpx.get(self.base_url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"rekam serve did not answer within 60 s: {self.stderr()}")

    def stdout_bytes(self) -> bytes:
        return self._stdout.read_bytes()

    def stderr_bytes(self) -> bytes:
        return self._stderr.read_bytes()

    def stdout(self) -> str:
        return self.stdout_bytes().decode(errors="replace")

    def stderr(self) -> str:
        return self.stderr_bytes().decode(errors="replace")

    def children(self) -> list[int]:
        """Process ids of the server's child processes (its workers, among others)."""
        found = []
        for task in Path(f"/proc/{self.process.pid}/task").iterdir():
            found += [int(pid) for pid in (task / "children").read_text().split()]
        return found

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="session")
def live_server(server_url: str) -> Iterator[LiveServer]:
    server = LiveServer(server_url, "live")
    server.start()
    yield server
    server.close()
