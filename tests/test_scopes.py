"""Administration delegated by region: what an admin scoped to a region may do, and the
deletion of regions. (Every write against every kind of caller: tests/test_token_matrix.py.)"""

from typing import Any

from sqlalchemy import text

from tests.conftest import ADMIN
from tests.helpers import (
    assert_tallies_exact,
    bearer,
    days_ago,
    put_count,
    put_office,
    region_path,
    today,
)

TOKENS = "/api/v1/tokens"


async def make_token(client: Any, headers: dict[str, str] = ADMIN, **body: Any) -> Any:
    return await client.post(TOKENS, json=body, headers=headers)


async def scoped_admin(client: Any, region: str) -> dict[str, str]:
    response = await make_token(client, role="admin", region=region, name=f"admin {region}")
    assert response.status_code == 201, response.text
    assert response.json()["region"] == region
    return bearer(response.json()["token"])


async def makassar(client: Any) -> None:
    """Makassar (73.71) with two kecamatan and an office in each, Parepare (73.72) with one."""
    for code in ("73.71.01", "73.71.02", "73.72.01"):
        await region_path(client, code)
    await put_office(client, "MKS-01", "73.71.01")
    await put_office(client, "MKS-02", "73.71.02")
    await put_office(client, "PRE-01", "73.72.01")


async def token_count(db: Any) -> int:
    return int(await db.scalar(text("SELECT count(*) FROM tokens")))


# Tokens a scoped admin makes


async def test_a_scoped_admin_makes_tokens_at_or_below_its_scope(client):
    await makassar(client)
    admin = await scoped_admin(client, "73.71")

    own = await make_token(client, admin, role="viewer", region="73.71", name="wall")
    below = await make_token(client, admin, role="admin", region="73.71.01")
    office = await make_token(client, admin, role="office", office="MKS-02")

    assert [r.status_code for r in (own, below, office)] == [201, 201, 201]
    assert own.json()["region"] == "73.71"
    assert below.json()["region"] == "73.71.01"
    assert (office.json()["office"], office.json()["region"]) == ("MKS-02", None)


async def test_a_scoped_admin_never_makes_a_wider_or_unscoped_token(client, db):
    await makassar(client)
    admin = await scoped_admin(client, "73.71")
    before = await token_count(db)

    refused = [
        await make_token(client, admin, role="admin"),
        await make_token(client, admin, role="viewer"),
        await make_token(client, admin, role="admin", region="73"),
        await make_token(client, admin, role="viewer", region="73.72"),
        await make_token(client, admin, role="office", office="PRE-01"),
    ]

    assert [r.status_code for r in refused] == [403] * 5
    assert all("73.71" in r.json()["detail"] for r in refused)
    assert await token_count(db) == before


async def test_a_token_scope_must_be_a_region_that_exists(client, db):
    await makassar(client)
    admin = await scoped_admin(client, "73.71")
    before = await token_count(db)

    invalid = [
        await make_token(client, role="viewer", region="73.79"),
        await make_token(client, admin, role="viewer", region="73.71.09"),
        await make_token(client, role="viewer", region="73.71 "),
        await make_token(client, role="viewer", region="ID"),
        await make_token(client, role="office", office="MKS-01", region="73.71"),
    ]

    assert [r.status_code for r in invalid] == [422] * 5
    assert await token_count(db) == before


# Listing and revoking


async def test_a_scoped_admin_lists_exactly_the_tokens_of_its_subtree(client):
    await makassar(client)
    admin = await scoped_admin(client, "73.71")
    ids = {}
    for name, body in [
        ("national", {"role": "viewer"}),
        ("province", {"role": "viewer", "region": "73"}),
        ("sibling", {"role": "admin", "region": "73.72"}),
        ("kecamatan", {"role": "viewer", "region": "73.71.02"}),
        ("own office", {"role": "office", "office": "MKS-01"}),
        ("other office", {"role": "office", "office": "PRE-01"}),
    ]:
        ids[name] = (await make_token(client, name=name, **body)).json()["id"]

    listed = await client.get(TOKENS, headers=admin)
    everything = await client.get(TOKENS, headers=ADMIN)

    assert listed.status_code == 200
    names = {t["name"] for t in listed.json()["tokens"]}
    assert names == {"admin 73.71", "kecamatan", "own office"}
    assert {t["id"] for t in everything.json()["tokens"]} >= set(ids.values())


async def test_a_scoped_admin_revokes_only_tokens_of_its_subtree(client):
    await makassar(client)
    admin = await scoped_admin(client, "73.71")
    inside = (await make_token(client, role="office", office="MKS-01")).json()
    outside = (await make_token(client, role="office", office="PRE-01")).json()

    refused = await client.delete(f"{TOKENS}/{outside['id']}", headers=admin)
    revoked = await client.delete(f"{TOKENS}/{inside['id']}", headers=admin)

    assert (refused.status_code, revoked.status_code) == (403, 204)
    assert "73.71" in refused.json()["detail"]
    assert (await client.get("/api/v1/regions/ID", headers=bearer(outside["token"]))).is_success
    assert (
        await client.get("/api/v1/regions/ID", headers=bearer(inside["token"]))
    ).status_code == 401


# Counts


async def test_a_scoped_admin_writes_its_offices_counts_on_any_date(client):
    await makassar(client)
    admin = await scoped_admin(client, "73.71")
    old = days_ago(400)

    written = await put_count(client, "MKS-01", old, 7, headers=admin)
    deleted = await client.delete(f"/api/v1/offices/MKS-01/counts/{old}", headers=admin)

    assert (written.status_code, deleted.status_code) == (201, 204)


async def test_a_batch_with_one_item_outside_the_scope_is_refused_whole(client, db):
    await makassar(client)
    admin = await scoped_admin(client, "73.71")
    items = [
        {"office": "MKS-01", "date": today().isoformat(), "recordings": 3},
        {"office": "PRE-01", "date": today().isoformat(), "recordings": 3},
        # Also invalid: the scope is checked first (403 before 422).
        {"office": "MKS-02", "date": "2999-01-01", "recordings": 3},
    ]

    response = await client.post("/api/v1/counts", json={"counts": items}, headers=admin)

    assert response.status_code == 403
    assert "73.71" in response.json()["detail"]
    assert [(e["index"], e["office"]) for e in response.json()["errors"]] == [(1, "PRE-01")]
    assert await db.scalar(text("SELECT count(*) FROM counts")) == 0


async def test_a_batch_item_that_did_not_parse_is_still_held_to_the_scope(client, db):
    await makassar(client)
    admin = await scoped_admin(client, "73.71")
    body = f"office,date,recordings\nMKS-01,{today()},3\nPRE-01,{today()},many\n"

    response = await client.post(
        "/api/v1/counts", content=body, headers=admin | {"Content-Type": "text/csv"}
    )

    assert response.status_code == 403
    assert [(e["line"], e["office"]) for e in response.json()["errors"]] == [(3, "PRE-01")]
    assert await db.scalar(text("SELECT count(*) FROM counts")) == 0


# Regions, figures and offices


async def test_a_scoped_admin_sets_its_own_regions_name_and_targets(client):
    await makassar(client)
    admin = await scoped_admin(client, "73.71")
    body = {
        "name": "Kota Makassar",
        "daily_target": 1000,
        "coverage_target": 0.85,
        "coverage_deadline": "2030-12-31",
    }

    response = await client.put("/api/v1/regions/73.71", json=body, headers=admin)

    assert response.status_code == 200
    assert response.json()["coverage_target"] == 0.85


async def test_a_scoped_admin_never_moves_an_office_out_of_its_subtree(client):
    await makassar(client)
    admin = await scoped_admin(client, "73.71")
    assert (await put_count(client, "MKS-01", today(), 5)).status_code == 201

    response = await client.put(
        "/api/v1/offices/MKS-01", json={"name": "x", "region": "73.72.01"}, headers=admin
    )
    office = await client.get("/api/v1/offices/MKS-01", headers=ADMIN)

    assert response.status_code == 403
    assert office.json()["region"] == "73.71.01"


async def test_a_scoped_viewer_reads_like_any_viewer(client):
    await makassar(client)
    viewer = bearer((await make_token(client, role="viewer", region="73.72")).json()["token"])

    reads = [
        await client.get(url, headers=viewer)
        for url in ("/api/v1/progress/ID", "/api/v1/progress/73.71", "/api/v1/offices/MKS-01")
    ]
    write = await client.put("/api/v1/regions/73.72.09", json={"name": "x"}, headers=viewer)

    assert [r.status_code for r in reads] == [200, 200, 200]
    assert write.status_code == 403


# Deleting regions


async def test_a_region_nothing_refers_to_is_deleted(client, db):
    await region_path(client, "73.71.05")

    response = await client.delete("/api/v1/regions/73.71.05", headers=ADMIN)

    assert response.status_code == 204
    assert (await client.get("/api/v1/regions/73.71.05", headers=ADMIN)).status_code == 404
    assert (await client.delete("/api/v1/regions/73.71.05", headers=ADMIN)).status_code == 404


async def test_a_region_in_use_is_not_deleted(client, db):
    await makassar(client)
    await region_path(client, "73.71.03")
    await region_path(client, "73.71.04")
    await client.put(
        "/api/v1/regions/73.71.03/figures/2020-01-01", json={"eligible": 5}, headers=ADMIN
    )
    await make_token(client, role="viewer", region="73.71.04")
    regions = await db.scalar(text("SELECT count(*) FROM regions"))

    answers = {
        code: await client.delete(f"/api/v1/regions/{code}", headers=ADMIN)
        for code in ("73.71", "73.71.01", "73.71.03", "73.71.04", "ID")
    }

    assert {code: r.status_code for code, r in answers.items()} == dict.fromkeys(answers, 409)
    assert "regions under it" in answers["73.71"].json()["detail"]
    assert "offices" in answers["73.71.01"].json()["detail"]
    assert "figures" in answers["73.71.03"].json()["detail"]
    assert "tokens" in answers["73.71.04"].json()["detail"]
    assert await db.scalar(text("SELECT count(*) FROM regions")) == regions


async def test_a_scoped_admin_deletes_only_strictly_below_its_scope(client):
    await region_path(client, "73.71.05")
    await region_path(client, "73.72")
    admin = await scoped_admin(client, "73.71")

    own = await client.delete("/api/v1/regions/73.71", headers=admin)
    sibling = await client.delete("/api/v1/regions/73.72", headers=admin)
    nation = await client.delete("/api/v1/regions/ID", headers=admin)
    below = await client.delete("/api/v1/regions/73.71.05", headers=admin)

    assert [r.status_code for r in (own, sibling, nation, below)] == [403, 403, 403, 204]
    assert "73.71" in own.json()["detail"]


async def test_a_region_its_office_moved_out_of_is_deleted_with_its_empty_summaries(client, db):
    await makassar(client)
    await region_path(client, "73.71.03")
    await put_office(client, "MKS-03", "73.71.03")
    assert (await put_count(client, "MKS-03", today(), 8)).status_code == 201
    await put_office(client, "MKS-03", "73.71.02")

    response = await client.delete("/api/v1/regions/73.71.03", headers=ADMIN)

    assert response.status_code == 204
    left = await db.scalar(text("SELECT count(*) FROM region_days WHERE region = '73.71.03'"))
    assert left == 0
    await assert_tallies_exact(db)


# Batches are checked against the scope whole


async def snapshot(db: Any) -> tuple[Any, ...]:
    rows = []
    for table in ("regions", "offices", "figures", "audit_events"):
        rows.append(await db.scalar(text(f"SELECT count(*) FROM {table}")))
    rows.append(await db.scalar(text("SELECT string_agg(code || region, ',') FROM offices")))
    return tuple(rows)


async def test_a_batch_with_one_item_outside_the_scope_writes_nothing(client, db):
    await makassar(client)
    admin = await scoped_admin(client, "73.71")
    before = await snapshot(db)

    regions = await client.post(
        "/api/v1/regions",
        json={"regions": [{"code": "73.71.03", "name": "A"}, {"code": "73.72.02", "name": "B"}]},
        headers=admin,
    )
    offices = await client.post(
        "/api/v1/offices",
        json={"offices": [{"code": "PRE-01", "name": "moved in", "region": "73.71.01"}]},
        headers=admin,
    )
    figures = await client.post(
        "/api/v1/figures",
        json={"figures": [{"region": "73.71", "date": "2024-01-01", "eligible": 5},
                          {"region": "73.72", "date": "2024-01-01", "eligible": 5}]},
        headers=admin,
    )  # fmt: skip

    for response in (regions, offices, figures):
        assert response.status_code == 403, response.text
        assert "73.71" in response.json()["detail"]
    assert await snapshot(db) == before


async def test_a_batch_inside_the_scope_is_written(client, db):
    await makassar(client)
    admin = await scoped_admin(client, "73.71")

    response = await client.post(
        "/api/v1/regions", json={"regions": [{"code": "73.71.03", "name": "A"}]}, headers=admin
    )

    assert response.status_code == 200, response.text
    assert await db.scalar(text("SELECT name FROM regions WHERE code = '73.71.03'")) == "A"
