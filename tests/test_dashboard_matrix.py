"""The dashboard at every scale, on a desk and on a phone, in both languages.

One service holds the Makassar demo and the whole of Sulawesi Selatan as an admin would set
it up (`rekam regions load` and `rekam offices create --per-district`: some 300 offices); one
Chromium visits the nation, the province, the city and a kecamatan at 1366 x 900 and
360 x 780, in Bahasa Indonesia and in English. Each case leaves a screenshot in
artifacts/screenshots/."""

from collections.abc import AsyncIterator, Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from playwright.async_api import Browser, Page

from tests.browser import SCREENSHOTS, Service, demo_service, launched_browser, needs_chromium

pytestmark = needs_chromium

DASH = "—"
SIZES = {"desk": (1366, 900), "phone": (360, 780)}
PLACES = {
    "ID": "Indonesia",
    "73": "Sulawesi Selatan",
    "73.71": "Kota Makassar",
    "73.71.01": "Mariso",
}
# The figures a reader looks for first: coverage against target, today against the daily
# target, and whether the target will be met.
HEADLINE = [
    "headline-coverage",
    "headline-coverage-target",
    "headline-day-recordings",
    "headline-day-target",
    "headline-on-track",
]
STATUS = {
    "id": {True: "Sesuai jadwal", False: "Tidak sesuai jadwal", None: "Tanpa target"},
    "en": {True: "On track", False: "Behind schedule", None: "No target"},
}
OF = {"id": "dari", "en": "of"}


def number(value: int | None, lang: str) -> str:
    """1.234.567 in Bahasa Indonesia, 1,234,567 in English."""
    if value is None:
        return DASH
    grouped = f"{value:,}"
    return grouped.replace(",", ".") if lang == "id" else grouped


def percent(value: float | None, lang: str) -> str:
    """One decimal, halves away from zero: 85,3% in Bahasa Indonesia, 85.3% in English."""
    if value is None:
        return DASH
    tenths = (Decimal(repr(value)) * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    whole, fraction = f"{tenths:.1f}".split(".")
    return f"{number(int(whole), lang)}{',' if lang == 'id' else '.'}{fraction}%"


def worst_first(children: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Coverage minus target coverage ascending; children without either last, by code."""

    def gap(child: dict[str, Any]) -> tuple[bool, float]:
        if child["coverage"] is None or child["target_coverage"] is None:
            return (True, 0.0)
        return (False, child["coverage"] - child["target_coverage"])

    return sorted(children, key=gap)


@pytest.fixture(scope="module")
def service(server_url: str) -> Iterator[Service]:
    # Sulawesi Selatan in full: its 24 regencies and cities, one office per district.
    with demo_service(
        server_url,
        "matrix",
        ("regions", "load", "--under", "73"),
        ("offices", "create", "--per-district", "--under", "73"),
    ) as ready:
        assert len(ready.api("/offices", region="73")["offices"]) >= 300
        yield ready


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with launched_browser() as launched:
        yield launched


async def open_dashboard(
    browser: Browser, service: Service, *, size: str, lang: str, code: str
) -> tuple[Page, list[str]]:
    width, height = SIZES[size]
    # A reader whose browser speaks Indonesian: the page's formats must follow its own choice.
    context = await browser.new_context(
        viewport={"width": width, "height": height},
        locale="id-ID",
        timezone_id="Asia/Makassar",
    )
    await context.add_init_script(
        f"localStorage.setItem('rekam.token', {service.viewer!r});"
        f"localStorage.setItem('rekam.lang', {lang!r});"
    )
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    await page.goto(f"{service.base_url}/dashboard#/region/{code}")
    await page.wait_for_function(
        """(heading) => document.body.dataset.state === 'ready'
             && document.querySelector('h1')?.textContent === heading""",
        arg=PLACES[code],
        timeout=20_000,
    )
    return page, errors


async def text_of(page: Page, testid: str) -> str:
    return (await page.get_by_test_id(testid).inner_text()).strip()


async def outside_the_viewport(page: Page, testid: str) -> bool:
    box = await page.get_by_test_id(testid).bounding_box()
    size = page.viewport_size
    assert box is not None, testid
    assert size is not None
    return (
        box["y"] < 0
        or box["y"] + box["height"] > size["height"]
        or box["x"] + box["width"] > size["width"]
    )


WIDER_THAN_THE_VIEWPORT = """() => [...document.querySelectorAll('body *')]
  .filter((el) => {
    const box = el.getBoundingClientRect();
    return box.width > 0 && (box.right > innerWidth + 0.5 || box.left < -0.5);
  })
  .map((el) => `${el.tagName.toLowerCase()}.${el.className}`
    + ` ${Math.round(el.getBoundingClientRect().width)}px`)"""


@pytest.mark.parametrize("lang", ["id", "en"])
@pytest.mark.parametrize("code", list(PLACES))
@pytest.mark.parametrize("size", list(SIZES))
async def test_the_dashboard_answers_at_every_scale_size_and_language(
    browser, service, size, code, lang
):
    page, errors = await open_dashboard(browser, service, size=size, lang=lang, code=code)
    progress = service.api(f"/progress/{code}")
    await page.screenshot(
        path=str(SCREENSHOTS / f"matrix-{size}-{code}-{lang}.png"), full_page=True
    )

    # The first screen answers the three questions, before any scrolling.
    assert await page.evaluate("scrollY") == 0
    for testid in HEADLINE:
        assert not await outside_the_viewport(page, testid), testid
    target = progress["target"] or {}
    assert await text_of(page, "headline-coverage") == percent(progress["coverage"], lang)
    if target:
        assert percent(target["coverage"], lang) in await text_of(page, "headline-coverage-target")
    assert await text_of(page, "headline-day-recordings") == number(
        progress["day"]["recordings"], lang
    )
    assert await text_of(page, "headline-day-target") == number(progress["day"]["target"], lang)
    assert await text_of(page, "headline-on-track") in set(STATUS[lang].values()) | {
        "Status tidak diketahui",
        "Status unknown",
    }
    assert await text_of(page, "headline-eligible") == number(progress["eligible"], lang)

    # Children worst first, each with its status in words and its "N of M" not reported.
    table = page.get_by_test_id("children-table")
    rows = table.locator("tbody tr[data-code]")
    expected = worst_first(progress["children"])
    assert [await row.get_attribute("data-code") for row in await rows.all()] == [
        child["code"] for child in expected
    ]
    statuses = [s.strip() for s in await table.locator("tbody .status").all_inner_texts()]
    assert statuses == [STATUS[lang][child["on_track"]] for child in expected]
    by_child = {c["code"]: c for c in progress["reporting"]["by_child"]}
    assert set(by_child) == {child["code"] for child in expected}
    for child in expected:
        counted = by_child[child["code"]]
        cell = table.locator(f'tr[data-code="{child["code"]}"] td').nth(3)
        missing = counted["expected"] - counted["reported"]
        shown = (
            f"{number(missing, lang)} {OF[lang]} {number(counted['expected'], lang)}"
            if counted["expected"]
            else DASH
        )
        assert (await cell.inner_text()).strip() == shown, child["code"]

    # Nothing runs off a phone's screen, and the page never scrolls sideways.
    if size == "phone":
        assert await page.evaluate(WIDER_THAN_THE_VIEWPORT) == []
        assert await page.evaluate("document.documentElement.scrollWidth") <= SIZES[size][0]

    # The jump list reaches who has not reported and the children, however long the page.
    for section in ["missing", "children"]:
        await page.get_by_test_id("jump-list").locator(f'[data-jump="{section}"]').click()
        box = await page.locator(f"#section-{section}").bounding_box()
        assert box is not None
        assert -1 <= box["y"] < SIZES[size][1], section

    if code == "73.71":
        # Makassar's daily target of 1,000 is the figure that gave the wrong format away.
        assert await text_of(page, "headline-day-target") == ("1.000" if lang == "id" else "1,000")
    assert errors == []
    await page.context.close()
