"""Offices: codes, regions, kinds, timezones, and listing by region."""

import pytest
from sqlalchemy import text

from tests.conftest import ADMIN
from tests.helpers import (
    assert_tallies_exact,
    bearer,
    client_with,
    days_ago,
    new_office,
    new_token,
    put_count,
    put_office,
    region_path,
)


def office(code, region, **fields):
    return {
        "code": code,
        "name": f"Office {code}",
        "region": region,
        "kind": "kecamatan",
        "daily_target": None,
        "timezone": "Asia/Makassar",
        "opened_on": None,
        "active": True,
        **fields,
    }


async def test_admin_creates_office_with_defaults(client):
    await region_path(client, "73.71.01")

    response = await client.put(
        "/api/v1/offices/MKS-01",
        json={"name": "Office MKS-01", "region": "73.71.01"},
        headers=ADMIN,
    )

    assert response.status_code == 201, response.text
    assert response.json() == office("MKS-01", "73.71.01")


async def test_admin_creates_office_with_every_field(client):
    await region_path(client, "73.71")

    response = await client.put(
        "/api/v1/offices/dukcapil.mks_1",
        json={
            "name": "Dukcapil Makassar",
            "region": "73.71",
            "kind": "dukcapil",
            "daily_target": 250,
            "timezone": "Asia/Jakarta",
            "opened_on": "2024-01-15",
            "active": False,
        },
        headers=ADMIN,
    )

    assert response.status_code == 201, response.text
    assert response.json() == {
        "code": "dukcapil.mks_1",
        "name": "Dukcapil Makassar",
        "region": "73.71",
        "kind": "dukcapil",
        "daily_target": 250,
        "timezone": "Asia/Jakarta",
        "opened_on": "2024-01-15",
        "active": False,
    }


async def test_default_timezone_is_the_configured_one(database_url, engine, connection):
    async with client_with(database_url, engine, connection, timezone="Asia/Jayapura") as other:
        await region_path(other, "91")

        created = await put_office(other, "JYP-01", "91")

    assert created["timezone"] == "Asia/Jayapura"


async def test_put_again_updates_with_200_and_replaces(client):
    await new_office(client, "MKS-01", kind="mobile", daily_target=40, opened_on="2024-01-01")

    response = await client.put(
        "/api/v1/offices/MKS-01", json={"name": "Renamed", "region": "73.71.01"}, headers=ADMIN
    )

    assert response.status_code == 200
    assert response.json() == office("MKS-01", "73.71.01", name="Renamed")
    assert (await client.get("/api/v1/offices/MKS-01", headers=ADMIN)).json() == response.json()


@pytest.mark.parametrize("kind", ["dukcapil", "kecamatan", "mobile", "other"])
async def test_every_kind_is_accepted(client, kind):
    await region_path(client, "73")

    created = await put_office(client, "K1", "73", kind=kind)

    assert created["kind"] == kind


@pytest.mark.parametrize("code", ["a", "7", "A.b_c-1", "x" * 64, "MKS-01.mobile_2"])
async def test_valid_office_codes(client, code):
    await region_path(client, "73")

    response = await client.put(
        f"/api/v1/offices/{code}", json={"name": "O", "region": "73"}, headers=ADMIN
    )

    assert response.status_code == 201, response.text
    assert response.json()["code"] == code


@pytest.mark.parametrize(
    "code", ["-a", ".a", "_a", "x" * 65, "a b", "a@b", "kantör", "a+b", "\uff411"]
)
async def test_invalid_office_codes_are_422(client, db, code):
    await region_path(client, "73")

    response = await client.put(
        f"/api/v1/offices/{code}", json={"name": "O", "region": "73"}, headers=ADMIN
    )

    assert response.status_code == 422
    assert "detail" in response.json()
    assert await db.scalar(text("SELECT count(*) FROM offices")) == 0


@pytest.mark.parametrize(
    "body",
    [
        {"region": "73"},
        {"name": "", "region": "73"},
        {"name": "O"},
        {"name": "O", "region": "ID"},
        {"name": "O", "region": "74"},
        {"name": "O", "region": "7"},
        {"name": "O", "region": 73},
        {"name": "O", "region": "73", "kind": "branch"},
        {"name": "O", "region": "73", "timezone": "Mars/Base"},
        {"name": "O", "region": "73", "timezone": "WITA"},
        {"name": "O", "region": "73", "timezone": ""},
        {"name": "O", "region": "73", "opened_on": "2024-02-30"},
        {"name": "O", "region": "73", "opened_on": "2024-01-01T08:00:00"},
        {"name": "O", "region": "73", "active": "yes"},
        {"name": "O", "region": "73", "active": 1},
        {"name": "O", "region": "73", "daily_target": -1},
        {"name": "O", "region": "73", "id": 5},
        {"name": "O", "region": "73", "code": "OTHER"},
    ],
    ids=[
        "no-name",
        "empty-name",
        "no-region",
        "region-nation",
        "region-unknown",
        "region-bad-shape",
        "region-not-text",
        "unknown-kind",
        "unknown-timezone",
        "abbreviation-timezone",
        "empty-timezone",
        "impossible-opened-on",
        "opened-on-with-time",
        "active-as-text",
        "active-as-number",
        "negative-daily-target",
        "unknown-member-id",
        "unknown-member-code",
    ],
)
async def test_invalid_office_body_is_422(client, db, body):
    await region_path(client, "73")

    response = await client.put("/api/v1/offices/O1", json=body, headers=ADMIN)

    assert response.status_code == 422
    assert "detail" in response.json()
    assert await db.scalar(text("SELECT count(*) FROM offices")) == 0


# Reading


async def test_get_office(client):
    created = await new_office(client, "MKS-01")

    response = await client.get("/api/v1/offices/MKS-01", headers=ADMIN)

    assert response.status_code == 200
    assert response.json() == created


async def test_unknown_office_is_404(client):
    response = await client.get("/api/v1/offices/NOPE", headers=ADMIN)

    assert response.status_code == 404
    assert "detail" in response.json()


async def test_office_code_of_another_shape_is_422_on_read(client):
    response = await client.get("/api/v1/offices/-x", headers=ADMIN)

    assert response.status_code == 422


async def _three_offices(client):
    await new_office(client, "Z-VILLAGE", "73.71.01.1001")
    await new_office(client, "A-DISTRICT", "73.71.01")
    await new_office(client, "M-OTHER", "74.01")


async def test_list_offices_in_a_region_and_under_it_by_code(client):
    await _three_offices(client)

    response = await client.get("/api/v1/offices", params={"region": "73.71"}, headers=ADMIN)

    assert response.status_code == 200
    assert response.json() == {
        "offices": [
            office("A-DISTRICT", "73.71.01"),
            office("Z-VILLAGE", "73.71.01.1001"),
        ]
    }


async def test_list_offices_of_the_region_itself(client):
    await _three_offices(client)

    response = await client.get(
        "/api/v1/offices", params={"region": "73.71.01.1001"}, headers=ADMIN
    )

    assert response.json() == {"offices": [office("Z-VILLAGE", "73.71.01.1001")]}


async def test_list_offices_defaults_to_the_whole_country(client):
    await _three_offices(client)

    response = await client.get("/api/v1/offices", headers=ADMIN)

    assert [o["code"] for o in response.json()["offices"]] == ["A-DISTRICT", "M-OTHER", "Z-VILLAGE"]


async def test_list_offices_of_a_region_without_any_is_empty(client):
    await _three_offices(client)
    await region_path(client, "75")

    response = await client.get("/api/v1/offices", params={"region": "75"}, headers=ADMIN)

    assert response.json() == {"offices": []}


async def test_list_offices_of_unknown_region_is_404(client):
    response = await client.get("/api/v1/offices", params={"region": "99"}, headers=ADMIN)

    assert response.status_code == 404


async def test_list_offices_of_region_of_another_shape_is_422(client):
    response = await client.get("/api/v1/offices", params={"region": "9.9"}, headers=ADMIN)

    assert response.status_code == 422


# Who may


@pytest.mark.parametrize("role", ["viewer", "office"])
async def test_only_admin_writes_offices(client, db, role):
    await new_office(client, "MKS-01")
    token = await new_token(client, role, "MKS-01" if role == "office" else None)

    response = await client.put(
        "/api/v1/offices/MKS-01",
        json={"name": "Mine now", "region": "73.71.01"},
        headers=bearer(token),
    )

    assert response.status_code == 403
    assert await db.scalar(text("SELECT name FROM offices")) == "Office MKS-01"


async def test_office_token_reads_other_offices(client):
    await new_office(client, "MKS-01")
    await new_office(client, "MKS-02")
    token = await new_token(client, "office", "MKS-01")

    response = await client.get("/api/v1/offices/MKS-02", headers=bearer(token))

    assert response.status_code == 200


async def test_office_writes_need_a_token_before_anything_else(client):
    response = await client.put("/api/v1/offices/-bad", json={"bogus": True})

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_office_reads_need_a_token(client):
    await new_office(client, "MKS-01")

    one = await client.get("/api/v1/offices/MKS-01")
    many = await client.get("/api/v1/offices")

    assert (one.status_code, many.status_code) == (401, 401)


async def test_public_read_serves_offices_without_a_token(database_url, engine, connection):
    async with client_with(database_url, engine, connection, public_read=True) as public:
        await new_office(public, "MKS-01")

        one = await public.get("/api/v1/offices/MKS-01")
        many = await public.get("/api/v1/offices")

    assert one.json() == office("MKS-01", "73.71.01")
    assert many.json() == {"offices": [office("MKS-01", "73.71.01")]}


# Moving an office


async def test_moving_an_office_moves_its_counts_in_the_tallies(client, db):
    await new_office(client, "MKS-01", "73.71.01")
    await new_office(client, "MKS-02", "73.71.01")
    await region_path(client, "74.01")
    await put_count(client, "MKS-01", days_ago(2), 10)
    await put_count(client, "MKS-01", days_ago(40), 4)
    await put_count(client, "MKS-02", days_ago(2), 3)

    moved = await put_office(client, "MKS-01", "74.01")

    assert moved["region"] == "74.01"
    await assert_tallies_exact(db)
    by_region = dict(
        (
            await db.execute(
                text(
                    "SELECT region, sum(recordings) FROM region_totals"
                    " WHERE region IN ('73', '74') GROUP BY region"
                )
            )
        ).all()
    )
    assert by_region == {"73": 3, "74": 14}
