"""Conditional reads: an ETag from region_versions, and 304 before the query runs.

A read's tag is a hash of what it names (endpoint, path, resolved parameters such as as_of)
and of its region's version: the sum of `subtree` over the region's shards (every write of
counts, figures, offices or regions under it) plus the sum of `own` over its lineage (its
own and its ancestors' records, whose targets it inherits). Triggers keep both in the
writing transaction (models.RegionVersion), so a reader who saw a write's acknowledgement
never gets a 304 for a body without it. The version is read before the body: a write that
commits in between gives a newer body under the older tag, which the next request corrects,
never the other way round.
"""

import hashlib
from typing import Any, NamedTuple

from fastapi import Request, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app import codes
from app.errors import CACHE_CONTROL, NotFound, NotModified

_VERSION = text(
    """
SELECT (SELECT coalesce(sum(subtree), 0) FROM region_versions WHERE region = r.code)
     + (SELECT coalesce(sum(own), 0) FROM region_versions WHERE region = ANY(r.lineage))
FROM regions r WHERE r.code = :code
"""
)


async def region_version(session: AsyncSession, code: str) -> int:
    """The region's version; 422 for a malformed code, 404 for a region that does not exist."""
    codes.parse(code)
    version = (await session.execute(_VERSION, {"code": code})).scalar_one_or_none()
    if version is None:
        raise NotFound(f"no region {code}")
    return int(version)


class Decided(NamedTuple):
    """A read's tag as conditional() decided it, left in the request's state under DECIDED
    for app/revalidation.py to note once the read is answered."""

    region: str
    version: int
    tag: str


DECIDED = "revalidation"


def make_tag(version: int, *parts: Any) -> str:
    digest = hashlib.sha256(repr((version, *parts)).encode()).hexdigest()[:32]
    return f'W/"{digest}"'


def _opaque(tag: str) -> str:
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


def matches(if_none_match: str | None, tag: str) -> bool:
    """RFC 9110 If-None-Match: `*`, or a list of tags compared weakly."""
    if if_none_match is None:
        return False
    if if_none_match.strip() == "*":
        return True
    return _opaque(tag) in {_opaque(item) for item in if_none_match.split(",")}


async def conditional(
    request: Request, response: Response, session: AsyncSession, region: str, *parts: Any
) -> None:
    """Call once the request is authorised and valid, before the body's query: sets ETag and
    Cache-Control on the response, or raises NotModified (304) when the client has the tag.
    `parts` are whatever else the body depends on (resolved as_of, range, ...); the path
    and endpoint are included already."""
    version = await region_version(session, region)
    tag = make_tag(version, request.url.path, region, *parts)
    setattr(request.state, DECIDED, Decided(region, version, tag))
    if matches(request.headers.get("if-none-match"), tag):
        raise NotModified(tag)
    response.headers["ETag"] = tag
    response.headers["Cache-Control"] = CACHE_CONTROL
