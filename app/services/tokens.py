"""API tokens: only a SHA-256 of each secret is stored. An admin or viewer token may carry
a region scope (app/scopes.py); an office token is bound to its office."""

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app import codes
from app.auth import Actor, new_secret, secret_hash
from app.codes import NATION, sql_in_subtree
from app.errors import Forbidden, Invalid, NotFound
from app.scopes import check_scope
from app.services import audit
from app.services.audit import Change


class TokenRow(NamedTuple):
    id: int
    role: str
    office: str | None
    region: str | None
    name: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class CreatedToken(NamedTuple):
    id: int
    token: str
    role: str
    office: str | None
    region: str | None
    name: str | None
    created_at: datetime


class IssuedToken(NamedTuple):
    id: int
    office: str
    office_name: str
    region: str  # the office's region
    name: str
    token: str
    created_at: datetime


def _state(
    role: str, office: str | None, region: str | None, name: str | None, revoked_at: object
) -> dict[str, object]:
    """What the record of a token holds: never its secret nor its hash."""
    return {
        "role": role,
        "office": office,
        "region": region,
        "name": name,
        "revoked_at": revoked_at,
    }


def _lands_in(office_region: str | None, region: str | None) -> str:
    """The region a token's changes are recorded under: its office's region, its scope, or
    the nation for a national token."""
    return office_region or region or NATION


async def create_token(
    session: AsyncSession,
    *,
    actor: Actor,
    role: str,
    office: str | None,
    name: str | None,
    region: str | None = None,
) -> CreatedToken:
    """A new token; its secret is in the returned body and nowhere else. A scoped admin
    makes office tokens for its offices, and admin or viewer tokens scoped inside its scope."""
    if (role == "office") != (office is not None):
        raise Invalid("office is required for role office, and only for it")
    if role == "office" and region is not None:
        raise Invalid("an office token is bound to its office and carries no region scope")
    if region is not None:
        codes.parse(region)
        if region == NATION:
            raise Invalid("a national token has region null, not ID")
    office_id = None
    office_region = None
    if office is not None:
        found = (
            await session.execute(
                text("SELECT id, region FROM offices WHERE code = :code"), {"code": office}
            )
        ).one_or_none()
        if found is None:
            raise Invalid(f"office {office} does not exist")
        office_id, office_region = found
        check_scope(actor, [office_region])
    elif region is None and actor.region is not None:
        raise Forbidden(
            f"this token is scoped to region {actor.region}: the tokens it makes are scoped "
            "to that region or under it"
        )
    else:
        check_scope(actor, [region] if region is not None else [])
        if region is not None and (
            await session.scalar(text("SELECT 1 FROM regions WHERE code = :code"), {"code": region})
            is None
        ):
            raise Invalid(f"region {region} does not exist")
    secret = new_secret()
    row = (
        await session.execute(
            text(
                """
                INSERT INTO tokens (secret_hash, role, office_id, region, name)
                VALUES (:hash, :role, :office_id, :region, :name)
                RETURNING id, created_at
                """
            ),
            {
                "hash": secret_hash(secret),
                "role": role,
                "office_id": office_id,
                "region": region,
                "name": name,
            },
        )
    ).one()
    after = _state(role, office, region, name, None)
    change = Change("token", str(row.id), "created", None, after, _lands_in(office_region, region))
    await audit.record(session, actor=actor, changes=[change])
    await session.commit()
    return CreatedToken(row.id, secret, role, office, region, name, row.created_at)


# A token is inside a subtree when it is scoped there or belongs to an office there.
_IN_SUBTREE = f"""
    CAST(:within AS text) IS NULL
    OR {sql_in_subtree("t.region", "within")} OR {sql_in_subtree("o.region", "within")}"""

_LIST = text(
    f"""
    SELECT t.id, t.role, o.code AS office, t.region, t.name, t.created_at, t.last_used_at,
           t.revoked_at
    FROM tokens t LEFT JOIN offices o ON o.id = t.office_id
    WHERE ({_IN_SUBTREE}) AND (t.revoked_at IS NULL OR NOT :live_only)
    ORDER BY t.id
    """
)


async def home_region(session: AsyncSession, *, actor: Actor) -> str:
    """Where the token's holder works: its office's region, else its scope, else the nation."""
    if actor.office_id is not None:
        found = await session.scalar(
            text("SELECT region FROM offices WHERE id = :office_id"), {"office_id": actor.office_id}
        )
        return str(found)
    return actor.region or NATION


async def list_tokens(
    session: AsyncSession, *, within: str | None, live_only: bool = False
) -> list[TokenRow]:
    """Tokens, without secrets: all of them (within None), or those scoped in the subtree
    of `within` and the office tokens of its offices."""
    rows = await session.execute(_LIST, {"within": within, "live_only": live_only})
    return [TokenRow(*row) for row in rows]


_LOCK_TOKENS = text(
    """
    SELECT t.id, t.role, o.code AS office, o.region AS office_region, t.region, t.name,
           t.revoked_at
    FROM tokens t LEFT JOIN offices o ON o.id = t.office_id
    WHERE t.id = ANY(CAST(:ids AS int[])) ORDER BY t.id FOR UPDATE OF t
    """
)
_REVOKE = text(
    """
    UPDATE tokens SET revoked_at = now()
    WHERE id = ANY(CAST(:ids AS int[])) AND revoked_at IS NULL
    RETURNING id, revoked_at
    """
)


async def revoke_tokens(session: AsyncSession, *, actor: Actor, token_ids: list[int]) -> int:
    """Revoke tokens, all or none: 404 if one does not exist, 403 if one is outside the
    actor's scope. Revoking a revoked token changes nothing. Returns how many were live."""
    found = list(await session.execute(_LOCK_TOKENS, {"ids": token_ids}))
    missing = sorted(set(token_ids) - {row.id for row in found})
    if missing:
        raise NotFound(f"no token {', '.join(map(str, missing))}")
    check_scope(actor, [_lands_in(row.office_region, row.region) for row in found])
    revoked = {row.id: row.revoked_at for row in await session.execute(_REVOKE, {"ids": token_ids})}
    changes = [
        Change(
            "token",
            str(row.id),
            "revoked",
            _state(row.role, row.office, row.region, row.name, None),
            _state(row.role, row.office, row.region, row.name, revoked[row.id]),
            _lands_in(row.office_region, row.region),
        )
        for row in found
        if row.id in revoked
    ]
    await audit.record(session, actor=actor, changes=changes)
    await session.commit()
    return len(revoked)


# Issues run one at a time: two at once would each see the same offices without a token.
_ISSUE_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('rekam.tokens.issue'))")
_OFFICES_TO_ISSUE = text(
    f"""
    SELECT o.id, o.code, o.name, o.region FROM offices o
    WHERE o.active AND {sql_in_subtree("o.region")}
      AND (:rotate OR NOT EXISTS (
          SELECT 1 FROM tokens t WHERE t.office_id = o.id AND t.revoked_at IS NULL))
    ORDER BY o.code
    """
)
_ROTATE = text(
    """
    UPDATE tokens SET revoked_at = now()
    WHERE office_id = ANY(CAST(:office_ids AS int[])) AND revoked_at IS NULL
    RETURNING id, office_id, name, revoked_at
    """
)
_INSERT_ISSUED = text(
    """
    INSERT INTO tokens (secret_hash, role, office_id, name)
    SELECT secret_hash, 'office', office_id, name
    FROM unnest(CAST(:hashes AS bytea[]), CAST(:office_ids AS int[]), CAST(:names AS text[]))
        AS i(secret_hash, office_id, name)
    RETURNING id, office_id, created_at
    """
)


async def issue_tokens(
    session: AsyncSession, *, actor: Actor, region: str, rotate: bool
) -> list[IssuedToken]:
    """One office token for every active office at or under `region` that has no live
    token; with rotate, for every active office there, after revoking its live tokens
    (whoever made them). The secrets are in the result and nowhere else."""
    codes.parse(region)
    check_scope(actor, [region])
    if (
        await session.scalar(text("SELECT 1 FROM regions WHERE code = :code"), {"code": region})
        is None
    ):
        raise Invalid(f"region {region} does not exist")
    await session.execute(_ISSUE_LOCK)
    offices = list(await session.execute(_OFFICES_TO_ISSUE, {"region": region, "rotate": rotate}))
    by_id = {office.id: office for office in offices}
    changes: list[Change] = []
    if rotate and offices:
        for old in await session.execute(_ROTATE, {"office_ids": list(by_id)}):
            office = by_id[old.office_id]
            changes.append(
                Change(
                    "token",
                    str(old.id),
                    "revoked",
                    _state("office", office.code, None, old.name, None),
                    _state("office", office.code, None, old.name, old.revoked_at),
                    office.region,
                )
            )
    secrets = {office.id: new_secret() for office in offices}
    created = (
        list(
            await session.execute(
                _INSERT_ISSUED,
                {
                    "hashes": [secret_hash(secrets[office.id]) for office in offices],
                    "office_ids": [office.id for office in offices],
                    "names": [office.name for office in offices],
                },
            )
        )
        if offices
        else []
    )
    issued = sorted(
        (
            IssuedToken(
                row.id,
                by_id[row.office_id].code,
                by_id[row.office_id].name,
                by_id[row.office_id].region,
                by_id[row.office_id].name,
                secrets[row.office_id],
                row.created_at,
            )
            for row in created
        ),
        key=lambda token: token.office,
    )
    changes += [
        Change(
            "token",
            str(token.id),
            "created",
            None,
            _state("office", token.office, None, token.name, None),
            token.region,
        )
        for token in issued
    ]
    await audit.record(session, actor=actor, changes=changes)
    await session.commit()
    return issued
