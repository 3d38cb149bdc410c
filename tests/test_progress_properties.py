"""Every figure of progress, series and office progress, on random data built through the
API, against a recomputation written straight from the definitions in the contract."""

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.main import create_app
from tests.conftest import ADMIN, make_client, settings_for

BASE = date(2024, 1, 1)
SPAN = 40  # days with data
REGIONS = ["73", "73.71", "73.71.01", "73.71.02", "73.72", "74", "74.01", "74.01.01"]
TARGETS = ["0.85", "0.95", "0.07", "0.333333", "1"]


def parent(code: str) -> str | None:
    if code == "ID":
        return None
    return "ID" if "." not in code else code.rsplit(".", 1)[0]


@dataclass
class World:
    regions: dict[str, dict[str, Any]]  # code -> daily_target, coverage_target, deadline; ID too
    offices: dict[str, dict[str, Any]]  # code -> region, daily_target, active, opened_on
    figures: dict[tuple[str, date], tuple[int | None, int | None]]
    counts: dict[tuple[str, date], int] = field(default_factory=dict)

    def children(self, code: str) -> list[str]:
        return sorted(c for c in self.regions if parent(c) == code)

    def applicable_target(self, code: str) -> str | None:
        """The region whose coverage target applies: the nearest of code, its parent, ...,
        ID that has one."""
        here: str | None = code
        while here is not None:
            if self.regions.get(here, {}).get("coverage_target") is not None:
                return here
            here = parent(here)
        return None

    def in_subtree(self, region: str, top: str) -> bool:
        return top == "ID" or region == top or region.startswith(top + ".")

    def office_counts(self, predicate: Any) -> int:
        return sum(
            n for (office, day), n in self.counts.items() if predicate(self.offices[office], day)
        )

    def subtree_counts(self, top: str, first: date, last: date) -> int:
        return self.office_counts(
            lambda o, day: self.in_subtree(o["region"], top) and first <= day <= last
        )

    def latest_figure(self, code: str, d: date, which: int) -> tuple[date, int] | None:
        found = [
            (day, values[which])
            for (region, day), values in self.figures.items()
            if region == code and day <= d and values[which] is not None
        ]
        return max(found) if found else None  # type: ignore[type-var]

    def eligible(self, code: str, d: date) -> int | None:
        figure = self.latest_figure(code, d, 0)
        if figure is not None:
            return figure[1]
        values = [v for c in self.children(code) if (v := self.eligible(c, d)) is not None]
        return sum(values) if values else None

    def recorded(self, code: str, d: date) -> int:
        figure = self.latest_figure(code, d, 1)
        if figure is not None:
            f, value = figure
            return value + self.subtree_counts(code, f + timedelta(days=1), d)
        own = self.office_counts(lambda o, day: o["region"] == code and day <= d)
        return sum(self.recorded(c, d) for c in self.children(code)) + own


def coverage(recorded: int, eligible: int | None) -> float | None:
    return None if not eligible else recorded / eligible


def expected_window(per_day: Any, as_of: date, days: int, target: int | None) -> dict[str, Any]:
    dates = [as_of - timedelta(days=i) for i in range(days)]
    recordings = sum(per_day(d) for d in dates)
    return {
        "from": (as_of - timedelta(days=days - 1)).isoformat(),
        "to": as_of.isoformat(),
        "days": days,
        "recordings": recordings,
        "average_per_day": recordings / days,
        "days_target_met": None if target is None else sum(per_day(d) >= target for d in dates),
    }


def expected_target(
    world: World,
    code: str,
    as_of: date,
    eligible: int | None,
    recorded: int,
    window: dict[str, Any],
) -> dict[str, Any] | None:
    source = world.applicable_target(code)
    if source is None:
        return None
    region = world.regions[source]
    deadline = region["deadline"]
    days_left = (deadline - as_of).days
    body: dict[str, Any] = {
        "coverage": float(region["coverage_target"]),
        "deadline": deadline.isoformat(),
        "source": source,
        "needed": None,
        "remaining": None,
        "days_left": days_left,
        "required_per_day": None,
        "projected_date": None,
        "on_track": False,
    }
    if eligible is None:
        return body
    needed = math.ceil(Fraction(region["coverage_target"]) * eligible)
    remaining = max(0, needed - recorded)
    projected = None
    if remaining == 0:
        projected = as_of
    elif window["recordings"] > 0:
        average = Fraction(window["recordings"], window["days"])
        projected = as_of + timedelta(days=math.ceil(remaining / average))
    body |= {
        "needed": needed,
        "remaining": remaining,
        "required_per_day": math.ceil(Fraction(remaining, days_left)) if days_left > 0 else None,
        "projected_date": projected and projected.isoformat(),
        "on_track": projected is not None and projected <= deadline,
    }
    return body


def expected_child(world: World, code: str, as_of: date, days: int) -> dict[str, Any]:
    """A child row: its numbers, and the four target members taken from the target the
    child itself would have (its own or its nearest ancestor's), over the same window."""
    eligible, recorded = world.eligible(code, as_of), world.recorded(code, as_of)
    start = as_of - timedelta(days=days - 1)
    window = {"recordings": world.subtree_counts(code, start, as_of), "days": days}
    target = expected_target(world, code, as_of, eligible, recorded, window)
    return {
        "code": code,
        "eligible": eligible,
        "recorded": recorded,
        "coverage": coverage(recorded, eligible),
        "day_recordings": world.subtree_counts(code, as_of, as_of),
        "window_recordings": window["recordings"],
        "target_coverage": target and target["coverage"],
        "target_source": target and target["source"],
        "required_per_day": target and target["required_per_day"],
        "on_track": target and target["on_track"],
    }


def expected_progress(world: World, code: str, as_of: date, days: int) -> dict[str, Any]:
    region = world.regions.get(code, {"daily_target": None, "coverage_target": None})
    per_day = lambda d: world.subtree_counts(code, d, d)  # noqa: E731
    eligible, recorded = world.eligible(code, as_of), world.recorded(code, as_of)
    window = expected_window(per_day, as_of, days, region["daily_target"])
    start = as_of - timedelta(days=days - 1)
    expected_offices = sorted(
        o
        for o, v in world.offices.items()
        if world.in_subtree(v["region"], code)
        and v["active"]
        and (v["opened_on"] is None or v["opened_on"] <= as_of)
    )
    missing = [o for o in expected_offices if (o, as_of) not in world.counts]
    day = per_day(as_of)
    target = region["daily_target"]
    return {
        "as_of": as_of.isoformat(),
        "eligible": eligible,
        "recorded": recorded,
        "coverage": coverage(recorded, eligible),
        "day": {
            "recordings": day,
            "target": target,
            "achievement": None if not target else day / target,
        },
        "window": window,
        "target": expected_target(world, code, as_of, eligible, recorded, window),
        "reporting": {
            "date": as_of.isoformat(),
            "expected": len(expected_offices),
            "reported": len(expected_offices) - len(missing),
            "missing": missing,
            "missing_total": len(missing),
            "by_child": [
                {
                    "code": c,
                    "expected": sum(
                        world.in_subtree(world.offices[o]["region"], c) for o in expected_offices
                    ),
                    "reported": sum(
                        world.in_subtree(world.offices[o]["region"], c)
                        for o in expected_offices
                        if o not in missing
                    ),
                }
                for c in world.children(code)
            ],
        },
        "children": [expected_child(world, c, as_of, days) for c in world.children(code)],
        "offices": [
            {
                "code": o,
                "daily_target": v["daily_target"],
                "day_recordings": world.counts.get((o, as_of), 0),
                "window_recordings": sum(
                    world.counts.get((o, start + timedelta(days=i)), 0) for i in range(days)
                ),
                "reported": (o, as_of) in world.counts,
            }
            for o, v in sorted(world.offices.items())
            if v["region"] == code
        ],
    }


def expected_series(
    world: World, code: str, first: date, last: date, bucket: str
) -> list[dict[str, Any]]:
    def key(d: date) -> Any:
        return {"day": d, "week": d.isocalendar()[:2], "month": (d.year, d.month)}[bucket]

    groups: dict[Any, list[date]] = {}
    for i in range((last - first).days + 1):
        d = first + timedelta(days=i)
        groups.setdefault(key(d), []).append(d)
    target = world.regions.get(code, {}).get("daily_target")
    points = []
    for dates in groups.values():
        end = dates[-1]
        recorded, eligible = world.recorded(code, end), world.eligible(code, end)
        points.append(
            {
                "start": dates[0].isoformat(),
                "end": end.isoformat(),
                "recordings": world.subtree_counts(code, dates[0], end),
                "recorded": recorded,
                "eligible": eligible,
                "coverage": coverage(recorded, eligible),
                "target": None if target is None else target * len(dates),
            }
        )
    return points


day_offsets = st.integers(0, SPAN - 1)


@st.composite
def worlds(draw: st.DrawFn) -> World:
    codes = [c for c in REGIONS if parent(c) == "ID" or draw(st.booleans())]
    codes = [c for c in codes if parent(c) == "ID" or parent(c) in codes]
    regions = {}
    # The nation is set like any region, so that targets cascade from it too.
    for code in ["ID", *codes]:
        with_target = draw(st.booleans())
        regions[code] = {
            "daily_target": draw(st.none() | st.integers(0, 60)),
            "coverage_target": draw(st.sampled_from(TARGETS)) if with_target else None,
            "deadline": BASE + timedelta(days=draw(st.integers(0, 400))) if with_target else None,
        }
    office_regions = st.sampled_from(codes)
    offices = {
        f"OF{i}": {
            "region": draw(office_regions),
            "daily_target": draw(st.none() | st.integers(0, 30)),
            "active": draw(st.booleans() | st.just(True)),
            "opened_on": draw(st.none() | day_offsets.map(lambda n: BASE + timedelta(days=n))),
        }
        for i in range(draw(st.integers(1, 5)))
    }
    figures = draw(
        st.dictionaries(
            st.tuples(
                st.sampled_from(["ID", *codes]), day_offsets.map(lambda n: BASE + timedelta(days=n))
            ),
            st.tuples(st.none() | st.integers(0, 5000), st.none() | st.integers(0, 3000)).filter(
                lambda v: v != (None, None)
            ),
            max_size=6,
        )
    )
    world = World(regions, offices, figures)
    writes = draw(
        st.lists(
            st.tuples(st.sampled_from(sorted(offices)), day_offsets, st.integers(0, 40)),
            max_size=30,
        )
    )
    for office, offset, recordings in writes:
        world.counts[(office, BASE + timedelta(days=offset))] = recordings
    deletions = (
        draw(st.sets(st.sampled_from(sorted(world.counts)), max_size=3)) if world.counts else set()
    )
    for key in deletions:
        del world.counts[key]
    world.deleted = deletions  # type: ignore[attr-defined]
    world.writes = writes  # type: ignore[attr-defined]
    return world


async def build(client: Any, world: World) -> None:
    async def ok(response: Any) -> None:
        assert response.status_code in (200, 201, 204), response.text

    for code, region in world.regions.items():
        body = {"name": f"R {code}", "daily_target": region["daily_target"]}
        if region["coverage_target"] is not None:
            body |= {
                "coverage_target": float(region["coverage_target"]),
                "coverage_deadline": region["deadline"].isoformat(),
            }
        await ok(await client.put(f"/api/v1/regions/{code}", json=body, headers=ADMIN))
    for code, office in world.offices.items():
        body = {"name": code, "region": office["region"], "daily_target": office["daily_target"]}
        await ok(await client.put(f"/api/v1/offices/{code}", json=body, headers=ADMIN))
    # Figures are interleaved with the counts, so that both orders of arrival are exercised.
    figures = list(world.figures.items())
    half = len(figures) // 2
    for (region, day), (eligible, recorded) in figures[:half]:
        await ok(
            await client.put(
                f"/api/v1/regions/{region}/figures/{day}",
                json={"eligible": eligible, "recorded": recorded},
                headers=ADMIN,
            )
        )
    writes = world.writes  # type: ignore[attr-defined]
    for office, offset, recordings in writes[: len(writes) // 2]:
        day = BASE + timedelta(days=offset)
        await ok(
            await client.put(
                f"/api/v1/offices/{office}/counts/{day}",
                json={"recordings": recordings},
                headers=ADMIN,
            )
        )
    rest: dict[tuple[str, int], int] = {}
    for office, offset, recordings in writes[len(writes) // 2 :]:
        rest[(office, offset)] = recordings
    if rest:
        batch = [
            {"office": o, "date": str(BASE + timedelta(days=n)), "recordings": r}
            for (o, n), r in rest.items()
        ]
        await ok(await client.post("/api/v1/counts", json={"counts": batch}, headers=ADMIN))
    for (region, day), (eligible, recorded) in figures[half:]:
        await ok(
            await client.put(
                f"/api/v1/regions/{region}/figures/{day}",
                json={"eligible": eligible, "recorded": recorded},
                headers=ADMIN,
            )
        )
    for office, day in world.deleted:  # type: ignore[attr-defined]
        await ok(await client.delete(f"/api/v1/offices/{office}/counts/{day}", headers=ADMIN))
    # Activity and opening dates last: counts already written stay in the totals.
    for code, office in world.offices.items():
        body = {
            "name": code,
            "region": office["region"],
            "daily_target": office["daily_target"],
            "active": office["active"],
            "opened_on": office["opened_on"] and office["opened_on"].isoformat(),
        }
        await ok(await client.put(f"/api/v1/offices/{code}", json=body, headers=ADMIN))


def strip_names(body: dict[str, Any]) -> dict[str, Any]:
    body = dict(body)
    body.pop("region", None)
    body["children"] = [
        {k: v for k, v in c.items() if k not in ("name", "level", "display_name")}
        for c in body["children"]
    ]
    body["reporting"] = body["reporting"] | {
        "by_child": [
            {k: v for k, v in c.items() if k != "name"} for c in body["reporting"]["by_child"]
        ]
    }
    body["offices"] = [
        {k: v for k, v in o.items() if k not in ("name", "kind")} for o in body["offices"]
    ]
    return body


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    world=worlds(),
    as_of=day_offsets.map(lambda n: BASE + timedelta(days=n)),
    days=st.integers(1, 12),
    series=st.tuples(day_offsets, st.integers(0, 70), st.sampled_from(["day", "week", "month"])),
    data=st.data(),
)
async def test_progress_matches_the_definitions(
    database_url, engine, connection, world, as_of, days, series, data
):
    savepoint = await connection.begin_nested()
    try:
        app = create_app(settings_for(database_url), engine=engine)
        async with make_client(app, connection) as client:
            await build(client, world)
            for code in world.regions:  # the nation first
                response = await client.get(
                    f"/api/v1/progress/{code}",
                    params={"as_of": str(as_of), "days": days},
                    headers=ADMIN,
                )
                assert response.status_code == 200, response.text
                assert strip_names(response.json()) == expected_progress(world, code, as_of, days)

            first = BASE + timedelta(days=series[0])
            last = first + timedelta(days=series[1])
            code = data.draw(st.sampled_from(sorted(world.regions)))
            response = await client.get(
                f"/api/v1/progress/{code}/series",
                params={"from": str(first), "to": str(last), "bucket": series[2]},
                headers=ADMIN,
            )
            assert response.status_code == 200, response.text
            assert response.json()["points"] == expected_series(world, code, first, last, series[2])

            office = data.draw(st.sampled_from(sorted(world.offices)))
            response = await client.get(
                f"/api/v1/offices/{office}/progress",
                params={"as_of": str(as_of), "days": days},
                headers=ADMIN,
            )
            assert response.status_code == 200, response.text
            body = response.json()
            mine = {d: n for (o, d), n in world.counts.items() if o == office}
            target = world.offices[office]["daily_target"]
            day = mine.get(as_of, 0)
            assert body["day"] == {
                "recordings": day,
                "target": target,
                "achievement": None if not target else day / target,
            }
            assert body["window"] == expected_window(lambda d: mine.get(d, 0), as_of, days, target)
            assert body["total"] == sum(n for d, n in mine.items() if d <= as_of)
            reported = [d for d in mine if d <= as_of]
            assert body["last_reported"] == (max(reported).isoformat() if reported else None)
    finally:
        await savepoint.rollback()
