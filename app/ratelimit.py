"""Rate limits, counted by the `limits` library over a moving one-minute window: in this
process's memory by default, or in Redis (REKAM_REDIS_URL) so that every worker and every
instance shares one count per key.

A Redis that does not answer must not take the service down with it (offices post their day
in one afternoon window), nor leave it unprotected: while Redis fails, each process counts in
its own memory, as without Redis, logs a warning at most once a minute, and tries Redis again
after a short pause."""

import logging
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
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


class Counter:
    """Where hits are counted: Redis when configured and answering, else this process."""

    def __init__(self, redis_url: str | None = None, key_prefix: str = "rekam") -> None:
        self.memory = MovingWindowRateLimiter(MemoryStorage())
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
