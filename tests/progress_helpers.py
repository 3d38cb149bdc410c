"""Building blocks for the progress tests: figures, counts and the progress reads."""

from datetime import date
from typing import Any

import httpx

from tests.conftest import ADMIN
from tests.helpers import put_count, put_office, put_region

OPENED = "2019-01-01"


async def regions(client: httpx.AsyncClient, *codes: str, **fields: Any) -> None:
    """Create regions, parents first (ID exists already); `fields` apply to every one."""
    for code in codes:
        await put_region(client, code, **fields)


async def office(client: httpx.AsyncClient, code: str, region: str, **fields: Any) -> None:
    """An office opened on 2019-01-01 unless told otherwise, so old dates may be written."""
    await put_office(client, code, region, **{"opened_on": OPENED, **fields})


async def figure(client: httpx.AsyncClient, region: str, day: str, **values: int) -> None:
    response = await client.put(
        f"/api/v1/regions/{region}/figures/{day}", json=values, headers=ADMIN
    )
    assert response.status_code in (200, 201), response.text


async def counts(client: httpx.AsyncClient, office_code: str, by_date: dict[str, int]) -> None:
    """Write one office's counts, one PUT each, as admin."""
    for day, recordings in by_date.items():
        response = await put_count(client, office_code, date.fromisoformat(day), recordings)
        assert response.status_code in (200, 201), response.text


async def batch(client: httpx.AsyncClient, items: list[dict[str, Any]]) -> dict[str, Any]:
    response = await client.post("/api/v1/counts", json={"counts": items}, headers=ADMIN)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def delete_count(client: httpx.AsyncClient, office_code: str, day: str) -> None:
    response = await client.delete(f"/api/v1/offices/{office_code}/counts/{day}", headers=ADMIN)
    assert response.status_code == 204, response.text


async def get_json(client: httpx.AsyncClient, url: str, **params: Any) -> dict[str, Any]:
    response = await client.get(url, params=params, headers=ADMIN)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def progress(client: httpx.AsyncClient, code: str, **params: Any) -> dict[str, Any]:
    return await get_json(client, f"/api/v1/progress/{code}", **params)


async def series(client: httpx.AsyncClient, code: str, **params: Any) -> dict[str, Any]:
    """The series; pass from_ for `from`."""
    if "from_" in params:
        params["from"] = params.pop("from_")
    return await get_json(client, f"/api/v1/progress/{code}/series", **params)


async def office_progress(client: httpx.AsyncClient, code: str, **params: Any) -> dict[str, Any]:
    return await get_json(client, f"/api/v1/offices/{code}/progress", **params)


async def status_of(client: httpx.AsyncClient, url: str, **params: Any) -> int:
    return (await client.get(url, params=params, headers=ADMIN)).status_code
