"""Headers, CORS, docs switch, token storage and statement timeouts."""

import hashlib

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.db import create_engine
from tests.conftest import ADMIN, settings_for
from tests.helpers import client_with


async def test_dashboard_is_served_with_a_strict_content_security_policy(client):
    response = await client.get("/dashboard")
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "'unsafe-inline'" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


async def test_dashboard_page_has_no_inline_script(client):
    page = (await client.get("/dashboard")).text
    assert "<script>" not in page
    assert "onclick=" not in page.lower()
    assert 'style="' not in page


async def test_dashboard_modules_are_served_as_javascript(client):
    # A module script with another type is refused under nosniff, and the page stays blank.
    page = (await client.get("/dashboard")).text
    assert '<script type="module" src="/dashboard/static/main.js">' in page
    for path in ("main.js", "views/region.js", "i18n.js"):
        response = await client.get(f"/dashboard/static/{path}")
        assert response.status_code == 200, path
        assert response.headers["content-type"].split(";")[0] in (
            "text/javascript",
            "application/javascript",
        )


async def test_root_redirects_to_the_dashboard(client):
    response = await client.get("/")
    assert response.status_code in (302, 307)
    assert response.headers["location"] == "/dashboard"


async def test_api_answers_carry_security_headers(client):
    response = await client.get("/api/v1/regions/ID", headers=ADMIN)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"


async def test_cors_is_off_unless_origins_are_configured(client):
    response = await client.get(
        "/api/v1/regions/ID", headers={**ADMIN, "Origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in response.headers


async def test_cors_allows_only_the_configured_origins(database_url, engine, connection):
    async with client_with(
        database_url, engine, connection, cors_origins=["https://dukcapil.example"]
    ) as client:
        allowed = await client.options(
            "/api/v1/regions/ID",
            headers={"Origin": "https://dukcapil.example", "Access-Control-Request-Method": "GET"},
        )
        assert allowed.headers["access-control-allow-origin"] == "https://dukcapil.example"
        refused = await client.get(
            "/api/v1/regions/ID", headers={**ADMIN, "Origin": "https://evil.example"}
        )
        assert "access-control-allow-origin" not in refused.headers


async def test_docs_can_be_switched_off(database_url, engine, connection):
    async with client_with(database_url, engine, connection, docs_enabled=False) as client:
        assert (await client.get("/docs")).status_code == 404
        assert (await client.get("/docs/static/swagger-ui-bundle.js")).status_code == 404
        assert (await client.get("/openapi.json")).status_code == 404


async def test_tokens_are_stored_only_as_sha256(client, db):
    token = (await client.post("/api/v1/tokens", json={"role": "viewer"}, headers=ADMIN)).json()
    assert token["token"].startswith("rekam_")
    stored = await db.scalar(
        text("SELECT secret_hash FROM tokens WHERE id = :id"), {"id": token["id"]}
    )
    assert stored == hashlib.sha256(token["token"].encode()).digest()


async def test_every_statement_runs_under_a_timeout(database_url):
    engine = create_engine(settings_for(database_url, statement_timeout_ms=200))
    try:
        async with engine.connect() as connection:
            assert await connection.scalar(text("SHOW statement_timeout")) == "200ms"
            with pytest.raises(DBAPIError) as caught:
                await connection.execute(text("SELECT pg_sleep(2)"))
            assert getattr(caught.value.orig, "sqlstate", None) == "57014"
    finally:
        await engine.dispose()


async def test_nul_characters_in_text_are_invalid_input(client):
    response = await client.post(
        "/api/v1/tokens", json={"role": "viewer", "name": "a\x00b"}, headers=ADMIN
    )
    assert response.status_code == 422
    region = await client.put("/api/v1/regions/73", json={"name": "Sul\x00sel"}, headers=ADMIN)
    assert region.status_code == 422
