"""Engine, session factory and the session dependency."""

import asyncio
import functools
import warnings
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, TypeAlias, cast
from uuid import uuid4

import asyncpg
from fastapi import Depends, Request
from sqlalchemy import CursorResult, TextClause
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.config import Settings, normalise_database_url


def embedded_database_url(data_dir: Path) -> str:
    """Start (or reuse) the embedded PostgreSQL kept in data_dir and return its URL."""
    with warnings.catch_warnings():
        # pgserver asks platformdirs for a runtime directory for its lock file, which warns on
        # every command where XDG_RUNTIME_DIR is unset (containers, cron, sudo) before it falls
        # back to a private directory in /tmp: a fine place for that lock.
        warnings.filterwarnings(
            "ignore", message="XDG_RUNTIME_DIR .*, falling back to ", module="platformdirs"
        )
        from pgserver import get_server  # type: ignore[attr-defined]

        data_dir.mkdir(parents=True, exist_ok=True)
        server = get_server(data_dir.resolve() / "pgdata", cleanup_mode="stop")
    return normalise_database_url(str(server.get_uri()))


def create_engine(settings: Settings, url: str | None = None, **options: Any) -> AsyncEngine:
    url = url or settings.database_url
    if url is None:
        raise RuntimeError("no database URL: set REKAM_DATABASE_URL")
    connect_args: dict[str, Any] = {
        "timeout": 5,
        "command_timeout": settings.statement_timeout_ms / 1000 + 5,
        "server_settings": server_settings(settings),
    }
    if settings.database_pgbouncer:
        connect_args |= PGBOUNCER_CONNECT_ARGS
        # PgBouncer refuses startup parameters it does not track (all but application_name
        # here), and in transaction mode a session's settings would not follow its
        # transactions to other server connections anyway: PgBouncer's connect_query sets
        # them on each server connection instead (pgbouncer_connect_query, docs/scaling.md).
        connect_args["server_settings"] = {"application_name": "rekam"}
    return create_async_engine(
        url,
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        # No ping before each checkout: a connection that turns out dead fails its request
        # with a 503, and SQLAlchemy then recycles the whole pool.
        pool_pre_ping=False,
        pool_timeout=10,
        connect_args=connect_args,
        **options,
    )


def server_settings(settings: Settings) -> dict[str, str]:
    """The session settings every connection of the service runs with."""
    return {
        "statement_timeout": str(settings.statement_timeout_ms),
        "lock_timeout": str(settings.statement_timeout_ms),
        "idle_in_transaction_session_timeout": "60000",
        # Rekam's queries are short; JIT compilation only ever adds latency to them.
        "jit": "off",
        # Plan each read for its parameters: a generic plan for "the subtree of :region"
        # cannot know whether that is the whole nation or one district. (The count
        # write opts back into a generic plan; see lock_offices.)
        "plan_cache_mode": "force_custom_plan",
        "application_name": "rekam",
    }


def pgbouncer_connect_query(settings: Settings) -> str:
    """The `connect_query` for PgBouncer's [databases] entry: the same session settings,
    set on each server connection PgBouncer opens (docs/scaling.md shows the default one)."""
    return "; ".join(
        f"SET {name} = '{value}'"
        for name, value in server_settings(settings).items()
        if name != "application_name"
    )


def _unique_statement_name() -> str:
    return f"__asyncpg_{uuid4().hex}__"


# In transaction pooling mode consecutive transactions of one client connection may run on
# different server connections, where a statement prepared on the first does not exist (or,
# worse, exists under the same name for another client's query). So asyncpg caches nothing
# (each statement is prepared and used within its transaction) and names every statement
# uniquely, never reusing a name another client may have left on a server connection.
PGBOUNCER_CONNECT_ARGS: dict[str, Any] = {
    "statement_cache_size": 0,
    "prepared_statement_cache_size": 0,
    "prepared_statement_name_func": _unique_statement_name,
}


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def create_read_session_factory(
    engine: AsyncEngine, settings: Settings
) -> async_sessionmaker[AsyncSession]:
    """Sessions for GET requests. Without PgBouncer they run each statement on its own
    (autocommit): at READ COMMITTED every statement takes its own snapshot inside a
    transaction too, so a read sees the same rows, without the BEGIN and ROLLBACK round
    trips. Through PgBouncer in transaction mode a statement's parse and execute must stay
    in one transaction (one server connection), so reads keep theirs."""
    if settings.database_pgbouncer:
        return create_session_factory(engine)
    return create_session_factory(engine.execution_options(isolation_level="AUTOCOMMIT"))


SessionFactory = Callable[[], AsyncSession]


async def get_session_factory(request: Request) -> SessionFactory:
    """For work that must not hold one connection throughout (an export, page by page)."""
    state = request.app.state
    factory: SessionFactory = (
        state.read_session_factory if request.method in ("GET", "HEAD") else state.session_factory
    )
    return factory


async def get_session(
    factory: Annotated[SessionFactory, Depends(get_session_factory)],
) -> AsyncIterator[AsyncSession]:
    async with factory() as session:
        yield session


# scope="function": the session, and its connection, go back before the response is sent,
# so a client that reads slowly never holds a connection.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
SessionFactoryDep = Annotated[SessionFactory, Depends(get_session_factory)]


# The count writes run on the driver's connection itself, borrowed from the engine's pool:
# under load the session's layers (autobegin, the ORM's execute, result rows) cost more CPU
# than the statements' own round trips (bench/RESULTS.md, the framework's share). Their
# statements are the same text() statements, and the helpers they share with the session's
# callers take either (Db).
Db: TypeAlias = AsyncSession | asyncpg.Connection


@functools.cache
def positional(statement: TextClause) -> tuple[str, tuple[str, ...]]:
    """A text() statement as asyncpg takes it: $n placeholders, and the names they stand for."""
    compiled = statement.compile(dialect=asyncpg_dialect.dialect())  # type: ignore[no-untyped-call]
    return str(compiled), tuple(compiled.positiontup or ())


async def fetch(db: Db, statement: TextClause, params: Mapping[str, Any]) -> Sequence[Any]:
    """The statement's rows, each read by column name (row["name"]) or position, on either."""
    if isinstance(db, AsyncSession):
        # A text() statement's result is the cursor's, which knows whether it has rows.
        result = cast(CursorResult[Any], await db.execute(statement, dict(params)))
        return [row._mapping for row in result] if result.returns_rows else []
    sql, names = positional(statement)
    rows: list[asyncpg.Record] = await db.fetch(sql, *(params[name] for name in names))
    return rows


DriverConnection = Callable[[], AbstractAsyncContextManager[asyncpg.Connection]]


@asynccontextmanager
async def driver_connection(connect: Callable[[], Any]) -> AsyncIterator[asyncpg.Connection]:
    """The asyncpg connection of `connect()` (an AsyncConnection, as engine.connect gives),
    for transactions of the caller's own (`async with connection.transaction()`: savepoints
    where the connection is in a transaction already). SQLAlchemy never sees them, so it has
    nothing to roll back when the connection goes back to the pool.

    A connection that broke, or that an operation left half done (a timeout, a cancelled
    request), is dropped from the pool, as SQLAlchemy drops one after its own such errors.
    After an error the server reported, or one of the caller's own, the transaction has
    rolled back and the connection is as good as new."""
    async with connect() as connection:
        driver: asyncpg.Connection = (await connection.get_raw_connection()).driver_connection
        try:
            yield driver
        except BaseException as error:
            if isinstance(error, BROKEN_CONNECTION) or driver.is_closed():
                await connection.invalidate()
            raise


async def get_driver_connection(request: Request) -> DriverConnection:
    """For the count writes, which run on the driver's connection (a pooled one)."""
    engine: AsyncEngine = request.app.state.engine
    return lambda: driver_connection(engine.connect)


DriverConnectionDep = Annotated[DriverConnection, Depends(get_driver_connection)]


# What the driver raises when a connection may be unusable: it is closed, or an operation on
# it stopped halfway.
BROKEN_CONNECTION = (
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    OSError,
    TimeoutError,
    asyncio.CancelledError,
)
