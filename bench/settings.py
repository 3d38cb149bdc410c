"""What a run is set to: its profile (full or smoke), where its files go, and the settings the
service under test runs with."""

from dataclasses import dataclass
from pathlib import Path

from bench.dataset import FULL, SMOKE, Nation, Scale
from bench.procs import ROOT

BENCH = ROOT / "bench"
DATA = BENCH / ".data"
TIMEZONE = "Asia/Makassar"
EDIT_WINDOW_DAYS = 7
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass(frozen=True)
class Profile:
    name: str
    scale: Scale
    database: str
    results: Path
    connections: tuple[int, ...] = (8, 32)
    warmup_seconds: int = 5
    round_seconds: int = 10
    rounds: int = 3
    batch_warmups: int = 2
    batch_rounds: int = 9
    latency_warmups: int = 10
    latency_rounds: int = 3
    latency_calls: int = 100
    latency_budget: float = 15.0
    naive_calls: int = 3
    ryw_seconds: int = 30
    ryw_connections: int = 8
    profile_seconds: int = 12
    # The crowd (bench/crowd.py): 25,000 readers with their pages open, revalidating every
    # 60 s, for two intervals in which the whole nation's offices post their day (the real
    # window is 2 h: the writes come 60 times faster than they would).
    crowd_readers: int = 25_000
    crowd_interval: float = 60.0
    crowd_seconds: float = 120.0
    crowd_window: float = 120.0
    crowd_connections: int = 64
    crowd_ratio_seconds: float = 5.0


FULL_PROFILE = Profile("full", FULL, "rekam_bench", BENCH)
SMOKE_PROFILE = Profile(
    "smoke",
    SMOKE,
    "rekam_bench_smoke",
    DATA / "smoke",
    warmup_seconds=1,
    round_seconds=1,
    rounds=1,
    batch_warmups=1,
    batch_rounds=2,
    latency_warmups=2,
    latency_rounds=1,
    latency_calls=10,
    naive_calls=1,
    ryw_seconds=4,
    profile_seconds=3,
    crowd_readers=50,
    crowd_interval=1.0,
    crowd_seconds=3.0,
    crowd_window=2.0,
    crowd_connections=4,
    crowd_ratio_seconds=1.0,
)


def service_environment(
    env: dict[str, str], url: str, admin_token: str, nation: Nation
) -> dict[str, str]:
    return env | {
        "REKAM_DATABASE_URL": url,
        "REKAM_ADMIN_TOKEN": admin_token,
        "REKAM_LOG_REQUESTS": "false",
        "REKAM_EDIT_WINDOW_DAYS": str(EDIT_WINDOW_DAYS),
        "REKAM_TIMEZONE": TIMEZONE,
        "REKAM_MAX_BATCH": str(max(10_000, len(nation.offices))),
        # Per-client limits, if the service enforces them, are not what is measured here.
        "REKAM_RATE_LIMIT_PER_MINUTE": "100000000",
    }
