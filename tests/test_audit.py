"""Every change on record: GET /api/v1/audit, the events each change writes, and paging."""

from typing import Any

from sqlalchemy import text

from tests.conftest import ADMIN
from tests.helpers import bearer, days_ago, put_office, put_region, region_path, today

AUDIT = "/api/v1/audit"


async def events(client: Any, headers: dict[str, str] = ADMIN, **query: Any) -> list[Any]:
    response = await client.get(AUDIT, params=query, headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json()["events"])


def brief(event: dict[str, Any]) -> tuple[Any, ...]:
    return (event["kind"], event["key"], event["action"], event["before"], event["after"])


async def event_count(db: Any) -> int:
    return int(await db.scalar(text("SELECT count(*) FROM audit_events")))


async def test_a_region_created_renamed_retargeted_and_deleted_is_on_record(client):
    await put_region(client, "73")
    await put_region(client, "73.71", "Makassar")
    await put_region(client, "73.71", "Kota Makassar")
    await put_region(
        client,
        "73.71",
        "Kota Makassar",
        daily_target=1000,
        coverage_target=0.85,
        coverage_deadline="2030-12-31",
    )
    assert (await client.delete("/api/v1/regions/73.71", headers=ADMIN)).status_code == 204

    found = await events(client, region="73.71")

    blank = {"daily_target": None, "coverage_target": None, "coverage_deadline": None}
    named = {"name": "Kota Makassar"} | blank
    targeted = {
        "name": "Kota Makassar",
        "daily_target": 1000,
        "coverage_target": 0.85,
        "coverage_deadline": "2030-12-31",
    }
    assert [brief(e) for e in found] == [
        ("region", "73.71", "deleted", targeted, None),
        ("target", "73.71", "updated", named, targeted),
        ("region", "73.71", "updated", {"name": "Makassar"} | blank, named),
        ("region", "73.71", "created", None, {"name": "Makassar"} | blank),
    ]
    assert found[0]["actor"] == {
        "token_id": None,
        "role": "admin",
        "name": "REKAM_ADMIN_TOKEN",
        "region": None,
    }


async def test_a_figure_is_on_record_under_region_and_date(client):
    await region_path(client, "73.71")
    url = "/api/v1/regions/73.71/figures/2024-06-30"
    await client.put(url, json={"eligible": 100}, headers=ADMIN)
    await client.put(url, json={"eligible": 100, "recorded": 90}, headers=ADMIN)
    await client.delete(url, headers=ADMIN)

    found = await events(client, kind="figure")

    both = {"eligible": 100, "recorded": 90}
    assert [brief(e) for e in found] == [
        ("figure", "73.71/2024-06-30", "deleted", both, None),
        ("figure", "73.71/2024-06-30", "updated", {"eligible": 100, "recorded": None}, both),
        ("figure", "73.71/2024-06-30", "created", None, {"eligible": 100, "recorded": None}),
    ]


async def test_an_office_created_and_moved_is_on_record(client):
    await region_path(client, "73.71.01")
    await region_path(client, "73.71.02")
    await put_office(client, "MKS-01", "73.71.01", timezone="Asia/Makassar")
    await put_office(client, "MKS-01", "73.71.02", timezone="Asia/Makassar", active=False)

    found = await events(client, kind="office")

    first = {
        "name": "Office MKS-01",
        "region": "73.71.01",
        "kind": "kecamatan",
        "daily_target": None,
        "timezone": "Asia/Makassar",
        "opened_on": None,
        "active": True,
    }
    moved = first | {"region": "73.71.02", "active": False}
    assert [brief(e) for e in found] == [
        ("office", "MKS-01", "updated", {"code": "MKS-01"} | first, {"code": "MKS-01"} | moved),
        ("office", "MKS-01", "created", None, {"code": "MKS-01"} | first),
    ]


async def test_a_token_is_on_record_without_its_secret(client, db):
    await region_path(client, "73.71")
    created = (
        await client.post(
            "/api/v1/tokens",
            json={"role": "admin", "region": "73.71", "name": "Disdukcapil Makassar"},
            headers=ADMIN,
        )
    ).json()
    await client.delete(f"/api/v1/tokens/{created['id']}", headers=ADMIN)

    found = await events(client, kind="token")

    state = {"role": "admin", "office": None, "region": "73.71", "name": "Disdukcapil Makassar"}
    assert [brief(e)[:3] for e in found] == [
        ("token", str(created["id"]), "revoked"),
        ("token", str(created["id"]), "created"),
    ]
    assert found[1]["before"] is None
    assert found[1]["after"] == state | {"revoked_at": None}
    assert found[0]["before"] == state | {"revoked_at": None}
    assert found[0]["after"]["revoked_at"] is not None
    stored = await db.execute(text("SELECT before::text, after::text FROM audit_events"))
    digest = (await db.scalar(text("SELECT encode(secret_hash, 'hex') FROM tokens"))) or ""
    for row in stored:
        assert created["token"] not in str(row)
        assert digest not in str(row)


async def test_an_unchanged_put_and_a_refused_or_invalid_one_write_no_event(client, db):
    await put_region(client, "73", "Sulawesi Selatan")
    before = await event_count(db)

    await put_region(client, "73", "Sulawesi Selatan")
    invalid = await client.put("/api/v1/regions/73", json={"name": ""}, headers=ADMIN)
    orphan = await client.put("/api/v1/regions/74.01", json={"name": "x"}, headers=ADMIN)

    assert (invalid.status_code, orphan.status_code) == (422, 422)
    assert await event_count(db) == before


async def test_the_actor_is_the_token_that_made_the_change(client):
    await region_path(client, "73.71")
    response = await client.post(
        "/api/v1/tokens", json={"role": "admin", "region": "73.71", "name": "Mks"}, headers=ADMIN
    )
    scoped = response.json()
    await client.put(
        "/api/v1/regions/73.71.01", json={"name": "Mariso"}, headers=bearer(scoped["token"])
    )

    (event,) = await events(client, region="73.71.01")

    assert event["actor"] == {
        "token_id": scoped["id"],
        "role": "admin",
        "name": "Mks",
        "region": "73.71",
    }


async def test_a_scoped_admin_reads_the_record_of_its_subtree_only(client):
    await region_path(client, "73.71.01")
    await region_path(client, "73.72")
    response = await client.post(
        "/api/v1/tokens", json={"role": "admin", "region": "73.71"}, headers=ADMIN
    )
    scoped = bearer(response.json()["token"])

    own = await events(client, scoped)
    elsewhere = await client.get(AUDIT, params={"region": "73.72"}, headers=scoped)
    nation = await client.get(AUDIT, params={"region": "ID"}, headers=scoped)

    assert {e["key"] for e in own} == {"73.71", "73.71.01", str(response.json()["id"])}
    assert (elsewhere.status_code, nation.status_code) == (403, 403)
    assert "73.71" in elsewhere.json()["detail"]


async def test_the_record_pages_newest_first_to_the_last_page(client):
    codes = [str(n) for n in range(71, 78)]
    for code in codes:
        await put_region(client, code)

    pages, cursor = [], None
    while True:
        query = {"limit": 3} | ({"before": cursor} if cursor else {})
        response = await client.get(AUDIT, params=query, headers=ADMIN)
        assert response.status_code == 200
        pages.append([e["key"] for e in response.json()["events"]])
        cursor = response.json()["next_before"]
        if cursor is None:
            break

    assert pages == [codes[::-1][0:3], codes[::-1][3:6], codes[::-1][6:]]


async def test_the_record_filters_by_kind_and_days(client):
    await put_region(client, "73")
    await client.put("/api/v1/regions/73/figures/2024-01-01", json={"eligible": 5}, headers=ADMIN)

    today_only = await events(client, **{"from": today().isoformat(), "to": today().isoformat()})
    yesterday = await events(client, to=days_ago(1).isoformat())
    figures = await events(client, kind="figure")

    assert [e["kind"] for e in today_only] == ["figure", "region"]
    assert yesterday == []
    assert [e["key"] for e in figures] == ["73/2024-01-01"]


async def test_bad_audit_queries_are_422(client):
    for query in [
        {"limit": 1001},
        {"limit": 0},
        {"kind": "count"},
        {"before": "not-a-cursor"},
        {"region": "73.7"},
        {"from": "2026-02-30"},
        {"from": today().isoformat(), "to": days_ago(1).isoformat()},
    ]:
        response = await client.get(AUDIT, params=query, headers=ADMIN)
        assert response.status_code == 422, query


async def test_only_admins_read_the_record(client):
    response = await client.post("/api/v1/tokens", json={"role": "viewer"}, headers=ADMIN)
    viewer = bearer(response.json()["token"])

    assert (await client.get(AUDIT, headers=viewer)).status_code == 403
    assert (await client.get(AUDIT)).status_code == 401


async def test_batches_are_on_record_item_by_item(client, db):
    await region_path(client, "73")
    regions = {
        "regions": [{"code": "73.71", "name": "KOTA MAKASSAR"}, {"code": "73.72", "name": "P"}]
    }
    assert (await client.post("/api/v1/regions", json=regions, headers=ADMIN)).status_code == 200
    regions["regions"][1]["name"] = "KOTA PAREPARE"
    assert (await client.post("/api/v1/regions", json=regions, headers=ADMIN)).status_code == 200
    offices = {"offices": [{"code": "MKS-01", "name": "Mariso", "region": "73.71"}]}
    assert (await client.post("/api/v1/offices", json=offices, headers=ADMIN)).status_code == 200
    offices["offices"][0]["region"] = "73.72"
    assert (await client.post("/api/v1/offices", json=offices, headers=ADMIN)).status_code == 200
    figures = {"figures": [{"region": "73.71", "date": "2019-02-14", "eligible": 981654}]}
    assert (await client.post("/api/v1/figures", json=figures, headers=ADMIN)).status_code == 200
    before = await event_count(db)
    # The same figures again change nothing, and record nothing.
    assert (await client.post("/api/v1/figures", json=figures, headers=ADMIN)).status_code == 200
    assert await event_count(db) == before

    seen = [(e["kind"], e["key"], e["action"]) for e in await events(client)]

    assert seen[:6] == [
        ("figure", "73.71/2019-02-14", "created"),
        ("office", "MKS-01", "updated"),
        ("office", "MKS-01", "created"),
        ("region", "73.72", "updated"),
        ("region", "73.72", "created"),
        ("region", "73.71", "created"),
    ]
    moved = (await events(client, kind="office"))[0]
    assert (moved["before"]["region"], moved["after"]["region"]) == ("73.71", "73.72")


async def test_an_empty_region_is_not_the_default(client):
    response = await client.get(AUDIT, params={"region": ""}, headers=ADMIN)
    assert response.status_code == 422
