"""A private PostgreSQL cluster for fault tests: initdb, pg_ctl start, stop and restart.

The cluster lives in a fresh temporary directory, listens on 127.0.0.1 on a free port (its
unix socket in the same directory), trusts local connections and keeps fsync on: the tests
that use it are about durability. As root, the binaries run as the `postgres` OS user (initdb
refuses root).
"""

import glob
import os
import pwd
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import free_port

SUPERUSER = "postgres"
OS_USER = "postgres"


def _candidates() -> Iterator[str]:
    if configured := os.environ.get("REKAM_PG_BIN"):
        yield configured
    yield from sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0,
        reverse=True,
    )
    if on_path := shutil.which("pg_ctl"):
        yield str(Path(on_path).parent)
    try:
        import pgserver  # type: ignore[import-untyped]
    except ImportError:
        return
    yield os.path.join(os.path.dirname(pgserver.__file__), "pginstall", "bin")


def find_bin_dir() -> tuple[Path | None, str]:
    """The directory holding initdb, pg_ctl and postgres; or None and why not."""
    tried = []
    for candidate in _candidates():
        path = Path(candidate)
        if all(os.access(path / name, os.X_OK) for name in ("initdb", "pg_ctl", "postgres")):
            return path, ""
        tried.append(candidate)
    return None, "no PostgreSQL binaries (initdb, pg_ctl, postgres) in " + (
        ", ".join(tried) or "/usr/lib/postgresql/*/bin, PATH or the pgserver package"
    )


def unavailable_reason() -> str | None:
    """Why a private cluster cannot run here, or None when it can."""
    bin_dir, why = find_bin_dir()
    if bin_dir is None:
        return why
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(OS_USER)
        except KeyError:
            return f"running as root and there is no {OS_USER!r} OS user to run initdb as"
        if shutil.which("runuser") is None and shutil.which("su") is None:
            return "running as root without runuser or su to drop privileges"
    return None


class PgCluster:
    """One PostgreSQL cluster in a temporary directory; call cleanup() in a finally."""

    def __init__(self) -> None:
        bin_dir, why = find_bin_dir()
        if bin_dir is None:
            raise RuntimeError(why)
        self.bin_dir = bin_dir
        self.as_root = os.geteuid() == 0
        self.root = Path(tempfile.mkdtemp(prefix="rekam-pgcluster-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = free_port()
        if self.as_root:
            user = pwd.getpwnam(OS_USER)
            os.chown(self.root, user.pw_uid, user.pw_gid)
        os.chmod(self.root, 0o700)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _command(self, *args: str) -> list[str]:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if not self.as_root:
            return command
        if runuser := shutil.which("runuser"):
            return [runuser, "-u", OS_USER, "--", *command]
        return ["su", OS_USER, "-s", "/bin/sh", "-c", shlex.join(command)]

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            self._command(*args),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.root,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
                f"\n--- server log ---\n{self.log_tail()}"
            )
        return result

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def init(self) -> None:
        self._run(
            "initdb", "-D", str(self.data), "-A", "trust", "-U", SUPERUSER, "-E", "UTF8",
            "--locale=C",
        )  # fmt: skip
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.root}'",
            # Durability is what the fault tests check: never trade it for speed here.
            "fsync": "on",
            "synchronous_commit": "on",
            "full_page_writes": "on",
            "max_connections": "100",
            "shared_buffers": "32MB",
            "logging_collector": "off",
        }
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("\n# rekam fault tests\n")
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def restart(self, mode: str = "fast") -> None:
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-m", mode, "-w", "-t", "60",
            "restart",
        )  # fmt: skip

    def is_running(self) -> bool:
        command = self._command("pg_ctl", "-D", str(self.data), "status")
        return subprocess.run(command, capture_output=True, check=False).returncode == 0

    def wait_accepting(self, timeout: float = 30) -> None:
        """pg_ctl -w returns once the postmaster accepts connections; this double-checks."""
        import socket

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"PostgreSQL on port {self.port} did not come up")

    def cleanup(self) -> None:
        """Stop the cluster (immediately: nothing in it is kept) and remove its directory."""
        try:
            if self.data.exists() and self.is_running():
                self.stop("immediate")
        except (RuntimeError, subprocess.TimeoutExpired):
            pid_file = self.data / "postmaster.pid"
            try:
                pid = int(pid_file.read_text().splitlines()[0])
                os.kill(pid, signal.SIGQUIT)  # the postmaster's immediate shutdown
            except (OSError, ValueError, IndexError):
                pass
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
