"""Read latency, one request at a time: progress of the nation, a province, a city and a
district, and the nation's series (five years by month, one year by day); naive-progress at
the nation beside them."""

import json
import time
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any

from bench import report
from bench.clock import today
from bench.context import Context
from bench.httpclient import Connection
from bench.log import log
from bench.settings import Profile


def read_paths(as_of: date) -> list[tuple[str, str]]:
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


async def budgeted(p: Profile, call: Callable[..., Awaitable[None]], *args: Any) -> None:
    """At most latency_calls calls, and no more than latency_budget seconds of them (at
    least 10), so that a slow endpoint cannot stretch the run past its budget."""
    deadline = time.perf_counter() + p.latency_budget
    for i in range(p.latency_calls):
        if i >= 10 and time.perf_counter() > deadline:
            break
        await call(*args)


async def measure(ctx: Context) -> dict[str, Any]:
    """Latency of each read, one request at a time; naive-progress at the nation in every
    round, right after the service's."""
    p = ctx.profile
    as_of = today()
    paths = read_paths(as_of)
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
            await budgeted(p, call, name, path, True)
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


def rows(progress: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per read; the nation's against naive-progress's."""
    med, p99, ms = report.median, report.percentile, report.ms
    table = []
    naive = progress["seconds"]["naive-progress ID"]
    for name, values in progress["seconds"].items():
        if name == "naive-progress ID":
            continue
        m, q = med(values), p99(values, 99)
        met = None if m is None or q is None else m <= 0.025 and q <= 0.1
        baseline, ratio, goal = "", "", "median ≤ 25 ms, p99 ≤ 100 ms"
        if name == "progress ID" and naive and m:
            speedup = med(naive) / m  # type: ignore[operator]
            baseline = f"naive-progress {ms(med(naive))} (p99 {ms(p99(naive, 99))}, n={len(naive)})"
            ratio = f"{speedup:,.1f}x faster"
            goal += ", ≥ 20x faster than naive"
            met = met and speedup >= 20
        measure = f"{name}: latency (n={len(values)}, one at a time)"
        if name == "progress ID" and progress.get("nation_reporting"):
            day = progress["nation_reporting"]
            measure += (
                f"; {day['reported']:,} of {day['expected']:,} offices had reported for the day"
            )
        table.append(
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
    return table
