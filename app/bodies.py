"""Request bodies: JSON read strictly, and each route's media types checked before it runs.

JSON is RFC 8259's: UTF-8 (a BOM tolerated), finite numbers only (no NaN, Infinity or a
literal such as 1e309 that overflows a float), nested no deeper than the parser can go.
Whatever breaks that is a JSONDecodeError, which the framework reports as a 422 like any other.
"""

import json
from collections.abc import Callable, Coroutine
from email.message import Message
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from app.errors import UnsupportedMediaType

JSON = "application/json"
CSV = "text/csv"
_BODY_METHODS = {"POST", "PUT", "PATCH"}


class NotJson(json.JSONDecodeError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason, "", 0)
        # JSONDecodeError's own text appends "line 1 column 1 (char 0)", which means nothing.
        self.msg = reason


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise NotJson(f"the number {text[:20]} is too large")
    return value


def _no_constant(name: str) -> Any:
    raise NotJson(f"{name} is not a JSON number")


def parse_json(raw: bytes) -> Any:
    """The document in a JSON body, or NotJson saying why there is none."""
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise NotJson("the body is not UTF-8") from None
    try:
        document = json.loads(text, parse_float=_finite, parse_constant=_no_constant)
    except NotJson:
        raise
    except RecursionError:
        raise NotJson("the body nests too deeply") from None
    except json.JSONDecodeError as error:
        raise NotJson(f"{error.msg} at character {error.pos}") from None
    return document


def media_type(request: Request) -> str | None:
    """The request's media type, lower case and without parameters; None when not sent."""
    header = request.headers.get("content-type")
    if header is None:
        return None
    message = Message()
    message["content-type"] = header
    return message.get_content_type()


def is_json(media: str | None) -> bool:
    """A body without Content-Type is read as JSON too."""
    return (
        media is None
        or media == JSON
        or (media.startswith("application/") and media.endswith("+json"))
    )


class StrictJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_json(await self.body())
        return self._json


class ApiRoute(APIRoute):
    """Reads JSON strictly, and refuses with 415 a body in a media type the route does not
    take: the ones its OpenAPI request body names (JSON for a body parameter)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        accepted = self._accepted()

        async def strict_handler(request: Request) -> Response:
            if accepted and request.method in _BODY_METHODS:
                media = media_type(request)
                if not (is_json(media) and JSON in accepted) and media not in accepted:
                    raise UnsupportedMediaType(
                        f"send the body as {' or '.join(accepted)} (Content-Type: {accepted[0]})"
                    )
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return strict_handler

    def _accepted(self) -> list[str]:
        documented = (self.openapi_extra or {}).get("requestBody", {}).get("content", {})
        if documented:
            return list(documented)
        return [JSON] if self.body_field is not None else []
