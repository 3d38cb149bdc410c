"""The crowd: R dashboard readers, each opening a region page (progress, series, children)
and revalidating it every I seconds with If-None-Match, spread over levels as real readers
are (1% nation, 5% province, 30% regency or city, 64% district), while the offices post
their day (one PUT each, spread evenly over a write window). Time is compressed: the real
crowd revalidates every 60 s and posts within two hours; here `interval` and `window` are
shorter, and the rate driven is stated next to every figure (readers * 3 / interval).

    python -m bench.crowd --port P --token T --regions FILE --offices TSV --day D \\
        --readers R --interval I --duration S --connections C

Prints one line "BENCH_JSON {...}"; measure() runs it against `rekam serve --workers N`.
"""

import argparse
import asyncio
import heapq
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.clock import today
from bench.context import Context
from bench.httpclient import Connection, HttpError
from bench.loadgen import percentile
from bench.log import log
from bench.procs import ROOT, Server, cpu_by_pid, cpu_used, free_port, process_tree

LEVELS = [(0, 0.01), (1, 0.05), (2, 0.30), (3, 0.64)]


def page(code: str) -> list[str]:
    return [
        f"/api/v1/progress/{code}",
        f"/api/v1/progress/{code}/series",
        f"/api/v1/regions?parent={code}",
    ]


async def run(
    options: argparse.Namespace, region_codes: list[str], offices: list[list[str]]
) -> dict[str, Any]:
    rng = random.Random(options.seed)
    by_depth: dict[int, list[str]] = {}
    for line in region_codes:
        by_depth.setdefault(0 if line == "ID" else line.count(".") + 1, []).append(line)
    depths = [d for d, _ in LEVELS if by_depth.get(d)]
    weights = [w for d, w in LEVELS if by_depth.get(d)]
    auth = {"Authorization": f"Bearer {options.token}"}
    tags: dict[tuple[int, str], str] = {}
    stats: dict[str, Any] = {"latencies": [], "by_status": {}, "errors": 0, "not_modified": 0}
    chosen = [rng.choice(by_depth[rng.choices(depths, weights)[0]]) for _ in range(options.readers)]
    # The crowd is measured in its steady state: every reader has its page open already (the
    # tags of one opening of each page), as a dashboard left open all afternoon has.
    warm_started = time.perf_counter()
    opened = await open_pages(options.port, auth, sorted(set(chosen)), options.connections)
    warm_seconds = time.perf_counter() - warm_started
    started = time.perf_counter()
    deadline = started + options.duration
    # Readers revalidate spread over one interval, then each every interval.
    queue: list[tuple[float, int, str]] = []
    for reader, code in enumerate(chosen):
        heapq.heappush(queue, (started + rng.random() * options.interval, reader, code))
    # Values drawn afresh each run: a run writing the last run's values would change nothing,
    # and no tag with it.
    values = random.Random()
    write_gap = options.window / max(1, len(offices))
    writes = iter(offices)

    async def get(connection: Connection, reader: int, path: str) -> None:
        headers = dict(auth)
        if (tag := tags.get((reader, path), opened.get(path))) is not None:
            headers["If-None-Match"] = tag
        t0 = time.perf_counter()
        try:
            status, _, head = await connection.timed_with_headers("GET", path, headers)
        except HttpError:
            stats["errors"] += 1
            return
        stats["latencies"].append(time.perf_counter() - t0)
        stats["by_status"][status] = stats["by_status"].get(status, 0) + 1
        if status == 304:
            stats["not_modified"] += 1
        elif status == 200 and "etag" in head:
            tags[(reader, path)] = head["etag"]
        else:
            stats["errors"] += 1

    async def reader_loop() -> None:
        connection = Connection("127.0.0.1", options.port, timeout=30)
        while queue:
            at, reader, code = heapq.heappop(queue)
            if at >= deadline:
                break
            if (wait := at - time.perf_counter()) > 0:
                await asyncio.sleep(wait)
            for path in page(code):
                await get(connection, reader, path)
            heapq.heappush(queue, (at + options.interval, reader, code))
        await connection.close()

    async def writer_loop() -> None:
        connection = Connection("127.0.0.1", options.port, timeout=30)
        for posted, (_, office_code, token) in enumerate(writes):
            at = started + posted * write_gap
            if at >= deadline:
                break
            if (wait := at - time.perf_counter()) > 0:
                await asyncio.sleep(wait)
            body = b'{"recordings":%d}' % values.randint(0, 300)
            try:
                status, _ = await connection.request(
                    "PUT",
                    f"/api/v1/offices/{office_code}/counts/{options.day}",
                    {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                    body,
                )
            except HttpError:
                status = 0
            stats["writes"] = stats.get("writes", 0) + 1
            if status not in (200, 201):
                stats["errors"] += 1
        await connection.close()

    await asyncio.gather(writer_loop(), *(reader_loop() for _ in range(options.connections)))
    elapsed = time.perf_counter() - started
    latencies = sorted(stats.pop("latencies"))
    reads = len(latencies)
    return {
        "readers": options.readers,
        "interval_s": options.interval,
        "driven_rps": options.readers * 3 / options.interval,
        "reads": reads,
        "read_rps": reads / elapsed,
        "writes": stats.get("writes", 0),
        "share_304": stats["not_modified"] / reads if reads else 0.0,
        "errors": stats["errors"],
        "by_status": {str(k): v for k, v in stats["by_status"].items()},
        "p50_ms": percentile(latencies, 50) * 1e3,
        "p99_ms": percentile(latencies, 99) * 1e3,
        "seconds": elapsed,
        "pages_opened": len(opened) // 3,
        "opening_seconds": warm_seconds,
    }


async def open_pages(
    port: int, auth: dict[str, str], codes: list[str], connections: int
) -> dict[str, str]:
    """Each page's tags from one opening of it: path -> ETag."""
    paths = [path for code in codes for path in page(code)]
    opened: dict[str, str] = {}

    async def loop() -> None:
        connection = Connection("127.0.0.1", port, timeout=60)
        while paths:
            path = paths.pop()
            status, _, head = await connection.timed_with_headers("GET", path, auth)
            if status != 200 or "etag" not in head:
                raise HttpError(f"opening {path}: {status}")
            opened[path] = head["etag"]
        await connection.close()

    await asyncio.gather(*(loop() for _ in range(connections)))
    return opened


class ServeServer(Server):
    """`rekam serve --workers N`, as production runs it."""

    def __init__(self, workers: int, port: int, env: dict[str, str], log_path: Path) -> None:
        super().__init__(f"rekam serve --workers {workers}", "", port, env, log_path)
        self.workers = workers

    def spawn(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as out:
            self.process = subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "rekam"),
                    "serve",
                    "--port",
                    str(self.port),
                    "--workers",
                    str(self.workers),
                ],
                cwd=ROOT,
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=out,
            )


def postgres_pids() -> list[int]:
    """Every process named postgres on the machine: the database's share of the CPU (other
    databases on the same server count too, which the report says)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if Path(f"/proc/{entry}/comm").read_text().strip() == "postgres":
                    found.append(int(entry))
            except OSError:
                continue
    return found


async def not_modified_ratio(ctx: Context, server: Server, etag: str) -> dict[str, Any]:
    """A province's 304 against /healthz, each saturated in turn by the run's load client (16
    connections), with the service's CPU per request beside each."""
    seconds = max(1, round(ctx.profile.crowd_ratio_seconds))
    path = "/api/v1/progress/73"
    healthz = await ctx.load.run(server.port, 16, seconds, ["get", "/healthz"], [server])
    not_modified = await ctx.load.run(
        server.port, 16, seconds, ["get", path, ctx.viewer_token, etag], [server]
    )
    return {
        "healthz_rps": healthz["rps"],
        "not_modified_rps": not_modified["rps"],
        "ratio_304_healthz": not_modified["rps"] / healthz["rps"] if healthz["rps"] else 0.0,
        "healthz_cpu_ms": healthz["server_cpu_ms_per_request"],
        "not_modified_cpu_ms": not_modified["server_cpu_ms_per_request"],
        "ratio_errors": healthz["errors"] + not_modified["errors"],
    }


async def measure(ctx: Context) -> dict[str, Any]:
    """The crowd against `rekam serve --workers N` for N in BENCH_CROWD_WORKERS (1,2,4)."""
    workers = [int(n) for n in os.environ.get("BENCH_CROWD_WORKERS", "1,2,4").split(",")]
    p = ctx.profile
    nation = ctx.dataset.nation
    regions_file = ctx.offices_tsv.with_name(f"regions-{p.name}.txt")
    regions_file.write_text("\n".join(r.code for r in nation.regions) + "\n")
    env = dict(ctx.service.env)
    results: dict[str, Any] = {}
    for n in workers:
        server = ServeServer(n, free_port(), env, ctx.offices_tsv.parent / f"logs/serve-{n}.log")
        await server.start("/healthz")
        try:
            auth = {"Authorization": f"Bearer {ctx.viewer_token}"}
            conn = Connection("127.0.0.1", server.port)
            _, _, head = await conn.timed_with_headers("GET", "/api/v1/progress/73", auth)
            await conn.close()
            ratio = await not_modified_ratio(ctx, server, head["etag"])
            pids = process_tree(server.pid)
            before = cpu_by_pid(pids), cpu_by_pid(postgres_pids())
            command = [
                sys.executable,
                "-m",
                "bench.crowd",
                "--port",
                str(server.port),
                "--token",
                ctx.viewer_token,
                "--regions",
                str(regions_file),
                "--offices",
                str(ctx.offices_tsv),
                "--day",
                today().isoformat(),
                "--readers",
                str(p.crowd_readers),
                "--interval",
                str(p.crowd_interval),
                "--duration",
                str(p.crowd_seconds),
                "--window",
                str(p.crowd_window),
                "--connections",
                str(p.crowd_connections),
            ]
            process = await asyncio.create_subprocess_exec(
                *command, cwd=ROOT, stdout=subprocess.PIPE
            )
            stdout, _ = await process.communicate()
            if process.returncode:
                raise RuntimeError(f"bench.crowd exited {process.returncode}")
            line = next(x for x in stdout.decode().splitlines() if x.startswith("BENCH_JSON "))
            crowd = json.loads(line.removeprefix("BENCH_JSON "))
            pids = process_tree(server.pid)
            after = cpu_by_pid(pids), cpu_by_pid(postgres_pids())
            crowd["service_cpu"] = cpu_used(before[0], after[0]) / crowd["seconds"]
            crowd["postgres_cpu"] = cpu_used(before[1], after[1]) / crowd["seconds"]
            crowd |= ratio
            if crowd["errors"]:
                ctx.error(f"crowd, {n} workers: {crowd['errors']} errors {crowd['by_status']}")
            log(f"crowd, {n} workers: {json.dumps(crowd)}")
            results[str(n)] = crowd
        finally:
            server.stop()
    return results


def rows(crowd: dict[str, Any]) -> list[dict[str, Any]]:
    """Per worker count: the crowd held (p99 under 200 ms, no errors) and the 304's ratio."""
    found = []
    for workers, c in crowd.items():
        held = c["p99_ms"] < 200 and not c["errors"] and c["read_rps"] >= 0.95 * c["driven_rps"]
        found.append(
            {
                "measure": f"{c['readers']:,} readers revalidating every {c['interval_s']:g} s "
                f"and {c['writes']:,} office PUTs, `rekam serve --workers {workers}`: "
                f"{c['read_rps']:,.0f} of {c['driven_rps']:,.0f} reads/s driven, "
                f"{c['share_304']:.0%} 304, {c['errors']} errors; CPU service "
                f"{c['service_cpu']:.2f}, PostgreSQL {c['postgres_cpu']:.2f} cores",
                "median": f"{c['p50_ms']:.1f} ms",
                "p99": f"{c['p99_ms']:.1f} ms",
                "baseline": "n/a",
                "ratio": "n/a",
                "goal": "p99 < 200 ms, no errors, all driven",
                "met": held,
            }
        )
        found.append(
            {
                "measure": f"304 of a province's progress, {workers} workers: "
                f"{c['not_modified_rps']:,.0f} req/s, {c['not_modified_cpu_ms']:.2f} ms of "
                "service CPU each",
                "median": "n/a",
                "p99": "n/a",
                "baseline": f"/healthz {c['healthz_rps']:,.0f} req/s, "
                f"{c['healthz_cpu_ms']:.2f} ms CPU each",
                "ratio": f"{c['ratio_304_healthz']:.2f}",
                "goal": "ratio ≥ 0.7",
                "met": c["ratio_304_healthz"] >= 0.7,
            }
        )
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--regions", required=True)
    parser.add_argument("--offices", required=True)
    parser.add_argument("--day", required=True)
    parser.add_argument("--readers", type=int, default=25_000)
    parser.add_argument("--interval", type=float, default=60)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--window", type=float, default=60)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seed", type=int, default=19)
    options = parser.parse_args()
    codes = Path(options.regions).read_text().split()
    offices = [line.split("\t") for line in Path(options.offices).read_text().splitlines()]
    result = asyncio.run(run(options, codes, offices))
    sys.stdout.write("BENCH_JSON " + json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
