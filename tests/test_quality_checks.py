"""Follow-up: PUT /api/v1/quality/checks, who may check what, and how long a check holds."""

from datetime import date, timedelta
from typing import Any

from sqlalchemy import text

from tests.conftest import ADMIN
from tests.helpers import bearer, new_token
from tests.progress_helpers import batch, figure, office, regions
from tests.test_quality import SPLIT, D, count, flags, window
from tests.test_scopes import scoped_admin

CHECKS = "/api/v1/quality/checks"


async def put_check(client: Any, headers: dict[str, str] = ADMIN, **body: Any) -> Any:
    return await client.put(CHECKS, json=body, headers=headers)


async def outlier_world(client: Any) -> None:
    """OF-1 in 73.71.01 with an outlier of 17001 on D; 73.72 exists beside it."""
    await regions(client, "73", "73.71", "73.71.01", "73.72")
    await office(client, "OF-1", "73.71.01")
    await window(client, "OF-1", SPLIT)
    await count(client, "OF-1", D, 17001)


async def stored(db: Any) -> tuple[int, int]:
    checks = await db.scalar(text("SELECT count(*) FROM quality_checks"))
    events = await db.scalar(text("SELECT count(*) FROM audit_events"))
    return int(checks), int(events)


async def test_a_checked_flag_carries_its_check_and_unchecked_hides_it(client, db):
    await outlier_world(client)
    response = await put_check(
        client, kind="outlier", office="OF-1", date=str(D), note="a mobile unit visited"
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["value"] == 17001
    assert body["region"] == "73.71.01"
    assert body["checked"]["note"] == "a mobile unit visited"
    assert body["checked"]["by"] == {"token_id": None, "role": "admin", "name": "REKAM_ADMIN_TOKEN"}
    [flag] = await flags(client, kinds="outlier")
    assert flag["checked"] == body["checked"]
    assert await flags(client, kinds="outlier", unchecked="true") == []
    response = await client.get(
        "/api/v1/quality/ID",
        params={"as_of": str(D), "kinds": "outlier", "unchecked": "true"},
        headers=ADMIN,
    )
    assert response.json()["total"] == 0
    [event] = (await client.get("/api/v1/audit", headers=ADMIN)).json()["events"][:1]
    assert (event["kind"], event["key"], event["action"], event["before"]) == (
        "quality_check",
        f"outlier OF-1 {D}",
        "created",
        None,
    )
    assert event["after"] == {
        "kind": "outlier",
        "region": "73.71.01",
        "office": "OF-1",
        "date": str(D),
        "note": "a mobile unit visited",
        "value": 17001,
        "expected": 10000,
    }
    # The same check again changes and records nothing; a new note is an update.
    before = await stored(db)
    again = await put_check(
        client, kind="outlier", office="OF-1", date=str(D), note="a mobile unit visited"
    )
    assert again.status_code == 200
    assert again.json()["checked"] == body["checked"]
    assert await stored(db) == before
    renoted = await put_check(client, kind="outlier", office="OF-1", date=str(D), note="ok")
    assert renoted.status_code == 200
    assert renoted.json()["checked"]["note"] == "ok"
    assert await stored(db) == (before[0], before[1] + 1)


async def test_a_check_holds_while_the_count_is_unchanged_and_lapses_when_it_changes(client):
    await outlier_world(client)
    response = await put_check(client, kind="outlier", office="OF-1", date=str(D), note="seen")
    assert response.status_code == 201
    # Resubmitting the same value makes no new version: still checked.
    await count(client, "OF-1", D, 17001)
    [flag] = await flags(client, kinds="outlier")
    assert flag["checked"] is not None
    await count(client, "OF-1", D, 20000)
    [flag] = await flags(client, kinds="outlier")
    assert (flag["value"], flag["checked"]) == (20000, None)
    # Back to the checked value: a new version, so still not checked.
    await count(client, "OF-1", D, 17001)
    [flag] = await flags(client, kinds="outlier")
    assert flag["checked"] is None


async def test_a_figure_check_lapses_when_the_figure_changes(client):
    await regions(client, "73", "73.71")
    await figure(client, "73.71", "2024-01-01", eligible=100)
    await figure(client, "73.71", "2024-02-01", eligible=200)
    response = await put_check(
        client, kind="eligible_jump", region="73.71", date="2024-02-01", note="new census"
    )
    assert response.status_code == 201, response.text
    await figure(client, "73.71", "2024-02-01", eligible=200)
    [flag] = await flags(client, kinds="eligible_jump")
    assert flag["checked"]["note"] == "new census"
    await figure(client, "73.71", "2024-02-01", eligible=300)
    [flag] = await flags(client, kinds="eligible_jump")
    assert flag["checked"] is None


async def test_checks_outside_the_scope_are_refused_and_write_nothing(client, db):
    await outlier_world(client)
    await figure(client, "73.72", "2024-01-01", eligible=100)
    await figure(client, "73.72", "2024-02-01", eligible=200)
    elsewhere = await scoped_admin(client, "73.72")
    here = await scoped_admin(client, "73.71")
    viewer = bearer(await new_token(client, "viewer"))
    before = await stored(db)
    refusals = [
        (elsewhere, {"kind": "outlier", "office": "OF-1"}, 403),
        (here, {"kind": "eligible_jump", "region": "73.72", "date": "2024-02-01"}, 403),
        (viewer, {"kind": "outlier", "office": "OF-1"}, 403),
        ({}, {"kind": "outlier", "office": "OF-1"}, 401),
    ]
    for headers, body, status in refusals:
        response = await put_check(client, headers, **{"date": str(D), "note": "x", **body})
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
    assert (
        "73.72"
        in (
            await put_check(client, elsewhere, kind="outlier", office="OF-1", date=str(D), note="x")
        ).json()["detail"]
    )
    assert await stored(db) == before
    ok = await put_check(client, here, kind="outlier", office="OF-1", date=str(D), note="mine")
    assert ok.status_code == 201, ok.text
    assert ok.json()["checked"]["by"]["name"] == "admin 73.71"


async def test_a_check_of_a_flag_that_is_not_raised_is_422_and_writes_nothing(client, db):
    await outlier_world(client)
    before = await stored(db)
    bad = [
        ({"kind": "outlier", "office": "OF-1", "date": str(D - timedelta(days=1))}, 422),
        ({"kind": "silent", "office": "OF-1", "date": str(D)}, 422),
        ({"kind": "eligible_jump", "region": "73.71", "date": str(D)}, 422),
        ({"kind": "outlier", "date": str(D)}, 422),
        ({"kind": "outlier", "office": "OF-1", "region": "73.72", "date": str(D)}, 422),
        ({"kind": "eligible_jump", "office": "OF-1", "region": "73.71", "date": str(D)}, 422),
        ({"kind": "eligible_jump", "date": str(D)}, 422),
        ({"kind": "nope", "office": "OF-1", "date": str(D)}, 422),
        ({"kind": "outlier", "office": "OF-1", "date": "2024-02-30"}, 422),
        ({"kind": "outlier", "office": "OF-1", "date": str(D), "extra": 1}, 422),
        ({"kind": "outlier", "office": "NO-SUCH", "date": str(D)}, 404),
        ({"kind": "eligible_jump", "region": "75", "date": str(D)}, 404),
        ({"kind": "eligible_jump", "region": "7x", "date": str(D)}, 422),
    ]
    for body, status in bad:
        response = await put_check(client, **{"note": "x", **body})
        assert response.status_code == status, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    response = await put_check(client, kind="outlier", office="OF-1", date=str(D), note="")
    assert response.status_code == 422
    assert await stored(db) == before


async def test_silent_and_region_flags_are_checked_on_their_date(client):
    await regions(client, "73", "73.71", "73.71.01")
    await office(client, "OF-1", "73.71.01")
    await figure(client, "73.71", "2024-05-01", eligible=10, recorded=20)
    for body in (
        {"kind": "silent", "office": "OF-1", "region": "73.71.01"},
        {"kind": "over_coverage", "region": "73.71"},
    ):
        response = await put_check(client, date=str(D), note="known", **body)
        assert response.status_code == 201, response.text
    found = await flags(client, "73.71")
    assert [(f["kind"], f["checked"]["note"]) for f in found] == [
        ("over_coverage", "known"),
        ("silent", "known"),
    ]
    # Checked on D, not on the day after; and a count ends the silence.
    later = await flags(client, "73.71", as_of=str(D + timedelta(days=1)))
    assert [f["checked"] for f in later] == [None, None]
    await batch(client, [{"office": "OF-1", "date": str(D), "recordings": 5}])
    assert [f["kind"] for f in await flags(client, "73.71")] == ["over_coverage"]
    assert date.fromisoformat(found[0]["date"]) == D


async def test_checks_is_its_own_resource_not_a_region_to_read(client):
    for method in ("GET", "OPTIONS", "DELETE"):
        response = await client.request(method, "/api/v1/quality/checks", headers=ADMIN)

        assert response.status_code == 405, method
        assert response.headers["allow"] == "PUT"
