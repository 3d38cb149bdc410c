"""API tokens: only a SHA-256 of each secret is stored."""

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import new_secret, secret_hash
from app.errors import Invalid, NotFound

_SELECT = """
SELECT t.id, t.role, o.code AS office, t.name, t.created_at, t.last_used_at, t.revoked_at
FROM tokens t LEFT JOIN offices o ON o.id = t.office_id
"""


async def create_token(
    session: AsyncSession, *, role: str, office: str | None, name: str | None
) -> dict[str, Any]:
    """A new token; its secret is in the returned body and nowhere else."""
    if (role == "office") != (office is not None):
        raise Invalid("office is required for role office, and only for it")
    office_id = None
    if office is not None:
        office_id = await session.scalar(
            text("SELECT id FROM offices WHERE code = :code"), {"code": office}
        )
        if office_id is None:
            raise Invalid(f"office {office} does not exist")
    secret = new_secret()
    row = (
        await session.execute(
            text(
                """
                INSERT INTO tokens (secret_hash, role, office_id, name)
                VALUES (:hash, :role, :office_id, :name)
                RETURNING id, role, name, created_at
                """
            ),
            {"hash": secret_hash(secret), "role": role, "office_id": office_id, "name": name},
        )
    ).one()
    await session.commit()
    return {**row._mapping, "token": secret, "office": office}


async def list_tokens(session: AsyncSession) -> list[dict[str, Any]]:
    rows = await session.execute(text(_SELECT + " ORDER BY t.id"))
    return [dict(row._mapping) for row in rows]


async def revoke_token(session: AsyncSession, *, token_id: int) -> None:
    result = await session.execute(
        text(
            "UPDATE tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = :id RETURNING 1"
        ),
        {"id": token_id},
    )
    if result.first() is None:
        raise NotFound(f"no token {token_id}")
    await session.commit()
