"""Every write shows up in the very next progress read: region, office and series."""

from datetime import date

from tests.helpers import put_count
from tests.progress_helpers import (
    batch,
    delete_count,
    figure,
    office,
    office_progress,
    progress,
    regions,
    series,
)


async def snapshot(client):
    """The numbers a dashboard shows for 73 and office K on 2019-02-10."""
    region = await progress(client, "73", as_of="2019-02-10")
    own = await office_progress(client, "K", as_of="2019-02-10")
    points = await series(client, "73", from_="2019-02-08", to="2019-02-10")
    return {
        "recorded": region["recorded"],
        "child_recorded": region["children"][0]["recorded"],
        "day": region["day"]["recordings"],
        "window": region["window"]["recordings"],
        "missing": region["reporting"]["missing"],
        "office_day": own["day"]["recordings"],
        "office_total": own["total"],
        "series": [(p["recordings"], p["recorded"]) for p in points["points"]],
    }


async def test_put_batch_and_delete_show_in_the_next_read(client):
    await regions(client, "73", "73.71", "73.71.01")
    await office(client, "K", "73.71.01")
    await figure(client, "73.71", "2019-02-09", eligible=1000, recorded=100)

    assert await snapshot(client) == {
        "recorded": 100,  # the figure alone
        "child_recorded": 100,
        "day": 0,
        "window": 0,
        "missing": ["K"],
        "office_day": 0,
        "office_total": 0,
        "series": [(0, 0), (0, 100), (0, 100)],  # 02-08 is before the figure
    }

    # A PUT creates
    assert (await put_count(client, "K", date(2019, 2, 10), 5)).status_code == 201
    assert await snapshot(client) == {
        "recorded": 105,  # 100 + 5
        "child_recorded": 105,
        "day": 5,
        "window": 5,
        "missing": [],
        "office_day": 5,
        "office_total": 5,
        "series": [(0, 0), (0, 100), (5, 105)],
    }

    # A PUT replaces
    assert (await put_count(client, "K", date(2019, 2, 10), 8)).status_code == 200
    assert await snapshot(client) == {
        "recorded": 108,  # 100 + 8
        "child_recorded": 108,
        "day": 8,
        "window": 8,
        "missing": [],
        "office_day": 8,
        "office_total": 8,
        "series": [(0, 0), (0, 100), (8, 108)],
    }

    # A PUT dated before the figure: in the window and the total, not in recorded
    assert (await put_count(client, "K", date(2019, 2, 8), 4)).status_code == 201
    assert await snapshot(client) == {
        "recorded": 108,
        "child_recorded": 108,
        "day": 8,
        "window": 12,  # 4 + 8
        "missing": [],
        "office_day": 8,
        "office_total": 12,
        "series": [(4, 4), (0, 100), (8, 108)],
    }

    # A batch: one update, one new count on the figure's own date
    assert await batch(
        client,
        [
            {"office": "K", "date": "2019-02-10", "recordings": 6},
            {"office": "K", "date": "2019-02-09", "recordings": 3},
        ],
    ) == {"created": 1, "updated": 1, "unchanged": 0}
    assert await snapshot(client) == {
        "recorded": 106,  # 100 (02-08 and 02-09 replaced by the figure) + 6
        "child_recorded": 106,
        "day": 6,
        "window": 13,  # 4 + 3 + 6
        "missing": [],
        "office_day": 6,
        "office_total": 13,
        "series": [(4, 4), (3, 100), (6, 106)],
    }

    # A DELETE
    await delete_count(client, "K", "2019-02-10")
    assert await snapshot(client) == {
        "recorded": 100,
        "child_recorded": 100,
        "day": 0,
        "window": 7,  # 4 + 3
        "missing": ["K"],
        "office_day": 0,
        "office_total": 7,
        "series": [(4, 4), (3, 100), (0, 100)],
    }

    await delete_count(client, "K", "2019-02-08")
    assert await snapshot(client) == {
        "recorded": 100,
        "child_recorded": 100,
        "day": 0,
        "window": 3,
        "missing": ["K"],
        "office_day": 0,
        "office_total": 3,
        "series": [(0, 0), (3, 100), (0, 100)],
    }


async def test_writes_without_figures_change_every_level(client):
    await regions(client, "73", "73.71", "73.71.01")
    await office(client, "K", "73.71.01")
    await office(client, "R", "73.71")  # attached to the regency

    await batch(
        client,
        [
            {"office": "K", "date": "2019-02-10", "recordings": 2},
            {"office": "R", "date": "2019-02-10", "recordings": 3},
        ],
    )
    makassar = await progress(client, "73.71", as_of="2019-02-10")
    nation = await progress(client, "ID", as_of="2019-02-10")
    assert (makassar["recorded"], nation["recorded"]) == (5, 5)  # 2 + 3
    assert [(o["code"], o["day_recordings"]) for o in makassar["offices"]] == [("R", 3)]

    await delete_count(client, "R", "2019-02-10")
    makassar = await progress(client, "73.71", as_of="2019-02-10")
    nation = await progress(client, "ID", as_of="2019-02-10")
    assert (makassar["recorded"], nation["recorded"]) == (2, 2)
    assert makassar["reporting"]["missing"] == ["R"]
    assert [(o["code"], o["day_recordings"], o["reported"]) for o in makassar["offices"]] == [
        ("R", 0, False)
    ]
