"""POST /api/v1/tokens/issue: a token for every office that has none, and rotation."""

import hashlib
from typing import Any

from sqlalchemy import text

from tests.conftest import ADMIN
from tests.helpers import bearer, put_office, region_path

ISSUE = "/api/v1/tokens/issue"


async def offices(client: Any) -> None:
    """Three active offices in Makassar (one without a kecamatan), an inactive one, and one
    in Parepare."""
    for code in ("73.71.01", "73.71.02", "73.72.01"):
        await region_path(client, code)
    await put_office(client, "MKS-01", "73.71.01")
    await put_office(client, "MKS-02", "73.71.02")
    await put_office(client, "MKS-DUKCAPIL", "73.71", kind="dukcapil")
    await put_office(client, "MKS-CLOSED", "73.71.02", active=False)
    await put_office(client, "PRE-01", "73.72.01")


async def issue(client: Any, headers: dict[str, str] = ADMIN, **body: Any) -> Any:
    return await client.post(ISSUE, json=body, headers=headers)


async def works(client: Any, token: str) -> int:
    return (await client.get("/api/v1/regions/ID", headers=bearer(token))).status_code


async def test_issue_makes_one_token_per_active_office_under_the_region(client, db):
    await offices(client)

    response = await issue(client, region="73.71")

    assert response.status_code == 201
    tokens = response.json()["tokens"]
    assert [t["office"] for t in tokens] == ["MKS-01", "MKS-02", "MKS-DUKCAPIL"]
    assert all(set(t) == {"id", "office", "name", "token", "created_at"} for t in tokens)
    assert tokens[0]["name"] == "Office MKS-01"
    for token in tokens:
        assert await works(client, token["token"]) == 200
        stored = await db.scalar(
            text("SELECT secret_hash FROM tokens WHERE id = :id"), {"id": token["id"]}
        )
        assert stored == hashlib.sha256(token["token"].encode()).digest()
    own = await client.put(
        "/api/v1/offices/MKS-02/counts/2020-01-01",
        json={"recordings": 1},
        headers=bearer(tokens[1]["token"]),
    )
    assert own.status_code == 403  # an office token, with its edit window


async def test_issue_again_issues_nothing(client, db):
    await offices(client)
    first = await issue(client, region="73.71")
    tokens = await db.scalar(text("SELECT count(*) FROM tokens"))

    second = await issue(client, region="73.71", rotate=False)

    assert (first.status_code, len(first.json()["tokens"])) == (201, 3)
    assert (second.status_code, second.json()) == (201, {"tokens": []})
    assert await db.scalar(text("SELECT count(*) FROM tokens")) == tokens


async def test_issue_skips_offices_that_have_a_live_token(client):
    await offices(client)
    made = await client.post(
        "/api/v1/tokens", json={"role": "office", "office": "MKS-01"}, headers=ADMIN
    )
    revoked = await client.post(
        "/api/v1/tokens", json={"role": "office", "office": "MKS-02"}, headers=ADMIN
    )
    await client.delete(f"/api/v1/tokens/{revoked.json()['id']}", headers=ADMIN)

    response = await issue(client, region="73.71")

    assert made.status_code == 201
    assert [t["office"] for t in response.json()["tokens"]] == ["MKS-02", "MKS-DUKCAPIL"]


async def test_rotate_revokes_every_live_office_token_and_issues_new_ones(client):
    await offices(client)
    old = (await issue(client, region="73.71")).json()["tokens"]
    # A second live token for one office, made by hand: rotate covers it too.
    extra = await client.post(
        "/api/v1/tokens", json={"role": "office", "office": "MKS-01"}, headers=ADMIN
    )
    elsewhere = (await issue(client, region="73.72")).json()["tokens"]

    rotated = await issue(client, region="73.71", rotate=True)

    assert rotated.status_code == 201
    new = rotated.json()["tokens"]
    assert [t["office"] for t in new] == ["MKS-01", "MKS-02", "MKS-DUKCAPIL"]
    for token in [*old, extra.json()]:
        assert await works(client, token["token"]) == 401
    for token in [*new, *elsewhere]:
        assert await works(client, token["token"]) == 200


async def test_a_scoped_admin_issues_inside_its_subtree_only(client, db):
    await offices(client)
    created = await client.post(
        "/api/v1/tokens", json={"role": "admin", "region": "73.71.02"}, headers=ADMIN
    )
    scoped = bearer(created.json()["token"])
    tokens = await db.scalar(text("SELECT count(*) FROM tokens"))

    wider = await issue(client, scoped, region="73.71")
    inside = await issue(client, scoped, region="73.71.02")

    assert wider.status_code == 403
    assert "73.71.02" in wider.json()["detail"]
    assert [t["office"] for t in inside.json()["tokens"]] == ["MKS-02"]
    assert await db.scalar(text("SELECT count(*) FROM tokens")) == tokens + 1


async def test_issue_and_rotate_are_on_record(client):
    await offices(client)
    first = (await issue(client, region="73.71.01")).json()["tokens"]
    second = (await issue(client, region="73.71.01", rotate=True)).json()["tokens"]

    response = await client.get("/api/v1/audit", params={"kind": "token"}, headers=ADMIN)

    found = [(e["key"], e["action"]) for e in response.json()["events"]]
    assert found == [
        (str(second[0]["id"]), "created"),
        (str(first[0]["id"]), "revoked"),
        (str(first[0]["id"]), "created"),
    ]


async def test_bad_issue_requests_are_refused(client, db):
    await offices(client)
    viewer = await client.post("/api/v1/tokens", json={"role": "viewer"}, headers=ADMIN)
    tokens = await db.scalar(text("SELECT count(*) FROM tokens"))

    answers = [
        await issue(client, region="73.79"),
        await issue(client, region="73.71 "),
        await issue(client, region="73.71", rotate="yes"),
        await issue(client, region="73.71", office="MKS-01"),
        await issue(client),
        await issue(client, bearer(viewer.json()["token"]), region="73.71"),
        await issue(client, {}, region="73.71"),
    ]

    assert [a.status_code for a in answers] == [422, 422, 422, 422, 422, 403, 401]
    assert await db.scalar(text("SELECT count(*) FROM tokens")) == tokens


# The sign-in sheet straight from the API


async def test_issue_with_accept_pdf_answers_the_sheet_of_the_tokens_just_issued(client):
    from tests.sheet_reader import read_sheet

    await offices(client)

    response = await client.post(
        ISSUE, json={"region": "73.71"}, headers={**ADMIN, "Accept": "application/pdf"}
    )

    assert response.status_code == 201
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["cache-control"] == "no-store"
    assert "sign-in-73.71.pdf" in response.headers["content-disposition"]
    pages = read_sheet(response.content)
    assert [page.text.splitlines()[0] for page in pages] == [
        "Office MKS-01",
        "Office MKS-02",
        "Office MKS-DUKCAPIL",
    ]
    links = [link for page in pages for link in page.links]
    assert len(links) == 3
    assert all(link.startswith("http://rekam.test/lapor#token=rekam_") for link in links)
    # Each link's token is one just issued, and signs in as its office.
    for link, office in zip(links, ["MKS-01", "MKS-02", "MKS-DUKCAPIL"], strict=True):
        token = link.split("#token=", 1)[1]
        me = await client.get("/api/v1/tokens/self", headers=bearer(token))
        assert me.json()["office"] == office
    again = await client.post(ISSUE, json={"region": "73.71"}, headers=ADMIN)
    assert again.json() == {"tokens": []}


async def test_issue_with_accept_pdf_and_nothing_to_issue_is_a_one_page_sheet_saying_so(client):
    from tests.sheet_reader import read_sheet

    await offices(client)
    await issue(client, region="73.72")

    response = await client.post(
        ISSUE, json={"region": "73.72"}, headers={**ADMIN, "Accept": "application/pdf"}
    )

    assert response.status_code == 201
    (page,) = read_sheet(response.content)
    assert page.links == []
    assert "no tokens were issued" in page.text


async def test_issue_as_pdf_is_refused_like_json_and_issues_nothing(client, db):
    await offices(client)
    viewer = await client.post(
        "/api/v1/tokens", json={"role": "viewer", "name": "v"}, headers=ADMIN
    )

    refused = await client.post(
        ISSUE,
        json={"region": "73.71"},
        headers={**bearer(viewer.json()["token"]), "Accept": "application/pdf"},
    )
    invalid = await client.post(
        ISSUE, json={"region": "73.71", "x": 1}, headers={**ADMIN, "Accept": "application/pdf"}
    )

    assert refused.status_code == 403
    assert invalid.status_code == 422
    assert invalid.headers["content-type"] == "application/problem+json"
    assert await db.scalar(text("SELECT count(*) FROM tokens WHERE role = 'office'")) == 0


async def test_accept_json_or_pdf_with_q_0_answers_json(client):
    await offices(client)

    response = await client.post(
        ISSUE,
        json={"region": "73.71"},
        headers={**ADMIN, "Accept": "application/json, application/pdf;q=0"},
    )

    assert response.status_code == 201
    assert len(response.json()["tokens"]) == 3
