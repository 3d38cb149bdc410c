"""Prometheus metrics. With several workers, PROMETHEUS_MULTIPROC_DIR (set by `rekam serve`)
makes every worker write its samples to files that /metrics adds up."""

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy.ext.asyncio import AsyncEngine

REQUESTS = Counter("rekam_requests_total", "HTTP requests answered", ["route", "method", "status"])
LATENCY = Histogram(
    "rekam_request_duration_seconds",
    "Time to answer an HTTP request",
    ["route", "method"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
REVALIDATED = Counter("rekam_revalidated_total", "304s answered before routing")
SHARED_BODIES = Counter(
    "rekam_shared_bodies_total", "200s answered before routing with the body noted at the version"
)
REVALIDATION_BATCH = Histogram(
    "rekam_revalidation_batch_size",
    "Revalidations decided by one statement before routing",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128),
)
COUNTS = Counter("rekam_counts_total", "Counts written, by outcome", ["outcome"])
BATCH_SIZE = Histogram(
    "rekam_batch_size",
    "Counts in one accepted batch",
    buckets=(1, 10, 100, 1000, 5000, 10000, 100000),
)
POOL_IN_USE = Gauge(
    "rekam_db_pool_in_use",
    "Database connections checked out of the pool",
    multiprocess_mode="livesum",
)

CONTENT_TYPE = CONTENT_TYPE_LATEST


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    REQUESTS.labels(route, method, str(status)).inc()
    LATENCY.labels(route, method).observe(seconds)


def observe_counts(outcomes: dict[str, int], batch: bool) -> None:
    for outcome, number in outcomes.items():
        if number:
            COUNTS.labels(outcome).inc(number)
    if batch:
        BATCH_SIZE.observe(sum(outcomes.values()))


def render(engine: AsyncEngine | None) -> bytes:
    if engine is not None:
        POOL_IN_USE.set(engine.sync_engine.pool.checkedout())  # type: ignore[attr-defined]
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest()
