"""A private PgBouncer in transaction pooling mode in front of the test server.

It runs Debian's `pgbouncer` (scripts/install-pgbouncer.sh) with a configuration of its own in
a fresh temporary directory, on a free port of 127.0.0.1, and forwards every database name to
the same database on the test server, logging in there as the test server's user. Each server
connection it opens first runs the service's session settings (its connect_query), as the
deployment docs ask (docs/scaling.md). As root it drops to the `postgres` OS user, since
PgBouncer refuses to run as root.
"""

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from sqlalchemy.engine import make_url

from app.config import Settings
from app.db import pgbouncer_connect_query
from tests.conftest import free_port

OS_USER = "postgres"


def pgbouncer_binary() -> str | None:
    return shutil.which("pgbouncer") or next(
        (p for p in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.path.exists(p)), None
    )


class PgBouncer:
    def __init__(self, server_url: str, settings: Settings, pool_size: int = 4) -> None:
        binary = pgbouncer_binary()
        if binary is None:
            raise RuntimeError("pgbouncer is not installed: run scripts/install-pgbouncer.sh")
        server = make_url(server_url)
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="rekam-pgbouncer-"))
        query = pgbouncer_connect_query(settings).replace("'", "''")
        backend = (
            f"host={server.host or '127.0.0.1'} port={server.port or 5432} "
            f"user={server.username or 'postgres'} connect_query='{query}'"
        )
        if server.password:
            backend += f" password={server.password}"
        (self.directory / "pgbouncer.ini").write_text(
            "\n".join(
                [
                    "[databases]",
                    f"* = {backend}",
                    "[pgbouncer]",
                    "listen_addr = 127.0.0.1",
                    f"listen_port = {self.port}",
                    f"unix_socket_dir = {self.directory}",
                    "pool_mode = transaction",
                    # Clients are let in unchecked; PgBouncer logs in to the server as above.
                    "auth_type = any",
                    f"default_pool_size = {pool_size}",
                    "max_client_conn = 200",
                    # Mirror what the service sends at start-up; anything else is refused.
                    "ignore_startup_parameters = extra_float_digits",
                    f"logfile = {self.directory / 'pgbouncer.log'}",
                    f"pidfile = {self.directory / 'pgbouncer.pid'}",
                    "",
                ]
            )
        )
        command = [binary]
        if os.geteuid() == 0:
            user = pwd.getpwnam(OS_USER)
            os.chown(self.directory, user.pw_uid, user.pw_gid)
            for path in self.directory.iterdir():
                os.chown(path, user.pw_uid, user.pw_gid)
            command += ["-u", OS_USER]
        self.process = subprocess.Popen(
            [*command, str(self.directory / "pgbouncer.ini")],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self._wait_until_listening()

    def url_for(self, database_url: str) -> str:
        """The same database, reached through this PgBouncer."""
        url = make_url(database_url).set(host="127.0.0.1", port=self.port, password=None)
        return url.render_as_string(hide_password=False)

    def log(self) -> str:
        path = self.directory / "pgbouncer.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = self.process.stdout.read().decode() if self.process.stdout else ""
                raise RuntimeError(f"pgbouncer exited: {output}{self.log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"pgbouncer did not listen within 15 s: {self.log()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)
