"""Read-your-writes under load: every progress read reflects every PUT acknowledged before the
read was sent.

The checker owns one regency (wrk's PUTs never touch its offices). Writer tasks, each owning
some of its offices and writing them one PUT at a time, record every PUT's send and
acknowledgement times. Reader tasks ask for progress of the regency, of one of its districts,
of one of its offices, and for the regency's daily series, and check each number against the
acknowledged state: for every count (office, date) the read must show the value of the last
PUT acknowledged before the read was sent, or of a later PUT that was sent before the read's
answer arrived (those may or may not be visible; nothing else may be).

measure() runs the checker while the load client PUTs to every other office.
"""

import asyncio
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import asyncpg

from bench import report
from bench.clock import avoid_midnight, today, window_dates
from bench.context import Context
from bench.httpclient import Connection
from bench.load import summary
from bench.log import log
from bench.settings import EDIT_WINDOW_DAYS

Key = tuple[int, date]  # (office id, date)


@dataclass
class Put:
    value: int
    sent: float
    acked: float | None = None


@dataclass
class Ledger:
    initial: dict[Key, int]
    puts: dict[Key, list[Put]] = field(default_factory=dict)

    def options(self, key: Key, sent: float, received: float) -> set[int]:
        """The values a read sent at `sent` and answered at `received` may show for key."""
        history = self.puts.get(key, [])
        required = self.initial.get(key, 0)
        start = 0
        for index, put in enumerate(history):
            if put.acked is not None and put.acked < sent:
                required, start = put.value, index + 1
        found = {required}
        for put in history[start:]:
            if put.sent < received:
                found.add(put.value)
        return found

    def possible(self, base: int, keys: list[Key], sent: float, received: float) -> set[int]:
        """Every value `base + sum(value - initial)` over keys may take for such a read."""
        sums = {base}
        for key in keys:
            initial = self.initial.get(key, 0)
            deltas = {v - initial for v in self.options(key, sent, received)}
            sums = {s + d for s in sums for d in deltas}
        return sums


@dataclass
class Check:
    name: str
    path: str
    # (label, keys, read the number from the body) for each number the read is checked on
    numbers: list[tuple[str, list[Key], Callable[[dict[str, Any]], int]]]
    base: dict[str, int] = field(default_factory=dict)


@dataclass
class Outcome:
    reads: int = 0
    numbers_checked: int = 0
    violations: int = 0
    writes: int = 0
    write_errors: int = 0
    read_errors: int = 0
    read_seconds: list[float] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)


def build_checks(
    regency: str,
    district: str,
    district_office: int,
    office: tuple[int, str],
    office_ids: list[int],
    as_of: date,
    days: int,
    figure_date: date | None,
) -> list[Check]:
    window = [as_of - timedelta(days=i) for i in range(days)]
    start = window[-1]

    def keys(offices: list[int], dates: list[date]) -> list[Key]:
        return [(o, d) for o in offices for d in dates]

    after_figure = [d for d in window if figure_date is None or d > figure_date]
    query = f"as_of={as_of}&days={days}"
    office_id, office_code = office
    series = Check(
        "series",
        f"/api/v1/progress/{regency}/series?from={start}&to={as_of}&bucket=day",
        [
            (
                f"points[{i}]",
                keys(office_ids, [start + timedelta(days=i)]),
                lambda body, i=i: body["points"][i]["recordings"],
            )
            for i in range(days)
        ],
    )
    return [
        Check(
            "regency",
            f"/api/v1/progress/{regency}?{query}",
            [
                ("day", keys(office_ids, [as_of]), lambda b: b["day"]["recordings"]),
                ("window", keys(office_ids, window), lambda b: b["window"]["recordings"]),
                ("recorded", keys(office_ids, after_figure), lambda b: b["recorded"]),
            ],
        ),
        Check(
            "district",
            f"/api/v1/progress/{district}?{query}",
            [
                ("day", keys([district_office], [as_of]), lambda b: b["day"]["recordings"]),
                ("window", keys([district_office], window), lambda b: b["window"]["recordings"]),
                ("recorded", keys([district_office], window), lambda b: b["recorded"]),
            ],
        ),
        Check(
            "office",
            f"/api/v1/offices/{office_code}/progress?{query}",
            [
                ("day", keys([office_id], [as_of]), lambda b: b["day"]["recordings"]),
                ("window", keys([office_id], window), lambda b: b["window"]["recordings"]),
                ("total", keys([office_id], window), lambda b: b["total"]),
            ],
        ),
        series,
    ]


async def run_checker(
    port: int,
    offices: list[tuple[int, str, str]],  # (id, code, token) of the regency's offices
    viewer_token: str,
    ledger: Ledger,
    checks: list[Check],
    dates: list[date],
    seconds: float,
    writers: int = 4,
    readers: int = 2,
) -> Outcome:
    outcome = Outcome()
    viewer = {"Authorization": f"Bearer {viewer_token}"}

    async def read(connection: Connection, check: Check) -> tuple[dict[str, Any], float, float]:
        sent = time.perf_counter()
        status, body = await connection.request("GET", check.path, viewer)
        received = time.perf_counter()
        if status != 200:
            raise RuntimeError(f"{check.path}: {status} {body[:200]!r}")
        return json.loads(body), sent, received

    # The numbers before any write: the base every expectation is built on.
    connection = Connection("127.0.0.1", port)
    for check in checks:
        body, _, _ = await read(connection, check)
        check.base = {label: extract(body) for label, _, extract in check.numbers}
    await connection.close()

    deadline = time.perf_counter() + seconds
    groups = [offices[i :: max(1, writers)] for i in range(min(writers, len(offices)))]

    async def writer(own: list[tuple[int, str, str]]) -> None:
        connection = Connection("127.0.0.1", port)
        while time.perf_counter() < deadline:
            office_id, code, token = random.choice(own)
            day = random.choice(dates)
            value = random.randint(0, 300)
            put = Put(value, time.perf_counter())
            ledger.puts.setdefault((office_id, day), []).append(put)
            status, body = await connection.request(
                "PUT",
                f"/api/v1/offices/{code}/counts/{day}",
                {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                b'{"recordings":%d}' % value,
            )
            if status in (200, 201):
                put.acked = time.perf_counter()
                outcome.writes += 1
            else:
                # Not acknowledged: it may or may not have happened; it stays "in flight".
                outcome.write_errors += 1
                if len(outcome.examples) < 5:
                    outcome.examples.append(f"PUT {code} {day}: {status} {body[:200]!r}")
        await connection.close()

    async def reader() -> None:
        connection = Connection("127.0.0.1", port)
        while time.perf_counter() < deadline:
            check = random.choice(checks)
            try:
                body, sent, received = await read(connection, check)
            except Exception as error:
                outcome.read_errors += 1
                if len(outcome.examples) < 5:
                    outcome.examples.append(str(error))
                continue
            outcome.reads += 1
            outcome.read_seconds.append(received - sent)
            for label, keys, extract in check.numbers:
                outcome.numbers_checked += 1
                seen = extract(body)
                allowed = ledger.possible(check.base[label], keys, sent, received)
                if seen not in allowed:
                    outcome.violations += 1
                    if len(outcome.examples) < 5:
                        outcome.examples.append(
                            f"{check.name} {label}: saw {seen}, expected one of "
                            f"{sorted(allowed)[:10]}"
                        )
        await connection.close()

    await asyncio.gather(*(writer(g) for g in groups), *(reader() for _ in range(readers)))
    return outcome


async def measure(ctx: Context) -> dict[str, Any]:
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


def rows(ryw: dict[str, Any]) -> list[dict[str, Any]]:
    """The violations, out of every number checked."""
    return [
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
    ]


def context(ryw: dict[str, Any], connections: int) -> list[tuple[str, str]]:
    """The checker's read latency under the background PUTs."""
    reads = ryw["read_seconds"]
    med, p99, ms = report.median, report.percentile, report.ms
    return [
        (
            "Progress reads during read-your-writes (under "
            f"{ryw['background']['rps']:,.0f} PUT/s at {connections} "
            "connections)",
            f"p50 {ms(med(reads))}, p99 {ms(p99(reads, 99))}",
        )
    ]
