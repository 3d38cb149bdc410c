"""The Makassar demo: a city of 15 kecamatan, 120 days of counts, and official figures.

Values are drawn from a generator seeded by office and date, so loading twice on the same
day writes the same numbers (and changes nothing the second time)."""

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import Actor
from app.clock import today_in
from app.schemas import FigureIn, OfficeIn, RegionIn
from app.services.counts import CountWrite, write_batch
from app.services.offices import put_office
from app.services.regions import put_figure, put_region

DEMO_ACTOR = Actor(token_id=None, role="admin", name="rekam demo")
DEMO_NOTE = "demo"
TIMEZONE = "Asia/Makassar"
DAYS = 120
CITY = "73.71"
DUKCAPIL = "MKS-DUKCAPIL"
ELIGIBLE = 1_216_381
RECORDED_AT_START = 875_794  # 72% of ELIGIBLE
# Mean recordings on a weekday: about 500 a day citywide, 60 of them at the Dukcapil office
# and the rest at the kecamatan offices in proportion to their residents.
DUKCAPIL_MEAN = 60.0
KECAMATAN_MEAN_TOTAL = 435.0
# The city's daily target is its offices' targets added up: 100 at Dukcapil, 900 shared.
CITY_DAILY_TARGET = 1000
DUKCAPIL_DAILY_TARGET = 100


@dataclass(frozen=True, slots=True)
class Kecamatan:
    name: str
    # Residents in thousands, rounded: its share of the city's eligible figure, daily
    # target and recordings.
    population: int
    # Percent of the city's coverage this kecamatan sits at, so the children table has
    # something to sort: its share of the city's recorded figure population times this.
    coverage_index: int

    @property
    def office(self) -> str:
        return "MKS-" + self.name.upper().replace(" ", "-")


# In Kemendagri order: Mariso is 73.71.01, Kepulauan Sangkarrang 73.71.15.
KECAMATAN = [
    Kecamatan("Mariso", 60, 102),
    Kecamatan("Mamajang", 61, 106),
    Kecamatan("Makassar", 84, 98),
    Kecamatan("Ujung Pandang", 28, 110),
    Kecamatan("Wajo", 31, 104),
    Kecamatan("Bontoala", 57, 96),
    Kecamatan("Tallo", 145, 92),
    Kecamatan("Ujung Tanah", 35, 94),
    Kecamatan("Panakkukang", 148, 103),
    Kecamatan("Tamalate", 181, 97),
    Kecamatan("Biringkanaya", 209, 95),
    Kecamatan("Manggala", 146, 100),
    Kecamatan("Rappocini", 170, 105),
    Kecamatan("Tamalanrea", 115, 108),
    Kecamatan("Kepulauan Sangkarrang", 14, 85),
]
# Offices that have not reported yet today, so the dashboard has someone to chase.
LATE_TODAY = {"MKS-TALLO", "MKS-WAJO"}


def kecamatan_code(number: int) -> str:
    return f"{CITY}.{number:02d}"


def split(total: int, weights: list[int]) -> list[int]:
    """`total` shared in proportion to `weights`, in whole numbers that add up to it exactly
    (largest remainder: each gets its floor, the leftover units go to the largest fractions,
    earlier entries first on a tie)."""
    whole = sum(weights)
    shares = [total * weight // whole for weight in weights]
    leftover = total - sum(shares)
    by_fraction = sorted(range(len(weights)), key=lambda i: -(total * weights[i] % whole))
    for i in by_fraction[:leftover]:
        shares[i] += 1
    return shares


def kecamatan_targets() -> list[int]:
    """Daily targets of the kecamatan (and of their offices), in Kemendagri order."""
    return split(CITY_DAILY_TARGET - DUKCAPIL_DAILY_TARGET, [k.population for k in KECAMATAN])


def kecamatan_figures() -> dict[str, FigureIn]:
    """Each kecamatan's share of the city's figure; the shares sum to the city's exactly."""
    eligible = split(ELIGIBLE, [k.population for k in KECAMATAN])
    recorded = split(RECORDED_AT_START, [k.population * k.coverage_index for k in KECAMATAN])
    return {
        kecamatan_code(number): FigureIn(eligible=eligible[i], recorded=recorded[i])
        for i, number in enumerate(range(1, len(KECAMATAN) + 1))
    }


def _election_day(today: date) -> date:
    return today - timedelta(days=30)


def _recordings(office: str, day: date, mean: float, today: date) -> int:
    rng = random.Random(f"{office}:{day.isoformat()}")
    if day.weekday() == 6:
        return rng.randint(0, 2)
    if day.weekday() == 5:
        mean *= 0.05  # a few Saturday appointments
    days_to_election = (_election_day(today) - day).days
    if 0 <= days_to_election < 21:
        mean *= 1.6  # residents rush to record before they can vote with an e-KTP
    return max(0, round(rng.gauss(mean, mean * 0.15)))


def demo_counts(today: date) -> list[CountWrite]:
    residents = sum(k.population for k in KECAMATAN)
    offices = [(DUKCAPIL, DUKCAPIL_MEAN)] + [
        (k.office, KECAMATAN_MEAN_TOTAL * k.population / residents) for k in KECAMATAN
    ]
    return [
        CountWrite(code, day, _recordings(code, day, mean, today), DEMO_NOTE)
        for offset in range(DAYS)
        for code, mean in offices
        if not (offset == 0 and code in LATE_TODAY)
        for day in [today - timedelta(days=offset)]
    ]


async def load_demo(session: AsyncSession) -> dict[str, int]:
    """Load (or refresh) the demo; returns the batch summary of its counts."""
    today = today_in(TIMEZONE)
    start = today - timedelta(days=DAYS - 1)
    # The published figures the counts build on: the day before the first demo count.
    figure_day = start - timedelta(days=1)
    deadline = today + timedelta(days=365)
    await put_region(
        session,
        actor=DEMO_ACTOR,
        code="ID",
        data=RegionIn(
            name="Indonesia", coverage_target=Decimal("0.95"), coverage_deadline=deadline
        ),
    )
    await put_region(session, actor=DEMO_ACTOR, code="73", data=RegionIn(name="Sulawesi Selatan"))
    await put_region(
        session,
        actor=DEMO_ACTOR,
        code=CITY,
        data=RegionIn(
            name="Kota Makassar",
            daily_target=CITY_DAILY_TARGET,
            coverage_target=Decimal("0.85"),
            coverage_deadline=deadline,
        ),
    )
    await put_office(
        session,
        actor=DEMO_ACTOR,
        code=DUKCAPIL,
        default_timezone=TIMEZONE,
        data=OfficeIn(
            name="Dinas Dukcapil Kota Makassar",
            region=CITY,
            kind="dukcapil",
            daily_target=DUKCAPIL_DAILY_TARGET,
            timezone=TIMEZONE,
        ),
    )
    for number, (kecamatan, daily_target) in enumerate(
        zip(KECAMATAN, kecamatan_targets(), strict=True), start=1
    ):
        await put_region(
            session,
            actor=DEMO_ACTOR,
            code=kecamatan_code(number),
            data=RegionIn(name=kecamatan.name, daily_target=daily_target),
        )
        await put_office(
            session,
            actor=DEMO_ACTOR,
            code=kecamatan.office,
            default_timezone=TIMEZONE,
            data=OfficeIn(
                name=f"Kantor Kecamatan {kecamatan.name}",
                region=kecamatan_code(number),
                daily_target=daily_target,
                timezone=TIMEZONE,
            ),
        )
    await put_figure(
        session,
        actor=DEMO_ACTOR,
        code=CITY,
        day=figure_day,
        data=FigureIn(eligible=ELIGIBLE, recorded=RECORDED_AT_START),
    )
    # The city's figure stands for the whole city; these only give each row of its
    # children table a coverage of its own.
    for code, figure in kecamatan_figures().items():
        await put_figure(session, actor=DEMO_ACTOR, code=code, day=figure_day, data=figure)
    summary = await write_batch(
        session,
        actor=DEMO_ACTOR,
        items=demo_counts(today),
        lines=None,
        early_errors=[],
        edit_window_days=DAYS,
    )
    await session.execute(
        text("INSERT INTO instance_flags (name) VALUES ('demo') ON CONFLICT DO NOTHING")
    )
    await session.commit()
    return summary


async def load_demo_if_empty(session: AsyncSession) -> bool:
    """Load the demo into a database that holds no offices yet; True if it did."""
    if await session.scalar(text("SELECT EXISTS (SELECT 1 FROM offices)")):
        return False
    await load_demo(session)
    return True
