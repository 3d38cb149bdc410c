"""The flags on random worlds against a recomputation written straight from the definitions
in docs/api.md (medians with Fraction, the 10% rule and coverage in integers)."""

from datetime import date, timedelta
from fractions import Fraction
from statistics import median
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.main import create_app
from tests.conftest import ADMIN, make_client, settings_for
from tests.test_progress_properties import World, parent

BASE = date(2024, 1, 1)
SPAN = 30
REGIONS = ["73", "73.71", "73.71.01", "73.71.02", "74"]
KINDS = [
    "outlier",
    "over_coverage",
    "recorded_decrease",
    "eligible_jump",
    "figure_mismatch",
    "silent",
]


@st.composite
def worlds(draw: st.DrawFn) -> World:
    offices = {
        f"OF{i}": {
            "region": draw(st.sampled_from(["73.71.01", "73.71.02", "73.71", "74"])),
            "daily_target": None,
            "active": draw(st.booleans()),
            "opened_on": draw(st.none() | st.integers(0, SPAN).map(lambda n: BASE + timedelta(n))),
        }
        for i in range(draw(st.integers(1, 3)))
    }
    figures = draw(
        st.dictionaries(
            st.tuples(
                st.sampled_from(["ID", *REGIONS]),
                st.integers(0, SPAN).map(lambda n: BASE + timedelta(n)),
            ),
            st.tuples(st.none() | st.integers(0, 300), st.none() | st.integers(0, 300)).filter(
                lambda v: v != (None, None)
            ),
            max_size=8,
        )
    )
    world = World({c: {} for c in ["ID", *REGIONS]}, offices, figures)
    for code in offices:
        level = draw(st.sampled_from([10, 50]))
        for day in range(SPAN):
            if draw(st.integers(0, 9)) < 8:
                value = draw(st.sampled_from([level, level, level + 2, level - 2, 0, 300]))
                world.counts[(code, BASE + timedelta(day))] = value
    return world


def children(code: str) -> list[str]:
    return [c for c in REGIONS if parent(c) == code]


def in_subtree(code: str, top: str) -> bool:
    return top == "ID" or code == top or code.startswith(top + ".")


def expected_flags(world: World, top: str, as_of: date) -> list[tuple[Any, ...]]:
    found: list[tuple[Any, ...]] = []
    for code, o in world.offices.items():
        if not in_subtree(o["region"], top):
            continue
        mine = {d: n for (c, d), n in world.counts.items() if c == code}
        for d, x in mine.items():
            if not as_of - timedelta(6) <= d <= as_of:
                continue
            window = [n for e, n in mine.items() if d - timedelta(90) <= e <= d - timedelta(1)]
            if len(window) < 14:
                continue
            m = Fraction(median(window))
            mad = Fraction(median([abs(Fraction(v) - m) for v in window]))
            if mad > 0 and abs(Fraction(6745, 10000) * (x - m) / mad) > Fraction(7, 2):
                found.append(("outlier", code, d, x, m))
    for code in ["ID", *REGIONS]:
        if not in_subtree(code, top):
            continue
        eligible, recorded = world.eligible(code, as_of), world.recorded(code, as_of)
        if eligible and recorded > eligible:
            found.append(("over_coverage", code, as_of, recorded, eligible))
        mine = sorted((d, v) for (c, d), v in world.figures.items() if c == code and d <= as_of)
        for which, kind in ((1, "recorded_decrease"), (0, "eligible_jump")):
            previous = None
            for d, values in mine:
                value = values[which]
                if value is None:
                    continue
                if previous is not None:
                    if kind == "recorded_decrease" and value < previous:
                        found.append((kind, code, d, value, previous))
                    if kind == "eligible_jump" and 10 * abs(value - previous) > previous:
                        found.append((kind, code, d, value, previous))
                previous = value
        kids = children(code) if code != "ID" else ["73", "74"]
        for d, values in mine:
            theirs = [world.figures.get((k, d)) for k in kids]
            if not kids or any(t is None for t in theirs):
                continue
            for which in (0, 1):
                own = values[which]
                members = [t[which] for t in theirs]  # type: ignore[index]
                if own is not None and None not in members and sum(members) != own:
                    found.append(("figure_mismatch", code, d, own, sum(members)))
                    break
    for code, o in world.offices.items():
        if not in_subtree(o["region"], top) or not o["active"]:
            continue
        if o["opened_on"] is not None and o["opened_on"] > as_of - timedelta(3):
            continue
        if all(world.counts.get((code, as_of - timedelta(i)), 0) == 0 for i in range(3)):
            found.append(("silent", code, as_of, None, None))
    return sorted(found, key=lambda f: (KINDS.index(f[0]), f[1], f[2]))


async def build(client: Any, world: World) -> None:
    async def ok(response: Any) -> None:
        assert response.status_code in (200, 201), response.text

    for code in REGIONS:
        await ok(await client.put(f"/api/v1/regions/{code}", json={"name": code}, headers=ADMIN))
    for code, o in world.offices.items():
        body = {"name": code, "region": o["region"]}
        await ok(await client.put(f"/api/v1/offices/{code}", json=body, headers=ADMIN))
    items = [{"office": c, "date": str(d), "recordings": n} for (c, d), n in world.counts.items()]
    if items:
        await ok(await client.post("/api/v1/counts", json={"counts": items}, headers=ADMIN))
    for (code, d), (eligible, recorded) in world.figures.items():
        body = {"eligible": eligible, "recorded": recorded}
        await ok(await client.put(f"/api/v1/regions/{code}/figures/{d}", json=body, headers=ADMIN))
    for code, o in world.offices.items():
        body = {
            "name": code,
            "region": o["region"],
            "active": o["active"],
            "opened_on": o["opened_on"] and str(o["opened_on"]),
        }
        await ok(await client.put(f"/api/v1/offices/{code}", json=body, headers=ADMIN))


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    world=worlds(),
    as_of=st.integers(10, SPAN + 3).map(lambda n: BASE + timedelta(n)),
    top=st.sampled_from(["ID", "73", "73.71", "74"]),
)
async def test_flags_match_the_definitions(database_url, engine, connection, world, as_of, top):
    savepoint = await connection.begin_nested()
    try:
        app = create_app(settings_for(database_url), engine=engine)
        async with make_client(app, connection) as client:
            await build(client, world)
            response = await client.get(
                f"/api/v1/quality/{top}", params={"as_of": str(as_of), "limit": 5000}, headers=ADMIN
            )
            assert response.status_code == 200, response.text
            got = [
                (
                    f["kind"],
                    f["office"] or f["region"],
                    date.fromisoformat(f["date"]),
                    f["value"],
                    None if f["expected"] is None else Fraction(str(f["expected"])),
                )
                for f in response.json()["flags"]
            ]
            assert got == expected_flags(world, top, as_of)
            assert response.json()["total"] == len(got)
    finally:
        await savepoint.rollback()
