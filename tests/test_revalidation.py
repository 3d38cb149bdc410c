"""Revalidations answered before routing (app/revalidation.py), on a real server: a 304 only
where the router would give the same one, and never after a write in the subtree."""

import asyncio
import re
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from app.auth import secret_hash
from app.errors import NotFound
from app.etags import Decided, region_version
from app.revalidation import QUARTER_HOUR, Checks, Notes
from tests.conftest import ADMIN, LiveServer, settings_for
from tests.helpers import bearer, new_token, put_office
from tests.progress_helpers import counts, regions

DAY = "2019-02-10"
ENDPOINTS = [
    ("/api/v1/progress/73.71.01", {"as_of": DAY}),
    ("/api/v1/progress/73.71.01/series", {"from": "2019-02-01", "to": DAY}),
    ("/api/v1/offices/K1/progress", {"as_of": DAY}),
    ("/api/v1/regions", {"parent": "73.71.01"}),
    ("/api/v1/offices", {"region": "73.71.01"}),
    ("/api/v1/quality/73.71.01", {"as_of": DAY}),
    ("/api/v1/progress/73.71.01/explain", {"as_of": DAY}),
]
PROGRESS = ENDPOINTS[0]


@pytest.fixture(scope="module")
def live(server_url: str) -> Iterator[LiveServer]:
    server = LiveServer(server_url, "revalidation", REKAM_RATE_LIMIT_PER_MINUTE="120")
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
async def http(live: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as client:
        await regions(client, "73", "73.71", "73.71.01", "73.71.02")
        await put_office(client, "K1", "73.71.01", daily_target=10)
        await put_office(client, "K2", "73.71.02", daily_target=10)
        await counts(client, "K1", {"2019-02-09": 5})
        yield client


async def answered_before_routing(http: httpx.AsyncClient, counter: str = "revalidated") -> float:
    metrics = (await http.get("/metrics")).text
    found = re.search(rf"^rekam_{counter}_total (\S+)$", metrics, re.MULTILINE)
    assert found, metrics
    return float(found.group(1))


async def shared_before_routing(http: httpx.AsyncClient) -> float:
    return await answered_before_routing(http, "shared_bodies")


async def revalidate(http, endpoint, tag, headers=ADMIN):
    url, params = endpoint
    return await http.get(url, params=params, headers={**headers, "If-None-Match": tag})


async def first_tag(http, endpoint, headers=ADMIN):
    url, params = endpoint
    response = await http.get(url, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e[0])
async def test_a_revalidation_is_answered_before_routing_as_the_router_answers_it(http, endpoint):
    token = await new_token(http, "viewer")
    tag = (await first_tag(http, endpoint, bearer(token))).headers["etag"]
    by_router = await revalidate(http, endpoint, tag, bearer(token))  # noted from here on
    before = await answered_before_routing(http)

    early = await revalidate(http, endpoint, tag, bearer(token))

    assert early.status_code == 304
    assert early.content == b""
    assert await answered_before_routing(http) == before + 1
    same = ("etag", "cache-control", "x-content-type-options", "referrer-policy", "x-frame-options")
    assert {h: early.headers.get(h) for h in same} == {h: by_router.headers.get(h) for h in same}


# Headers the router sets on a read's 200; the ones added around it (the request id) differ.
ROUTERS_HEADERS = (
    "etag",
    "cache-control",
    "content-type",
    "content-length",
    "x-content-type-options",
    "referrer-policy",
    "x-frame-options",
)


def routers_headers(response: httpx.Response) -> dict[str, str | None]:
    return {h: response.headers.get(h) for h in ROUTERS_HEADERS}


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e[0])
@pytest.mark.parametrize("stale", [None, 'W/"from-before-a-write"'], ids=["no tag", "stale tag"])
async def test_a_read_without_the_tag_gets_the_routers_body_before_routing(http, endpoint, stale):
    token = await new_token(http, "viewer")
    url, params = endpoint
    headers = {**bearer(token), **({"If-None-Match": stale} if stale else {})}
    by_router = await first_tag(http, endpoint, bearer(token))  # noted with its body
    before = await shared_before_routing(http)

    shared = await http.get(url, params=params, headers=headers)

    assert shared.status_code == 200
    assert shared.content == by_router.content
    assert routers_headers(shared) == routers_headers(by_router)
    assert shared.headers["x-request-id"] != by_router.headers["x-request-id"]
    assert await shared_before_routing(http) == before + 1


async def test_after_a_write_in_the_subtree_the_body_is_computed_again_then_shared(http):
    first = await first_tag(http, PROGRESS)
    await counts(http, "K1", {DAY: 11})
    before = await shared_before_routing(http)

    fresh = await first_tag(http, PROGRESS)
    assert fresh.json()["day"]["recordings"] == 11
    assert fresh.headers["etag"] != first.headers["etag"]
    assert await shared_before_routing(http) == before  # from the router

    again = await first_tag(http, PROGRESS)
    assert again.content == fresh.content
    assert await shared_before_routing(http) == before + 1


async def test_a_304_by_the_router_keeps_the_body_noted_under_its_tag(http):
    url, params = PROGRESS
    by_router = await first_tag(http, PROGRESS)
    tag = by_router.headers["etag"]
    for _ in range(2):
        assert (await revalidate(http, PROGRESS, tag)).status_code == 304
    before = await shared_before_routing(http)

    shared = await http.get(url, params=params, headers=ADMIN)

    assert shared.content == by_router.content
    assert await shared_before_routing(http) == before + 1


async def test_a_write_in_the_subtree_is_in_the_next_revalidation(http):
    tag = (await first_tag(http, PROGRESS)).headers["etag"]
    assert (await revalidate(http, PROGRESS, tag)).status_code == 304

    await counts(http, "K1", {DAY: 7})

    fresh = await revalidate(http, PROGRESS, tag)
    assert fresh.status_code == 200
    assert fresh.json()["day"]["recordings"] == 7
    assert fresh.headers["etag"] != tag


async def test_a_write_in_a_sibling_leaves_the_304_before_routing(http):
    tag = (await first_tag(http, PROGRESS)).headers["etag"]
    await revalidate(http, PROGRESS, tag)
    await counts(http, "K2", {DAY: 3})
    before = await answered_before_routing(http)

    assert (await revalidate(http, PROGRESS, tag)).status_code == 304
    assert await answered_before_routing(http) == before + 1


async def test_a_revoked_token_gets_401_not_a_304(http):
    created = await http.post("/api/v1/tokens", json={"role": "viewer"}, headers=ADMIN)
    token, token_id = created.json()["token"], created.json()["id"]
    tag = (await first_tag(http, PROGRESS, bearer(token))).headers["etag"]
    assert (await revalidate(http, PROGRESS, tag, bearer(token))).status_code == 304

    assert (await http.delete(f"/api/v1/tokens/{token_id}", headers=ADMIN)).status_code == 204

    refused = await revalidate(http, PROGRESS, tag, bearer(token))
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer rekam_unknown"}]
)
async def test_without_a_valid_token_a_noted_tag_still_gets_401(http, headers):
    tag = (await first_tag(http, PROGRESS)).headers["etag"]
    await revalidate(http, PROGRESS, tag)

    assert (await revalidate(http, PROGRESS, tag, headers)).status_code == 401


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer rekam_unknown"}]
)
async def test_without_a_valid_token_a_noted_body_is_not_shared(http, headers):
    url, params = PROGRESS
    await first_tag(http, PROGRESS)
    before = await shared_before_routing(http)

    refused = await http.get(url, params=params, headers=headers)

    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    assert await shared_before_routing(http) == before


async def test_a_revoked_token_gets_401_not_a_shared_body(http):
    url, params = PROGRESS
    created = await http.post("/api/v1/tokens", json={"role": "viewer"}, headers=ADMIN)
    token, token_id = created.json()["token"], created.json()["id"]
    await first_tag(http, PROGRESS, bearer(token))
    assert (await http.delete(f"/api/v1/tokens/{token_id}", headers=ADMIN)).status_code == 204

    refused = await http.get(url, params=params, headers=bearer(token))

    assert refused.status_code == 401


async def test_a_refused_read_is_never_noted(http):
    url = "/api/v1/progress/73.71.01"
    for _ in range(2):
        response = await http.get(
            url, params={"as_of": "2019-02-30"}, headers={**ADMIN, "If-None-Match": "*"}
        )
        assert response.status_code == 422


async def test_the_rate_limit_holds_for_304s_before_routing(http):
    token = await new_token(http, "viewer")
    tag = (await first_tag(http, PROGRESS, bearer(token))).headers["etag"]
    statuses = [
        (await revalidate(http, PROGRESS, tag, bearer(token))).status_code for _ in range(120)
    ]
    # One hit went to the first read: the limit (120 a minute) ends the run of 304s.
    assert statuses == [304] * 119 + [429]


async def test_the_rate_limit_holds_for_bodies_shared_before_routing(http):
    url, params = PROGRESS
    token = await new_token(http, "viewer")
    statuses = [
        (await http.get(url, params=params, headers=bearer(token))).status_code for _ in range(121)
    ]
    assert statuses == [200] * 120 + [429]


def test_noted_bodies_are_bounded_in_bytes(monkeypatch):
    monkeypatch.setattr("app.revalidation.MAX_NOTED_BYTES", 250)
    notes = Notes()
    body = ([(b"content-type", b"application/json")], b"x" * 100)
    scopes = [{"path": f"/api/v1/progress/73.{n}", "query_string": b""} for n in range(3)]
    for scope in scopes[:2]:
        notes.note(scope, Decided("73", 5, 'W/"t"'), body)
    assert all(notes.get(scope) for scope in scopes[:2])
    notes.note(scopes[0], Decided("73", 6, 'W/"u"'), body)  # replaces its own bytes
    assert all(notes.get(scope) for scope in scopes[:2])

    notes.note(scopes[2], Decided("73", 5, 'W/"t"'), body)  # 300 bytes: the notes start again

    assert [notes.get(scope) is not None for scope in scopes] == [False, False, True]


def test_a_304_keeps_the_body_of_its_tag_and_a_new_tag_drops_it():
    notes = Notes()
    scope = {"path": "/api/v1/progress/73", "query_string": b""}
    body = ([], b"{}")
    notes.note(scope, Decided("73", 5, 'W/"t"'), body)
    notes.note(scope, Decided("73", 5, 'W/"t"'))  # the router's 304
    assert notes.get(scope).answered == body
    notes.note(scope, Decided("73", 6, 'W/"u"'))  # a 304 under a tag whose 200 was not seen
    assert notes.get(scope).answered is None


def test_a_note_lasts_until_the_quarter_hour_ends(monkeypatch):
    notes = Notes()
    scope = {"path": "/api/v1/progress/73", "query_string": b""}
    start = 1_800_000_000 // QUARTER_HOUR * QUARTER_HOUR
    monkeypatch.setattr("app.revalidation.time.time", lambda: start + 1)
    notes.note(scope, Decided("73", 5, 'W/"t"'))
    monkeypatch.setattr("app.revalidation.time.time", lambda: start + QUARTER_HOUR - 1)
    assert notes.get(scope) is not None
    monkeypatch.setattr("app.revalidation.time.time", lambda: start + QUARTER_HOUR)
    assert notes.get(scope) is None


async def test_revalidations_arriving_together_share_one_statement_and_each_gets_its_own_answer(
    live, http
):
    """Checks decides every pair that arrived in the same turn of the event loop with one
    statement; each pair's row is what app/auth.py and app/etags.py would read for it alone."""
    live_token = await new_token(http, "viewer")
    created = await http.post("/api/v1/tokens", json={"role": "viewer"}, headers=ADMIN)
    revoked = created.json()["token"]
    assert (await http.delete(f"/api/v1/tokens/{created.json()['id']}", headers=ADMIN)).is_success
    asked = [
        (digest, region)
        for digest in (secret_hash(live_token), secret_hash(revoked), None, b"no such token")
        for region in ("73.71.01", "73.71.02", "73", "99.99")
    ] * 2
    engine = create_async_engine(live.database_url)
    try:
        checks = Checks(settings_for(live.database_url))
        before = batches_decided()
        rows = await asyncio.gather(*(checks.check(engine, pair) for pair in asked))
        assert batches_decided() == before + 1

        async with engine.connect() as connection:
            for (digest, region), row in zip(asked, rows, strict=True):
                token = (
                    await connection.execute(
                        text(
                            "SELECT id, role FROM tokens WHERE secret_hash = :digest"
                            " AND revoked_at IS NULL"
                        ),
                        {"digest": digest},
                    )
                ).one_or_none()
                assert (row["token_id"], row["role"]) == (tuple(token) if token else (None, None))
                async with AsyncSession(connection) as session:
                    try:
                        version = await region_version(session, region)
                    except NotFound:
                        version = None
                assert row["version"] == version
    finally:
        await engine.dispose()


def batches_decided() -> float:
    return REGISTRY.get_sample_value("rekam_revalidation_batch_size_count") or 0.0


async def test_concurrent_revalidations_each_get_the_routers_answer(http):
    """Many revalidations at once, of pages with and without changes, by live, revoked and
    unknown tokens: every one answered as if alone."""
    token = await new_token(http, "viewer")
    created = await http.post("/api/v1/tokens", json={"role": "viewer"}, headers=ADMIN)
    revoked = created.json()["token"]
    pages = [PROGRESS, ("/api/v1/progress/73.71.02", {"as_of": DAY})]
    tags = {}
    for page in pages:
        tags[page[0]] = (await first_tag(http, page, bearer(token))).headers["etag"]
        await revalidate(http, page, tags[page[0]], bearer(token))  # noted
        await revalidate(http, page, tags[page[0]], bearer(revoked))  # noted for that one too
    assert (await http.delete(f"/api/v1/tokens/{created.json()['id']}", headers=ADMIN)).is_success
    await counts(http, "K2", {DAY: 4})  # 73.71.02 changed; 73.71.01 did not

    asked = [
        (page, headers)
        for page in pages
        for headers in (bearer(token), bearer(revoked), bearer("rekam_unknown"))
    ] * 2  # (the failed authentications stay well within the per-address limit)
    answers = await asyncio.gather(
        *(revalidate(http, page, tags[page[0]], headers) for page, headers in asked)
    )
    expected = {
        (PROGRESS[0], "live"): 304,
        (pages[1][0], "live"): 200,
    }
    for (page, headers), answer in zip(asked, answers, strict=True):
        who = "live" if headers == bearer(token) else "refused"
        assert answer.status_code == expected.get((page[0], who), 401), (page, who)
