"""Regions: Kemendagri codes, levels, parents, targets, and reading them."""

import pytest
from sqlalchemy import text

from tests.conftest import ADMIN
from tests.helpers import bearer, client_with, new_office, new_token, put_region, region_path

NATION = {
    "code": "ID",
    "name": "Indonesia",
    "display_name": "Indonesia",
    "level": "nation",
    "parent": None,
    "daily_target": None,
    "coverage_target": None,
    "coverage_deadline": None,
}


def region(code, name, level, parent, **fields):
    return {
        "code": code,
        "name": name,
        "display_name": name,
        "level": level,
        "parent": parent,
        "daily_target": None,
        "coverage_target": None,
        "coverage_deadline": None,
        **fields,
    }


async def test_nation_is_always_present(client):
    response = await client.get("/api/v1/regions/ID", headers=ADMIN)

    assert response.status_code == 200
    assert response.json() == NATION


async def test_admin_creates_province(client):
    response = await client.put(
        "/api/v1/regions/73",
        json={
            "name": "Sulawesi Selatan",
            "daily_target": 5000,
            "coverage_target": 0.85,
            "coverage_deadline": "2026-12-31",
        },
        headers=ADMIN,
    )

    assert response.status_code == 201, response.text
    assert response.json() == region(
        "73",
        "Sulawesi Selatan",
        "province",
        "ID",
        daily_target=5000,
        coverage_target=0.85,
        coverage_deadline="2026-12-31",
    )


async def test_put_again_updates_with_200(client):
    await put_region(client, "73", "Sulsel")

    response = await client.put(
        "/api/v1/regions/73", json={"name": "Sulawesi Selatan"}, headers=ADMIN
    )

    assert response.status_code == 200
    assert response.json() == region("73", "Sulawesi Selatan", "province", "ID")


async def test_put_replaces_omitted_fields_with_null(client):
    await put_region(
        client,
        "73",
        "Sulsel",
        daily_target=100,
        coverage_target=0.9,
        coverage_deadline="2027-01-01",
    )

    response = await client.put("/api/v1/regions/73", json={"name": "Sulsel"}, headers=ADMIN)

    assert response.status_code == 200
    assert response.json() == region("73", "Sulsel", "province", "ID")
    assert (await client.get("/api/v1/regions/73", headers=ADMIN)).json() == response.json()


@pytest.mark.parametrize(
    ("code", "level", "parent"),
    [
        ("73", "province", "ID"),
        ("73.71", "regency", "73"),
        ("73.71.01", "district", "73.71"),
        ("73.71.01.1001", "village", "73.71.01"),
    ],
)
async def test_each_level_is_read_from_the_code(client, code, level, parent):
    await region_path(client, parent) if parent != "ID" else None

    response = await client.put(f"/api/v1/regions/{code}", json={"name": "R"}, headers=ADMIN)

    assert response.status_code == 201, response.text
    assert response.json() == region(code, "R", level, parent)
    assert (await client.get(f"/api/v1/regions/{code}", headers=ADMIN)).json() == response.json()


@pytest.mark.parametrize(
    "code",
    [
        "7",
        "730",
        "id",
        "XX",
        "73.7",
        "73.710",
        "73.71.1",
        "73.71.01.100",
        "73.71.01.10011",
        "73.71.01.1001.1",
        "73-71",
        "73.71.",
        "ID.73",
        "\uff17\uff13",  # full-width digits
    ],
)
async def test_code_of_another_shape_is_422(client, db, code):
    response = await client.put(f"/api/v1/regions/{code}", json={"name": "R"}, headers=ADMIN)

    assert response.status_code == 422
    assert "detail" in response.json()
    assert await db.scalar(text("SELECT count(*) FROM regions")) == 1


async def test_get_with_code_of_another_shape_is_422(client):
    response = await client.get("/api/v1/regions/73.7", headers=ADMIN)

    assert response.status_code == 422


async def test_region_without_its_parent_is_422(client, db):
    response = await client.put("/api/v1/regions/73.71", json={"name": "Makassar"}, headers=ADMIN)

    assert response.status_code == 422
    assert "73" in response.json()["detail"]
    assert await db.scalar(text("SELECT count(*) FROM regions")) == 1


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "x" * 201},
        {"name": 73},
        {"name": "R", "daily_target": -1},
        {"name": "R", "daily_target": 1.5},
        {"name": "R", "daily_target": "10"},
        {"name": "R", "coverage_target": 0, "coverage_deadline": "2027-01-01"},
        {"name": "R", "coverage_target": -0.5, "coverage_deadline": "2027-01-01"},
        {"name": "R", "coverage_target": 1.01, "coverage_deadline": "2027-01-01"},
        {"name": "R", "coverage_target": "high", "coverage_deadline": "2027-01-01"},
        {"name": "R", "coverage_target": 0.8},
        {"name": "R", "coverage_deadline": "2027-01-01"},
        {"name": "R", "coverage_target": 0.8, "coverage_deadline": "2027-02-30"},
        {"name": "R", "coverage_target": 0.8, "coverage_deadline": "2027-01-01T00:00:00"},
        {"name": "R", "parent": "ID"},
        {"name": "R", "level": "province"},
    ],
    ids=[
        "no-name",
        "empty-name",
        "long-name",
        "name-not-text",
        "negative-daily-target",
        "fractional-daily-target",
        "daily-target-as-text",
        "zero-coverage",
        "negative-coverage",
        "coverage-over-one",
        "coverage-as-text",
        "target-without-deadline",
        "deadline-without-target",
        "impossible-deadline",
        "deadline-with-time",
        "unknown-member-parent",
        "unknown-member-level",
    ],
)
async def test_invalid_region_body_is_422(client, db, body):
    response = await client.put("/api/v1/regions/73", json=body, headers=ADMIN)

    assert response.status_code == 422
    assert "detail" in response.json()
    assert await db.scalar(text("SELECT count(*) FROM regions")) == 1


async def test_boundary_values_are_accepted(client):
    response = await client.put(
        "/api/v1/regions/73",
        json={
            "name": "x" * 200,
            "daily_target": 0,
            "coverage_target": 1,
            "coverage_deadline": "2030-06-30",
        },
        headers=ADMIN,
    )

    assert response.status_code == 201, response.text
    assert response.json() == region(
        "73",
        "x" * 200,
        "province",
        "ID",
        daily_target=0,
        coverage_target=1.0,
        coverage_deadline="2030-06-30",
    )


async def test_coverage_target_keeps_the_decimal_written(client, db):
    await put_region(client, "73", coverage_target=0.07, coverage_deadline="2030-01-01")

    stored = await db.scalar(text("SELECT coverage_target::text FROM regions WHERE code = '73'"))

    assert stored == "0.070000"


# Reading


async def test_unknown_region_is_404(client):
    response = await client.get("/api/v1/regions/74", headers=ADMIN)

    assert response.status_code == 404
    assert "detail" in response.json()


async def test_list_gives_direct_children_of_the_nation_by_code(client):
    await put_region(client, "74", "Sultra")
    await put_region(client, "73", "Sulsel")
    await put_region(client, "73.71", "Makassar")

    response = await client.get("/api/v1/regions", headers=ADMIN)

    assert response.status_code == 200
    assert response.json() == {
        "regions": [
            region("73", "Sulsel", "province", "ID"),
            region("74", "Sultra", "province", "ID"),
        ]
    }


async def test_list_gives_direct_children_of_a_parent(client):
    await region_path(client, "73.71.01")
    await put_region(client, "73.72", "Pare-Pare")

    response = await client.get("/api/v1/regions", params={"parent": "73"}, headers=ADMIN)

    assert response.json() == {
        "regions": [
            region("73.71", "Region 73.71", "regency", "73"),
            region("73.72", "Pare-Pare", "regency", "73"),
        ]
    }


async def test_list_of_a_leaf_is_empty(client):
    await region_path(client, "73.71.01.1001")

    response = await client.get(
        "/api/v1/regions", params={"parent": "73.71.01.1001"}, headers=ADMIN
    )

    assert response.json() == {"regions": []}


async def test_list_of_unknown_parent_is_404(client):
    response = await client.get("/api/v1/regions", params={"parent": "99"}, headers=ADMIN)

    assert response.status_code == 404


async def test_list_of_parent_of_another_shape_is_422(client):
    response = await client.get("/api/v1/regions", params={"parent": "9"}, headers=ADMIN)

    assert response.status_code == 422


# Who may


async def test_reading_needs_a_token(client):
    response = await client.get("/api/v1/regions/ID")

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_viewer_reads_regions(client):
    viewer = await new_token(client, "viewer")

    response = await client.get("/api/v1/regions", headers=bearer(viewer))

    assert response.status_code == 200


async def test_public_read_serves_regions_without_a_token(database_url, engine, connection):
    async with client_with(database_url, engine, connection, public_read=True) as public:
        one = await public.get("/api/v1/regions/ID")
        children = await public.get("/api/v1/regions")
        write = await public.put("/api/v1/regions/73", json={"name": "Sulsel"})

    assert one.status_code == 200
    assert one.json() == NATION
    assert children.json() == {"regions": []}
    assert write.status_code == 401


@pytest.mark.parametrize("role", ["viewer", "office"])
async def test_only_admin_writes_regions(client, db, role):
    await new_office(client, "MKS-01")
    token = await new_token(client, role, "MKS-01" if role == "office" else None)

    response = await client.put(
        "/api/v1/regions/74", json={"name": "Sultra"}, headers=bearer(token)
    )

    assert response.status_code == 403
    assert await db.scalar(text("SELECT count(*) FROM regions WHERE code = '74'")) == 0


async def test_write_without_token_is_401_even_when_invalid(client):
    response = await client.put("/api/v1/regions/7", json={"name": ""})

    assert response.status_code == 401


async def test_write_by_viewer_is_403_even_when_invalid(client):
    viewer = await new_token(client, "viewer")

    response = await client.put("/api/v1/regions/7", json={"bogus": 1}, headers=bearer(viewer))

    assert response.status_code == 403


async def test_body_that_is_not_json_is_422(client):
    response = await client.put(
        "/api/v1/regions/73",
        content=b"{name: 'x'",
        headers={**ADMIN, "Content-Type": "application/json"},
    )

    assert response.status_code == 422
    assert "detail" in response.json()
