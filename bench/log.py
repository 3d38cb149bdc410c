"""The run's log lines, timed from its start, and the error that ends a run with a message."""

import time

started_at = time.monotonic()


class BenchError(Exception):
    pass


def log(message: str) -> None:
    print(f"[bench {time.monotonic() - started_at:6.1f}s] {message}", flush=True)
