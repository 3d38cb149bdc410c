"""Lapor in a real headless Chromium at 360 by 780 pixels, over a running service holding the demo:
sign-in by the sheet's QR link, entries online and offline, exactly once, conflicts and
refusals. Every run leaves screenshots in artifacts/screenshots/."""

import gzip
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import (
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    Response,
    Route,
    async_playwright,
    expect,
)

from app.api.lapor import BUNDLE
from app.clock import today_in
from tests.browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, needs_chromium
from tests.conftest import ADMIN, LiveServer
from tests.sheet_reader import read_sheet
from tests.test_demo import rekam_demo
from tests.test_lapor import BUDGET_BYTES

pytestmark = needs_chromium

TIMEZONE = "Asia/Makassar"
WIDTH, HEIGHT = 360, 780


@dataclass
class Service:
    server: LiveServer

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def get(self, path: str) -> Any:
        response = httpx.get(self.base_url + "/api/v1" + path, headers=ADMIN, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def history(self, office: str, day: str) -> list[dict[str, Any]]:
        revisions: list[dict[str, Any]] = self.get(f"/offices/{office}/counts/{day}/history")[
            "revisions"
        ]
        return revisions

    def put_count(self, office: str, day: str, recordings: int, note: str | None = None) -> None:
        response = httpx.put(
            f"{self.base_url}/api/v1/offices/{office}/counts/{day}",
            json={"recordings": recordings, "note": note},
            headers=ADMIN,
            timeout=30,
        )
        assert response.status_code in (200, 201), response.text

    def close_office(self, office: str) -> None:
        stored = self.get(f"/offices/{office}")
        body = {k: v for k, v in stored.items() if k != "code"} | {"active": False}
        response = httpx.put(
            f"{self.base_url}/api/v1/offices/{office}", json=body, headers=ADMIN, timeout=30
        )
        assert response.status_code == 200, response.text

    def office_token(self, office: str) -> str:
        response = httpx.post(
            self.base_url + "/api/v1/tokens",
            json={"role": "office", "office": office, "name": f"lapor test {office}"},
            headers=ADMIN,
            timeout=30,
        )
        assert response.status_code == 201, response.text
        token: str = response.json()["token"]
        return token


@pytest.fixture(scope="module")
def service(server_url: str) -> Iterator[Service]:
    server = LiveServer(server_url, "lapor")
    try:
        rekam_demo(server.database_url)
        server.start()
        yield Service(server)
    finally:
        server.close()


@pytest.fixture(scope="module")
async def playwright() -> AsyncIterator[Playwright]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as started:
        yield started


@dataclass
class Console:
    """Console errors and uncaught exceptions. `answers` are HTTP statuses, and `failures`
    network errors, that the test provokes on purpose (a 412, a reset connection): Chromium
    notes each in the console, and that note is the browser's, not the page's fault."""

    answers: tuple[int, ...] = ()
    failures: tuple[str, ...] = ()
    errors: list[str] = field(default_factory=list)

    def on_message(self, message: ConsoleMessage) -> None:
        expected = [
            f"Failed to load resource: the server responded with a status of {status} "
            for status in self.answers
        ] + [f"Failed to load resource: {failure}" for failure in self.failures]
        if message.type == "error" and not any(message.text.startswith(e) for e in expected):
            self.errors.append(message.text)

    def on_page_error(self, error: Exception) -> None:
        self.errors.append(f"uncaught: {error}")


async def phone(playwright: Playwright, profile: Path, timezone: str = TIMEZONE) -> BrowserContext:
    """A phone-sized Chromium whose storage (IndexedDB, the worker and its cache) lives in
    `profile`, so it survives closing the browser and opening it again."""
    return await playwright.chromium.launch_persistent_context(
        str(profile),
        executable_path=CHROMIUM,
        args=CHROMIUM_ARGS,
        headless=True,
        viewport={"width": WIDTH, "height": HEIGHT},
        locale="id-ID",
        timezone_id=timezone,
    )


async def page_of(context: BrowserContext, console: Console) -> Page:
    page = context.pages[0] if context.pages else await context.new_page()
    page.on("console", console.on_message)
    page.on("pageerror", console.on_page_error)
    return page


async def refuse(route: Route) -> None:
    await route.abort("internetdisconnected")


async def go_offline(context: BrowserContext) -> None:
    """No connection, for the page and for its service worker alike. set_offline alone may
    reach a worker only after it has started, and background sync starts it while Chromium
    believes the real network is up: a worker woken then must find no server either."""
    await context.set_offline(True)
    await context.route("**/api/**", refuse)


async def go_online(context: BrowserContext) -> None:
    await context.unroute("**/api/**", refuse)
    await context.set_offline(False)


async def wait_ready(page: Page) -> None:
    await page.wait_for_function("() => document.body.dataset.state === 'ready'", timeout=20_000)


async def wait_for_worker(page: Page) -> None:
    """Until the service worker has kept the page and its assets and controls the page."""
    await page.wait_for_function(
        "() => navigator.serviceWorker.controller !== null", timeout=20_000, polling=100
    )


async def shoot(page: Page, name: str) -> None:
    await page.screenshot(path=str(SCREENSHOTS / f"lapor-{name}.png"), full_page=True)


async def assert_fits(page: Page) -> None:
    assert await page.evaluate("document.documentElement.scrollWidth") <= WIDTH


def day_before(day: str, days: int) -> str:
    return (datetime.fromisoformat(day).date() - timedelta(days=days)).isoformat()


async def enter(page: Page, day: str, recordings: int, note: str | None = None) -> None:
    await page.get_by_label("Tanggal").select_option(day)
    await page.get_by_label("Jumlah perekaman").fill(str(recordings))
    await page.get_by_label("Catatan").fill(note or "")
    await page.get_by_role("button", name="Kirim").click()


def is_put(response: Response) -> bool:
    return response.request.method == "PUT"


def sheet_links(service: Service, region: str) -> dict[str, str]:
    """The sign-in links of a sheet issued by the API, read back from its QR codes."""
    response = httpx.post(
        service.base_url + "/api/v1/tokens/issue",
        json={"region": region},
        headers={**ADMIN, "Accept": "application/pdf"},
        timeout=60,
    )
    assert response.status_code == 201, response.text
    pages = read_sheet(response.content)
    return {page.text.splitlines()[0]: link for page in pages for link in page.links}


async def test_sign_in_by_the_sheet_then_online_and_offline_entries_arrive_exactly_once(
    playwright, service, tmp_path
):
    office = "MKS-TALLO"  # the demo leaves it without today's count
    (link,) = sheet_links(service, "73.71.07").values()
    today = today_in(TIMEZONE).isoformat()
    yesterday = day_before(today, 1)
    before = len(service.history(office, yesterday))
    profile = tmp_path / "profile"
    console = Console()
    context = await phone(playwright, profile)
    page = await page_of(context, console)
    loaded: dict[str, Response] = {}
    context.on("response", lambda r: loaded.setdefault(r.url, r) if "/lapor" in r.url else None)
    sent: list[tuple[str, dict[str, str]]] = []
    context.on("request", lambda request: sent.append((request.url, request.headers)))

    # Signing in by the QR link: the token leaves the address bar at once.
    assert link.startswith(service.base_url + "/lapor#token=rekam_")
    await page.goto(link)
    await wait_ready(page)
    assert page.url == service.base_url + "/lapor"
    name = service.get(f"/offices/{office}")["name"]
    assert name == "Kantor Kecamatan Tallo"
    await expect(page.get_by_test_id("office-name")).to_have_text(name)
    await expect(page.get_by_test_id("office-code")).to_have_text(office)
    target = service.get(f"/offices/{office}/progress")["day"]["target"]
    await expect(page.get_by_test_id("target")).to_have_text(f"{target:,}".replace(",", "."))
    assert await page.get_by_test_id("days").locator("li").count() == 7
    await wait_for_worker(page)
    await shoot(page, "signed-in")
    # The first load, everything the page and its worker fetched, compressed: the budget.
    assert {url.removeprefix(service.base_url) for url in loaded} == {
        "/lapor",
        "/lapor/sw.js",
        *(f"/lapor/assets/{BUNDLE.version}/{name}" for name in BUNDLE.assets),
    }
    sizes = [len(gzip.compress(await response.body())) for response in loaded.values()]
    assert sum(sizes) < BUDGET_BYTES

    # Today's count, online: created with If-None-Match: *.
    async with page.context.expect_event("response", is_put) as answer:
        await enter(page, today, 37, "pagi")
    assert (await answer.value).status == 201
    assert (await answer.value).request.headers["if-none-match"] == "*"
    await expect(page.get_by_test_id("form-message")).to_have_text("Terkirim.")
    (first,) = service.history(office, today)
    assert (first["recordings"], first["note"]) == (37, "pagi")

    # Offline: two corrections wait on the device, through a reload and a closed browser.
    await go_offline(context)
    await enter(page, today, 41, "koreksi")
    await enter(page, yesterday, 12)
    for day in (today, yesterday):
        await expect(page.get_by_test_id(f"day-{day}")).to_contain_text("Menunggu")
    await expect(page.get_by_test_id("offline-banner")).to_be_visible()
    await shoot(page, "offline-waiting")
    await page.reload()
    await wait_ready(page)
    for day in (today, yesterday):
        await expect(page.get_by_test_id(f"day-{day}")).to_contain_text("Menunggu")
    await context.close()

    assert len(service.history(office, today)) == 1
    # Reopened with no server to reach at all: a browser starting up may wake the worker
    # for background sync before any emulated offline reaches it.
    service.server.stop()
    try:
        context = await phone(playwright, profile)
        await go_offline(context)
        page = await page_of(context, console)
        await page.goto(service.base_url + "/lapor")
        await wait_ready(page)
        for day in (today, yesterday):
            await expect(page.get_by_test_id(f"day-{day}")).to_contain_text("Menunggu")
        await shoot(page, "reopened-offline")
    finally:
        service.server.start()

    # Back online: each arrives once.
    await go_online(context)
    await expect(page.get_by_text("Menunggu")).to_have_count(0, timeout=20_000)
    await expect(page.get_by_test_id(f"day-{today}")).to_contain_text("41")
    await page.reload()
    await wait_ready(page)
    await expect(page.get_by_text("Menunggu")).to_have_count(0)
    today_revisions = service.history(office, today)
    yesterday_revisions = service.history(office, yesterday)
    assert [(r["version"], r["recordings"], r["note"]) for r in today_revisions] == [
        (1, 37, "pagi"),
        (2, 41, "koreksi"),
    ]
    assert len(yesterday_revisions) == before + 1
    assert (yesterday_revisions[-1]["recordings"], yesterday_revisions[-1]["note"]) == (12, None)
    assert {r["actor"]["role"] for r in today_revisions} == {"office"}
    await shoot(page, "sent")
    # The token left the device only in the Authorization header.
    secret = link.split("#token=", 1)[1]
    for url, headers in sent:
        assert secret not in url
        assert all(
            secret not in value for name, value in headers.items() if name != "authorization"
        )
    assert any(headers.get("authorization") == f"Bearer {secret}" for _, headers in sent)
    await assert_fits(page)
    assert console.errors == []
    await context.close()


async def test_a_conflict_shows_both_values_and_the_operators_choice_is_kept(
    playwright, service, tmp_path
):
    office = "MKS-MARISO"
    token = service.office_token(office)
    today = today_in(TIMEZONE).isoformat()
    mine_day, theirs_day = day_before(today, 1), day_before(today, 2)
    console = Console(answers=(412,))
    context = await phone(playwright, tmp_path / "profile")
    page = await page_of(context, console)
    await page.goto(f"{service.base_url}/lapor#token={token}")
    await wait_ready(page)
    await expect(page.get_by_test_id("office-code")).to_have_text(office)

    # The admin corrects both days while the page shows the old values.
    service.put_count(office, mine_day, 500, "dinas")
    service.put_count(office, theirs_day, 600, "dinas")
    seen = {day: len(service.history(office, day)) for day in (mine_day, theirs_day)}

    async with page.context.expect_event("response", is_put) as answer:
        await enter(page, mine_day, 77, "meja 2")
    assert (await answer.value).status == 412
    row = page.get_by_test_id(f"day-{mine_day}")
    await expect(row).to_contain_text("Nilai Anda: 77 (meja 2)")
    await expect(row).to_contain_text("Nilai di server: 500 (dinas)")
    await enter(page, theirs_day, 88)
    other = page.get_by_test_id(f"day-{theirs_day}")
    await expect(other).to_contain_text("Nilai di server: 600 (dinas)")
    await shoot(page, "conflict")

    async with page.context.expect_event("response", is_put) as answer:
        await row.get_by_role("button", name="Pakai nilai saya").click()
    assert (await answer.value).status == 200
    assert (await answer.value).request.headers["if-match"] == f'"{seen[mine_day]}"'
    await other.get_by_role("button", name="Pakai nilai server").click()

    await expect(row).not_to_contain_text("Nilai di server")
    await expect(row).to_contain_text("77")
    await expect(other).to_contain_text("600")
    mine = service.history(office, mine_day)
    assert len(mine) == seen[mine_day] + 1
    assert (mine[-1]["recordings"], mine[-1]["note"]) == (77, "meja 2")
    assert len(service.history(office, theirs_day)) == seen[theirs_day]
    assert await page.get_by_text("Menunggu").count() == 0
    await assert_fits(page)
    assert console.errors == []
    await context.close()


async def test_a_day_outside_the_edit_window_is_refused_with_the_servers_detail(
    playwright, service, tmp_path
):
    office = "MKS-MAMAJANG"
    token = service.office_token(office)
    console = Console(answers=(403,))
    context = await phone(playwright, tmp_path / "profile")
    page = await page_of(context, console)
    # A phone whose clock is 20 days behind offers days the server no longer takes.
    await page.clock.set_fixed_time(datetime.now(UTC) - timedelta(days=20))
    await page.goto(f"{service.base_url}/lapor#token={token}")
    await wait_ready(page)
    old_day = day_before(today_in(TIMEZONE).isoformat(), 20)
    before = len(service.history(office, old_day))

    async with page.context.expect_event("response", is_put) as answer:
        await enter(page, old_day, 5)
    assert (await answer.value).status == 403
    detail = (await (await answer.value).json())["detail"]

    row = page.get_by_test_id(f"day-{old_day}")
    await expect(row).to_contain_text("Ditolak")
    await expect(row).to_contain_text(detail)
    assert "edit window" in detail
    await shoot(page, "refused")
    assert len(service.history(office, old_day)) == before
    await page.reload()
    await wait_ready(page)
    await expect(page.get_by_test_id(f"day-{old_day}")).to_contain_text(detail)
    await (
        page.get_by_test_id(f"day-{old_day}").get_by_role("button", name="Hapus entri ini").click()
    )
    await expect(page.get_by_test_id(f"day-{old_day}")).not_to_contain_text("Ditolak")
    await assert_fits(page)
    assert console.errors == []
    await context.close()


async def test_a_typed_token_in_english_and_sign_out_warns_of_waiting_entries(
    playwright, service, tmp_path
):
    office = "MKS-WAJO"
    token = service.office_token(office)
    today = today_in(TIMEZONE).isoformat()
    console = Console()
    # A phone set to another timezone: its days are still the office's (16 hours of each
    # day, Los Angeles and Makassar are on different dates).
    context = await phone(playwright, tmp_path / "profile", timezone="America/Los_Angeles")
    page = await page_of(context, console)
    await page.goto(service.base_url + "/lapor")
    await wait_ready(page)
    await page.get_by_test_id("lang-toggle").click()
    assert await page.evaluate("document.documentElement.lang") == "en"

    await page.get_by_label("Office token").fill(token)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_test_id("office-code")).to_have_text(office)
    await expect(page.get_by_test_id(f"day-{today}")).to_contain_text("Today")
    await expect(page.get_by_label("Date")).to_have_value(today)
    await wait_for_worker(page)
    await go_offline(context)
    await page.get_by_label("Recordings").fill("9")
    await page.get_by_label("Note").fill("offline")
    await page.get_by_role("button", name="Send").click()
    await expect(page.get_by_test_id(f"day-{today}")).to_contain_text("Waiting")

    await page.get_by_role("button", name="Sign out").click()
    warning = page.get_by_test_id("sign-out-warning")
    await expect(warning).to_contain_text("Entries not yet on the server: 1.")
    await shoot(page, "sign-out-warning")
    await page.get_by_role("button", name="Cancel").click()
    await expect(warning).to_be_hidden()
    await expect(page.get_by_test_id("office-code")).to_be_visible()

    await page.get_by_role("button", name="Sign out").click()
    await page.get_by_role("button", name="Sign out anyway").click()
    await expect(page.get_by_label("Office token")).to_be_visible()
    await go_online(context)
    await page.reload()
    await wait_ready(page)
    await expect(page.get_by_label("Office token")).to_be_visible()
    assert service.get(f"/offices/{office}/counts")["counts"][-1]["date"] != today
    await assert_fits(page)
    assert console.errors == []
    await context.close()


async def test_a_resend_after_a_lost_answer_makes_no_second_revision(playwright, service, tmp_path):
    office = "MKS-BONTOALA"
    token = service.office_token(office)
    yesterday = day_before(today_in(TIMEZONE).isoformat(), 1)
    before = len(service.history(office, yesterday))
    console = Console(answers=(412,), failures=("net::ERR_CONNECTION_RESET",))
    context = await phone(playwright, tmp_path / "profile")
    page = await page_of(context, console)
    await page.goto(f"{service.base_url}/lapor#token={token}")
    await wait_ready(page)
    await expect(page.get_by_test_id("office-code")).to_have_text(office)
    statuses: list[int] = []

    async def lose_the_first_answer(route: Route) -> None:
        # Every PUT reaches the server; the answer to the first never reaches the phone.
        answer = await route.fetch()
        if route.request.method != "PUT":
            await route.fulfill(response=answer)
            return
        statuses.append(answer.status)
        if len(statuses) == 1:
            await route.abort("connectionreset")
        else:
            await route.fulfill(response=answer)

    await context.route(f"**/api/v1/offices/{office}/counts/{yesterday}", lose_the_first_answer)
    await enter(page, yesterday, 321, "hilang")
    for _ in range(100):
        if statuses:
            break
        await page.wait_for_timeout(100)

    # Sent again (by the worker's background sync, or at the next open) with the same
    # If-Match: 412, and the server's value is the entry's own, so the entry is done.
    await page.reload()
    await wait_ready(page)
    await expect(page.get_by_text("Menunggu")).to_have_count(0)
    row = page.get_by_test_id(f"day-{yesterday}")
    await expect(row).to_contain_text("321")
    await expect(row).not_to_contain_text("Berbeda")
    # Sent more than once (a reload can cut a sender short), and never written twice.
    assert statuses[0] == 200
    assert len(statuses) >= 2
    assert set(statuses[1:]) == {412}
    revisions = service.history(office, yesterday)
    assert len(revisions) == before + 1
    assert (revisions[-1]["recordings"], revisions[-1]["note"]) == (321, "hilang")
    assert console.errors == []
    await context.close()


async def test_an_entry_the_server_finds_invalid_is_shown_with_its_detail(
    playwright, service, tmp_path
):
    office = "MKS-UJUNG-TANAH"
    token = service.office_token(office)
    today = today_in(TIMEZONE).isoformat()
    console = Console(answers=(422,))
    context = await phone(playwright, tmp_path / "profile")
    page = await page_of(context, console)
    await page.goto(f"{service.base_url}/lapor#token={token}")
    await wait_ready(page)
    await expect(page.get_by_test_id("office-code")).to_have_text(office)
    # Meanwhile the office is closed: its counts are refused as invalid (422).
    service.close_office(office)

    async with page.context.expect_event("response", is_put) as answer:
        await enter(page, today, 3)
    assert (await answer.value).status == 422
    detail = (await (await answer.value).json())["detail"]

    row = page.get_by_test_id(f"day-{today}")
    await expect(row).to_contain_text(f"Ditolak: {detail}")
    assert detail == f"office {office} is inactive"
    assert await page.get_by_text("Menunggu").count() == 0
    await assert_fits(page)
    assert console.errors == []
    await context.close()
