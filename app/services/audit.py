"""The record of every change of a region, figure, office or token.

record() is called by the service that makes a change, with every change it made, in the
same transaction and before it commits: a change and its record never disagree, and a
request that is refused or invalid writes neither. Counts keep their own history
(count_revisions) and are not recorded here."""

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, NamedTuple

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import Actor
from app.codes import sql_in_subtree
from app.errors import Invalid

Kind = Literal["region", "figure", "office", "token", "target", "quality_check"]
Action = Literal["created", "updated", "deleted", "revoked"]
State = Mapping[str, object]

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100


@dataclass(frozen=True, slots=True)
class Change:
    kind: Kind
    key: str
    action: Action
    before: State | None  # None for created
    after: State | None  # None for deleted
    region: str  # where the change lands: a scoped admin sees it when this is in its subtree


def _json_value(value: object) -> object:
    if isinstance(value, Decimal):
        # Targets have at most six decimals: the float's shortest form is the decimal itself.
        return float(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"cannot record {type(value).__name__}")


def _json(state: State | None) -> str | None:
    return None if state is None else json.dumps(state, default=_json_value)


_INSERT = text(
    """
INSERT INTO audit_events
    (token_id, actor_role, actor_name, actor_region, kind, key, action, before, after, region)
SELECT :token_id, :role, :name, :actor_region, c.kind, c.key, c.action,
       CAST(c.before AS jsonb), CAST(c.after AS jsonb), c.region
FROM unnest(CAST(:kinds AS text[]), CAST(:keys AS text[]), CAST(:actions AS text[]),
            CAST(:befores AS text[]), CAST(:afters AS text[]), CAST(:regions AS text[]))
     WITH ORDINALITY AS c(kind, key, action, before, after, region, position)
ORDER BY c.position
"""
)


async def record(session: AsyncSession, *, actor: Actor, changes: Sequence[Change]) -> None:
    """Write one event per change, in order, in the caller's transaction (one statement)."""
    if not changes:
        return
    await session.execute(
        _INSERT,
        {
            "token_id": actor.token_id,
            "role": actor.role,
            "name": actor.name,
            "actor_region": actor.region,
            "kinds": [c.kind for c in changes],
            "keys": [c.key for c in changes],
            "actions": [c.action for c in changes],
            "befores": [_json(c.before) for c in changes],
            "afters": [_json(c.after) for c in changes],
            "regions": [c.region for c in changes],
        },
    )


def update(kind: Kind, key: str, before: State, after: State, region: str) -> list[Change]:
    """The change from before to after: none when nothing changed (a PUT of the same values
    writes no event)."""
    if dict(before) == dict(after):
        return []
    return [Change(kind, key, "updated", before, after, region)]


class Cursor(NamedTuple):
    at: datetime
    id: int


def encode_cursor(cursor: Cursor) -> str:
    raw = f"{cursor.at.isoformat()}|{cursor.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(value: str) -> Cursor:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        at, event_id = raw.split("|")
        cursor = Cursor(datetime.fromisoformat(at), int(event_id))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        cursor = None
    if cursor is None or cursor.at.tzinfo is None:
        message = "not a cursor this service gave (use next_before from a previous page)"
        raise Invalid(f"before: {message}", errors=[{"field": "before", "message": message}])
    return cursor


class AuditEntry(NamedTuple):
    id: int
    at: datetime
    token_id: int | None
    actor_role: str
    actor_name: str | None
    actor_region: str | None
    kind: str
    key: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditPage(NamedTuple):
    events: list[AuditEntry]
    next_before: str | None


_LIST = text(
    f"""
SELECT id, at, token_id, actor_role, actor_name, actor_region, kind, key, action, before, after
FROM audit_events
WHERE {sql_in_subtree("region")}
  AND (CAST(:kind AS text) IS NULL OR kind = :kind)
  AND (CAST(:start AS timestamptz) IS NULL OR at >= :start)
  AND (CAST(:end AS timestamptz) IS NULL OR at < :end)
  AND (CAST(:before_at AS timestamptz) IS NULL OR (at, id) < (:before_at, :before_id))
ORDER BY at DESC, id DESC
LIMIT :limit
"""
).columns(before=JSONB, after=JSONB)


async def list_events(
    session: AsyncSession,
    *,
    region: str,
    kind: Kind | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
    before: Cursor | None,
) -> AuditPage:
    """Events in the region's subtree from start (included) to end (excluded), newest first;
    next_before is the cursor of the next page, None on the last."""
    rows = await session.execute(
        _LIST,
        {
            "region": region,
            "kind": kind,
            "start": start,
            "end": end,
            "before_at": before.at if before else None,
            "before_id": before.id if before else None,
            # One more than asked: whether there is a next page, without counting.
            "limit": limit + 1,
        },
    )
    events = [AuditEntry(*row) for row in rows]
    if len(events) <= limit:
        return AuditPage(events, None)
    last = events[limit - 1]
    return AuditPage(events[:limit], encode_cursor(Cursor(last.at, last.id)))
