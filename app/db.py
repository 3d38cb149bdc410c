"""Engine, session factory and the session dependency."""

import warnings
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
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
    return create_async_engine(
        url,
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        # No ping before each checkout: a connection that turns out dead fails its request
        # with a 503, and SQLAlchemy then recycles the whole pool.
        pool_pre_ping=False,
        pool_timeout=10,
        connect_args={
            "timeout": 5,
            "command_timeout": settings.statement_timeout_ms / 1000 + 5,
            "server_settings": {
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
            },
        },
        **options,
    )


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


SessionFactory = Callable[[], AsyncSession]


async def get_session_factory(request: Request) -> SessionFactory:
    """For work that must not hold one connection throughout (an export, page by page)."""
    factory: SessionFactory = request.app.state.session_factory
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
