"""Slow clients cannot exhaust the database pool.

A real uvicorn on 127.0.0.1 with a pool of two connections, under two attacks at once:
national counts.csv downloads of ten years whose readers stop reading, and count PUTs whose
bodies trickle in a byte at a time. Meanwhile /readyz and an ordinary read must still answer
200 (an exhausted pool answers 503 after its 10 s checkout timeout); the trickled bodies get
408 once REKAM_BODY_TIMEOUT_SECONDS pass, and the stalled downloads are cut off once
REKAM_SEND_TIMEOUT_SECONDS pass. Each socket operation is bounded in time.
"""

import asyncio
import socket
import time
from collections.abc import Iterator
from datetime import timedelta

import asyncpg
import httpx
import pytest

from tests.conftest import ADMIN, LiveServer
from tests.helpers import today

BODY_TIMEOUT = 3
SEND_TIMEOUT = 4
OFFICES = 20
DAYS = 3650


@pytest.fixture(scope="module")
def slow_server(server_url: str) -> Iterator[LiveServer]:
    server = LiveServer(
        server_url,
        "slow",
        REKAM_POOL_SIZE="2",
        REKAM_MAX_OVERFLOW="0",
        REKAM_PUBLIC_READ="true",
        REKAM_BODY_TIMEOUT_SECONDS=str(BODY_TIMEOUT),
        REKAM_SEND_TIMEOUT_SECONDS=str(SEND_TIMEOUT),
        REKAM_RATE_LIMIT_PER_MINUTE="100000",
    )
    server.start()
    try:
        with httpx.Client(base_url=server.base_url, headers=ADMIN, timeout=30) as client:
            for code in ("73", "73.71", "73.71.01"):
                client.put(f"/api/v1/regions/{code}", json={"name": f"R {code}"}).raise_for_status()
            for n in range(OFFICES):
                client.put(
                    f"/api/v1/offices/SLOW-{n:02}",
                    json={"name": f"Office {n}", "region": "73.71.01"},
                ).raise_for_status()
        # Ten years of counts with long notes, straight into the table: the export reads
        # counts alone, and the file must be far larger than the sockets' buffers.
        asyncio.run(_fill(server.database_url))
        yield server
    finally:
        server.close()


async def _fill(database_url: str) -> None:
    connection = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await connection.execute(
            """
            INSERT INTO counts (office_id, date, recordings, note, version, updated_at)
            SELECT o.id, d::date, 7, repeat('catatan ', 12), 1, now()
            FROM offices o, generate_series($1::date, $2::date, interval '1 day') AS d
            """,
            today() - timedelta(days=DAYS - 1),
            today(),
        )
    finally:
        await connection.close()


def _connect(server: LiveServer) -> socket.socket:
    sock = socket.socket()
    # A tiny receive window, so the server's sends block as soon as the client stops reading.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", server.port))
    return sock


def _stalled_download(server: LiveServer) -> socket.socket:
    start = today() - timedelta(days=DAYS - 1)
    sock = _connect(server)
    sock.sendall(
        f"GET /api/v1/counts.csv?region=ID&from={start}&to={today()} HTTP/1.1\r\n"
        "Host: 127.0.0.1\r\n\r\n".encode()
    )
    assert sock.recv(1000).startswith(b"HTTP/1.1 200")
    return sock


def _trickled_put(server: LiveServer, n: int) -> socket.socket:
    sock = _connect(server)
    sock.sendall(
        f"PUT /api/v1/offices/SLOW-{n:02}/counts/{today()} HTTP/1.1\r\n"
        f"Host: 127.0.0.1\r\nAuthorization: {ADMIN['Authorization']}\r\n"
        "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{".encode()
    )
    return sock


def _read_to_end(sock: socket.socket, limit_seconds: float) -> bytes:
    received = b""
    deadline = time.monotonic() + limit_seconds
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(1 << 16)
        except (TimeoutError, ConnectionResetError):
            break
        if not chunk:
            break
        received += chunk
    return received


def test_slow_clients_do_not_exhaust_the_pool(slow_server):
    downloads = [_stalled_download(slow_server) for _ in range(4)]
    stalled_since = time.monotonic()
    puts = [_trickled_put(slow_server, n) for n in range(4)]
    answered = []
    try:
        with httpx.Client(base_url=slow_server.base_url, timeout=30) as client:
            began = time.monotonic()
            while time.monotonic() - began < BODY_TIMEOUT - 0.5:
                for sock in puts:
                    sock.sendall(b" ")
                for path in ("/readyz", "/api/v1/progress/73.71", "/api/v1/offices/SLOW-00"):
                    sent = time.monotonic()
                    response = client.get(path)
                    answered.append((path, response.status_code, time.monotonic() - sent))
                time.sleep(0.5)
        for sock in puts:
            reply = _read_to_end(sock, BODY_TIMEOUT + 10)
            assert reply.startswith(b"HTTP/1.1 408"), reply[:200]
            assert b"application/problem+json" in reply
        for sock in downloads:
            # Past the send timeout the server has given up: reading now finds the end of
            # what it had buffered, and not the end of the file.
            time.sleep(max(0.0, stalled_since + SEND_TIMEOUT + 2 - time.monotonic()))
            rest = _read_to_end(sock, SEND_TIMEOUT + 20)
            assert not rest.endswith(b"0\r\n\r\n"), "the whole export was sent to a stalled reader"
    finally:
        for sock in downloads + puts:
            sock.close()
    print("reads during the attacks (path, status, seconds):", answered)
    assert answered
    assert all(status == 200 for _, status, _ in answered), answered
    with httpx.Client(base_url=slow_server.base_url, headers=ADMIN, timeout=30) as client:
        stored = client.get(f"/api/v1/offices/SLOW-00/counts/{today()}").json()
        # The trickled PUTs wrote nothing: the count is the one loaded before.
        assert stored["version"] == 1


def test_a_complete_export_still_arrives_whole(slow_server):
    start = today() - timedelta(days=DAYS - 1)
    with httpx.Client(base_url=slow_server.base_url, timeout=60) as client:
        response = client.get("/api/v1/counts.csv", params={"region": "73", "from": str(start)})
    assert response.status_code == 200
    lines = response.text.splitlines()
    assert lines[0] == "office,region,date,recordings,note"
    assert len(lines) == 1 + OFFICES * DAYS
    dates = [line.split(",")[2] for line in lines[1:]]
    assert dates == sorted(dates)
