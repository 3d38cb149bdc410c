"""GET /api/v1/me: where a token's holder works, for the dashboard to open there."""

from tests.conftest import ADMIN
from tests.helpers import bearer, new_token, put_office, region_path


async def test_each_kind_of_token_says_where_it_works(client):
    await region_path(client, "73.71.01")
    await put_office(client, "KEC-730101", "73.71.01", kind="kecamatan")
    office = await new_token(client, "office", "KEC-730101")
    scoped = await client.post(
        "/api/v1/tokens", json={"role": "viewer", "region": "73.71", "name": "wall"}, headers=ADMIN
    )
    assert scoped.status_code == 201, scoped.text

    mine = (await client.get("/api/v1/me", headers=bearer(office))).json()
    wall = (await client.get("/api/v1/me", headers=bearer(scoped.json()["token"]))).json()
    nation = (await client.get("/api/v1/me", headers=ADMIN)).json()

    assert mine["role"] == "office"
    assert mine["office"] == {
        "code": "KEC-730101",
        "name": "Office KEC-730101",
        "kind": "kecamatan",
        "region": "73.71.01",
    }
    assert (mine["region"], mine["home"]) == (None, "73.71.01")
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


async def test_without_a_token_it_is_401(client):
    response = await client.get("/api/v1/me")

    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
