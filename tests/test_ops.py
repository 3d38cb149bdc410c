"""Operations: health, readiness, the API description, and errors that are always JSON."""

import re

import httpx
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from app.main import create_app
from tests.conftest import ADMIN, drop_database, new_database, settings_for


async def test_healthz_answers_without_a_database():
    app = create_app(settings_for("postgresql://nobody@127.0.0.1:1/none"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://rekam.test") as client:
        response = await client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_200_on_a_migrated_database(client):
    response = await client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["status"] == "ready"


@pytest.fixture
def unmigrated_database(server_url):
    url = new_database(server_url, "unmigrated")
    yield url
    drop_database(server_url, url)


async def test_readyz_is_503_on_a_database_not_migrated(unmigrated_database):
    engine = create_async_engine(unmigrated_database)
    try:
        app = create_app(settings_for(unmigrated_database), engine=engine)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://rekam.test") as client:
            response = await client.get("/readyz")
    finally:
        await engine.dispose()

    assert response.status_code == 503
    assert response.headers["retry-after"]
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 503


async def test_openapi_describes_the_write_routes(client):
    response = await client.get("/openapi.json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {
        "/api/v1/tokens",
        "/api/v1/tokens/{token_id}",
        "/api/v1/regions/{code}",
        "/api/v1/regions/{code}/figures/{date}",
        "/api/v1/offices/{code}",
        "/api/v1/offices/{code}/counts/{date}",
        "/api/v1/offices/{code}/counts/{date}/history",
        "/api/v1/counts",
    } <= set(paths)


async def test_docs_are_served(client):
    response = await client.get("/docs")

    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]


async def test_docs_load_swagger_ui_from_rekam_itself_under_a_csp(client):
    page = await client.get("/docs")
    scripts = re.findall(r'<script src="([^"]+)"', page.text)
    styles = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page.text)
    assets = [await client.get(path) for path in scripts + styles]
    other = await client.get("/docs/static/redoc.standalone.js")

    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe" not in csp
    assert "<script>" not in page.text
    assert "http" not in page.text
    assert scripts == ["/docs/static/swagger-ui-bundle.js", "/docs/static/init.js"]
    assert [asset.status_code for asset in assets] == [200, 200, 200]
    assert all(asset.headers["content-security-policy"] == csp for asset in assets)
    assert "SwaggerUIBundle" in assets[0].text
    assert other.status_code == 404


async def test_unknown_route_is_404_json(client):
    response = await client.get("/api/v1/nothing-here", headers=ADMIN)

    assert response.status_code == 404
    assert "detail" in response.json()


async def test_wrong_method_is_405_json(client):
    response = await client.patch("/api/v1/regions/ID", json={"name": "X"}, headers=ADMIN)

    assert response.status_code == 405
    assert "detail" in response.json()
