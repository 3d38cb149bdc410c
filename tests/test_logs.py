"""`rekam serve`'s logs: one JSON object per request on stdout, every other line on stderr, and
no control character a client sent ever written raw."""

import json
import logging
import sys
from collections.abc import Iterator

import httpx
import pytest

from app.logs import TEXT_FORMAT, EscapingFormatter, JsonLineFormatter, escape
from tests.conftest import ADMIN, ADMIN_TOKEN, RekamServe, drop_database, new_database
from tests.helpers import bearer

# The formatters


def record(message: str, *args: object, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("bad \x1b[2J value")
        except ValueError:
            exc_info = sys.exc_info()
    return logging.LogRecord("rekam", logging.WARNING, __file__, 1, message, args, exc_info)


def test_escape_writes_control_characters_as_escapes():
    assert escape("/\x1b[31mred\x00\x7f\n\r\t\u2028") == ("/\\x1b[31mred\\x00\\x7f\\n\\r\\t\\u2028")
    assert escape("Kota Makassar ü ✓") == "Kota Makassar ü ✓"


def test_a_text_line_escapes_its_message_and_stays_one_line():
    line = EscapingFormatter(TEXT_FORMAT).format(
        record("database unavailable on %s %s", "GET", "/api/\x1b[31m\nINFO forged")
    )

    assert "\x1b" not in line
    assert "\n" not in line
    assert line.endswith("database unavailable on GET /api/\\x1b[31m\\nINFO forged")


def test_a_traceback_keeps_its_lines_but_not_their_control_characters():
    text = EscapingFormatter(TEXT_FORMAT).format(record("failed", exc=True))

    assert "\x1b" not in text
    assert "Traceback" in text.splitlines()[1]
    assert text.splitlines()[-1] == "ValueError: bad \\x1b[2J value"


def test_a_json_line_is_written_as_it_is_and_anything_else_escaped():
    formatter = JsonLineFormatter()
    document = json.dumps({"path": "/\x1b[31m", "status": 404})

    assert formatter.format(record(document)) == document
    assert formatter.format(record('{"path": "/\x7f"}')) == '{"path": "/\\u007f"}'
    assert formatter.format(record("not json \x1b[31m")) == "not json \\x1b[31m"


# `rekam serve`


@pytest.fixture
def empty_database(server_url: str) -> Iterator[str]:
    """An empty database: `rekam serve` migrates it itself."""
    url = new_database(server_url, "logs")
    yield url
    drop_database(server_url, url)


def test_serve_logs_each_request_as_one_json_line_on_stdout(server_url, empty_database):
    server = RekamServe(empty_database, "--workers", "2", REKAM_LOG_REQUESTS="true")
    try:
        with httpx.Client(base_url=server.base_url, timeout=10) as http:
            created = http.post(
                "/api/v1/tokens",
                json={"role": "viewer", "name": "logs"},
                headers={**ADMIN, "X-Request-ID": "log-admin"},
            )
            assert created.status_code == 201, created.text
            viewer = created.json()
            anonymous = http.get("/api/v1/regions/ID", headers={"X-Request-ID": "log-anonymous"})
            read = http.get(
                "/api/v1/regions/ID",
                headers={**bearer(viewer["token"]), "X-Request-ID": "log-viewer"},
            )
            escaped = http.get("/%1B[31mred", headers={"X-Request-ID": "log-escape"})
            # With its database gone, the service logs a warning naming the path on stderr.
            drop_database(server_url, empty_database)
            unavailable = http.get(
                "/api/v1/regions/%1B[31mred",
                headers={**bearer(viewer["token"]), "X-Request-ID": "log-unavailable"},
            )
    finally:
        server.stop()
    stdout, stderr = server.stdout_bytes(), server.stderr_bytes()

    assert (anonymous.status_code, read.status_code, escaped.status_code) == (401, 200, 404)
    assert unavailable.status_code == 503
    assert b"\x1b" not in stdout
    assert b"\x1b" not in stderr, stderr.decode(errors="replace")
    lines = stdout.decode().splitlines()
    assert lines, f"no request log on stdout; stderr was:\n{stderr.decode(errors='replace')}"
    logged = [json.loads(line) for line in lines]
    assert all(isinstance(entry, dict) for entry in logged)
    by_id = {}
    for line, entry in zip(lines, logged, strict=True):
        assert line.isprintable(), line
        assert {"method", "status", "duration_ms", "request_id", "token_id"} <= set(entry)
        assert entry["request_id"] not in by_id, "one line per request"
        by_id[entry["request_id"]] = entry
    expected = {
        "log-admin": ("POST", 201, None),
        "log-anonymous": ("GET", 401, None),
        "log-viewer": ("GET", 200, viewer["id"]),
        "log-escape": ("GET", 404, None),
        "log-unavailable": ("GET", 503, None),
    }
    for request_id, (method, status, token_id) in expected.items():
        entry = by_id[request_id]
        assert (entry["method"], entry["status"], entry["token_id"]) == (method, status, token_id)
        assert entry["duration_ms"] >= 0
        if "path" in entry:
            assert entry["path"].startswith("/")
    everything = (stdout + stderr).decode(errors="replace")
    for secret in (viewer["token"], ADMIN_TOKEN):
        assert secret not in everything
    text = stderr.decode()
    assert "Rekam serving on" in text
    assert "uvicorn" in text
    assert "Rekam serving on" not in stdout.decode()
