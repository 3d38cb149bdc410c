"""The load client: wrk, else bench/loadgen.py. One burst of load, with the CPU time the
server, PostgreSQL and the client spent on it."""

import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
from typing import Any

import asyncpg

from bench.log import BenchError, log
from bench.procs import ROOT, Server, cpu_by_pid, cpu_seconds, cpu_used, process_tree
from bench.settings import BENCH

LUA = BENCH / "wrk" / "bench.lua"


def ensure_wrk(choice: str) -> str | None:
    """wrk's path; installed with apt-get when missing (and allowed); None: use loadgen."""
    if choice == "python":
        return None
    found = shutil.which("wrk")
    if found:
        return found
    apt = shutil.which("apt-get")
    prefix: list[str] = []
    if os.geteuid() != 0:
        sudo = shutil.which("sudo")
        prefix = [sudo, "-n"] if sudo else []
    if apt and (os.geteuid() == 0 or prefix):
        log("wrk is missing: apt-get update && apt-get install -y wrk")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for command in ([apt, "update", "-qq"], [apt, "install", "-y", "-qq", "wrk"]):
            try:
                subprocess.run(
                    prefix + command, env=env, check=True, timeout=600, capture_output=True
                )
            except (subprocess.SubprocessError, OSError) as error:
                log(f"could not install wrk ({error}); using the Python load generator")
                return None
        found = shutil.which("wrk")
    if choice == "wrk" and not found:
        raise BenchError("wrk is required (--client wrk) but could not be installed")
    if not found:
        log("wrk unavailable: using the Python load generator (bench/loadgen.py)")
    return found


class Load:
    """Runs one burst of load and reads its BENCH_JSON line, with the CPU time the server,
    PostgreSQL (the bench database's backends and the background processes) and the
    client spent on it."""

    def __init__(self, wrk: str | None, database_url: str) -> None:
        self.wrk = wrk
        self.database_url = database_url

    async def postgres_pids(self) -> list[int]:
        conn = await asyncpg.connect(self.database_url)
        try:
            rows = await conn.fetch(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() OR backend_type <> 'client backend'"
            )
            return [r["pid"] for r in rows]
        finally:
            await conn.close()

    @property
    def client(self) -> str:
        if self.wrk is None:
            return "bench/loadgen.py (asyncio + uvloop)"
        out = subprocess.run([self.wrk, "-v"], capture_output=True, text=True, check=False)
        return (out.stdout or out.stderr).splitlines()[0].strip()

    async def run(
        self, port: int, connections: int, seconds: int, args: list[str], watch: list[Server]
    ) -> dict[str, Any]:
        if self.wrk is not None:
            command = [
                self.wrk,
                "-t1",
                f"-c{connections}",
                f"-d{seconds}s",
                "--timeout",
                "30s",
                "-s",
                str(LUA),
                f"http://127.0.0.1:{port}",
                "--",
                *args,
            ]
        else:
            command = [
                sys.executable,
                "-m",
                "bench.loadgen",
                "--port",
                str(port),
                "--connections",
                str(connections),
                "--duration",
                str(seconds),
                "--",
                *args,
            ]
        watched = [pid for server in watch for pid in process_tree(server.pid)]
        cpu_before = cpu_seconds(watched)
        pg_before = cpu_by_pid(await self.postgres_pids())
        client_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        process = await asyncio.create_subprocess_exec(
            *command, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        out, err = await process.communicate()
        client_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        for server in watch:
            server.check_alive()
        lines = [line for line in out.decode().splitlines() if line.startswith("BENCH_JSON ")]
        if process.returncode != 0 or not lines:
            raise BenchError(f"load client failed ({process.returncode}): {err.decode()[-2000:]}")
        result: dict[str, Any] = json.loads(lines[-1].removeprefix("BENCH_JSON "))
        seconds_run = result["duration_us"] / 1e6
        result["rps"] = result["requests"] / seconds_run if seconds_run else 0.0
        result["errors"] = sum(v for k, v in result.items() if k.startswith("errors_"))
        requests = max(1, result["requests"])
        result["server_cpu_ms_per_request"] = (cpu_seconds(watched) - cpu_before) * 1000 / requests
        pg_after = cpu_by_pid(await self.postgres_pids())
        result["postgres_cpu_ms_per_request"] = cpu_used(pg_before, pg_after) * 1000 / requests
        client_cpu = (client_after.ru_utime + client_after.ru_stime) - (
            client_before.ru_utime + client_before.ru_stime
        )
        result["client_cpu_ms_per_request"] = client_cpu * 1000 / requests
        return result


def summary(result: dict[str, Any]) -> dict[str, Any]:
    """What results.json keeps of a burst."""
    return {
        k: result[k]
        for k in (
            "rps",
            "requests",
            "errors",
            "latency_us",
            "server_cpu_ms_per_request",
            "postgres_cpu_ms_per_request",
            "client_cpu_ms_per_request",
        )
    }
