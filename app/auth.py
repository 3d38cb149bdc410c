"""Bearer tokens, roles, and the dependencies routes use to check them."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

import asyncpg
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr
from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings, SettingsDep
from app.db import Db, SessionDep, fetch
from app.errors import Forbidden, RateLimited, Unauthorized
from app.ratelimit import Counter, RateLimiter

TOKEN_PREFIX = "rekam_"  # noqa: S105 - a prefix, not a secret
# last_used_at is a hint for operators, not an audit log: write it at most this often.
LAST_USED_RESOLUTION = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Actor:
    token_id: int | None
    role: str
    name: str | None
    office_id: int | None = None
    office_code: str | None = None
    # The region an admin or viewer token is scoped to (app/scopes.py); None: national.
    region: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True, slots=True)
class Limits:
    requests: RateLimiter  # per token, or per address for anonymous reads
    auth_failures: RateLimiter  # per address


def limits_for(settings: Settings) -> Limits:
    """In this process's memory, or shared through REKAM_REDIS_URL (app/ratelimit.py)."""
    redis_url = settings.redis_url.get_secret_value() if settings.redis_url else None
    counter = Counter(redis_url, key_prefix=settings.redis_key_prefix)
    return Limits(
        RateLimiter(settings.rate_limit_per_minute, counter, "requests"),
        RateLimiter(settings.auth_failures_per_minute, counter, "auth-failures"),
    )


ENV_ADMIN = Actor(token_id=None, role="admin", name="REKAM_ADMIN_TOKEN")


def new_secret() -> str:
    """A token with a recognisable prefix, so secret scanners can find a leaked one."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def secret_hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


# Declares the scheme in the OpenAPI document; malformed headers are refused below.
bearer_scheme = HTTPBearer(auto_error=False, description="An API token (rekam_...)")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]


def bearer_secret(request: Request, credentials: HTTPAuthorizationCredentials | None) -> str | None:
    if credentials is None:
        if "authorization" in request.headers:
            raise Unauthorized("the Authorization header must be 'Bearer <token>'")
        return None
    return credentials.credentials.strip() or None


def _lookup(asynchronous_stamp: bool) -> TextClause:
    """The token's row, stamping last_used_at when it is stale, in the same round trip.

    A read commits the stamp at once, without waiting for the disk (asynchronous_stamp): it is
    a hint, and an office that posts a few times a day would otherwise pay a second flush on
    every write. A count write looks its token up inside its own transaction instead, whose
    commit carries the stamp and must wait for the disk."""
    asynchronous = ", set_config('synchronous_commit', 'off', true)" if asynchronous_stamp else ""
    return text(
        f"""
    WITH found AS (SELECT * FROM tokens WHERE secret_hash = :hash),
    touched AS (
        UPDATE tokens SET last_used_at = :now
        WHERE id = (SELECT id FROM found WHERE revoked_at IS NULL
                    AND (last_used_at IS NULL OR last_used_at < :stale_before))
        RETURNING id{asynchronous}
    )
    SELECT f.id, f.role, f.name, f.office_id, o.code AS office_code, f.region, f.revoked_at,
           EXISTS (SELECT 1 FROM touched) AS touched
    FROM found f LEFT JOIN offices o ON o.id = f.office_id
    """
    )


_LOOKUP = _lookup(asynchronous_stamp=True)
_LOOKUP_IN_WRITE = _lookup(asynchronous_stamp=False)


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _limit(limiter: RateLimiter, key: str, what: str) -> None:
    wait = await limiter.hit(key)
    if wait:
        raise RateLimited(f"too many {what}; retry in {wait} s", retry_after=wait)


async def authenticate(
    request: Request, session: SessionDep, settings: SettingsDep, credentials: Credentials
) -> Actor | None:
    """The caller's actor, None without credentials; 401 for an unknown or revoked token,
    429 past the rate limits (per token, per address for anonymous requests and for failed
    attempts)."""
    return await _identify(request, session, bearer_secret(request, credentials), settings)


async def writer_in(db: asyncpg.Connection, request: Request, settings: Settings) -> Actor:
    """require_writer's answer for a route that writes on the driver's connection: the token
    is looked up inside the caller's transaction (its stamp commits with the write), with
    the same refusals in the same order (401, 429, then 403)."""
    credentials = await bearer_scheme(request)
    actor = await _identify(request, db, bearer_secret(request, credentials), settings)
    return await require_writer(await require_actor(actor))


async def _identify(
    request: Request, db: Db, secret: str | None, settings: Settings
) -> Actor | None:
    limits: Limits = request.app.state.limits
    address = _client_address(request)
    if secret is None:
        await _limit(limits.requests, f"address:{address}", "requests")
        return None
    # The token is checked first: others failing from the same address (a shared NAT, or
    # someone guessing) must never lock out a caller whose token is valid.
    actor = await _actor_for(db, secret, admin_token=settings.admin_token)
    if actor is None:
        await _limit(limits.auth_failures, address, "failed authentications")
        raise Unauthorized("unknown or revoked token")
    request.state.actor = actor
    await _limit(limits.requests, f"token:{actor.token_id}", "requests")
    return actor


async def _actor_for(db: Db, secret: str, *, admin_token: SecretStr | None) -> Actor | None:
    """The live token's actor, or None for an unknown or revoked one."""
    digest = secret_hash(secret)
    if admin_token is not None and hmac.compare_digest(
        digest, secret_hash(admin_token.get_secret_value())
    ):
        return ENV_ADMIN
    now = datetime.now(UTC)
    in_session = isinstance(db, AsyncSession)
    rows = await fetch(
        db,
        _LOOKUP if in_session else _LOOKUP_IN_WRITE,
        {"hash": digest, "now": now, "stale_before": now - LAST_USED_RESOLUTION},
    )
    if not rows or rows[0]["revoked_at"] is not None:
        return None
    row = rows[0]
    if row["touched"] and isinstance(db, AsyncSession):
        await db.commit()
    return Actor(
        row["id"], row["role"], row["name"], row["office_id"], row["office_code"], row["region"]
    )


OptionalActor = Annotated[Actor | None, Depends(authenticate)]


async def require_reader(settings: SettingsDep, actor: OptionalActor) -> Actor | None:
    """Any valid token; nobody at all when REKAM_PUBLIC_READ is on."""
    if actor is None and not settings.public_read:
        raise Unauthorized("a bearer token is required")
    return actor


async def require_actor(actor: OptionalActor) -> Actor:
    if actor is None:
        raise Unauthorized("a bearer token is required")
    return actor


async def require_admin(actor: Annotated[Actor, Depends(require_actor)]) -> Actor:
    if not actor.is_admin:
        raise Forbidden("this needs an admin token")
    return actor


async def require_writer(actor: Annotated[Actor, Depends(require_actor)]) -> Actor:
    """Admins, or office tokens (which are further limited to their own office)."""
    if actor.role not in ("admin", "office"):
        raise Forbidden("this needs an admin or an office token")
    return actor


Reader = Annotated[Actor | None, Depends(require_reader)]
Caller = Annotated[Actor, Depends(require_actor)]
Admin = Annotated[Actor, Depends(require_admin)]
Writer = Annotated[Actor, Depends(require_writer)]
