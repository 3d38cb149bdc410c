"""Peak resident memory (VmHWM) of the service and of the baselines' app over the run."""

from typing import Any

from bench.procs import Server, memory_kib, process_tree


def _peak_kib(server: Server) -> int:
    return max(memory_kib(pid)["VmHWM"] for pid in process_tree(server.pid))


def measure(service: Server, baselines: Server) -> dict[str, int]:
    return {
        "service_peak_kib": _peak_kib(service),
        "baselines_peak_kib": _peak_kib(baselines),
    }


def rows(memory: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "measure": "Service peak RSS (VmHWM) over the run",
            "median": f"{memory['service_peak_kib'] / 1024:,.0f} MiB",
            "p99": "",
            "baseline": f"baselines app {memory['baselines_peak_kib'] / 1024:,.0f} MiB",
            "ratio": "",
            "goal": "reported",
            "met": None,
        }
    ]
