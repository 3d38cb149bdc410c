"""Metrics, request logs and request ids, several workers, and a graceful stop."""

import asyncio
import json
import logging
import re
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.conftest import ADMIN, ADMIN_TOKEN, RekamServe, drop_database, new_database
from tests.helpers import bearer, client_with, new_office, new_token, put_count, today

# /metrics


def samples(exposition: str, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include `labels`."""
    total = 0.0
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == name and labels.items() <= sample.labels.items():
                total += sample.value
    return total


def requests_of(exposition: str, route: str, **labels: str) -> float:
    return samples(exposition, "rekam_requests_total", route=route, **labels)


async def scrape(client: httpx.AsyncClient) -> str:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


async def test_metrics_count_a_request_by_route_method_and_status(client):
    before = await scrape(client)

    response = await client.get("/api/v1/regions/ID", headers=ADMIN)
    after = await scrape(client)

    assert response.status_code == 200
    labels = {"route": "/api/v1/regions/{code}", "method": "GET", "status": "200"}
    assert samples(after, "rekam_requests_total", **labels) == (
        samples(before, "rekam_requests_total", **labels) + 1
    )
    latency = {"route": "/api/v1/regions/{code}", "method": "GET"}
    assert samples(after, "rekam_request_duration_seconds_count", **latency) == (
        samples(before, "rekam_request_duration_seconds_count", **latency) + 1
    )


async def test_metrics_name_routes_by_template_not_by_path(client):
    await client.get("/api/v1/regions/73.71.99", headers=ADMIN)
    await client.get("/no/such/path")

    exposition = await scrape(client)

    assert "73.71.99" not in exposition
    assert "/no/such/path" not in exposition
    assert requests_of(exposition, "unmatched", status="404") >= 1


async def test_metrics_describe_every_family(client):
    exposition = await scrape(client)

    families = {family.name: family.type for family in text_string_to_metric_families(exposition)}
    assert families["rekam_requests"] == "counter"
    assert families["rekam_request_duration_seconds"] == "histogram"
    assert families["rekam_counts"] == "counter"
    assert families["rekam_batch_size"] == "histogram"
    assert families["rekam_db_pool_in_use"] == "gauge"


async def test_metrics_count_counts_accepted_and_batch_sizes(client):
    await new_office(client, "OBS-01", "73.71.01")
    before = await scrape(client)

    single = await put_count(client, "OBS-01", today(), 7)
    batch = await client.post(
        "/api/v1/counts",
        json={
            "counts": [
                {"office": "OBS-01", "date": today().isoformat(), "recordings": 8},
                {"office": "OBS-01", "date": "2026-01-01", "recordings": 9},
                {"office": "OBS-01", "date": "2026-01-02", "recordings": 1},
            ]
        },
        headers=ADMIN,
    )
    after = await scrape(client)

    assert (single.status_code, batch.status_code) == (201, 200)
    assert batch.json() == {"created": 2, "updated": 1, "unchanged": 0}

    def rose(name: str, **labels: str) -> float:
        return samples(after, name, **labels) - samples(before, name, **labels)

    assert rose("rekam_counts_total", outcome="created") == 3
    assert rose("rekam_counts_total", outcome="updated") == 1
    assert rose("rekam_batch_size_count") == 1
    assert rose("rekam_batch_size_sum") == 3


# Request log


async def test_a_request_logs_one_json_line_without_token_or_body(
    database_url, engine, connection, caplog
):
    secret_name = "a-region-name-only-the-body-holds"
    async with client_with(database_url, engine, connection, log_requests=True) as client:
        viewer = await new_token(client, "viewer")
        caplog.clear()
        with caplog.at_level(logging.DEBUG):
            read = await client.get(
                "/api/v1/regions/ID", headers={**bearer(viewer), "X-Request-ID": "req-42"}
            )
            written = await client.put(
                "/api/v1/regions/74", json={"name": secret_name}, headers=ADMIN
            )
            refused = await client.get(
                "/api/v1/regions/ID", headers=bearer("rekam_not-a-real-token-at-all")
            )

    assert (read.status_code, written.status_code, refused.status_code) == (200, 201, 401)
    access = [r for r in caplog.records if r.name == "rekam.access"]
    lines = [json.loads(r.getMessage()) for r in access]
    assert len(lines) == 3
    first = lines[0]
    assert set(first) >= {"method", "route", "status", "duration_ms", "token_id", "request_id"}
    assert (first["method"], first["route"], first["status"]) == (
        "GET",
        "/api/v1/regions/{code}",
        200,
    )
    assert isinstance(first["token_id"], int)
    assert first["request_id"] == "req-42"
    assert first["duration_ms"] >= 0
    assert (lines[1]["method"], lines[1]["status"], lines[1]["token_id"]) == ("PUT", 201, None)
    assert lines[2]["status"] == 401
    # Nothing any logger wrote holds a token or a body.
    everything = caplog.text + "".join(r.getMessage() for r in caplog.records)
    for secret in (viewer, ADMIN_TOKEN, "rekam_not-a-real-token-at-all", secret_name):
        assert secret not in everything


async def test_no_log_line_when_request_logs_are_off(database_url, engine, connection, caplog):
    async with client_with(database_url, engine, connection, log_requests=False) as client:
        with caplog.at_level(logging.DEBUG, logger="rekam.access"):
            await client.get("/healthz")

    assert [r for r in caplog.records if r.name == "rekam.access"] == []


# X-Request-ID


async def test_a_request_id_sent_is_echoed(client):
    response = await client.get("/healthz", headers={"X-Request-ID": "abc-123_x.y:z"})

    assert response.headers["x-request-id"] == "abc-123_x.y:z"


async def test_a_request_id_is_made_when_none_is_sent(client):
    first = await client.get("/healthz")
    second = await client.get("/healthz")

    assert re.fullmatch(r"[0-9a-f]{32}", first.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


@pytest.mark.parametrize("sent", ["has spaces in it", "x" * 129, 'quote"d', "ümlaut"])
async def test_a_request_id_that_is_not_a_plain_token_is_replaced(client, sent):
    response = await client.get("/healthz", headers={"X-Request-ID": sent.encode("utf-8")})

    assert response.headers["x-request-id"] != sent
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


async def test_errors_carry_the_request_id_too(client):
    response = await client.get("/api/v1/regions/ID", headers={"X-Request-ID": "err-1"})

    assert response.status_code == 401
    assert response.headers["x-request-id"] == "err-1"


# `rekam serve` as operators run it


@pytest.fixture
def fresh_database(server_url: str) -> Iterator[str]:
    """A migrated database of the test's own, committed for real."""
    from app.migrate import upgrade

    url = new_database(server_url, "obs")
    upgrade(url)
    yield url
    drop_database(server_url, url)


def multiprocess_dir(pid: int) -> Path | None:
    """The metrics directory a worker was started with, from its environment."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    for entry in environ:
        name, _, value = entry.partition(b"=")
        if name == b"PROMETHEUS_MULTIPROC_DIR":
            return Path(value.decode())
    return None


def requests_by_worker(directory: Path, route: str) -> dict[int, float]:
    """Requests to a route that each worker counted, read from its own samples file."""
    counted: dict[int, float] = {}
    for path in directory.glob("counter_*.db"):
        pid = int(path.stem.split("_")[1])
        for key, value, *_ in MmapedDict.read_all_values_from_file(str(path)):
            _, name, labels, *_ = json.loads(key)
            if name == "rekam_requests_total" and labels.get("route") == route:
                counted[pid] = counted.get(pid, 0) + value
    return counted


def test_serve_with_two_workers_sums_metrics_over_both(fresh_database):
    server = RekamServe(fresh_database, "--workers", "2")
    try:
        directories = {multiprocess_dir(pid) for pid in server.children()} - {None}
        assert len(directories) == 1, "the workers must share one metrics directory"
        (directory,) = directories
        assert directory is not None

        made = 0
        by_worker: dict[int, float] = {}
        # Connections go to whichever worker accepts first: ask until both have answered.
        with ThreadPoolExecutor(max_workers=4) as pool:
            while made < 400 and (made < 20 or len(by_worker) < 2):
                statuses = list(
                    pool.map(
                        lambda _: httpx.get(server.base_url + "/readyz", timeout=10).status_code,
                        range(20),
                    )
                )
                assert statuses == [200] * 20
                made += 20
                by_worker = requests_by_worker(directory, "/readyz")

        # A request is counted just after its response is sent: let the last ones land.
        deadline = time.monotonic() + 5
        while sum(by_worker.values()) < made and time.monotonic() < deadline:
            time.sleep(0.05)
            by_worker = requests_by_worker(directory, "/readyz")
        exposition = httpx.get(server.base_url + "/metrics", timeout=10).text
        assert len(by_worker) == 2, f"one worker answered all {made} requests"
        assert sum(by_worker.values()) == made
        assert requests_of(exposition, "/readyz", method="GET", status="200") == made
    finally:
        server.stop()


async def test_sigterm_lets_a_request_in_flight_finish(fresh_database):
    server = RekamServe(fresh_database)
    holder = create_async_engine(fresh_database)
    try:
        async with httpx.AsyncClient(base_url=server.base_url, headers=ADMIN) as client:
            for region in ("73", "73.71", "73.71.01"):
                await client.put(f"/api/v1/regions/{region}", json={"name": region})
            created = await client.put(
                "/api/v1/offices/SIG-01", json={"name": "SIG-01", "region": "73.71.01"}
            )
            assert created.status_code == 201
        async with holder.connect() as connection:
            # Hold the office's row so the count write waits on it: a request that is
            # certainly in flight when the signal arrives.
            transaction = await connection.begin()
            await connection.execute(text("SELECT 1 FROM offices WHERE code = 'SIG-01' FOR UPDATE"))
            write = asyncio.create_task(
                asyncio.to_thread(
                    httpx.put,
                    f"{server.base_url}/api/v1/offices/SIG-01/counts/{today()}",
                    json={"recordings": 5},
                    headers=ADMIN,
                    timeout=30,
                )
            )
            await wait_for_lock_waiter(holder)

            server.process.send_signal(signal.SIGTERM)
            await asyncio.sleep(1)
            still_serving = server.process.poll() is None
            await transaction.rollback()
            response = await asyncio.wait_for(write, timeout=30)

        assert still_serving, "the server quit with a request in flight"
        assert response.status_code == 201
        assert response.json()["recordings"] == 5
        # uvicorn finishes its shutdown, then ends by the signal it was sent.
        assert await asyncio.to_thread(server.process.wait, 30) in (0, -signal.SIGTERM)
    finally:
        server.stop()
        await holder.dispose()


async def wait_for_lock_waiter(engine: AsyncEngine) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        # A fresh transaction each time: pg_stat_activity is a snapshot per transaction.
        async with engine.connect() as connection:
            waiting = await connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
        if waiting:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the count write never reached the database")
