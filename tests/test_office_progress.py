"""GET /api/v1/offices/{code}/progress: one office's day, window, total and last report."""

import pytest

from tests.helpers import put_office, today
from tests.progress_helpers import counts, office, office_progress, regions, status_of


async def office_case(client):
    await regions(client, "73", "73.71", "73.71.01")
    await office(client, "K1", "73.71.01", daily_target=10, kind="dukcapil")
    await counts(
        client,
        "K1",
        {"2019-01-05": 7, "2019-02-04": 10, "2019-02-06": 12, "2019-02-10": 3, "2019-02-11": 99},
    )


async def test_office_progress_by_hand(client):
    await office_case(client)

    body = await office_progress(client, "K1", as_of="2019-02-10")

    assert body == {
        "office": {
            "code": "K1",
            "name": "Office K1",
            "kind": "dukcapil",
            "region": "73.71.01",
            "timezone": "Asia/Makassar",
        },
        "as_of": "2019-02-10",
        "day": {"recordings": 3, "target": 10, "achievement": pytest.approx(0.3)},  # 3 / 10
        "window": {
            "from": "2019-02-04",  # 02-10 - 6
            "to": "2019-02-10",
            "days": 7,
            "recordings": 25,  # 10 + 12 + 3
            "average_per_day": pytest.approx(25 / 7),
            "days_target_met": 2,  # 02-04 (10 >= 10) and 02-06 (12 >= 10)
        },
        "total": 32,  # 7 + 10 + 12 + 3; the 99 of 02-11 is after as_of
        "last_reported": "2019-02-10",
    }


async def test_office_progress_on_a_day_without_a_count(client):
    await office_case(client)

    body = await office_progress(client, "K1", as_of="2019-02-09", days=3)

    assert body["day"] == {"recordings": 0, "target": 10, "achievement": 0.0}
    assert body["window"] == {
        "from": "2019-02-07",
        "to": "2019-02-09",
        "days": 3,
        "recordings": 0,  # 02-07..02-09: nothing
        "average_per_day": 0.0,
        "days_target_met": 0,
    }
    assert body["total"] == 29  # 7 + 10 + 12
    assert body["last_reported"] == "2019-02-06"


async def test_office_progress_before_any_count(client):
    await office_case(client)

    body = await office_progress(client, "K1", as_of="2018-12-31")

    assert body["total"] == 0
    assert body["last_reported"] is None
    assert body["window"]["recordings"] == 0
    assert body["window"]["days_target_met"] == 0


async def test_office_without_target_and_with_zero_target(client):
    await regions(client, "73")
    await office(client, "NT", "73")  # attached to a province
    await office(client, "ZT", "73", daily_target=0)
    await counts(client, "NT", {"2019-02-10": 4})
    await counts(client, "ZT", {"2019-02-10": 4})

    none = await office_progress(client, "NT", as_of="2019-02-10", days=2)
    zero = await office_progress(client, "ZT", as_of="2019-02-10", days=2)

    assert none["office"]["region"] == "73"
    assert none["day"] == {"recordings": 4, "target": None, "achievement": None}
    assert none["window"]["days_target_met"] is None
    # achievement is null when the target is 0; each of the 2 days reaches 0
    assert zero["day"] == {"recordings": 4, "target": 0, "achievement": None}
    assert zero["window"]["days_target_met"] == 2
    assert zero["window"]["average_per_day"] == pytest.approx(2.0)  # 4 / 2


async def test_inactive_office_keeps_its_progress(client):
    await office_case(client)
    await put_office(
        client, "K1", "73.71.01", opened_on="2019-01-01", daily_target=10, active=False
    )

    body = await office_progress(client, "K1", as_of="2019-02-10")

    assert (body["total"], body["last_reported"]) == (32, "2019-02-10")
    assert body["office"]["kind"] == "kecamatan"  # the PUT replaced it


async def test_as_of_defaults_to_today_in_the_office_timezone(client):
    await regions(client, "73")
    # Kiritimati (UTC+14) and Pago Pago (UTC-11) are always on different dates.
    await office(client, "EAST", "73", timezone="Pacific/Kiritimati")
    await office(client, "WEST", "73", timezone="Pacific/Pago_Pago")

    east = await office_progress(client, "EAST")
    west = await office_progress(client, "WEST")

    assert east["as_of"] == today("Pacific/Kiritimati").isoformat()
    assert west["as_of"] == today("Pacific/Pago_Pago").isoformat()
    assert east["window"]["to"] == east["as_of"]


async def test_unknown_office_is_404(client):
    assert await status_of(client, "/api/v1/offices/NOPE/progress", as_of="2019-02-10") == 404


async def test_bad_parameters_are_422(client):
    await office_case(client)
    url = "/api/v1/offices/K1/progress"

    assert await status_of(client, url, as_of="2019-2-1") == 422
    assert await status_of(client, url, as_of="2019-02-10", days=0) == 422
    assert await status_of(client, url, as_of="2019-02-10", days=367) == 422
    assert await status_of(client, url, as_of="2019-02-10", days=366) == 200
