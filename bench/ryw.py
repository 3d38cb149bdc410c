"""Read-your-writes under load: every progress read reflects every PUT acknowledged before the
read was sent.

The checker owns one regency (wrk's PUTs never touch its offices). Writer tasks, each owning
some of its offices and writing them one PUT at a time, record every PUT's send and
acknowledgement times. Reader tasks ask for progress of the regency, of one of its districts,
of one of its offices, and for the regency's daily series, and check each number against the
acknowledged state: for every count (office, date) the read must show the value of the last
PUT acknowledged before the read was sent, or of a later PUT that was sent before the read's
answer arrived (those may or may not be visible; nothing else may be).
"""

import asyncio
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from bench.httpclient import Connection

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
