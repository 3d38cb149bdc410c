"""The Makassar demo: a city of 15 kecamatan, 120 days of counts, and official figures.

Values are drawn from a generator seeded by office and date, so loading twice on the same
day writes the same numbers (and changes nothing the second time)."""

import random
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
# In Kemendagri order: Mariso is 73.71.01, Kepulauan Sangkarrang 73.71.15.
KECAMATAN = [
    "Mariso",
    "Mamajang",
    "Makassar",
    "Ujung Pandang",
    "Wajo",
    "Bontoala",
    "Tallo",
    "Ujung Tanah",
    "Panakkukang",
    "Tamalate",
    "Biringkanaya",
    "Manggala",
    "Rappocini",
    "Tamalanrea",
    "Kepulauan Sangkarrang",
]
CITY = "73.71"
DUKCAPIL = "MKS-DUKCAPIL"
# Offices that have not reported yet today, so the dashboard has someone to chase.
LATE_TODAY = {"MKS-TALLO", "MKS-WAJO"}
ELIGIBLE = 1_216_381
RECORDED_AT_START = 875_794  # 72% of ELIGIBLE


def office_code(name: str) -> str:
    return "MKS-" + name.upper().replace(" ", "-")


def _election_day(today: date) -> date:
    return today - timedelta(days=30)


def _recordings(office: str, day: date, mean: float, today: date) -> int:
    rng = random.Random(f"{office}:{day.isoformat()}")
    if day.weekday() == 6:
        return rng.randint(0, 2)
    if day.weekday() == 5:
        mean *= 0.15
    days_to_election = (_election_day(today) - day).days
    if 0 <= days_to_election < 21:
        mean *= 1.6  # residents rush to record before they can vote with an e-KTP
    return max(0, round(rng.gauss(mean, mean * 0.15)))


def demo_counts(today: date) -> list[CountWrite]:
    offices = [(DUKCAPIL, 60.0)] + [(office_code(name), 29.0) for name in KECAMATAN]
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
    deadline = today + timedelta(days=365)
    await put_region(
        session,
        code="ID",
        data=RegionIn(
            name="Indonesia", coverage_target=Decimal("0.95"), coverage_deadline=deadline
        ),
    )
    await put_region(session, code="73", data=RegionIn(name="Sulawesi Selatan"))
    await put_region(
        session,
        code=CITY,
        data=RegionIn(
            name="Kota Makassar",
            daily_target=1000,
            coverage_target=Decimal("0.85"),
            coverage_deadline=deadline,
        ),
    )
    await put_office(
        session,
        code=DUKCAPIL,
        default_timezone=TIMEZONE,
        data=OfficeIn(
            name="Dinas Dukcapil Kota Makassar",
            region=CITY,
            kind="dukcapil",
            daily_target=100,
            timezone=TIMEZONE,
        ),
    )
    for number, name in enumerate(KECAMATAN, start=1):
        code = f"{CITY}.{number:02d}"
        await put_region(session, code=code, data=RegionIn(name=name, daily_target=60))
        await put_office(
            session,
            code=office_code(name),
            default_timezone=TIMEZONE,
            data=OfficeIn(
                name=f"Kantor Kecamatan {name}", region=code, daily_target=60, timezone=TIMEZONE
            ),
        )
    # The published figure the counts build on: the day before the first demo count.
    await put_figure(
        session,
        code=CITY,
        day=start - timedelta(days=1),
        data=FigureIn(eligible=ELIGIBLE, recorded=RECORDED_AT_START),
    )
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
