"""Async Alembic environment: the URL comes from the caller, or from REKAM_* settings."""

import asyncio
from typing import Any

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import async_engine_from_config

from app.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from app.config import get_settings

    database_url = get_settings().database_url
    if database_url is None:
        raise SystemExit("set REKAM_DATABASE_URL to migrate")
    return database_url


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def _connect_args() -> dict[str, Any]:
    """Behind PgBouncer in transaction mode, prepared statements as the service handles them."""
    from app.config import get_settings
    from app.db import PGBOUNCER_CONNECT_ARGS

    return dict(PGBOUNCER_CONNECT_ARGS) if get_settings().database_pgbouncer else {}


async def run_migrations_online() -> None:
    engine = async_engine_from_config(
        {"sqlalchemy.url": _url()},
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
        connect_args=_connect_args(),
    )
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
