"""Lapor's page, worker and assets as served: caching, the CSP, the byte budget, and the
members of the API it reads."""

import gzip
import re

from app.api.lapor import BUNDLE
from app.middleware import DASHBOARD_CSP
from tests.conftest import ADMIN
from tests.helpers import put_office, region_path

# The first load (the page, its worker and every asset the worker keeps), compressed.
BUDGET_BYTES = 100_000


async def test_the_page_is_revalidated_and_points_at_immutable_assets(client):
    page = await client.get("/lapor")

    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["cache-control"] == "no-cache"
    assert page.headers["content-security-policy"] == DASHBOARD_CSP.decode()
    assert "<script>" not in page.text
    assert " style=" not in page.text
    urls = re.findall(r'(?:src|href)="(/lapor/assets/[^"]+)"', page.text)
    assert urls == [
        f"/lapor/assets/{BUNDLE.version}/style.css",
        f"/lapor/assets/{BUNDLE.version}/app.js",
    ]
    for url in urls:
        asset = await client.get(url)
        assert asset.status_code == 200
        assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert asset.headers["content-security-policy"] == DASHBOARD_CSP.decode()
    script = await client.get(urls[1])
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"


async def test_the_worker_may_control_lapor_and_is_revalidated(client):
    worker = await client.get("/lapor/sw.js")

    assert worker.status_code == 200
    assert worker.headers["content-type"] == "text/javascript; charset=utf-8"
    assert worker.headers["cache-control"] == "no-cache"
    assert worker.headers["service-worker-allowed"] == "/lapor"
    assert "__ASSET" not in worker.text
    for name in BUNDLE.assets:
        assert f'"/lapor/assets/{BUNDLE.version}/{name}"' in worker.text


async def test_an_asset_of_another_version_or_unknown_is_404(client):
    other = await client.get("/lapor/assets/0000000000000000/app.js")
    unknown = await client.get(f"/lapor/assets/{BUNDLE.version}/nothing.js")
    traversal = await client.get(f"/lapor/assets/{BUNDLE.version}/..%2Findex.html")

    assert [other.status_code, unknown.status_code, traversal.status_code] == [404, 404, 404]
    assert other.headers["content-type"] == "application/problem+json"


async def test_assets_are_sent_gzipped_to_a_client_that_takes_it(client):
    url = f"/lapor/assets/{BUNDLE.version}/app.js"
    zipped = await client.get(url, headers={"Accept-Encoding": "gzip"})
    plain = await client.get(url, headers={"Accept-Encoding": "identity"})

    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["vary"] == "Accept-Encoding"
    assert "content-encoding" not in plain.headers
    assert zipped.content == plain.content  # httpx undoes the gzip


async def test_the_first_load_stays_under_100_kb_compressed(client):
    urls = ["/lapor", "/lapor/sw.js"] + [
        f"/lapor/assets/{BUNDLE.version}/{name}" for name in BUNDLE.assets
    ]
    total = 0
    for url in urls:
        response = await client.get(url)
        assert response.status_code == 200, url
        total += len(gzip.compress(response.content))

    assert total < BUDGET_BYTES


async def test_meta_names_the_edit_window(client):
    body = (await client.get("/api/v1/meta")).json()

    assert body["edit_window_days"] == 7


async def test_office_progress_names_the_office_timezone(client):
    await region_path(client, "81.71.01")
    await put_office(client, "AMB-01", "81.71.01", timezone="Asia/Jayapura")

    response = await client.get("/api/v1/offices/AMB-01/progress", headers=ADMIN)

    assert response.json()["office"]["timezone"] == "Asia/Jayapura"


def test_every_string_the_page_shows_exists_in_both_languages():
    source = BUNDLE.assets["i18n.js"].plain.decode()
    blocks = dict(re.findall(r"\n  (id|en): \{\n(.*?)\n  \},", source, flags=re.DOTALL))
    keys = {
        lang: set(re.findall(r"^ {4}(\w+):", block, flags=re.M)) for lang, block in blocks.items()
    }
    used = set(re.findall(r'data-i18n="(\w+)"', BUNDLE.page.plain.decode()))
    used |= set(re.findall(r'\bt\("(\w+)"', BUNDLE.assets["app.js"].plain.decode()))

    assert set(blocks) == {"id", "en"}
    assert keys["id"] == keys["en"]
    assert used <= keys["id"]
    assert {"recordings", "note", "send", "waiting"} <= used
