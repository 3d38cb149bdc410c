"""The outlier verdict each count carries (app/services/outliers.py) equals a recomputation
from the definition after every kind of count write: PUT, DELETE, JSON and CSV batches, and
back-dated writes that change the verdicts of later counts; the flag follows at once."""

from datetime import date, timedelta
from fractions import Fraction
from statistics import median
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from app.main import create_app
from tests.conftest import ADMIN, make_client, settings_for
from tests.helpers import put_count
from tests.progress_helpers import batch, delete_count, office, regions
from tests.test_quality import SPLIT, brief, flags, one_office, window

D = date(2024, 6, 1)


def verdict(window_values: list[int], x: int) -> tuple[bool, Fraction | None, Fraction | None]:
    """(outlier, median, MAD) from docs/api.md, median and MAD only for an outlier."""
    if len(window_values) < 14:
        return (False, None, None)
    m = Fraction(median(window_values))
    mad = Fraction(median([abs(v - m) for v in window_values]))
    if mad > 0 and abs(Fraction(6745, 10000) * (x - m) / mad) > Fraction(7, 2):
        return (True, m, mad)
    return (False, None, None)


async def stored_and_recomputed(db: Any) -> tuple[dict[Any, Any], dict[Any, Any]]:
    rows = (
        await db.execute(
            text(
                "SELECT office_id, date, recordings, outlier, outlier_median, outlier_mad"
                " FROM counts"
            )
        )
    ).all()
    stored = {
        (r.office_id, r.date): (
            r.outlier,
            None if r.outlier_median is None else Fraction(r.outlier_median),
            None if r.outlier_mad is None else Fraction(r.outlier_mad),
        )
        for r in rows
    }
    values = {(r.office_id, r.date): r.recordings for r in rows}
    recomputed = {
        (office_id, day): verdict(
            [
                n
                for (o, e), n in values.items()
                if o == office_id and day - timedelta(days=90) <= e <= day - timedelta(days=1)
            ],
            x,
        )
        for (office_id, day), x in values.items()
    }
    return stored, recomputed


async def assert_verdicts_exact(db: Any) -> None:
    stored, recomputed = await stored_and_recomputed(db)
    assert stored == recomputed


async def test_a_put_judges_its_count_and_the_flag_follows(client, db):
    await one_office(client)
    await window(client, "OF-1", SPLIT)
    response = await put_count(client, "OF-1", D, 17001)
    assert response.status_code == 201, response.text
    await assert_verdicts_exact(db)
    assert brief(await flags(client, kinds="outlier")) == [
        ("outlier", "OF-1", str(D), 17001, 10000)
    ]
    response = await put_count(client, "OF-1", D, 17000)
    assert response.status_code == 200, response.text
    await assert_verdicts_exact(db)
    assert await flags(client, kinds="outlier") == []


async def test_a_delete_in_the_window_clears_a_later_outlier(client, db):
    await one_office(client)
    await window(client, "OF-1", SPLIT)
    await put_count(client, "OF-1", D, 50_000)
    assert len(await flags(client, kinds="outlier")) == 1
    # 13 counts are left in the window: no verdict any more.
    await delete_count(client, "OF-1", str(D - timedelta(days=3)))
    await assert_verdicts_exact(db)
    assert await flags(client, kinds="outlier") == []
    await put_count(client, "OF-1", D - timedelta(days=3), 11349)
    await assert_verdicts_exact(db)
    assert len(await flags(client, kinds="outlier")) == 1


async def test_a_batch_sees_its_own_earlier_items(client, db):
    await one_office(client)
    items = [
        {"office": "OF-1", "date": str(D - timedelta(days=14 - i)), "recordings": v}
        for i, v in enumerate(SPLIT)
    ] + [{"office": "OF-1", "date": str(D), "recordings": 2999}]
    await batch(client, items)
    await assert_verdicts_exact(db)
    assert brief(await flags(client, kinds="outlier")) == [("outlier", "OF-1", str(D), 2999, 10000)]


async def test_a_back_dated_write_rejudges_the_90_days_after_it(client, db):
    await one_office(client)
    await window(client, "OF-1", SPLIT)
    await put_count(client, "OF-1", D, 17001)
    assert len(await flags(client, kinds="outlier")) == 1
    # Two counts of 9000, 90 and 60 days before D, move the median to 9000 and the MAD to
    # 349: D is still an outlier, against the new median, and the count the day before it
    # (11349, now with 15 counts in its window: median 9000, MAD 349) becomes one.
    await batch(
        client,
        [
            {"office": "OF-1", "date": str(D - timedelta(days=90)), "recordings": 9000},
            {"office": "OF-1", "date": str(D - timedelta(days=60)), "recordings": 9000},
        ],
    )
    await assert_verdicts_exact(db)
    assert brief(await flags(client, kinds="outlier")) == [
        ("outlier", "OF-1", str(D - timedelta(days=1)), 11349, 9000),
        ("outlier", "OF-1", str(D), 17001, 9000),
    ]
    # A count 91 days before judges nothing that is still within reach of D.
    await put_count(client, "OF-1", D - timedelta(days=91), 1)
    await assert_verdicts_exact(db)
    # Raising the window's values back-dated makes D ordinary again.
    await batch(
        client,
        [
            {"office": "OF-1", "date": str(D - timedelta(days=i)), "recordings": 17001}
            for i in range(1, 15)
        ],
    )
    await assert_verdicts_exact(db)
    assert await flags(client, kinds="outlier") == []


async def test_a_csv_batch_keeps_the_verdicts(client, db):
    await one_office(client)
    await window(client, "OF-1", SPLIT)
    # The day before D becomes 10000: median (8651 + 10000) / 2, MAD 674.5.
    body = f"office,date,recordings\nOF-1,{D},99999\nOF-1,{D - timedelta(days=1)},10000\n"
    response = await client.post(
        "/api/v1/counts", content=body.encode(), headers={**ADMIN, "Content-Type": "text/csv"}
    )
    assert response.status_code == 200, response.text
    await assert_verdicts_exact(db)
    assert brief(await flags(client, kinds="outlier")) == [
        ("outlier", "OF-1", str(D), 99999, 9325.5)
    ]


async def test_an_office_moving_keeps_its_verdicts(client, db):
    await one_office(client)
    await regions(client, "73.71.02")
    await window(client, "OF-1", SPLIT)
    await put_count(client, "OF-1", D, 17001)
    await office(client, "OF-1", "73.71.02")
    await assert_verdicts_exact(db)
    assert brief(await flags(client, code="73.71.02", kinds="outlier")) == [
        ("outlier", "OF-1", str(D), 17001, 10000)
    ]


BASE = date(2024, 1, 1)
SPAN = 120

write = st.one_of(
    st.tuples(st.just("put"), st.integers(0, SPAN), st.sampled_from([0, 5, 10, 11, 40, 900])),
    st.tuples(st.just("delete"), st.integers(0, SPAN), st.just(0)),
    st.tuples(
        st.just("batch"),
        st.integers(0, SPAN - 20),
        st.lists(st.sampled_from([0, 9, 10, 11, 12, 500]), min_size=1, max_size=20),
    ),
)


@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    start=st.lists(st.sampled_from([9, 10, 10, 11, 0]), min_size=SPAN, max_size=SPAN),
    writes=st.lists(write, min_size=1, max_size=6),
)
async def test_stored_verdicts_equal_the_definition_after_any_writes(
    database_url, engine, connection, start, writes
):
    savepoint = await connection.begin_nested()
    try:
        app = create_app(settings_for(database_url), engine=engine)
        async with make_client(app, connection) as client:
            await regions(client, "73", "73.71", "73.71.01")
            await office(client, "OF-1", "73.71.01")
            await office(client, "OF-2", "73.71.01")
            days = [BASE + timedelta(days=i) for i in range(SPAN)]
            await batch(
                client,
                [
                    {"office": code, "date": str(day), "recordings": v}
                    for code in ("OF-1", "OF-2")
                    for day, v in zip(days, start, strict=True)
                ],
            )
            for kind, offset, value in writes:
                day = BASE + timedelta(days=offset)
                if kind == "put":
                    response = await put_count(client, "OF-1", day, value)
                    assert response.status_code in (200, 201), response.text
                elif kind == "delete":
                    response = await client.delete(
                        f"/api/v1/offices/OF-1/counts/{day}", headers=ADMIN
                    )
                    assert response.status_code in (204, 404), response.text
                else:
                    await batch(
                        client,
                        [
                            {
                                "office": "OF-1",
                                "date": str(day + timedelta(days=i)),
                                "recordings": v,
                            }
                            for i, v in enumerate(value)
                        ],
                    )
                await assert_verdicts_exact(connection)
    finally:
        await savepoint.rollback()
