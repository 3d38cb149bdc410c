"""Spot checks, before the load and after every write: the service's progress equals
naive-progress's for the nation, a province, a city and a district."""

import json

from bench.clock import today
from bench.context import Context
from bench.httpclient import Connection
from bench.log import log


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
