"""`rekam demo`: the Makassar demo on an empty database, and loading it again."""

import ast
import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from app.db import create_session_factory
from app.main import create_app
from app.services.demo import KECAMATAN, LATE_TODAY, load_demo_if_empty
from tests.conftest import ADMIN, ROOT, drop_database, new_database, settings_for
from tests.helpers import today

TABLES = [
    "regions",
    "figures",
    "offices",
    "counts",
    "count_revisions",
    "region_days",
    "region_months",
    "region_totals",
    "report_days",
    "instance_flags",
]
KECAMATAN_NAMES = [
    "Mariso",
    "Mamajang",
    "Makassar",
    "Ujung Pandang",
    "Wajo",
    "Bontoala",
    "Tallo",
    "Ujung Tanah",
    "Panakkukang",
    "Tamalate",
    "Biringkanaya",
    "Manggala",
    "Rappocini",
    "Tamalanrea",
    "Kepulauan Sangkarrang",
]
OFFICES = 16  # a kecamatan office in each of the 15, and the city's Dukcapil office
DAYS = 120


def rekam(database_url: str, *args: str) -> str:
    """Run the `rekam` command on a database, with no other REKAM_ setting; its stdout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REKAM_")}
    env["REKAM_DATABASE_URL"] = database_url
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "rekam"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def rekam_demo(database_url: str) -> dict[str, int]:
    """Run `rekam demo` on a database; returns the summary it prints."""
    # The last line reads "Makassar demo loaded: {'created': ..., ...}".
    last = rekam(database_url, "demo").strip().splitlines()[-1]
    summary: dict[str, int] = ast.literal_eval(last.split(": ", 1)[1])
    return summary


@pytest.fixture(scope="module")
def demo_database(server_url: str) -> Iterator[tuple[str, dict[str, int]]]:
    """An empty database (not even migrated: the command does that) with the demo loaded."""
    url = new_database(server_url, "demo")
    summary = rekam_demo(url)
    yield url, summary
    drop_database(server_url, url)


@pytest.fixture
async def demo_db(demo_database: tuple[str, dict[str, int]]) -> AsyncIterator[AsyncConnection]:
    engine = create_async_engine(demo_database[0])
    try:
        async with engine.connect() as connection:
            yield connection
    finally:
        await engine.dispose()


async def rows(connection: AsyncConnection, sql: str, **params: Any) -> list[Any]:
    return list(await connection.execute(text(sql), params))


async def get_json(database_url: str, path: str, **params: str) -> Any:
    engine = create_async_engine(database_url)
    try:
        app = create_app(settings_for(database_url), engine=engine)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://rekam.test") as client:
            response = await client.get(path, params=params, headers=ADMIN)
    finally:
        await engine.dispose()
    assert response.status_code == 200, response.text
    return response.json()


async def test_demo_creates_every_count_of_120_days_but_two_late_offices(demo_database):
    _, summary = demo_database

    assert summary == {"created": DAYS * OFFICES - len(LATE_TODAY), "updated": 0, "unchanged": 0}


async def test_demo_regions_are_the_nation_down_to_makassar_kecamatan(demo_db):
    found = {
        row.code: (row.name, row.parent)
        for row in await rows(demo_db, "SELECT code, name, parent FROM regions")
    }

    expected = {
        "ID": ("Indonesia", None),
        "73": ("Sulawesi Selatan", "ID"),
        "73.71": ("Kota Makassar", "73"),
    } | {f"73.71.{i:02d}": (name, "73.71") for i, name in enumerate(KECAMATAN_NAMES, start=1)}
    assert found == expected


async def test_demo_has_an_office_per_kecamatan_and_the_city_dukcapil(demo_db):
    offices = await rows(demo_db, "SELECT code, region, kind, timezone FROM offices")

    by_region: dict[str, list[str]] = {}
    for office in offices:
        by_region.setdefault(office.region, []).append(office.kind)
        assert office.timezone == "Asia/Makassar"
    assert len(offices) == OFFICES
    assert by_region == {"73.71": ["dukcapil"]} | {
        f"73.71.{i:02d}": ["kecamatan"] for i in range(1, 16)
    }


async def test_demo_counts_cover_120_days_ending_today_all_marked_demo(demo_db):
    counts = await rows(
        demo_db,
        "SELECT o.code, c.date, c.note FROM counts c JOIN offices o ON o.id = c.office_id",
    )

    end = today()
    assert len(counts) == DAYS * OFFICES - len(LATE_TODAY)
    assert {c.note for c in counts} == {"demo"}
    assert min(c.date for c in counts) == end - timedelta(days=DAYS - 1)
    assert max(c.date for c in counts) == end
    not_today = {c.code for c in counts} - {c.code for c in counts if c.date == end}
    assert not_today == LATE_TODAY


async def test_demo_daily_counts_look_like_a_city_office_week(demo_db):
    per_day = {
        row.date: (int(row.total), int(row.dukcapil))
        for row in await rows(
            demo_db,
            """
            SELECT c.date, sum(c.recordings) AS total,
                   sum(c.recordings) FILTER (WHERE o.kind = 'dukcapil') AS dukcapil
            FROM counts c JOIN offices o ON o.id = c.office_id GROUP BY c.date
            """,
        )
    }

    election = today() - timedelta(days=30)
    # Ordinary weekdays: neither today (two offices late) nor the weeks before the election.
    ordinary = [
        values
        for day, values in per_day.items()
        if day.weekday() < 5 and day != today() and not 0 <= (election - day).days < 21
    ]
    rush = [v for d, v in per_day.items() if d.weekday() < 5 and 0 <= (election - d).days < 21]
    weekends = [v for d, v in per_day.items() if d.weekday() >= 5]
    average = sum(total for total, _ in ordinary) / len(ordinary)
    assert 450 <= average <= 550
    assert 50 <= sum(d for _, d in ordinary) / len(ordinary) <= 70
    assert sum(total for total, _ in rush) / len(rush) > 1.3 * average
    assert max(total for total, _ in weekends) < 0.15 * average


async def test_demo_targets_of_the_city_and_the_nation(demo_db):
    targets = {
        row.code: (row.daily_target, row.coverage_target, row.coverage_deadline)
        for row in await rows(
            demo_db,
            "SELECT code, daily_target, coverage_target, coverage_deadline FROM regions"
            " WHERE code IN ('ID', '73.71')",
        )
    }

    deadline = today() + timedelta(days=365)
    assert targets["73.71"][:2] == (1000, Decimal("0.85"))
    assert targets["ID"][1] == Decimal("0.95")
    assert targets["73.71"][2] == targets["ID"][2] == deadline


async def test_demo_office_targets_add_up_to_the_city_target(demo_db):
    offices = await rows(demo_db, "SELECT region, daily_target FROM offices")
    kecamatan = await rows(demo_db, "SELECT code, daily_target FROM regions WHERE parent = '73.71'")

    assert sum(office.daily_target for office in offices) == 1000
    by_region = {office.region: office.daily_target for office in offices}
    assert all(region.daily_target == by_region[region.code] for region in kecamatan)


async def test_demo_kecamatan_figures_sum_exactly_to_the_city_figure(demo_db):
    figures = {
        row.region: (row.date, row.eligible, row.recorded)
        for row in await rows(demo_db, "SELECT region, date, eligible, recorded FROM figures")
    }

    city_date, city_eligible, city_recorded = figures.pop("73.71")
    assert city_date == today() - timedelta(days=DAYS)
    assert city_eligible == 1_216_381
    assert round(city_recorded / city_eligible, 2) == 0.72
    assert sorted(figures) == [f"73.71.{i:02d}" for i in range(1, 16)]
    assert {day for day, _, _ in figures.values()} == {city_date}
    assert sum(eligible for _, eligible, _ in figures.values()) == city_eligible
    assert sum(recorded for _, _, recorded in figures.values()) == city_recorded
    assert all(0 < recorded < eligible for _, eligible, recorded in figures.values())


async def test_demo_progress_starts_near_72_percent_and_children_show_coverage(demo_database):
    url, _ = demo_database

    city = await get_json(url, "/api/v1/progress/73.71")

    assert city["eligible"] == 1_216_381
    assert 0.72 < city["coverage"] < 0.8
    assert city["target"]["coverage"] == 0.85
    assert city["day"]["target"] == 1000
    assert sorted(city["reporting"]["missing"]) == sorted(LATE_TODAY)
    assert [child["name"] for child in city["children"]] == KECAMATAN_NAMES
    coverages = [child["coverage"] for child in city["children"]]
    assert all(0.55 < c < 0.95 for c in coverages)
    assert len(set(coverages)) == len(coverages)  # a table worth sorting
    assert [office["code"] for office in city["offices"]] == ["MKS-DUKCAPIL"]


async def test_demo_is_marked_in_meta(demo_database):
    url, _ = demo_database

    assert (await get_json(url, "/api/v1/meta"))["demo"] is True


async def test_demo_loaded_twice_changes_nothing(demo_database, demo_db):
    url, first = demo_database
    before = {table: await _count(demo_db, table) for table in TABLES}
    versions = await _count(demo_db, "counts WHERE version > 1")
    await demo_db.rollback()  # end the read transaction so the next reads see new commits

    second = rekam_demo(url)

    after = {table: await _count(demo_db, table) for table in TABLES}
    assert second == {"created": 0, "updated": 0, "unchanged": first["created"]}
    assert after == before
    assert await _count(demo_db, "counts WHERE version > 1") == versions == 0


async def test_serve_demo_if_empty_leaves_a_loaded_database_alone(demo_database):
    url, _ = demo_database
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            offices = await _count(connection, "offices")
        async with create_session_factory(engine)() as session:
            loaded = await load_demo_if_empty(session)
    finally:
        await engine.dispose()

    assert loaded is False
    assert offices == OFFICES


def test_kecamatan_list_is_in_kemendagri_order():
    assert [k.name for k in KECAMATAN] == KECAMATAN_NAMES


async def _count(connection: AsyncConnection, table: str) -> int:
    return int(await connection.scalar(text(f"SELECT count(*) FROM {table}")))
