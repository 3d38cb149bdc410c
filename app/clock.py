"""Calendar helpers: "today" depends on whose timezone is asked."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

# A range of N days counts both ends: 2018-01-01 to 2018-01-01 is one day.
MAX_RANGE_DAYS = 3660


def now() -> datetime:
    return datetime.now(UTC)


def today_in(timezone: str) -> date:
    # Through now(), so that a test that moves the clock moves every "today".
    return now().astimezone(ZoneInfo(timezone)).date()


def days_between(start: date, end: date) -> int:
    """Days from start to end, both included."""
    return (end - start).days + 1


def month_end(day: date) -> date:
    if day.month == 12:
        return day.replace(day=31)
    return day.replace(month=day.month + 1, day=1) - timedelta(days=1)


def default_range(
    start: date | None, end: date | None, today: date, days: int
) -> tuple[date, date]:
    """The caller's range, or the `days` days ending today (or ending at end)."""
    end = end or today
    start = start or end - timedelta(days=days - 1)
    return start, end
