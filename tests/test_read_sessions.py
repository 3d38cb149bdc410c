"""GET requests read without a transaction around them (one round trip per statement);
through PgBouncer in transaction mode they keep one, which statements there need."""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import create_read_session_factory
from tests.conftest import settings_for

TXID = text("SELECT txid_current()")


async def transaction_ids(engine: AsyncEngine, database_url: str, **settings: object) -> set[int]:
    factory = create_read_session_factory(engine, settings_for(database_url, **settings))
    async with factory() as session:
        first = (await session.execute(TXID)).scalar_one()
        second = (await session.execute(TXID)).scalar_one()
    return {first, second}


async def test_a_read_session_runs_each_statement_on_its_own(engine, database_url):
    assert len(await transaction_ids(engine, database_url)) == 2


async def test_through_pgbouncer_a_read_session_keeps_one_transaction(engine, database_url):
    assert len(await transaction_ids(engine, database_url, database_pgbouncer=True)) == 1
