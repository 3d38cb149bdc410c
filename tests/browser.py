"""Debian's Chromium, driven by Playwright, for the browser tests (never a downloaded one)."""

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, async_playwright

from tests.conftest import ADMIN, ROOT, LiveServer
from tests.test_demo import rekam, rekam_demo

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps dialling out of a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"

needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason=f"{CHROMIUM} is absent: run scripts/install-browser.sh (CI does)",
)


@asynccontextmanager
async def launched_browser() -> AsyncIterator[Browser]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class Service:
    """A live server with the demo loaded, and a viewer token for the API calls a browser
    test checks the page against."""

    base_url: str
    viewer: str

    def api(self, path: str, **params: str) -> Any:
        response = httpx.get(
            self.base_url + "/api/v1" + path,
            params=params,
            headers={"Authorization": f"Bearer {self.viewer}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return response.json()


@contextmanager
def demo_service(server_url: str, label: str, *commands: tuple[str, ...]) -> Iterator[Service]:
    """A live server over a new database with the Makassar demo, after running each of
    `commands` (`rekam` arguments) on it."""
    server = LiveServer(server_url, label)
    try:
        rekam_demo(server.database_url)
        for command in commands:
            rekam(server.database_url, *command)
        server.start()
        created = httpx.post(
            server.base_url + "/api/v1/tokens",
            json={"role": "viewer", "name": f"{label} test"},
            headers=ADMIN,
            timeout=30,
        )
        assert created.status_code == 201, created.text
        yield Service(server.base_url, created.json()["token"])
    finally:
        server.close()
