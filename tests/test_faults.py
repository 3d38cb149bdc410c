"""Fault injection: every acknowledged count survives database faults, outages answer 503.

A real service (uvicorn on 127.0.0.1) runs over a private PostgreSQL cluster that the test
starts itself (tests/pgcluster.py), under a steady load of PUTs and small batches with unique
office/date keys. While the load runs the database is hit four ways: every service
connection terminated, a fast restart, an immediate (crash) restart, and a 10 s outage. Each
response is logged as acknowledged (200/201), rejected (503, with Retry-After) or unknown
(no response: a dropped connection or a timeout). Anything but acknowledged or rejected fails
the test: above all a 500, but also a dropped connection, which the contract forbids too.
Then every acknowledged count must be in the database with its history and in every tally
and progress figure; a rejected or unknown write may have committed, but then entirely.

Also: the service starts while the database is down and becomes ready when it comes up; and
SIGTERM lets the requests in flight finish before the process exits with code 0.
"""

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from app.config import normalise_database_url
from app.migrate import upgrade
from tests.conftest import ADMIN, ADMIN_TOKEN, ROOT, drop_database, free_port, new_database
from tests.helpers import assert_tallies_exact, today
from tests.pgcluster import PgCluster, unavailable_reason

REGION = "73.71.01"
OFFICES = ["FLT-A", "FLT-B", "FLT-C", "FLT-D"]
OPENED_ON = "1970-01-01"
WORKERS = 4
BATCH_SIZE = 4
PAUSE = 0.02  # between one worker's requests: a steady load, not a flood
MAX_REQUESTS = 6_000  # bounds on the load, whatever happens
MAX_SECONDS = 120
CLIENT_TIMEOUT = 10
RECOVERY_SECONDS = 5  # writes acknowledged again, and /readyz 200, this soon after a fault
OUTAGE_SECONDS = 10


def plain_url(url: str) -> str:
    """asyncpg's spelling of a database URL."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


# The service


class Service:
    """A Rekam process on 127.0.0.1: uvicorn (as conftest.LiveServer) or `rekam serve`."""

    def __init__(self, database_url: str, log_path: Path, *, serve: bool = False) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        env = {name: value for name, value in os.environ.items() if not name.startswith("REKAM_")}
        env.update(
            REKAM_DATABASE_URL=database_url,
            REKAM_ADMIN_TOKEN=ADMIN_TOKEN,
            REKAM_TIMEZONE="Asia/Makassar",
            REKAM_LOG_REQUESTS="false",
            # The load is one token; the rate limit is not what these tests are about.
            REKAM_RATE_LIMIT_PER_MINUTE="10000000",
        )
        self.env = env
        host_port = ["--host", "127.0.0.1", "--port", str(self.port)]
        if serve:
            # The production entry point (Dockerfile, docker-compose): migrate, then serve.
            self.args = [sys.executable, "-c", "from app.cli import main; main()", "serve"]
            self.args += host_port
        else:
            self.args = [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory"]
            self.args += [*host_port, "--log-level", "warning"]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the service exited at start:\n{self.log()}")
            try:
                if httpx.get(self.base_url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the service did not start:\n{self.log()}")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def assert_log_clean(service: Service) -> None:
    """No traceback: an exception that escaped to the server means a 500 or a dropped
    connection, even if the load happened not to see it."""
    log = service.log()
    assert "Traceback" not in log, log[-6000:]
    assert "Exception in ASGI application" not in log, log[-6000:]


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, (response.status_code, response.text)
    assert int(response.headers["retry-after"]) > 0
    assert "detail" in response.json()


async def readyz(http: httpx.AsyncClient) -> httpx.Response:
    try:
        return await http.get("/readyz")
    except httpx.TransportError as error:
        raise AssertionError(f"/readyz dropped the connection: {error!r}") from error


async def seconds_until_ready(http: httpx.AsyncClient, since: float) -> float:
    """Poll /readyz until 200 (503 with Retry-After meanwhile); seconds from `since`."""
    while (response := await readyz(http)).status_code != 200:
        assert_unavailable(response)
        assert time.monotonic() - since < RECOVERY_SECONDS + 5, "never ready again"
        await asyncio.sleep(0.05)
    return time.monotonic() - since


# The cluster and its databases


@pytest.fixture(scope="module")
def cluster() -> Iterator[PgCluster]:
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(f"no private PostgreSQL cluster: {reason}")
    cluster = PgCluster()
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.cleanup()


@pytest.fixture
def running_cluster(cluster: PgCluster) -> Iterator[PgCluster]:
    """The cluster, running again after the test whatever the test did to it."""
    yield cluster
    if not cluster.is_running():
        cluster.start()


def cluster_database(cluster: PgCluster, name: str) -> str:
    async def create() -> None:
        connection = await asyncpg.connect(cluster.url())
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    asyncio.run(create())
    url = normalise_database_url(cluster.url(name))
    upgrade(url)
    return url


@pytest.fixture
def fault_database(running_cluster: PgCluster) -> str:
    return cluster_database(running_cluster, "rekam_faults")


@pytest.fixture
def cold_database(running_cluster: PgCluster) -> str:
    return cluster_database(running_cluster, "rekam_cold")


async def create_offices(http: httpx.AsyncClient, offices: list[str]) -> None:
    parts = REGION.split(".")
    for i in range(1, len(parts) + 1):
        code = ".".join(parts[:i])
        response = await http.put(
            f"/api/v1/regions/{code}", json={"name": f"Region {code}"}, headers=ADMIN
        )
        assert response.status_code in (200, 201), response.text
    for code in offices:
        response = await http.put(
            f"/api/v1/offices/{code}",
            json={"name": f"Office {code}", "region": REGION, "opened_on": OPENED_ON},
            headers=ADMIN,
        )
        assert response.status_code in (200, 201), response.text


# The load

Key = tuple[str, date]


@dataclass
class Attempt:
    kind: str  # "put" or "batch"
    values: dict[Key, int]
    started: float
    ended: float = 0.0
    status: int | None = None
    outcome: str = ""  # acknowledged, rejected, unknown, bad
    detail: str = ""
    body: Any = None


@dataclass
class Load:
    """Workers writing counts with unique keys, each response classified."""

    http: httpx.AsyncClient
    attempts: list[Attempt] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    next_key: int = 0
    first_day: date = field(default_factory=today)

    def keys(self, n: int) -> dict[Key, int]:
        """n keys never written before, going back a day per round of offices, today in
        Asia/Makassar at the latest; with a value that tells them apart."""
        values = {}
        for _ in range(n):
            i = self.next_key
            self.next_key += 1
            key = (OFFICES[i % len(OFFICES)], self.first_day - timedelta(days=i // len(OFFICES)))
            values[key] = 1 + (i * 7919) % 99_999
        return values

    async def send(self, kind: str) -> None:
        values = self.keys(1 if kind == "put" else BATCH_SIZE)
        attempt = Attempt(kind, values, time.monotonic())
        self.attempts.append(attempt)
        try:
            if kind == "put":
                [((office, day), recordings)] = values.items()
                response = await self.http.put(
                    f"/api/v1/offices/{office}/counts/{day}",
                    json={"recordings": recordings},
                    headers=ADMIN,
                )
            else:
                items = [
                    {"office": office, "date": day.isoformat(), "recordings": recordings}
                    for (office, day), recordings in values.items()
                ]
                response = await self.http.post(
                    "/api/v1/counts", json={"counts": items}, headers=ADMIN
                )
        except httpx.TransportError as error:
            attempt.outcome, attempt.detail = "unknown", repr(error)
        else:
            attempt.status = response.status_code
            attempt.detail = response.text[:300]
            if response.status_code in (200, 201):
                attempt.outcome, attempt.body = "acknowledged", response.json()
            elif response.status_code == 503 and response.headers.get("retry-after", "").isdigit():
                attempt.outcome = "rejected"
            else:
                attempt.outcome = "bad"
        attempt.ended = time.monotonic()

    async def worker(self, number: int) -> None:
        deadline = time.monotonic() + MAX_SECONDS
        turn = number
        while not self.stop.is_set() and time.monotonic() < deadline:
            if len(self.attempts) >= MAX_REQUESTS:
                break
            await self.send("put" if turn % 2 == 0 else "batch")
            turn += 1
            await asyncio.sleep(PAUSE)

    def outcomes(self, outcome: str) -> list[Attempt]:
        return [a for a in self.attempts if a.outcome == outcome]

    async def recovered_after(self, moment: float) -> float:
        """Seconds from `moment` until a write begun after it is acknowledged."""
        deadline = moment + RECOVERY_SECONDS + CLIENT_TIMEOUT
        while time.monotonic() < deadline:
            done = [
                a.ended
                for a in self.attempts
                if a.outcome == "acknowledged" and a.started >= moment
            ]
            if done:
                return min(done) - moment
            await asyncio.sleep(0.05)
        raise AssertionError(f"no write was acknowledged within {deadline - moment:.0f} s")


async def terminate_backends(url: str) -> int:
    """pg_terminate_backend on every backend of the database but this one."""
    connection = await asyncpg.connect(plain_url(url))
    try:
        killed = await connection.fetch(
            """
            SELECT pid, pg_terminate_backend(pid) AS gone FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid()
            """
        )
    finally:
        await connection.close()
    return sum(1 for row in killed if row["gone"])


async def stored_counts(url: str) -> tuple[dict[Key, tuple[int, int]], dict[Key, list[Any]]]:
    connection = await asyncpg.connect(plain_url(url))
    try:
        counts = {
            (row["code"], row["date"]): (row["recordings"], row["version"])
            for row in await connection.fetch(
                "SELECT o.code, c.date, c.recordings, c.version"
                " FROM counts c JOIN offices o ON o.id = c.office_id"
            )
        }
        history: dict[Key, list[Any]] = {}
        for row in await connection.fetch(
            "SELECT o.code, r.date, r.version, r.recordings FROM count_revisions r"
            " JOIN offices o ON o.id = r.office_id ORDER BY o.code, r.date, r.version"
        ):
            history.setdefault((row["code"], row["date"]), []).append(
                (row["version"], row["recordings"])
            )
    finally:
        await connection.close()
    return counts, history


async def assert_every_tally_exact(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            await assert_tallies_exact(connection)
    finally:
        await engine.dispose()


async def test_acknowledged_counts_survive_terminations_restarts_and_an_outage(
    running_cluster: PgCluster, fault_database: str, tmp_path: Path
) -> None:
    service = Service(fault_database, tmp_path / "service.log")
    await asyncio.to_thread(service.start)
    timings: dict[str, float] = {}
    outage_readyz: list[httpx.Response] = []
    try:
        async with (
            httpx.AsyncClient(base_url=service.base_url, timeout=CLIENT_TIMEOUT) as http,
            httpx.AsyncClient(base_url=service.base_url, timeout=CLIENT_TIMEOUT) as probe,
        ):
            await create_offices(http, OFFICES)
            assert (await readyz(probe)).status_code == 200
            load = Load(http)
            workers = [asyncio.create_task(load.worker(n)) for n in range(WORKERS)]
            try:
                await asyncio.sleep(2)
                assert load.outcomes("acknowledged"), "the load never got going"

                # 1. Every service connection terminated under the service's feet, a few
                # times over, so that some die in the middle of a transaction.
                killed = 0
                for _ in range(3):
                    killed += await terminate_backends(fault_database)
                    await asyncio.sleep(0.3)
                assert killed >= 1, "the service held no connection to terminate"
                timings["terminate: writes back after"] = await load.recovered_after(
                    time.monotonic()
                )
                await asyncio.sleep(1)

                # 2 and 3. A fast restart, then a crash (immediate) restart with recovery.
                for mode in ("fast", "immediate"):
                    await asyncio.to_thread(running_cluster.restart, mode)
                    timings[f"restart {mode}: writes back after"] = await load.recovered_after(
                        time.monotonic()
                    )
                    await asyncio.sleep(1)

                # 4. Ten seconds without a database.
                stopped = time.monotonic()
                await asyncio.to_thread(running_cluster.stop, "fast")
                while time.monotonic() < stopped + OUTAGE_SECONDS:
                    outage_readyz.append(await readyz(probe))
                    await asyncio.sleep(0.25)
                await asyncio.to_thread(running_cluster.start)
                back = time.monotonic()
                timings["outage: /readyz 200 after"] = await seconds_until_ready(probe, back)
                timings["outage: writes back after"] = await load.recovered_after(back)
                await asyncio.sleep(1)
            finally:
                load.stop.set()
                await asyncio.gather(*workers)

            # No response was a 500 (or anything but 200, 201 or 503 with Retry-After).
            bad = load.outcomes("bad")
            assert not bad, [(a.kind, a.status, a.detail) for a in bad[:10]]
            # An outage answers 503, it does not drop the connection.
            unknown = load.outcomes("unknown")
            assert not unknown, [(a.kind, a.detail) for a in unknown[:10]]
            assert load.outcomes("rejected"), "no fault was ever felt: the test tested nothing"
            assert outage_readyz
            for response in outage_readyz:
                assert_unavailable(response)
            for what, seconds in timings.items():
                assert seconds <= RECOVERY_SECONDS, (what, seconds, timings)

            # Each key is written once: an acknowledged write created what it was sent.
            for attempt in load.outcomes("acknowledged"):
                if attempt.kind == "put":
                    [recordings] = attempt.values.values()
                    assert attempt.status == 201, attempt
                    assert (attempt.body["recordings"], attempt.body["version"]) == (recordings, 1)
                else:
                    created = {"created": BATCH_SIZE, "updated": 0, "unchanged": 0}
                    assert (attempt.status, attempt.body) == (200, created), attempt

            # Every acknowledged count is stored, with its history; a rejected or unknown
            # write may be stored (its commit may have happened) but then entirely.
            counts, history = await stored_counts(fault_database)
            acknowledged = {
                k: v for a in load.outcomes("acknowledged") for k, v in a.values.items()
            }
            attempted = {k: v for a in load.attempts for k, v in a.values.items()}
            missing = sorted(set(acknowledged) - set(counts))
            assert not missing, f"{len(missing)} acknowledged counts lost, e.g. {missing[:5]}"
            assert set(counts) <= set(attempted)
            for key, (recordings, version) in counts.items():
                assert (recordings, version) == (attempted[key], 1), key
                assert history.get(key) == [(1, attempted[key])], key
            assert set(history) == set(counts)
            for attempt in load.attempts:
                written = [key in counts for key in attempt.values]
                assert all(written) or not any(written), ("a batch half written", attempt)

            # The tallies and the progress the API shows agree with the counts.
            await assert_every_tally_exact(fault_database)
            progress = await http.get("/api/v1/progress/ID", headers=ADMIN)
            assert progress.status_code == 200, progress.text
            assert progress.json()["recorded"] == sum(r for r, _ in counts.values())
            for office in OFFICES:
                response = await http.get(f"/api/v1/offices/{office}/progress", headers=ADMIN)
                assert response.status_code == 200, response.text
                expected = sum(r for (code, _), (r, _) in counts.items() if code == office)
                assert response.json()["total"] == expected

        # The process that served the load before the faults is still the one serving: it
        # recovered by itself, without a restart.
        assert service.running, "the service process exited"
        assert_log_clean(service)
        summary = {outcome: len(load.outcomes(outcome)) for outcome in ("acknowledged", "rejected")}
        print(f"\nfaults: {summary}, counts stored {len(counts)}, killed {killed}")
        print("timings: " + ", ".join(f"{what} {s:.2f} s" for what, s in timings.items()))
    finally:
        service.close()


async def test_service_starts_while_the_database_is_down_and_is_ready_when_it_returns(
    running_cluster: PgCluster, cold_database: str, tmp_path: Path
) -> None:
    await asyncio.to_thread(running_cluster.stop, "fast")
    service = Service(cold_database, tmp_path / "service.log")
    await asyncio.to_thread(service.start)
    try:
        async with httpx.AsyncClient(base_url=service.base_url, timeout=CLIENT_TIMEOUT) as http:
            response = await http.get("/healthz")
            assert (response.status_code, response.json()) == (200, {"status": "ok"})
            assert_unavailable(await readyz(http))
            assert_unavailable(await http.get("/api/v1/meta", headers=ADMIN))
            assert_unavailable(
                await http.put("/api/v1/regions/73", json={"name": "Sulsel"}, headers=ADMIN)
            )
            assert_unavailable(
                await http.put(
                    f"/api/v1/offices/{OFFICES[0]}/counts/{today()}",
                    json={"recordings": 5},
                    headers=ADMIN,
                )
            )

            await asyncio.to_thread(running_cluster.start)
            back = time.monotonic()
            ready_after = await seconds_until_ready(http, back)
            assert ready_after <= RECOVERY_SECONDS

            await create_offices(http, OFFICES[:1])
            put = await http.put(
                f"/api/v1/offices/{OFFICES[0]}/counts/{today()}",
                json={"recordings": 5},
                headers=ADMIN,
            )
            assert put.status_code == 201, put.text
            got = await http.get(f"/api/v1/offices/{OFFICES[0]}/counts/{today()}", headers=ADMIN)
            assert (got.status_code, got.json()["recordings"]) == (200, 5)
        assert service.running
        assert_log_clean(service)
        print(f"\ncold start: /readyz 200 {ready_after:.2f} s after the database came up")
    finally:
        service.close()


# SIGTERM: on the shared test server, so it needs no private cluster.


@pytest.fixture
def sigterm_database(server_url: str) -> Iterator[str]:
    url = new_database(server_url, "sigterm")
    upgrade(url)
    yield url
    drop_database(server_url, url)


@pytest.fixture
async def tables_locked(sigterm_database: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection that will hold the counts and their tallies locked: requests that need
    them wait, so they are surely in flight when the signal comes."""
    connection = await asyncpg.connect(plain_url(sigterm_database))
    try:
        yield connection
    finally:
        await connection.close()


async def waiting_requests(connection: asyncpg.Connection) -> int:
    """Backends waiting for a lock in this database (pg_locks is live; pg_stat_activity
    would show the snapshot taken at the start of the locking transaction)."""
    return int(
        await connection.fetchval(
            "SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
    )


async def test_sigterm_lets_requests_in_flight_finish_and_exits_0(
    sigterm_database: str, tables_locked: asyncpg.Connection, tmp_path: Path
) -> None:
    service = Service(sigterm_database, tmp_path / "service.log", serve=True)
    await asyncio.to_thread(service.start)
    assert service.process is not None
    try:
        offices = [f"SIG-{n}" for n in range(5)]
        async with httpx.AsyncClient(base_url=service.base_url, timeout=60) as http:
            await create_offices(http, offices)
            batch = [
                {"office": office, "date": (today() - timedelta(days=d)).isoformat(),
                 "recordings": 1 + d % 97}
                for office in offices for d in range(1_000)
            ]  # fmt: skip
            requests = {
                "batch of 5000": ("POST", "/api/v1/counts", {"counts": batch}),
                "progress ID": ("GET", "/api/v1/progress/ID?days=366", None),
                "progress 73.71": ("GET", "/api/v1/progress/73.71", None),
                "series by day": (
                    "GET",
                    f"/api/v1/progress/73/series?from={today() - timedelta(days=3000)}",
                    None,
                ),
                "series by month": ("GET", "/api/v1/progress/ID/series?bucket=month", None),
                "office progress": ("GET", f"/api/v1/offices/{offices[0]}/progress", None),
            }

            transaction = tables_locked.transaction()
            await transaction.start()
            await tables_locked.execute(
                "LOCK TABLE counts, region_days, region_months, region_totals"
                " IN ACCESS EXCLUSIVE MODE"
            )
            in_flight = {
                name: asyncio.create_task(http.request(method, path, json=body, headers=ADMIN))
                for name, (method, path, body) in requests.items()
            }
            try:
                deadline = time.monotonic() + 10
                while await waiting_requests(tables_locked) < len(requests):
                    assert time.monotonic() < deadline, "the requests never reached the database"
                    await asyncio.sleep(0.02)

                service.process.send_signal(signal.SIGTERM)
                await asyncio.sleep(1)
                # Still finishing what it had started, and taking nothing new.
                assert service.process.poll() is None
                async with httpx.AsyncClient(base_url=service.base_url, timeout=5) as fresh:
                    with pytest.raises(httpx.ConnectError):
                        await fresh.get("/healthz")
            finally:
                await transaction.rollback()
                # Every request's outcome, even when an assertion above has failed.
                results = await asyncio.gather(*in_flight.values(), return_exceptions=True)

        responses = dict(zip(in_flight, results, strict=True))
        for name, response in responses.items():
            assert isinstance(response, httpx.Response), (name, repr(response))
            assert response.status_code == 200, (name, response.status_code, response.text)
        assert responses["batch of 5000"].json() == {"created": 5000, "updated": 0, "unchanged": 0}
        # The progress read ran before or after the batch's commit, never halfway.
        recorded = responses["progress ID"].json()["recorded"]
        assert recorded in (0, sum(item["recordings"] for item in batch))
        returncode = await asyncio.to_thread(service.process.wait, 30)
        stored = await tables_locked.fetchval("SELECT count(*) FROM counts")
        assert stored == 5000
        assert_log_clean(service)
        assert returncode == 0, f"exit code {returncode}\n{service.log()[-3000:]}"
    finally:
        service.close()
