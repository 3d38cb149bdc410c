"""GET /api/v1/progress/{code}: a region's progress, on small cases worked out by hand."""

from typing import Any

import pytest
from sqlalchemy import text

from tests.helpers import assert_tallies_exact, put_office, today
from tests.progress_helpers import (
    counts,
    delete_count,
    figure,
    office,
    progress,
    regions,
    status_of,
)


def ref(code: str, level: str) -> dict[str, str]:
    name = f"Region {code}"
    return {"code": code, "name": name, "level": level, "display_name": name}


NO_TARGET = {
    "target_coverage": None,
    "target_source": None,
    "required_per_day": None,
    "on_track": None,
}


def no_reports(day: str) -> dict[str, object]:
    return {
        "date": day,
        "expected": 0,
        "reported": 0,
        "missing": [],
        "missing_total": 0,
        "by_child": [],
    }


def totals(reporting: dict[str, Any]) -> dict[str, Any]:
    """Reporting without its per-child part (checked on its own where it matters)."""
    return {k: v for k, v in reporting.items() if k != "by_child"}


async def several_levels(client):
    """Figures at district, regency and province-child level; offices at every level.

    73 (province) ── office P1
    ├─ 73.71 (regency) ── office R1
    │  ├─ 73.71.01 ── D1; figure 2019-02-01: eligible 1000, recorded 600
    │  └─ 73.71.02 ── D2; figure 2019-02-01: eligible 500 (no recorded)
    └─ 73.72 (regency); figure 2019-02-05: eligible 2000, recorded 1500
       └─ 73.72.01 ── E1; figure 2019-02-01: eligible 300, recorded 100
    """
    await regions(client, "73", "73.71", "73.71.01", "73.71.02", "73.72", "73.72.01")
    await office(client, "D1", "73.71.01")
    await office(client, "D2", "73.71.02")
    await office(client, "E1", "73.72.01")
    await office(client, "R1", "73.71")
    await office(client, "P1", "73")
    # Some counts are written before the figures exist, some after.
    await counts(client, "D1", {"2019-01-31": 10, "2019-02-01": 3})
    await counts(client, "E1", {"2019-02-03": 40})
    await figure(client, "73.71.01", "2019-02-01", eligible=1000, recorded=600)
    await figure(client, "73.71.02", "2019-02-01", eligible=500)
    await figure(client, "73.72", "2019-02-05", eligible=2000, recorded=1500)
    await figure(client, "73.72.01", "2019-02-01", eligible=300, recorded=100)
    await counts(client, "D1", {"2019-02-02": 20, "2019-02-10": 5})
    await counts(client, "D2", {"2019-02-01": 7, "2019-02-10": 3})
    await counts(client, "E1", {"2019-02-06": 11, "2019-02-10": 2})
    await counts(client, "R1", {"2019-02-09": 6, "2019-02-10": 4})
    await counts(client, "P1", {"2019-01-20": 100, "2019-02-10": 8})


async def test_figures_at_several_levels_province(client):
    await several_levels(client)

    body = await progress(client, "73", as_of="2019-02-10", days=7)

    assert body == {
        "region": ref("73", "province"),
        "as_of": "2019-02-10",
        # 73.71: 1000 + 500; 73.72: its own 2000 (73.72.01's 300 is under it)
        "eligible": 3500,
        # 73.71 = 645 (below) + 73.72 = 1513 (below) + P1's 100 + 8
        "recorded": 2266,
        "coverage": pytest.approx(0.6474286, abs=1e-7),  # 2266 / 3500
        # 02-10: D1 5 + D2 3 + E1 2 + R1 4 + P1 8
        "day": {"recordings": 22, "target": None, "achievement": None},
        "window": {
            "from": "2019-02-04",
            "to": "2019-02-10",
            "days": 7,
            # 02-04..02-10: D1 5, D2 3, E1 11 + 2, R1 6 + 4, P1 8
            "recordings": 39,
            "average_per_day": pytest.approx(39 / 7),
            "days_target_met": None,
        },
        "target": None,
        "reporting": {
            "date": "2019-02-10",
            "expected": 5,
            "reported": 5,
            "missing": [],
            "missing_total": 0,
            # 73.71: D1, D2, R1; 73.72: E1 (P1 sits at 73 itself)
            "by_child": [
                {"code": "73.71", "name": "Region 73.71", "expected": 3, "reported": 3},
                {"code": "73.72", "name": "Region 73.72", "expected": 1, "reported": 1},
            ],
        },
        "children": [
            {
                **ref("73.71", "regency"),
                "eligible": 1500,  # 1000 + 500
                "recorded": 645,  # 73.71.01: 600 + 20 + 5; 73.71.02: 7 + 3; R1: 6 + 4
                "coverage": pytest.approx(0.43),  # 645 / 1500
                "day_recordings": 12,  # 5 + 3 + 4
                "window_recordings": 18,  # 5 + 3 + 6 + 4
                **NO_TARGET,
            },
            {
                **ref("73.72", "regency"),
                "eligible": 2000,
                "recorded": 1513,  # 1500 + the counts after 02-05: 11 + 2
                "coverage": pytest.approx(0.7565),  # 1513 / 2000
                "day_recordings": 2,
                "window_recordings": 13,  # 11 + 2
                **NO_TARGET,
            },
        ],
        "offices": [
            {
                "code": "P1",
                "name": "Office P1",
                "kind": "kecamatan",
                "daily_target": None,
                "day_recordings": 8,
                "window_recordings": 8,  # its 01-20 count is outside the window
                "reported": True,
            }
        ],
    }


async def test_figures_at_several_levels_regency_and_nation(client):
    await several_levels(client)

    makassar = await progress(client, "73.71", as_of="2019-02-10")
    parepare = await progress(client, "73.72", as_of="2019-02-10")
    nation = await progress(client, "ID", as_of="2019-02-10")

    assert (makassar["eligible"], makassar["recorded"]) == (1500, 645)
    assert makassar["children"] == [
        {
            **ref("73.71.01", "district"),
            "eligible": 1000,
            # D1's 10 (01-31) and 3 (02-01, the figure's own date) are replaced by 600
            "recorded": 625,  # 600 + 20 + 5
            "coverage": pytest.approx(0.625),  # 625 / 1000
            "day_recordings": 5,
            "window_recordings": 5,
            **NO_TARGET,
        },
        {
            **ref("73.71.02", "district"),
            "eligible": 500,
            "recorded": 10,  # no recorded figure: 7 + 3
            "coverage": pytest.approx(0.02),  # 10 / 500
            "day_recordings": 3,
            "window_recordings": 3,
            **NO_TARGET,
        },
    ]
    assert [
        (o["code"], o["day_recordings"], o["window_recordings"]) for o in makassar["offices"]
    ] == [("R1", 4, 10)]
    assert makassar["reporting"]["expected"] == 3  # D1, D2, R1

    assert (parepare["eligible"], parepare["recorded"]) == (2000, 1513)
    assert parepare["children"] == [
        {
            **ref("73.72.01", "district"),
            "eligible": 300,
            "recorded": 153,  # 100 + 40 + 11 + 2
            "coverage": pytest.approx(0.51),  # 153 / 300
            "day_recordings": 2,
            "window_recordings": 13,  # 11 + 2
            **NO_TARGET,
        }
    ]
    assert parepare["offices"] == []
    assert parepare["reporting"]["by_child"] == [
        {"code": "73.72.01", "name": "Region 73.72.01", "expected": 1, "reported": 1}
    ]

    name = nation["region"]["name"]
    assert nation["region"] == {"code": "ID", "name": name, "level": "nation", "display_name": name}
    assert (nation["eligible"], nation["recorded"]) == (3500, 2266)
    assert [(c["code"], c["eligible"], c["recorded"]) for c in nation["children"]] == [
        ("73", 3500, 2266)
    ]
    assert nation["offices"] == []


async def test_figures_apply_from_their_own_date(client):
    await several_levels(client)

    before_any = await progress(client, "73", as_of="2019-01-31")
    on_district_figures = await progress(client, "73", as_of="2019-02-01")
    before_regency_figure = await progress(client, "73", as_of="2019-02-04")

    # No figure yet: D1's 10 + P1's 100
    assert (before_any["eligible"], before_any["recorded"], before_any["coverage"]) == (
        None,
        110,
        None,
    )
    assert [(c["eligible"], c["recorded"], c["coverage"]) for c in before_any["children"]] == [
        (None, 10, None),
        (None, 0, None),
    ]
    # 02-01: 73.71.01 600 + 73.71.02 7 + 73.72.01 100 + P1 100; eligible 1000 + 500 + 300
    assert (on_district_figures["eligible"], on_district_figures["recorded"]) == (1800, 807)
    # 02-04, 73.72's figure not yet: 73.71 = 600 + 20 + 7 = 627; 73.72 = 100 + 40 = 140;
    # with P1's 100: 867. Eligible 1000 + 500 + 300 = 1800.
    assert (before_regency_figure["eligible"], before_regency_figure["recorded"]) == (1800, 867)
    assert [(c["eligible"], c["recorded"]) for c in before_regency_figure["children"]] == [
        (1500, 627),
        (300, 140),
    ]
    assert before_regency_figure["coverage"] == pytest.approx(0.4816667, abs=1e-7)  # 867 / 1800


async def test_province_figure_stands_in_for_its_children(client):
    await several_levels(client)
    await figure(client, "73", "2019-02-08", eligible=5000, recorded=3000)

    after = await progress(client, "73", as_of="2019-02-10")
    before = await progress(client, "73", as_of="2019-02-07")
    nation = await progress(client, "ID", as_of="2019-02-10")

    # 3000 + the subtree's counts dated 02-09..02-10: R1 6 + 4, D1 5, D2 3, E1 2, P1 8
    assert (after["eligible"], after["recorded"]) == (5000, 3028)
    assert after["coverage"] == pytest.approx(0.6056)  # 3028 / 5000
    # The children keep their own numbers
    assert [(c["eligible"], c["recorded"]) for c in after["children"]] == [
        (1500, 645),
        (2000, 1513),
    ]
    # 02-07: 73.71 = 600 + 20 + 7 = 627; 73.72 = 1500 + 11 = 1511; P1 100
    assert (before["eligible"], before["recorded"]) == (3500, 2238)
    assert (nation["eligible"], nation["recorded"]) == (5000, 3028)
    assert [(c["eligible"], c["recorded"]) for c in nation["children"]] == [(5000, 3028)]


async def test_revised_eligible_figures_pick_the_latest_on_or_before_as_of(client):
    await regions(client, "73", "73.71", "73.71.01")
    await office(client, "K", "73.71.01")
    await figure(client, "73.71", "2019-01-01", eligible=1000)
    await figure(client, "73.71", "2019-02-01", recorded=500)
    await figure(client, "73.71", "2019-03-01", eligible=1200, recorded=900)
    await counts(client, "K", {"2019-01-15": 50, "2019-02-10": 30, "2019-03-05": 20})

    async def at(day: str, code: str = "73.71") -> tuple:
        body = await progress(client, code, as_of=day)
        return body["eligible"], body["recorded"], body["coverage"]

    assert await at("2018-12-31") == (None, 0, None)
    assert await at("2019-01-20") == (1000, 50, pytest.approx(0.05))  # 50 / 1000
    assert await at("2019-02-01") == (1000, 500, pytest.approx(0.5))  # 50 replaced by 500
    # Between the two eligible figures: the older one; recorded 500 + 30
    assert await at("2019-02-15") == (1000, 530, pytest.approx(0.53))
    assert await at("2019-02-28") == (1000, 530, pytest.approx(0.53))
    assert await at("2019-03-01") == (1200, 900, pytest.approx(0.75))  # 900 / 1200
    assert await at("2019-03-10") == (1200, 920, pytest.approx(0.7666667, abs=1e-7))  # 920 / 1200
    # The province and the nation have no figure: the sums over their children
    assert await at("2019-02-15", "73") == (1000, 530, pytest.approx(0.53))
    assert await at("2019-03-10", "ID") == (1200, 920, pytest.approx(0.7666667, abs=1e-7))


async def test_figure_with_only_one_value_leaves_the_other_to_the_children(client):
    await regions(client, "73", "73.71", "73.71.01", "73.71.02", "73.71.03")
    await regions(client, "73.72", "73.72.01")
    for code, region in [("K1", "73.71.01"), ("K2", "73.71.02"), ("K3", "73.71.03")]:
        await office(client, code, region)
    await office(client, "K4", "73.72.01")
    await figure(client, "73.71", "2019-02-01", recorded=500)  # recorded only
    await figure(client, "73.71.01", "2019-01-10", eligible=800, recorded=300)
    await figure(client, "73.71.02", "2019-01-10", eligible=200)  # eligible only
    await figure(client, "73.72", "2019-01-01", eligible=400)  # eligible only
    await figure(client, "73.72.01", "2019-01-15", recorded=70)  # recorded only
    await counts(client, "K1", {"2019-01-05": 5, "2019-01-20": 10, "2019-02-05": 1})
    await counts(client, "K2", {"2019-01-20": 20, "2019-02-05": 2})
    await counts(client, "K3", {"2019-01-20": 30, "2019-02-05": 3})
    await counts(client, "K4", {"2019-01-10": 9, "2019-02-05": 4})

    makassar = await progress(client, "73.71", as_of="2019-02-10")
    january = await progress(client, "73.71", as_of="2019-01-31")
    parepare = await progress(client, "73.72", as_of="2019-02-10")
    province = await progress(client, "73", as_of="2019-02-10")

    # eligible from the children (800 + 200), recorded from 73.71's own figure: 500 + 1 + 2 + 3
    assert (makassar["eligible"], makassar["recorded"]) == (1000, 506)
    assert makassar["coverage"] == pytest.approx(0.506)
    assert [(c["eligible"], c["recorded"], c["coverage"]) for c in makassar["children"]] == [
        (800, 311, pytest.approx(0.38875)),  # 300 + 10 + 1 (the 01-05 count replaced); 311 / 800
        (200, 22, pytest.approx(0.11)),  # 20 + 2; 22 / 200
        (None, 33, None),  # 30 + 3, no eligible anywhere
    ]
    # Before 73.71's recorded figure: the children's 310 + 20 + 30
    assert (january["eligible"], january["recorded"]) == (1000, 360)
    assert january["coverage"] == pytest.approx(0.36)
    # eligible from 73.72's own figure, recorded from its child: 70 + 4 (the 9 replaced)
    assert (parepare["eligible"], parepare["recorded"]) == (400, 74)
    assert parepare["coverage"] == pytest.approx(0.185)  # 74 / 400
    assert [(c["eligible"], c["recorded"], c["coverage"]) for c in parepare["children"]] == [
        (None, 74, None)
    ]
    # 1000 + 400 eligible; 506 + 74 recorded
    assert (province["eligible"], province["recorded"]) == (1400, 580)
    assert province["coverage"] == pytest.approx(0.4142857, abs=1e-7)  # 580 / 1400


async def test_coverage_is_null_when_eligible_is_zero(client):
    await regions(client, "74")
    await office(client, "Z", "74")
    await figure(client, "74", "2019-02-01", eligible=0, recorded=0)
    await counts(client, "Z", {"2019-02-05": 5})

    body = await progress(client, "74", as_of="2019-02-10")

    assert (body["eligible"], body["recorded"], body["coverage"]) == (0, 5, None)


async def reporting_case(client):
    await regions(client, "73", "73.71", "73.71.01", "73.71.02", "73.72")
    await office(client, "P-PROV", "73")  # attached to the province
    await office(client, "B-REG", "73.71")  # attached to a regency
    await office(client, "C-DIST", "73.71.01")
    await office(client, "D-OLD", "73.71.01")
    await office(client, "a-late", "73.71.01")
    await office(client, "E-NEW", "73.71.02", opened_on="2019-02-11")  # opens after as_of
    await office(client, "G-ZERO", "73.71.02")
    await office(client, "Z9", "73.72", opened_on=None)
    await office(client, "H-TODAY", "73.72", opened_on="2019-02-10")  # opens on as_of
    await counts(client, "P-PROV", {"2019-02-10": 5})
    await counts(client, "B-REG", {"2019-02-08": 7})
    await counts(client, "C-DIST", {"2019-02-10": 9})
    await counts(client, "D-OLD", {"2019-02-01": 13, "2019-02-10": 11})
    await counts(client, "a-late", {"2019-02-09": 2})
    await counts(client, "E-NEW", {"2019-02-11": 50})
    await counts(client, "G-ZERO", {"2019-02-10": 0})  # a count of zero is a report
    await counts(client, "H-TODAY", {"2019-02-10": 1})
    # D-OLD closes: its counts stay in the totals, it is no longer expected to report.
    await put_office(client, "D-OLD", "73.71.01", opened_on="2019-01-01", active=False)


async def test_reporting_expects_active_opened_offices_only(client):
    await reporting_case(client)

    body = await progress(client, "73", as_of="2019-02-10")
    nation = await progress(client, "ID", as_of="2019-02-10")

    # P-PROV, B-REG, C-DIST, a-late, G-ZERO, Z9, H-TODAY; not D-OLD (inactive) nor
    # E-NEW (opens 02-11). Reported: P-PROV, C-DIST, G-ZERO, H-TODAY.
    assert totals(body["reporting"]) == {
        "date": "2019-02-10",
        "expected": 7,
        "reported": 4,
        "missing": ["B-REG", "Z9", "a-late"],
        "missing_total": 3,
    }
    # The nation answers with a statement of its own; every office is in province 73.
    assert totals(nation["reporting"]) == totals(body["reporting"])
    # D-OLD's counts still count: 5 + 7 + 9 + (13 + 11) + 2 + 0 + 1
    assert body["recorded"] == 48
    assert body["day"]["recordings"] == 26  # 5 + 9 + 11 + 0 + 1
    assert body["window"]["recordings"] == 35  # 5 + 7 + 9 + 11 + 2 + 0 + 1
    assert body["children"] == [
        {
            **ref("73.71", "regency"),
            "eligible": None,
            "recorded": 42,  # 7 + 9 + 13 + 11 + 2 + 0
            "coverage": None,
            "day_recordings": 20,  # 9 + 11 + 0
            "window_recordings": 29,  # 7 + 9 + 11 + 2 + 0
            **NO_TARGET,
        },
        {
            **ref("73.72", "regency"),
            "eligible": None,
            "recorded": 1,
            "coverage": None,
            "day_recordings": 1,
            "window_recordings": 1,
            **NO_TARGET,
        },
    ]
    assert body["offices"] == [
        {
            "code": "P-PROV",
            "name": "Office P-PROV",
            "kind": "kecamatan",
            "daily_target": None,
            "day_recordings": 5,
            "window_recordings": 5,
            "reported": True,
        }
    ]


async def test_reporting_the_next_day_and_below_the_province(client):
    await reporting_case(client)

    next_day = await progress(client, "73", as_of="2019-02-11")
    regency = await progress(client, "73.71", as_of="2019-02-10")
    district = await progress(client, "73.71.01", as_of="2019-02-10")
    opening = await progress(client, "73.71.02", as_of="2019-02-10")

    # E-NEW opens and reports; the seven others have no count dated 02-11
    assert totals(next_day["reporting"]) == {
        "date": "2019-02-11",
        "expected": 8,
        "reported": 1,
        "missing": ["B-REG", "C-DIST", "G-ZERO", "H-TODAY", "P-PROV", "Z9", "a-late"],
        "missing_total": 7,
    }
    assert next_day["recorded"] == 98  # 48 + 50
    # B-REG, C-DIST, a-late, G-ZERO expected; C-DIST and G-ZERO reported
    assert regency["reporting"]["missing"] == ["B-REG", "a-late"]
    assert (regency["reporting"]["expected"], regency["reporting"]["reported"]) == (4, 2)
    assert regency["offices"] == [
        {
            "code": "B-REG",
            "name": "Office B-REG",
            "kind": "kecamatan",
            "daily_target": None,
            "day_recordings": 0,
            "window_recordings": 7,
            "reported": False,
        }
    ]
    # Offices attached to the district itself, the inactive one included
    assert [
        (o["code"], o["day_recordings"], o["window_recordings"]) for o in district["offices"]
    ] == [
        ("C-DIST", 9, 9),
        ("D-OLD", 11, 11),  # 02-01 is outside the window 02-04..02-10
        ("a-late", 0, 2),
    ]
    assert [o["reported"] for o in district["offices"] if o["code"] != "D-OLD"] == [True, False]
    assert totals(district["reporting"]) == {
        "date": "2019-02-10",
        "expected": 2,
        "reported": 1,
        "missing": ["a-late"],
        "missing_total": 1,
    }
    assert totals(opening["reporting"]) == {
        "date": "2019-02-10",
        "expected": 1,  # G-ZERO; E-NEW is not open yet
        "reported": 1,
        "missing": [],
        "missing_total": 0,
    }
    assert [(o["code"], o["reported"]) for o in opening["offices"]] == [
        ("E-NEW", False),
        ("G-ZERO", True),
    ]


async def test_nation_reporting_follows_deletes_moves_and_reopenings(client, db):
    await reporting_case(client)
    await delete_count(client, "C-DIST", "2019-02-10")
    await counts(client, "C-DIST", {"2019-02-09": 4})  # another day: not a report on 02-10
    await put_office(client, "P-PROV", "73.72")  # moves, its count with it
    # H-TODAY's opening moves after its count: no longer expected on 02-10, and not reported.
    await put_office(client, "H-TODAY", "73.72", opened_on="2019-02-11")

    province = await progress(client, "73", as_of="2019-02-10")
    nation = await progress(client, "ID", as_of="2019-02-10")

    # Expected: P-PROV, B-REG, C-DIST, a-late, G-ZERO, Z9; reported: P-PROV, G-ZERO.
    assert totals(province["reporting"]) == {
        "date": "2019-02-10",
        "expected": 6,
        "reported": 2,
        "missing": ["B-REG", "C-DIST", "Z9", "a-late"],
        "missing_total": 4,
    }
    assert totals(nation["reporting"]) == totals(province["reporting"])
    await assert_tallies_exact(db)


@pytest.mark.parametrize("region", ["73", "ID"])
async def test_missing_lists_at_most_500_offices(client, db, region):
    await regions(client, "73")
    # 502 offices straight in SQL (no counts, so no summaries to keep), in reverse order
    await db.execute(
        text(
            """
            INSERT INTO offices (code, name, region, kind, timezone, active)
            SELECT 'M-' || lpad(n::text, 3, '0'), 'Office', '73', 'kecamatan',
                   'Asia/Makassar', true
            FROM generate_series(501, 0, -1) AS n
            """
        )
    )

    body = await progress(client, region, as_of="2019-02-10")

    assert body["reporting"]["expected"] == 502
    assert body["reporting"]["reported"] == 0
    assert body["reporting"]["missing_total"] == 502
    # The first 500 in code order: M-000 .. M-499
    assert body["reporting"]["missing"] == [f"M-{n:03d}" for n in range(500)]


async def test_day_and_window_against_the_daily_target(client):
    await regions(client, "73")
    await regions(client, "73.71", daily_target=10)
    await regions(client, "73.71.01")
    await office(client, "K", "73.71.01")
    await counts(
        client,
        "K",
        {"2019-02-05": 100, "2019-02-06": 10, "2019-02-07": 9, "2019-02-09": 15, "2019-02-10": 4},
    )

    body = await progress(client, "73.71", as_of="2019-02-10", days=5)
    one_day = await progress(client, "73.71", as_of="2019-02-09", days=1)

    assert body["day"] == {
        "recordings": 4,
        "target": 10,
        "achievement": pytest.approx(0.4),
    }  # 4 / 10
    assert body["window"] == {
        "from": "2019-02-06",  # 02-10 - (5 - 1)
        "to": "2019-02-10",
        "days": 5,
        "recordings": 38,  # 10 + 9 + 0 + 15 + 4; 02-05 is outside
        "average_per_day": pytest.approx(7.6),  # 38 / 5
        "days_target_met": 2,  # 02-06 (10 >= 10) and 02-09 (15 >= 10)
    }
    assert one_day["day"] == {"recordings": 15, "target": 10, "achievement": pytest.approx(1.5)}
    assert one_day["window"] == {
        "from": "2019-02-09",
        "to": "2019-02-09",
        "days": 1,
        "recordings": 15,
        "average_per_day": pytest.approx(15.0),
        "days_target_met": 1,
    }
    # The default window is 7 days
    default = await progress(client, "73.71", as_of="2019-02-10")
    assert (default["window"]["from"], default["window"]["days"]) == ("2019-02-04", 7)
    assert default["window"]["recordings"] == 138  # 100 + 38
    assert default["window"]["days_target_met"] == 3  # 02-05, 02-06, 02-09


async def test_province_target_counts_all_its_offices_together(client):
    await regions(client, "73", daily_target=10)
    await regions(client, "73.71", "73.72")
    await office(client, "K1", "73.71")
    await office(client, "K2", "73.72")
    await office(client, "K3", "73")
    await counts(client, "K1", {"2019-02-09": 6, "2019-02-10": 4})
    await counts(client, "K2", {"2019-02-09": 6, "2019-02-10": 3})
    await counts(client, "K3", {"2019-02-10": 2})

    body = await progress(client, "73", as_of="2019-02-10", days=2)

    assert body["day"] == {
        "recordings": 9,
        "target": 10,
        "achievement": pytest.approx(0.9),
    }  # 4+3+2
    # 02-09: 6 + 6 = 12 >= 10; 02-10: 9 < 10
    assert body["window"]["recordings"] == 21
    assert body["window"]["days_target_met"] == 1
    assert [(c["day_recordings"], c["window_recordings"]) for c in body["children"]] == [
        (4, 10),
        (3, 9),
    ]


async def test_empty_window_is_all_zero(client):
    await regions(client, "74", daily_target=0)
    await regions(client, "75", daily_target=5)
    await regions(client, "76")

    zero_target = await progress(client, "74", as_of="2019-02-10", days=3)
    some_target = await progress(client, "75", as_of="2019-02-10", days=3)
    no_target = await progress(client, "76", as_of="2019-02-10", days=3)

    window = {
        "from": "2019-02-08",
        "to": "2019-02-10",
        "days": 3,
        "recordings": 0,
        "average_per_day": 0.0,
    }
    # 0 >= 0 on each of the 3 days; achievement is null when the target is 0
    assert zero_target["window"] == {**window, "days_target_met": 3}
    assert zero_target["day"] == {"recordings": 0, "target": 0, "achievement": None}
    assert some_target["window"] == {**window, "days_target_met": 0}
    assert some_target["day"] == {"recordings": 0, "target": 5, "achievement": 0.0}
    assert no_target == {
        "region": ref("76", "province"),
        "as_of": "2019-02-10",
        "eligible": None,
        "recorded": 0,
        "coverage": None,
        "day": {"recordings": 0, "target": None, "achievement": None},
        "window": {**window, "days_target_met": None},
        "target": None,
        "reporting": no_reports("2019-02-10"),
        "children": [],
        "offices": [],
    }


async def target_region(client, coverage, eligible, recorded, **region):
    """73.71 with a coverage target due 2019-03-01 and a figure dated 2019-02-01."""
    await regions(client, "73")
    await regions(
        client, "73.71", coverage_target=coverage, coverage_deadline="2019-03-01", **region
    )
    await regions(client, "73.71.01")
    await office(client, "K", "73.71.01")
    if eligible is not None or recorded is not None:
        values = {"eligible": eligible, "recorded": recorded}
        await figure(
            client, "73.71", "2019-02-01", **{k: v for k, v in values.items() if v is not None}
        )


async def test_target_needed_is_exact_decimal_and_off_track(client):
    await target_region(client, 0.07, eligible=100, recorded=3)
    await counts(client, "K", {"2019-02-09": 1})

    body = await progress(client, "73.71", as_of="2019-02-10")

    assert body["target"] == {
        "coverage": 0.07,
        "deadline": "2019-03-01",
        "source": "73.71",
        "needed": 7,  # ceil(0.07 * 100) = 7 exactly, not 8
        "remaining": 3,  # 7 - (3 + 1)
        "days_left": 19,  # 2019-02-10 to 2019-03-01
        "required_per_day": 1,  # ceil(3 / 19)
        # average 1 / 7 per day: 02-10 + ceil(3 / (1/7)) = + 21 days
        "projected_date": "2019-03-03",
        "on_track": False,
    }


async def test_target_on_track_and_the_window_length(client):
    await target_region(client, 0.85, eligible=1000, recorded=800)
    await counts(client, "K", {"2019-02-05": 14, "2019-02-10": 14})

    week = await progress(client, "73.71", as_of="2019-02-10")
    fortnight = await progress(client, "73.71", as_of="2019-02-10", days=14)

    assert week["target"] == {
        "coverage": 0.85,
        "deadline": "2019-03-01",
        "source": "73.71",
        "needed": 850,  # ceil(0.85 * 1000)
        "remaining": 22,  # 850 - (800 + 14 + 14)
        "days_left": 19,
        "required_per_day": 2,  # ceil(22 / 19)
        "projected_date": "2019-02-16",  # 28 / 7 = 4 a day: 02-10 + ceil(22 / 4) = + 6
        "on_track": True,
    }
    # 28 / 14 = 2 a day: 02-10 + ceil(22 / 2) = + 11
    assert fortnight["target"]["projected_date"] == "2019-02-21"
    assert fortnight["target"]["on_track"] is True


async def test_target_reached(client):
    await target_region(client, 0.5, eligible=100, recorded=60)

    before = await progress(client, "73.71", as_of="2019-02-10")
    on_deadline = await progress(client, "73.71", as_of="2019-03-01")
    after = await progress(client, "73.71", as_of="2019-03-05")

    # needed ceil(0.5 * 100) = 50 <= 60 recorded: nothing remains, projected is as_of
    assert before["target"] == {
        "coverage": 0.5,
        "deadline": "2019-03-01",
        "source": "73.71",
        "needed": 50,
        "remaining": 0,
        "days_left": 19,
        "required_per_day": 0,  # ceil(0 / 19)
        "projected_date": "2019-02-10",
        "on_track": True,
    }
    assert on_deadline["target"] == {
        **before["target"],
        "days_left": 0,
        "required_per_day": None,
        "projected_date": "2019-03-01",
        "on_track": True,
    }
    assert after["target"] == {
        **before["target"],
        "days_left": -4,  # 2019-03-05 to 2019-03-01
        "required_per_day": None,
        "projected_date": "2019-03-05",
        "on_track": False,
    }


async def test_target_without_progress_or_without_eligible(client):
    await target_region(client, 0.5, eligible=100, recorded=10)
    await regions(client, "74", coverage_target=0.5, coverage_deadline="2019-03-01")
    await office(client, "Q", "74")
    await counts(client, "Q", {"2019-02-10": 3})
    await regions(client, "75")

    stalled = await progress(client, "73.71", as_of="2019-02-10")
    unknown = await progress(client, "74", as_of="2019-02-10")
    untargeted = await progress(client, "75", as_of="2019-02-10")

    assert stalled["target"] == {
        "coverage": 0.5,
        "deadline": "2019-03-01",
        "source": "73.71",
        "needed": 50,  # ceil(0.5 * 100)
        "remaining": 40,  # 50 - 10
        "days_left": 19,
        "required_per_day": 3,  # ceil(40 / 19)
        "projected_date": None,  # nothing recorded in the window
        "on_track": False,
    }
    assert unknown["eligible"] is None
    assert unknown["target"] == {
        "coverage": 0.5,
        "deadline": "2019-03-01",
        "source": "74",
        "needed": None,
        "remaining": None,
        "days_left": 19,
        "required_per_day": None,
        "projected_date": None,
        "on_track": False,
    }
    assert untargeted["target"] is None


async def test_target_projected_past_the_last_date_is_null(client):
    await target_region(client, 1, eligible=10**15, recorded=0)
    await counts(client, "K", {"2019-02-10": 1})

    body = await progress(client, "73.71", as_of="2019-02-10", days=366)

    # remaining 10**15 - 1 at 1/366 a day: about 3.7 * 10**17 days, far past 9999-12-31
    assert body["target"] == {
        "coverage": 1.0,
        "deadline": "2019-03-01",
        "source": "73.71",
        "needed": 1_000_000_000_000_000,
        "remaining": 999_999_999_999_999,
        "days_left": 19,
        "required_per_day": 52_631_578_947_369,  # ceil(999,999,999,999,999 / 19)
        "projected_date": None,
        "on_track": False,
    }


async def test_target_with_eligible_zero(client):
    await target_region(client, 0.9, eligible=0, recorded=0)

    body = await progress(client, "73.71", as_of="2019-02-10")

    assert body["coverage"] is None
    # ceil(0.9 * 0) = 0: nothing remains
    assert body["target"]["needed"] == 0
    assert body["target"]["remaining"] == 0
    assert body["target"]["projected_date"] == "2019-02-10"
    assert body["target"]["on_track"] is True


async def test_as_of_defaults_to_today_in_makassar(client):
    body = await progress(client, "ID")

    assert body["as_of"] == today().isoformat()
    assert body["window"]["to"] == today().isoformat()


async def test_unknown_region_is_404(client):
    assert await status_of(client, "/api/v1/progress/99", as_of="2019-02-10") == 404
    assert await status_of(client, "/api/v1/progress/73.71.01", as_of="2019-02-10") == 404


async def test_bad_parameters_are_422(client):
    await regions(client, "73")
    url = "/api/v1/progress/73"

    assert await status_of(client, url, as_of="2019-2-1") == 422
    assert await status_of(client, url, as_of="2019-02-30") == 422
    assert await status_of(client, url, as_of="2019-02-10T00:00:00") == 422
    assert await status_of(client, url, as_of="2019-02-10", days=0) == 422
    assert await status_of(client, url, as_of="2019-02-10", days=367) == 422
    assert await status_of(client, url, as_of="2019-02-10", days="seven") == 422
    assert await status_of(client, url, as_of="2019-02-10", days=366) == 200
    assert await status_of(client, url, as_of="2019-02-10", days=1) == 200
    assert await status_of(client, "/api/v1/progress/7.3", as_of="2019-02-10") == 422


@pytest.mark.parametrize("region", ["73", "ID"])
async def test_missing_lists_the_first_500_codes_byte_ordered_and_counts_them_all(client, region):
    await regions(client, "73", "73.71", "73.71.01")
    codes = [f"K-{i:03}" for i in range(502)] + ["a-low", "Z-UP"]
    for code in codes:
        await office(client, code, "73.71.01")
    await counts(client, "K-001", {"2019-02-10": 4})

    body = await progress(client, region, as_of="2019-02-10")

    unreported = sorted(code for code in codes if code != "K-001")  # Python sorts by code point
    assert body["reporting"]["missing"] == unreported[:500]
    assert body["reporting"]["missing"][-1] == "K-500"  # "Z-UP" and "a-low" sort after "K-"
    assert (body["reporting"]["expected"], body["reporting"]["reported"]) == (504, 1)
    assert body["reporting"]["missing_total"] == 503


async def test_nation_with_every_office_reported_lists_none_missing(client):
    await reporting_case(client)
    # The three offices expected on 02-10 without a count report it.
    await counts(client, "B-REG", {"2019-02-10": 3})
    await counts(client, "a-late", {"2019-02-10": 0})
    await counts(client, "Z9", {"2019-02-10": 1})

    nation = await progress(client, "ID", as_of="2019-02-10")

    assert totals(nation["reporting"]) == {
        "date": "2019-02-10",
        "expected": 7,
        "reported": 7,
        "missing": [],
        "missing_total": 0,
    }
