"""Fuzz the running service against its own OpenAPI document with Schemathesis.

Starts Rekam on 127.0.0.1 over a fresh database (on REKAM_TEST_DATABASE_URL's server, else an
embedded PostgreSQL), seeds a small region tree with offices and tokens, then runs every
Schemathesis phase (stateful included) with a fixed seed, once with an admin token and once
with an office token. Exits non-zero on any finding.
"""

import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from app.config import normalise_database_url
from app.migrate import create_database, drop_database, upgrade

ROOT = Path(__file__).resolve().parent.parent
SEED = os.environ.get("REKAM_FUZZ_SEED", "20261128")
EXAMPLES = os.environ.get("REKAM_FUZZ_EXAMPLES", "25")
ADMIN_TOKEN = "rekam-fuzz-admin-" + secrets.token_hex(8)


def server_url() -> tuple[str, object]:
    configured = os.environ.get("REKAM_TEST_DATABASE_URL")
    if configured:
        return normalise_database_url(configured), None
    from pgserver import get_server  # type: ignore[attr-defined]

    server = get_server(
        Path(tempfile.mkdtemp(prefix="rekam-fuzz-")) / "pgdata", cleanup_mode="delete"
    )
    return normalise_database_url(server.get_uri()), server


def admin_client(base_url: str) -> httpx.Client:
    return httpx.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=30
    )


def seed(base_url: str) -> None:
    """A small tree to fuzz against."""
    with admin_client(base_url) as client:
        for code in ("73", "73.71", "73.71.01"):
            client.put(
                f"/api/v1/regions/{code}", json={"name": f"Region {code}"}
            ).raise_for_status()
        for office in ("FZ-A", "FZ-B"):
            client.put(
                f"/api/v1/offices/{office}",
                json={"name": office, "region": "73.71.01", "opened_on": "2020-01-01"},
            ).raise_for_status()
        client.put(
            "/api/v1/regions/73.71/figures/2024-01-01", json={"eligible": 1000, "recorded": 700}
        ).raise_for_status()


def office_token(base_url: str) -> str:
    with admin_client(base_url) as client:
        response = client.post("/api/v1/tokens", json={"role": "office", "office": "FZ-A"})
        response.raise_for_status()
        return str(response.json()["token"])


def schemathesis(base_url: str, token: str, label: str) -> int:
    report = ROOT / "artifacts" / f"schemathesis-{label}.xml"
    report.parent.mkdir(exist_ok=True)
    command = [
        str(Path(sys.executable).parent / "schemathesis"), "run", f"{base_url}/openapi.json",
        "--header", f"Authorization: Bearer {token}",
        "--phases", "examples,coverage,fuzzing,stateful",
        "--checks", "all",
        # Rules no schema can state (ranges, existing parents, edit windows, If-Match) make
        # some schema-valid requests 4xx by design.
        "--exclude-checks", "positive_data_acceptance",
        "--seed", SEED, "--max-examples", EXAMPLES,
        "--generation-database", "none",
        "--workers", "1",
        "--request-timeout", "30",
        "--report", "junit", "--report-junit-path", str(report),
        "--no-color",
    ]  # fmt: skip
    print(f"fuzz: schemathesis with the {label} token", flush=True)
    return subprocess.call(command, cwd=ROOT)


def main() -> int:
    server, embedded = server_url()
    name = f"rekam_fuzz_{os.getpid()}"
    url = create_database(server, name)
    upgrade(url)
    port = 8700 + os.getpid() % 200
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "REKAM_DATABASE_URL": url,
        "REKAM_ADMIN_TOKEN": ADMIN_TOKEN,
        "REKAM_LOG_REQUESTS": "false",
        "REKAM_RATE_LIMIT_PER_MINUTE": "1000000",
        "REKAM_AUTH_FAILURES_PER_MINUTE": "1000000",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base_url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        seed(base_url)
        failures = schemathesis(base_url, ADMIN_TOKEN, "admin")
        # Made after the admin run, which revokes the tokens it finds.
        failures += schemathesis(base_url, office_token(base_url), "office")
        return 1 if failures else 0
    finally:
        process.terminate()
        process.wait(timeout=30)
        drop_database(server, url)
        if embedded is not None:
            embedded.cleanup()  # type: ignore[attr-defined]


if __name__ == "__main__":
    sys.exit(main())
