"""Coverage targets cascade: a region without its own works toward its nearest ancestor's
(target and deadline together, `source` naming the region that set it); daily targets stay
where they are set, and office progress never sees a coverage target."""

import math
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from tests.conftest import ADMIN
from tests.progress_helpers import (
    counts,
    figure,
    office,
    office_progress,
    progress,
    regions,
    series,
)

AS_OF = "2019-02-10"


def from_definition(
    coverage: str, deadline: str, source: str, body: dict[str, Any], days: int
) -> dict[str, Any]:
    """The target member of a progress body, written straight from docs/api.md, from the
    body's own eligible, recorded and window."""
    as_of, due = date.fromisoformat(body["as_of"]), date.fromisoformat(deadline)
    days_left = (due - as_of).days
    needed = math.ceil(Fraction(coverage) * body["eligible"])
    remaining = max(0, needed - body["recorded"])
    projected = None
    if remaining == 0:
        projected = as_of
    elif body["window"]["recordings"] > 0:
        average = Fraction(body["window"]["recordings"], days)
        projected = as_of + timedelta(days=math.ceil(remaining / average))
    return {
        "coverage": float(coverage),
        "deadline": deadline,
        "source": source,
        "needed": needed,
        "remaining": remaining,
        "days_left": days_left,
        "required_per_day": math.ceil(Fraction(remaining, days_left)) if days_left > 0 else None,
        "projected_date": projected and projected.isoformat(),
        "on_track": projected is not None and projected <= due,
    }


async def set_nation(client: Any, **fields: Any) -> None:
    response = await client.put(
        "/api/v1/regions/ID", json={"name": "Indonesia", **fields}, headers=ADMIN
    )
    assert response.status_code == 200, response.text


async def makassar(client: Any) -> None:
    """Makassar (73.71) with its own 85% due 2019-03-01 and 1,000 a day; its kecamatan
    73.71.01 (eligible 1,234) and 73.71.02 (eligible 766) have no targets of their own."""
    await regions(client, "73")
    await regions(
        client,
        "73.71",
        daily_target=1000,
        coverage_target=0.85,
        coverage_deadline="2019-03-01",
    )
    await regions(client, "73.71.01", "73.71.02")
    await office(client, "K1", "73.71.01")
    await office(client, "K2", "73.71.02")
    await figure(client, "73.71.01", "2019-02-01", eligible=1234, recorded=600)
    await figure(client, "73.71.02", "2019-02-01", eligible=766, recorded=700)
    await counts(client, "K1", {"2019-02-05": 14, "2019-02-10": 21})
    await counts(client, "K2", {"2019-02-09": 5})


async def test_kecamatan_works_toward_its_citys_target(client):
    await makassar(client)

    kecamatan = await progress(client, "73.71.01", as_of=AS_OF)
    city = await progress(client, "73.71", as_of=AS_OF)

    assert (kecamatan["eligible"], kecamatan["recorded"]) == (1234, 635)  # 600 + 14 + 21
    assert kecamatan["target"] == {
        "coverage": 0.85,
        "deadline": "2019-03-01",
        "source": "73.71",
        "needed": 1049,  # ceil(0.85 * 1234) = ceil(1048.9), from the kecamatan's own eligible
        "remaining": 414,  # 1049 - 635
        "days_left": 19,
        "required_per_day": 22,  # ceil(414 / 19)
        # 35 in 7 days, 5 a day: 02-10 + ceil(414 / 5) = + 83 days
        "projected_date": "2019-05-04",
        "on_track": False,
    }
    assert kecamatan["target"] == from_definition("0.85", "2019-03-01", "73.71", kecamatan, days=7)
    # The city keeps its own target, computed from its own numbers.
    assert (city["eligible"], city["recorded"]) == (2000, 1340)
    assert city["target"] == from_definition("0.85", "2019-03-01", "73.71", city, days=7)
    assert city["target"]["needed"] == 1700


async def test_cascaded_target_follows_the_window_length(client):
    await makassar(client)

    fortnight = await progress(client, "73.71.01", as_of=AS_OF, days=14)
    single_day = await progress(client, "73.71.02", as_of="2019-02-09", days=1)

    assert fortnight["target"] == from_definition("0.85", "2019-03-01", "73.71", fortnight, days=14)
    assert fortnight["target"]["projected_date"] == "2019-07-26"  # 35 / 14 a day: + 166 days
    # 73.71.02: needed ceil(0.85 * 766) = 652 <= 705 recorded: reached
    assert single_day["target"] == from_definition(
        "0.85", "2019-03-01", "73.71", single_day, days=1
    )
    assert single_day["target"]["remaining"] == 0
    assert single_day["target"]["on_track"] is True


async def test_provinces_work_toward_the_nations_target(client):
    await set_nation(client, coverage_target=0.95, coverage_deadline="2019-12-31")
    await regions(client, "73", "74")
    await figure(client, "73", "2019-02-01", eligible=7000, recorded=6000)
    await office(client, "P", "73")
    await counts(client, "P", {"2019-02-10": 70})

    province = await progress(client, "73", as_of=AS_OF)
    untouched = await progress(client, "74", as_of=AS_OF)
    nation = await progress(client, "ID", as_of=AS_OF)

    assert province["target"] == from_definition("0.95", "2019-12-31", "ID", province, days=7)
    assert province["target"]["needed"] == 6650  # ceil(0.95 * 7000)
    assert province["target"]["remaining"] == 580  # 6650 - 6070
    # No eligible below 74: the target applies, but nothing can be derived from it.
    assert untouched["target"] == {
        "coverage": 0.95,
        "deadline": "2019-12-31",
        "source": "ID",
        "needed": None,
        "remaining": None,
        "days_left": 324,
        "required_per_day": None,
        "projected_date": None,
        "on_track": False,
    }
    assert nation["target"] == from_definition("0.95", "2019-12-31", "ID", nation, days=7)


async def test_the_nearest_target_wins_and_an_own_target_is_kept(client):
    await set_nation(client, coverage_target=0.95, coverage_deadline="2020-12-31")
    await regions(client, "73", coverage_target=0.9, coverage_deadline="2019-12-31")
    await regions(client, "73.71")
    await regions(client, "73.71.01")
    await regions(client, "73.71.02", coverage_target=0.5, coverage_deadline="2019-06-30")
    for code in ("73.71.01", "73.71.02"):
        await figure(client, code, "2019-02-01", eligible=1000, recorded=100)

    below_province = await progress(client, "73.71.01", as_of=AS_OF)
    city = await progress(client, "73.71", as_of=AS_OF)
    own = await progress(client, "73.71.02", as_of=AS_OF)
    province = await progress(client, "73", as_of=AS_OF)

    # 73.71.01 and 73.71 skip the nation's 95% for their province's 90%.
    assert below_province["target"] == from_definition(
        "0.9", "2019-12-31", "73", below_province, days=7
    )
    assert city["target"] == from_definition("0.9", "2019-12-31", "73", city, days=7)
    assert city["target"]["needed"] == 1800  # ceil(0.9 * 2000)
    assert own["target"] == from_definition("0.5", "2019-06-30", "73.71.02", own, days=7)
    assert province["target"] == from_definition("0.9", "2019-12-31", "73", province, days=7)


async def test_daily_targets_do_not_cascade(client):
    await makassar(client)
    await set_nation(client, daily_target=50_000)

    kecamatan = await progress(client, "73.71.01", as_of=AS_OF)
    city = await progress(client, "73.71", as_of=AS_OF)
    points = await series(client, "73.71.01", from_="2019-02-09", to=AS_OF)

    assert kecamatan["day"] == {"recordings": 21, "target": None, "achievement": None}
    assert kecamatan["window"]["days_target_met"] is None
    assert [point["target"] for point in points["points"]] == [None, None]
    assert city["day"] == {"recordings": 21, "target": 1000, "achievement": 0.021}
    assert city["window"]["days_target_met"] == 0


async def test_everything_but_the_target_is_unchanged_by_an_ancestors_target(client):
    await regions(client, "73", "73.71", daily_target=1000)
    await regions(client, "73.71.01")
    await office(client, "K1", "73.71.01", daily_target=40)
    await figure(client, "73.71.01", "2019-02-01", eligible=1234, recorded=600)
    await counts(client, "K1", {"2019-02-05": 14, "2019-02-10": 21})
    before = await progress(client, "73.71.01", as_of=AS_OF)
    office_before = await office_progress(client, "K1", as_of=AS_OF)

    await regions(
        client, "73.71", daily_target=1000, coverage_target=0.85, coverage_deadline="2019-03-01"
    )
    after = await progress(client, "73.71.01", as_of=AS_OF)
    office_after = await office_progress(client, "K1", as_of=AS_OF)

    assert before["target"] is None
    assert after["target"]["source"] == "73.71"
    assert {**after, "target": None} == before
    # Office progress has no coverage target, and its daily target is the office's own.
    assert office_after == office_before
    assert "target" not in office_after
    assert office_after["day"] == {"recordings": 21, "target": 40, "achievement": 0.525}


async def test_no_target_anywhere_is_null_at_every_level(client):
    await regions(client, "73", "73.71", "73.71.01", daily_target=10)
    await figure(client, "73.71.01", "2019-02-01", eligible=1000, recorded=100)

    for code in ("ID", "73", "73.71", "73.71.01"):
        body = await progress(client, code, as_of=AS_OF)
        assert body["target"] is None, code


async def test_a_target_removed_from_the_city_falls_back_to_the_next_ancestor(client):
    await makassar(client)
    await set_nation(client, coverage_target=0.95, coverage_deadline="2019-12-31")
    assert (await progress(client, "73.71.01", as_of=AS_OF))["target"]["source"] == "73.71"

    await regions(client, "73.71", daily_target=1000)
    body = await progress(client, "73.71.01", as_of=AS_OF)

    assert body["target"] == from_definition("0.95", "2019-12-31", "ID", body, days=7)
