"""The shipped Kemendagri area list, `rekam regions load` and `rekam offices create`: the
real nation's counts, loading again, a newer list, display names and timezones."""

import csv
import gzip
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, create_async_engine

from app.auth import Actor
from app.migrate import upgrade
from app.names import display_name
from app.services.onboarding import (
    ListedRegion,
    create_offices,
    load_regions,
    province_timezone,
    read_area_list,
)
from tests.conftest import ADMIN, ROOT, drop_database, new_database
from tests.test_cli import rekam

ACTOR = Actor(token_id=None, role="admin", name="test")
SHIPPED = ROOT / "app" / "data" / "idn-area"


def session_on(connection: AsyncConnection) -> AsyncSession:
    """A session in the test's transaction: the services' commits end savepoints only."""
    return AsyncSession(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


def shipped_rows(stem: str) -> list[dict[str, str]]:
    """A file of the shipped list, read straight with csv (not Rekam's reader)."""
    with gzip.open(SHIPPED / f"{stem}.csv.gz", "rt", encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


async def by_level(db: AsyncConnection) -> dict[str, int]:
    rows = await db.execute(text("SELECT level, count(*) FROM regions GROUP BY level"))
    return {level: count for level, count in rows}


async def load(db: AsyncConnection, listed: list[ListedRegion] | None = None, **options):
    return await load_regions(
        session_on(db), actor=ACTOR, listed=listed or read_area_list(), **options
    )


# The list itself


def test_the_shipped_list_holds_the_real_nation():
    listed = read_area_list(villages=True)
    depths: dict[int, int] = {}
    for region in listed:
        depths[region.code.count(".")] = depths.get(region.code.count("."), 0) + 1

    assert depths == {0: 38, 1: 514, 2: 7277, 3: 83763}
    provinces = [r.code for r in listed if "." not in r.code]
    assert provinces[-6:] == ["91", "92", "93", "94", "95", "96"]
    assert (SHIPPED / "LICENSE.md").read_text().startswith("# Open Database License (ODbL)")


def test_the_list_is_read_without_villages_unless_asked():
    assert max(r.code.count(".") for r in read_area_list()) == 2


def test_read_area_list_refuses_a_row_under_the_wrong_parent(tmp_path):
    write_list(tmp_path, regencies=[("73.71", "74", "KOTA MAKASSAR")])

    with pytest.raises(Exception, match=r"regencies.csv line 2: province_code"):
        read_area_list(tmp_path)


# Loading


async def test_loading_the_shipped_list_creates_the_nation(db):
    summary = await load(db)

    assert (summary.created, summary.renamed, summary.unchanged) == (7829, 0, 0)
    assert summary.not_in_list == []
    assert await by_level(db) == {"nation": 1, "province": 38, "regency": 514, "district": 7277}
    makassar = await db.scalars(
        text("SELECT code FROM regions WHERE parent = '73.71' ORDER BY code")
    )
    assert list(makassar) == [f"73.71.{n:02d}" for n in range(1, 16)]
    stored = await db.execute(
        text("SELECT name, lineage FROM regions WHERE code IN ('73.71', '73.71.04') ORDER BY code")
    )
    assert [tuple(row) for row in stored] == [
        ("KOTA MAKASSAR", ["ID", "73", "73.71"]),
        ("Ujung Pandang", ["ID", "73", "73.71", "73.71.04"]),
    ]


async def test_loading_again_changes_nothing_and_keeps_targets(client, db):
    await load(db)
    await client.put(
        "/api/v1/regions/73.71",
        json={
            "name": "KOTA MAKASSAR",
            "daily_target": 1000,
            "coverage_target": 0.85,
            "coverage_deadline": "2026-12-31",
        },
        headers=ADMIN,
    )
    await client.put(
        "/api/v1/regions/73.71/figures/2025-06-30", json={"eligible": 981654}, headers=ADMIN
    )
    before = (await db.execute(text("SELECT * FROM regions ORDER BY code"))).all()

    summary = await load(db)

    assert (summary.created, summary.renamed, summary.unchanged) == (0, 0, 7829)
    assert (await db.execute(text("SELECT * FROM regions ORDER BY code"))).all() == before
    assert (await db.execute(text("SELECT eligible FROM figures"))).scalars().all() == [981654]


async def test_loading_under_a_province_loads_its_subtree_only(db):
    summary = await load(db, under="73")

    assert (summary.created, summary.renamed, summary.unchanged) == (338, 0, 0)
    assert await by_level(db) == {"nation": 1, "province": 1, "regency": 24, "district": 313}


async def test_loading_under_a_city_brings_its_ancestors(db):
    summary = await load(db, under="73.71")

    assert summary.created == 1 + 1 + 15
    assert await db.scalar(text("SELECT name FROM regions WHERE code = '73'")) == (
        "SULAWESI SELATAN"
    )


async def test_loading_villages_of_one_district(db):
    summary = await load(db, listed=read_area_list(villages=True), under="73.71.04")

    villages = [r for r in read_area_list(villages=True) if r.code.startswith("73.71.04.")]
    assert summary.created == 3 + len(villages)
    assert await db.scalar(text("SELECT count(*) FROM regions WHERE parent = '73.71.04'")) == len(
        villages
    )


async def test_a_dry_run_writes_nothing(db):
    summary = await load(db, dry_run=True)

    assert (summary.created, summary.renamed, summary.unchanged) == (7829, 0, 0)
    assert await by_level(db) == {"nation": 1}


async def test_a_newer_list_renames_and_reports_what_it_lacks(client, db, tmp_path):
    await load(db, under="73")
    await client.put(
        "/api/v1/regions/73.71",
        json={"name": "Makassar", "daily_target": 1000},
        headers=ADMIN,
    )
    newer = [r for r in read_area_list() if r.code.startswith("73") and r.code != "73.71.15"]
    newer = [ListedRegion(r.code, "Mariso Baru" if r.code == "73.71.01" else r.name) for r in newer]
    await client.put("/api/v1/regions/73.99", json={"name": "Not in any list"}, headers=ADMIN)

    summary = await load(db, listed=newer, under="73")

    # 73.71 was renamed by hand and takes the list's name back; 73.71.01 is renamed by the list.
    assert (summary.created, summary.renamed, summary.unchanged) == (0, 2, 336 - 1)
    assert summary.not_in_list == ["73.71.15", "73.99"]
    stored = await db.execute(
        text(
            "SELECT code, name, daily_target FROM regions"
            " WHERE code IN ('73.71', '73.71.01', '73.71.15', '73.99') ORDER BY code"
        )
    )
    assert [tuple(row) for row in stored] == [
        ("73.71", "KOTA MAKASSAR", 1000),
        ("73.71.01", "Mariso Baru", None),
        ("73.71.15", "Kepulauan Sangkarrang", None),
        ("73.99", "Not in any list", None),
    ]


async def test_a_list_that_skips_a_parent_is_refused_and_writes_nothing(db):
    listed = [ListedRegion("73.71", "KOTA MAKASSAR")]

    with pytest.raises(Exception, match="cannot be loaded") as refused:
        await load(db, listed=listed)

    assert refused.value.extra["errors"] == [
        {"index": 0, "code": "73.71", "message": "the parent region 73 does not exist"}
    ]
    assert await by_level(db) == {"nation": 1}


# Display names


def test_display_names_of_the_real_list():
    listed = {r.code: r.name for r in read_area_list(villages=True)}

    assert display_name(listed["73.71"]) == "Kota Makassar"
    assert display_name(listed["73.10"]) == "Kabupaten Pangkajene dan Kepulauan"
    assert display_name(listed["31"]) == "DKI Jakarta"
    assert display_name(listed["34"]) == "Daerah Istimewa Yogyakarta"
    assert display_name(listed["31.71"]) == "Kota Administrasi Jakarta Pusat"
    assert display_name(listed["53.02.10"]) == "Ki'e"
    assert display_name(listed["73.71.04"]) == "Ujung Pandang"
    # Provinces and regencies are written in capitals: not one is shown shouting.
    for code, name in listed.items():
        if code.count(".") <= 1:
            assert name.isupper()
            shown = display_name(name)
            assert shown != name, code
            assert shown.lower() == name.lower()
            assert " Dan " not in shown
            assert shown[0].isupper()
        elif not name.isupper():
            assert display_name(name) == name, code


async def test_region_responses_carry_the_display_name(client, db):
    await load(db, under="73.71")

    one = await client.get("/api/v1/regions/73.71", headers=ADMIN)
    children = await client.get("/api/v1/regions?parent=73", headers=ADMIN)

    assert one.json()["name"] == "KOTA MAKASSAR"
    assert one.json()["display_name"] == "Kota Makassar"
    assert children.json()["regions"][0]["display_name"] == "Kota Makassar"


async def test_progress_and_series_carry_the_display_name(client, db):
    await load(db, under="73.71")

    province = (await client.get("/api/v1/progress/73", headers=ADMIN)).json()
    city = (await client.get("/api/v1/progress/73.71", headers=ADMIN)).json()
    series = (await client.get("/api/v1/progress/73.71/series", headers=ADMIN)).json()

    assert province["region"]["display_name"] == "Sulawesi Selatan"
    assert [c["display_name"] for c in province["children"]] == ["Kota Makassar"]
    assert city["children"][0] == city["children"][0] | {
        "code": "73.71.01",
        "name": "Mariso",
        "display_name": "Mariso",
    }
    assert series["region"]["display_name"] == "Kota Makassar"


# Timezones and offices


def test_every_province_of_the_list_has_its_timezone():
    zones = {r.code: province_timezone(r.code) for r in read_area_list() if "." not in r.code}

    by_zone: dict[str | None, list[str]] = {}
    for code, zone in zones.items():
        by_zone.setdefault(zone, []).append(code)
    assert by_zone == {
        "Asia/Jakarta": [
            "11",
            "12",
            "13",
            "14",
            "15",
            "16",
            "17",
            "18",
            "19",
            "21",
            "31",
            "32",
            "33",
            "34",
            "35",
            "36",
        ],
        "Asia/Makassar": ["51", "52", "53", "63", "64", "65", "71", "72", "73", "74", "75", "76"],
        "Asia/Pontianak": ["61", "62"],
        "Asia/Jayapura": ["81", "82", "91", "92", "93", "94", "95", "96"],
    }
    assert province_timezone("73.71.01") == "Asia/Makassar"


async def offices_create(db: AsyncConnection, **options):
    return await create_offices(
        session_on(db), actor=ACTOR, default_timezone="Asia/Makassar", **options
    )


async def test_an_office_per_district_then_per_regency_and_again(client, db):
    await load(db)
    await client.put(
        "/api/v1/offices/MKS-MARISO", json={"name": "Mariso", "region": "73.71.01"}, headers=ADMIN
    )

    districts = await offices_create(db, per="district", kind="kecamatan")
    regencies = await offices_create(db, per="regency", kind="dukcapil")
    again = [
        await offices_create(db, per="district", kind="kecamatan"),
        await offices_create(db, per="regency", kind="dukcapil"),
    ]

    assert (districts.created, regencies.created) == (7277 - 1, 514)
    assert [a.created for a in again] == [0, 0]
    assert districts.default_timezone_regions == []
    stored = await db.execute(
        text(
            "SELECT code, name, region, kind, timezone FROM offices"
            " WHERE region IN ('73.71', '73.71.01', '73.71.04', '61.71', '91.03.01',"
            " '31.71.01') ORDER BY code"
        )
    )
    assert [tuple(row) for row in stored] == [
        ("DUKCAPIL-61.71", "Disdukcapil Kota Pontianak", "61.71", "dukcapil", "Asia/Pontianak"),
        ("DUKCAPIL-73.71", "Disdukcapil Kota Makassar", "73.71", "dukcapil", "Asia/Makassar"),
        ("KEC-31.71.01", "Kecamatan Gambir", "31.71.01", "kecamatan", "Asia/Jakarta"),
        ("KEC-73.71.04", "Kecamatan Ujung Pandang", "73.71.04", "kecamatan", "Asia/Makassar"),
        ("KEC-91.03.01", "Kecamatan Sentani", "91.03.01", "kecamatan", "Asia/Jayapura"),
        ("MKS-MARISO", "Mariso", "73.71.01", "kecamatan", "Asia/Makassar"),
    ]
    # Every office's name holds its district's name as shown; a Dinas office's its regency's
    # name without KABUPATEN or KOTA.
    named = await db.execute(
        text("SELECT o.kind, o.name, r.name FROM offices o JOIN regions r ON r.code = o.region")
    )
    for kind, office, region in named:
        if kind == "dukcapil":
            bare = region.removeprefix("KABUPATEN ").removeprefix("KOTA ")
            assert display_name(bare) in office
        else:
            assert display_name(region) in office
    zones = await db.execute(
        text(
            "SELECT split_part(region, '.', 1) AS province, array_agg(DISTINCT timezone)"
            " FROM offices GROUP BY 1"
        )
    )
    assert {p: z for p, z in zones} == {
        p: [province_timezone(p)] for p in {r.code for r in read_area_list() if "." not in r.code}
    }


async def test_offices_per_district_under_a_city(db):
    await load(db, under="73")

    created = await offices_create(db, per="district", kind="kecamatan", under="73.71")

    assert created.created == 15
    regions = await db.scalars(text("SELECT region FROM offices ORDER BY region"))
    assert list(regions) == [f"73.71.{n:02d}" for n in range(1, 16)]


async def test_a_regency_with_a_dinas_office_gets_no_second_one(client, db):
    await load(db, under="73.71")
    await client.put(
        "/api/v1/offices/DISDUKCAPIL-MKS",
        json={"name": "Disdukcapil Makassar", "region": "73.71", "kind": "dukcapil"},
        headers=ADMIN,
    )

    created = await offices_create(db, per="regency", kind="dukcapil", under="73")
    mobile = await offices_create(db, per="regency", kind="mobile", under="73")

    assert (created.created, mobile.created) == (0, 1)
    assert await db.scalar(text("SELECT name FROM offices WHERE code = 'MOBILE-73.71'")) == (
        "Layanan Keliling Kota Makassar"
    )


# The commands themselves, on their own committed database


def write_list(directory: Path, **files: list[tuple[str, ...]]) -> None:
    """A list in idn-area-data's format: the shipped rows of Sulawesi Selatan, each file
    replaced by the rows given for it."""
    headers = {
        "provinces": ("code", "name"),
        "regencies": ("code", "province_code", "name"),
        "districts": ("code", "regency_code", "name"),
        "villages": ("code", "district_code", "name"),
    }
    for stem, header in headers.items():
        rows = files.get(stem)
        if rows is None:
            rows = [
                tuple(row[column] for column in header)
                for row in shipped_rows(stem)
                if row["code"].startswith("73") and stem != "villages"
            ]
        with (directory / f"{stem}.csv").open("w", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(header)
            writer.writerows(rows)


@pytest.fixture
def onboarding_database(server_url: str) -> Iterator[str]:
    url = new_database(server_url, "onboarding")
    upgrade(url)
    yield url
    drop_database(server_url, url)


async def committed_scalar(database_url: str, sql: str):
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            return await connection.scalar(text(sql))
    finally:
        await engine.dispose()


async def test_the_commands_print_what_they_did(onboarding_database, tmp_path):
    url = onboarding_database

    dry = await rekam("regions", "load", "--under", "73", "--dry-run", database_url=url)
    first = await rekam("regions", "load", "--under", "73", database_url=url)
    second = await rekam("regions", "load", "--under", "73", database_url=url)
    offices = await rekam("offices", "create", "--per-district", "--under", "73", database_url=url)
    offices_again = await rekam(
        "offices", "create", "--per-district", "--under", "73", database_url=url
    )
    write_list(
        tmp_path,
        districts=[
            (row["code"], row["regency_code"], row["name"])
            for row in shipped_rows("districts")
            if row["code"].startswith("73.") and row["code"] != "73.71.15"
        ],
    )
    newer = await rekam("regions", "load", str(tmp_path), "--under", "73", database_url=url)

    assert dry.returncode == 0, dry.stderr
    assert dry.stdout == "created 338, renamed 0, unchanged 0\ndry run: nothing was written\n"
    assert first.stdout == "created 338, renamed 0, unchanged 0\n"
    assert second.stdout == "created 0, renamed 0, unchanged 338\n"
    assert offices.stdout == "created 313 offices\n"
    assert offices_again.stdout == "created 0 offices\n"
    assert newer.returncode == 0, newer.stderr
    assert newer.stdout == "created 0, renamed 0, unchanged 337\nnot in the list: 73.71.15\n"
    assert await committed_scalar(url, "SELECT count(*) FROM regions") == 339


async def test_load_names_a_directory_without_the_files(onboarding_database, tmp_path):
    result = await rekam("regions", "load", str(tmp_path), database_url=onboarding_database)

    assert result.returncode == 1
    assert result.stderr == f"rekam: {tmp_path} has no provinces.csv\n"


async def test_a_load_is_on_record_and_a_second_one_adds_nothing(db):
    await load(db, under="73")
    created = await db.scalar(
        text("SELECT count(*) FROM audit_events WHERE kind = 'region' AND action = 'created'")
    )
    await load(db, under="73")

    assert created == 338
    assert await db.scalar(text("SELECT count(*) FROM audit_events")) == created
