"""Alembic, driven from code: the CLI, the service's readiness check and the tests use it."""

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

import migrations
from app.config import normalise_database_url

SCRIPT_LOCATION = Path(migrations.__file__).parent


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)


async def _execute_outside_transaction(server_url: str, statement: str) -> None:
    engine = create_async_engine(normalise_database_url(server_url), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


def create_database(server_url: str, name: str) -> str:
    """Create an empty database on the server of server_url; returns its (asyncpg) URL.
    For the tests, the fuzzing script and the soak, which each work in a database of their own."""
    asyncio.run(_execute_outside_transaction(server_url, f'CREATE DATABASE "{name}"'))
    url = make_url(normalise_database_url(server_url)).set(database=name)
    return url.render_as_string(hide_password=False)


def drop_database(server_url: str, url: str) -> None:
    name = make_url(url).database
    asyncio.run(
        _execute_outside_transaction(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    )


def head_revision() -> str:
    head = ScriptDirectory(str(SCRIPT_LOCATION)).get_current_head()
    assert head is not None
    return head
