"""Small dependencies shared by the routers."""

from datetime import date
from typing import Annotated, Any, TypeVar

from fastapi import Path, Query, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from app import codes
from app.bodies import NotJson, parse_json
from app.clock import MAX_RANGE_DAYS, days_between
from app.errors import PROBLEM_JSON, Invalid
from app.schemas import ErrorOut, IsoDate
from app.services import offices

# The patterns document the codes; the services check them and say what is wrong.
_REGION = {"pattern": codes.CODE_PATTERN}
M = TypeVar("M", bound=BaseModel)
DateText = Annotated[
    str, Path(description="A date, YYYY-MM-DD", json_schema_extra={"format": "date"})
]
RegionCode = Annotated[
    str,
    Path(description="Kemendagri code: ID, 73, 73.71, 73.71.01, ...", json_schema_extra=_REGION),
]
RegionQuery = Annotated[str, Query(max_length=20, json_schema_extra=_REGION)]
OfficeCode = Annotated[
    str, Path(description="Office code", json_schema_extra={"pattern": offices.CODE_PATTERN})
]
DatePath = Annotated[IsoDate, Path(description="A date, YYYY-MM-DD")]
FromQuery = Annotated[IsoDate | None, Query(alias="from")]
ToQuery = Annotated[IsoDate | None, Query(alias="to")]


def read_json(model: type[M], raw: bytes) -> M:
    """Validate a body the route read itself, answering 422 as FastAPI would."""
    try:
        return model.model_validate(parse_json(raw))
    except NotJson as error:
        problems: list[dict[str, Any]] = [
            {"type": "json_invalid", "loc": ("body",), "ctx": {"error": error.msg}}
        ]
    except ValidationError as error:
        problems = [
            {"type": e["type"], "loc": ["body", *e["loc"]], "msg": e["msg"]}
            for e in error.errors(include_url=False, include_input=False, include_context=False)
        ]
    raise RequestValidationError(problems)


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI request body of a route that reads its JSON body itself."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
            },
        }
    }


def set_created(response: Response, created: bool) -> None:
    """A PUT answers 201 when it created the resource, 200 when it replaced it."""
    response.status_code = 201 if created else 200


def check_range(start: date, end: date) -> None:
    if start > end:
        raise Invalid(f"from ({start}) is after to ({end})")
    if days_between(start, end) > MAX_RANGE_DAYS:
        raise Invalid(f"a range covers at most {MAX_RANGE_DAYS} days")


_MEANINGS = {
    401: "Missing, unknown or revoked token",
    408: "The body did not arrive in time",
    403: "The token lacks the right",
    404: "No such resource",
    409: "The stored state forbids it (see detail)",
    412: "If-Match does not match the stored version",
    413: "Body or batch too large",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Rate limit reached; see Retry-After",
    503: "Database unavailable; see Retry-After",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses a route can answer, all in one JSON shape."""
    problem = {PROBLEM_JSON: {"schema": {"$ref": f"#/components/schemas/{ErrorOut.__name__}"}}}
    return {s: {"description": _MEANINGS[s], "content": problem} for s in statuses}


# What any API route can answer besides success (any request may carry a body too large).
API_ERRORS = error_responses(401, 403, 404, 408, 413, 415, 422, 429, 503)


def bulk_body(model: type[BaseModel], columns: str) -> dict[str, Any]:
    """The OpenAPI request body of a bulk route: its JSON shape, or CSV with these columns."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}},
                "text/csv": {"schema": {"type": "string", "description": columns}},
            },
        }
    }
