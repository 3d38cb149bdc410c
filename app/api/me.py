"""Who a token's holder is and where they work, so a page can open at their region."""

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy import text

from app.api.deps import API_ERRORS
from app.auth import Actor, require_actor
from app.bodies import ApiRoute
from app.codes import NATION
from app.db import SessionDep
from app.schemas import MeOut

router = APIRouter(prefix="/api/v1", tags=["tokens"], responses=API_ERRORS, route_class=ApiRoute)

_OFFICE = text("SELECT code, name, kind, region FROM offices WHERE id = :id")


@router.get("/me")
async def me(session: SessionDep, actor: Annotated[Actor, Depends(require_actor)]) -> MeOut:
    """The token's role and name, its office (office tokens), its scope region (scoped
    tokens), and `home`: the region it works in (the office's, the scope, else the nation)."""
    office = None
    if actor.office_id is not None:
        row = (await session.execute(_OFFICE, {"id": actor.office_id})).one()
        office = dict(row._mapping)
    home = office["region"] if office else actor.region or NATION
    return MeOut.model_validate(
        {
            "role": actor.role,
            "name": actor.name,
            "office": office,
            "region": actor.region,
            "home": home,
        }
    )
