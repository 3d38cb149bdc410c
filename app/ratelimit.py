"""In-process rate limits (token buckets). Each worker process keeps its own buckets, so with
N workers a client may get up to N times the configured rate; docs/security.md says so."""

import time
from dataclasses import dataclass

# Bounds the memory a flood of distinct keys (addresses, guessed tokens) can take.
MAX_KEYS = 100_000


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Allows `per_minute` hits per key per minute, with bursts up to a minute's worth."""

    def __init__(self, per_minute: int) -> None:
        self.capacity = float(per_minute)
        self.refill_per_second = per_minute / 60.0
        self._buckets: dict[str, _Bucket] = {}

    def _bucket(self, key: str, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= MAX_KEYS:
                self._forget_full(now)
            bucket = self._buckets[key] = _Bucket(self.capacity, now)
        else:
            bucket.tokens = min(
                self.capacity, bucket.tokens + (now - bucket.updated) * self.refill_per_second
            )
            bucket.updated = now
        return bucket

    def _forget_full(self, now: float) -> None:
        """Drop buckets that have refilled completely: they hold no information."""
        full_after = self.capacity / self.refill_per_second
        self._buckets = {k: b for k, b in self._buckets.items() if now - b.updated < full_after}
        if len(self._buckets) >= MAX_KEYS:
            self._buckets.clear()

    def retry_after(self, key: str) -> int:
        """Seconds until the key may be served again; 0 when it may be now (no hit taken)."""
        bucket = self._bucket(key, time.monotonic())
        if bucket.tokens >= 1:
            return 0
        return max(1, int((1 - bucket.tokens) / self.refill_per_second) + 1)

    def hit(self, key: str) -> int:
        """Take one hit; returns 0 when allowed, else the seconds to wait."""
        wait = self.retry_after(key)
        if wait == 0:
            self._buckets[key].tokens -= 1
        return wait
