"""Data quality at national scale: the nation's flags and a province's explain, one request at
a time, and what keeping the outlier verdicts costs the count write.

The write's cost is the service's own SQL sent from bare asyncpg as bare-put sends it: the
office lock and the write statement (app.services.counts.UPSERT or UPSERT_BATCH), then the
outlier verdicts it changed (app.services.outliers.REJUDGE), against the lock and the write
alone; each in a transaction that is rolled back, so every round writes onto the same data
and the verdicts stay right. The commit, the same for both, is left out."""

import json
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg

from bench import report
from bench.baselines import (
    BARE_BATCH,
    BARE_BATCH_PARAMS,
    BARE_LOCK,
    BARE_PUT,
    BARE_PUT_PARAMS,
    rejudge,
)
from bench.clock import today
from bench.context import Context
from bench.httpclient import Connection
from bench.log import log
from bench.progress import budgeted

PROVINCE = "73"
GOAL_SECONDS = 0.1


def read_paths() -> list[tuple[str, str]]:
    return [
        ("quality ID", "/api/v1/quality/ID"),
        (f"explain province {PROVINCE}", f"/api/v1/progress/{PROVINCE}/explain"),
    ]


async def _latencies(ctx: Context) -> tuple[dict[str, list[float]], dict[str, Any]]:
    """Each read one at a time: warm-ups, then rounds of at most latency_calls calls and
    latency_budget seconds."""
    p = ctx.profile
    service = Connection("127.0.0.1", ctx.service.port, timeout=600)
    seconds: dict[str, list[float]] = {name: [] for name, _ in read_paths()}
    facts: dict[str, Any] = {}

    async def call(name: str, path: str, measured: bool) -> None:
        status, body, took = await service.timed("GET", path, ctx.viewer)
        if status != 200:
            ctx.error(f"{name}: {status} {body[:300]!r}")
            return
        if measured:
            seconds[name].append(took)
            if name not in facts:
                answer = json.loads(body)
                facts[name] = (
                    {"total": answer["total"], "bytes": len(body)}
                    if "total" in answer
                    else {"parts": len(answer["parts"]), "bytes": len(body)}
                )

    for name, path in read_paths():
        for _ in range(p.latency_warmups):
            await call(name, path, False)
    for r in range(p.latency_rounds):
        for name, path in read_paths():
            await budgeted(p, call, name, path, True)
        log(
            f"quality round {r + 1}: "
            + ", ".join(
                f"{name} {report.median(v) * 1000:.1f} ms"  # type: ignore[operator]
                for name, v in seconds.items()
                if v
            )
        )
    await service.close()
    return seconds, facts


async def _timed_write(
    conn: asyncpg.Connection, codes: list[str], statement: str, args: list[Any], judge: bool
) -> float:
    """The office lock, the write and (judge) the verdicts, in a transaction rolled back;
    the seconds they took."""
    transaction = conn.transaction()
    await transaction.start()
    try:
        started = time.perf_counter()
        await conn.fetch(BARE_LOCK, sorted(codes))
        rows = await conn.fetch(statement, *args)
        if judge:
            await rejudge(conn, rows)
        return time.perf_counter() - started
    finally:
        await transaction.rollback()


def _values(ids: list[int], days: list[date], recordings: list[int]) -> dict[str, Any]:
    return {
        "office_ids": ids,
        "dates": days,
        "recordings": recordings,
        "notes": [None] * len(ids),
        "now": datetime.now(UTC),
        "name": "bench quality",
        "token_id": None,
        "role": "admin",
    }


async def _write_costs(ctx: Context) -> dict[str, dict[str, list[float]]]:
    """Seconds of each write with the verdicts kept and without, alternating which goes
    first: one count dated the last day of data (nothing after it to judge again), one
    dated 90 days before it (the 90 counts after it judged again), and a national day."""
    p = ctx.profile
    nation = ctx.dataset.nation
    last = ctx.dataset.last_day
    offices = nation.offices
    codes = {o.id: o.code for o in offices}
    conn = await asyncpg.connect(ctx.dataset.url, server_settings={"jit": "off"})
    found: dict[str, dict[str, list[float]]] = {}

    async def compare(
        label: str,
        rounds: int,
        args: Callable[[int], tuple[list[str], dict[str, Any]]],
        batch: bool,
    ) -> None:
        sql, names = (BARE_BATCH, BARE_BATCH_PARAMS) if batch else (BARE_PUT, BARE_PUT_PARAMS)
        times: dict[str, list[float]] = {"with verdicts": [], "without": []}
        for r in range(rounds + 1):
            locked, values = args(r)
            ordered = [values[n] for n in names]
            runs = [("with verdicts", True), ("without", False)]
            for name, judge in runs if r % 2 == 0 else runs[::-1]:
                took = await _timed_write(conn, locked, sql, ordered, judge)
                if r > 0:  # the first round warms up
                    times[name].append(took)
        found[label] = times
        log(
            f"write cost {label}: with verdicts "
            f"{report.ms(report.median(times['with verdicts']))}, without "
            f"{report.ms(report.median(times['without']))}"
        )

    def one(day: date) -> Callable[[int], tuple[list[str], dict[str, Any]]]:
        def args(r: int) -> tuple[list[str], dict[str, Any]]:
            office = offices[(r * 997) % len(offices)]
            return [office.code], _values([office.id], [day], [100_000 - r])

        return args

    def national(r: int) -> tuple[list[str], dict[str, Any]]:
        ids = [o.id for o in offices]
        recordings = [(i * 7 + r) % 250 for i in ids]
        return [codes[i] for i in ids], _values(ids, [last] * len(ids), recordings)

    try:
        await compare(f"PUT one count dated {last}", p.latency_calls, one(last), False)
        back = last - timedelta(days=90)
        await compare(f"PUT one count dated {back}", p.latency_calls, one(back), False)
        await compare(f"batch of one national day dated {last}", p.batch_rounds, national, True)
    finally:
        await conn.close()
    return found


async def measure(ctx: Context) -> dict[str, Any]:
    seconds, facts = await _latencies(ctx)
    writes = await _write_costs(ctx)
    ctx.service.check_alive()
    return {
        "as_of": today(),
        "paths": dict(read_paths()),
        "seconds": seconds,
        "facts": facts,
        "writes": writes,
    }


def rows(quality: dict[str, Any]) -> list[dict[str, Any]]:
    """A row per read (median under 100 ms, p95 beside it) and per write priced (with the
    verdicts against without)."""
    med, pct, ms = report.median, report.percentile, report.ms
    table = []
    for name, values in quality["seconds"].items():
        m = med(values)
        facts = quality["facts"].get(name, {})
        size = (
            f"{facts['total']:,} flags"
            if "total" in facts
            else f"{facts.get('parts', 0):,} parts"
            if facts
            else ""
        )
        table.append(
            {
                "measure": f"{name}: latency (n={len(values)}, one at a time; {size}, "
                f"p95 {ms(pct(values, 95))})",
                "median": ms(m),
                "p99": ms(pct(values, 99)),
                "baseline": "",
                "ratio": "",
                "goal": "median < 100 ms",
                "met": None if m is None else m < GOAL_SECONDS,
            }
        )
    for label, times in quality["writes"].items():
        kept, bare = med(times["with verdicts"]), med(times["without"])
        ratio = kept / bare if kept and bare else None
        table.append(
            {
                "measure": f"{label}: the write statement keeping the outlier verdicts "
                f"(n={len(times['with verdicts'])}, rolled back)",
                "median": ms(kept),
                "p99": ms(pct(times["with verdicts"], 99)),
                "baseline": f"without the verdicts {ms(bare)} "
                f"(p99 {ms(pct(times['without'], 99))})",
                "ratio": f"{ratio:.2f}x" if ratio else "n/a",
                "goal": "reported (no goal)",
                "met": None,
            }
        )
    return table
