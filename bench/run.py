"""`make bench` and `make bench-smoke`: Rekam against its baselines, side by side, in one run.

    python -m bench.run            the full benchmark: results in bench/RESULTS.md and
                                   bench/results.json
    python -m bench.run --smoke    a tiny version for CI: same steps, a few seconds of load;
                                   results in bench/.data/smoke/; exits non-zero on any error
    python -m bench.run --onboarding   only the nation stood up from empty databases
                                   (bench/onboarding.py); results in bench/.data/

Speed is reported, never asserted. Errors fail the run: a non-2xx answer, a failed spot
check, a read-your-writes violation, a process that dies.
"""

import argparse
import asyncio
import hashlib
import os
import random
import secrets
import sys
import traceback
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncpg

from bench import (
    batch,
    crowd,
    memory,
    onboarding,
    profiling,
    progress,
    put,
    quality,
    report,
    ryw,
)
from bench.clock import today
from bench.context import Context
from bench.dataset import SMOKE, Dataset, ensure_dataset
from bench.environment import environment, postgres_facts
from bench.load import Load, ensure_wrk
from bench.loader_check import verify_loader
from bench.log import BenchError, log
from bench.procs import Server, free_port
from bench.settings import (
    DATA,
    DEFAULT_SERVER,
    FULL_PROFILE,
    SMOKE_PROFILE,
    Profile,
    service_environment,
)
from bench.spot_check import spot_check
from bench.top_up import top_up, vacuum


async def main_async(options: argparse.Namespace) -> int:
    profile = SMOKE_PROFILE if options.smoke else FULL_PROFILE
    if options.rounds:
        profile = replace(profile, rounds=options.rounds)
    database = options.database or os.environ.get("REKAM_BENCH_DATABASE")
    if database:
        profile = replace(profile, database=database)
    results_dir = Path(options.out) if options.out else profile.results
    DATA.mkdir(parents=True, exist_ok=True)
    server_url = options.server or os.environ.get("REKAM_BENCH_SERVER_URL") or DEFAULT_SERVER
    if options.onboarding:
        return await onboarding.run(server_url, results_dir if options.out else DATA)
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
    seed = options.seed
    log(f"profile {profile.name}, seed {seed}, server {server_url}")
    loader_checks: list[str] = []
    if options.smoke or options.verify_loader:
        clean_env = {k: v for k, v in os.environ.items() if not k.startswith("REKAM_")}
        loader_checks = await verify_loader(server_url, profile.database, SMOKE, seed, clean_env)
    dataset = await ensure_dataset(
        server_url, profile.database, profile.scale, seed, today(), log, force=options.reload
    )
    if options.load_only:
        return 0
    ctx = _context(profile, dataset, Load(ensure_wrk(options.client), dataset.url))
    results: dict[str, Any] = {
        "profile": profile.name,
        "seed": seed,
        "ryw_connections": profile.ryw_connections,
    }
    checks = [
        f"Bulk loader = the service's own ingestion of the same counts (smoke scale), {line}"
        for line in loader_checks
    ]
    upkeep: dict[str, float] = {"topped_up_days": 0, "top_up_seconds": 0.0, "vacuum_seconds": 0.0}
    try:
        await _measure(ctx, options, results, checks, upkeep)
    except Exception as error:
        traceback.print_exc()
        ctx.errors.append(f"{type(error).__name__}: {error}")
        for server in (ctx.service, ctx.baselines):
            try:
                server.check_alive()
            except RuntimeError as dead:
                ctx.errors.append(str(dead))
    finally:
        ctx.service.stop()
        ctx.baselines.stop()
        if embedded is not None:
            embedded.cleanup()
    results["environment"] = environment(ctx.load, pg)
    results["dataset"] = _dataset_facts(profile, dataset, seed) | upkeep
    results["table"], results["context"] = build_table(results)
    results["checks"] = [
        *checks,
        "Every request answered 2xx."
        if not ctx.errors
        else f"{len(ctx.errors)} error(s): see below.",
    ]
    results["errors"] = ctx.errors
    md, js = report.write(results, results_dir)
    print(md.read_text())
    log(f"wrote {md} and {js}")
    if ctx.errors:
        log(f"FAILED: {len(ctx.errors)} error(s)")
        return 1
    return 0


def _context(profile: Profile, dataset: Dataset, load: Load) -> Context:
    """The run's servers and tokens. The last regency's offices are left out of the offices
    the load client PUTs to: the read-your-writes checker owns them."""
    nation = dataset.nation
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
    return Context(
        profile,
        dataset,
        service,
        baselines,
        load,
        admin_token,
        nation.token("viewer"),
        offices_tsv,
        reserved,
        [],
    )


async def _measure(
    ctx: Context,
    options: argparse.Namespace,
    results: dict[str, Any],
    checks: list[str],
    upkeep: dict[str, float],
) -> None:
    """Every measure in turn, with the servers up and the data set brought up to date."""
    await ctx.service.start("/healthz")
    await ctx.baselines.start("/hello")
    log(f"service pid {ctx.service.pid} on :{ctx.service.port}, baselines on :{ctx.baselines.port}")
    upkeep["topped_up_days"], upkeep["top_up_seconds"] = await top_up(ctx)
    if ctx.dataset.reused:
        upkeep["vacuum_seconds"] = await vacuum(ctx.dataset.url)
        log(f"VACUUM ANALYZE of the reused data set: {upkeep['vacuum_seconds']:.1f} s")
    checks.extend(f"Spot check before the load: {line}" for line in await spot_check(ctx, "before"))
    for name, module in MEASURES.items():
        if name != "memory" and (not options.only or name in options.only):
            results[name] = await module.measure(ctx)
    checks.extend(
        f"Spot check after every write: {line}" for line in await spot_check(ctx, "after")
    )
    if not options.only or "memory" in options.only:
        # Last: the processes' memory after everything else has run.
        results["memory"] = memory.measure(ctx.service, ctx.baselines)
    if options.profile:
        results["profiles"] = await profiling.record(ctx, Path(options.profile))


# Every measure in the order a run takes them (--only picks some).
MEASURES: dict[str, Any] = {
    "put": put,
    "batch": batch,
    "progress": progress,
    "quality": quality,
    "ryw": ryw,
    "crowd": crowd,
    "memory": memory,
}


def _dataset_facts(profile: Profile, dataset: Dataset, seed: int) -> dict[str, Any]:
    counts_by_level: dict[str, int] = {}
    for region in dataset.nation.regions:
        counts_by_level[region.level] = counts_by_level.get(region.level, 0) + 1
    return {
        "seed": seed,
        "scale": profile.scale.describe(),
        "regions": counts_by_level,
        "rows": dataset.rows,
        "first_day": dataset.first_day,
        "last_day": dataset.last_day,
        "reused": dataset.reused,
        "load_seconds": dataset.load_seconds,
        "load_steps": dataset.load_steps,
    }


def build_table(results: dict[str, Any]) -> tuple[list[dict[str, Any]], list[Any]]:
    """The rows of RESULTS.md, each measure's from its own module, and the context beside
    them: in this order, for whichever measures the run got to."""
    rows: list[dict[str, Any]] = []
    context: list[Any] = []
    if results.get("put"):
        rows += put.rows(results["put"])
        context += put.context(results["put"])
    if results.get("batch"):
        rows += batch.rows(results["batch"])
    if results.get("progress"):
        rows += progress.rows(results["progress"])
    if results.get("quality"):
        rows += quality.rows(results["quality"])
    if results.get("ryw"):
        rows += ryw.rows(results["ryw"])
        context += ryw.context(results["ryw"], results["ryw_connections"])
    if results.get("crowd"):
        rows += crowd.rows(results["crowd"])
    if results.get("memory"):
        rows += memory.rows(results["memory"])
    return rows, context


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="the tiny CI version")
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--server", help="PostgreSQL server URL (default: 127.0.0.1:5432)")
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--out", help="directory for RESULTS.md and results.json")
    parser.add_argument("--rounds", type=int, help="override the number of load rounds")
    parser.add_argument("--reload", action="store_true", help="regenerate the data set")
    parser.add_argument(
        "--database",
        help="the bench database's name (default: rekam_bench, or rekam_bench_smoke with "
        "--smoke; also REKAM_BENCH_DATABASE)",
    )
    parser.add_argument("--load-only", action="store_true", help="only make the data set")
    parser.add_argument(
        "--verify-loader",
        action="store_true",
        help="check the bulk loader against the service's own ingestion (always in --smoke)",
    )
    parser.add_argument(
        "--only",
        type=lambda names: names.split(","),
        help=f"only these measures, comma-separated, of: {', '.join(MEASURES)}",
    )
    parser.add_argument("--profile", help="also record py-spy profiles into this directory")
    parser.add_argument(
        "--onboarding",
        action="store_true",
        help="measure only the nation stood up from empty databases (bench/onboarding.py)",
    )
    options = parser.parse_args()
    if options.only and (unknown := set(options.only) - set(MEASURES)):
        parser.error(f"--only: no measure named {', '.join(sorted(unknown))}")
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
