"""The load generator used when wrk cannot be installed: the same requests as
bench/wrk/bench.lua, from N keep-alive connections on one uvloop thread, in its own process.
It costs a few tens of microseconds of CPU per request, far less than any endpoint it drives.

    python -m bench.loadgen --port P --connections C --duration S -- put-service offices.tsv D...
    python -m bench.loadgen --port P --connections 1 --duration S -- get /path [token [tag]]

Prints one line "BENCH_JSON {...}" shaped like the wrk script's.
"""

import argparse
import asyncio
import json
import random
import sys
import time

from bench.httpclient import Connection, HttpError


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, round(p / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank]


def request_maker(args: list[str], host: str, port: int):  # type: ignore[no-untyped-def]
    kind = args[0]
    probe = Connection(host, port)
    if kind == "get":
        headers = {"Authorization": f"Bearer {args[2]}"} if len(args) > 2 else {}
        if len(args) > 3:
            headers["If-None-Match"] = args[3]
        static = probe.encode("GET", args[1], headers)
        return lambda: static
    offices = []
    with open(args[1]) as lines:
        for line in lines:
            office_id, code, token = line.rstrip("\n").split("\t")
            offices.append((office_id, code, f"Bearer {token}"))
    dates = args[2:]

    def make() -> bytes:
        office_id, code, auth = random.choice(offices)
        day = random.choice(dates)
        body = b'{"recordings":%d}' % random.randint(0, 300)
        if kind == "put-service":
            return probe.encode(
                "PUT",
                f"/api/v1/offices/{code}/counts/{day}",
                {"Authorization": auth, "Content-Type": "application/json"},
                body,
            )
        route = "bare-put" if kind == "put-bare" else "raw-put"
        return probe.encode(
            "PUT", f"/{route}/{office_id}/{day}", {"Content-Type": "application/json"}, body
        )

    return make


async def run(host: str, port: int, connections: int, duration: float, args: list[str]) -> dict:  # type: ignore[type-arg]
    make = request_maker(args, host, port)
    latencies: list[float] = []
    errors = {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0}
    deadline = time.perf_counter() + duration

    async def worker() -> None:
        connection = Connection(host, port, timeout=30)
        while time.perf_counter() < deadline:
            request = make()
            started = time.perf_counter()
            try:
                status, _ = await connection.send_raw(request)
            except HttpError:
                errors["read"] += 1
                continue
            latencies.append(time.perf_counter() - started)
            if status > 399:
                errors["status"] += 1
        await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "duration_us": int(elapsed * 1e6),
        **{f"errors_{k}": v for k, v in errors.items()},
        "latency_us": {
            "p50": int(percentile(latencies, 50) * 1e6),
            "p90": int(percentile(latencies, 90) * 1e6),
            "p99": int(percentile(latencies, 99) * 1e6),
            "max": int((latencies[-1] if latencies else 0) * 1e6),
            "mean": sum(latencies) / len(latencies) * 1e6 if latencies else 0.0,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("rest", nargs=argparse.REMAINDER)
    options = parser.parse_args()
    rest = options.rest[1:] if options.rest[:1] == ["--"] else options.rest
    work = run(options.host, options.port, options.connections, options.duration, rest)
    try:
        import uvloop

        result = uvloop.run(work)
    except ImportError:
        result = asyncio.run(work)
    sys.stdout.write("BENCH_JSON " + json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
