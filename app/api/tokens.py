from typing import Annotated

from fastapi import APIRouter, Path, Response

from app.api.deps import API_ERRORS
from app.auth import Admin
from app.bodies import ApiRoute
from app.db import SessionDep
from app.schemas import TokenCreatedOut, TokenIn, TokenListOut
from app.services import tokens

router = APIRouter(
    prefix="/api/v1/tokens", tags=["tokens"], responses=API_ERRORS, route_class=ApiRoute
)


@router.post("", status_code=201)
async def create_token(body: TokenIn, session: SessionDep, _: Admin) -> TokenCreatedOut:
    """Create a token; its secret is shown in this response only."""
    created = await tokens.create_token(session, role=body.role, office=body.office, name=body.name)
    return TokenCreatedOut.model_validate(created)


@router.get("")
async def list_tokens(session: SessionDep, _: Admin) -> TokenListOut:
    """Every token, without secrets."""
    return TokenListOut.model_validate({"tokens": await tokens.list_tokens(session)})


@router.delete("/{token_id}", status_code=204)
async def revoke_token(
    token_id: Annotated[int, Path(ge=1, le=2**31 - 1)], session: SessionDep, _: Admin
) -> Response:
    """Revoke a token: it gets 401 from then on."""
    await tokens.revoke_token(session, token_id=token_id)
    return Response(status_code=204)
