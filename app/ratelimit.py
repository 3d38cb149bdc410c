"""Rate limits, counted by the `limits` library over a moving one-minute window: in this
process's memory by default, or in Redis (REKAM_REDIS_URL) so that every worker and every
instance shares one count per key.

In memory the hits are kept by LocalStorage, not by the library's own MemoryStorage: that one
expires old hits in a pass over every key, started again after each hit and hopping to a
thread for each key, so that with the nation's 7,800 office tokens it kept a core busy
(2.6 ms of CPU per hit at 400 hits/s, against 0.1 ms; bench/LIMITS.md). LocalStorage trims a
key's hits when that key is hit, and drops idle keys once a window.

A Redis that does not answer must not take the service down with it (offices post their day
in one afternoon window), nor leave it unprotected: while Redis fails, each process counts in
its own memory, as without Redis, logs a warning at most once a minute, and tries Redis again
after a short pause."""

import logging
import math
import time
from collections import deque
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerMinute
from limits.aio.storage import MovingWindowSupport, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

log = logging.getLogger("rekam.ratelimit")

# After a failure, Redis is left alone this long: each request would otherwise wait for its
# own connection attempt to fail.
RETRY_REDIS_AFTER_SECONDS = 5.0
WARN_EVERY_SECONDS = 60.0
# A Redis that answers slower than this counts as failing: the limit is checked on every
# request, before any work.
REDIS_TIMEOUT_SECONDS = 0.25


@dataclass(slots=True)
class _Fallback:
    """When Redis last failed, and when that was last logged."""

    failed_at: float = -math.inf
    warned_at: float = -math.inf


class LocalStorage(Storage, MovingWindowSupport):
    """This process's moving windows: for each key, the times of its hits still inside the
    window, oldest first, at most `limit` of them (more never change an answer)."""

    STORAGE_SCHEME = ["rekam+memory"]

    def __init__(self) -> None:
        super().__init__()
        self.hits: dict[str, deque[float]] = {}
        self.counters: dict[str, tuple[int, float]] = {}  # key: (count, expires at)
        self.swept_at = time.time()

    @property
    def base_exceptions(self) -> type[Exception]:
        return ValueError

    def _window(self, key: str, expiry: int, now: float) -> deque[float]:
        """The key's hits since now - expiry; idle keys of every kind go once a window."""
        if now - self.swept_at >= expiry:
            self._sweep(now - expiry, now)
        hits = self.hits.get(key)
        if hits is None:
            return deque()
        while hits and hits[0] < now - expiry:
            hits.popleft()
        return hits

    def _sweep(self, cutoff: float, now: float) -> None:
        self.swept_at = now
        self.hits = {k: h for k, h in self.hits.items() if h and h[-1] >= cutoff}
        self.counters = {k: c for k, c in self.counters.items() if c[1] > now}

    async def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        now = time.time()
        hits = self._window(key, expiry, now)
        if len(hits) + amount > limit:
            return False
        hits.extend([now] * amount)
        self.hits[key] = hits
        while len(hits) > limit:
            hits.popleft()
        return True

    async def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """The time of the oldest hit in the window (now when none) and how many there are."""
        now = time.time()
        hits = self._window(key, expiry, now)
        return (hits[0] if hits else now), len(hits)

    # The fixed-window counters the Storage interface also asks for (Rekam counts moving
    # windows only).
    async def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = time.time()
        count, expires = self.counters.get(key, (0, now + expiry))
        if expires <= now:
            count, expires = 0, now + expiry
        self.counters[key] = (count + amount, expires)
        return count + amount

    async def get(self, key: str) -> int:
        count, expires = self.counters.get(key, (0, 0.0))
        return count if expires > time.time() else 0

    async def get_expiry(self, key: str) -> float:
        return self.counters.get(key, (0, time.time()))[1]

    async def check(self) -> bool:
        return True

    async def reset(self) -> int | None:
        count = len(self.hits) + len(self.counters)
        self.hits.clear()
        self.counters.clear()
        return count

    async def clear(self, key: str) -> None:
        self.hits.pop(key, None)
        self.counters.pop(key, None)


class Counter:
    """Where hits are counted: Redis when configured and answering, else this process."""

    def __init__(self, redis_url: str | None = None, key_prefix: str = "rekam") -> None:
        self.memory = MovingWindowRateLimiter(LocalStorage())
        self.shared: MovingWindowRateLimiter | None = None
        if redis_url:
            storage: Storage = RedisStorage(
                "async+" + redis_url,
                implementation="redispy",
                key_prefix=key_prefix,
                wrap_exceptions=True,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            )
            self.shared = MovingWindowRateLimiter(storage)
        self._fallback = _Fallback()

    async def hit(self, item: RateLimitItem, key: str) -> int:
        """Take one hit; 0 when allowed, else the whole seconds until one would be."""
        limiter = self._limiter()
        try:
            if await limiter.hit(item, key):
                return 0
            stats = await limiter.get_window_stats(item, key)
        except (StorageError, OSError, TimeoutError) as error:
            if limiter is self.memory:
                raise
            self._redis_failed(error)
            return await self.hit(item, key)
        return max(1, math.ceil(stats.reset_time - time.time()))

    def _limiter(self) -> MovingWindowRateLimiter:
        if self.shared is None:
            return self.memory
        if time.monotonic() - self._fallback.failed_at < RETRY_REDIS_AFTER_SECONDS:
            return self.memory
        return self.shared

    def _redis_failed(self, error: BaseException) -> None:
        now = time.monotonic()
        self._fallback.failed_at = now
        if now - self._fallback.warned_at >= WARN_EVERY_SECONDS:
            self._fallback.warned_at = now
            log.warning(
                "rate limits: Redis does not answer (%s); counting in this process until it does",
                type(error.__cause__ or error).__name__,
            )


class RateLimiter:
    """Allows `per_minute` hits per key in any sixty seconds."""

    def __init__(self, per_minute: int, counter: Counter, name: str) -> None:
        # The namespace keeps one limit's keys apart from another's in a shared Redis.
        self.item = RateLimitItemPerMinute(per_minute, namespace=name)
        self.counter = counter

    async def hit(self, key: str) -> int:
        """Take one hit; returns 0 when allowed, else the seconds to wait."""
        return await self.counter.hit(self.item, key)
