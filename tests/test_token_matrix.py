"""Every endpoint against every kind of caller: the status each must get."""

from typing import Any

import pytest

from tests.conftest import ADMIN
from tests.helpers import (
    bearer,
    client_with,
    new_office,
    new_token,
    put_count,
    put_office,
    today,
)

IDENTITIES = ["none", "bad", "revoked", "viewer", "office_a", "office_b", "admin"]
READ = {
    "none": 401,
    "bad": 401,
    "revoked": 401,
    "viewer": 200,
    "office_a": 200,
    "office_b": 200,
    "admin": 200,
}
ADMIN_ONLY = {
    "none": 401,
    "bad": 401,
    "revoked": 401,
    "viewer": 403,
    "office_a": 403,
    "office_b": 403,
}


def expect(base: dict[str, int], admin: int) -> dict[str, int]:
    return {**base, "admin": admin}


def office_write(a: int, b: int, admin: int) -> dict[str, int]:
    return {**ADMIN_ONLY, "office_a": a, "office_b": b, "admin": admin}


DAY = today().isoformat()
BATCH = {"counts": [{"office": "OF-A", "date": DAY, "recordings": 3}]}
CASES: list[tuple[str, str, dict[str, Any], dict[str, int]]] = [
    ("GET", "/api/v1/tokens", {}, expect(ADMIN_ONLY, 200)),
    ("POST", "/api/v1/tokens", {"json": {"role": "viewer"}}, expect(ADMIN_ONLY, 201)),
    ("GET", "/api/v1/regions/73.71", {}, READ),
    ("GET", "/api/v1/regions?parent=73", {}, READ),
    ("PUT", "/api/v1/regions/73.72", {"json": {"name": "Kota Parepare"}}, expect(ADMIN_ONLY, 201)),
    ("GET", "/api/v1/regions/73.71/figures", {}, READ),
    (
        "PUT",
        "/api/v1/regions/73.71/figures/2020-01-01",
        {"json": {"eligible": 9}},
        expect(ADMIN_ONLY, 201),
    ),
    ("DELETE", "/api/v1/regions/73.71/figures/2019-01-01", {}, expect(ADMIN_ONLY, 204)),
    ("GET", "/api/v1/offices/OF-B", {}, READ),
    ("GET", "/api/v1/offices?region=73", {}, READ),
    (
        "PUT",
        "/api/v1/offices/OF-C",
        {"json": {"name": "C", "region": "73.71"}},
        expect(ADMIN_ONLY, 201),
    ),
    (
        "PUT",
        f"/api/v1/offices/OF-A/counts/{DAY}",
        {"json": {"recordings": 5}},
        office_write(200, 403, 200),
    ),
    (
        "PUT",
        f"/api/v1/offices/OF-B/counts/{DAY}",
        {"json": {"recordings": 5}},
        office_write(403, 200, 200),
    ),
    (
        "PUT",
        f"/api/v1/offices/NO-SUCH/counts/{DAY}",
        {"json": {"recordings": 5}},
        office_write(403, 403, 404),
    ),
    ("GET", f"/api/v1/offices/OF-B/counts/{DAY}", {}, READ),
    ("GET", "/api/v1/offices/OF-B/counts", {}, READ),
    ("GET", f"/api/v1/offices/OF-B/counts/{DAY}/history", {}, READ),
    ("DELETE", f"/api/v1/offices/OF-A/counts/{DAY}", {}, expect(ADMIN_ONLY, 204)),
    ("POST", "/api/v1/counts", {"json": BATCH}, office_write(200, 403, 200)),
    ("GET", "/api/v1/progress/ID", {}, READ),
    ("GET", "/api/v1/progress/73.71/series", {}, READ),
    ("GET", "/api/v1/offices/OF-B/progress", {}, READ),
    ("GET", "/api/v1/counts.csv?region=73", {}, READ),
]


@pytest.fixture
async def matrix_client(database_url, engine, connection):
    # Failed attempts are the point here; the address limit has its own test.
    async with client_with(
        database_url, engine, connection, auth_failures_per_minute=100_000
    ) as client:
        yield client


async def identities(client: Any) -> dict[str, dict[str, str]]:
    await new_office(client, "OF-A", "73.71")
    await put_office(client, "OF-B", "73.71")
    await client.put(
        "/api/v1/regions/73.71/figures/2019-01-01", json={"eligible": 1}, headers=ADMIN
    )
    tokens: dict[str, str] = {}
    for name, body in [
        ("viewer", {"role": "viewer"}),
        ("revoked", {"role": "viewer"}),
        ("office_a", {"role": "office", "office": "OF-A"}),
        ("office_b", {"role": "office", "office": "OF-B"}),
    ]:
        response = await client.post("/api/v1/tokens", json=body, headers=ADMIN)
        tokens[name] = response.json()["token"]
        if name == "revoked":
            await client.delete(f"/api/v1/tokens/{response.json()['id']}", headers=ADMIN)
    headers = {name: bearer(token) for name, token in tokens.items()}
    return headers | {"none": {}, "bad": bearer("rekam_not-a-token"), "admin": ADMIN}


@pytest.mark.parametrize(
    ("method", "url", "kwargs", "statuses"), CASES, ids=[f"{m} {u}" for m, u, _, _ in CASES]
)
async def test_every_caller_gets_the_status_the_contract_says(
    matrix_client, method, url, kwargs, statuses
):
    who = await identities(matrix_client)
    # The counts the writes and reads refer to.
    await put_count(matrix_client, "OF-A", today(), 4)
    await put_count(matrix_client, "OF-B", today(), 4)
    seen = {}
    for identity in IDENTITIES:
        response = await matrix_client.request(method, url, headers=who[identity], **kwargs)
        seen[identity] = response.status_code
        if response.status_code >= 400:
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["status"] == response.status_code
        if response.status_code == 401:
            assert response.headers["www-authenticate"] == "Bearer"
        if method == "DELETE" and url.startswith("/api/v1/offices/OF-A/counts"):
            # Put the deleted count back so the next caller meets the same state.
            await put_count(matrix_client, "OF-A", today(), 4)
    assert seen == statuses


async def test_office_token_never_writes_another_office(client):
    await new_office(client, "OF-A", "73.71")
    await put_office(client, "OF-B", "73.71")
    token = (
        await client.post(
            "/api/v1/tokens", json={"role": "office", "office": "OF-A"}, headers=ADMIN
        )
    ).json()["token"]
    response = await put_count(client, "OF-B", today(), 9, headers=bearer(token))
    assert response.status_code == 403
    assert (
        await client.get(f"/api/v1/offices/OF-B/counts/{today()}", headers=ADMIN)
    ).status_code == 404


async def test_public_read_opens_reads_but_not_writes(database_url, engine, connection):
    async with client_with(database_url, engine, connection, public_read=True) as client:
        await new_office(client, "OF-A", "73.71")
        assert (await client.get("/api/v1/progress/73.71")).status_code == 200
        assert (await client.get("/api/v1/offices/OF-A")).status_code == 200
        assert (await client.get("/api/v1/tokens")).status_code == 401
        assert (await put_count(client, "OF-A", today(), 1, headers={})).status_code == 401


async def test_failed_authentications_are_limited_per_address(database_url, engine, connection):
    async with client_with(database_url, engine, connection, auth_failures_per_minute=3) as client:
        statuses = [
            (await client.get("/api/v1/regions/ID", headers=bearer("rekam_guess"))).status_code
            for _ in range(5)
        ]
        limited = await client.get("/api/v1/regions/ID", headers=bearer("rekam_other-guess"))

    assert statuses == [401, 401, 401, 429, 429]
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1


async def test_a_valid_token_is_served_after_others_failed_from_its_address(
    database_url, engine, connection
):
    # The default limit: thirty failures an address may make in a minute, and then some.
    async with client_with(database_url, engine, connection) as client:
        viewer = await new_token(client, "viewer")
        failures = [
            (await client.get("/api/v1/regions/ID", headers=bearer("rekam_guess"))).status_code
            for _ in range(35)
        ]
        as_viewer = await client.get("/api/v1/regions/ID", headers=bearer(viewer))
        as_admin = await client.get("/api/v1/regions/ID", headers=ADMIN)
        still_guessing = await client.get("/api/v1/regions/ID", headers=bearer("rekam_guess"))

    assert failures == [401] * 30 + [429] * 5
    assert (as_viewer.status_code, as_admin.status_code) == (200, 200)
    assert still_guessing.status_code == 429


async def test_requests_are_limited_per_token(database_url, engine, connection):
    async with client_with(database_url, engine, connection, rate_limit_per_minute=2) as client:
        statuses = [
            (await client.get("/api/v1/regions/ID", headers=ADMIN)).status_code for _ in range(3)
        ]
        assert statuses == [200, 200, 429]
