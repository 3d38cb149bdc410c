"""`make bench` and `make bench-smoke`: Rekam against its baselines, side by side, in one run.

    python -m bench.run            the full benchmark: results in bench/RESULTS.md and
                                   bench/results.json
    python -m bench.run --smoke    a tiny version for CI: same steps, a few seconds of load;
                                   results in bench/.data/smoke/; exits non-zero on any error

Speed is reported, never asserted. Errors fail the run: a non-2xx answer, a failed spot
check, a read-your-writes violation, a process that dies.
"""

import argparse
import asyncio
import hashlib
import json
import os
import platform
import random
import secrets
import shutil
import sys
import time
import traceback
from dataclasses import replace
from datetime import date, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

import asyncpg

from bench import report
from bench.clock import avoid_midnight, today, window_dates
from bench.context import Context
from bench.dataset import (
    SMOKE,
    Nation,
    Scale,
    build_nation,
    compare_databases,
    day_values,
    drop_database,
    ensure_dataset,
    load_fresh,
    prepare_reference,
    write_meta,
)
from bench.httpclient import Connection
from bench.load import Load, ensure_wrk, summary
from bench.log import BenchError, log
from bench.procs import ROOT, Server, free_port, memory_kib, process_tree
from bench.ryw import Ledger, build_checks, run_checker
from bench.settings import (
    DATA,
    DEFAULT_SERVER,
    EDIT_WINDOW_DAYS,
    FULL_PROFILE,
    SMOKE_PROFILE,
    Profile,
    service_environment,
)


async def post_days(port: int, admin_token: str, nation: Nation, days: list[date]) -> None:
    """Each day's generated counts, one batch per day, through POST /api/v1/counts."""
    rates = nation.office_rates()
    connection = Connection("127.0.0.1", port, timeout=600)
    headers = {"Authorization": f"Bearer {admin_token}", "Content-Type": "application/json"}
    try:
        for day in days:
            values = day_values(nation, rates, day)
            items = [
                {"office": o.code, "date": day.isoformat(), "recordings": int(v)}
                for o, v in zip(nation.offices, values, strict=True)
            ]
            body = json.dumps({"counts": items}).encode()
            status, answer = await connection.request("POST", "/api/v1/counts", headers, body)
            if status != 200:
                raise BenchError(f"POST of {day}'s counts failed: {status} {answer[:300]!r}")
    finally:
        await connection.close()


async def vacuum(url: str) -> float:
    """VACUUM ANALYZE a reused data set before measuring. Earlier runs' writes left dead rows
    behind (the summaries' hottest rows are rewritten by every write), which autovacuum
    would clear between runs; this server may run without it (see the settings in
    RESULTS.md), and every run should start from the state a maintained database is in."""
    started = time.perf_counter()
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def top_up(ctx: Context) -> tuple[int, float]:
    """Counts for the days since the data set was made, written through the service's own
    batch endpoint (so the summaries are the service's), then copied to the twin tables."""
    dataset = ctx.dataset
    last = today() - timedelta(days=1)
    count = (last - dataset.last_day).days
    days = [dataset.last_day + timedelta(days=i + 1) for i in range(count)]
    if not days:
        return 0, 0.0
    log(f"topping up {len(days)} day(s) through POST /api/v1/counts")
    started = time.perf_counter()
    await post_days(ctx.service.port, ctx.admin_token, dataset.nation, days)
    conn = await asyncpg.connect(dataset.url)
    try:
        await conn.execute(
            "INSERT INTO bench_counts SELECT * FROM counts WHERE date BETWEEN $1 AND $2"
            " ON CONFLICT (office_id, date) DO UPDATE SET recordings = excluded.recordings",
            days[0],
            days[-1],
        )
        meta = json.loads(await conn.fetchval("SELECT value FROM bench_meta WHERE key = 'dataset'"))
    finally:
        await conn.close()
    meta["last_day"] = days[-1].isoformat()
    await write_meta(dataset.url, meta)
    dataset.last_day = days[-1]
    return len(days), time.perf_counter() - started


async def verify_loader(
    server_url: str, database: str, scale: Scale, seed: int, env: dict[str, str]
) -> list[str]:
    """The loader's summaries equal the service's: the same nation is loaded by the bulk
    loader into one database and written day by day through the service's batch endpoint
    into another, and every count, revision, summary row and figure is compared."""
    nation = build_nation(scale, seed)
    loaded = await load_fresh(server_url, f"{database}_loader", nation, today(), log)
    reference = await prepare_reference(server_url, f"{database}_service", loaded)
    token = "bench-admin-" + secrets.token_urlsafe(24)
    service = Server(
        "reference service",
        "app.main:create_app",
        free_port(),
        service_environment(env, reference, token, nation),
        DATA / "logs" / "reference-service.log",
    )
    try:
        await service.start("/healthz")
        days = [loaded.first_day + timedelta(days=i) for i in range(scale.days)]
        await post_days(service.port, token, nation, days)
    finally:
        service.stop()
    found = await compare_databases(loaded.url, reference)
    for name in (f"{database}_loader", f"{database}_service"):
        await drop_database(server_url, name)
    lines = [f"{table}: {verdict}" for table, verdict in found.items()]
    log("loader check: " + "; ".join(lines))
    if any("DIFFERENT" in line for line in lines):
        raise BenchError("the loader's summaries differ from the service's: " + "; ".join(lines))
    return lines


async def spot_check(ctx: Context, label: str) -> list[str]:
    """The service's progress (recorded, eligible, day, window) equals naive-progress's
    answer, for the nation, a province, a city and a district."""
    as_of = today()
    lines = []
    service = Connection("127.0.0.1", ctx.service.port)
    naive = Connection("127.0.0.1", ctx.baselines.port)
    for code in ("ID", "73", "73.71", "73.71.01"):
        status, body = await service.request(
            "GET", f"/api/v1/progress/{code}?as_of={as_of}&days=7", ctx.viewer
        )
        if status != 200:
            ctx.error(f"spot check {label}: progress {code} answered {status}: {body[:300]!r}")
            continue
        got = json.loads(body)
        mine = {
            "recorded": got["recorded"],
            "eligible": got["eligible"],
            "day": got["day"]["recordings"],
            "window": got["window"]["recordings"],
        }
        status, body = await naive.request("GET", f"/naive-progress/{code}?as_of={as_of}&days=7")
        if status != 200:
            ctx.error(f"spot check {label}: naive {code} answered {status}: {body[:300]!r}")
            continue
        theirs = {k: v for k, v in json.loads(body).items() if k in mine}
        if mine == theirs:
            lines.append(f"{code}: {mine}")
        else:
            ctx.error(f"spot check {label} {code}: service {mine} != naive {theirs}")
    await service.close()
    await naive.close()
    log(f"spot check {label}: " + ("; ".join(lines) or "no region matched"))
    return lines


async def put_phase(ctx: Context) -> dict[str, Any]:
    """PUT one count (service) against raw-put, with hello and the service's /healthz as
    the framework's ceilings: a warm-up, then rounds interleaved, at each connection count."""
    p = ctx.profile
    tsv = str(ctx.offices_tsv)
    targets = [
        ("service", ctx.service, ["put-service", tsv]),
        ("raw-put", ctx.baselines, ["put-raw", tsv]),
        ("hello", ctx.baselines, ["get", "/hello"]),
        ("healthz", ctx.service, ["get", "/healthz"]),
    ]
    found: dict[str, Any] = {}
    for connections in p.connections:
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name, _, _ in targets}

        async def burst(
            name: str, server: Server, args: list[str], seconds: int, connections: int = connections
        ) -> Any:
            if args[0].startswith("put"):
                await avoid_midnight(seconds)
                args = args + [d.isoformat() for d in window_dates(today())]
            result = await ctx.load.run(server.port, connections, seconds, args, [server])
            ctx.check_load(f"{name} c={connections}", result)
            return result

        for name, server, args in targets:
            await burst(name, server, args, p.warmup_seconds)
        for r in range(p.rounds):
            order = targets if r % 2 == 0 else targets[1::-1] + targets[:1:-1]
            for name, server, args in order:
                result = await burst(name, server, args, p.round_seconds)
                runs[name].append(summary(result))
                log(
                    f"c={connections} round {r + 1} {name}: {result['rps']:.0f} req/s, "
                    f"p50 {result['latency_us']['p50'] / 1000:.1f} ms, "
                    f"p99 {result['latency_us']['p99'] / 1000:.1f} ms"
                )
        found[str(connections)] = runs
    return found


async def batch_phase(ctx: Context) -> dict[str, Any]:
    """POST a national day of counts: the service's batch endpoint against raw-batch,
    alternating which goes first. Every round changes every count."""
    p = ctx.profile
    day = today() - timedelta(days=10)
    offices = ctx.dataset.nation.offices

    def body(round_number: int) -> bytes:
        return json.dumps(
            {
                "counts": [
                    {
                        "office": o.code,
                        "date": day.isoformat(),
                        "recordings": (o.id * 7 + round_number) % 250,
                    }
                    for o in offices
                ]
            }
        ).encode()

    service = Connection("127.0.0.1", ctx.service.port, timeout=300)
    raw = Connection("127.0.0.1", ctx.baselines.port, timeout=300)
    admin = {"Authorization": f"Bearer {ctx.admin_token}", "Content-Type": "application/json"}
    seconds: dict[str, list[float]] = {"service": [], "raw-batch": []}
    outcomes: list[dict[str, int]] = []
    for r in range(p.batch_warmups + p.batch_rounds):
        payload = body(r)
        measured = r >= p.batch_warmups

        async def post_service(payload: bytes = payload, measured: bool = measured) -> None:
            status, answer, took = await service.timed("POST", "/api/v1/counts", admin, payload)
            if status != 200:
                ctx.error(f"batch: service answered {status}: {answer[:300]!r}")
                return
            summary = json.loads(answer)
            if measured:
                seconds["service"].append(took)
                outcomes.append(summary)
                if summary["updated"] != len(offices):
                    ctx.error(f"batch: expected {len(offices)} updated, got {summary}")

        async def post_raw(payload: bytes = payload, measured: bool = measured) -> None:
            headers = {"Content-Type": "application/json"}
            status, answer, took = await raw.timed("POST", "/raw-batch", headers, payload)
            if status != 200:
                ctx.error(f"batch: raw-batch answered {status}: {answer[:300]!r}")
            elif measured:
                seconds["raw-batch"].append(took)

        for step in (post_service, post_raw) if r % 2 == 0 else (post_raw, post_service):
            await step()
        if measured:
            log(
                f"batch round {r - p.batch_warmups + 1}: service "
                f"{seconds['service'][-1]:.3f} s, raw-batch {seconds['raw-batch'][-1]:.3f} s"
            )
    await service.close()
    await raw.close()
    ctx.service.check_alive()
    return {
        "date": day,
        "items": len(offices),
        "bytes": len(body(0)),
        "seconds": seconds,
        "outcomes": outcomes,
    }


def progress_paths(as_of: date) -> list[tuple[str, str]]:
    five_years = date(as_of.year - 5, as_of.month, 1) + timedelta(days=31)
    five_years = five_years.replace(day=1)
    one_year = as_of - timedelta(days=364)
    return [
        ("progress ID", "/api/v1/progress/ID"),
        ("progress province 73", "/api/v1/progress/73"),
        ("progress city 73.71", "/api/v1/progress/73.71"),
        ("progress district 73.71.01", "/api/v1/progress/73.71.01"),
        (
            "series ID, 5 years by month",
            f"/api/v1/progress/ID/series?from={five_years}&to={as_of}&bucket=month",
        ),
        (
            "series ID, 1 year by day",
            f"/api/v1/progress/ID/series?from={one_year}&to={as_of}&bucket=day",
        ),
    ]


async def progress_phase(ctx: Context) -> dict[str, Any]:
    """Latency of each read, one request at a time; naive-progress at the nation in every
    round, right after the service's."""
    p = ctx.profile
    as_of = today()
    paths = progress_paths(as_of)
    naive_path = f"/naive-progress/ID?as_of={as_of}&days=7"
    service = Connection("127.0.0.1", ctx.service.port)
    naive = Connection("127.0.0.1", ctx.baselines.port, timeout=600)
    seconds: dict[str, list[float]] = {name: [] for name, _ in paths}
    seconds["naive-progress ID"] = []
    sizes: dict[str, int] = {}
    # The nation's latency grows with the share of offices that have a count for the day
    # (bench/LIMITS.md), so the run records that share as the nation's answers gave it.
    reporting: dict[str, int] = {}

    async def call(name: str, path: str, measured: bool) -> None:
        status, body, took = await service.timed("GET", path, ctx.viewer)
        if status != 200:
            ctx.error(f"{name}: {status} {body[:300]!r}")
        elif measured:
            seconds[name].append(took)
            sizes[name] = len(body)
            if name == "progress ID" and not reporting:
                answer = json.loads(body)["reporting"]
                reporting.update({k: answer[k] for k in ("expected", "reported")})

    async def call_naive(measured: bool) -> None:
        status, body, took = await naive.timed("GET", naive_path)
        if status != 200:
            ctx.error(f"naive-progress: {status} {body[:300]!r}")
        elif measured:
            seconds["naive-progress ID"].append(took)

    for name, path in paths:
        for _ in range(p.latency_warmups):
            await call(name, path, False)
    await call_naive(False)
    for r in range(p.latency_rounds):
        for name, path in paths:
            # At most latency_calls, and no more than latency_budget seconds of them (at
            # least 10), so that a slow endpoint cannot stretch the run past its budget.
            deadline = time.perf_counter() + p.latency_budget
            for i in range(p.latency_calls):
                if i >= 10 and time.perf_counter() > deadline:
                    break
                await call(name, path, True)
            if name == "progress ID":
                for _ in range(p.naive_calls):
                    await call_naive(True)
        log(
            f"progress round {r + 1}: "
            + ", ".join(
                f"{name} {report.median(v) * 1000:.1f} ms"  # type: ignore[operator]
                for name, v in seconds.items()
                if v
            )
        )
    await service.close()
    await naive.close()
    ctx.service.check_alive()
    return {
        "paths": dict(paths) | {"naive-progress ID": naive_path},
        "seconds": seconds,
        "bytes": sizes,
        "nation_reporting": reporting,
    }


async def ryw_phase(ctx: Context) -> dict[str, Any]:
    """Read-your-writes while wrk PUTs to every other office."""
    p = ctx.profile
    nation = ctx.dataset.nation
    await avoid_midnight(p.ryw_seconds + 10)
    as_of = today()
    regency = ctx.reserved
    offices = nation.subtree_offices(regency)
    district_office = next(o for o in offices if o.region.count(".") == 2)
    office = offices[0]
    conn = await asyncpg.connect(ctx.dataset.url)
    try:
        ids = [o.id for o in offices]
        dates = window_dates(as_of)
        rows = await conn.fetch(
            "SELECT office_id, date, recordings FROM counts"
            " WHERE office_id = ANY($1::int[]) AND date BETWEEN $2 AND $3",
            ids,
            dates[-1],
            as_of,
        )
        figure_date = await conn.fetchval(
            "SELECT max(date) FROM figures"
            " WHERE region = $1 AND recorded IS NOT NULL AND date <= $2",
            regency,
            as_of,
        )
    finally:
        await conn.close()
    ledger = Ledger({(r["office_id"], r["date"]): r["recordings"] for r in rows})
    checks = build_checks(
        regency,
        district_office.region,
        district_office.id,
        (office.id, office.code),
        ids,
        as_of,
        EDIT_WINDOW_DAYS,
        figure_date,
    )
    load_args = ["put-service", str(ctx.offices_tsv)] + [d.isoformat() for d in dates]
    load = asyncio.create_task(
        ctx.load.run(ctx.service.port, p.ryw_connections, p.ryw_seconds, load_args, [ctx.service])
    )
    await asyncio.sleep(1)  # let the load start
    outcome = await run_checker(
        ctx.service.port,
        [(o.id, o.code, nation.token(o.code)) for o in offices],
        ctx.viewer_token,
        ledger,
        checks,
        dates,
        max(1, p.ryw_seconds - 2),
    )
    background = await load
    ctx.check_load("PUT load during read-your-writes", background)
    if outcome.violations:
        ctx.error(f"read-your-writes: {outcome.violations} violations: {outcome.examples}")
    if outcome.write_errors or outcome.read_errors:
        ctx.error(
            f"read-your-writes: {outcome.write_errors} write and {outcome.read_errors} read "
            f"errors: {outcome.examples}",
        )
    if not outcome.reads or not outcome.writes:
        ctx.error("read-your-writes: the checker neither read nor wrote")
    log(
        f"read-your-writes: {outcome.reads} reads ({outcome.numbers_checked} numbers), "
        f"{outcome.writes} PUTs, {outcome.violations} violations; background "
        f"{background['rps']:.0f} PUT/s"
    )
    return {
        "regency": regency,
        "offices": len(offices),
        "reads": outcome.reads,
        "numbers_checked": outcome.numbers_checked,
        "checker_puts": outcome.writes,
        "violations": outcome.violations,
        "examples": outcome.examples,
        "read_seconds": outcome.read_seconds,
        "background": summary(background),
    }


def find_py_spy() -> str:
    py_spy = shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy")
    if not os.path.exists(py_spy):
        raise BenchError("--profile needs py-spy: .venv/bin/pip install py-spy")
    return py_spy


async def profile_phase(ctx: Context, directory: Path) -> dict[str, str]:
    """py-spy flame graphs of the service under PUT load and under progress reads (after
    the measurements, so sampling costs none of them)."""
    py_spy = find_py_spy()
    os.makedirs(directory, exist_ok=True)
    p = ctx.profile
    found = {}
    tsv = str(ctx.offices_tsv)
    as_of = today()
    jobs = [
        (
            "put-c32",
            32,
            ["put-service", tsv] + [d.isoformat() for d in window_dates(as_of)],
        ),
        ("progress-ID-c1", 1, ["get", "/api/v1/progress/ID", ctx.viewer_token]),
        ("series-day-c1", 1, ["get", progress_paths(as_of)[5][1], ctx.viewer_token]),
    ]
    for label, connections, args in jobs:
        for fmt, suffix in (("flamegraph", "svg"), ("raw", "txt")):
            out = directory / f"{label}.{suffix}"
            spy = await asyncio.create_subprocess_exec(
                py_spy,
                "record",
                "--pid",
                str(ctx.service.pid),
                "--duration",
                str(p.profile_seconds),
                "--rate",
                "250",
                "--format",
                fmt,
                "--output",
                str(out),
                "--nonblocking",
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
            await ctx.load.run(ctx.service.port, connections, p.profile_seconds + 1, args, [])
            _, err = await spy.communicate()
            if spy.returncode != 0:
                raise BenchError(f"py-spy failed: {err.decode()[-500:]}")
            found[f"{label}.{suffix}"] = str(out)
            log(f"profile written: {out}")
    return found


def environment(load: Load, pg: dict[str, str]) -> dict[str, Any]:
    def version(package: str) -> str:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return "-"

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    commit = "unknown"
    try:
        head = (ROOT / ".git" / "HEAD").read_text().strip()
        if head.startswith("ref: "):
            commit = (ROOT / ".git" / head[5:]).read_text().strip()[:12]
        else:
            commit = head[:12]
    except OSError:
        pass
    packages = {
        p: version(p)
        for p in (
            "fastapi",
            "starlette",
            "uvicorn",
            "uvloop",
            "httptools",
            "sqlalchemy",
            "asyncpg",
            "pydantic",
            "numpy",
        )
    }
    summary = {
        "Date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "CPU": f"{os.cpu_count()} x {cpu}",
        "Memory": memory,
        "OS": f"{platform.system()} {platform.release()} ({platform.platform(terse=True)})",
        "Python": platform.python_version(),
        "Packages": ", ".join(f"{k} {v}" for k, v in packages.items()),
        "PostgreSQL": pg.pop("version"),
        "PostgreSQL settings": ", ".join(f"{k}={v}" for k, v in pg.items()),
        "Load client": load.client,
        "Service": "uvicorn, 1 worker, uvloop + httptools, access log off; pool 10 + 5",
        "Commit": commit,
    }
    return {"date": summary["Date"], "summary": summary, "packages": packages}


async def postgres_facts(url: str) -> dict[str, str]:
    conn = await asyncpg.connect(url)
    try:
        facts = {"version": (await conn.fetchval("SHOW server_version")).split()[0]}
        for name in (
            "shared_buffers",
            "work_mem",
            "max_connections",
            "synchronous_commit",
            "max_parallel_workers_per_gather",
            "autovacuum",
        ):
            facts[name] = await conn.fetchval(f"SHOW {name}")
        return facts
    finally:
        await conn.close()


def ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1000:,.1f} ms"


def build_table(results: dict[str, Any]) -> tuple[list[dict[str, Any]], list[Any]]:
    """The rows of RESULTS.md: every measure with its baseline, ratio and goal."""
    rows: list[dict[str, Any]] = []
    context: list[Any] = []
    med, p99 = report.median, report.percentile
    for connections, runs in results.get("put", {}).items():

        def rps(name: str, runs: dict[str, Any] = runs) -> float | None:
            return med([r["rps"] for r in runs[name]])

        def lat(name: str, key: str, runs: dict[str, Any] = runs) -> float | None:
            return med([r["latency_us"][key] / 1e6 for r in runs[name]])

        service, raw = rps("service"), rps("raw-put")
        ratio = service / raw if service and raw else None
        rows.append(
            {
                "measure": f"PUT one count, {connections} connections: req/s",
                "median": f"{service:,.0f} req/s (latency p50 {ms(lat('service', 'p50'))})"
                if service
                else "n/a",
                "p99": f"latency {ms(lat('service', 'p99'))}",
                "baseline": f"raw-put {raw:,.0f} req/s (p50 {ms(lat('raw-put', 'p50'))}, "
                f"p99 {ms(lat('raw-put', 'p99'))})"
                if raw
                else "n/a",
                "ratio": f"{ratio:.2f}" if ratio else "n/a",
                "goal": "ratio ≥ 0.8",
                "met": None if ratio is None else ratio >= 0.8,
            }
        )
        for name, label in (("hello", "hello (framework ceiling)"), ("healthz", "/healthz")):
            context.append(
                (
                    f"{label}, {connections} connections",
                    f"{rps(name):,.0f} req/s, p50 {ms(lat(name, 'p50'))}, "
                    f"p99 {ms(lat(name, 'p99'))}",
                )
            )
        for name in ("service", "raw-put"):
            cpu = med([r["server_cpu_ms_per_request"] for r in runs[name]])
            pg = med([r["postgres_cpu_ms_per_request"] for r in runs[name]])
            client = med([r["client_cpu_ms_per_request"] for r in runs[name]])
            context.append(
                (
                    f"CPU per {'service PUT' if name == 'service' else 'raw-put'}, "
                    f"{connections} connections",
                    f"server process {cpu:.2f} ms, PostgreSQL {pg:.2f} ms, "
                    f"load client {client:.3f} ms",
                )
            )
    batch = results.get("batch")
    if batch:
        s, r = batch["seconds"]["service"], batch["seconds"]["raw-batch"]
        ratio = med(s) / med(r) if s and r else None  # type: ignore[operator]
        rows.append(
            {
                "measure": f"POST a batch of one national day ({batch['items']:,} counts): "
                f"seconds (n={len(s)})",
                "median": f"{med(s):.3f} s" if s else "n/a",
                "p99": f"{p99(s, 99):.3f} s" if s else "n/a",
                "baseline": f"raw-batch {med(r):.3f} s (p99 {p99(r, 99):.3f} s)" if r else "n/a",
                "ratio": f"{ratio:.2f}" if ratio else "n/a",
                "goal": "ratio ≤ 2",
                "met": None if ratio is None else ratio <= 2,
            }
        )
    progress = results.get("progress")
    if progress:
        naive = progress["seconds"]["naive-progress ID"]
        for name, values in progress["seconds"].items():
            if name == "naive-progress ID":
                continue
            m, q = med(values), p99(values, 99)
            met = None if m is None or q is None else m <= 0.025 and q <= 0.1
            baseline, ratio, goal = "", "", "median ≤ 25 ms, p99 ≤ 100 ms"
            if name == "progress ID" and naive and m:
                speedup = med(naive) / m  # type: ignore[operator]
                baseline = (
                    f"naive-progress {ms(med(naive))} (p99 {ms(p99(naive, 99))}, n={len(naive)})"
                )
                ratio = f"{speedup:,.1f}x faster"
                goal += ", ≥ 20x faster than naive"
                met = met and speedup >= 20
            measure = f"{name}: latency (n={len(values)}, one at a time)"
            if name == "progress ID" and progress.get("nation_reporting"):
                day = progress["nation_reporting"]
                measure += (
                    f"; {day['reported']:,} of {day['expected']:,} offices had reported for the day"
                )
            rows.append(
                {
                    "measure": measure,
                    "median": ms(m),
                    "p99": ms(q),
                    "baseline": baseline,
                    "ratio": ratio,
                    "goal": goal,
                    "met": met,
                }
            )
    ryw = results.get("ryw")
    if ryw:
        rows.append(
            {
                "measure": "Read-your-writes under PUT load: violations",
                "median": f"{ryw['violations']} of {ryw['numbers_checked']:,} numbers in "
                f"{ryw['reads']:,} reads ({ryw['checker_puts']:,} checked PUTs)",
                "p99": "",
                "baseline": "",
                "ratio": "",
                "goal": "0",
                "met": ryw["violations"] == 0,
            }
        )
        reads = ryw["read_seconds"]
        context.append(
            (
                "Progress reads during read-your-writes (under "
                f"{ryw['background']['rps']:,.0f} PUT/s at {results['ryw_connections']} "
                "connections)",
                f"p50 {ms(med(reads))}, p99 {ms(p99(reads, 99))}",
            )
        )
    memory = results.get("memory")
    if memory:
        rows.append(
            {
                "measure": "Service peak RSS (VmHWM) over the run",
                "median": f"{memory['service_peak_kib'] / 1024:,.0f} MiB",
                "p99": "",
                "baseline": f"baselines app {memory['baselines_peak_kib'] / 1024:,.0f} MiB",
                "ratio": "",
                "goal": "reported",
                "met": None,
            }
        )
    return rows, context


async def main_async(options: argparse.Namespace) -> int:
    profile = SMOKE_PROFILE if options.smoke else FULL_PROFILE
    if options.rounds:
        profile = replace(profile, rounds=options.rounds)
    results_dir = Path(options.out) if options.out else profile.results
    DATA.mkdir(parents=True, exist_ok=True)
    server_url = options.server or os.environ.get("REKAM_BENCH_SERVER_URL") or DEFAULT_SERVER
    embedded = None
    try:
        conn = await asyncpg.connect(server_url, timeout=5)
        await conn.close()
    except (OSError, asyncpg.PostgresError) as error:
        if not options.smoke:
            raise BenchError(f"no PostgreSQL at {server_url}: {error}") from None
        import pgserver  # type: ignore[import-untyped]

        log(f"no PostgreSQL at {server_url}; starting an embedded one for the smoke run")
        embedded = pgserver.get_server(DATA / "pgdata", cleanup_mode="stop")
        server_url = str(embedded.get_uri())
    pg = await postgres_facts(server_url)
    # Two runs on one database would write into each other's data (a run reloading it
    # while another's service still writes to it): hold a lock for the whole run.
    guard = await asyncpg.connect(server_url)
    key = int.from_bytes(hashlib.sha256(profile.database.encode()).digest()[:7], "big")
    if not await guard.fetchval("SELECT pg_try_advisory_lock($1)", key):
        await guard.close()
        raise BenchError(
            f"another bench run is using {profile.database} on this server; wait for it to end"
        )
    try:
        return await _run(options, profile, results_dir, server_url, pg, embedded)
    finally:
        await guard.close()


async def _run(
    options: argparse.Namespace,
    profile: Profile,
    results_dir: Path,
    server_url: str,
    pg: dict[str, str],
    embedded: Any,
) -> int:
    errors: list[str] = []
    seed = options.seed
    log(f"profile {profile.name}, seed {seed}, server {server_url}")
    loader_checks: list[str] = []
    if options.smoke or options.verify_loader:
        clean_env = {k: v for k, v in os.environ.items() if not k.startswith("REKAM_")}
        loader_checks = await verify_loader(server_url, profile.database, SMOKE, seed, clean_env)
    dataset = await ensure_dataset(
        server_url, profile.database, profile.scale, seed, today(), log, force=options.reload
    )
    nation = dataset.nation
    if options.load_only:
        return 0
    wrk = ensure_wrk(options.client)
    load = Load(wrk, dataset.url)
    reserved = nation.regencies[-1]
    reserved_offices = {o.code for o in nation.subtree_offices(reserved)}
    offices_tsv = DATA / f"offices-{profile.name}.tsv"
    offices_tsv.write_text(
        "".join(
            f"{o.id}\t{o.code}\t{nation.token(o.code)}\n"
            for o in nation.offices
            if o.code not in reserved_offices
        )
    )
    admin_token = "bench-admin-" + secrets.token_urlsafe(24)
    env = {k: v for k, v in os.environ.items() if not k.startswith("REKAM_")}
    service_env = service_environment(env, dataset.url, admin_token, nation)
    logs = DATA / "logs"
    service = Server(
        "service", "app.main:create_app", free_port(), service_env, logs / "service.log"
    )
    baselines = Server(
        "baselines",
        "bench.baselines:create_app",
        free_port(),
        env | {"BENCH_DATABASE_URL": dataset.url},
        logs / "baselines.log",
    )
    ctx = Context(
        profile,
        dataset,
        service,
        baselines,
        load,
        admin_token,
        nation.token("viewer"),
        offices_tsv,
        reserved,
        errors,
    )
    results: dict[str, Any] = {
        "profile": profile.name,
        "seed": seed,
        "ryw_connections": profile.ryw_connections,
    }
    checks = [
        f"Bulk loader = the service's own ingestion of the same counts (smoke scale), {line}"
        for line in loader_checks
    ]
    topped, top_seconds, vacuum_seconds = 0, 0.0, 0.0
    try:
        await service.start("/healthz")
        await baselines.start("/hello")
        log(f"service pid {service.pid} on :{service.port}, baselines on :{baselines.port}")
        topped, top_seconds = await top_up(ctx)
        if dataset.reused:
            vacuum_seconds = await vacuum(dataset.url)
            log(f"VACUUM ANALYZE of the reused data set: {vacuum_seconds:.1f} s")
        checks += [
            f"Spot check before the load: {line}" for line in await spot_check(ctx, "before")
        ]
        results["put"] = await put_phase(ctx)
        results["batch"] = await batch_phase(ctx)
        results["progress"] = await progress_phase(ctx)
        results["ryw"] = await ryw_phase(ctx)
        checks += [
            f"Spot check after every write: {line}" for line in await spot_check(ctx, "after")
        ]
        results["memory"] = {
            "service_peak_kib": max(memory_kib(pid)["VmHWM"] for pid in process_tree(service.pid)),
            "baselines_peak_kib": max(
                memory_kib(pid)["VmHWM"] for pid in process_tree(baselines.pid)
            ),
        }
        if options.profile:
            results["profiles"] = await profile_phase(ctx, Path(options.profile))
    except Exception as error:
        traceback.print_exc()
        errors.append(f"{type(error).__name__}: {error}")
        for server in (service, baselines):
            try:
                server.check_alive()
            except RuntimeError as dead:
                errors.append(str(dead))
    finally:
        service.stop()
        baselines.stop()
        if embedded is not None:
            embedded.cleanup()
    counts_by_level: dict[str, int] = {}
    for region in nation.regions:
        counts_by_level[region.level] = counts_by_level.get(region.level, 0) + 1
    results["environment"] = environment(load, pg)
    results["dataset"] = {
        "seed": seed,
        "scale": profile.scale.describe(),
        "regions": counts_by_level,
        "rows": dataset.rows,
        "first_day": dataset.first_day,
        "last_day": dataset.last_day,
        "reused": dataset.reused,
        "load_seconds": dataset.load_seconds,
        "load_steps": dataset.load_steps,
        "topped_up_days": topped,
        "top_up_seconds": top_seconds,
        "vacuum_seconds": vacuum_seconds,
    }
    results["table"], results["context"] = build_table(results)
    results["checks"] = [
        *checks,
        "Every request answered 2xx." if not errors else f"{len(errors)} error(s): see below.",
    ]
    results["errors"] = errors
    md, js = report.write(results, results_dir)
    print(md.read_text())
    log(f"wrote {md} and {js}")
    if errors:
        log(f"FAILED: {len(errors)} error(s)")
        return 1
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="the tiny CI version")
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--server", help="PostgreSQL server URL (default: 127.0.0.1:5432)")
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--out", help="directory for RESULTS.md and results.json")
    parser.add_argument("--rounds", type=int, help="override the number of load rounds")
    parser.add_argument("--reload", action="store_true", help="regenerate the data set")
    parser.add_argument("--load-only", action="store_true", help="only make the data set")
    parser.add_argument(
        "--verify-loader",
        action="store_true",
        help="check the bulk loader against the service's own ingestion (always in --smoke)",
    )
    parser.add_argument("--profile", help="also record py-spy profiles into this directory")
    options = parser.parse_args()
    random.seed()
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:
        runner = asyncio.run
    try:
        code = runner(main_async(options))
    except BenchError as error:
        log(f"FAILED: {error}")
        code = 1
    sys.exit(code)


if __name__ == "__main__":
    main()
