"""Building blocks for tests: regions, offices and tokens made through the API."""

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests.conftest import ADMIN

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
