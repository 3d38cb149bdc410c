"""The bulk loader checked against the service: the same nation loaded by bench/dataset.py and
written day by day through the service's batch endpoint must leave the same rows."""

import secrets
from datetime import timedelta

from bench.clock import today
from bench.dataset import (
    Scale,
    build_nation,
    compare_databases,
    drop_database,
    load_fresh,
    prepare_reference,
)
from bench.log import BenchError, log
from bench.procs import Server, free_port
from bench.settings import DATA, service_environment
from bench.top_up import post_days


async def verify_loader(
    server_url: str, database: str, scale: Scale, seed: int, env: dict[str, str]
) -> list[str]:
    """The loader's summaries equal the service's: the same nation is loaded by the bulk
    loader into one database and written day by day through the service's batch endpoint
    into another, and every count, revision, summary row and figure is compared."""
    nation = build_nation(scale, seed)
    loaded = await load_fresh(server_url, f"{database}_loader", nation, today(), log)
    reference = await prepare_reference(server_url, f"{database}_service", loaded)
    token = "bench-admin-" + secrets.token_urlsafe(24)
    service = Server(
        "reference service",
        "app.main:create_app",
        free_port(),
        service_environment(env, reference, token, nation),
        DATA / "logs" / "reference-service.log",
    )
    try:
        await service.start("/healthz")
        days = [loaded.first_day + timedelta(days=i) for i in range(scale.days)]
        await post_days(service.port, token, nation, days)
    finally:
        service.stop()
    found = await compare_databases(loaded.url, reference)
    for name in (f"{database}_loader", f"{database}_service"):
        await drop_database(server_url, name)
    lines = [f"{table}: {verdict}" for table, verdict in found.items()]
    log("loader check: " + "; ".join(lines))
    if any("DIFFERENT" in line for line in lines):
        raise BenchError("the loader's summaries differ from the service's: " + "; ".join(lines))
    return lines
