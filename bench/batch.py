"""POST a batch of one national day: the service's batch endpoint against bare-batch (its own
statement from bare asyncpg) and raw-batch (a plain upsert)."""

import json
from datetime import timedelta
from typing import Any

from bench import report
from bench.clock import today
from bench.context import Context
from bench.httpclient import Connection
from bench.log import log


async def measure(ctx: Context) -> dict[str, Any]:
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
    seconds: dict[str, list[float]] = {"service": [], "bare-batch": [], "raw-batch": []}
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

        # bare-batch writes a payload of its own (every count 125 away from the service's
        # this round), so whichever goes first, each finds every count changed.
        async def post_bare(payload: bytes = body(r + 125), measured: bool = measured) -> None:
            headers = {"Content-Type": "application/json"}
            status, answer, took = await raw.timed("POST", "/bare-batch", headers, payload)
            if status != 200:
                ctx.error(f"batch: bare-batch answered {status}: {answer[:300]!r}")
            elif measured:
                seconds["bare-batch"].append(took)

        steps = [post_service, post_bare, post_raw]
        for step in steps if r % 2 == 0 else steps[::-1]:
            await step()
        if measured:
            log(
                f"batch round {r - p.batch_warmups + 1}: service "
                f"{seconds['service'][-1]:.3f} s, bare-batch {seconds['bare-batch'][-1]:.3f} s, "
                f"raw-batch {seconds['raw-batch'][-1]:.3f} s"
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


def rows(batch: dict[str, Any]) -> list[dict[str, Any]]:
    """The batch's seconds against bare-batch's (the goal) and raw-batch's (the old goal)."""
    day = f"POST a batch of one national day ({batch['items']:,} counts)"
    return [
        _goal_row(
            batch, "bare-batch", 1.3, f"{day}: seconds against the same statement from bare asyncpg"
        ),
        _goal_row(batch, "raw-batch", 2, f"{day}: seconds"),
    ]


def _goal_row(batch: dict[str, Any], baseline: str, goal: float, measure: str) -> dict[str, Any]:
    """One row: the service's median seconds over `baseline`'s, at most `goal`."""
    med, p99 = report.median, report.percentile
    s, b = batch["seconds"]["service"], batch["seconds"].get(baseline, [])
    ratio = med(s) / med(b) if s and b else None  # type: ignore[operator]
    return {
        "measure": f"{measure} (n={len(s)})",
        "median": f"{med(s):.3f} s" if s else "n/a",
        "p99": f"{p99(s, 99):.3f} s" if s else "n/a",
        "baseline": f"{baseline} {med(b):.3f} s (p99 {p99(b, 99):.3f} s)" if b else "n/a",
        "ratio": f"{ratio:.2f}" if ratio else "n/a",
        "goal": f"ratio ≤ {goal:g}",
        "met": None if ratio is None else ratio <= goal,
    }
