"""ASGI middleware: body size limit, request id and one JSON log line per request,
security headers. Pure ASGI, so streaming responses pass through untouched."""

import json
import logging
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import metrics

log = logging.getLogger("rekam.access")


class _BodyTooLarge(Exception):
    pass


async def _send_json(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """413 for a body over the limit, before it is read whole."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = f"the body is larger than {self.max_bytes} bytes"
        for name, value in scope["headers"]:
            if name == b"content-length" and (not value.isdigit() or int(value) > self.max_bytes):
                await _send_json(send, 413, too_large)
                return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await _send_json(send, 413, too_large)


SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
DASHBOARD_CSP = (
    b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    b"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


class RequestContext:
    """Request id (echoed or generated), security headers, and one JSON log line."""

    def __init__(self, app: ASGIApp, log_requests: bool = True) -> None:
        self.app = app
        self.log_requests = log_requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        is_dashboard = scope["path"].startswith("/dashboard")

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                headers.extend(SECURITY_HEADERS)
                if is_dashboard:
                    headers.append((b"content-security-policy", DASHBOARD_CSP))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
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


def _log_line(scope: Scope, request_id: str, status: int, seconds: float) -> None:
    state: dict[str, Any] = scope.get("state", {})
    actor = state.get("actor")
    log.info(
        json.dumps(
            {
                "method": scope["method"],
                "route": route_template(scope),
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "token_id": getattr(actor, "token_id", None),
                "role": getattr(actor, "role", None),
                "request_id": request_id,
            }
        )
    )
