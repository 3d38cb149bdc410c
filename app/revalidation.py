"""Revalidations answered before routing: a 304 from a share of one statement.

A dashboard revalidates every page every minute, and almost always gets a 304. Through the
router that 304 costs the dependency tree, the token lookup and the version lookup; here it
costs a share of one statement that checks the tokens and reads the regions' versions of
every revalidation that arrived in the same turn of the event loop (Checks).

conditional() (app/etags.py), having decided a read's tag the full way, leaves it in the
request's state; when the router answers that read 200 or 304, it is noted under the
request's path and query: its region, the version it was computed at and the route. The next
GET of that path and query with If-None-Match is answered here with a 304 when, and only
when, the full way would answer the same: the token is live (or none is needed), the caller
is within its rate limit, the region's version is still the noted one (so nothing the body
depends on has changed, read-your-writes included), the tag matches, and the note was made
in the same quarter hour (a default `as_of` is today in some timezone, and every timezone's
midnight falls on a quarter hour). Anything else, and any fault, goes on to the router, which
answers as it always does.

The same proof answers a read that does not have the tag (a first opening, or a tag from
before a write): where the router answered 200 under the noted tag, the note keeps that
response, and a read of the same path and query at the same version gets it as the router
would give it again. Readers of one region after one write then share one computation of the
body, as they would behind a cache that honours ETags.
"""

import asyncio
import hmac
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from asyncpg.exceptions import PostgresError
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import metrics
from app.auth import ENV_ADMIN, LAST_USED_RESOLUTION, Actor, Limits, secret_hash
from app.config import Settings
from app.db import driver_connection
from app.errors import CACHE_CONTROL
from app.etags import DECIDED, Decided, matches

QUARTER_HOUR = 900
# Beyond this many noted paths, or this many bytes of noted bodies, the notes start again: a
# crawler walking every region must not grow a worker's memory without bound.
MAX_NOTES = 50_000
MAX_NOTED_BYTES = 64 * 1024 * 1024
# A body larger than this is not kept (the nation's progress is about 20 kB).
MAX_NOTED_BODY = 1024 * 1024

# The token lookups and their last_used_at stamps as app/auth.py does them, and the versions
# as app/etags.py reads them, for every revalidation waiting to be decided, in one statement:
# $1 the tokens' hashes (NULL: no token, for a public read or the admin token from the
# environment) and $2 the regions, pairwise; one row per pair, in their order.
_CHECK = """
WITH asked AS (
    SELECT * FROM unnest($1::bytea[], $2::text[]) WITH ORDINALITY AS a(digest, region, n)
),
found AS (
    SELECT id, role, last_used_at, secret_hash FROM tokens
    WHERE secret_hash IN (SELECT digest FROM asked) AND revoked_at IS NULL
),
touched AS (
    UPDATE tokens SET last_used_at = $3
    WHERE id IN (SELECT id FROM found WHERE last_used_at IS NULL OR last_used_at < $4)
    RETURNING id, set_config('synchronous_commit', 'off', true)
),
versions AS (
    SELECT r.code,
           (SELECT coalesce(sum(subtree), 0) FROM region_versions WHERE region = r.code)
         + (SELECT coalesce(sum(own), 0) FROM region_versions WHERE region = ANY(r.lineage))
           AS version
    FROM regions r WHERE r.code IN (SELECT region FROM asked)
)
SELECT f.id AS token_id, f.role, v.version, (SELECT count(*) FROM touched) AS touched
FROM asked a
LEFT JOIN found f ON f.secret_hash = a.digest
LEFT JOIN versions v ON v.code = a.region
ORDER BY a.n
"""

Asked = tuple[bytes | None, str]  # a token's hash (None: no token to look up) and a region


class Checks:
    """Revalidations decided together: each waits for the next statement, which starts after
    it arrived (so it sees every write acknowledged before its request was sent), and the
    ones that arrive in the same turn of the event loop share that statement. Under a crowd
    many arrive together, and a 304 costs a share of a round trip instead of a whole one."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.waiting: dict[Asked, list[asyncio.Future[Any]]] = {}

    async def check(self, engine: AsyncEngine, asked: Asked) -> Any:
        """The asked pair's row (token_id, role, version), or the statement's fault."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if not self.waiting:
            asyncio.get_running_loop().call_soon(self._start, engine)
        self.waiting.setdefault(asked, []).append(future)
        return await future

    def _start(self, engine: AsyncEngine) -> None:
        batch, self.waiting = self.waiting, {}
        task = asyncio.ensure_future(self._decide(engine, batch))
        task.add_done_callback(_pending_tasks.discard)
        _pending_tasks.add(task)

    async def _decide(self, engine: AsyncEngine, batch: dict[Asked, list[Any]]) -> None:
        metrics.REVALIDATION_BATCH.observe(sum(len(futures) for futures in batch.values()))
        try:
            rows = await self._fetch(engine, list(batch))
        except BaseException as error:
            for futures in batch.values():
                for future in futures:
                    if not future.done():
                        future.set_exception(error)
            if not isinstance(error, Exception):
                raise
            return
        for futures, row in zip(batch.values(), rows, strict=True):
            for future in futures:
                if not future.done():
                    future.set_result(row)

    async def _fetch(self, engine: AsyncEngine, asked: list[Asked]) -> list[Any]:
        now = datetime.now(UTC)
        args = ([d for d, _ in asked], [r for _, r in asked], now, now - LAST_USED_RESOLUTION)
        async with driver_connection(engine.connect) as raw:
            if self.settings.database_pgbouncer:
                # Through PgBouncer a statement's parse and execute must share a transaction.
                async with raw.transaction():
                    return list(await raw.fetch(_CHECK, *args))
            return list(await raw.fetch(_CHECK, *args))


# Tasks deciding a batch, held until done (the event loop keeps only weak references).
_pending_tasks: set[asyncio.Task[None]] = set()


# The router's 200 under a noted tag: its headers and its body.
Answered = tuple[list[tuple[bytes, bytes]], bytes]


@dataclass(frozen=True, slots=True)
class Note:
    region: str
    version: int
    tag: str
    quarter: int  # the quarter hour (since the epoch) the tag was decided in
    route: Any  # the matched route, so that metrics and the access log name it
    answered: Answered | None = None  # None: the router's 200 under this tag was not seen

    @property
    def size(self) -> int:
        return len(self.answered[1]) if self.answered else 0


def quarter_hour(now: float | None = None) -> int:
    return math.floor((time.time() if now is None else now) / QUARTER_HOUR)


class Notes:
    """The tags conditional() decided, by path and query, in this process."""

    def __init__(self) -> None:
        self._notes: dict[tuple[str, bytes], Note] = {}
        self._bytes = 0  # of the noted bodies

    def note(self, scope: Scope, decided: Decided, answered: Answered | None = None) -> None:
        """Notes the router's answer: a 200's headers and body (answered), or a 304, which
        keeps the body noted under the same tag."""
        key = (scope["path"], scope.get("query_string", b""))
        old = self._notes.pop(key, None)
        if old is not None:
            self._bytes -= old.size
            if answered is None and old.tag == decided.tag:
                answered = old.answered
        note = Note(*decided, quarter_hour(), scope.get("route"), answered)
        if len(self._notes) >= MAX_NOTES or self._bytes + note.size > MAX_NOTED_BYTES:
            self._notes.clear()
            self._bytes = 0
        self._notes[key] = note
        self._bytes += note.size

    def get(self, scope: Scope) -> Note | None:
        note = self._notes.get((scope["path"], scope.get("query_string", b"")))
        return note if note is not None and note.quarter == quarter_hour() else None


class Revalidation:
    """ASGI middleware: answers a revalidation it can prove unchanged, else passes it on."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.notes = Notes()
        self.checks = Checks(settings)
        self.admin_hash = (
            secret_hash(settings.admin_token.get_secret_value()) if settings.admin_token else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        note = self.notes.get(scope)
        if note is not None:
            if_none_match = Headers(scope=scope).get("if-none-match")
            revalidating = matches(if_none_match, note.tag)
            if (revalidating or note.answered) and await self._unchanged(scope, note):
                if revalidating:
                    metrics.REVALIDATED.inc()
                    headers = [
                        (b"etag", note.tag.encode()),
                        (b"cache-control", CACHE_CONTROL.encode()),
                    ]
                    await _respond(send, 304, headers, b"")
                elif note.answered:
                    metrics.SHARED_BODIES.inc()
                    await _respond(send, 200, *note.answered)
                return
        status = 0
        # The router's 200 under a tag conditional() decided, kept for the note.
        answered: tuple[list[tuple[bytes, bytes]], list[bytes]] | None = None

        async def send_noting(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                status = message["status"]
                if status == 200 and DECIDED in scope.get("state", {}):
                    answered = (list(message.get("headers", [])), [])
            elif answered is not None and message["type"] == "http.response.body":
                answered[1].append(message.get("body", b""))
                if sum(map(len, answered[1])) > MAX_NOTED_BODY:
                    answered = None
            await send(message)

        await self.app(scope, receive, send_noting)
        decided = scope.get("state", {}).get(DECIDED)
        if decided is not None and status in (200, 304):
            body = (answered[0], b"".join(answered[1])) if answered else None
            self.notes.note(scope, decided, body if status == 200 else None)

    async def _unchanged(self, scope: Scope, note: Note) -> bool:
        """True when the caller may read and the noted version still stands."""
        state = scope["app"].state
        digest = self._token_digest(Headers(scope=scope))
        if digest is None:
            return False
        env_admin = digest != b"" and self.admin_hash is not None
        env_admin = env_admin and hmac.compare_digest(digest, self.admin_hash or b"")
        looked_up = None if digest == b"" or env_admin else digest
        try:
            row = await self.checks.check(state.engine, (looked_up, note.region))
        except (PostgresError, sa_exc.SQLAlchemyError, OSError, TimeoutError):
            return False  # the router meets the fault again and answers 503
        if row["version"] != note.version:
            return False
        if looked_up is not None and row["token_id"] is None:
            return False  # unknown or revoked: the router answers 401
        actor = ENV_ADMIN if env_admin else None
        if row["token_id"] is not None:
            actor = Actor(token_id=row["token_id"], role=row["role"], name=None)
        key = f"token:{actor.token_id}" if actor else f"address:{_client_address(scope)}"
        limits: Limits = state.limits
        if await limits.requests.hit(key):
            return False  # the router counts the hit again and answers 429
        scope.setdefault("state", {})["actor"] = actor
        scope["route"] = note.route
        return True

    def _token_digest(self, headers: Headers) -> bytes | None:
        """The bearer token's hash; b"" for no token where reads are public; None for
        anything the router must answer (a missing token, a malformed header)."""
        authorization = headers.get("authorization")
        if authorization is None:
            return b"" if self.settings.public_read else None
        scheme, _, secret = authorization.partition(" ")
        secret = secret.strip()
        if scheme.lower() != "bearer" or not secret:
            return None
        return secret_hash(secret)


async def _respond(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes
) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _client_address(scope: Scope) -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"
