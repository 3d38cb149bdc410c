"""Daily counts: PUT, GET, DELETE, history, If-Match, the edit window, and listing ranges.
After writes, the summaries (region_days, region_months, region_totals) are checked in SQL
against a recomputation from the counts."""

from datetime import date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from tests.conftest import ADMIN
from tests.helpers import (
    assert_tallies_exact,
    bearer,
    client_with,
    days_ago,
    new_office,
    new_token,
    put_count,
    put_office,
    stored_counts,
    today,
)

ENV_ADMIN_ACTOR = {"token_id": None, "role": "admin", "name": "REKAM_ADMIN_TOKEN"}
KIRITIMATI = "Pacific/Kiritimati"  # UTC+14
PAGO_PAGO = "Pacific/Pago_Pago"  # UTC-11: its today is always before Kiritimati's


def url(office, day, suffix=""):
    return f"/api/v1/offices/{office}/counts/{day}{suffix}"


def without_updated_at(body):
    assert datetime.fromisoformat(body["updated_at"]).tzinfo is not None
    return {k: v for k, v in body.items() if k != "updated_at"}


def without_at(history):
    for revision in history["revisions"]:
        assert datetime.fromisoformat(revision["at"]).tzinfo is not None
    return {
        **history,
        "revisions": [{k: v for k, v in r.items() if k != "at"} for r in history["revisions"]],
    }


async def office_token(client, office):
    """An office token and its id."""
    response = await client.post(
        "/api/v1/tokens",
        json={"role": "office", "office": office, "name": f"clerk {office}"},
        headers=ADMIN,
    )
    body = response.json()
    return body["token"], body["id"]


@pytest.fixture
async def office(client):
    await new_office(client, "MKS-01", "73.71.01")
    return "MKS-01"


# Writing


async def test_put_creates_count_with_version_1(client, office, db):
    day = days_ago(1)

    response = await put_count(client, office, day, 12, note="first")

    assert response.status_code == 201, response.text
    assert without_updated_at(response.json()) == {
        "office": office,
        "date": day.isoformat(),
        "recordings": 12,
        "note": "first",
        "version": 1,
    }
    assert response.headers["etag"] == '"1"'
    assert await stored_counts(db) == [(office, day, 12, "first", 1)]
    await assert_tallies_exact(db)


async def test_put_again_with_a_change_is_200_and_next_version(client, office, db):
    day = today()
    await put_count(client, office, day, 12)

    response = await put_count(client, office, day, 15, note="recount")

    assert response.status_code == 200
    assert without_updated_at(response.json()) == {
        "office": office,
        "date": day.isoformat(),
        "recordings": 15,
        "note": "recount",
        "version": 2,
    }
    assert response.headers["etag"] == '"2"'
    await assert_tallies_exact(db)


async def test_resubmitting_stored_values_changes_nothing(client, office, db):
    day = today()
    first = (await put_count(client, office, day, 12, note="n")).json()

    response = await put_count(client, office, day, 12, note="n")

    assert response.status_code == 200
    assert response.json() == first
    assert response.headers["etag"] == '"1"'
    history = (await client.get(url(office, day, "/history"), headers=ADMIN)).json()
    assert [r["version"] for r in history["revisions"]] == [1]
    assert await db.scalar(text("SELECT count(*) FROM count_revisions")) == 1


async def test_put_replaces_so_an_omitted_note_becomes_null(client, office):
    day = today()
    await put_count(client, office, day, 12, note="first")

    response = await put_count(client, office, day, 12)

    assert response.status_code == 200
    assert response.json()["note"] is None
    assert response.json()["version"] == 2


async def test_recordings_bounds_are_accepted(client, office):
    zero = await put_count(client, office, days_ago(1), 0)
    most = await put_count(client, office, days_ago(2), 100_000, note="n" * 500)

    assert (zero.status_code, most.status_code) == (201, 201)
    assert most.json()["recordings"] == 100_000


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"recordings": -1},
        {"recordings": 100_001},
        {"recordings": 1.5},
        {"recordings": "12"},
        {"recordings": None},
        {"recordings": True},
        {"recordings": 12, "note": "n" * 501},
        {"recordings": 12, "note": 5},
        {"recordings": 12, "version": 1},
        {"recordings": 12, "office_id": 1},
        {"recordings": 12, "nots": "typo"},
    ],
    ids=[
        "empty",
        "negative",
        "over-100000",
        "fractional",
        "as-text",
        "null",
        "boolean",
        "long-note",
        "note-not-text",
        "unknown-member-version",
        "unknown-member-office-id",
        "misspelt-member",
    ],
)
async def test_invalid_count_body_is_422_and_writes_nothing(client, office, db, body):
    response = await client.put(url(office, today()), json=body, headers=ADMIN)

    assert response.status_code == 422
    assert "detail" in response.json()
    assert await stored_counts(db) == []


@pytest.mark.parametrize("day", ["2025-02-30", "20250101", "2025-1-1", "2025-01-01T00:00", "x"])
async def test_count_date_must_be_a_real_iso_date(client, office, day):
    response = await client.put(url(office, day), json={"recordings": 1}, headers=ADMIN)

    assert response.status_code == 422


async def test_count_of_unknown_office_is_404(client):
    response = await put_count(client, "NOPE", today(), 1)

    assert response.status_code == 404
    assert "detail" in response.json()


async def test_count_of_office_code_of_another_shape_is_422(client):
    response = await put_count(client, "-bad", today(), 1)

    assert response.status_code == 422


async def test_date_after_today_is_422(client, office, db):
    response = await put_count(client, office, today() + timedelta(days=1), 1)

    assert response.status_code == 422
    assert await stored_counts(db) == []


async def test_today_is_judged_in_the_office_timezone(client, db):
    await new_office(client, "KIR-01", timezone=KIRITIMATI)
    await new_office(client, "PPG-01", timezone=PAGO_PAGO)
    kiritimati_today = today(KIRITIMATI)

    ahead = await put_count(client, "KIR-01", kiritimati_today, 1)
    behind = await put_count(client, "PPG-01", kiritimati_today, 1)

    assert ahead.status_code == 201
    assert behind.status_code == 422
    assert await stored_counts(db) == [("KIR-01", kiritimati_today, 1, None, 1)]


async def test_date_before_the_office_opened_is_422(client, db):
    opened = days_ago(3)
    await new_office(client, "NEW-01", opened_on=opened.isoformat())

    before = await put_count(client, "NEW-01", opened - timedelta(days=1), 1)
    on_opening = await put_count(client, "NEW-01", opened, 1)

    assert before.status_code == 422
    assert on_opening.status_code == 201
    assert await stored_counts(db) == [("NEW-01", opened, 1, None, 1)]


async def test_inactive_office_takes_no_counts(client, db):
    await new_office(client, "OLD-01", active=False)

    response = await put_count(client, "OLD-01", today(), 1)

    assert response.status_code == 422
    assert await stored_counts(db) == []


# Who may write


async def test_office_token_writes_its_own_count_today(client, office, db):
    token, token_id = await office_token(client, office)

    response = await put_count(client, office, today(), 7, headers=bearer(token))

    assert response.status_code == 201, response.text
    history = (await client.get(url(office, today(), "/history"), headers=ADMIN)).json()
    assert history["revisions"][0]["actor"] == {
        "token_id": token_id,
        "role": "office",
        "name": f"clerk {office}",
    }


async def test_office_token_gets_422_for_a_date_after_today(client, office, db):
    token, _ = await office_token(client, office)

    response = await put_count(
        client, office, today() + timedelta(days=1), 7, headers=bearer(token)
    )

    assert response.status_code == 422
    assert await stored_counts(db) == []


async def test_office_token_cannot_write_another_office(client, office, db):
    await new_office(client, "MKS-02")
    token, _ = await office_token(client, office)

    response = await put_count(client, "MKS-02", today(), 7, headers=bearer(token))

    assert response.status_code == 403
    assert "detail" in response.json()
    assert await stored_counts(db) == []


async def test_office_token_writes_inside_the_edit_window(client, office):
    token, _ = await office_token(client, office)

    response = await put_count(client, office, days_ago(6), 7, headers=bearer(token))

    assert response.status_code == 201


async def test_office_token_cannot_write_before_the_edit_window(client, office, db):
    token, _ = await office_token(client, office)

    response = await put_count(client, office, days_ago(7), 7, headers=bearer(token))

    assert response.status_code == 403
    assert "admin" in response.json()["detail"]
    assert await stored_counts(db) == []


async def test_office_token_cannot_correct_an_old_count(client, office, db):
    await put_count(client, office, days_ago(20), 5)
    token, _ = await office_token(client, office)

    response = await put_count(client, office, days_ago(20), 6, headers=bearer(token))

    assert response.status_code == 403
    assert await stored_counts(db) == [(office, days_ago(20), 5, None, 1)]


async def test_edit_window_follows_the_office_calendar(client):
    await new_office(client, "PPG-01", timezone=PAGO_PAGO)
    token, _ = await office_token(client, "PPG-01")
    local_today = today(PAGO_PAGO)

    first_day = await put_count(
        client, "PPG-01", local_today - timedelta(days=6), 1, headers=bearer(token)
    )
    day_before = await put_count(
        client, "PPG-01", local_today - timedelta(days=7), 1, headers=bearer(token)
    )

    assert (first_day.status_code, day_before.status_code) == (201, 403)


async def test_edit_window_length_is_configurable(database_url, engine, connection):
    async with client_with(database_url, engine, connection, edit_window_days=3) as client:
        await new_office(client, "MKS-01")
        token, _ = await office_token(client, "MKS-01")

        inside = await put_count(client, "MKS-01", days_ago(2), 1, headers=bearer(token))
        outside = await put_count(client, "MKS-01", days_ago(3), 1, headers=bearer(token))

    assert (inside.status_code, outside.status_code) == (201, 403)


async def test_admin_writes_any_past_date(client, office):
    response = await put_count(client, office, days_ago(400), 9)

    assert response.status_code == 201


async def test_viewer_cannot_write_counts(client, office, db):
    viewer = await new_token(client, "viewer")

    response = await put_count(client, office, today(), 1, headers=bearer(viewer))

    assert response.status_code == 403
    assert await stored_counts(db) == []


async def test_writing_needs_a_token(client, office, db):
    response = await client.put(url(office, today()), json={"recordings": 1})

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert await stored_counts(db) == []


async def test_revoked_office_token_cannot_write(client, office, db):
    token, token_id = await office_token(client, office)
    await client.delete(f"/api/v1/tokens/{token_id}", headers=ADMIN)

    response = await put_count(client, office, today(), 1, headers=bearer(token))

    assert response.status_code == 401
    assert await stored_counts(db) == []


async def test_public_read_does_not_open_writes(database_url, engine, connection):
    async with client_with(database_url, engine, connection, public_read=True) as public:
        await new_office(public, "MKS-01")

        write = await public.put(url("MKS-01", today()), json={"recordings": 1})
        read = await public.get("/api/v1/offices/MKS-01/counts")

    assert (write.status_code, read.status_code) == (401, 200)


# Order of checks: 401, then 403, then 422


async def test_no_token_is_401_before_an_invalid_body_or_date(client, office):
    response = await client.put(url(office, "2025-02-30"), json={"recordings": -1})

    assert response.status_code == 401


async def test_viewer_is_403_before_an_invalid_body(client, office):
    viewer = await new_token(client, "viewer")

    response = await client.put(
        url(office, today()), json={"recordings": -1}, headers=bearer(viewer)
    )

    assert response.status_code == 403


async def test_other_office_token_is_403_before_an_invalid_body(client, office):
    await new_office(client, "MKS-02")
    token, _ = await office_token(client, office)

    response = await client.put(
        url("MKS-02", today()), json={"recordings": -1, "x": 1}, headers=bearer(token)
    )

    assert response.status_code == 403


async def test_other_office_token_is_403_before_an_invalid_date(client, office):
    await new_office(client, "MKS-02")
    token, _ = await office_token(client, office)

    response = await client.put(
        url("MKS-02", "2025-02-30"), json={"recordings": 1}, headers=bearer(token)
    )

    assert response.status_code == 403


async def test_office_token_outside_window_is_403_before_an_invalid_body(client, office):
    token, _ = await office_token(client, office)

    response = await client.put(
        url(office, days_ago(30)), json={"recordings": -1}, headers=bearer(token)
    )

    assert response.status_code == 403


# Reading


async def test_get_count_returns_it_with_etag(client, office):
    written = (await put_count(client, office, today(), 12, note="n")).json()

    response = await client.get(url(office, today()), headers=ADMIN)

    assert response.status_code == 200
    assert response.json() == written
    assert response.headers["etag"] == '"1"'


async def test_get_missing_count_is_404(client, office):
    response = await client.get(url(office, today()), headers=ADMIN)

    assert response.status_code == 404
    assert "detail" in response.json()


async def test_get_count_of_unknown_office_is_404(client):
    response = await client.get(url("NOPE", today()), headers=ADMIN)

    assert response.status_code == 404


async def test_reading_counts_needs_a_token(client, office):
    await put_count(client, office, today(), 12)

    one = await client.get(url(office, today()))
    many = await client.get(f"/api/v1/offices/{office}/counts")
    history = await client.get(url(office, today(), "/history"))

    assert (one.status_code, many.status_code, history.status_code) == (401, 401, 401)


async def test_office_token_reads_other_offices_counts(client, office):
    await new_office(client, "MKS-02")
    await put_count(client, "MKS-02", today(), 3)
    token, _ = await office_token(client, office)

    response = await client.get(url("MKS-02", today()), headers=bearer(token))

    assert response.status_code == 200


# If-Match


async def test_if_match_with_the_stored_version_writes(client, office):
    await put_count(client, office, today(), 12)

    response = await put_count(client, office, today(), 13, headers={**ADMIN, "If-Match": '"1"'})

    assert response.status_code == 200
    assert response.json()["version"] == 2


async def test_if_match_with_another_version_is_412(client, office, db):
    await put_count(client, office, today(), 12)
    await put_count(client, office, today(), 13)

    response = await put_count(client, office, today(), 14, headers={**ADMIN, "If-Match": '"1"'})

    assert response.status_code == 412
    assert "detail" in response.json()
    assert await stored_counts(db) == [(office, today(), 13, None, 2)]


async def test_if_match_without_a_stored_count_is_412(client, office, db):
    response = await put_count(client, office, today(), 12, headers={**ADMIN, "If-Match": '"1"'})

    assert response.status_code == 412
    assert await stored_counts(db) == []


async def test_if_match_that_names_no_version_is_412(client, office, db):
    await put_count(client, office, today(), 12)

    response = await put_count(client, office, today(), 13, headers={**ADMIN, "If-Match": "abc"})

    assert response.status_code == 412
    assert await stored_counts(db) == [(office, today(), 12, None, 1)]


async def test_if_match_on_a_deleted_count_is_412(client, office, db):
    await put_count(client, office, today(), 12)
    await client.delete(url(office, today()), headers=ADMIN)

    response = await put_count(client, office, today(), 13, headers={**ADMIN, "If-Match": '"1"'})
    after_delete = await put_count(
        client, office, today(), 13, headers={**ADMIN, "If-Match": '"2"'}
    )

    assert (response.status_code, after_delete.status_code) == (412, 412)
    assert await stored_counts(db) == []


async def test_etag_of_a_write_is_usable_as_if_match(client, office):
    first = await put_count(client, office, today(), 12)

    response = await put_count(
        client, office, today(), 20, headers={**ADMIN, "If-Match": first.headers["etag"]}
    )

    assert response.status_code == 200
    assert response.headers["etag"] == '"2"'


# Deleting


async def test_admin_deletes_a_count_and_history_keeps_it(client, office, db):
    await put_count(client, office, today(), 12)

    response = await client.delete(url(office, today()), headers=ADMIN)

    assert response.status_code == 204
    assert response.content == b""
    assert (await client.get(url(office, today()), headers=ADMIN)).status_code == 404
    history = (await client.get(url(office, today(), "/history"), headers=ADMIN)).json()
    assert without_at(history) == {
        "office": office,
        "date": today().isoformat(),
        "revisions": [
            {"version": 1, "recordings": 12, "note": None, "actor": ENV_ADMIN_ACTOR},
            {"version": 2, "recordings": None, "note": None, "actor": ENV_ADMIN_ACTOR},
        ],
    }
    await assert_tallies_exact(db)


async def test_deleting_a_missing_count_is_404(client, office):
    response = await client.delete(url(office, today()), headers=ADMIN)

    assert response.status_code == 404


async def test_deleting_a_count_of_unknown_office_is_404(client):
    response = await client.delete(url("NOPE", today()), headers=ADMIN)

    assert response.status_code == 404


@pytest.mark.parametrize("role", ["office", "viewer"])
async def test_only_admin_deletes_counts(client, office, db, role):
    await put_count(client, office, today(), 12)
    token = await new_token(client, role, office if role == "office" else None)

    response = await client.delete(url(office, today()), headers=bearer(token))

    assert response.status_code == 403
    assert await stored_counts(db) == [(office, today(), 12, None, 1)]


async def test_count_written_again_after_delete_is_created_with_next_version(client, office, db):
    await put_count(client, office, today(), 12)
    await put_count(client, office, today(), 13)
    await client.delete(url(office, today()), headers=ADMIN)

    response = await put_count(client, office, today(), 12)

    assert response.status_code == 201
    assert response.json()["version"] == 4
    assert response.headers["etag"] == '"4"'
    history = (await client.get(url(office, today(), "/history"), headers=ADMIN)).json()
    assert [(r["version"], r["recordings"]) for r in history["revisions"]] == [
        (1, 12),
        (2, 13),
        (3, None),
        (4, 12),
    ]
    await assert_tallies_exact(db)


# History


async def test_history_lists_every_change_oldest_first_with_its_actor(client, office):
    token, token_id = await office_token(client, office)
    await put_count(client, office, today(), 10, note="morning")
    await put_count(client, office, today(), 10, note="morning")
    await put_count(client, office, today(), 25, headers=bearer(token))

    response = await client.get(url(office, today(), "/history"), headers=ADMIN)

    assert response.status_code == 200
    clerk = {"token_id": token_id, "role": "office", "name": f"clerk {office}"}
    assert without_at(response.json()) == {
        "office": office,
        "date": today().isoformat(),
        "revisions": [
            {"version": 1, "recordings": 10, "note": "morning", "actor": ENV_ADMIN_ACTOR},
            {"version": 2, "recordings": 25, "note": None, "actor": clerk},
        ],
    }
    ats = [r["at"] for r in response.json()["revisions"]]
    assert ats == sorted(ats, key=datetime.fromisoformat)


async def test_history_of_a_count_never_written_is_404(client, office):
    response = await client.get(url(office, today(), "/history"), headers=ADMIN)

    assert response.status_code == 404


# Listing


async def test_list_defaults_to_the_last_31_days(client, office):
    for n in (0, 30, 31):
        await put_count(client, office, days_ago(n), n + 1)

    response = await client.get(f"/api/v1/offices/{office}/counts", headers=ADMIN)

    assert response.status_code == 200
    body = response.json()
    assert body["office"] == office
    expected = [(days_ago(30), 31), (today(), 1)]
    assert [without_updated_at(c) for c in body["counts"]] == [
        {"office": office, "date": d.isoformat(), "recordings": r, "note": None, "version": 1}
        for d, r in expected
    ]


async def test_list_default_ends_at_today_in_the_office_timezone(client):
    await new_office(client, "KIR-01", timezone=KIRITIMATI)
    local_today = today(KIRITIMATI)
    await put_count(client, "KIR-01", local_today, 5)

    response = await client.get("/api/v1/offices/KIR-01/counts", headers=ADMIN)

    assert [c["date"] for c in response.json()["counts"]] == [local_today.isoformat()]


async def test_list_with_a_range_includes_both_ends_by_date(client, office):
    for n in (1, 5, 3, 2, 6):
        await put_count(client, office, days_ago(n), n)

    response = await client.get(
        f"/api/v1/offices/{office}/counts",
        params={"from": days_ago(5).isoformat(), "to": days_ago(2).isoformat()},
        headers=ADMIN,
    )

    assert [(c["date"], c["recordings"]) for c in response.json()["counts"]] == [
        (days_ago(5).isoformat(), 5),
        (days_ago(3).isoformat(), 3),
        (days_ago(2).isoformat(), 2),
    ]


async def test_list_with_only_from_runs_to_today(client, office):
    for n in (0, 40, 41):
        await put_count(client, office, days_ago(n), 1)

    response = await client.get(
        f"/api/v1/offices/{office}/counts", params={"from": days_ago(40).isoformat()}, headers=ADMIN
    )

    assert [c["date"] for c in response.json()["counts"]] == [
        days_ago(40).isoformat(),
        today().isoformat(),
    ]


async def test_list_with_only_to_covers_31_days_ending_there(client, office):
    end = days_ago(100)
    for n in (0, 30, 31):
        await put_count(client, office, end - timedelta(days=n), 1)
    await put_count(client, office, today(), 1)

    response = await client.get(
        f"/api/v1/offices/{office}/counts", params={"to": end.isoformat()}, headers=ADMIN
    )

    assert [c["date"] for c in response.json()["counts"]] == [
        (end - timedelta(days=30)).isoformat(),
        end.isoformat(),
    ]


async def test_list_of_one_day(client, office):
    await put_count(client, office, date(2018, 1, 1), 4)

    response = await client.get(
        f"/api/v1/offices/{office}/counts",
        params={"from": "2018-01-01", "to": "2018-01-01"},
        headers=ADMIN,
    )

    assert [c["recordings"] for c in response.json()["counts"]] == [4]


async def test_list_of_3660_days_is_allowed(client, office):
    response = await client.get(
        f"/api/v1/offices/{office}/counts",
        params={"from": "2010-01-01", "to": (date(2010, 1, 1) + timedelta(days=3659)).isoformat()},
        headers=ADMIN,
    )

    assert response.status_code == 200
    assert response.json() == {"office": office, "counts": []}


async def test_list_over_3660_days_is_422(client, office):
    response = await client.get(
        f"/api/v1/offices/{office}/counts",
        params={"from": "2010-01-01", "to": (date(2010, 1, 1) + timedelta(days=3660)).isoformat()},
        headers=ADMIN,
    )

    assert response.status_code == 422
    assert "detail" in response.json()


async def test_list_with_from_only_far_back_is_422(client, office):
    response = await client.get(
        f"/api/v1/offices/{office}/counts",
        params={"from": (today() - timedelta(days=3660)).isoformat()},
        headers=ADMIN,
    )

    assert response.status_code == 422


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2025-02-01", "to": "2025-01-31"},
        {"from": "2025-02-30"},
        {"to": "yesterday"},
    ],
    ids=["from-after-to", "impossible-date", "not-a-date"],
)
async def test_list_with_a_bad_range_is_422(client, office, params):
    response = await client.get(f"/api/v1/offices/{office}/counts", params=params, headers=ADMIN)

    assert response.status_code == 422


async def test_list_of_unknown_office_is_404(client):
    response = await client.get("/api/v1/offices/NOPE/counts", headers=ADMIN)

    assert response.status_code == 404


# Tallies


async def test_tallies_follow_every_put_and_delete(client, db):
    await new_office(client, "MKS-01", "73.71.01")
    await new_office(client, "MKS-02", "73.71.02.2001")
    await new_office(client, "GOW-01", "73.06")
    await new_office(client, "KDI-01", "74.71")
    start_of_month = today().replace(day=1)
    dates = [today(), days_ago(1), start_of_month - timedelta(days=1), days_ago(75)]

    for i, office_code in enumerate(["MKS-01", "MKS-02", "GOW-01", "KDI-01"]):
        for j, day in enumerate(dates):
            await put_count(client, office_code, day, 10 * i + j)
    await put_count(client, "MKS-01", today(), 99)
    await put_count(client, "MKS-02", dates[2], 0)
    await client.delete(url("GOW-01", dates[3]), headers=ADMIN)
    await client.delete(url("KDI-01", today()), headers=ADMIN)
    await put_count(client, "KDI-01", today(), 7)
    await put_office(client, "GOW-01", "74.71")

    await assert_tallies_exact(db)
    nation = await db.scalar(text("SELECT sum(recordings) FROM region_totals WHERE region = 'ID'"))
    assert nation == await db.scalar(text("SELECT sum(recordings) FROM counts"))


OFFICES = {"A1": "73.71.01", "A2": "73.71.01", "B1": "73.72", "C1": "74.01.02.1001"}

operations = st.lists(
    st.tuples(
        st.sampled_from(sorted(OFFICES)),
        st.integers(min_value=0, max_value=70),
        st.one_of(st.none(), st.integers(min_value=0, max_value=100_000)),
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=operations)
async def test_tallies_stay_exact_under_any_sequence_of_writes(client, db, steps):
    for code, region in OFFICES.items():
        await new_office(client, code, region)

    for code, back, recordings in steps:
        day = days_ago(back)
        if recordings is None:
            response = await client.delete(url(code, day), headers=ADMIN)
            assert response.status_code in (204, 404)
        else:
            response = await put_count(client, code, day, recordings)
            assert response.status_code in (200, 201)

    await assert_tallies_exact(db)


# If-None-Match: a first entry that must not replace a count written meanwhile


async def test_if_none_match_star_creates_when_no_count(client, office, db):
    response = await put_count(client, office, today(), 12, headers={**ADMIN, "If-None-Match": "*"})

    assert response.status_code == 201
    assert response.headers["ETag"] == '"1"'
    assert await stored_counts(db) == [(office, today(), 12, None, 1)]


async def test_if_none_match_star_with_a_count_is_412_and_writes_nothing(client, office, db):
    await put_count(client, office, today(), 12)

    response = await put_count(client, office, today(), 13, headers={**ADMIN, "If-None-Match": "*"})
    history = await client.get(url(office, today(), "/history"), headers=ADMIN)

    assert response.status_code == 412
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 412
    assert await stored_counts(db) == [(office, today(), 12, None, 1)]
    assert len(history.json()["revisions"]) == 1


async def test_if_none_match_resent_after_a_lost_answer_makes_no_second_revision(
    client, office, db
):
    first = await put_count(client, office, today(), 12, headers={**ADMIN, "If-None-Match": "*"})
    again = await put_count(client, office, today(), 12, headers={**ADMIN, "If-None-Match": "*"})
    history = await client.get(url(office, today(), "/history"), headers=ADMIN)

    assert (first.status_code, again.status_code) == (201, 412)
    assert [r["version"] for r in history.json()["revisions"]] == [1]


async def test_if_none_match_star_on_a_deleted_count_creates_it_anew(client, office, db):
    await put_count(client, office, today(), 12)
    await client.delete(url(office, today()), headers=ADMIN)

    response = await put_count(client, office, today(), 13, headers={**ADMIN, "If-None-Match": "*"})

    assert response.status_code == 201
    assert response.json()["version"] == 3
    assert await stored_counts(db) == [(office, today(), 13, None, 3)]


async def test_if_none_match_naming_the_stored_version_is_412(client, office, db):
    await put_count(client, office, today(), 12)

    named = await put_count(
        client, office, today(), 13, headers={**ADMIN, "If-None-Match": 'W/"7", "1"'}
    )
    other = await put_count(client, office, today(), 14, headers={**ADMIN, "If-None-Match": '"7"'})

    assert (named.status_code, other.status_code) == (412, 200)
    assert await stored_counts(db) == [(office, today(), 14, None, 2)]


async def test_if_none_match_for_an_office_token_outside_its_window_is_403_first(
    client, office, db
):
    token = await new_token(client, "office", office)

    response = await put_count(
        client, office, days_ago(400), 5, headers={**bearer(token), "If-None-Match": "*"}
    )

    assert response.status_code == 403
    assert await stored_counts(db) == []
