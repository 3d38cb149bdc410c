"""A bounded soak: mixed reads and writes at a fixed number of connections for a fixed time,
then it stops by itself. It reports errors, throughput, the service's memory after warm-up
and the database connections it held, and fails when any of them goes wrong.

    python -m bench.soak [--seconds 600] [--connections 32] [--offices 400]

The service runs on 127.0.0.1 over a fresh database on REKAM_TEST_DATABASE_URL's server (or
the PostgreSQL on 127.0.0.1:5432), dropped at the end. Results go to bench/soak.json and the
"Soak" section of bench/RESULTS.md.
"""

import argparse
import asyncio
import json
import os
import random
import re
import secrets
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from app.auth import new_secret, secret_hash
from app.migrate import create_database, drop_database, upgrade
from bench.httpclient import Connection, HttpError
from bench.procs import Server

ROOT = Path(__file__).resolve().parent.parent
ADMIN_TOKEN = "rekam-soak-admin-" + secrets.token_hex(8)
WARM_UP_SECONDS = 60
# Memory may wander within this much of its level after warm-up; more is a leak.
MEMORY_GROWTH_LIMIT = 0.15
POOL_BOUND = 15  # REKAM_POOL_SIZE + REKAM_MAX_OVERFLOW, the defaults


def server_url() -> str:
    url = os.environ.get("REKAM_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def seed(url: str, offices: int) -> tuple[list[str], list[tuple[str, str]]]:
    """Two provinces of regencies and districts with one office each; returns the region
    codes and (office code, office token) pairs."""
    connection = await asyncpg.connect(url)
    provinces = ["71", "72"]
    regencies = [f"{p}.{r:02d}" for p in provinces for r in range(1, 5)]
    rows = [(p, "province", 1, "ID", ["ID", p]) for p in provinces]
    rows += [(r, "regency", 2, r[:2], ["ID", r[:2], r]) for r in regencies]
    districts = []
    for i in range(offices):
        parent = regencies[i % len(regencies)]
        d = f"{parent}.{i // len(regencies) + 1:02d}"
        districts.append((d, "district", 3, parent, ["ID", parent[:2], parent, d]))
    rows += districts
    await connection.executemany(
        "INSERT INTO regions (code, name, level, depth, parent, lineage, daily_target)"
        " VALUES ($1, $1, $2, $3, $4, $5, 40)",
        rows,
    )
    regions = ["ID"] + [code for code, *_ in rows]
    offices_out = []
    for i, (district, *_rest) in enumerate(districts):
        code = f"SOAK-{i:04d}"
        office_id = await connection.fetchval(
            "INSERT INTO offices (code, name, region, kind, timezone, active)"
            " VALUES ($1, $1, $2, 'kecamatan', 'Asia/Makassar', true) RETURNING id",
            code,
            district,
        )
        token = new_secret()
        await connection.execute(
            "INSERT INTO tokens (secret_hash, role, office_id, name) VALUES ($1, 'office', $2, $3)",
            secret_hash(token),
            office_id,
            code,
        )
        offices_out.append((code, token))
    await connection.close()
    return regions, offices_out


def rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
    return int(match.group(1)) / 1024 if match else 0.0


async def database_connections(url: str, name: str) -> int:
    connection = await asyncpg.connect(url)
    try:
        held: int = await connection.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
        return held
    finally:
        await connection.close()


async def soak(args: argparse.Namespace) -> dict[str, Any]:
    name = f"rekam_soak_{os.getpid()}"
    url = await asyncio.to_thread(create_database, server_url(), name)
    try:
        await asyncio.to_thread(upgrade, url)
        plain = url.replace("postgresql+asyncpg://", "postgresql://", 1)  # for asyncpg itself
        regions, offices = await seed(plain, args.offices)
        port = 8600 + os.getpid() % 300
        env = {
            **os.environ,
            "REKAM_DATABASE_URL": url,
            "REKAM_ADMIN_TOKEN": ADMIN_TOKEN,
            "REKAM_LOG_REQUESTS": "false",
        }
        server = Server(
            "service", "app.main:create_app", port, env, ROOT / "bench/.data/logs/soak.log"
        )
        await server.start("/readyz")
        try:
            return await drive(args, server, plain, name, regions, offices)
        finally:
            server.stop()
    finally:
        await asyncio.to_thread(drop_database, server_url(), url)


async def drive(
    args: argparse.Namespace,
    server: Server,
    url: str,
    name: str,
    regions: list[str],
    offices: list[tuple[str, str]],
) -> dict[str, Any]:
    today = datetime.now(ZoneInfo("Asia/Makassar")).date()
    days = [today - timedelta(days=n) for n in range(7)]
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"}
    statuses: dict[str, int] = {}
    counts = {"put": 0, "batch": 0, "read": 0}
    errors: list[str] = []
    deadline = time.monotonic() + args.seconds
    rng = random.Random(20261128)

    def one_request() -> tuple[str, str, str, dict[str, str], bytes | None]:
        roll = rng.random()
        if roll < 0.7:
            code, token = rng.choice(offices)
            body = json.dumps({"recordings": rng.randint(0, 200)}).encode()
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            return "put", "PUT", f"/api/v1/offices/{code}/counts/{rng.choice(days)}", headers, body
        if roll < 0.75:
            items = [
                {"office": code, "date": str(rng.choice(days)), "recordings": rng.randint(0, 200)}
                for code, _ in rng.sample(offices, min(50, len(offices)))
            ]
            body = json.dumps({"counts": items}).encode()
            return "batch", "POST", "/api/v1/counts", admin, body
        region = rng.choice(regions)
        path = rng.choice(
            [f"/api/v1/progress/{region}", f"/api/v1/progress/{region}/series?bucket=week"]
        )
        return "read", "GET", path, admin, None

    async def worker() -> None:
        connection = Connection("127.0.0.1", server.port, timeout=60)
        while time.monotonic() < deadline:
            kind, method, path, headers, body = one_request()
            try:
                status, payload = await connection.request(method, path, headers, body)
            except HttpError as error:
                errors.append(f"{method} {path}: {error}")
                continue
            statuses[str(status)] = statuses.get(str(status), 0) + 1
            counts[kind] += 1
            if status >= 300:
                errors.append(f"{method} {path}: {status} {payload[:200]!r}")
        await connection.close()

    samples: list[dict[str, float]] = []

    async def sampler() -> None:
        started = time.monotonic()
        while time.monotonic() < deadline:
            samples.append(
                {
                    "seconds": round(time.monotonic() - started, 1),
                    "rss_mib": round(rss_mib(server.pid), 1),
                    "db_connections": await database_connections(url, name),
                }
            )
            await asyncio.sleep(10)

    started = time.monotonic()
    await asyncio.gather(sampler(), *(worker() for _ in range(args.connections)))
    elapsed = time.monotonic() - started
    server.check_alive()
    settled = [s for s in samples if s["seconds"] >= WARM_UP_SECONDS] or samples[-1:]
    first, peak = settled[0]["rss_mib"], max(s["rss_mib"] for s in settled)
    total = sum(counts.values())
    return {
        "date": date.today().isoformat(),
        "seconds": round(elapsed, 1),
        "connections": args.connections,
        "offices": len(offices),
        "requests": total,
        "requests_per_second": round(total / elapsed, 1),
        "by_kind": counts,
        "statuses": statuses,
        "errors": len(errors),
        "first_errors": errors[:10],
        "rss_after_warm_up_mib": first,
        "rss_peak_after_warm_up_mib": peak,
        "rss_growth": round(peak / first - 1, 3) if first else 0.0,
        "db_connections_max": max(s["db_connections"] for s in samples),
        "samples": samples,
    }


def verdict(result: dict[str, Any]) -> list[str]:
    problems = []
    if result["errors"]:
        problems.append(f"{result['errors']} errors, first: {result['first_errors'][:3]}")
    if result["rss_growth"] > MEMORY_GROWTH_LIMIT:
        problems.append(f"memory grew {result['rss_growth']:.0%} after warm-up")
    if result["db_connections_max"] > POOL_BOUND:
        problems.append(f"{result['db_connections_max']} database connections (pool {POOL_BOUND})")
    return problems


def write_results(result: dict[str, Any], problems: list[str]) -> None:
    (ROOT / "bench/soak.json").write_text(json.dumps(result, indent=2) + "\n")
    section = "\n".join(
        [
            "## Soak (make soak)",
            "",
            f"Run on {result['date']}: {result['seconds']:.0f} s at {result['connections']} "
            f"connections over {result['offices']} offices; 70% office PUTs, 5% admin batches "
            "of 50, 25% progress and series reads.",
            "",
            "| Measure | Value | Goal |",
            "| --- | --- | --- |",
            f"| Requests | {result['requests']:,} ({result['requests_per_second']:,} req/s) | |",
            f"| Errors | {result['errors']} | 0 |",
            f"| Service RSS after warm-up | {result['rss_after_warm_up_mib']} MiB, "
            f"peak {result['rss_peak_after_warm_up_mib']} MiB "
            f"({result['rss_growth']:+.1%}) | flat (≤ {MEMORY_GROWTH_LIMIT:.0%}) |",
            f"| Database connections held (max) | {result['db_connections_max']} "
            f"| ≤ {POOL_BOUND} |",
            f"| Verdict | {'; '.join(problems) or 'passed'} | |",
            "",
        ]
    )
    results = ROOT / "bench/RESULTS.md"
    text = results.read_text() if results.exists() else "# Rekam benchmark results\n"
    text = re.sub(r"\n## Soak \(make soak\)\n.*?(?=\n## |\Z)", "", text, flags=re.S)
    results.write_text(text.rstrip("\n") + "\n\n" + section)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--offices", type=int, default=400)
    args = parser.parse_args()
    result = asyncio.run(soak(args))
    problems = verdict(result)
    write_results(result, problems)
    print(json.dumps({k: v for k, v in result.items() if k != "samples"}, indent=2))
    if problems:
        raise SystemExit("soak failed: " + "; ".join(problems))


if __name__ == "__main__":
    main()
