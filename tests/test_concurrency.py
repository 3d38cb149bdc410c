"""Concurrent writers against a real server: versions, history and tallies stay exact.
The data lives under regions 99 and 98, so other users of the live server are not disturbed."""

import asyncio
import itertools
import random
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from app.services.figures import store_steps
from tests.conftest import ADMIN
from tests.helpers import assert_tallies_exact, bearer, days_ago, today
from tests.test_outlier_verdicts import assert_verdicts_exact

WRITERS = 50


@pytest.fixture
async def http(live_server):
    async with httpx.AsyncClient(base_url=live_server.base_url, timeout=60) as client:
        yield client


@pytest.fixture
async def live_db(live_server):
    engine = create_async_engine(live_server.database_url)
    try:
        async with engine.connect() as connection:
            yield connection
    finally:
        await engine.dispose()


async def setup_office(http, code, region):
    parts = region.split(".")
    for i in range(1, len(parts) + 1):
        response = await http.put(
            f"/api/v1/regions/{'.'.join(parts[:i])}", json={"name": "Test"}, headers=ADMIN
        )
        assert response.status_code in (200, 201), response.text
    response = await http.put(
        f"/api/v1/offices/{code}", json={"name": code, "region": region}, headers=ADMIN
    )
    assert response.status_code in (200, 201), response.text


async def assert_nation_matches_counts(connection):
    nation_days = await connection.scalar(
        text("SELECT coalesce(sum(recordings), 0) FROM region_days WHERE region = 'ID'")
    )
    counts = await connection.scalar(text("SELECT coalesce(sum(recordings), 0) FROM counts"))
    assert nation_days == counts


async def assert_figure_steps_as_rebuilt(connection):
    steps = text("SELECT region, kind, date, value, anchors FROM figure_steps")
    stored = {tuple(row) for row in await connection.execute(steps)}
    async with AsyncSession(bind=connection) as session:
        figured = await session.scalars(text("SELECT DISTINCT region FROM figures"))
        await store_steps(session, list(figured))
        rebuilt = {tuple(row) for row in await session.execute(steps)}
        await session.rollback()
    assert stored == rebuilt


async def test_concurrent_puts_to_one_count_keep_one_unbroken_history(http, live_db):
    await setup_office(http, "CC-ONE", "99.01.01")
    day = today()
    values = [random.Random(i).choice([0, 5, 9, 12, 30]) for i in range(WRITERS)]

    responses = await asyncio.gather(
        *(
            http.put(
                f"/api/v1/offices/CC-ONE/counts/{day}", json={"recordings": value}, headers=ADMIN
            )
            for value in values
        )
    )

    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 201}, [r.text for r in responses if r.status_code >= 300]
    assert statuses.count(201) == 1
    stored = (await http.get(f"/api/v1/offices/CC-ONE/counts/{day}", headers=ADMIN)).json()
    history = (
        await http.get(f"/api/v1/offices/CC-ONE/counts/{day}/history", headers=ADMIN)
    ).json()["revisions"]
    changes = len(history)
    assert stored["version"] == changes
    assert [r["version"] for r in history] == list(range(1, changes + 1))
    assert history[-1]["recordings"] == stored["recordings"]
    # Every revision is a change: no two neighbours hold the same value.
    assert all(a["recordings"] != b["recordings"] for a, b in itertools.pairwise(history))
    assert {r["recordings"] for r in history} == set(values)
    # Each change answered with its own version; unchanged writes with the current one.
    assert {r.json()["version"] for r in responses} == set(range(1, changes + 1))
    for response in responses:
        assert response.headers["etag"] == f'"{response.json()["version"]}"'
    await assert_nation_matches_counts(live_db)


async def test_concurrent_writers_across_offices_keep_every_tally_exact(http, live_db):
    offices = {
        "CC-A1": "99.01.01",
        "CC-A2": "99.01.01",
        "CC-A3": "99.01.02.1001",
        "CC-B1": "99.02",
        "CC-C1": "98.01.01",
        "CC-C2": "98.01.01",
    }
    for code, region in offices.items():
        await setup_office(http, code, region)
    tokens = {}
    for code in ("CC-A1", "CC-C1"):
        created = await http.post(
            "/api/v1/tokens", json={"role": "office", "office": code}, headers=ADMIN
        )
        tokens[code] = created.json()["token"]
    rng = random.Random(2024)
    # A month's last day; on the 1st and the 3rd the previous month's is already among them.
    dates = [today(), days_ago(1), days_ago(3)]
    month_end = today().replace(day=1) - timedelta(days=1)
    dates.append(
        month_end if month_end not in dates else month_end.replace(day=1) - timedelta(days=1)
    )
    # Figures dated among the counts: writes before them change their counts_through, and
    # with it the figure steps, which must come out as a rebuild from scratch would.
    for region, day in (("99.01", days_ago(2)), ("99", days_ago(1)), ("98.01", dates[3])):
        response = await http.put(
            f"/api/v1/regions/{region}/figures/{day}",
            json={"eligible": 1000, "recorded": 500},
            headers=ADMIN,
        )
        assert response.status_code in (200, 201), response.text

    def operation():
        kind = rng.choice(["put", "put", "office-put", "batch", "csv", "delete", "figure"])
        code, day = rng.choice(sorted(offices)), rng.choice(dates)
        if kind == "figure":
            return http.put(
                f"/api/v1/regions/{rng.choice(['99', '99.01', '98.01'])}/figures/{day}",
                json={"recorded": rng.randrange(1000, 2000)},
                headers=ADMIN,
            )
        if kind == "office-put":
            code = rng.choice(sorted(tokens))
            day = rng.choice(dates[:3])
            return http.put(
                f"/api/v1/offices/{code}/counts/{day}",
                json={"recordings": rng.randrange(200)},
                headers=bearer(tokens[code]),
            )
        if kind == "put":
            return http.put(
                f"/api/v1/offices/{code}/counts/{day}",
                json={"recordings": rng.randrange(200)},
                headers=ADMIN,
            )
        if kind == "delete":
            return http.delete(f"/api/v1/offices/{code}/counts/{day}", headers=ADMIN)
        keys = rng.sample([(o, d) for o in sorted(offices) for d in dates], 8)
        if kind == "batch":
            items = [
                {"office": o, "date": d.isoformat(), "recordings": rng.randrange(200)}
                for o, d in keys
            ]
            return http.post("/api/v1/counts", json={"counts": items}, headers=ADMIN)
        rows = "".join(f"{o},{d},{rng.randrange(200)}\n" for o, d in keys)
        return http.post(
            "/api/v1/counts",
            content="office,date,recordings\n" + rows,
            headers={**ADMIN, "Content-Type": "text/csv"},
        )

    responses = await asyncio.gather(*(operation() for _ in range(WRITERS)))

    for response in responses:
        assert response.status_code in (200, 201, 204, 404), response.text
        if response.status_code == 404:
            assert response.request.method == "DELETE"
    await assert_tallies_exact(live_db)
    await assert_nation_matches_counts(live_db)
    await assert_figure_steps_as_rebuilt(live_db)
    await assert_verdicts_exact(live_db)
    versions = await live_db.execute(
        text(
            """
            SELECT c.office_id, c.date, c.version, max(r.version) AS last, count(r.*) AS n
            FROM counts c JOIN count_revisions r USING (office_id, date)
            GROUP BY 1, 2, 3
            """
        )
    )
    for row in versions:
        assert row.version == row.last == row.n


async def test_overlapping_batches_in_opposite_orders_never_deadlock_a_client(http, live_db):
    offices = [f"CB-{i}" for i in range(6)]
    for i, code in enumerate(offices):
        await setup_office(http, code, f"97.0{i % 3 + 1}.01")
    days = [days_ago(n) for n in range(5)]
    keys = [(office, day) for office in offices for day in days]

    async def post(round_number: int, reverse: bool) -> int:
        ordered = list(reversed(keys)) if reverse else keys
        items = [
            {"office": o, "date": d.isoformat(), "recordings": (round_number * 7 + i) % 50}
            for i, (o, d) in enumerate(ordered)
        ]
        response = await http.post("/api/v1/counts", json={"counts": items}, headers=ADMIN)
        return response.status_code

    statuses = await asyncio.gather(*(post(n, n % 2 == 1) for n in range(20)))
    assert set(statuses) == {200}

    rows = await live_db.execute(
        text(
            """
            SELECT o.code, c.date, c.recordings, c.version,
                   array_agg(r.version ORDER BY r.version) AS versions,
                   (array_agg(r.recordings ORDER BY r.version DESC))[1] AS last_recordings
            FROM counts c JOIN offices o ON o.id = c.office_id
            JOIN count_revisions r ON r.office_id = c.office_id AND r.date = c.date
            WHERE o.code LIKE 'CB-%' GROUP BY o.code, c.date, c.recordings, c.version
            """
        )
    )
    found = rows.all()
    assert len(found) == len(keys)
    for row in found:
        assert row.versions == list(range(1, row.version + 1))
        assert row.last_recordings == row.recordings
    await live_db.commit()
    await assert_nation_matches_counts(live_db)
    await assert_verdicts_exact(live_db)
    progress = (await http.get("/api/v1/progress/97", headers=ADMIN)).json()
    stored = sum(row.recordings for row in found if row.date == today())
    assert progress["day"]["recordings"] == stored
