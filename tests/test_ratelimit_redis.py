"""Rate limits shared through Redis (REKAM_REDIS_URL): two instances of the service count one
limit, and a Redis that does not answer leaves each process counting on its own.

The Redis is the one on 127.0.0.1:6379 (REKAM_TEST_REDIS_URL to name another). Each test
writes under a key prefix of its own and deletes its keys afterwards. Outside CI the tests
are skipped when no Redis answers there; in CI (CI=true) they fail instead."""

import logging
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
import redis

from tests.conftest import ADMIN, RekamServe, drop_database, free_port, new_database
from tests.helpers import bearer, client_with

REDIS_URL = os.environ.get("REKAM_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
GUESS = bearer("rekam_a-token-that-does-not-exist")


def redis_answers() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping())
    except redis.RedisError:
        return False


@pytest.fixture
def prefix() -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    if not redis_answers():
        if os.environ.get("CI"):
            pytest.fail(f"no Redis answers at {REDIS_URL}; CI must test the shared limits")
        pytest.skip(f"no Redis answers at {REDIS_URL}")
    name = f"rekam-test-{secrets.token_hex(4)}"
    yield name
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{name}*"))
    if keys:
        client.delete(*keys)


def keys_under(prefix: str) -> list[bytes]:
    return list(redis.Redis.from_url(REDIS_URL).scan_iter(match=f"{prefix}*"))


@pytest.fixture
def empty_database(server_url: str) -> Iterator[str]:
    url = new_database(server_url, "redis")
    yield url
    drop_database(server_url, url)


@contextmanager
def two_instances(database_url: str, **env: str) -> Iterator[tuple[RekamServe, RekamServe]]:
    """Two `rekam serve` processes over one database, as behind a load balancer."""
    first = RekamServe(database_url, **env)
    try:
        second = RekamServe(database_url, **env)
        try:
            yield first, second
        finally:
            second.stop()
    finally:
        first.stop()


def shared(prefix: str, **env: str) -> dict[str, str]:
    return {"REKAM_REDIS_URL": REDIS_URL, "REKAM_REDIS_KEY_PREFIX": prefix, **env}


def status(server: RekamServe, headers: dict[str, str]) -> int:
    return httpx.get(
        server.base_url + "/api/v1/regions/ID", headers=headers, timeout=10
    ).status_code


def test_two_instances_share_the_failed_authentication_limit(empty_database, prefix):
    env = shared(prefix, REKAM_AUTH_FAILURES_PER_MINUTE="3")
    with two_instances(empty_database, **env) as (first, second):
        statuses = [status(server, GUESS) for server in (first, second, first, second)]
        both_after = (status(first, GUESS), status(second, GUESS))
        valid = (status(first, ADMIN), status(second, ADMIN))

    # Per process, each instance would have allowed three: together they allow three.
    assert statuses == [401, 401, 401, 429]
    assert both_after == (429, 429)
    assert valid == (200, 200)
    assert keys_under(prefix), "nothing was counted in Redis"


def test_two_instances_share_the_per_token_limit(empty_database, prefix):
    env = shared(prefix, REKAM_RATE_LIMIT_PER_MINUTE="4")
    with two_instances(empty_database, **env) as (first, second):
        statuses = [status(server, ADMIN) for server in (first, second) * 3]
        limited = httpx.get(second.base_url + "/api/v1/regions/ID", headers=ADMIN, timeout=10)

    assert statuses == [200, 200, 200, 200, 429, 429]
    assert limited.status_code == 429
    assert limited.headers["content-type"] == "application/problem+json"
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert limited.json()["status"] == 429


async def test_apps_sharing_a_redis_count_one_limit(database_url, engine, connection, prefix):
    settings = {
        "redis_url": REDIS_URL,
        "redis_key_prefix": prefix,
        "rate_limit_per_minute": 3,
    }
    async with (
        client_with(database_url, engine, connection, **settings) as one,
        client_with(database_url, engine, connection, **settings) as other,
    ):
        statuses = [
            (await client.get("/api/v1/regions/ID", headers=ADMIN)).status_code
            for client in (one, other, one, other)
        ]
    assert statuses == [200, 200, 200, 429]


async def test_a_prefix_keeps_deployments_apart(database_url, engine, connection, prefix):
    def app_under(key_prefix: str) -> httpx.AsyncClient:
        return client_with(
            database_url,
            engine,
            connection,
            redis_url=REDIS_URL,
            redis_key_prefix=key_prefix,
            rate_limit_per_minute=2,
        )

    async with app_under(prefix + "-a") as one, app_under(prefix + "-b") as other:
        ones = [(await one.get("/api/v1/regions/ID", headers=ADMIN)).status_code for _ in range(3)]
        others = [
            (await other.get("/api/v1/regions/ID", headers=ADMIN)).status_code for _ in range(3)
        ]
    assert ones == others == [200, 200, 429]


async def test_an_unreachable_redis_leaves_each_process_counting(
    database_url, engine, connection, caplog
):
    # Nothing listens on this port: every attempt to reach Redis fails at once.
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    caplog.set_level(logging.WARNING, logger="rekam.ratelimit")
    async with client_with(
        database_url, engine, connection, redis_url=nowhere, rate_limit_per_minute=3
    ) as client:
        statuses = [
            (await client.get("/api/v1/regions/ID", headers=ADMIN)).status_code for _ in range(5)
        ]
    # Served, not refused with a 5xx; and still limited, by this process's own count.
    assert statuses == [200, 200, 200, 429, 429]
    warnings = [r for r in caplog.records if r.name == "rekam.ratelimit"]
    assert len(warnings) == 1, "the warning is logged once, not on every request"
    assert "Redis does not answer" in warnings[0].getMessage()
