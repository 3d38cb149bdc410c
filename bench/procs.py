"""Processes under test: start, wait until they answer, read their CPU time and memory."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from bench.httpclient import Connection, HttpError

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def uvicorn_command(app: str, port: int) -> list[str]:
    """The service's own settings (the issue's command line), for the service and baselines
    alike. Access logs off, as `rekam serve` runs it: a log line per request is not the
    service's cost."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--no-access-log",
        "--log-level",
        "info",
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    def __init__(self, label: str, app: str, port: int, env: dict[str, str], log: Path) -> None:
        self.label = label
        self.app = app
        self.port = port
        self.env = env
        self.log_path = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def spawn(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                uvicorn_command(self.app, self.port),
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    async def start(self, probe: str, wait_seconds: float = 60) -> None:
        """Spawn the server and wait until `probe` answers 200."""
        self.spawn()
        assert self.process is not None
        deadline = time.monotonic() + wait_seconds
        connection = Connection("127.0.0.1", self.port, timeout=5)
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.label} exited at start:\n{self.log_tail()}")
            try:
                status, _ = await connection.request("GET", probe)
                if status == 200:
                    await connection.close()
                    return
            except HttpError:
                pass
            await asyncio.sleep(0.2)
        raise RuntimeError(
            f"{self.label} did not answer {probe} in {wait_seconds} s:\n{self.log_tail()}"
        )

    def check_alive(self) -> None:
        if self.process is None or self.process.poll() is not None:
            code = None if self.process is None else self.process.returncode
            raise RuntimeError(f"{self.label} is not running (exit {code}):\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def process_tree(pid: int) -> list[int]:
    """pid and its descendants (uvicorn with one worker runs in-process, but be sure)."""
    found = [pid]
    for tid in os.listdir(f"/proc/{pid}/task") if os.path.isdir(f"/proc/{pid}/task") else []:
        try:
            children = Path(f"/proc/{pid}/task/{tid}/children").read_text().split()
        except OSError:
            continue
        for child in children:
            found.extend(process_tree(int(child)))
    return found


def cpu_by_pid(pids: list[int]) -> dict[int, float]:
    """CPU seconds (user + system) each live process has used so far."""
    found = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
    return found


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between two readings by the processes alive at the second (a
    process that ended in between is lost; one that started counts from zero)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def cpu_seconds(pids: list[int]) -> float:
    return sum(cpu_by_pid(pids).values())


def memory_kib(pid: int) -> dict[str, int]:
    """VmHWM (peak resident set) and VmRSS of one process, in KiB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmHWM", "VmRSS"):
            found[name] = int(value.split()[0])
    return found
