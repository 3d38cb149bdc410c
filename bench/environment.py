"""The machine, the versions and PostgreSQL's settings a run measured on."""

import os
import platform
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import asyncpg

from bench.load import Load
from bench.procs import ROOT


def environment(load: Load, pg: dict[str, str]) -> dict[str, Any]:
    def version(package: str) -> str:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return "-"

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    commit = "unknown"
    try:
        head = (ROOT / ".git" / "HEAD").read_text().strip()
        if head.startswith("ref: "):
            commit = (ROOT / ".git" / head[5:]).read_text().strip()[:12]
        else:
            commit = head[:12]
    except OSError:
        pass
    packages = {
        p: version(p)
        for p in (
            "fastapi",
            "starlette",
            "uvicorn",
            "uvloop",
            "httptools",
            "sqlalchemy",
            "asyncpg",
            "pydantic",
            "numpy",
        )
    }
    summary = {
        "Date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "CPU": f"{os.cpu_count()} x {cpu}",
        "Memory": memory,
        "OS": f"{platform.system()} {platform.release()} ({platform.platform(terse=True)})",
        "Python": platform.python_version(),
        "Packages": ", ".join(f"{k} {v}" for k, v in packages.items()),
        "PostgreSQL": pg.pop("version"),
        "PostgreSQL settings": ", ".join(f"{k}={v}" for k, v in pg.items()),
        "Load client": load.client,
        "Service": "uvicorn, 1 worker, uvloop + httptools, access log off; pool 10 + 5",
        "Commit": commit,
    }
    return {"date": summary["Date"], "summary": summary, "packages": packages}


async def postgres_facts(url: str) -> dict[str, str]:
    conn = await asyncpg.connect(url)
    try:
        facts = {"version": (await conn.fetchval("SHOW server_version")).split()[0]}
        for name in (
            "shared_buffers",
            "work_mem",
            "max_connections",
            "synchronous_commit",
            "max_parallel_workers_per_gather",
            "autovacuum",
        ):
            facts[name] = await conn.fetchval(f"SHOW {name}")
        return facts
    finally:
        await conn.close()
