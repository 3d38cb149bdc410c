"""POST /api/v1/regions, /offices and /figures: batches all or nothing, JSON or CSV, with the
rules of the single PUTs."""

from datetime import date, timedelta
from decimal import Decimal

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
    region_path,
    today,
)

CSV = {**ADMIN, "Content-Type": "text/csv"}


async def regions_table(db):
    rows = await db.execute(
        text(
            "SELECT code, name, parent, lineage, daily_target, coverage_target, coverage_deadline"
            ' FROM regions ORDER BY code COLLATE "C"'
        )
    )
    return [tuple(row) for row in rows]


async def offices_table(db):
    rows = await db.execute(text('SELECT * FROM offices ORDER BY code COLLATE "C"'))
    return [tuple(row) for row in rows]


# Regions


async def test_regions_in_any_order_with_their_parents(client, db):
    body = {
        "regions": [
            {"code": "73.71.01", "name": "Mariso"},
            {"code": "73.71", "name": "KOTA MAKASSAR", "daily_target": 1000},
            {
                "code": "73",
                "name": "SULAWESI SELATAN",
                "coverage_target": 0.85,
                "coverage_deadline": "2026-12-31",
            },
        ]
    }

    response = await client.post("/api/v1/regions", json=body, headers=ADMIN)

    assert response.status_code == 200, response.text
    assert response.json() == {"created": 3, "updated": 0, "unchanged": 0}
    assert (await regions_table(db))[:3] == [
        (
            "73",
            "SULAWESI SELATAN",
            "ID",
            ["ID", "73"],
            None,
            Decimal("0.85"),
            date(2026, 12, 31),
        ),
        ("73.71", "KOTA MAKASSAR", "73", ["ID", "73", "73.71"], 1000, None, None),
        ("73.71.01", "Mariso", "73.71", ["ID", "73", "73.71", "73.71.01"], None, None, None),
    ]
    read = await client.get("/api/v1/regions/73.71", headers=ADMIN)
    assert read.json()["display_name"] == "Kota Makassar"


async def test_regions_again_are_unchanged_and_an_omitted_target_becomes_null(client, db):
    body = {
        "regions": [
            {"code": "73", "name": "Sulsel", "daily_target": 5000},
            {"code": "74", "name": "Sultra"},
        ]
    }
    await client.post("/api/v1/regions", json=body, headers=ADMIN)

    again = await client.post("/api/v1/regions", json=body, headers=ADMIN)
    replaced = await client.post(
        "/api/v1/regions",
        json={"regions": [{"code": "73", "name": "Sulsel"}, {"code": "75", "name": "Gorontalo"}]},
        headers=ADMIN,
    )

    assert again.json() == {"created": 0, "updated": 0, "unchanged": 2}
    assert replaced.json() == {"created": 1, "updated": 1, "unchanged": 0}
    assert await db.scalar(text("SELECT daily_target FROM regions WHERE code = '73'")) is None


async def test_one_bad_region_refuses_the_batch_and_names_every_bad_item(client, db):
    await region_path(client, "73")
    before = await regions_table(db)
    body = {
        "regions": [
            {"code": "73", "name": "Renamed", "daily_target": 7},
            {"code": "73.71", "name": "Makassar"},
            {"code": "74.01", "name": "No parent"},
            {"code": "73.7", "name": "Bad code"},
            {"code": "73.71", "name": "Twice"},
            {"code": "73.72", "name": "Pare-Pare", "level": "regency"},
            {"code": "73.73", "name": ""},
        ]
    }

    response = await client.post("/api/v1/regions", json=body, headers=ADMIN)

    assert response.status_code == 422
    problem = response.json()
    assert problem["detail"] == "5 of 7 regions are invalid; nothing was written"
    assert [(e["index"], e["code"]) for e in problem["errors"]] == [
        (2, "74.01"),
        (3, "73.7"),
        (4, "73.71"),
        (5, "73.72"),
        (6, "73.73"),
    ]
    messages = [e["message"] for e in problem["errors"]]
    assert messages[0] == "the parent region 74 does not exist"
    assert "is not a Kemendagri code" in messages[1]
    assert messages[2] == "same code as item 1"
    assert messages[3].startswith("level: ")
    assert messages[4].startswith("name: ")
    assert await regions_table(db) == before


async def test_regions_as_csv_with_lines_in_errors(client, db):
    body = (
        b"Code , Name,daily_target,coverage_target,coverage_deadline\n"
        b"73,SULAWESI SELATAN,,0.9,2026-12-31\n"
        b"73.71,KOTA MAKASSAR,1000,,\n"
        b"73.71.01,Mariso,,,\n"
    )

    created = await client.post("/api/v1/regions", content=body, headers=CSV)
    refused = await client.post(
        "/api/v1/regions",
        content=b"code,name,daily_target\n73.72,PARE,\n\n73.73,X,many\n73.74\n",
        headers=CSV,
    )

    assert created.status_code == 200, created.text
    assert created.json() == {"created": 3, "updated": 0, "unchanged": 0}
    assert await db.scalar(
        text("SELECT coverage_target FROM regions WHERE code = '73'")
    ) == Decimal("0.9")
    assert refused.status_code == 422
    assert [(e["index"], e["line"], e["code"]) for e in refused.json()["errors"]] == [
        (1, 4, "73.73"),
        (2, 5, "73.74"),
    ]
    assert refused.json()["errors"][1]["message"] == "expected 3 fields, found 1"
    assert await db.scalar(text("SELECT count(*) FROM regions WHERE code = '73.72'")) == 0


async def test_a_wrong_csv_header_quotes_what_it_found(client):
    response = await client.post("/api/v1/regions", content=b"kode,nama\n73,SULSEL\n", headers=CSV)

    assert response.status_code == 422
    assert "'kode,nama'" in response.json()["detail"]


@pytest.mark.parametrize("path", ["/api/v1/regions", "/api/v1/offices", "/api/v1/figures"])
async def test_batches_check_401_then_403_then_422(client, db, path):
    await new_office(client, "MKS-01")
    viewer = await new_token(client, "viewer")
    office = await new_token(client, "office", "MKS-01")
    invalid = {"nothing": "here"}

    anonymous = await client.post(path, json=invalid)
    as_viewer = await client.post(path, json=invalid, headers=bearer(viewer))
    as_office = await client.post(path, json=invalid, headers=bearer(office))
    as_admin = await client.post(path, json=invalid, headers=ADMIN)

    assert [r.status_code for r in (anonymous, as_viewer, as_office, as_admin)] == [
        401,
        403,
        403,
        422,
    ]


@pytest.mark.parametrize("path", ["/api/v1/regions", "/api/v1/offices", "/api/v1/figures"])
async def test_batch_sizes_and_media_types(database_url, engine, connection, path):
    async with client_with(database_url, engine, connection, max_batch=2) as small:
        member = path.rsplit("/", 1)[1]
        empty = await small.post(path, json={member: []}, headers=ADMIN)
        too_many = await small.post(path, json={member: [{}, {}, {}]}, headers=ADMIN)
        form = await small.post(
            path, content=b"a=1", headers={**ADMIN, "Content-Type": "text/plain"}
        )

    assert empty.status_code == 422
    assert too_many.status_code == 413
    assert form.status_code == 415


# Offices


async def test_offices_batch_creates_replaces_and_defaults(client, db):
    await region_path(client, "73.71.01")
    await region_path(client, "73.71.02")
    body = {
        "offices": [
            {"code": "MKS-01", "name": "Mariso", "region": "73.71.01"},
            {
                "code": "MKS-02",
                "name": "Mamajang",
                "region": "73.71.02",
                "kind": "mobile",
                "daily_target": 40,
                "timezone": "Asia/Makassar",
                "opened_on": "2025-01-01",
                "active": False,
            },
        ]
    }

    created = await client.post("/api/v1/offices", json=body, headers=ADMIN)
    again = await client.post("/api/v1/offices", json=body, headers=ADMIN)
    csv = await client.post(
        "/api/v1/offices",
        content=b"code,name,region,active,kind\nMKS-02,Mamajang,73.71.02,false,\n",
        headers=CSV,
    )
    listed = await client.get("/api/v1/offices?region=73.71", headers=ADMIN)

    assert created.json() == {"created": 2, "updated": 0, "unchanged": 0}
    assert again.json() == {"created": 0, "updated": 0, "unchanged": 2}
    assert csv.json() == {"created": 0, "updated": 1, "unchanged": 0}
    # The REKAM_TIMEZONE of the tests, and PUT's defaults for what the CSV left out.
    assert listed.json()["offices"] == [
        {
            "code": "MKS-01",
            "name": "Mariso",
            "region": "73.71.01",
            "kind": "kecamatan",
            "daily_target": None,
            "timezone": "Asia/Makassar",
            "opened_on": None,
            "active": True,
        },
        {
            "code": "MKS-02",
            "name": "Mamajang",
            "region": "73.71.02",
            "kind": "kecamatan",
            "daily_target": None,
            "timezone": "Asia/Makassar",
            "opened_on": None,
            "active": False,
        },
    ]


async def test_one_bad_office_refuses_the_batch(client, db):
    await new_office(client, "MKS-01", "73.71.01")
    await region_path(client, "73.71.02")
    await put_count(client, "MKS-01", days_ago(1), 10)
    before = await offices_table(db)
    body = {
        "offices": [
            {"code": "MKS-01", "name": "Moved", "region": "73.71.02"},
            {"code": "MKS-02", "name": "No region", "region": "73.71.99"},
            {"code": "-bad", "name": "Bad code", "region": "73.71.02"},
            {"code": "MKS-03", "name": "Nation", "region": "ID"},
            {"code": "MKS-04", "name": "Zone", "region": "73.71.02", "timezone": "Mars/Base"},
            {"code": "MKS-01", "name": "Twice", "region": "73.71.01"},
        ]
    }

    response = await client.post("/api/v1/offices", json=body, headers=ADMIN)

    assert response.status_code == 422
    assert [(e["index"], e["code"]) for e in response.json()["errors"]] == [
        (1, "MKS-02"),
        (2, "-bad"),
        (3, "MKS-03"),
        (4, "MKS-04"),
        (5, "MKS-01"),
    ]
    assert response.json()["errors"][0]["message"] == "region 73.71.99 does not exist"
    assert await offices_table(db) == before
    assert (
        await db.scalar(text("SELECT sum(recordings) FROM region_totals WHERE region = '73.71.01'"))
        == 10
    )
    await assert_tallies_exact(db)


async def test_moving_offices_by_batch_moves_their_tallies(client, db):
    await new_office(client, "MKS-01", "73.71.01")
    await new_office(client, "MKS-02", "73.71.02")
    await new_office(client, "GOW-01", "73.06.01")
    await client.put(
        "/api/v1/regions/73.71.01/figures/" + days_ago(3).isoformat(),
        json={"recorded": 500},
        headers=ADMIN,
    )
    await client.put(
        "/api/v1/regions/73.06/figures/" + days_ago(1).isoformat(),
        json={"recorded": 900},
        headers=ADMIN,
    )
    for office, back, recordings in [
        ("MKS-01", 5, 10),
        ("MKS-01", 2, 20),
        ("MKS-02", 1, 30),
        ("GOW-01", 4, 40),
    ]:
        assert (await put_count(client, office, days_ago(back), recordings)).status_code == 201
    progress_before = (await client.get("/api/v1/progress/73", headers=ADMIN)).json()

    moved = await client.post(
        "/api/v1/offices",
        json={
            "offices": [
                {"code": "MKS-01", "name": "MKS-01", "region": "73.06.01"},
                {"code": "GOW-01", "name": "GOW-01", "region": "73.71.02"},
                {"code": "MKS-02", "name": "Office MKS-02", "region": "73.71.02"},
            ]
        },
        headers=ADMIN,
    )

    assert moved.json() == {"created": 0, "updated": 2, "unchanged": 1}
    await assert_tallies_exact(db)
    progress = (await client.get("/api/v1/progress/73", headers=ADMIN)).json()
    assert progress["window"] == progress_before["window"]
    makassar = (await client.get("/api/v1/progress/73.71", headers=ADMIN)).json()
    # 73.71.01 keeps its figure of 500 with MKS-01's counts after it gone: 500 + 30 + 40.
    assert makassar["recorded"] == 500 + 30 + 40


# Figures


async def progress_of(client, codes, dates):
    out = {}
    for code in codes:
        for day in dates:
            response = await client.get(
                f"/api/v1/progress/{code}?as_of={day.isoformat()}", headers=ADMIN
            )
            body = response.json()
            out[code, day] = (body["eligible"], body["recorded"], body["children"])
    return out


async def test_figures_by_batch_give_the_progress_of_single_puts(client, db):
    await new_office(client, "MKS-01", "73.71.01")
    await new_office(client, "MKS-02", "73.71.02")
    await new_office(client, "GOW-01", "73.06.01")
    for office, back, recordings in [
        ("MKS-01", 9, 11),
        ("MKS-01", 5, 13),
        ("MKS-02", 6, 17),
        ("GOW-01", 3, 19),
        ("GOW-01", 1, 23),
    ]:
        await put_count(client, office, days_ago(back), recordings)
    figures = [
        ("73", days_ago(8), 5_000_000, None),
        ("73.71", days_ago(7), 981_654, 933_549),
        ("73.71", days_ago(4), None, 933_600),
        ("73.71.01", days_ago(6), 50_000, 40_000),
        ("73.06", days_ago(2), 300_000, 250_000),
    ]
    codes = ["73", "73.71", "73.71.01", "73.06", "ID"]
    dates = [days_ago(n) for n in (9, 7, 5, 3, 0)]

    batch = await client.post(
        "/api/v1/figures",
        json={
            "figures": [
                {"region": r, "date": d.isoformat(), "eligible": e, "recorded": c}
                for r, d, e, c in figures
            ]
        },
        headers=ADMIN,
    )
    await put_count(client, "MKS-02", days_ago(5), 29)
    await assert_tallies_exact(db)
    by_batch = await progress_of(client, codes, dates)
    for region, day, _, _ in figures:
        await client.delete(f"/api/v1/regions/{region}/figures/{day.isoformat()}", headers=ADMIN)
    await client.delete(f"/api/v1/offices/MKS-02/counts/{days_ago(5).isoformat()}", headers=ADMIN)
    for region, day, eligible, recorded in figures:
        put = await client.put(
            f"/api/v1/regions/{region}/figures/{day.isoformat()}",
            json={"eligible": eligible, "recorded": recorded},
            headers=ADMIN,
        )
        assert put.status_code == 201
    await put_count(client, "MKS-02", days_ago(5), 29)
    await assert_tallies_exact(db)
    by_puts = await progress_of(client, codes, dates)

    assert batch.status_code == 200, batch.text
    assert batch.json() == {"created": 5, "updated": 0, "unchanged": 0}
    assert by_batch == by_puts
    # Makassar today: its latest recorded figure (4 days ago) and its counts after it.
    assert by_batch["73.71", dates[-1]][1] == 933_600
    assert by_batch["73.71", days_ago(5)][1] == 933_549 + 17 + 13 + 29


async def test_figures_as_csv_revised_and_unchanged(client, db):
    await region_path(client, "73.71")
    day = (today() - timedelta(days=3)).isoformat()
    body = f"region,date,eligible,recorded\n73.71,{day},1000,\n73,{day},,500\n".encode()

    first = await client.post("/api/v1/figures", content=body, headers=CSV)
    again = await client.post("/api/v1/figures", content=body, headers=CSV)
    revised = await client.post(
        "/api/v1/figures",
        json={"figures": [{"region": "73", "date": day, "recorded": 600}]},
        headers=ADMIN,
    )
    listed = await client.get("/api/v1/regions/73.71/figures", headers=ADMIN)

    assert first.json() == {"created": 2, "updated": 0, "unchanged": 0}
    assert again.json() == {"created": 0, "updated": 0, "unchanged": 2}
    assert revised.json() == {"created": 0, "updated": 1, "unchanged": 0}
    assert listed.json() == {"figures": [{"date": day, "eligible": 1000, "recorded": None}]}


async def test_one_bad_figure_refuses_the_batch(client, db):
    await region_path(client, "73.71")
    day = days_ago(2).isoformat()
    body = (
        "region,date,eligible,recorded\n"
        f"73.71,{day},1000,900\n"
        f"73.99,{day},1,1\n"
        f"73.71,2026-02-30,1,1\n"
        f"73,{day},,\n"
        f"73.71,{day},5,5\n"
        f"7,{day},-1,1\n"
    ).encode()

    response = await client.post("/api/v1/figures", content=body, headers=CSV)

    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [(e["index"], e["line"], e["region"]) for e in errors] == [
        (1, 3, "73.99"),
        (2, 4, "73.71"),
        (3, 5, "73"),
        (4, 6, "73.71"),
        (5, 7, "7"),
    ]
    assert errors[0]["message"] == "no region 73.99"
    assert errors[1]["message"] == "date: names a day that does not exist"
    assert errors[3]["message"] == "same region and date as item 0"
    assert await db.scalar(text("SELECT count(*) FROM figures")) == 0
    assert await db.scalar(text("SELECT count(*) FROM figure_steps")) == 0
