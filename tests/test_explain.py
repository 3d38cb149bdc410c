"""GET /api/v1/progress/{code}/explain: its parts add up to progress's eligible and recorded."""

from datetime import timedelta

from hypothesis import HealthCheck, given, settings

from app.main import create_app
from tests.conftest import ADMIN, make_client, settings_for
from tests.progress_helpers import counts, figure, get_json, office, progress, regions
from tests.test_progress_properties import BASE, build, day_offsets, worlds


async def test_makassar_is_its_figure_and_the_counts_after_it(client):
    await regions(client, "73", "73.71", "73.71.01", "73.72", "73.72.01")
    await office(client, "MKS-01", "73.71.01")
    await office(client, "PRE-01", "73.72.01")
    await figure(client, "73.71", "2019-02-14", eligible=981_654, recorded=933_549)
    await counts(client, "MKS-01", {"2019-02-14": 7, "2019-02-15": 40, "2019-02-16": 60})
    await counts(client, "PRE-01", {"2019-02-15": 5})
    body = await get_json(client, "/api/v1/progress/73/explain", as_of="2019-02-15")
    assert body["parts"] == [
        {
            "region": "73.71",
            "figure_date": "2019-02-14",
            "eligible": 981_654,
            "recorded": 933_549,
            "counts_after": 40,
            "counts_after_from": "2019-02-15",
            "counts_after_to": "2019-02-15",
        },
        {"region": "73.72.01", "recordings": 5},
    ]
    assert body["totals"] == {"eligible": 981_654, "recorded": 933_594}
    numbers = await progress(client, "73", as_of="2019-02-15")
    assert (numbers["eligible"], numbers["recorded"]) == (981_654, 933_594)


async def test_eligible_and_recorded_from_different_figures_are_two_parts(client):
    await regions(client, "73", "73.71")
    await figure(client, "73.71", "2024-01-01", eligible=100, recorded=10)
    await figure(client, "73.71", "2024-02-01", recorded=20)
    body = await get_json(client, "/api/v1/progress/73/explain", as_of="2024-03-01")
    assert body["parts"] == [
        {
            "region": "73.71",
            "figure_date": "2024-01-01",
            "eligible": 100,
            "recorded": None,
            "counts_after": None,
            "counts_after_from": None,
            "counts_after_to": None,
        },
        {
            "region": "73.71",
            "figure_date": "2024-02-01",
            "eligible": None,
            "recorded": 20,
            "counts_after": 0,
            "counts_after_from": "2024-02-02",
            "counts_after_to": "2024-03-01",
        },
    ]
    assert body["totals"] == {"eligible": 100, "recorded": 20}


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=worlds(), as_of=day_offsets.map(lambda n: BASE + timedelta(days=n)))
async def test_explain_totals_are_progress_for_every_region(
    database_url, engine, connection, world, as_of
):
    savepoint = await connection.begin_nested()
    try:
        app = create_app(settings_for(database_url), engine=engine)
        async with make_client(app, connection) as client:
            await build(client, world)
            for code in world.regions:
                params = {"as_of": str(as_of)}
                response = await client.get(
                    f"/api/v1/progress/{code}/explain", params=params, headers=ADMIN
                )
                assert response.status_code == 200, response.text
                body = response.json()
                expected = (world.eligible(code, as_of), world.recorded(code, as_of))
                assert (body["totals"]["eligible"], body["totals"]["recorded"]) == expected
                eligible = [p["eligible"] for p in body["parts"] if p.get("eligible") is not None]
                recorded = sum(
                    p["recordings"]
                    if "recordings" in p
                    else (p["recorded"] or 0) + (p["counts_after"] or 0)
                    for p in body["parts"]
                )
                assert (sum(eligible) if eligible else None, recorded) == expected
                numbers = await progress(client, code, as_of=str(as_of))
                assert (numbers["eligible"], numbers["recorded"]) == expected
    finally:
        await savepoint.rollback()
