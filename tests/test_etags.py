"""Conditional reads: ETag and 304 on progress, series, office progress and listings, from
region_versions (app/etags.py), never stale after a write in the subtree."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import event

from app import clock
from tests.conftest import ADMIN
from tests.helpers import put_office, put_region
from tests.progress_helpers import batch, counts, delete_count, regions

DAY = "2019-02-10"
PROGRESS = ("/api/v1/progress/73.71.01", {"as_of": DAY})
SERIES = ("/api/v1/progress/73.71.01/series", {"from": "2019-02-01", "to": DAY})
OFFICE = ("/api/v1/offices/K1/progress", {"as_of": DAY})
CHILDREN = ("/api/v1/regions", {"parent": "73.71.01"})
OFFICES = ("/api/v1/offices", {"region": "73.71.01"})
QUALITY = ("/api/v1/quality/73.71.01", {"as_of": DAY})
EXPLAIN = ("/api/v1/progress/73.71.01/explain", {"as_of": DAY})
ENDPOINTS = [PROGRESS, SERIES, OFFICE, CHILDREN, OFFICES, QUALITY, EXPLAIN]


async def setup(client):
    await regions(client, "73", "73.71", "73.71.01", "73.71.02")
    await put_office(client, "K1", "73.71.01", daily_target=10)
    await put_office(client, "K2", "73.71.02", daily_target=10)
    await counts(client, "K1", {"2019-02-09": 5})
    await counts(client, "K2", {"2019-02-09": 6})


async def tag_of(client, endpoint, **headers):
    url, params = endpoint
    response = await client.get(url, params=params, headers={**ADMIN, **headers})
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-cache"
    return response.headers["etag"]


async def revalidate(client, endpoint, if_none_match):
    url, params = endpoint
    return await client.get(url, params=params, headers={**ADMIN, "If-None-Match": if_none_match})


async def assert_not_modified(client, endpoint, tag):
    response = await revalidate(client, endpoint, tag)
    assert response.status_code == 304, response.text
    assert response.content == b""
    assert response.headers["etag"] == tag
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e[0])
async def test_200_then_304_then_write_then_200_with_a_new_tag(client, endpoint):
    await setup(client)
    tag = await tag_of(client, endpoint)
    assert tag.startswith('W/"')
    await assert_not_modified(client, endpoint, tag)

    await counts(client, "K1", {DAY: 7})

    response = await revalidate(client, endpoint, tag)
    assert response.status_code == 200
    assert response.headers["etag"] != tag
    await assert_not_modified(client, endpoint, response.headers["etag"])


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e[0])
async def test_a_write_in_a_sibling_leaves_the_tag_alone(client, endpoint):
    await setup(client)
    tag = await tag_of(client, endpoint)

    await counts(client, "K2", {DAY: 9})
    await batch(client, [{"office": "K2", "date": "2019-02-08", "recordings": 3}])
    await delete_count(client, "K2", "2019-02-09")
    await put_office(client, "K2", "73.71.02", daily_target=20)
    await put_region(client, "73.71.02", name="Sibling renamed", daily_target=5)
    response = await client.put(
        "/api/v1/regions/73.71.02/figures/2019-01-01", json={"eligible": 500}, headers=ADMIN
    )
    assert response.status_code == 201, response.text
    await put_region(client, "74")

    await assert_not_modified(client, endpoint, tag)


async def write_count(client):
    await counts(client, "K1", {DAY: 8})


async def write_batch(client):
    await batch(client, [{"office": "K1", "date": "2019-02-08", "recordings": 4}])


async def write_delete(client):
    await delete_count(client, "K1", "2019-02-09")


async def write_figure(client):
    response = await client.put(
        "/api/v1/regions/73.71.01/figures/2019-01-01", json={"eligible": 900}, headers=ADMIN
    )
    assert response.status_code == 201, response.text


async def write_ancestor_target(client):
    # 73.71.01 inherits the nearest ancestor's coverage target.
    await put_region(client, "73.71", coverage_target=0.9, coverage_deadline="2019-12-31")


async def write_office(client):
    await put_office(client, "K1", "73.71.01", daily_target=12)


async def write_child_region(client):
    await put_region(client, "73.71.01.1001")


WRITES = [
    write_count,
    write_batch,
    write_delete,
    write_figure,
    write_ancestor_target,
    write_office,
    write_child_region,
]


@pytest.mark.parametrize("write", WRITES, ids=lambda w: w.__name__)
@pytest.mark.parametrize("endpoint", [PROGRESS, SERIES], ids=lambda e: e[0])
async def test_every_kind_of_write_changes_the_tag(client, endpoint, write):
    await setup(client)
    tag = await tag_of(client, endpoint)

    await write(client)

    assert (await revalidate(client, endpoint, tag)).status_code == 200


@pytest.mark.parametrize("write", [write_count, write_batch, write_delete, write_office])
async def test_office_progress_tag_changes_with_the_office_and_its_counts(client, write):
    await setup(client)
    tag = await tag_of(client, OFFICE)
    await write(client)
    assert (await revalidate(client, OFFICE, tag)).status_code == 200


async def test_children_listing_tag_changes_when_a_child_changes(client):
    await setup(client)
    await put_region(client, "73.71.01.1001")
    tag = await tag_of(client, CHILDREN)
    await put_region(client, "73.71.01.1001", name="Renamed")
    response = await revalidate(client, CHILDREN, tag)
    assert response.status_code == 200
    assert response.json()["regions"][0]["name"] == "Renamed"


async def test_the_query_decides_the_tag(client):
    await setup(client)
    url = PROGRESS[0]
    first = await tag_of(client, (url, {"as_of": DAY}))
    assert await tag_of(client, (url, {"as_of": "2019-02-09"})) != first
    assert await tag_of(client, (url, {"as_of": DAY, "days": 3})) != first
    assert await tag_of(client, ("/api/v1/progress/73.71.02", {"as_of": DAY})) != first


async def test_a_304_runs_no_progress_query(client, db):
    await setup(client)
    tag = await tag_of(client, PROGRESS)
    statements = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.sync_connection, "before_cursor_execute", seen)
    try:
        await assert_not_modified(client, PROGRESS, tag)
    finally:
        event.remove(db.sync_connection, "before_cursor_execute", seen)
    assert statements
    assert not [s for s in statements if "region_days" in s or "region_totals" in s]


def at(moment: datetime):
    return lambda: moment


async def test_default_as_of_changes_the_tag_at_midnight_in_rekam_timezone(client, monkeypatch):
    await setup(client)
    endpoint = ("/api/v1/progress/73.71.01", {})
    # Makassar is UTC+8: 15:59:59 UTC is 23:59:59 there.
    monkeypatch.setattr(clock, "now", at(datetime(2019, 2, 10, 15, 59, 59, tzinfo=UTC)))
    before = await tag_of(client, endpoint)
    await assert_not_modified(client, endpoint, before)

    monkeypatch.setattr(clock, "now", at(datetime(2019, 2, 10, 16, 0, 1, tzinfo=UTC)))
    response = await revalidate(client, endpoint, before)
    assert response.status_code == 200
    assert response.json()["as_of"] == "2019-02-11"
    assert response.headers["etag"] != before


async def test_default_series_range_changes_the_tag_at_midnight(client, monkeypatch):
    await setup(client)
    endpoint = ("/api/v1/progress/73.71.01/series", {})
    monkeypatch.setattr(clock, "now", at(datetime(2019, 2, 10, 15, 59, 59, tzinfo=UTC)))
    before = await tag_of(client, endpoint)
    monkeypatch.setattr(clock, "now", at(datetime(2019, 2, 10, 16, 0, 1, tzinfo=UTC)))
    assert (await revalidate(client, endpoint, before)).status_code == 200


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e[0])
async def test_if_none_match_lists_star_and_weak_comparison(client, endpoint):
    await setup(client)
    tag = await tag_of(client, endpoint)
    strong = tag.removeprefix("W/")

    listed = await revalidate(client, endpoint, '"nothing", ' + tag)
    assert listed.status_code == 304
    assert listed.headers["etag"] == tag
    assert (await revalidate(client, endpoint, f'"a",{strong} ,W/"b"')).status_code == 304
    assert (await revalidate(client, endpoint, "*")).status_code == 304
    assert (await revalidate(client, endpoint, '"nothing", W/"else"')).status_code == 200


@pytest.mark.parametrize(
    ("url", "params", "headers", "status"),
    [
        ("/api/v1/progress/73.99", {"as_of": DAY}, ADMIN, 404),
        ("/api/v1/progress/73.71.01", {"as_of": "2019-2-1"}, ADMIN, 422),
        ("/api/v1/progress/7x", {}, ADMIN, 422),
        ("/api/v1/progress/73.71.01", {"as_of": DAY}, {"Authorization": "Bearer wrong"}, 401),
        ("/api/v1/progress/73.71.01/series", {"bucket": "year"}, ADMIN, 422),
        ("/api/v1/offices/NOPE/progress", {}, ADMIN, 404),
        ("/api/v1/regions", {"parent": "99"}, ADMIN, 404),
        ("/api/v1/offices", {"region": "73 "}, ADMIN, 422),
    ],
)
async def test_an_error_is_never_a_304(client, url, params, headers, status):
    await setup(client)
    response = await client.get(url, params=params, headers={**headers, "If-None-Match": "*"})
    assert response.status_code == status, response.text
    assert "etag" not in response.headers


async def test_a_check_changes_the_quality_tag_of_its_region_and_above_only(client):
    await setup(client)
    # An office with no count in the three days ending DAY: a silent flag to check.
    await put_office(client, "K3", "73.71.01")
    city = ("/api/v1/quality/73.71", {"as_of": DAY})
    sibling = ("/api/v1/quality/73.71.02", {"as_of": DAY})
    before = [await tag_of(client, endpoint) for endpoint in (QUALITY, city, sibling)]

    checked = await client.put(
        "/api/v1/quality/checks",
        json={"kind": "silent", "office": "K3", "date": DAY, "note": "closed for Imlek"},
        headers=ADMIN,
    )
    assert checked.status_code == 201, checked.text

    for endpoint, tag in zip((QUALITY, city), before, strict=False):
        response = await revalidate(client, endpoint, tag)
        assert response.status_code == 200
        [flag] = [f for f in response.json()["flags"] if f["office"] == "K3"]
        assert flag["checked"]["note"] == "closed for Imlek"
    await assert_not_modified(client, sibling, before[2])
