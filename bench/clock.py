"""Dates as the service sees them: today in Asia/Makassar and the edit window around it."""

import asyncio
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bench.log import log
from bench.settings import EDIT_WINDOW_DAYS, TIMEZONE


def today() -> date:
    return datetime.now(ZoneInfo(TIMEZONE)).date()


def window_dates(day: date) -> list[date]:
    """Today and the 6 days before, in Asia/Makassar: inside every office's edit window."""
    return [day - timedelta(days=i) for i in range(EDIT_WINDOW_DAYS)]


async def avoid_midnight(seconds: float) -> None:
    """Writes dated "today" and "6 days ago" must stay inside the window while they run:
    wait out Makassar's midnight rather than straddle it."""
    now = datetime.now(ZoneInfo(TIMEZONE))
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), now.tzinfo)
    left = (midnight - now).total_seconds()
    if left < seconds + 10:
        log(f"waiting {left + 5:.0f} s for midnight in {TIMEZONE} to pass")
        await asyncio.sleep(left + 5)
