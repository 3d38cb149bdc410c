"""Spot checks, before the load and after every write: the service's progress equals
naive-progress's for the nation, a province, a city and a district."""

import asyncio
import json
from typing import Any

from bench.clock import today
from bench.context import Context
from bench.httpclient import Connection
from bench.log import log

# A write the load client sent just before it stopped may land between the two reads: a
# mismatch is read again, after a pause, before it counts as an error.
ATTEMPTS = 5
PAUSE_SECONDS = 1.0


async def spot_check(ctx: Context, label: str) -> list[str]:
    """The service's progress (recorded, eligible, day, window) equals naive-progress's
    answer, for the nation, a province, a city and a district."""
    lines = []
    service = Connection("127.0.0.1", ctx.service.port)
    naive = Connection("127.0.0.1", ctx.baselines.port)
    for code in ("ID", "73", "73.71", "73.71.01"):
        for attempt in range(1, ATTEMPTS + 1):
            outcome = await _compare(ctx, service, naive, code)
            if outcome is None or outcome[0] == outcome[1]:
                break
            if attempt < ATTEMPTS:
                await asyncio.sleep(PAUSE_SECONDS)
        if outcome is None:
            continue
        mine, theirs = outcome
        if mine == theirs:
            lines.append(f"{code}: {mine}")
        else:
            ctx.error(f"spot check {label} {code}: service {mine} != naive {theirs}")
    await service.close()
    await naive.close()
    log(f"spot check {label}: " + ("; ".join(lines) or "no region matched"))
    return lines


async def _compare(
    ctx: Context, service: Connection, naive: Connection, code: str
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The service's figures and naive-progress's for one region; None when either failed."""
    as_of = today()
    status, body = await service.request(
        "GET", f"/api/v1/progress/{code}?as_of={as_of}&days=7", ctx.viewer
    )
    if status != 200:
        ctx.error(f"spot check: progress {code} answered {status}: {body[:300]!r}")
        return None
    got = json.loads(body)
    mine = {
        "recorded": got["recorded"],
        "eligible": got["eligible"],
        "day": got["day"]["recordings"],
        "window": got["window"]["recordings"],
    }
    status, body = await naive.request("GET", f"/naive-progress/{code}?as_of={as_of}&days=7")
    if status != 200:
        ctx.error(f"spot check: naive {code} answered {status}: {body[:300]!r}")
        return None
    theirs = {k: v for k, v in json.loads(body).items() if k in mine}
    return mine, theirs
