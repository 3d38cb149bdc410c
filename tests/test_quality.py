"""Data-quality flags on hand-made cases at the boundary of each definition (docs/api.md)."""

from datetime import date, timedelta
from typing import Any

from tests.conftest import ADMIN
from tests.progress_helpers import batch, figure, office, regions

QUALITY = "/api/v1/quality"
D = date(2024, 6, 1)  # the flagged count's date, as_of unless told otherwise


async def flags(client: Any, code: str = "ID", **params: Any) -> list[dict[str, Any]]:
    params.setdefault("as_of", str(D))
    response = await client.get(f"{QUALITY}/{code}", params=params, headers=ADMIN)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] >= len(body["flags"])
    return list(body["flags"])


def brief(found: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (f["kind"], f["office"] or f["region"], f["date"], f["value"], f["expected"]) for f in found
    ]


async def window(client: Any, office_code: str, values: list[int], last: date = D) -> None:
    """Counts of one office on the days just before `last`, the last value nearest it."""
    first = last - timedelta(days=len(values))
    await batch(
        client,
        [
            {"office": office_code, "date": str(first + timedelta(days=i)), "recordings": v}
            for i, v in enumerate(values)
        ],
    )


async def one_office(client: Any, code: str = "OF-1", region: str = "73.71.01") -> None:
    await regions(client, "73", "73.71", region)
    await office(client, code, region)


async def count(client: Any, office_code: str, day: date, recordings: int) -> None:
    await batch(client, [{"office": office_code, "date": str(day), "recordings": recordings}])


# outlier: with 7 counts at 8651 and 7 at 11349 the median is 10000 and the MAD 1349, so
# z = 0.6745 * (x - 10000) / 1349 is exactly 3.5 at x = 17000 and -3.5 at x = 3000.
SPLIT = [8651, 11349] * 7


async def test_z_of_exactly_3_5_is_not_an_outlier(client):
    await one_office(client)
    await window(client, "OF-1", SPLIT)
    await count(client, "OF-1", D, 17000)
    assert await flags(client, kinds="outlier") == []
    await count(client, "OF-1", D, 3000)
    assert await flags(client, kinds="outlier") == []
    await count(client, "OF-1", D, 17001)
    [flag] = await flags(client, kinds="outlier")
    assert flag == {
        "kind": "outlier",
        "region": "73.71.01",
        "office": "OF-1",
        "date": str(D),
        "value": 17001,
        "expected": 10000,
        "message": flag["message"],
        "checked": None,
    }
    assert "10000" in flag["message"]
    assert "1349" in flag["message"]
    await count(client, "OF-1", D, 2999)
    assert brief(await flags(client, kinds="outlier")) == [("outlier", "OF-1", str(D), 2999, 10000)]


async def test_an_outlier_needs_14_counts_in_the_90_days_before(client):
    await one_office(client)
    values = [10, 12] * 6 + [11]  # 13 counts: median 11, MAD 1
    await window(client, "OF-1", values)
    await count(client, "OF-1", D, 1000)
    assert await flags(client, kinds="outlier") == []
    # A 14th count 90 days before is inside the window; 91 days before it would not be.
    await count(client, "OF-1", D - timedelta(days=91), 11)
    assert await flags(client, kinds="outlier") == []
    await count(client, "OF-1", D - timedelta(days=90), 11)
    assert brief(await flags(client, kinds="outlier")) == [("outlier", "OF-1", str(D), 1000, 11)]


async def test_zeros_count_toward_the_14_and_a_half_median_is_exact(client):
    await one_office(client)
    await window(client, "OF-1", [0] * 7 + [3] * 7)  # median 1.5, MAD 1.5
    # z = 0.6745 * (x - 1.5) / 1.5 > 3.5 from x - 1.5 > 7.78, so 10 is and 9 is not.
    await count(client, "OF-1", D, 9)
    assert await flags(client, kinds="outlier") == []
    await count(client, "OF-1", D, 10)
    assert brief(await flags(client, kinds="outlier")) == [("outlier", "OF-1", str(D), 10, 1.5)]


async def test_no_outlier_when_the_mad_is_0(client):
    await one_office(client)
    await window(client, "OF-1", [10] * 20)
    await count(client, "OF-1", D, 10_000)
    assert await flags(client, kinds="outlier") == []


async def test_outliers_are_those_of_the_7_days_ending_as_of(client):
    await one_office(client)
    await window(client, "OF-1", SPLIT, last=D - timedelta(days=7))
    await count(client, "OF-1", D - timedelta(days=7), 99_999)
    assert brief(await flags(client, kinds="outlier", as_of=str(D - timedelta(days=1)))) == [
        ("outlier", "OF-1", str(D - timedelta(days=7)), 99_999, 10000)
    ]
    assert await flags(client, kinds="outlier") == []


async def test_makassar_eligible_reset_is_one_eligible_jump(client):
    await regions(client, "73", "73.71")
    await figure(client, "73.71", "2018-09-30", eligible=1_216_381)
    await figure(client, "73.71", "2019-02-14", eligible=981_654)
    found = await flags(client, as_of="2019-03-01")
    assert brief(found) == [("eligible_jump", "73.71", "2019-02-14", 981_654, 1_216_381)]


async def test_an_eligible_jump_is_more_than_10_percent_of_the_previous(client):
    await regions(client, "73", "73.71", "73.72", "73.73", "73.74")
    for code, new in (("73.71", 1100), ("73.72", 1101), ("73.73", 900), ("73.74", 899)):
        await figure(client, code, "2024-01-01", eligible=1000)
        # A figure without eligible between is not the previous one.
        await figure(client, code, "2024-02-01", recorded=5)
        await figure(client, code, "2024-03-01", eligible=new)
    assert brief(await flags(client, kinds="eligible_jump")) == [
        ("eligible_jump", "73.72", "2024-03-01", 1101, 1000),
        ("eligible_jump", "73.74", "2024-03-01", 899, 1000),
    ]
    # Figures dated after as_of are not flagged.
    assert await flags(client, kinds="eligible_jump", as_of="2024-02-29") == []


async def test_a_recorded_decrease_is_against_the_previous_recorded(client):
    await regions(client, "73", "73.71", "73.72")
    await figure(client, "73.71", "2024-01-01", recorded=100)
    await figure(client, "73.71", "2024-02-01", eligible=500)
    await figure(client, "73.71", "2024-03-01", recorded=99)
    await figure(client, "73.72", "2024-01-01", recorded=100)
    await figure(client, "73.72", "2024-03-01", recorded=100)
    assert brief(await flags(client, kinds="recorded_decrease")) == [
        ("recorded_decrease", "73.71", "2024-03-01", 99, 100)
    ]


async def test_over_coverage_is_recorded_above_eligible_not_at_it(client):
    await regions(client, "73", "73.71", "73.71.01", "74")
    await office(client, "OF-1", "73.71.01")
    await figure(client, "73.71", "2024-05-01", eligible=100, recorded=100)
    assert await flags(client, kinds="over_coverage") == []
    # Never when eligible is 0.
    await figure(client, "74", "2024-05-01", eligible=0, recorded=5)
    assert await flags(client, "74", kinds="over_coverage") == []
    await count(client, "OF-1", date(2024, 5, 2), 1)
    [flag] = await flags(client, "73.71", kinds="over_coverage")
    assert brief([flag]) == [("over_coverage", "73.71", str(D), 101, 100)]
    assert "where they are made" in flag["message"]
    # The province has eligible 100 too, from Makassar alone; the nation 105 of 100.
    assert [f["region"] for f in await flags(client, "ID", kinds="over_coverage")] == [
        "73",
        "73.71",
        "ID",
    ]
    assert await flags(client, "73", kinds="over_coverage", as_of="2024-05-01") == []


async def test_figure_mismatch_needs_every_child_on_the_date(client):
    await regions(client, "73", "73.71", "73.71.01", "73.71.02")
    await figure(client, "73.71", "2024-01-01", eligible=301, recorded=10)
    await figure(client, "73.71.01", "2024-01-01", eligible=100, recorded=5)
    assert await flags(client, kinds="figure_mismatch") == []
    await figure(client, "73.71.02", "2024-01-01", eligible=200, recorded=5)
    assert brief(await flags(client, kinds="figure_mismatch")) == [
        ("figure_mismatch", "73.71", "2024-01-01", 301, 300)
    ]
    await figure(client, "73.71", "2024-01-01", eligible=300, recorded=11)
    assert brief(await flags(client, kinds="figure_mismatch")) == [
        ("figure_mismatch", "73.71", "2024-01-01", 11, 10)
    ]
    # A member null on a child is not compared.
    await figure(client, "73.71.02", "2024-01-01", eligible=200)
    assert await flags(client, kinds="figure_mismatch") == []


async def test_silent_offices_have_no_recordings_in_the_3_days_ending_as_of(client):
    await regions(client, "73", "73.71", "73.71.01")
    opened = str(D - timedelta(days=3))
    for code in ("A-NONE", "B-ZEROS", "C-MIX", "D-ONE", "E-NEW"):
        await office(client, code, "73.71.01", opened_on=opened)
    await office(client, "E-NEW", "73.71.01", opened_on=str(D - timedelta(days=2)))
    await office(client, "F-OFF", "73.71.01", active=False)
    for back in range(3):
        await count(client, "B-ZEROS", D - timedelta(days=back), 0)
    await count(client, "C-MIX", D, 0)
    await count(client, "D-ONE", D - timedelta(days=2), 1)
    await count(client, "A-NONE", D - timedelta(days=3), 50)  # before the 3 days
    found = await flags(client, kinds="silent")
    assert brief(found) == [
        ("silent", "A-NONE", str(D), None, None),
        ("silent", "B-ZEROS", str(D), None, None),
        ("silent", "C-MIX", str(D), None, None),
    ]
    assert {f["region"] for f in found} == {"73.71.01"}


async def test_flags_are_ordered_by_kind_then_code_then_date_and_limited(client):
    await regions(client, "73", "73.71", "73.71.01", "73.72")
    await office(client, "ZZ", "73.71.01")
    await office(client, "AA", "73.71.01")
    await figure(client, "73.72", "2024-01-01", eligible=1000, recorded=50)
    await figure(client, "73.72", "2024-02-01", eligible=2000, recorded=40)
    await figure(client, "73.72", "2024-03-01", eligible=4000, recorded=30)
    await figure(client, "73.71", "2024-01-01", eligible=10, recorded=5)
    await figure(client, "73.71", "2024-02-01", eligible=20)
    expected = [
        ("recorded_decrease", "73.72", "2024-02-01", 40, 50),
        ("recorded_decrease", "73.72", "2024-03-01", 30, 40),
        ("eligible_jump", "73.71", "2024-02-01", 20, 10),
        ("eligible_jump", "73.72", "2024-02-01", 2000, 1000),
        ("eligible_jump", "73.72", "2024-03-01", 4000, 2000),
        ("silent", "AA", str(D), None, None),
        ("silent", "ZZ", str(D), None, None),
    ]
    assert brief(await flags(client)) == expected
    response = await client.get(
        f"{QUALITY}/ID", params={"as_of": str(D), "limit": 2}, headers=ADMIN
    )
    assert response.json()["total"] == 7
    assert brief(response.json()["flags"]) == expected[:2]
    assert brief(await flags(client, kinds="silent,eligible_jump")) == expected[2:]
    assert brief(await flags(client, "73.71")) == [expected[2], *expected[5:]]


async def test_bad_quality_queries_are_422_and_unknown_regions_404(client):
    await regions(client, "73")
    for params in (
        {"kinds": "outlier,nope"},
        {"kinds": ""},
        {"limit": 0},
        {"limit": 5001},
        {"as_of": "2024-02-30"},
    ):
        response = await client.get(f"{QUALITY}/73", params=params, headers=ADMIN)
        assert response.status_code == 422, (params, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    assert (await client.get(f"{QUALITY}/74", headers=ADMIN)).status_code == 404
    assert (await client.get(f"{QUALITY}/7x", headers=ADMIN)).status_code == 422
    ok = await client.get(f"{QUALITY}/73", params={"limit": 5000}, headers=ADMIN)
    assert ok.status_code == 200
    assert ok.json()["region"]["code"] == "73"


async def test_flags_follow_the_very_next_write(client):
    await regions(client, "73", "73.71", "73.71.01")
    await office(client, "OF-1", "73.71.01")
    assert brief(await flags(client, kinds="silent")) == [("silent", "OF-1", str(D), None, None)]
    await count(client, "OF-1", D, 5)
    assert await flags(client, kinds="silent") == []
    await figure(client, "73.71", "2024-01-01", eligible=100)
    await figure(client, "73.71", "2024-02-01", eligible=200)
    assert len(await flags(client, kinds="eligible_jump")) == 1
    await figure(client, "73.71", "2024-02-01", eligible=105)
    assert await flags(client, kinds="eligible_jump") == []
    response = await client.delete(f"/api/v1/offices/OF-1/counts/{D}", headers=ADMIN)
    assert response.status_code == 204
    assert len(await flags(client, kinds="silent")) == 1
