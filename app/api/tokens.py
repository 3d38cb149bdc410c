from typing import Annotated

from fastapi import APIRouter, Header, Path, Request, Response
from starlette.concurrency import run_in_threadpool

from app.api.deps import API_ERRORS
from app.auth import Admin, Caller
from app.bodies import ApiRoute
from app.db import SessionDep
from app.schemas import (
    TokenCreatedOut,
    TokenIn,
    TokenIssueIn,
    TokenListOut,
    TokenSelfOut,
    TokensIssuedOut,
)
from app.services import tokens
from app.sheet import SheetEntry, sheet_pdf

router = APIRouter(
    prefix="/api/v1/tokens", tags=["tokens"], responses=API_ERRORS, route_class=ApiRoute
)


@router.post("", status_code=201)
async def create_token(body: TokenIn, session: SessionDep, actor: Admin) -> TokenCreatedOut:
    """Create a token; its secret is shown in this response only."""
    created = await tokens.create_token(
        session, actor=actor, role=body.role, office=body.office, region=body.region, name=body.name
    )
    return TokenCreatedOut.model_validate(created._asdict())


PDF = "application/pdf"


def asks_for_pdf(accept: str) -> bool:
    """Whether Accept names application/pdf (with a q above 0)."""
    for item in accept.split(","):
        media, *params = (part.strip().lower() for part in item.split(";"))
        if media == PDF and not any(p.replace(" ", "") in ("q=0", "q=0.0") for p in params):
            return True
    return False


@router.post(
    "/issue",
    status_code=201,
    response_model=TokensIssuedOut,
    responses={201: {"content": {PDF: {}}, "description": "with Accept: application/pdf"}},
)
async def issue_tokens(
    body: TokenIssueIn,
    session: SessionDep,
    actor: Admin,
    request: Request,
    accept: Annotated[str, Header()] = "",
) -> TokensIssuedOut | Response:
    """One office token for each active office at or under a region that has none (with
    rotate: a new one for each, its old ones revoked); the secrets are shown this once, as
    JSON or, with Accept: application/pdf, as the printable sign-in sheet."""
    issued = await tokens.issue_tokens(session, actor=actor, region=body.region, rotate=body.rotate)
    if asks_for_pdf(accept):
        # The links point where the admin reached this service: that is where offices go.
        entries = [SheetEntry(token.office, token.office_name, token.token) for token in issued]
        # Drawing hundreds of QR codes takes a while: not on the event loop.
        sheet = await run_in_threadpool(sheet_pdf, entries, str(request.base_url))
        return Response(
            sheet,
            status_code=201,
            media_type=PDF,
            headers={
                "Content-Disposition": f'attachment; filename="sign-in-{body.region}.pdf"',
                # It holds the secrets: no cache along the way may keep it.
                "Cache-Control": "no-store",
            },
        )
    return TokensIssuedOut.model_validate({"tokens": [token._asdict() for token in issued]})


@router.get("/self")
async def token_self(session: SessionDep, actor: Caller) -> TokenSelfOut:
    """The calling token itself (any role), never its secret: the office it writes for,
    its scope, and `home`, the region its holder works in (where a page opens)."""
    return TokenSelfOut(
        id=actor.token_id,
        role=actor.role,
        office=actor.office_code,
        region=actor.region,
        name=actor.name,
        home=await tokens.home_region(session, actor=actor),
    )


@router.get("")
async def list_tokens(session: SessionDep, actor: Admin) -> TokenListOut:
    """Every token the caller administers, without secrets."""
    found = await tokens.list_tokens(session, within=actor.region)
    return TokenListOut.model_validate({"tokens": [token._asdict() for token in found]})


@router.delete("/{token_id:int}", status_code=204)
async def revoke_token(
    token_id: Annotated[int, Path(ge=1, le=2**31 - 1)], session: SessionDep, actor: Admin
) -> Response:
    """Revoke a token: it gets 401 from then on."""
    await tokens.revoke_tokens(session, actor=actor, token_ids=[token_id])
    return Response(status_code=204)
