"""GET /api/v1/progress/{code}/series: buckets, clipping, and the values at each end."""

from datetime import timedelta

import pytest

from tests.helpers import ADMIN, put_office, today
from tests.progress_helpers import counts, figure, office, progress, regions, series, status_of

URL = "/api/v1/progress/73.71/series"


def point(start, end, recordings, recorded, eligible=None, coverage=None, target=None):
    return {
        "start": start,
        "end": end,
        "recordings": recordings,
        "recorded": recorded,
        "eligible": eligible,
        "coverage": coverage,
        "target": target,
    }


async def weeks_case(client):
    """73.71 (daily_target 5) with one office in 73.71.01 and figures on three dates."""
    await regions(client, "73")
    await regions(client, "73.71", daily_target=5)
    await regions(client, "73.71.01")
    await office(client, "K", "73.71.01")
    await figure(client, "73.71.01", "2019-01-18", eligible=900)
    await figure(client, "73.71", "2019-01-25", eligible=1000, recorded=200)
    await figure(client, "73.71", "2019-02-04", eligible=1100)
    await counts(
        client,
        "K",
        {
            "2019-01-10": 100,
            "2019-01-16": 1,
            "2019-01-20": 2,
            "2019-01-21": 3,
            "2019-01-27": 4,
            "2019-02-01": 5,
            "2019-02-03": 6,
            "2019-02-04": 7,
            "2019-02-05": 8,
            "2019-02-06": 50,
        },
    )


async def test_weeks_clipped_at_both_ends(client):
    await weeks_case(client)

    # Wednesday 2019-01-16 to Tuesday 2019-02-05
    body = await series(client, "73.71", from_="2019-01-16", to="2019-02-05", bucket="week")

    assert body == {
        "region": {
            "code": "73.71",
            "name": "Region 73.71",
            "level": "regency",
            "display_name": "Region 73.71",
        },
        "bucket": "week",
        "points": [
            # Wed..Sun, 5 days: 1 + 2; recorded 100 + 1 + 2 (no recorded figure yet);
            # eligible from 73.71.01's figure of 01-18
            point("2019-01-16", "2019-01-20", 3, 103, 900, pytest.approx(103 / 900), 25),
            # 3 + 4; recorded 200 (figure of 01-25) + 4; 204 / 1000
            point("2019-01-21", "2019-01-27", 7, 204, 1000, pytest.approx(0.204), 35),
            # 5 + 6; recorded 200 + 4 + 5 + 6; 215 / 1000
            point("2019-01-28", "2019-02-03", 11, 215, 1000, pytest.approx(0.215), 35),
            # Mon..Tue, 2 days: 7 + 8; recorded 215 + 15; eligible revised on 02-04
            point(
                "2019-02-04", "2019-02-05", 15, 230, 1100, pytest.approx(0.2090909, abs=1e-7), 10
            ),
        ],
    }


async def test_whole_weeks_and_a_single_day_week(client):
    await weeks_case(client)

    whole = await series(client, "73.71", from_="2019-01-21", to="2019-02-03", bucket="week")
    sunday = await series(client, "73.71", from_="2019-01-20", to="2019-01-20", bucket="week")

    # Monday to Sunday twice, unclipped
    assert whole["points"] == [
        point("2019-01-21", "2019-01-27", 7, 204, 1000, pytest.approx(0.204), 35),
        point("2019-01-28", "2019-02-03", 11, 215, 1000, pytest.approx(0.215), 35),
    ]
    assert sunday["points"] == [
        point("2019-01-20", "2019-01-20", 2, 103, 900, pytest.approx(103 / 900), 5),
    ]


async def test_days_with_zeros_and_a_figure_taking_over(client):
    await weeks_case(client)

    body = await series(client, "73.71", from_="2019-01-24", to="2019-01-27", bucket="day")

    assert body["bucket"] == "day"
    assert body["points"] == [
        # counts through 01-24: 100 + 1 + 2 + 3
        point("2019-01-24", "2019-01-24", 0, 106, 900, pytest.approx(106 / 900), 5),
        # the figure dated 01-25 replaces every count up to it
        point("2019-01-25", "2019-01-25", 0, 200, 1000, pytest.approx(0.2), 5),
        point("2019-01-26", "2019-01-26", 0, 200, 1000, pytest.approx(0.2), 5),
        point("2019-01-27", "2019-01-27", 4, 204, 1000, pytest.approx(0.204), 5),
    ]


async def test_province_series_has_no_target_and_the_same_recorded(client):
    await weeks_case(client)

    body = await series(client, "73", from_="2019-01-16", to="2019-02-05", bucket="week")

    assert body["region"] == {
        "code": "73",
        "name": "Region 73",
        "level": "province",
        "display_name": "Region 73",
    }
    assert [
        (p["recordings"], p["recorded"], p["eligible"], p["target"]) for p in body["points"]
    ] == [
        (3, 103, 900, None),
        (7, 204, 1000, None),
        (11, 215, 1000, None),
        (15, 230, 1100, None),
    ]


async def test_each_point_agrees_with_region_progress_at_its_end(client):
    await weeks_case(client)

    body = await series(client, "73", from_="2019-01-17", to="2019-02-06", bucket="day")

    points = {p["end"]: p for p in body["points"]}
    assert len(points) == 21  # 01-17..02-06
    for day in ["2019-01-17", "2019-01-18", "2019-01-25", "2019-02-03", "2019-02-04", "2019-02-06"]:
        at = await progress(client, "73", as_of=day)
        assert (points[day]["recorded"], points[day]["eligible"], points[day]["coverage"]) == (
            at["recorded"],
            at["eligible"],
            at["coverage"],
        ), day
        assert points[day]["recordings"] == at["day"]["recordings"], day


async def test_figures_written_out_of_order_replaced_and_deleted(client):
    """Each figure holds until its region's next one of the same kind, whatever the order
    the figures were written in; a deleted figure hands over to the one before it."""
    await weeks_case(client)
    await figure(client, "73.71", "2019-01-30", recorded=300)  # between two written before
    await figure(client, "73.71", "2019-02-04", eligible=1200)  # replaced
    await figure(client, "73.71.01", "2019-01-20", eligible=950)
    response = await client.delete("/api/v1/regions/73.71.01/figures/2019-01-18", headers=ADMIN)
    assert response.status_code == 204, response.text

    body = await series(client, "73", from_="2019-01-17", to="2019-02-06", bucket="day")

    points = {p["end"]: p for p in body["points"]}
    for day in sorted(points):
        at = await progress(client, "73", as_of=day)
        assert (points[day]["recorded"], points[day]["eligible"]) == (
            at["recorded"],
            at["eligible"],
        ), day
    assert points["2019-01-19"]["eligible"] is None  # the district's first figure is gone
    assert points["2019-01-20"]["eligible"] == 950
    assert points["2019-01-30"]["recorded"] == 300
    assert points["2019-02-04"]["eligible"] == 1200


async def test_counts_changed_under_a_figure_leave_what_it_stands_in_for(client):
    """A published recorded figure stands in for every count up to its date: writing,
    correcting or deleting such a count, or moving an office in or out under it, changes
    the numbers before the figure, never from its date on."""
    await regions(client, "73", "73.71", "73.71.01", "73.71.02", "73.72", "73.72.01")
    await office(client, "K", "73.71.01")
    await office(client, "L", "73.72.01")
    await counts(client, "K", {"2019-01-05": 10})
    await figure(client, "73.71", "2019-01-10", recorded=1000)
    await counts(client, "K", {"2019-01-06": 7, "2019-01-12": 3})
    await counts(client, "L", {"2019-01-04": 40})

    async def recorded(region, day):
        body = await series(client, region, from_=day, to=day, bucket="day")
        (point,) = body["points"]
        assert point["recorded"] == (await progress(client, region, as_of=day))["recorded"]
        return point["recorded"]

    assert await recorded("73.71", "2019-01-09") == 17
    assert await recorded("73.71", "2019-01-12") == 1003
    assert await recorded("73", "2019-01-12") == 1043

    await counts(client, "K", {"2019-01-05": 12})  # a correction under the figure
    await client.delete("/api/v1/offices/K/counts/2019-01-06", headers=ADMIN)
    assert await recorded("73.71", "2019-01-09") == 12
    assert await recorded("73.71", "2019-01-12") == 1003

    await put_office(client, "L", "73.71.02", opened_on="2019-01-01")  # moves in under it
    assert await recorded("73.71", "2019-01-09") == 52
    assert await recorded("73.71", "2019-01-12") == 1003
    assert await recorded("73", "2019-01-12") == 1003


async def months_case(client):
    await regions(client, "73")
    await regions(client, "73.71", daily_target=5)
    await regions(client, "73.71.01")
    await office(client, "K", "73.71.01", opened_on="2018-12-01")
    await counts(
        client,
        "K",
        {
            "2018-12-19": 1000,
            "2018-12-20": 500,
            "2019-01-05": 50,
            "2019-01-14": 9,
            "2019-01-15": 1,
            "2019-01-31": 2,
            "2019-02-01": 3,
            "2019-02-28": 4,
            "2019-03-01": 5,
            "2019-03-10": 6,
            "2019-03-11": 70,
        },
    )


async def test_months_clipped_at_both_ends(client):
    await months_case(client)

    # From the 15th of January to the 10th of March
    body = await series(client, "73.71", from_="2019-01-15", to="2019-03-10", bucket="month")

    assert body["bucket"] == "month"
    # recorded at each end: everything before plus the buckets so far, with
    # 1000 + 500 + 50 + 9 = 1559 counted before 01-15
    assert body["points"] == [
        point("2019-01-15", "2019-01-31", 3, 1562, target=85),  # 1 + 2; 5 * 17 days
        point("2019-02-01", "2019-02-28", 7, 1569, target=140),  # 3 + 4; 5 * 28 days
        point("2019-03-01", "2019-03-10", 11, 1580, target=50),  # 5 + 6; 5 * 10 days
    ]
    # The province, without a daily target, sums the same counts
    province = await series(client, "73", from_="2019-01-15", to="2019-03-10", bucket="month")
    assert [(p["recordings"], p["recorded"], p["target"]) for p in province["points"]] == [
        (3, 1562, None),
        (7, 1569, None),
        (11, 1580, None),
    ]


async def test_months_across_a_year_end_and_a_single_whole_month(client):
    await months_case(client)

    year_end = await series(client, "73.71", from_="2018-12-20", to="2019-01-05", bucket="month")
    february = await series(client, "73.71", from_="2019-02-01", to="2019-02-28", bucket="month")

    assert year_end["points"] == [
        point("2018-12-20", "2018-12-31", 500, 1500, target=60),  # 1000 before; 5 * 12
        point("2019-01-01", "2019-01-05", 50, 1550, target=25),  # 5 * 5
    ]
    # 1000 + 500 + 50 + 9 + 1 + 2 = 1562 before February
    assert february["points"] == [point("2019-02-01", "2019-02-28", 7, 1569, target=140)]


async def test_empty_region_gets_a_zero_point_for_every_day(client):
    await regions(client, "74")

    body = await series(client, "74", from_="2019-02-01", to="2019-02-03")

    assert body == {
        "region": {
            "code": "74",
            "name": "Region 74",
            "level": "province",
            "display_name": "Region 74",
        },
        "bucket": "day",
        "points": [
            point("2019-02-01", "2019-02-01", 0, 0),
            point("2019-02-02", "2019-02-02", 0, 0),
            point("2019-02-03", "2019-02-03", 0, 0),
        ],
    }


async def test_defaults_are_the_last_30_days_by_day(client):
    await regions(client, "74")

    default = await series(client, "74")
    ending = await series(client, "74", to="2019-02-05")

    assert default["bucket"] == "day"
    assert len(default["points"]) == 30
    assert default["points"][0]["start"] == (today() - timedelta(days=29)).isoformat()
    assert default["points"][-1]["end"] == today().isoformat()
    # to given alone: from is to - 29 days
    assert len(ending["points"]) == 30
    assert (ending["points"][0]["start"], ending["points"][-1]["end"]) == (
        "2019-01-07",
        "2019-02-05",
    )


async def test_unknown_region_is_404(client):
    params = {"from": "2019-02-01", "to": "2019-02-03"}
    assert await status_of(client, "/api/v1/progress/99/series", **params) == 404


async def test_bad_parameters_are_422(client):
    await regions(client, "73", "73.71")

    async def status(**params):
        return await status_of(client, URL, **params)

    assert await status(**{"from": "2019-02-01", "to": "2019-02-03", "bucket": "year"}) == 422
    assert await status(**{"from": "2019-02-04", "to": "2019-02-03"}) == 422  # from after to
    assert await status(**{"from": "2019-2-1", "to": "2019-02-03"}) == 422
    assert await status(**{"from": "2019-02-01", "to": "2019-2-3"}) == 422
    # 2010-01-01 + 3660 days is 2020-01-09: 3661 days counting both ends
    assert await status(**{"from": "2010-01-01", "to": "2020-01-09", "bucket": "month"}) == 422
    # 2010-01-01..2020-01-08 is exactly 3660 days
    assert await status(**{"from": "2010-01-01", "to": "2020-01-08", "bucket": "month"}) == 200
    assert await status(**{"from": "2019-02-03", "to": "2019-02-03"}) == 200


async def test_longest_range_by_month_has_every_month(client):
    await regions(client, "73", "73.71")

    body = await series(client, "73.71", from_="2010-01-01", to="2020-01-08", bucket="month")

    # 2010-01..2019-12 is 120 months, plus 2020-01-01..2020-01-08
    assert len(body["points"]) == 121
    assert body["points"][0]["start"] == "2010-01-01"
    assert body["points"][-1] == point("2020-01-01", "2020-01-08", 0, 0)
