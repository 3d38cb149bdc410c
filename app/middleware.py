"""ASGI middleware: the request body read whole before the app runs, request id, security
headers, send timeouts and one JSON log line per request. Pure ASGI, so streaming responses
pass through untouched."""

import asyncio
import json
import logging
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import metrics
from app.errors import PROBLEM_JSON, problem_body

log = logging.getLogger("rekam.access")
errors_log = logging.getLogger("rekam")


async def send_problem(
    send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    """A problem+json answer from middleware, which runs outside the app's error handlers."""
    body = json.dumps(problem_body(status, detail)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class _BodyProblem(Exception):
    def __init__(self, status: int, detail: str) -> None:
        self.status = status
        self.detail = detail


class BufferedBody:
    """Reads the whole request body, bounded in size and time, before the app sees the
    request: no route, and so no database connection, ever waits on a slow sender.
    413 past max_bytes, 408 when the body takes longer than timeout seconds."""

    def __init__(self, app: ASGIApp, max_bytes: int, timeout: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            body = await self._read(scope, receive)
        except _BodyProblem as problem:
            await send_problem(send, problem.status, problem.detail, [(b"connection", b"close")])
            return
        if body is None:  # the client went away while sending
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            # After the body, the only message left is the client's disconnect.
            return await receive()

        await self.app(scope, replay, send)

    async def _read(self, scope: Scope, receive: Receive) -> bytes | None:
        too_large = f"the body is larger than {self.max_bytes} bytes"
        for name, value in scope["headers"]:
            if name == b"content-length" and (not value.isdigit() or int(value) > self.max_bytes):
                raise _BodyProblem(413, too_large)
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return None
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise _BodyProblem(413, too_large)
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        return b"".join(chunks)
        except TimeoutError:
            raise _BodyProblem(
                408, f"the request body did not arrive within {self.timeout:g} seconds"
            ) from None


SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
DASHBOARD_CSP = (
    b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    b"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def serves_a_page(path: str) -> bool:
    """The dashboard's and Lapor's pages and assets, which run under DASHBOARD_CSP."""
    return path.startswith("/dashboard") or path == "/lapor" or path.startswith("/lapor/")


class _ClientStoppedReading(Exception):
    pass


class RequestContext:
    """Request id (echoed or generated), security headers on every response, a bound on how
    long a client may take to accept each part of a response, and one JSON log line."""

    def __init__(self, app: ASGIApp, send_timeout: float, log_requests: bool = True) -> None:
        self.app = app
        self.send_timeout = send_timeout
        self.log_requests = log_requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        response_started = False
        own_headers = [(b"x-request-id", request_id.encode()), *SECURITY_HEADERS]
        if serves_a_page(scope["path"]):
            own_headers.append((b"content-security-policy", DASHBOARD_CSP))

        async def send_with_headers(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message["headers"] = [*message.get("headers", []), *own_headers]
            try:
                async with asyncio.timeout(self.send_timeout):
                    await send(message)
            except TimeoutError:
                raise _ClientStoppedReading from None

        try:
            await self.app(scope, receive, send_with_headers)
        except _ClientStoppedReading:
            # Returning without finishing the response makes the server close the connection.
            errors_log.warning(
                "closed %s after the client read nothing for %g s (request %s)",
                json.dumps(scope["path"]),
                self.send_timeout,
                request_id,
            )
        except Exception:
            # A bug, not the client's doing: its traceback goes to the log once, and the
            # client still gets a problem with the usual headers instead of a bare 500.
            errors_log.exception("unhandled error in request %s", request_id)
            if response_started:
                raise
            status = 500
            await send_problem(send, 500, "an unexpected error occurred", own_headers)
        finally:
            seconds = time.perf_counter() - started
            metrics.observe_request(route_template(scope), scope["method"], status, seconds)
            if self.log_requests:
                _log_line(scope, request_id, status, seconds)


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            # Echo a caller's id only when it is a plain token, never arbitrary text.
            if (
                0 < len(candidate) <= 128
                and candidate.isascii()
                and all(c.isalnum() or c in "-_.:" for c in candidate)
            ):
                return candidate
    return uuid.uuid4().hex


def route_template(scope: Scope) -> str:
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else "unmatched"


def _path_as_sent(scope: Scope) -> str:
    raw = scope.get("raw_path")
    return raw.decode("latin-1") if isinstance(raw, bytes) else str(scope["path"])


def _log_line(scope: Scope, request_id: str, status: int, seconds: float) -> None:
    state: dict[str, Any] = scope.get("state", {})
    actor = state.get("actor")
    # json.dumps escapes every control character, so a hostile path cannot reach a terminal.
    log.info(
        json.dumps(
            {
                "method": scope["method"],
                "path": _path_as_sent(scope),
                "route": route_template(scope),
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "token_id": getattr(actor, "token_id", None),
                "role": getattr(actor, "role", None),
                "request_id": request_id,
            }
        )
    )
