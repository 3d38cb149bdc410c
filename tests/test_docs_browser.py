"""/docs in a real headless browser: Swagger UI from Rekam's own files, under its CSP, with no
request leaving the service. Skipped, as the dashboard's browser tests are, without chromium."""

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from playwright.async_api import Browser

from tests.browser import SCREENSHOTS, launched_browser, needs_chromium
from tests.conftest import RekamServe, serving

pytestmark = needs_chromium

# Every violation of the page's CSP, as the browser reports it to the page.
RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener('securitypolicyviolation', (event) => {
  window.cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


@pytest.fixture(scope="module")
def service(server_url: str) -> Iterator[RekamServe]:
    with serving(server_url, "docs") as server:
        yield server


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with launched_browser() as launched:
        yield launched


async def test_docs_render_every_operation_from_rekam_alone_under_its_csp(browser, service):
    async with httpx.AsyncClient(base_url=service.base_url, timeout=10) as http:
        document = (await http.get("/openapi.json")).json()
    operations = sum(len(methods) for methods in document["paths"].values())
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    await context.add_init_script(RECORD_VIOLATIONS)
    page = await context.new_page()
    requested: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))

    response = await page.goto(service.base_url + "/docs")
    await page.locator(".opblock").first.wait_for(timeout=20_000)
    await page.wait_for_load_state("networkidle")
    rendered = await page.locator(".opblock").count()
    # The page works, not only shows: try one operation out from the browser.
    healthz = page.locator(".opblock", has=page.locator("[data-path='/healthz']"))
    await healthz.locator(".opblock-summary").first.click()
    await healthz.locator(".try-out__btn").click()
    await healthz.locator(".execute").click()
    status = healthz.locator(".live-responses-table tr.response .response-col_status").first
    await status.wait_for(timeout=10_000)
    tried = (await status.inner_text()).strip()
    await page.screenshot(path=str(SCREENSHOTS / "docs.png"), full_page=False)
    violations = await page.evaluate("window.cspViolations")
    await context.close()

    assert response is not None
    assert response.status == 200
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert rendered == operations
    assert tried == "200"
    assert violations == []
    assert errors == []
    assert requested, "the page asked for nothing"
    assert [url for url in requested if not url.startswith(service.base_url + "/")] == []
