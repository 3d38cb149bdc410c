"""Official figures of a region: eligible and recorded as of the end of a date."""

import pytest
from sqlalchemy import text

from tests.conftest import ADMIN
from tests.helpers import (
    assert_tallies_exact,
    bearer,
    days_ago,
    new_office,
    new_token,
    put_count,
    put_region,
)

FIGURES = "/api/v1/regions/73/figures"


async def put_figure(client, day, headers=ADMIN, in_region="73", **body):
    return await client.put(
        f"/api/v1/regions/{in_region}/figures/{day}", json=body, headers=headers
    )


async def test_admin_records_a_figure(client):
    await put_region(client, "73")

    response = await put_figure(client, "2025-06-30", eligible=1000, recorded=750)

    assert response.status_code == 201, response.text
    assert response.json() == {"date": "2025-06-30", "eligible": 1000, "recorded": 750}


async def test_revising_a_figure_is_200_and_replaces_it(client):
    await put_region(client, "73")
    await put_figure(client, "2025-06-30", eligible=1000, recorded=750)

    response = await put_figure(client, "2025-06-30", eligible=1200)

    assert response.status_code == 200
    assert response.json() == {"date": "2025-06-30", "eligible": 1200, "recorded": None}


@pytest.mark.parametrize(
    "body", [{"eligible": 10}, {"recorded": 10}, {"eligible": 0, "recorded": None}]
)
async def test_one_value_is_enough(client, body):
    await put_region(client, "73")

    response = await put_figure(client, "2025-06-30", **body)

    assert response.status_code == 201
    assert response.json() == {"date": "2025-06-30", "eligible": None, "recorded": None, **body}


async def test_largest_exact_json_integer_is_accepted(client):
    await put_region(client, "73")

    response = await put_figure(client, "2025-06-30", eligible=2**53 - 1)

    assert response.status_code == 201
    assert response.json()["eligible"] == 2**53 - 1


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"eligible": None, "recorded": None},
        {"eligible": -1},
        {"recorded": -5},
        {"eligible": 1.5},
        {"eligible": "100"},
        {"eligible": 2**53},
        {"eligible": 10, "region": "73"},
        {"eligible": 10, "counts_through": 0},
    ],
    ids=[
        "empty",
        "both-null",
        "negative-eligible",
        "negative-recorded",
        "fractional",
        "as-text",
        "too-large",
        "unknown-member-region",
        "unknown-member-counts-through",
    ],
)
async def test_invalid_figure_is_422(client, db, body):
    await put_region(client, "73")

    response = await put_figure(client, "2025-06-30", **body)

    assert response.status_code == 422
    assert "detail" in response.json()
    assert await db.scalar(text("SELECT count(*) FROM figures")) == 0


@pytest.mark.parametrize("day", ["2025-02-30", "20250630", "2025-6-30", "2025-06-30T00:00"])
async def test_figure_date_must_be_a_real_iso_date(client, day):
    await put_region(client, "73")

    response = await put_figure(client, day, eligible=1)

    assert response.status_code == 422


async def test_figure_of_unknown_region_is_404(client):
    response = await put_figure(client, "2025-06-30", in_region="74", eligible=1)

    assert response.status_code == 404


async def test_figure_of_code_of_another_shape_is_422(client):
    response = await put_figure(client, "2025-06-30", in_region="7", eligible=1)

    assert response.status_code == 422


async def test_figures_list_by_date(client):
    await put_region(client, "73")
    await put_figure(client, "2025-12-31", eligible=3000, recorded=2000)
    await put_figure(client, "2025-01-31", eligible=1000)
    await put_figure(client, "2025-06-30", recorded=1500)

    response = await client.get(FIGURES, headers=ADMIN)

    assert response.status_code == 200
    assert response.json() == {
        "figures": [
            {"date": "2025-01-31", "eligible": 1000, "recorded": None},
            {"date": "2025-06-30", "eligible": None, "recorded": 1500},
            {"date": "2025-12-31", "eligible": 3000, "recorded": 2000},
        ]
    }


async def test_figures_of_a_region_without_any_is_empty(client):
    await put_region(client, "73")

    response = await client.get(FIGURES, headers=ADMIN)

    assert response.json() == {"figures": []}


async def test_figures_of_unknown_region_is_404(client):
    response = await client.get("/api/v1/regions/74/figures", headers=ADMIN)

    assert response.status_code == 404


async def test_admin_deletes_a_figure(client):
    await put_region(client, "73")
    await put_figure(client, "2025-01-31", eligible=1000)
    await put_figure(client, "2025-06-30", eligible=2000)

    response = await client.delete(f"{FIGURES}/2025-01-31", headers=ADMIN)

    assert response.status_code == 204
    assert response.content == b""
    assert (await client.get(FIGURES, headers=ADMIN)).json() == {
        "figures": [{"date": "2025-06-30", "eligible": 2000, "recorded": None}]
    }


async def test_deleting_a_missing_figure_is_404(client):
    await put_region(client, "73")

    response = await client.delete(f"{FIGURES}/2025-01-31", headers=ADMIN)

    assert response.status_code == 404


@pytest.mark.parametrize("role", ["viewer", "office"])
async def test_only_admin_writes_figures(client, db, role):
    await new_office(client, "MKS-01", "73.71")
    await put_figure(client, "2025-01-31", eligible=1000)
    token = await new_token(client, role, "MKS-01" if role == "office" else None)

    put = await put_figure(client, "2025-06-30", headers=bearer(token), eligible=1)
    delete = await client.delete(f"{FIGURES}/2025-01-31", headers=bearer(token))
    read = await client.get(FIGURES, headers=bearer(token))

    assert (put.status_code, delete.status_code, read.status_code) == (403, 403, 200)
    assert await db.scalar(text("SELECT count(*) FROM figures")) == 1


async def test_figure_writes_need_a_token(client):
    await put_region(client, "73")

    put = await client.put(f"{FIGURES}/2025-06-30", json={"eligible": 1})
    read = await client.get(FIGURES)

    assert (put.status_code, read.status_code) == (401, 401)


async def test_figure_keeps_counts_up_to_its_date_in_step(client, db):
    await new_office(client, "MKS-01", "73.71.01")
    await new_office(client, "MKS-02", "73.72.01")
    await put_count(client, "MKS-01", days_ago(10), 5)
    await put_count(client, "MKS-02", days_ago(3), 7)
    await put_figure(client, days_ago(5), eligible=1000, recorded=100)
    await put_figure(client, days_ago(5), in_region="73.71", eligible=500)

    await put_count(client, "MKS-01", days_ago(6), 11)
    await put_count(client, "MKS-01", days_ago(10), 2)
    await put_count(client, "MKS-02", days_ago(1), 4)
    await client.delete(f"/api/v1/offices/MKS-02/counts/{days_ago(3)}", headers=ADMIN)

    through = await db.scalar(
        text("SELECT counts_through FROM figures WHERE region = '73' AND date = :d"),
        {"d": days_ago(5)},
    )
    assert through == 13
    await assert_tallies_exact(db)
