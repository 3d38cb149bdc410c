"""The dashboard in a real headless browser, over a running service holding the demo.

Debian's chromium (scripts/install-browser.sh) is driven by Playwright, which never downloads
a browser of its own. Every run leaves screenshots in artifacts/screenshots/."""

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, ConsoleMessage, Page

from tests.browser import SCREENSHOTS, Service, demo_service, launched_browser, needs_chromium
from tests.conftest import ADMIN

TESTIDS = [
    "headline-coverage",
    "headline-recorded",
    "headline-eligible",
    "headline-day-recordings",
    "headline-day-target",
    "headline-required-per-day",
    "headline-days-left",
    "headline-projected-date",
    "headline-on-track",
    "children-table",
    "offices-table",
    "missing-list",
    "breadcrumbs",
    "lang-toggle",
    "as-of-input",
    "token-input",
    "demo-banner",
    "error-banner",
]
MONTHS_ID = ["Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"]
DASH = "—"

pytestmark = needs_chromium


# The Indonesian way of writing numbers and dates, as the dashboard must show them.


def id_int(value: int | None) -> str:
    return DASH if value is None else f"{value:,}".replace(",", ".")


def id_percent(value: float | None) -> str:
    """One decimal, comma as the decimal mark: 0.7241 -> "72,4%" (halves round away from 0)."""
    if value is None:
        return DASH
    percent = (Decimal(repr(value)) * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    whole, fraction = f"{percent:.1f}".split(".")
    return f"{id_int(int(whole))},{fraction}%"


def id_date(value: str | None) -> str:
    if value is None:
        return DASH
    day = date.fromisoformat(value)
    return f"{day.day} {MONTHS_ID[day.month - 1]} {day.year}"


# The service, the browser, and a page on the dashboard.


@pytest.fixture(scope="module")
def dashboard(server_url: str) -> Iterator[Service]:
    with demo_service(server_url, "dash") as service:
        yield service


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with launched_browser() as launched:
        yield launched


@dataclass
class Console:
    errors: list[str] = field(default_factory=list)

    def on_message(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def on_page_error(self, error: Exception) -> None:
        self.errors.append(f"uncaught: {error}")


async def open_page(
    browser: Browser, dashboard: Service, *, width: int = 1280, token: str | None = ""
) -> tuple[Page, Console]:
    """A fresh browser profile with the viewer token in localStorage (or, with token=None,
    none at all), its console errors collected."""
    # An Indonesian reader's browser; the page must not rely on it for its own formats.
    context = await browser.new_context(
        viewport={"width": width, "height": 900}, locale="id-ID", timezone_id="Asia/Makassar"
    )
    token = dashboard.viewer if token == "" else token
    if token is not None:
        await context.add_init_script(f"localStorage.setItem('rekam.token', {token!r});")
    page = await context.new_page()
    console = Console()
    page.on("console", console.on_message)
    page.on("pageerror", console.on_page_error)
    return page, console


async def wait_ready(page: Page, heading: str | None = None) -> None:
    """Until the view has loaded (and shows `heading`, when a new view was asked for)."""
    await page.wait_for_function(
        """(heading) => document.body.dataset.state === 'ready'
             && (heading === null || document.querySelector('h1')?.textContent === heading)""",
        arg=heading,
        timeout=20_000,
    )


async def goto(page: Page, dashboard: Service, route: str, heading: str | None = None) -> None:
    await page.goto(f"{dashboard.base_url}/dashboard#{route}")
    await wait_ready(page, heading)


async def text_of(page: Page, testid: str) -> str:
    return (await page.get_by_test_id(testid).inner_text()).strip()


async def shoot(page: Page, name: str) -> None:
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


async def close(page: Page) -> None:
    await page.context.close()


# Tests


async def test_root_redirects_to_the_dashboard_which_loads_without_console_errors(
    browser, dashboard
):
    page, console = await open_page(browser, dashboard)

    await page.goto(dashboard.base_url + "/")
    await wait_ready(page, "Indonesia")
    await shoot(page, "nation")

    assert page.url.startswith(dashboard.base_url + "/dashboard#/region/ID")
    assert await page.evaluate("document.documentElement.lang") == "id"
    for testid in TESTIDS:
        assert await page.get_by_test_id(testid).count() == 1, testid
    assert await page.get_by_test_id("demo-banner").is_visible()
    assert not await page.get_by_test_id("error-banner").is_visible()
    assert await text_of(page, "lang-toggle") == "English"
    assert console.errors == []
    await close(page)


@pytest.mark.parametrize(("code", "name"), [("73.71", "Kota Makassar"), ("ID", "Indonesia")])
async def test_headline_numbers_are_the_api_numbers_written_the_indonesian_way(
    browser, dashboard, code, name
):
    page, console = await open_page(browser, dashboard)

    await goto(page, dashboard, f"/region/{code}", name)
    progress = dashboard.api(f"/progress/{code}")
    await shoot(page, f"region-{code}")

    target = progress["target"]
    assert await text_of(page, "headline-coverage") == id_percent(progress["coverage"])
    assert await text_of(page, "headline-recorded") == id_int(progress["recorded"])
    assert await text_of(page, "headline-eligible") == id_int(progress["eligible"])
    assert await text_of(page, "headline-day-recordings") == id_int(progress["day"]["recordings"])
    assert await text_of(page, "headline-day-target") == id_int(progress["day"]["target"])
    assert await text_of(page, "headline-required-per-day") == id_int(target["required_per_day"])
    assert await text_of(page, "headline-days-left") == id_int(target["days_left"])
    assert await text_of(page, "headline-projected-date") == id_date(target["projected_date"])
    on_track = page.get_by_test_id("headline-on-track")
    expected = (
        ("Sesuai jadwal", "status-ok")
        if target["on_track"]
        else (
            "Tidak sesuai jadwal",
            "status-bad",
        )
    )
    assert (await on_track.inner_text()).strip() == expected[0]
    assert expected[1] in (await on_track.get_attribute("class") or "")
    assert console.errors == []
    await close(page)


async def test_the_demo_city_shows_its_targets_and_a_recognisable_headline(browser, dashboard):
    page, _ = await open_page(browser, dashboard)

    await goto(page, dashboard, "/region/73.71", "Kota Makassar")

    # Grouped with dots, a comma before the one decimal: the Indonesian way, from the API.
    assert await text_of(page, "headline-eligible") == "1.216.381"
    assert await text_of(page, "headline-day-target") == "1.000"
    coverage = await text_of(page, "headline-coverage")
    assert coverage.endswith("%")
    assert "," in coverage
    await close(page)


async def test_drilling_down_from_the_nation_to_a_kecamatan_by_clicking(browser, dashboard):
    page, console = await open_page(browser, dashboard)
    await goto(page, dashboard, "/region/ID", "Indonesia")

    for code, name in [("73", "Sulawesi Selatan"), ("73.71", "Kota Makassar")]:
        await page.get_by_test_id("children-table").locator(f'tr[data-code="{code}"] a').click()
        await wait_ready(page, name)
    await shoot(page, "drill-city")
    await page.get_by_test_id("children-table").locator('tr[data-code="73.71.01"] a').click()
    await wait_ready(page, "Mariso")
    await shoot(page, "drill-kecamatan")

    assert page.url.endswith("#/region/73.71.01")
    crumbs = await page.get_by_test_id("breadcrumbs").locator("li").all_inner_texts()
    assert [c.strip() for c in crumbs] == [
        "Indonesia",
        "Sulawesi Selatan",
        "Kota Makassar",
        "Mariso",
    ]
    mariso = dashboard.api("/progress/73.71.01")
    assert await text_of(page, "headline-coverage") == id_percent(mariso["coverage"])
    offices = page.get_by_test_id("offices-table").locator("tbody tr")
    assert await offices.count() == 1
    assert await offices.first.get_attribute("data-code") == "MKS-MARISO"

    # And back up through the breadcrumbs.
    await page.get_by_test_id("breadcrumbs").get_by_role("link", name="Kota Makassar").click()
    await wait_ready(page, "Kota Makassar")
    assert page.url.endswith("#/region/73.71")
    assert console.errors == []
    await close(page)


async def test_a_kecamatan_shows_the_target_it_takes_from_its_city(browser, dashboard):
    page, console = await open_page(browser, dashboard)

    await goto(page, dashboard, "/region/73.71.01", "Mariso")
    mariso = dashboard.api("/progress/73.71.01")

    # Mariso has no target of its own: it works toward Makassar's, computed from its numbers.
    assert mariso["target"]["source"] == "73.71"
    assert await text_of(page, "headline-target-source") == "73.71"
    target = mariso["target"]
    assert await text_of(page, "headline-required-per-day") == id_int(target["required_per_day"])
    assert await text_of(page, "headline-days-left") == id_int(target["days_left"])
    assert await text_of(page, "headline-projected-date") == id_date(target["projected_date"])
    # The city's own target names no source.
    await goto(page, dashboard, "/region/73.71", "Kota Makassar")
    assert await page.get_by_test_id("headline-target-source").count() == 0
    assert console.errors == []
    await close(page)


async def test_the_city_children_table_shows_each_kecamatan_coverage_and_sorts(browser, dashboard):
    page, console = await open_page(browser, dashboard)
    await goto(page, dashboard, "/region/73.71", "Kota Makassar")
    children = dashboard.api("/progress/73.71")["children"]
    table = page.get_by_test_id("children-table")

    async def order() -> list[str]:
        return [
            await row.get_attribute("data-code") or ""
            for row in await table.locator("tbody tr").all()
        ]

    # Worst first: coverage minus the target that applies, children without a target last.
    def gap(child: dict[str, Any]) -> tuple[bool, float]:
        if child["coverage"] is None or child["target_coverage"] is None:
            return (True, 0.0)
        return (False, child["coverage"] - child["target_coverage"])

    worst_first = sorted(children, key=gap)
    assert await order() == [child["code"] for child in worst_first]
    shown = [t.strip() for t in await table.locator("tbody .pct").all_inner_texts()]
    assert shown == [id_percent(child["coverage"]) for child in worst_first]
    statuses = [t.strip() for t in await table.locator("tbody .status").all_inner_texts()]
    assert statuses == [
        {True: "Sesuai jadwal", False: "Tidak sesuai jadwal", None: "Tanpa target"}[c["on_track"]]
        for c in worst_first
    ]
    by_child = {c["code"]: c for c in dashboard.api("/progress/73.71")["reporting"]["by_child"]}
    for child in worst_first:
        counted = by_child[child["code"]]
        cell = table.locator(f'tr[data-code="{child["code"]}"] td').nth(3)
        expected = (
            f"{counted['expected'] - counted['reported']} dari {counted['expected']}"
            if counted["expected"]
            else DASH
        )
        assert (await cell.inner_text()).strip() == expected

    await table.locator('[data-sort-key="coverage"]').click()
    ascending = [c["code"] for c in sorted(children, key=lambda c: c["coverage"])]
    assert await order() == ascending
    await page.get_by_test_id("children-table").locator('[data-sort-key="coverage"]').click()
    assert await order() == ascending[::-1]
    assert console.errors == []
    await close(page)


async def test_offices_not_reported_today_are_listed(browser, dashboard):
    page, _ = await open_page(browser, dashboard)

    await goto(page, dashboard, "/region/73.71", "Kota Makassar")

    chips = page.get_by_test_id("missing-list").locator("li")
    codes = [await chip.get_attribute("data-code") for chip in await chips.all()]
    assert codes == dashboard.api("/progress/73.71")["reporting"]["missing"]
    assert codes == ["MKS-TALLO", "MKS-WAJO"]
    # Each by its name, with its code as secondary text.
    names = {o["code"]: o["name"] for o in dashboard.api("/offices", region="73.71")["offices"]}
    for chip, code in zip(await chips.all(), codes, strict=True):
        assert (await chip.locator(".name").inner_text()).strip() == names[code]
        assert (await chip.locator(".code").inner_text()).strip() == code
    await close(page)


async def test_the_office_view_opens_from_the_offices_table(browser, dashboard):
    page, console = await open_page(browser, dashboard)
    await goto(page, dashboard, "/region/73.71", "Kota Makassar")

    await page.get_by_test_id("offices-table").locator('tr[data-code="MKS-DUKCAPIL"] a').click()
    await wait_ready(page, "Dinas Dukcapil Kota Makassar")
    await shoot(page, "office")

    progress = dashboard.api("/offices/MKS-DUKCAPIL/progress")
    assert await text_of(page, "headline-day-recordings") == id_int(progress["day"]["recordings"])
    assert await text_of(page, "office-total") == id_int(progress["total"])
    crumbs = await page.get_by_test_id("breadcrumbs").locator("li").all_inner_texts()
    assert [c.strip() for c in crumbs][-2:] == ["Kota Makassar", "Dinas Dukcapil Kota Makassar"]
    assert console.errors == []
    await close(page)


async def test_the_daily_chart_has_90_days_a_target_line_and_a_coverage_line(browser, dashboard):
    page, _ = await open_page(browser, dashboard)

    await goto(page, dashboard, "/region/73.71", "Kota Makassar")

    assert await page.locator('[data-testid="chart-daily"] .bars rect').count() == 90
    assert await page.locator('[data-testid="chart-daily"] path.target-line').count() == 1
    assert await page.locator('[data-testid="chart-coverage"] path.coverage-line').count() == 1
    await close(page)


async def test_as_of_shows_the_figures_of_the_chosen_date(browser, dashboard):
    page, console = await open_page(browser, dashboard)
    await goto(page, dashboard, "/region/73.71", "Kota Makassar")
    today = date.fromisoformat(dashboard.api("/progress/73.71")["as_of"])
    chosen = (today - timedelta(days=10)).isoformat()

    await page.get_by_test_id("as-of-input").fill(chosen)
    # Ready again, and showing the chosen date (not still the view of today).
    await page.wait_for_function(
        """([day, label]) => location.hash.endsWith('as_of=' + day)
             && document.body.dataset.state === 'ready'
             && document.querySelector('.view-head p').textContent.includes('data per ' + label)""",
        arg=[chosen, id_date(chosen)],
    )
    await shoot(page, "as-of")

    progress = dashboard.api("/progress/73.71", as_of=chosen)
    assert progress["as_of"] == chosen
    assert await text_of(page, "headline-recorded") == id_int(progress["recorded"])
    assert await text_of(page, "headline-day-recordings") == id_int(progress["day"]["recordings"])
    assert await text_of(page, "headline-days-left") == id_int(progress["target"]["days_left"])
    assert id_date(chosen) in await page.locator(".view-head p").inner_text()
    assert console.errors == []
    await close(page)


async def test_english_toggle_changes_words_and_number_formats(browser, dashboard):
    page, console = await open_page(browser, dashboard)
    await goto(page, dashboard, "/region/73.71", "Kota Makassar")
    coverage = dashboard.api("/progress/73.71")["coverage"]
    assert await text_of(page, "headline-eligible") == "1.216.381"
    assert await text_of(page, "headline-day-target") == "1.000"
    assert await text_of(page, "headline-coverage") == id_percent(coverage)

    await page.get_by_test_id("lang-toggle").click()
    await shoot(page, "english")

    assert await page.evaluate("document.documentElement.lang") == "en"
    assert await text_of(page, "lang-toggle") == "Bahasa Indonesia"
    assert await text_of(page, "headline-on-track") in ("On track", "Behind schedule")
    assert await text_of(page, "headline-eligible") == "1,216,381"
    assert await text_of(page, "headline-day-target") == "1,000"
    assert await text_of(page, "headline-coverage") == id_percent(coverage).replace(",", ".")
    assert await page.evaluate("localStorage.getItem('rekam.lang')") == "en"
    await page.reload()
    await wait_ready(page, "Kota Makassar")
    assert await page.evaluate("document.documentElement.lang") == "en"
    assert console.errors == []
    await close(page)


async def test_without_a_token_the_page_asks_for_one_and_uses_the_one_typed(browser, dashboard):
    page, console = await open_page(browser, dashboard, token=None)

    await page.goto(f"{dashboard.base_url}/dashboard#/region/73.71")
    await page.wait_for_function("() => document.body.dataset.state === 'error'")
    banner = page.get_by_test_id("error-banner")
    assert await banner.is_visible()
    assert "token" in (await banner.inner_text()).lower()
    await shoot(page, "no-token")

    await page.get_by_test_id("token-input").fill(dashboard.viewer)
    await page.get_by_test_id("token-input").press("Enter")
    await wait_ready(page, "Kota Makassar")

    assert not await banner.is_visible()
    assert await page.evaluate("localStorage.getItem('rekam.token')") == dashboard.viewer
    # Only the refused requests themselves, never a script error.
    assert all("401" in error for error in console.errors), console.errors
    await close(page)


async def test_the_page_refreshes_every_60_seconds(browser, dashboard):
    page, console = await open_page(browser, dashboard)
    await page.clock.install()
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    await goto(page, dashboard, "/region/73.71", "Kota Makassar")
    loaded = len(asked)

    await page.clock.run_for(50_000)
    quiet = len(asked) == loaded
    async with page.expect_request(lambda request: "/api/v1/progress/73.71" in request.url):
        await page.clock.run_for(11_000)
    await wait_ready(page, "Kota Makassar")

    assert quiet, "the page fetched again before 60 s had passed"
    assert console.errors == []
    await close(page)


@pytest.mark.parametrize(
    ("route", "heading", "name"),
    [
        ("/region/ID", "Indonesia", "phone-nation"),
        ("/region/73.71", "Kota Makassar", "phone-city"),
        ("/office/MKS-DUKCAPIL", "Dinas Dukcapil Kota Makassar", "phone-office"),
        ("/explain/73.71", "Cara menghitung Kota Makassar", "phone-explain"),
    ],
)
async def test_usable_at_360_pixels_without_sideways_scrolling(
    browser, dashboard, route, heading, name
):
    page, console = await open_page(browser, dashboard, width=360)

    await goto(page, dashboard, route, heading)
    await shoot(page, name)

    assert await page.evaluate("document.documentElement.scrollWidth") <= 360
    assert console.errors == []
    await close(page)


async def test_names_in_the_lists_capitals_are_shown_in_title_case(browser, dashboard):
    # A regency as the official list writes it: the page shows its display name everywhere.
    async with httpx.AsyncClient(base_url=dashboard.base_url, headers=ADMIN, timeout=30) as http:
        created = await http.put("/api/v1/regions/73.72", json={"name": "KOTA PAREPARE"})
        assert created.status_code == 201, created.text
        try:
            page, console = await open_page(browser, dashboard)

            await goto(page, dashboard, "/region/73", "Sulawesi Selatan")
            link = page.get_by_role("link", name="Kota Parepare", exact=True)
            assert await link.count() == 1
            await link.click()
            await wait_ready(page, "Kota Parepare")

            assert "Kota Parepare" in await text_of(page, "breadcrumbs")
            assert "KOTA PAREPARE" not in await page.locator("body").inner_text()
            assert console.errors == []
            await close(page)
        finally:
            deleted = await http.delete("/api/v1/regions/73.72")
            assert deleted.status_code == 204, deleted.text


async def new_dashboard_token(dashboard: Service, body: dict[str, Any]) -> str:
    async with httpx.AsyncClient(base_url=dashboard.base_url, headers=ADMIN, timeout=30) as http:
        created = await http.post("/api/v1/tokens", json=body)
    assert created.status_code == 201, created.text
    return str(created.json()["token"])


@pytest.mark.parametrize(
    ("body", "heading"),
    [
        ({"role": "office", "office": "MKS-DUKCAPIL", "name": "loket"}, "Kota Makassar"),
        ({"role": "viewer", "region": "73", "name": "Disdukcapil Sulsel"}, "Sulawesi Selatan"),
    ],
)
async def test_a_first_open_lands_where_the_tokens_holder_works(browser, dashboard, body, heading):
    token = await new_dashboard_token(dashboard, body)
    page, console = await open_page(browser, dashboard, token=token)

    await page.goto(dashboard.base_url + "/dashboard")
    await wait_ready(page, heading)

    assert console.errors == []
    await close(page)


async def test_the_readers_last_region_is_where_the_next_open_lands(browser, dashboard):
    page, console = await open_page(browser, dashboard)
    await goto(page, dashboard, "/region/73.71", "Kota Makassar")

    await page.goto(dashboard.base_url + "/dashboard")
    await page.reload()
    await wait_ready(page, "Kota Makassar")

    assert page.url.endswith("#/region/73.71")
    assert console.errors == []
    await close(page)


async def test_a_view_opened_again_is_revalidated_and_a_304_keeps_its_numbers(browser, dashboard):
    page, console = await open_page(browser, dashboard)
    answered: list[tuple[int, str | None]] = []

    def on_response(response: Any) -> None:
        if response.url.split("?")[0].endswith("/api/v1/progress/73.71"):
            answered.append((response.status, response.request.headers.get("if-none-match")))

    page.on("response", on_response)
    await goto(page, dashboard, "/region/73.71", "Kota Makassar")
    first = await text_of(page, "headline-recorded")
    await goto(page, dashboard, "/region/73", "Sulawesi Selatan")
    await goto(page, dashboard, "/region/73.71", "Kota Makassar")

    assert answered[0] == (200, None)
    assert answered[-1][0] == 304
    assert answered[-1][1] is not None
    assert await text_of(page, "headline-recorded") == first
    assert console.errors == []
    await close(page)


@pytest.mark.parametrize(
    ("route", "heading", "note"),
    [
        ("/region/73.71?as_of=2099-01-01", "Kota Makassar", "belum tiba"),
        ("/region/73.71?as_of=2000-01-01", "Kota Makassar", "Belum ada data"),
        ("/office/MKS-DUKCAPIL?as_of=2000-01-01", "Dinas Dukcapil Kota Makassar", "Belum ada data"),
        ("/region/73.71", "Kota Makassar", None),
    ],
)
async def test_a_date_after_today_or_before_any_data_gets_a_note(
    browser, dashboard, route, heading, note
):
    page, console = await open_page(browser, dashboard)

    await goto(page, dashboard, route, heading)

    shown = page.get_by_test_id("as-of-note")
    if note is None:
        assert await shown.count() == 0
    else:
        assert note in await shown.inner_text()
    assert console.errors == []
    await close(page)


async def test_a_first_visit_without_a_token_says_what_rekam_is_and_who_gives_tokens(
    browser, dashboard
):
    page, console = await open_page(browser, dashboard, token=None, width=360)

    await page.goto(f"{dashboard.base_url}/dashboard")
    await page.wait_for_function("() => document.body.dataset.state === 'error'")
    welcome = page.get_by_test_id("welcome")
    assert "Disdukcapil" in await welcome.inner_text()
    await shoot(page, "welcome")
    await page.get_by_test_id("lang-toggle").click()
    assert "Disdukcapil admin" in await welcome.inner_text()

    await page.get_by_test_id("welcome-token").fill(dashboard.viewer)
    await page.get_by_test_id("welcome-token").press("Enter")
    await wait_ready(page, "Indonesia")

    assert await page.get_by_test_id("welcome").count() == 0
    assert all("401" in error for error in console.errors), console.errors
    await close(page)


async def test_not_reported_names_at_most_50_offices_and_points_to_the_children(browser, dashboard):
    # A province of 60 offices that have not reported: too many to list one by one.
    offices = [
        {"code": f"SILENT-{n:02d}", "name": f"Kantor {n}", "region": "76", "kind": "kecamatan"}
        for n in range(60)
    ]
    async with httpx.AsyncClient(base_url=dashboard.base_url, headers=ADMIN, timeout=30) as http:
        assert (await http.put("/api/v1/regions/76", json={"name": "SULAWESI BARAT"})).is_success
        assert (await http.post("/api/v1/offices", json={"offices": offices})).is_success
        try:
            page, console = await open_page(browser, dashboard)
            await goto(page, dashboard, "/region/ID", "Indonesia")
            reporting = dashboard.api("/progress/ID")["reporting"]

            chips = page.get_by_test_id("missing-list").locator("li")
            assert reporting["missing_total"] > 50
            assert await chips.count() == 50
            assert "Belum melapor" in await text_of(page, "missing-more")
            row = page.get_by_test_id("children-table").locator('tr[data-code="76"] td').nth(3)
            assert (await row.inner_text()).strip() == "60 dari 60"
            assert console.errors == []
            await close(page)
        finally:
            quiet = [office | {"active": False} for office in offices]
            assert (await http.post("/api/v1/offices", json={"offices": quiet})).is_success


MONTHS_LONG = {
    "id": "Januari Februari Maret April Mei Juni Juli Agustus September Oktober November Desember",
    "en": "January February March April May June July August September October November December",
}


async def test_the_as_of_date_reads_in_the_chosen_languages_words_and_order(browser, dashboard):
    page, console = await open_page(browser, dashboard)
    await goto(page, dashboard, "/region/73.71", "Kota Makassar")
    today = date.fromisoformat(dashboard.api("/progress/73.71")["as_of"])
    fields = page.get_by_test_id("as-of-fields").locator("select")

    async def shown() -> list[str]:
        return [
            (await select.evaluate("s => s.selectedOptions[0].textContent")).strip()
            for select in await fields.all()
        ]

    # Day, month in words, year: the order both languages write a date in.
    order = [await select.get_attribute("data-testid") for select in await fields.all()]
    assert order == ["as-of-day", "as-of-month", "as-of-year"]
    month_id = MONTHS_LONG["id"].split()[today.month - 1]
    assert await shown() == [str(today.day), month_id, str(today.year)]
    await shoot(page, "as-of-fields")

    # Picking a day in the fields opens that day.
    await page.get_by_test_id("as-of-day").select_option("1")
    first = today.replace(day=1).isoformat()
    await page.wait_for_function(
        """(day) => location.hash.endsWith('as_of=' + day)
             && document.body.dataset.state === 'ready'""",
        arg=first,
    )
    assert dashboard.api("/progress/73.71", as_of=first)["as_of"] == first
    assert id_date(first) in await page.locator(".view-head p").inner_text()

    await page.get_by_test_id("lang-toggle").click()
    month_en = MONTHS_LONG["en"].split()[today.month - 1]
    assert await shown() == ["1", month_en, str(today.year)]
    months = await page.get_by_test_id("as-of-month").locator("option").all_inner_texts()
    assert [m.strip() for m in months] == MONTHS_LONG["en"].split()
    assert await page.get_by_test_id("as-of-month").get_attribute("aria-label") == "Month"
    assert console.errors == []
    await close(page)


@pytest.mark.parametrize(
    ("lang", "said"),
    [("id", "tidak ditemukan"), ("en", "was not found")],
)
async def test_an_error_banner_speaks_the_chosen_language(browser, dashboard, lang, said):
    page, console = await open_page(browser, dashboard)
    await page.add_init_script(f"localStorage.setItem('rekam.lang', {lang!r});")

    await page.goto(f"{dashboard.base_url}/dashboard#/region/73.99")
    await page.wait_for_function("() => document.body.dataset.state === 'error'")

    banner = await text_of(page, "error-banner")
    assert said in banner
    assert all("404" in error for error in console.errors), console.errors
    await close(page)


def flags_in(flags: list[dict[str, Any]], code: str) -> int:
    return sum(1 for f in flags if f["region"] == code or f["region"].startswith(code + "."))


@pytest.mark.parametrize(("lang", "title"), [("id", "Mutu data"), ("en", "Data quality")])
async def test_the_quality_panel_names_what_is_flagged_and_counts_it_per_child(
    browser, dashboard, lang, title
):
    # Three offices that never report: each is flagged silent in its kecamatan.
    offices = [
        {"code": f"SUNYI-{n}", "name": f"Kantor Sunyi {n}", "region": region, "kind": "mobile"}
        for n, region in [(1, "73.71.01"), (2, "73.71.02"), (3, "73.71.02")]
    ]
    async with httpx.AsyncClient(base_url=dashboard.base_url, headers=ADMIN, timeout=30) as http:
        assert (await http.post("/api/v1/offices", json={"offices": offices})).is_success
        try:
            page, console = await open_page(browser, dashboard)
            await page.add_init_script(f"localStorage.setItem('rekam.lang', {lang!r});")
            await goto(page, dashboard, "/region/73.71", "Kota Makassar")
            progress = dashboard.api("/progress/73.71")
            quality = dashboard.api("/quality/73.71", as_of=progress["as_of"], limit="5000")
            panel = page.get_by_test_id("quality")
            await panel.scroll_into_view_if_needed()
            await shoot(page, f"quality-{lang}")

            assert (await panel.locator("h2").inner_text()).strip() == title
            assert quality["total"] == len(quality["flags"]) >= 3
            sections = await panel.locator("section").all()
            kinds = [await section.get_attribute("data-kind") for section in sections]
            assert kinds == list(dict.fromkeys(f["kind"] for f in quality["flags"]))
            for office in offices:
                item = panel.locator(f'li[data-kind="silent"][data-code="{office["code"]}"]')
                # Named, not coded: the office's name, its code beside it.
                assert (await item.locator("a").inner_text()).strip() == office["name"]
                assert (await item.locator(".code").inner_text()).strip() == office["code"]
            table = page.get_by_test_id("children-table")
            for child in progress["children"]:
                cell = table.locator(f'tr[data-code="{child["code"]}"] [data-testid="child-flags"]')
                counted = flags_in(quality["flags"], child["code"])
                assert (await cell.inner_text()).strip() == str(counted)
            assert flags_in(quality["flags"], "73.71.02") >= 2
            assert console.errors == []
            await close(page)
        finally:
            quiet = [office | {"active": False} for office in offices]
            assert (await http.post("/api/v1/offices", json={"offices": quiet})).is_success


async def test_how_a_figure_is_computed_lists_the_parts_that_sum_to_it(browser, dashboard):
    page, console = await open_page(browser, dashboard)
    await goto(page, dashboard, "/region/73.71", "Kota Makassar")
    progress = dashboard.api("/progress/73.71")
    explain = dashboard.api("/progress/73.71/explain")

    await page.get_by_test_id("explain-link").click()
    await wait_ready(page, "Cara menghitung Kota Makassar")
    await shoot(page, "explain")

    assert page.url.endswith("#/explain/73.71")
    rows = page.get_by_test_id("explain-table").locator("tbody tr")
    assert [await r.get_attribute("data-code") for r in await rows.all()] == [
        part["region"] for part in explain["parts"]
    ]
    assert await text_of(page, "explain-eligible") == id_int(progress["eligible"])
    assert await text_of(page, "explain-recorded") == id_int(progress["recorded"])
    await page.get_by_test_id("lang-toggle").click()
    assert (await page.locator("h1").inner_text()).strip() == "How Kota Makassar is computed"
    assert await text_of(page, "explain-recorded") == f"{progress['recorded']:,}"
    crumbs = await page.get_by_test_id("breadcrumbs").locator("li").all_inner_texts()
    assert [c.strip() for c in crumbs][-2:] == ["Kota Makassar", "How it is computed"]
    assert console.errors == []
    await close(page)
