"""Standing up the nation, side by side with today's single requests (`python -m bench.run
--onboarding`, or `python -m bench.onboarding`).

    cli          on an empty database, timed one by one: `rekam regions load`,
                 `rekam offices create --per-district`, `--per-regency`, and
                 `rekam tokens issue --region ID` (a token for every office)
    batch        on another empty database, through the service: POST /api/v1/regions with
                 the nation's regions, then POST /api/v1/offices with an office per district
                 and per regency, each one request
    single PUTs  on a third: the same regions and offices as PUTs, 8 at a time (a level's
                 regions once their parents are in)
"""

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg

from app.services.onboarding import office_code, office_name, province_timezone, read_area_list
from bench.httpclient import Connection
from bench.log import BenchError, log
from bench.procs import ROOT, Server, free_port
from bench.settings import DATA, DEFAULT_SERVER

PARALLEL = 8


async def _fresh_database(server_url: str, name: str) -> str:
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base, _, _ = server_url.rpartition("/")
    url = f"{base}/{name}"
    _rekam(url, "migrate")
    return url


async def _drop_database(server_url: str, name: str) -> None:
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def _rekam(url: str, *args: str) -> tuple[float, str]:
    """Run the command on `url`; (seconds, what it printed)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REKAM_")}
    env |= {"REKAM_DATABASE_URL": url, "REKAM_TIMEZONE": "Asia/Makassar"}
    started = time.perf_counter()
    done = subprocess.run(
        [str(Path(sys.executable).parent / "rekam"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise BenchError(f"rekam {' '.join(args)} failed: {done.stderr.strip()}")
    return seconds, done.stdout.strip()


def measure_cli(url: str) -> dict[str, Any]:
    steps: dict[str, Any] = {}
    for label, args in (
        ("regions load", ("regions", "load")),
        ("offices create --per-district", ("offices", "create", "--per-district")),
        ("offices create --per-regency", ("offices", "create", "--per-regency")),
    ):
        seconds, printed = _rekam(url, *args)
        steps[label] = {"seconds": round(seconds, 2), "printed": printed}
        log(f"rekam {label}: {seconds:.2f} s ({printed})")
    DATA.mkdir(parents=True, exist_ok=True)
    out = DATA / f"onboarding-tokens-{secrets.token_hex(4)}.csv"
    try:
        seconds, printed = _rekam(url, "tokens", "issue", "--region", "ID", "--out", str(out))
        issued = len(out.read_text().splitlines()) - 1
        steps["tokens issue --region ID"] = {"seconds": round(seconds, 2), "printed": printed}
        log(f"rekam tokens issue --region ID: {seconds:.2f} s ({issued} tokens)")
    finally:
        out.unlink(missing_ok=True)
    steps["total_seconds"] = round(sum(s["seconds"] for s in steps.values()), 2)
    return steps


def _nation() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The nation's regions and the offices `rekam offices create` would make, as bodies."""
    listed = read_area_list()
    regions = [{"code": r.code, "name": r.name} for r in listed]
    offices = [
        {
            "code": office_code(kind, r.code),
            "name": office_name(kind, r.name),
            "region": r.code,
            "kind": kind,
            "timezone": province_timezone(r.code),
        }
        for r in listed
        if (kind := {2: "kecamatan", 1: "dukcapil"}.get(r.code.count("."))) is not None
    ]
    return regions, offices


async def _service(url: str, label: str, admin: str) -> Server:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REKAM_")}
    server = Server(
        label,
        "app.main:create_app",
        free_port(),
        env
        | {
            "REKAM_DATABASE_URL": url,
            "REKAM_ADMIN_TOKEN": admin,
            "REKAM_LOG_REQUESTS": "false",
            "REKAM_TIMEZONE": "Asia/Makassar",
            "REKAM_MAX_BATCH": "20000",
            "REKAM_RATE_LIMIT_PER_MINUTE": "100000000",
        },
        DATA / "logs" / f"{label}.log",
    )
    await server.start("/healthz")
    return server


async def _post(connection: Connection, path: str, admin: str, body: Any) -> float:
    status, answer, seconds = await connection.timed(
        "POST",
        path,
        {"Authorization": f"Bearer {admin}", "Content-Type": "application/json"},
        json.dumps(body).encode(),
    )
    if status != 200:
        raise BenchError(f"POST {path}: {status} {answer[:300]!r}")
    return seconds


async def _put_all(port: int, admin: str, items: list[tuple[str, dict[str, Any]]]) -> None:
    """PUT each (path, body), PARALLEL at a time, each worker on its own connection."""
    queue = list(reversed(items))
    headers = {"Authorization": f"Bearer {admin}", "Content-Type": "application/json"}

    async def worker() -> None:
        connection = Connection("127.0.0.1", port)
        try:
            while queue:
                path, body = queue.pop()
                status, answer = await connection.request(
                    "PUT", path, headers, json.dumps(body).encode()
                )
                if status not in (200, 201):
                    raise BenchError(f"PUT {path}: {status} {answer[:300]!r}")
        finally:
            await connection.close()

    await asyncio.gather(*(worker() for _ in range(PARALLEL)))


async def measure_api(server_url: str, names: tuple[str, str]) -> dict[str, Any]:
    regions, offices = _nation()
    admin = "bench-admin-" + secrets.token_urlsafe(24)
    result: dict[str, Any] = {"regions": len(regions), "offices": len(offices)}

    batch_url = await _fresh_database(server_url, names[0])
    server = await _service(batch_url, "onboarding-batch", admin)
    try:
        connection = Connection("127.0.0.1", server.port)
        result["post_regions_seconds"] = round(
            await _post(connection, "/api/v1/regions", admin, {"regions": regions}), 2
        )
        result["post_offices_seconds"] = round(
            await _post(connection, "/api/v1/offices", admin, {"offices": offices}), 2
        )
        await connection.close()
    finally:
        server.stop()
    log(
        f"POST /api/v1/regions ({len(regions)}): {result['post_regions_seconds']} s, "
        f"POST /api/v1/offices ({len(offices)}): {result['post_offices_seconds']} s"
    )

    single_url = await _fresh_database(server_url, names[1])
    server = await _service(single_url, "onboarding-single", admin)
    try:
        started = time.perf_counter()
        for depth in (0, 1, 2):
            level = [r for r in regions if r["code"].count(".") == depth]
            await _put_all(
                server.port,
                admin,
                [(f"/api/v1/regions/{r['code']}", {"name": r["name"]}) for r in level],
            )
        result["put_regions_seconds"] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        await _put_all(
            server.port,
            admin,
            [
                (f"/api/v1/offices/{o['code']}", {k: v for k, v in o.items() if k != "code"})
                for o in offices
            ],
        )
        result["put_offices_seconds"] = round(time.perf_counter() - started, 2)
    finally:
        server.stop()
    log(
        f"{PARALLEL} parallel PUTs: regions {result['put_regions_seconds']} s, "
        f"offices {result['put_offices_seconds']} s"
    )
    return result


async def measure(server_url: str) -> dict[str, Any]:
    names = [f"rekam_bench_onboarding_{n}" for n in ("cli", "batch", "single")]
    try:
        cli_url = await _fresh_database(server_url, names[0])
        cli = measure_cli(cli_url)
        api = await measure_api(server_url, (names[1], names[2]))
    finally:
        for name in names:
            await _drop_database(server_url, name)
    return {"cli": cli, "api": api}


def markdown(results: dict[str, Any]) -> str:
    cli, api = results["cli"], results["api"]
    lines = [
        "| step (empty database, the whole nation) | seconds |",
        "| --- | ---: |",
        *(
            f"| `rekam {label}` | {step['seconds']} |"
            for label, step in cli.items()
            if isinstance(step, dict)
        ),
        f"| CLI total | {cli['total_seconds']} |",
        "",
        f"| write | one batch | {PARALLEL} parallel single PUTs |",
        "| --- | ---: | ---: |",
        f"| {api['regions']} regions | {api['post_regions_seconds']} s "
        f"| {api['put_regions_seconds']} s |",
        f"| {api['offices']} offices | {api['post_offices_seconds']} s "
        f"| {api['put_offices_seconds']} s |",
    ]
    return "\n".join(lines)


def write_results(out: Path, results: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "onboarding.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "ONBOARDING.md").write_text(markdown(results) + "\n")
    print(markdown(results))
    log(f"wrote {out / 'ONBOARDING.md'} and {out / 'onboarding.json'}")


async def run(server_url: str, out: Path) -> int:
    write_results(out, await measure(server_url))
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", help="PostgreSQL server URL (default: 127.0.0.1:5432)")
    parser.add_argument("--out", default=str(DATA), help="directory for the results")
    options = parser.parse_args()
    server = options.server or os.environ.get("REKAM_BENCH_SERVER_URL") or DEFAULT_SERVER
    try:
        sys.exit(asyncio.run(run(server, Path(options.out))))
    except BenchError as error:
        log(f"FAILED: {error}")
        sys.exit(1)


if __name__ == "__main__":
    main()
