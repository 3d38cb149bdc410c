"""Tokens: creation, listing, revocation, roles, and who may see them."""

import hashlib
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from tests.conftest import ADMIN, ADMIN_TOKEN
from tests.helpers import bearer, client_with, new_office, new_token, put_office, region_path

TOKENS = "/api/v1/tokens"


def _is_moment(value: str) -> bool:
    return datetime.fromisoformat(value).tzinfo is not None


# Creating


async def test_admin_creates_viewer_token_and_sees_its_secret(client):
    response = await client.post(TOKENS, json={"role": "viewer", "name": "wall"}, headers=ADMIN)

    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"id", "token", "role", "office", "region", "name", "created_at"}
    assert body["role"] == "viewer"
    assert body["office"] is None
    assert body["name"] == "wall"
    assert isinstance(body["id"], int)
    assert body["token"].startswith("rekam_")
    assert len(body["token"]) > 30
    assert _is_moment(body["created_at"])


async def test_name_is_optional(client):
    response = await client.post(TOKENS, json={"role": "admin"}, headers=ADMIN)

    assert response.status_code == 201, response.text
    assert response.json()["name"] is None


async def test_office_token_is_bound_to_its_office(client):
    await new_office(client, "MKS-01")

    response = await client.post(
        TOKENS, json={"role": "office", "office": "MKS-01", "name": "clerk"}, headers=ADMIN
    )

    assert response.status_code == 201, response.text
    assert response.json()["role"] == "office"
    assert response.json()["office"] == "MKS-01"


async def test_each_token_gets_its_own_secret(client):
    first = await new_token(client, "viewer")
    second = await new_token(client, "viewer")

    assert first != second


async def test_office_role_without_office_is_refused(client):
    response = await client.post(TOKENS, json={"role": "office"}, headers=ADMIN)

    assert response.status_code == 422
    assert "detail" in response.json()


@pytest.mark.parametrize("role", ["admin", "viewer"])
async def test_office_given_for_another_role_is_refused(client, role):
    await new_office(client, "MKS-01")

    response = await client.post(TOKENS, json={"role": role, "office": "MKS-01"}, headers=ADMIN)

    assert response.status_code == 422


async def test_office_token_for_unknown_office_is_refused(client, db):
    response = await client.post(TOKENS, json={"role": "office", "office": "NOPE"}, headers=ADMIN)

    assert response.status_code == 422
    assert await db.scalar(text("SELECT count(*) FROM tokens")) == 0


@pytest.mark.parametrize(
    "body",
    [
        {"role": "root"},
        {},
        {"role": "viewer", "secret": "mine"},
        {"role": "viewer", "name": 5},
        {"role": "viewer", "name": "x" * 201},
    ],
    ids=["unknown-role", "no-role", "unknown-member", "name-not-text", "name-too-long"],
)
async def test_invalid_token_body_is_422(client, body):
    response = await client.post(TOKENS, json=body, headers=ADMIN)

    assert response.status_code == 422
    assert "detail" in response.json()


async def test_only_a_hash_of_the_secret_is_stored(client, db):
    created = (
        await client.post(TOKENS, json={"role": "viewer", "name": "wall"}, headers=ADMIN)
    ).json()
    secret = created["token"]

    row = (
        await db.execute(text("SELECT * FROM tokens WHERE id = :id"), {"id": created["id"]})
    ).one()

    values = row._mapping
    assert values["secret_hash"] == hashlib.sha256(secret.encode()).digest()
    for value in values.values():
        assert value != secret
        assert value != secret.encode()
        assert secret not in str(value)
    columns = {
        name
        for (name,) in await db.execute(
            text("SELECT column_name FROM information_schema.columns WHERE table_name = 'tokens'")
        )
    }
    assert columns == {
        "id",
        "secret_hash",
        "role",
        "office_id",
        "region",
        "name",
        "created_at",
        "last_used_at",
        "revoked_at",
    }


# Listing


async def test_admin_lists_tokens_without_secrets(client):
    await new_office(client, "MKS-01")
    viewer = (await client.post(TOKENS, json={"role": "viewer"}, headers=ADMIN)).json()
    clerk = (
        await client.post(
            TOKENS, json={"role": "office", "office": "MKS-01", "name": "clerk"}, headers=ADMIN
        )
    ).json()

    response = await client.get(TOKENS, headers=ADMIN)

    assert response.status_code == 200
    assert response.json() == {
        "tokens": [
            {
                "id": viewer["id"],
                "role": "viewer",
                "office": None,
                "region": None,
                "name": None,
                "created_at": viewer["created_at"],
                "last_used_at": None,
                "revoked_at": None,
            },
            {
                "id": clerk["id"],
                "role": "office",
                "office": "MKS-01",
                "region": None,
                "name": "clerk",
                "created_at": clerk["created_at"],
                "last_used_at": None,
                "revoked_at": None,
            },
        ]
    }


async def test_using_a_token_sets_last_used_at(client):
    created = (await client.post(TOKENS, json={"role": "viewer"}, headers=ADMIN)).json()

    used = await client.get("/api/v1/regions/ID", headers=bearer(created["token"]))

    assert used.status_code == 200
    (listed,) = (await client.get(TOKENS, headers=ADMIN)).json()["tokens"]
    assert _is_moment(listed["last_used_at"])
    assert listed["revoked_at"] is None


@pytest.mark.parametrize("role", ["viewer", "office"])
async def test_non_admin_cannot_list_tokens(client, role):
    await new_office(client, "MKS-01")
    token = await new_token(client, role, "MKS-01" if role == "office" else None)

    response = await client.get(TOKENS, headers=bearer(token))

    assert response.status_code == 403
    assert "detail" in response.json()


@pytest.mark.parametrize("role", ["viewer", "office"])
async def test_non_admin_cannot_create_tokens(client, db, role):
    await new_office(client, "MKS-01")
    token = await new_token(client, role, "MKS-01" if role == "office" else None)

    response = await client.post(TOKENS, json={"role": "admin"}, headers=bearer(token))

    assert response.status_code == 403
    assert await db.scalar(text("SELECT count(*) FROM tokens WHERE role = 'admin'")) == 0


async def test_token_list_needs_a_token(client):
    response = await client.get(TOKENS)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "detail" in response.json()


async def test_token_list_is_never_public(database_url, engine, connection):
    async with client_with(database_url, engine, connection, public_read=True) as public:
        anonymous = await public.get(TOKENS)
        viewer = await new_token(public, "viewer")
        as_viewer = await public.get(TOKENS, headers=bearer(viewer))

    assert anonymous.status_code == 401
    assert as_viewer.status_code == 403


# Revoking


async def test_revoked_token_gets_401(client):
    created = (await client.post(TOKENS, json={"role": "viewer"}, headers=ADMIN)).json()
    assert (await client.get("/api/v1/regions/ID", headers=bearer(created["token"]))).is_success

    response = await client.delete(f"{TOKENS}/{created['id']}", headers=ADMIN)

    assert response.status_code == 204
    assert response.content == b""
    refused = await client.get("/api/v1/regions/ID", headers=bearer(created["token"]))
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"
    (listed,) = (await client.get(TOKENS, headers=ADMIN)).json()["tokens"]
    assert _is_moment(listed["revoked_at"])


async def test_revoked_admin_token_cannot_write(client, db):
    admin = await new_token(client, "admin")
    token_id = (await client.get(TOKENS, headers=ADMIN)).json()["tokens"][0]["id"]
    await client.delete(f"{TOKENS}/{token_id}", headers=ADMIN)

    response = await client.put("/api/v1/regions/73", json={"name": "X"}, headers=bearer(admin))

    assert response.status_code == 401
    assert await db.scalar(text("SELECT count(*) FROM regions")) == 1


async def test_revoking_an_unknown_token_is_404(client):
    response = await client.delete(f"{TOKENS}/999999", headers=ADMIN)

    assert response.status_code == 404
    assert "detail" in response.json()


async def test_revoking_needs_admin(client):
    viewer = await new_token(client, "viewer")
    token_id = (await client.get(TOKENS, headers=ADMIN)).json()["tokens"][0]["id"]

    response = await client.delete(f"{TOKENS}/{token_id}", headers=bearer(viewer))

    assert response.status_code == 403


async def test_revoking_with_a_bad_id_is_refused(client):
    # Only digits name a token here (so /tokens/issue is never taken for an id): anything
    # else is no resource at all, and an id out of range is invalid.
    assert (await client.delete(f"{TOKENS}/abc", headers=ADMIN)).status_code == 404
    assert (await client.delete(f"{TOKENS}/0", headers=ADMIN)).status_code == 422


# Authentication


async def test_environment_admin_token_is_accepted(client):
    response = await client.get(TOKENS, headers=bearer(ADMIN_TOKEN))

    assert response.status_code == 200


async def test_created_admin_token_can_do_admin_work(client):
    admin = await new_token(client, "admin")

    response = await client.put(
        "/api/v1/regions/73", json={"name": "Sulsel"}, headers=bearer(admin)
    )

    assert response.status_code == 201


@pytest.mark.parametrize(
    "authorization",
    ["Bearer rekam_not-a-real-token", "Basic dXNlcjpwYXNz", "Bearer", "Bearer    "],
    ids=["unknown", "basic", "empty", "blank"],
)
async def test_bad_credentials_get_401_with_challenge(client, authorization):
    response = await client.get("/api/v1/regions/ID", headers={"Authorization": authorization})

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "detail" in response.json()


async def test_unauthenticated_before_invalid(client):
    response = await client.post(TOKENS, json={"role": "root", "extra": 1})

    assert response.status_code == 401


async def test_forbidden_before_invalid(client):
    viewer = await new_token(client, "viewer")

    response = await client.post(TOKENS, json={"role": "root", "extra": 1}, headers=bearer(viewer))

    assert response.status_code == 403


async def test_only_a_stale_stamp_commits_without_waiting_for_the_disk(engine):
    # The stamp's transaction skips the flush; whatever runs after it (a count write) does not.
    from app.auth import _LOOKUP, LAST_USED_RESOLUTION

    now = datetime.now(UTC)
    secret = hashlib.sha256(b"stamp-test").digest()
    setting = text("SELECT current_setting('synchronous_commit')")
    async with engine.connect() as conn:
        await conn.execute(
            text("INSERT INTO tokens (secret_hash, role, last_used_at) VALUES (:h, 'viewer', :at)"),
            {"h": secret, "at": now},
        )
        lookup = {"hash": secret, "now": now, "stale_before": now - LAST_USED_RESOLUTION}
        fresh = (await conn.execute(_LOOKUP, lookup)).one()
        assert (fresh.touched, await conn.scalar(setting)) == (False, "on")

        later = now + 2 * LAST_USED_RESOLUTION
        lookup = {"hash": secret, "now": later, "stale_before": later - LAST_USED_RESOLUTION}
        stale = (await conn.execute(_LOOKUP, lookup)).one()
        assert (stale.touched, await conn.scalar(setting)) == (True, "off")
        await conn.rollback()  # ends the transaction as a commit would, keeping nothing

        assert await conn.scalar(setting) == "on"


# The calling token itself (GET /tokens/self)


async def test_self_names_an_office_tokens_office_and_never_its_secret(client):
    await new_office(client, "SLF-01")
    token = await new_token(client, "office", "SLF-01")

    response = await client.get(f"{TOKENS}/self", headers=bearer(token))

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "role", "office", "region", "name", "home"}
    assert (body["role"], body["office"], body["region"]) == ("office", "SLF-01", None)
    assert isinstance(body["id"], int)
    assert token not in response.text


async def test_self_for_the_environment_admin_has_no_id(client):
    response = await client.get(f"{TOKENS}/self", headers=ADMIN)

    assert response.status_code == 200
    assert response.json() == {
        "id": None,
        "role": "admin",
        "office": None,
        "region": None,
        "name": "REKAM_ADMIN_TOKEN",
        "home": "ID",
    }


async def test_self_without_a_token_is_401_even_when_reads_are_public(
    database_url, engine, connection
):
    async with client_with(database_url, engine, connection, public_read=True) as public:
        response = await public.get(f"{TOKENS}/self")
        unknown = await public.get(f"{TOKENS}/self", headers=bearer("not-a-token"))

    assert (response.status_code, unknown.status_code) == (401, 401)


async def test_self_of_a_revoked_token_is_401(client):
    await new_office(client, "SLF-02")
    token = await new_token(client, "office", "SLF-02")
    token_id = (await client.get(f"{TOKENS}/self", headers=bearer(token))).json()["id"]
    await client.delete(f"{TOKENS}/{token_id}", headers=ADMIN)

    response = await client.get(f"{TOKENS}/self", headers=bearer(token))

    assert response.status_code == 401


async def test_self_says_where_each_kind_of_token_works(client):
    await region_path(client, "73.71.01")
    await put_office(client, "KEC-730101", "73.71.01", kind="kecamatan")
    office = await new_token(client, "office", "KEC-730101")
    scoped = await client.post(
        TOKENS, json={"role": "viewer", "region": "73.71", "name": "wall"}, headers=ADMIN
    )
    assert scoped.status_code == 201, scoped.text

    mine = (await client.get(f"{TOKENS}/self", headers=bearer(office))).json()
    wall = (await client.get(f"{TOKENS}/self", headers=bearer(scoped.json()["token"]))).json()
    nation = (await client.get(f"{TOKENS}/self", headers=ADMIN)).json()

    assert (mine["role"], mine["office"], mine["region"], mine["home"]) == (
        "office",
        "KEC-730101",
        None,
        "73.71.01",
    )
    assert (wall["role"], wall["office"], wall["region"], wall["home"]) == (
        "viewer",
        None,
        "73.71",
        "73.71",
    )
    assert (nation["role"], nation["office"], nation["region"], nation["home"]) == (
        "admin",
        None,
        None,
        "ID",
    )
