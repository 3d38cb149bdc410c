"""Building blocks for tests: regions, offices and tokens made through the API."""

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import text

from app.main import create_app
from tests.conftest import ADMIN, make_client, settings_for

MAKASSAR = "Asia/Makassar"


def today(tz: str = MAKASSAR) -> date:
    return datetime.now(ZoneInfo(tz)).date()


def days_ago(n: int, tz: str = MAKASSAR) -> date:
    return today(tz) - timedelta(days=n)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def put_region(
    client: httpx.AsyncClient, code: str, name: str | None = None, **fields: Any
) -> dict[str, Any]:
    response = await client.put(
        f"/api/v1/regions/{code}", json={"name": name or f"Region {code}", **fields}, headers=ADMIN
    )
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


async def region_path(client: httpx.AsyncClient, code: str) -> None:
    """Create a region and every ancestor it needs (ID exists already)."""
    parts = code.split(".")
    for i in range(1, len(parts) + 1):
        await put_region(client, ".".join(parts[:i]))


async def put_office(
    client: httpx.AsyncClient, code: str, region: str, **fields: Any
) -> dict[str, Any]:
    response = await client.put(
        f"/api/v1/offices/{code}",
        json={"name": f"Office {code}", "region": region, **fields},
        headers=ADMIN,
    )
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


async def new_token(client: httpx.AsyncClient, role: str, office: str | None = None) -> str:
    body: dict[str, Any] = {"role": role, "name": f"{role} {office or ''}".strip()}
    if office is not None:
        body["office"] = office
    response = await client.post("/api/v1/tokens", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


async def put_count(
    client: httpx.AsyncClient,
    office: str,
    day: date,
    recordings: int,
    headers: dict[str, str] = ADMIN,
    **fields: Any,
) -> httpx.Response:
    return await client.put(
        f"/api/v1/offices/{office}/counts/{day.isoformat()}",
        json={"recordings": recordings, **fields},
        headers=headers,
    )


# Added for the write-side suite.


def client_with(
    database_url: str, engine: Any, connection: Any, **overrides: Any
) -> httpx.AsyncClient:
    """A client like the `client` fixture's, on an app built with other settings."""
    return make_client(
        create_app(settings_for(database_url, **overrides), engine=engine), connection
    )


async def new_office(
    client: httpx.AsyncClient, code: str = "MKS-01", region: str = "73.71.01", **fields: Any
) -> dict[str, Any]:
    """An office, with every region above it created first."""
    await region_path(client, region)
    return await put_office(client, code, region, **fields)


def _month(day: date) -> date:
    return day.replace(day=1)


async def expected_tallies(connection: Any) -> dict[str, dict[Any, int]]:
    """The summaries recomputed from their definitions: counts, offices, regions.lineage."""
    lineage = {
        row.code: list(row.lineage)
        for row in await connection.execute(text("SELECT code, lineage FROM regions"))
    }
    days: dict[tuple[str, date], int] = {}
    reports: dict[date, int] = {}
    months: dict[tuple[str, date], int] = {}
    totals: dict[str, int] = {}
    counts = await connection.execute(
        text(
            "SELECT o.region, c.date, c.recordings"
            " FROM counts c JOIN offices o ON o.id = c.office_id"
        )
    )
    for office_region, day, recordings in counts:
        reports[day] = reports.get(day, 0) + 1
        for region in lineage[office_region]:
            days[region, day] = days.get((region, day), 0) + recordings
            months[region, _month(day)] = months.get((region, _month(day)), 0) + recordings
            totals[region] = totals.get(region, 0) + recordings
    figures = {}
    for region, day in await connection.execute(text("SELECT region, date FROM figures")):
        figures[region, day] = sum(
            value for (r, d), value in days.items() if r == region and d <= day
        )
    return {
        "days": {k: v for k, v in days.items() if v},
        "reports": reports,
        "months": {k: v for k, v in months.items() if v},
        "totals": {k: v for k, v in totals.items() if v},
        "figures": figures,
    }


async def stored_tallies(connection: Any) -> dict[str, dict[Any, int]]:
    """The summaries as stored, summed over shards; rows that sum to zero are left out."""

    async def summed(sql: str) -> dict[Any, int]:
        rows = await connection.execute(text(sql))
        return {
            (tuple(row[:-1]) if len(row) > 2 else row[0]): int(row[-1]) for row in rows if row[-1]
        }

    return {
        "days": await summed(
            "SELECT region, date, sum(recordings) FROM region_days GROUP BY region, date"
        ),
        "reports": await summed("SELECT date, sum(reports) FROM report_days GROUP BY date"),
        "months": await summed(
            "SELECT region, month, sum(recordings) FROM region_months GROUP BY region, month"
        ),
        "totals": await summed("SELECT region, sum(recordings) FROM region_totals GROUP BY region"),
        "figures": {
            (row.region, row.date): int(row.counts_through)
            for row in await connection.execute(
                text("SELECT region, date, counts_through FROM figures")
            )
        },
    }


async def assert_tallies_exact(connection: Any) -> None:
    """region_days, region_months, region_totals, report_days and figures.counts_through
    all agree with the counts they summarise, for every region."""
    expected = await expected_tallies(connection)
    stored = await stored_tallies(connection)
    assert stored == expected


async def stored_counts(db: Any) -> list[tuple[Any, ...]]:
    """Every stored count as (office, date, recordings, note, version), in key order."""
    rows = await db.execute(
        text(
            "SELECT o.code, c.date, c.recordings, c.note, c.version FROM counts c"
            " JOIN offices o ON o.id = c.office_id ORDER BY 1, 2"
        )
    )
    return [tuple(row) for row in rows]
