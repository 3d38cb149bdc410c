"""Statistics and the two outputs: RESULTS.md (a Markdown table) and results.json."""

import json
import math
from pathlib import Path
from typing import Any

LIMITS = Path(__file__).resolve().parent / "LIMITS.md"
SOAK_HEADING = "## Soak (make soak)"


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (p99 of fewer than 100 samples is their maximum)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _met(value: bool | None) -> str:
    return "n/a" if value is None else ("**met**" if value else "**not met**")


def markdown(results: dict[str, Any]) -> str:
    env = results["environment"]
    data = results["dataset"]
    lines = [
        "# Rekam benchmark results",
        "",
        f"Run `{results['profile']}` on {env['date']} (made by `make bench`; "
        "see bench/README.md for the method). Every figure was measured in this one run, "
        "with the client, the service and PostgreSQL sharing the machine.",
        "",
        "## Machine and versions",
        "",
        "| | |",
        "| --- | --- |",
    ]
    for label, value in env["summary"].items():
        lines.append(f"| {label} | {value} |")
    lines += [
        "",
        "## Data",
        "",
        f"Seed {data['seed']}: {data['regions']['province']} provinces, "
        f"{data['regions']['regency']} regencies, {data['regions']['district']} districts, "
        f"{_fmt(data['rows']['offices'])} offices, {_fmt(data['rows']['figures'])} official "
        f"figures, {_fmt(data['rows']['counts'])} counts from {data['first_day']} to "
        f"{data['last_day']} ({_fmt(data['rows']['count_revisions'])} revisions, "
        f"{_fmt(data['rows']['region_days'])} region_days rows).",
        f"{'Reused from an earlier run' if data['reused'] else 'Generated and loaded in this run'}"
        f"; loading took {data['load_seconds']:.0f} s"
        + (f" ({', '.join(f'{k} {v:.0f} s' for k, v in data['load_steps'].items())})")
        + (
            f"; {data['topped_up_days']} day(s) since then topped up through the service's "
            f"batch endpoint in {data['top_up_seconds']:.1f} s"
            if data.get("topped_up_days")
            else ""
        )
        + (
            f"; VACUUM ANALYZE before this run {data['vacuum_seconds']:.0f} s (earlier runs' "
            "dead rows cleared, as autovacuum would have)."
            if data["reused"] and "vacuum_seconds" in data
            else "."
        ),
        "",
        "## Figures",
        "",
        "| Measure | Median | p99 | Baseline (median) | Ratio | Goal | |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in results["table"]:
        lines.append(
            "| "
            + " | ".join(
                [
                    row["measure"],
                    row["median"],
                    row["p99"],
                    row["baseline"],
                    row["ratio"],
                    row["goal"],
                    _met(row["met"]),
                ]
            )
            + " |"
        )
    lines += ["", "## Checks", ""]
    for check in results["checks"]:
        lines.append(f"- {check}")
    lines += ["", "## Context (no goal)", "", "| Measure | Value |", "| --- | --- |"]
    for label, value in results["context"]:
        lines.append(f"| {label} | {value} |")
    if results.get("errors"):
        lines += ["", "## Errors", ""] + [f"- {e}" for e in results["errors"]]
    # The analysis of the figures is written by hand, beside this script.
    lines += ["", LIMITS.read_text().rstrip("\n"), ""]
    return "\n".join(lines)


def write(results: dict[str, Any], directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    md = directory / "RESULTS.md"
    js = directory / "results.json"
    soak = ""
    if md.exists():
        # `make soak` writes its own section; a new benchmark run keeps it.
        previous = md.read_text()
        if SOAK_HEADING in previous:
            soak = "\n" + previous[previous.index(SOAK_HEADING) :]
    md.write_text(markdown(results) + soak)
    js.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return md, js


def ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1000:,.1f} ms"
