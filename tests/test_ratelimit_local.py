"""The in-memory moving window (app/ratelimit.py LocalStorage), through the `limits` library's
own strategy, against the definition written out: a hit is allowed while fewer than `limit`
allowed hits of its key fall in the 60 seconds up to it (both ends included, as the library
counts them)."""

import asyncio
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from limits import RateLimitItemPerMinute
from limits.aio.strategies import MovingWindowRateLimiter

import app.ratelimit
from app.ratelimit import LocalStorage

WINDOW = 60


@dataclass
class Clock:
    now: float = 1_700_000_000.0

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(app.ratelimit, "time", clock)
    return clock


class Definition:
    """Every allowed hit of every key, and the rule applied to all of them."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.allowed: dict[str, list[float]] = {}

    def inside(self, key: str, now: float) -> list[float]:
        return [t for t in self.allowed.get(key, []) if now - WINDOW <= t <= now]

    def hit(self, key: str, now: float) -> bool:
        if len(self.inside(key, now)) >= self.limit:
            return False
        self.allowed.setdefault(key, []).append(now)
        return True

    def stats(self, key: str, now: float) -> tuple[float, int]:
        """When the window's oldest hit leaves it, and how many hits are left."""
        inside = self.inside(key, now)
        return (min(inside) if inside else now) + WINDOW, max(0, self.limit - len(inside))


# Each step: how long after the one before (seconds), which key, and whether the step asks for
# the window's stats instead of hitting.
steps = st.lists(
    st.tuples(
        # Whole seconds too, so that hits land exactly on the window's edge.
        st.one_of(st.integers(0, 30), st.floats(min_value=0, max_value=30, allow_nan=False)),
        st.sampled_from(["a", "b", "c"]),
        st.booleans(),
    ),
    max_size=60,
)


# The clock is set back at the start of each example.
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(limit=st.integers(min_value=1, max_value=4), steps=steps)
def test_the_definition(clock: Clock, limit: int, steps: list) -> None:
    clock.now = 1_700_000_000.0

    async def play() -> None:
        item = RateLimitItemPerMinute(limit)
        limiter = MovingWindowRateLimiter(LocalStorage())
        definition = Definition(limit)
        for wait, key, stats in steps:
            clock.now += wait
            if stats:
                found = await limiter.get_window_stats(item, key)
                assert (found.reset_time, found.remaining) == definition.stats(key, clock.now)
            else:
                assert await limiter.hit(item, key) == definition.hit(key, clock.now)

    asyncio.run(play())


def test_idle_keys_are_dropped_once_a_window(clock: Clock) -> None:
    async def play() -> None:
        item = RateLimitItemPerMinute(2)
        storage = LocalStorage()
        limiter = MovingWindowRateLimiter(storage)
        for n in range(1000):
            assert await limiter.hit(item, f"office-{n}")
        clock.now += 61
        assert await limiter.hit(item, "another")
        assert list(storage.hits) == [item.key_for("another")]

    asyncio.run(play())


def test_a_key_keeps_no_more_hits_than_its_limit(clock: Clock) -> None:
    async def play() -> None:
        item = RateLimitItemPerMinute(3)
        storage = LocalStorage()
        limiter = MovingWindowRateLimiter(storage)
        results = [await limiter.hit(item, "k") for _ in range(10)]
        assert results == [True] * 3 + [False] * 7
        assert len(storage.hits[item.key_for("k")]) == 3
        clock.now += 60.5
        assert await limiter.hit(item, "k")

    asyncio.run(play())


def test_a_hit_sixty_seconds_old_still_counts(clock: Clock) -> None:
    async def play() -> None:
        item = RateLimitItemPerMinute(1)
        limiter = MovingWindowRateLimiter(LocalStorage())
        assert await limiter.hit(item, "k")
        clock.now += WINDOW
        assert not await limiter.hit(item, "k")
        assert (await limiter.get_window_stats(item, "k")).reset_time == clock.now
        clock.now += 0.001
        assert await limiter.hit(item, "k")

    asyncio.run(play())
