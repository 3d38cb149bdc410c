"""Fuzz the running service against its own OpenAPI document with Schemathesis.

Starts Rekam on 127.0.0.1 over a fresh database (on REKAM_TEST_DATABASE_URL's server, else an
embedded PostgreSQL), seeds a small region tree with offices and tokens, then, for each of
several fixed seeds: sends every write route bodies no JSON route may take (non-finite
numbers, text that is not UTF-8, random bytes, deep nesting), which must each get a 4xx
problem, and runs every Schemathesis phase (stateful included), once with an admin token and
once with an office token. Exits non-zero on any finding.
"""

import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from app.config import normalise_database_url
from app.migrate import create_database, drop_database, upgrade

ROOT = Path(__file__).resolve().parent.parent
# Each seed is a run of its own: another seed draws other inputs.
SEEDS = os.environ.get("REKAM_FUZZ_SEEDS", "20261128,20261202").split(",")
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


def seed_tree(base_url: str) -> None:
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


def schemathesis(base_url: str, token: str, label: str, seed: str) -> int:
    report = ROOT / "artifacts" / f"schemathesis-{label}-{seed}.xml"
    report.parent.mkdir(exist_ok=True)
    command = [
        str(Path(sys.executable).parent / "schemathesis"), "run", f"{base_url}/openapi.json",
        "--header", f"Authorization: Bearer {token}",
        "--phases", "examples,coverage,fuzzing,stateful",
        "--checks", "all",
        # Rules no schema can state (ranges, existing parents, edit windows, If-Match) make
        # some schema-valid requests 4xx by design.
        "--exclude-checks", "positive_data_acceptance",
        "--seed", seed, "--max-examples", EXAMPLES,
        "--generation-database", "none",
        "--workers", "1",
        "--request-timeout", "30",
        "--report", "junit", "--report-junit-path", str(report),
        "--no-color",
    ]  # fmt: skip
    print(f"fuzz: schemathesis with the {label} token, seed {seed}", flush=True)
    return subprocess.call(command, cwd=ROOT)


# Values for the path parameters of the seeded tree, by parameter name.
PATH_VALUES = {"code": "73.71.01", "date": "2024-01-01", "token_id": "1"}
OFFICE_PATH_VALUES = {"code": "FZ-A"}


def _bad_bodies(rng: random.Random, schema_numbers: list[str]) -> list[tuple[str, bytes]]:
    """Bodies no JSON route may take, each with a label: numbers JSON has not (in every
    numeric member the route's schema names), text that is not UTF-8, random bytes and
    nesting deeper than the parser goes."""
    bodies: list[tuple[str, bytes]] = []
    for member in schema_numbers or ["recordings"]:
        for number in ("NaN", "Infinity", "-Infinity", "1e309", "-1e999"):
            bodies.append((f"{member}={number}", f'{{"{member}": {number}}}'.encode()))
    text = '{"name": "Pangkajene dan Kepulauan é", "recordings": 1}'
    for encoding in ("utf-16", "utf-16-be", "utf-32", "latin-1", "cp1252"):
        bodies.append((encoding, text.encode(encoding)))
    for n in range(5):
        noise = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
        bodies.append((f"bytes-{n}", noise))
        cut = rng.randrange(1, len(text))
        bodies.append((f"stray-{n}", text[:cut].encode() + b"\xe2\xc0" + text[cut:].encode()))
    depth = rng.choice([1_000, 10_000, 200_000])
    bodies.append((f"depth-{depth}", b"[" * depth + b"]" * depth))
    return bodies


def _numeric_members(document: dict[str, Any], operation: dict[str, Any]) -> list[str]:
    content = operation.get("requestBody", {}).get("content", {})
    ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
    schema = document["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {})
    members = []
    for name, prop in schema.get("properties", {}).items():
        kinds = [prop.get("type")] + [option.get("type") for option in prop.get("anyOf", [])]
        if "integer" in kinds or "number" in kinds:
            members.append(name)
    return members


def bad_bodies(base_url: str, token: str, seed: int) -> int:
    """Every write route of the OpenAPI document must answer a bad body with a 4xx problem
    (never a 5xx, never a dropped connection)."""
    rng = random.Random(seed)
    failures = 0
    with httpx.Client(base_url=base_url, timeout=30) as client:
        document = client.get("/openapi.json").json()
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                if "requestBody" not in operation:
                    continue
                values = {**PATH_VALUES, **(OFFICE_PATH_VALUES if "/offices/" in path else {})}
                url = path.format(**values)
                for label, body in _bad_bodies(rng, _numeric_members(document, operation)):
                    response = client.request(
                        method,
                        url,
                        content=body,
                        headers={
                            "Authorization": f"Bearer {token}",
                            "Content-Type": "application/json",
                        },
                    )
                    problem = response.headers.get("content-type") == "application/problem+json"
                    if not (400 <= response.status_code < 500 and problem):
                        failures += 1
                        print(
                            f"fuzz: {method.upper()} {url} with {label}: "
                            f"{response.status_code} {response.text[:200]!r}",
                            flush=True,
                        )
    print(f"fuzz: bad bodies to every write route, seed {seed}: {failures} failures", flush=True)
    return failures


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
        seed_tree(base_url)
        failures = 0
        for seed in SEEDS:
            failures += bad_bodies(base_url, ADMIN_TOKEN, int(seed))
            failures += schemathesis(base_url, ADMIN_TOKEN, "admin", seed)
            # Made after the admin run, which revokes the tokens it finds.
            failures += schemathesis(base_url, office_token(base_url), "office", seed)
        return 1 if failures else 0
    finally:
        process.terminate()
        process.wait(timeout=30)
        drop_database(server, url)
        if embedded is not None:
            embedded.cleanup()  # type: ignore[attr-defined]


if __name__ == "__main__":
    sys.exit(main())
