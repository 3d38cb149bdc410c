"""Domain errors and the handlers that turn them, and database faults, into JSON."""

import logging
from http import HTTPStatus
from typing import Any

import asyncpg
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount

log = logging.getLogger("rekam")

RETRY_AFTER_SECONDS = "5"


class RekamError(Exception):
    status_code = 400
    headers: dict[str, str] = {}

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class Invalid(RekamError):
    status_code = 422


class NotFound(RekamError):
    status_code = 404


class Unauthorized(RekamError):
    status_code = 401
    headers = {"WWW-Authenticate": "Bearer"}


class Forbidden(RekamError):
    status_code = 403


class Conflict(RekamError):
    """The request is valid, but the stored state forbids it (a region still in use)."""

    status_code = 409


class PreconditionFailed(RekamError):
    status_code = 412


class TooLarge(RekamError):
    status_code = 413


class RequestTimeout(RekamError):
    status_code = 408
    headers = {"Connection": "close"}


class UnsupportedMediaType(RekamError):
    status_code = 415


class RateLimited(RekamError):
    status_code = 429

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": str(retry_after)}


class Unavailable(RekamError):
    status_code = 503
    headers = {"Retry-After": RETRY_AFTER_SECONDS}


# Every conditional read revalidates before use (app/etags.py).
CACHE_CONTROL = "no-cache"


class NotModified(Exception):
    """A conditional read the client already has (app/etags.py): 304, no body. Not an
    error, but raised so that the body's query never runs."""

    def __init__(self, tag: str) -> None:
        super().__init__(tag)
        self.tag = tag


PROBLEM_JSON = "application/problem+json"
# How much of a client's input an error message may quote.
EXCERPT_CHARS = 40


def excerpt(value: object) -> str:
    """A short, printable quotation of client input, for error messages."""
    text = repr(value) if isinstance(value, str) else repr(str(value))
    if len(text) > EXCERPT_CHARS:
        text = text[: EXCERPT_CHARS - 4] + "...'"
    return text


def problem_body(status: int, detail: str, **extra: Any) -> dict[str, Any]:
    """RFC 9457 problem details; `about:blank` because the status says what kind it is."""
    return {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        **extra,
    }


def error_response(
    status: int, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    return JSONResponse(
        problem_body(status, detail, **extra),
        status_code=status,
        headers=headers,
        media_type=PROBLEM_JSON,
    )


async def _rekam_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RekamError)
    return error_response(error.status_code, error.detail, error.headers, **error.extra)


def _field(location: tuple[Any, ...]) -> str:
    """`body.recordings` for a body member, the bare name for a query, path or header."""
    if location and location[0] == "body":
        return ".".join(str(part) for part in location)
    return ".".join(str(part) for part in location[1:]) or str(location[0])


def _message(item: dict[str, Any]) -> str:
    if item["type"] == "json_invalid":
        return f"the body is not valid JSON: {item.get('ctx', {}).get('error', 'cannot parse')}"
    if item["type"] == "missing":
        return "required"
    # A ValueError raised by a validator of ours: its text alone is the message.
    return str(item["msg"]).removeprefix("Value error, ")


async def _validation_error(_: Request, error: Exception) -> JSONResponse:
    # Pydantic's items echo the input (which may be NaN, bytes or 1,000 levels deep) and
    # carry internals; the client gets the field and the message only.
    assert isinstance(error, RequestValidationError)
    problems = [
        {"field": _field(tuple(item.get("loc", ()))), "message": _message(item)}
        for item in error.errors()
    ]
    if len(problems) == 1:
        detail = f"{problems[0]['field']}: {problems[0]['message']}"
    else:
        detail = f"{len(problems)} fields are invalid: see errors"
    return error_response(422, detail, errors=problems)


async def _database_error(request: Request, error: Exception) -> JSONResponse:
    # SQLSTATE class 22 is a data exception: the input, not the database, is at fault. (The
    # driver's own errors carry it themselves; the session's wrap the driver's.)
    raised = error if isinstance(error, asyncpg.PostgresError) else getattr(error, "orig", None)
    sqlstate = getattr(raised, "sqlstate", None) or ""
    if sqlstate.startswith("22"):
        return error_response(422, "invalid input: a value the database cannot store")
    return await _database_unavailable(request, error)


async def _database_unavailable(request: Request, error: Exception) -> JSONResponse:
    # An outage or a timeout is the database's state, not the client's fault: ask to retry.
    log.warning(
        "database unavailable on %s %s: %s",
        request.method,
        excerpt(request.url.path),
        repr(error)[:300],
    )
    return error_response(
        503, "the database is unavailable; retry shortly", {"Retry-After": RETRY_AFTER_SECONDS}
    )


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path, found by asking the routes (included
    routers hold theirs nested); a mount serves static files, so GET and HEAD."""
    allowed = []
    for method in _METHODS:
        scope = {**request.scope, "method": method}
        for route in request.app.router.routes:
            match, _ = route.matches(scope)
            if match == Match.FULL and (not isinstance(route, Mount) or method in ("GET", "HEAD")):
                allowed.append(method)
                break
    return allowed


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    if error.status_code == 400:
        # The framework's answer to a body it cannot decode: invalid input like any other.
        return error_response(422, "the request body cannot be parsed")
    headers = dict(error.headers or {})
    detail = str(error.detail)
    if error.status_code == 404 and detail == "Not Found":
        detail = f"nothing is served at {excerpt(request.url.path)}"
    if error.status_code == 405:
        allowed = allowed_methods(request)
        headers["Allow"] = ", ".join(allowed)
        detail = f"{request.method} is not allowed here; use {' or '.join(allowed)}"
    return error_response(error.status_code, detail, headers)


async def _not_modified(_: Request, error: Exception) -> Response:
    assert isinstance(error, NotModified)
    return Response(status_code=304, headers={"ETag": error.tag, "Cache-Control": CACHE_CONTROL})


def install_handlers(app: FastAPI) -> None:
    app.add_exception_handler(NotModified, _not_modified)
    app.add_exception_handler(RekamError, _rekam_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    # Handlers for the specific classes: a handler for Exception would still re-raise and
    # make the server drop the connection.
    app.add_exception_handler(sa_exc.DBAPIError, _database_error)
    app.add_exception_handler(asyncpg.PostgresError, _database_error)
    for fault in (
        sa_exc.TimeoutError,
        sa_exc.InterfaceError,
        asyncpg.InterfaceError,
        asyncpg.exceptions.InternalClientError,
        OSError,
        TimeoutError,
    ):
        app.add_exception_handler(fault, _database_unavailable)
