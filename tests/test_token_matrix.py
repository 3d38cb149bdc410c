"""Every endpoint against every kind of caller: the status each must get."""

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from tests.conftest import ADMIN
from tests.helpers import (
    bearer,
    client_with,
    new_office,
    new_token,
    put_count,
    put_office,
    region_path,
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


# Delegation by region: every admin write against the callers a scope tells apart. R is Makassar
# (73.71); its sibling Parepare (73.72); its child 73.71.01. OF-A is in R (73.71.02), OF-B in
# the sibling (73.72.01).

R, SIBLING, CHILD = "73.71", "73.72", "73.71.01"
SCOPED_IDENTITIES = [
    "national",
    "admin_r",
    "admin_sibling",
    "admin_child",
    "viewer",
    "office_in_r",
    "office_elsewhere",
    "none",
]
SCOPES = {"admin_r": R, "admin_sibling": SIBLING, "admin_child": CHILD}
OLD_DAY = (today() - timedelta(days=60)).isoformat()


def scoped(national: int, r: int, sibling: int, child: int, **others: int) -> dict[str, int]:
    """Statuses by caller: the four admins as given, viewers and office tokens 403 (unless
    given), no token 401."""
    base = {"viewer": 403, "office_in_r": 403, "office_elsewhere": 403, "none": 401}
    admins = {"national": national, "admin_r": r, "admin_sibling": sibling, "admin_child": child}
    return admins | base | others


def office_body(region: str, name: str = "Office") -> dict[str, Any]:
    return {"json": {"name": name, "region": region}}


def batch(*offices: str) -> dict[str, Any]:
    return {"json": {"counts": [{"office": o, "date": DAY, "recordings": 3} for o in offices]}}


SCOPED_CASES: list[tuple[str, str, dict[str, Any], dict[str, int]]] = [
    ("PUT", "/api/v1/regions/73.71.09", {"json": {"name": "New"}}, scoped(201, 201, 403, 403)),
    (
        "PUT",
        "/api/v1/regions/73.71",
        {"json": {"name": "Kota Makassar", "daily_target": 900}},
        scoped(200, 200, 403, 403),
    ),
    ("PUT", "/api/v1/regions/73.72.09", {"json": {"name": "New"}}, scoped(201, 403, 201, 403)),
    ("PUT", "/api/v1/regions/73", {"json": {"name": "Sulsel"}}, scoped(200, 403, 403, 403)),
    ("DELETE", "/api/v1/regions/73.71.03", {}, scoped(204, 204, 403, 403)),
    ("DELETE", "/api/v1/regions/73.71", {}, scoped(409, 403, 403, 403)),
    # The child's own region: tokens are scoped to it (409), and its admin keeps it (403).
    ("DELETE", "/api/v1/regions/73.71.01", {}, scoped(409, 409, 403, 403)),
    (
        "PUT",
        "/api/v1/regions/73.71/figures/2020-01-01",
        {"json": {"eligible": 9}},
        scoped(201, 201, 403, 403),
    ),
    (
        "PUT",
        "/api/v1/regions/73.71.02/figures/2020-01-01",
        {"json": {"eligible": 9}},
        scoped(201, 201, 403, 403),
    ),
    ("DELETE", "/api/v1/regions/73.71/figures/2019-01-01", {}, scoped(204, 204, 403, 403)),
    ("PUT", "/api/v1/offices/OF-C", office_body("73.71.02"), scoped(201, 201, 403, 403)),
    ("PUT", "/api/v1/offices/OF-A", office_body("73.71.02", "A"), scoped(200, 200, 403, 403)),
    # Moving an office out of R, and into R: each needs both regions in scope.
    ("PUT", "/api/v1/offices/OF-A", office_body("73.72.01"), scoped(200, 403, 403, 403)),
    ("PUT", "/api/v1/offices/OF-B", office_body("73.71.02"), scoped(200, 403, 403, 403)),
    (
        "PUT",
        f"/api/v1/offices/OF-A/counts/{DAY}",
        {"json": {"recordings": 5}},
        scoped(200, 200, 403, 403, office_in_r=200),
    ),
    # Outside the edit window: only office tokens are bound by it.
    (
        "PUT",
        f"/api/v1/offices/OF-A/counts/{OLD_DAY}",
        {"json": {"recordings": 5}},
        scoped(201, 201, 403, 403),
    ),
    ("DELETE", f"/api/v1/offices/OF-A/counts/{DAY}", {}, scoped(204, 204, 403, 403)),
    ("POST", "/api/v1/counts", batch("OF-A"), scoped(200, 200, 403, 403, office_in_r=200)),
    ("POST", "/api/v1/counts", batch("OF-A", "OF-B"), scoped(200, 403, 403, 403)),
    (
        "POST",
        "/api/v1/tokens",
        {"json": {"role": "viewer", "region": R}},
        scoped(201, 201, 403, 403),
    ),
    (
        "POST",
        "/api/v1/tokens",
        {"json": {"role": "admin", "region": "73.71.02"}},
        scoped(201, 201, 403, 403),
    ),
    ("POST", "/api/v1/tokens", {"json": {"role": "viewer"}}, scoped(201, 403, 403, 403)),
    (
        "POST",
        "/api/v1/tokens",
        {"json": {"role": "office", "office": "OF-A"}},
        scoped(201, 201, 403, 403),
    ),
    ("DELETE", "/api/v1/tokens/{viewer_in_r}", {}, scoped(204, 204, 403, 403)),
    ("DELETE", "/api/v1/tokens/{office_elsewhere}", {}, scoped(204, 403, 204, 403)),
    ("POST", "/api/v1/tokens/issue", {"json": {"region": R}}, scoped(201, 201, 403, 403)),
    ("POST", "/api/v1/tokens/issue", {"json": {"region": "ID"}}, scoped(201, 403, 403, 403)),
    ("GET", "/api/v1/tokens", {}, scoped(200, 200, 200, 200)),
    ("GET", "/api/v1/audit", {}, scoped(200, 200, 200, 200)),
    ("GET", f"/api/v1/audit?region={R}", {}, scoped(200, 200, 403, 403)),
]

# Everything a write could change; last_used_at is a hint the lookup stamps on any request.
_TABLES = {
    "regions": "SELECT to_jsonb(x) FROM regions x",
    "figures": "SELECT to_jsonb(x) FROM figures x",
    "offices": "SELECT to_jsonb(x) FROM offices x",
    "tokens": "SELECT to_jsonb(x) - 'last_used_at' FROM tokens x",
    "counts": "SELECT to_jsonb(x) FROM counts x",
    "count_revisions": "SELECT to_jsonb(x) FROM count_revisions x",
    "audit_events": "SELECT to_jsonb(x) FROM audit_events x",
}


async def stored_state(db: Any) -> dict[str, list[str]]:
    return {
        table: sorted(str(value) for (value,) in await db.execute(text(sql)))
        for table, sql in _TABLES.items()
    }


async def scoped_identities(client: Any) -> tuple[dict[str, dict[str, str]], dict[str, int]]:
    """The regions, offices, figures, counts and tokens of the scope matrix; returns each
    caller's headers and the ids of the tokens the revocations name."""
    for code in (R, CHILD, "73.71.02", "73.71.03", SIBLING, "73.72.01"):
        await region_path(client, code)
    await put_office(client, "OF-A", "73.71.02")
    await put_office(client, "OF-B", "73.72.01")
    await put_office(client, "OF-D", "73.71.02")  # without a token: one to issue
    for code in (R, "73.71.02"):
        response = await client.put(
            f"/api/v1/regions/{code}/figures/2019-01-01", json={"eligible": 1}, headers=ADMIN
        )
        assert response.status_code == 201, response.text
    for office in ("OF-A", "OF-B"):
        assert (await put_count(client, office, today(), 4)).status_code == 201
    tokens: dict[str, dict[str, Any]] = {}
    for name, body in [
        ("admin_r", {"role": "admin", "region": R}),
        ("admin_sibling", {"role": "admin", "region": SIBLING}),
        ("admin_child", {"role": "admin", "region": CHILD}),
        ("viewer", {"role": "viewer"}),
        ("office_in_r", {"role": "office", "office": "OF-A"}),
        ("office_elsewhere", {"role": "office", "office": "OF-B"}),
        ("viewer_in_r", {"role": "viewer", "region": "73.71.02"}),
    ]:
        response = await client.post("/api/v1/tokens", json={**body, "name": name}, headers=ADMIN)
        assert response.status_code == 201, response.text
        tokens[name] = response.json()
    headers = {name: bearer(token["token"]) for name, token in tokens.items()}
    ids = {name: token["id"] for name, token in tokens.items()}
    return headers | {"national": ADMIN, "none": {}}, ids


@pytest.mark.parametrize(
    ("method", "url", "kwargs", "statuses"),
    SCOPED_CASES,
    ids=[f"{m} {u} {k.get('json', '')}" for m, u, k, _ in SCOPED_CASES],
)
async def test_every_admin_write_keeps_to_the_callers_scope(
    matrix_client, db, method, url, kwargs, statuses
):
    who, ids = await scoped_identities(matrix_client)
    url = url.format(**ids)
    seen = {}
    for identity in SCOPED_IDENTITIES:
        # Each caller meets the same state: its request is undone after the checks.
        savepoint = await db.begin_nested()
        before = await stored_state(db)
        response = await matrix_client.request(method, url, headers=who[identity], **kwargs)
        seen[identity] = response.status_code
        if response.status_code >= 400:
            assert response.headers["content-type"] == "application/problem+json"
            assert await stored_state(db) == before, f"{identity} was refused but wrote"
        if response.status_code == 403 and identity in SCOPES:
            assert SCOPES[identity] in response.json()["detail"]
        if method != "GET" and response.status_code < 300 and "/counts" not in url:
            after = await stored_state(db)
            assert len(after["audit_events"]) > len(before["audit_events"]), "no record"
        await savepoint.rollback()
    assert seen == statuses
