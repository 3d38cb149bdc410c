"""Domain errors and the handlers that turn them, and database faults, into JSON."""

import logging
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

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


class PreconditionFailed(RekamError):
    status_code = 412


class TooLarge(RekamError):
    status_code = 413


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


def error_response(
    status: int, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    return JSONResponse({"detail": detail, **extra}, status_code=status, headers=headers)


async def _rekam_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RekamError)
    return error_response(error.status_code, error.detail, error.headers, **error.extra)


async def _database_error(request: Request, error: Exception) -> JSONResponse:
    # SQLSTATE class 22 is a data exception: the input, not the database, is at fault.
    sqlstate = getattr(getattr(error, "orig", None), "sqlstate", None) or ""
    if sqlstate.startswith("22"):
        return error_response(422, "invalid input: a value the database cannot store")
    return await _database_unavailable(request, error)


async def _database_unavailable(request: Request, error: Exception) -> JSONResponse:
    # An outage or a timeout is the database's state, not the client's fault: ask to retry.
    log.warning("database unavailable on %s %s: %r", request.method, request.url.path, error)
    return error_response(
        503, "the database is unavailable; retry shortly", {"Retry-After": RETRY_AFTER_SECONDS}
    )


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (each route holds only its own)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches({**request.scope, "method": "GET"})
        if match != Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return sorted(methods)


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    if error.status_code == 400:
        # The framework's answer to a body it cannot decode: invalid input like any other.
        return error_response(422, "the request body cannot be parsed")
    headers = dict(error.headers or {})
    if error.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
    return error_response(error.status_code, str(error.detail), headers)


def install_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RekamError, _rekam_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    # Handlers for the specific classes: a handler for Exception would still re-raise and
    # make the server drop the connection.
    app.add_exception_handler(sa_exc.DBAPIError, _database_error)
    for fault in (
        sa_exc.TimeoutError,
        sa_exc.InterfaceError,
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
        OSError,
        TimeoutError,
    ):
        app.add_exception_handler(fault, _database_unavailable)
