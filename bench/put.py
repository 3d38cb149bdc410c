"""PUT one count: the service against bare-put (its own write statement from bare asyncpg:
the framework's share) and raw-put (a plain upsert: the summaries' share too), with hello and
the service's /healthz as the framework's ceilings, at each connection count."""

from typing import Any

from bench import report
from bench.clock import avoid_midnight, today, window_dates
from bench.context import Context
from bench.load import summary
from bench.log import log
from bench.procs import Server


async def measure(ctx: Context) -> dict[str, Any]:
    """PUT one count (service) against raw-put, with hello and the service's /healthz as
    the framework's ceilings: a warm-up, then rounds interleaved, at each connection count."""
    p = ctx.profile
    tsv = str(ctx.offices_tsv)
    targets = [
        ("service", ctx.service, ["put-service", tsv]),
        ("bare-put", ctx.baselines, ["put-bare", tsv]),
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


def _rps(runs: dict[str, Any], name: str) -> float | None:
    return report.median([r["rps"] for r in runs[name]])


def _latency(runs: dict[str, Any], name: str, key: str) -> float | None:
    return report.median([r["latency_us"][key] / 1e6 for r in runs[name]])


def rows(found: dict[str, Any]) -> list[dict[str, Any]]:
    """Two rows of RESULTS.md per connection count: the service's req/s against bare-put's
    (the goal of the scale issue) and against raw-put's (the benchmark issue's goal)."""
    ms = report.ms
    table = []
    for connections, runs in found.items():
        service, bare = _rps(runs, "service"), _rps(runs, "bare-put")
        ratio = service / bare if service and bare else None
        table.append(
            {
                "measure": f"PUT one count, {connections} connections: req/s against the "
                "same statement from bare asyncpg",
                "median": f"{service:,.0f} req/s (latency p50 "
                f"{ms(_latency(runs, 'service', 'p50'))})"
                if service
                else "n/a",
                "p99": f"latency {ms(_latency(runs, 'service', 'p99'))}",
                "baseline": f"bare-put {bare:,.0f} req/s "
                f"(p50 {ms(_latency(runs, 'bare-put', 'p50'))}, "
                f"p99 {ms(_latency(runs, 'bare-put', 'p99'))})"
                if bare
                else "n/a",
                "ratio": f"{ratio:.2f}" if ratio else "n/a",
                "goal": "ratio ≥ 0.8",
                "met": None if ratio is None else ratio >= 0.8,
            }
        )
        service, raw = _rps(runs, "service"), _rps(runs, "raw-put")
        ratio = service / raw if service and raw else None
        table.append(
            {
                "measure": f"PUT one count, {connections} connections: req/s",
                "median": f"{service:,.0f} req/s (latency p50 "
                f"{ms(_latency(runs, 'service', 'p50'))})"
                if service
                else "n/a",
                "p99": f"latency {ms(_latency(runs, 'service', 'p99'))}",
                "baseline": f"raw-put {raw:,.0f} req/s "
                f"(p50 {ms(_latency(runs, 'raw-put', 'p50'))}, "
                f"p99 {ms(_latency(runs, 'raw-put', 'p99'))})"
                if raw
                else "n/a",
                "ratio": f"{ratio:.2f}" if ratio else "n/a",
                "goal": "ratio ≥ 0.8",
                "met": None if ratio is None else ratio >= 0.8,
            }
        )
    return table


def context(found: dict[str, Any]) -> list[tuple[str, str]]:
    """The ceilings (hello, /healthz) and the CPU per PUT of the service and raw-put."""
    ms, med = report.ms, report.median
    lines = []
    for connections, runs in found.items():
        for name, label in (("hello", "hello (framework ceiling)"), ("healthz", "/healthz")):
            lines.append(
                (
                    f"{label}, {connections} connections",
                    f"{_rps(runs, name):,.0f} req/s, p50 {ms(_latency(runs, name, 'p50'))}, "
                    f"p99 {ms(_latency(runs, name, 'p99'))}",
                )
            )
        for name in ("service", "bare-put", "raw-put"):
            cpu = med([r["server_cpu_ms_per_request"] for r in runs[name]])
            pg = med([r["postgres_cpu_ms_per_request"] for r in runs[name]])
            client = med([r["client_cpu_ms_per_request"] for r in runs[name]])
            lines.append(
                (
                    f"CPU per {'service PUT' if name == 'service' else name}, "
                    f"{connections} connections",
                    f"server process {cpu:.2f} ms, PostgreSQL {pg:.2f} ms, "
                    f"load client {client:.3f} ms",
                )
            )
    return lines
