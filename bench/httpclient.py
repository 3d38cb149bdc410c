"""A small HTTP/1.1 keep-alive client on asyncio streams: a few microseconds of CPU per request,
so the client never costs more than the server it measures (httpx costs ~10x more)."""

import asyncio
import contextlib
import time
from collections.abc import Mapping


class HttpError(Exception):
    pass


# uvicorn closes a keep-alive connection idle for 5 s; one idle longer than this is
# reopened before it is used, rather than found closed halfway through a request.
IDLE_REOPEN_SECONDS = 3.0


class Connection:
    """One keep-alive connection; requests on it are sequential."""

    def __init__(self, host: str, port: int, timeout: float = 120.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._last_used = 0.0

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._writer is not None and time.monotonic() - self._last_used > IDLE_REOPEN_SECONDS:
            await self.close()
        if self._reader is None or self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(
                self.host, self.port, limit=1 << 24
            )
        return self._reader, self._writer

    def encode(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> bytes:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}")
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        return head + (body or b"")

    async def send_raw(self, request: bytes) -> tuple[int, bytes]:
        """Send an encoded request; returns (status, body)."""
        try:
            reader, writer = await self._open()
            writer.write(request)
            answer = await asyncio.wait_for(self._read_response(reader), self.timeout)
            self._last_used = time.monotonic()
            return answer
        except (OSError, asyncio.IncompleteReadError, TimeoutError) as error:
            await self.close()
            raise HttpError(f"{type(error).__name__}: {error}") from error

    async def request(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> tuple[int, bytes]:
        return await self.send_raw(self.encode(method, path, headers, body))

    async def timed(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> tuple[int, bytes, float]:
        """(status, body, seconds from the first byte sent to the last byte received)."""
        request = self.encode(method, path, headers, body)
        started = time.perf_counter()
        status, payload = await self.send_raw(request)
        return status, payload, time.perf_counter() - started

    async def timed_with_headers(
        self, method: str, path: str, headers: Mapping[str, str] | None = None
    ) -> tuple[int, bytes, dict[str, str]]:
        """(status, body, the response's headers by lower-case name)."""
        self.keep_headers = True
        status, payload = await self.request(method, path, headers)
        return status, payload, self.last_headers

    keep_headers = False
    last_headers: dict[str, str] = {}

    async def _read_response(self, reader: asyncio.StreamReader) -> tuple[int, bytes]:
        head = await reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/"):
            raise HttpError(f"bad status line {status_line!r}")
        status = int(parts[1])
        length = None
        chunked = False
        close = False
        seen: dict[str, str] = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if self.keep_headers:
                seen[name] = value.strip()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
            elif name == "connection" and value.strip().lower() == "close":
                close = True
        if status in (204, 304) or status < 200:
            # No body, whatever the headers say (RFC 9112, 6.3): a 304 has no Content-Length.
            body = b""
        elif chunked:
            body = b""
            while True:
                size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
                if size == 0:
                    await reader.readuntil(b"\r\n")
                    break
                body += await reader.readexactly(size)
                await reader.readexactly(2)
        elif length is not None:
            body = await reader.readexactly(length)
        else:
            body = await reader.read()
            close = True
        if close:
            await self.close()
        self.last_headers = seen
        return status, body

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
