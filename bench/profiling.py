"""`--profile DIR`: py-spy flame graphs (and raw stacks) of the service under PUT load and
under progress and series reads."""

import asyncio
import os
import shutil
import sys
from pathlib import Path

from bench.clock import today, window_dates
from bench.context import Context
from bench.log import BenchError, log
from bench.progress import read_paths


def find_py_spy() -> str:
    py_spy = shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy")
    if not os.path.exists(py_spy):
        raise BenchError("--profile needs py-spy: .venv/bin/pip install py-spy")
    return py_spy


async def record(ctx: Context, directory: Path) -> dict[str, str]:
    """py-spy flame graphs of the service under PUT load and under progress reads (after
    the measurements, so sampling costs none of them)."""
    py_spy = find_py_spy()
    os.makedirs(directory, exist_ok=True)
    p = ctx.profile
    found = {}
    tsv = str(ctx.offices_tsv)
    as_of = today()
    jobs = [
        (
            "put-c32",
            32,
            ["put-service", tsv] + [d.isoformat() for d in window_dates(as_of)],
        ),
        ("progress-ID-c1", 1, ["get", "/api/v1/progress/ID", ctx.viewer_token]),
        ("series-day-c1", 1, ["get", read_paths(as_of)[5][1], ctx.viewer_token]),
    ]
    for label, connections, args in jobs:
        for fmt, suffix in (("flamegraph", "svg"), ("raw", "txt")):
            out = directory / f"{label}.{suffix}"
            spy = await asyncio.create_subprocess_exec(
                py_spy,
                "record",
                "--pid",
                str(ctx.service.pid),
                "--duration",
                str(p.profile_seconds),
                "--rate",
                "250",
                "--format",
                fmt,
                "--output",
                str(out),
                "--nonblocking",
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
            await ctx.load.run(ctx.service.port, connections, p.profile_seconds + 1, args, [])
            _, err = await spy.communicate()
            if spy.returncode != 0:
                raise BenchError(f"py-spy failed: {err.decode()[-500:]}")
            found[f"{label}.{suffix}"] = str(out)
            log(f"profile written: {out}")
    return found
