"""POST /api/v1/counts: batches of counts in JSON or CSV, all or nothing."""

import time
from datetime import timedelta

import pytest
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
    stored_counts,
    today,
)

BATCH = "/api/v1/counts"
CSV = {**ADMIN, "Content-Type": "text/csv"}


def item(office, day, recordings, **fields):
    return {"office": office, "date": day.isoformat(), "recordings": recordings, **fields}


async def post_json(client, items, headers=ADMIN):
    return await client.post(BATCH, json={"counts": items}, headers=headers)


async def post_csv(client, content, headers=CSV):
    body = content.encode() if isinstance(content, str) else content
    return await client.post(BATCH, content=body, headers=headers)


async def revisions(db):
    return await db.scalar(text("SELECT count(*) FROM count_revisions"))


@pytest.fixture
async def offices(client):
    await new_office(client, "MKS-01", "73.71.01")
    await new_office(client, "MKS-02", "73.71.02")
    await new_office(client, "GOW-01", "73.06")
    return ["MKS-01", "MKS-02", "GOW-01"]


# JSON


async def test_json_batch_creates_every_count(client, offices, db):
    response = await post_json(
        client,
        [
            item("MKS-01", today(), 10, note="pagi"),
            item("MKS-02", today(), 20),
            item("GOW-01", days_ago(40), 30),
        ],
    )

    assert response.status_code == 200, response.text
    assert response.json() == {"created": 3, "updated": 0, "unchanged": 0}
    assert await stored_counts(db) == [
        ("GOW-01", days_ago(40), 30, None, 1),
        ("MKS-01", today(), 10, "pagi", 1),
        ("MKS-02", today(), 20, None, 1),
    ]
    await assert_tallies_exact(db)


async def test_json_batch_reports_created_updated_and_unchanged(client, offices, db):
    await post_json(client, [item("MKS-01", today(), 10), item("MKS-02", today(), 20)])

    response = await post_json(
        client,
        [
            item("MKS-01", today(), 10),
            item("MKS-02", today(), 25),
            item("GOW-01", today(), 5),
        ],
    )

    assert response.json() == {"created": 1, "updated": 1, "unchanged": 1}
    assert await stored_counts(db) == [
        ("GOW-01", today(), 5, None, 1),
        ("MKS-01", today(), 10, None, 1),
        ("MKS-02", today(), 25, None, 2),
    ]
    assert await revisions(db) == 4
    await assert_tallies_exact(db)


async def test_batch_replaces_like_put_so_an_omitted_note_becomes_null(client, offices, db):
    await put_count(client, "MKS-01", today(), 10, note="pagi")

    response = await post_json(client, [item("MKS-01", today(), 10)])

    assert response.json() == {"created": 0, "updated": 1, "unchanged": 0}
    assert await stored_counts(db) == [("MKS-01", today(), 10, None, 2)]


async def test_batch_writes_history_as_put_does(client, offices):
    created = await client.post(
        "/api/v1/tokens",
        json={"role": "office", "office": "MKS-01", "name": "clerk"},
        headers=ADMIN,
    )
    token, token_id = created.json()["token"], created.json()["id"]
    await post_json(client, [item("MKS-01", today(), 10)])

    await post_json(client, [item("MKS-01", today(), 12, note="fix")], headers=bearer(token))

    history = (
        await client.get(f"/api/v1/offices/MKS-01/counts/{today()}/history", headers=ADMIN)
    ).json()
    assert [
        (r["version"], r["recordings"], r["note"], r["actor"]) for r in history["revisions"]
    ] == [
        (1, 10, None, {"token_id": None, "role": "admin", "name": "REKAM_ADMIN_TOKEN"}),
        (2, 12, "fix", {"token_id": token_id, "role": "office", "name": "clerk"}),
    ]


async def test_batch_recreates_a_deleted_count_with_the_next_version(client, offices, db):
    await put_count(client, "MKS-01", today(), 10)
    await client.delete(f"/api/v1/offices/MKS-01/counts/{today()}", headers=ADMIN)

    response = await post_json(client, [item("MKS-01", today(), 11)])

    assert response.json() == {"created": 1, "updated": 0, "unchanged": 0}
    assert await stored_counts(db) == [("MKS-01", today(), 11, None, 3)]
    await assert_tallies_exact(db)


async def test_same_office_and_date_twice_is_422(client, offices, db):
    response = await post_json(
        client,
        [
            item("MKS-01", today(), 10),
            item("MKS-02", today(), 20),
            item("MKS-01", today(), 11),
        ],
    )

    assert response.status_code == 422
    body = response.json()
    assert [(e["index"], e["office"], e["date"]) for e in body["errors"]] == [
        (2, "MKS-01", today().isoformat())
    ]
    assert "0" in body["errors"][0]["message"]
    assert await stored_counts(db) == []


async def test_every_invalid_item_is_named_and_nothing_written(client, offices, db):
    await new_office(client, "OLD-01", active=False)
    await new_office(client, "NEW-01", opened_on=days_ago(2).isoformat())

    response = await post_json(
        client,
        [
            item("MKS-01", today(), 10),
            item("MKS-01", days_ago(1), -1),
            item("NOPE", today(), 1),
            item("MKS-02", today() + timedelta(days=1), 1),
            {"office": "MKS-02", "date": "2025-02-30", "recordings": 1},
            item("GOW-01", today(), 1, version=3),
            item("OLD-01", today(), 1),
            item("NEW-01", days_ago(3), 1),
            {"office": 7, "date": today().isoformat(), "recordings": 1},
            item("GOW-01", days_ago(1), 100_001),
            item("GOW-01", days_ago(2), 5, note="n" * 501),
            {"office": "GOW-01", "recordings": 5},
            "not an object",
            item("MKS-02", days_ago(1), 3),
        ],
    )

    assert response.status_code == 422
    body = response.json()
    assert "detail" in body
    assert [(e["index"], e["office"], e["date"]) for e in body["errors"]] == [
        (1, "MKS-01", days_ago(1).isoformat()),
        (2, "NOPE", today().isoformat()),
        (3, "MKS-02", (today() + timedelta(days=1)).isoformat()),
        (4, "MKS-02", "2025-02-30"),
        (5, "GOW-01", today().isoformat()),
        (6, "OLD-01", today().isoformat()),
        (7, "NEW-01", days_ago(3).isoformat()),
        (8, None, today().isoformat()),
        (9, "GOW-01", days_ago(1).isoformat()),
        (10, "GOW-01", days_ago(2).isoformat()),
        (11, "GOW-01", None),
        (12, None, None),
    ]
    for error in body["errors"]:
        assert set(error) == {"index", "office", "date", "message"}
        assert error["message"]
    assert await stored_counts(db) == []
    assert await revisions(db) == 0


@pytest.mark.parametrize(
    "content",
    [
        b"{counts: []",
        b"[]",
        b'{"counts": {}}',
        b'{"counts": [], "extra": 1}',
        b'{"items": []}',
        b"\xff\xfe",
    ],
    ids=["not-json", "list", "counts-not-list", "extra-member", "wrong-member", "not-utf8"],
)
async def test_body_of_the_wrong_shape_is_422(client, offices, content):
    response = await client.post(
        BATCH, content=content, headers={**ADMIN, "Content-Type": "application/json"}
    )

    assert response.status_code == 422
    assert "detail" in response.json()


async def test_empty_batch_is_422(client, offices):
    response = await post_json(client, [])

    assert response.status_code == 422


async def test_other_media_types_are_refused(client, offices):
    response = await client.post(
        BATCH, content=b"<counts/>", headers={**ADMIN, "Content-Type": "application/xml"}
    )

    assert response.status_code == 415
    assert "detail" in response.json()


# Sizes


async def test_batch_over_the_configured_limit_is_413(database_url, engine, connection):
    async with client_with(database_url, engine, connection, max_batch=3) as client:
        await new_office(client, "MKS-01")
        items = [item("MKS-01", days_ago(n), 1) for n in range(4)]

        full = await post_json(client, items[:3])
        over = await post_json(client, items)
        over_csv = await post_csv(
            client,
            "office,date,recordings\n" + "".join(f"MKS-01,{days_ago(n)},1\n" for n in range(4)),
        )

    assert full.status_code == 200
    assert (over.status_code, over_csv.status_code) == (413, 413)
    assert "detail" in over.json()


async def test_batch_of_10001_items_is_413(client, offices, db):
    items = [item("MKS-01", days_ago(n), 1) for n in range(10_001)]

    response = await post_json(client, items)

    assert response.status_code == 413
    assert await stored_counts(db) == []


async def test_csv_of_10001_rows_is_413(client, offices):
    rows = "".join(f"MKS-01,{days_ago(n)},1\n" for n in range(10_001))

    response = await post_csv(client, "office,date,recordings\n" + rows)

    assert response.status_code == 413


async def test_batch_of_10000_items_is_written(client, offices, db):
    items = [item(office, days_ago(n), n % 97) for office in offices[:2] for n in range(5_000)]

    started = time.monotonic()
    response = await post_json(client, items)

    assert response.status_code == 200, response.text[:500]
    assert response.json() == {"created": 10_000, "updated": 0, "unchanged": 0}
    assert time.monotonic() - started < 20
    assert await db.scalar(text("SELECT count(*) FROM counts")) == 10_000
    nation = await db.scalar(text("SELECT sum(recordings) FROM region_totals WHERE region = 'ID'"))
    assert nation == 2 * sum(n % 97 for n in range(5_000))


async def test_body_over_5_mb_is_413(client, offices):
    body = b'{"counts": [' + b" " * (5 * 1024 * 1024) + b"]}"

    response = await client.post(
        BATCH, content=body, headers={**ADMIN, "Content-Type": "application/json"}
    )

    assert response.status_code == 413
    assert "detail" in response.json()


async def test_streamed_body_over_5_mb_is_413(client, offices):
    async def chunks():
        yield b"office,date,recordings\n"
        for _ in range(6):
            yield b"#" * (1024 * 1024)

    response = await client.post(BATCH, content=chunks(), headers=CSV)

    assert response.status_code == 413


# CSV


async def test_csv_batch_creates_counts(client, offices, db):
    content = (
        "office,date,recordings,note\n"
        f'MKS-01,{today()},10,"pagi, lalu siang"\n'
        f"MKS-02,{today()},20,\n"
        f"GOW-01,{days_ago(3)},0,libur\n"
    )

    response = await post_csv(client, content)

    assert response.status_code == 200, response.text
    assert response.json() == {"created": 3, "updated": 0, "unchanged": 0}
    assert await stored_counts(db) == [
        ("GOW-01", days_ago(3), 0, "libur", 1),
        ("MKS-01", today(), 10, "pagi, lalu siang", 1),
        ("MKS-02", today(), 20, None, 1),
    ]
    await assert_tallies_exact(db)


async def test_csv_without_note_column(client, offices, db):
    response = await post_csv(client, f"office,date,recordings\nMKS-01,{today()},10\n")

    assert response.json() == {"created": 1, "updated": 0, "unchanged": 0}
    assert await stored_counts(db) == [("MKS-01", today(), 10, None, 1)]


async def test_csv_with_bom_and_crlf_line_ends(client, offices, db):
    content = f"\ufeffoffice,date,recordings\r\nMKS-01,{today()},10\r\nMKS-02,{today()},4\r\n"

    response = await post_csv(client, content.encode("utf-8"))

    assert response.json() == {"created": 2, "updated": 0, "unchanged": 0}


async def test_csv_reports_created_updated_and_unchanged(client, offices):
    await put_count(client, "MKS-01", today(), 10)
    await put_count(client, "MKS-02", today(), 20)

    response = await post_csv(
        client,
        f"office,date,recordings\nMKS-01,{today()},10\nMKS-02,{today()},21\nGOW-01,{today()},1\n",
    )

    assert response.json() == {"created": 1, "updated": 1, "unchanged": 1}


async def test_csv_errors_carry_the_line_in_the_file(client, offices, db):
    content = (
        "office,date,recordings,note\n"  # line 1
        f"MKS-01,{today()},10,\n"  # line 2: good
        f"MKS-01,{days_ago(1)},ten,\n"  # line 3: recordings not a number
        "\n"  # line 4: blank, skipped
        f"MKS-02,{today()},5\n"  # line 5: a field short
        f'MKS-02,{days_ago(1)},5,"two\nlines"\n'  # lines 6-7: good
        f"NOPE,{today()},1,\n"  # line 8: unknown office
        f"GOW-01,{today()},1,\n"  # line 9: good
        f"MKS-01,{today()},11,\n"  # line 10: same as line 2
        f"GOW-01,2025-02-30,1,\n"  # line 11: impossible date
    )

    response = await post_csv(client, content)

    assert response.status_code == 422
    assert [(e["index"], e["line"], e["office"], e["date"]) for e in response.json()["errors"]] == [
        (1, 3, "MKS-01", days_ago(1).isoformat()),
        (2, 5, "MKS-02", today().isoformat()),
        (4, 8, "NOPE", today().isoformat()),
        (6, 10, "MKS-01", today().isoformat()),
        (7, 11, "GOW-01", "2025-02-30"),
    ]
    for error in response.json()["errors"]:
        assert set(error) == {"index", "line", "office", "date", "message"}
    assert await stored_counts(db) == []


@pytest.mark.parametrize(
    "content",
    [
        "",
        "office,date,recordings\n",
        "office,date\nMKS-01,2025-01-01\n",
        "office,date,recordings,note,extra\nMKS-01,2025-01-01,1,,\n",
        'office,date,recordings\n"MKS-01,2025-01-01,1\n',
    ],
    ids=[
        "empty",
        "header-only",
        "missing-column",
        "extra-column",
        "open-quote",
    ],
)
async def test_unreadable_csv_is_422(client, offices, db, content):
    response = await post_csv(client, content)

    assert response.status_code == 422
    assert "detail" in response.json()
    assert await stored_counts(db) == []


async def test_csv_that_is_not_utf8_is_422(client, offices):
    response = await post_csv(
        client, "office,date,recordings\nKantör,2025-01-01,1\n".encode("latin-1")
    )

    assert response.status_code == 422


# Who may


async def test_office_token_writes_its_own_office_batch(client, offices, db):
    token = await new_token(client, "office", "MKS-01")

    response = await post_json(
        client,
        [item("MKS-01", today(), 3), item("MKS-01", days_ago(6), 4)],
        headers=bearer(token),
    )

    assert response.status_code == 200
    assert response.json() == {"created": 2, "updated": 0, "unchanged": 0}


async def test_office_token_batch_with_another_office_is_403(client, offices, db):
    token = await new_token(client, "office", "MKS-01")

    response = await post_json(
        client,
        [item("MKS-01", today(), 3), item("MKS-02", today(), 4)],
        headers=bearer(token),
    )

    assert response.status_code == 403
    assert [(e["index"], e["office"]) for e in response.json()["errors"]] == [(1, "MKS-02")]
    assert await stored_counts(db) == []


async def test_office_token_batch_is_403_even_when_items_are_also_invalid(client, offices, db):
    token = await new_token(client, "office", "MKS-01")

    response = await post_json(
        client,
        [
            item("MKS-01", today(), -3),
            item("MKS-02", today(), 4),
            item("NOPE", today(), 4),
        ],
        headers=bearer(token),
    )

    assert response.status_code == 403
    assert await stored_counts(db) == []


async def test_office_token_batch_outside_the_edit_window_is_403(client, offices, db):
    token = await new_token(client, "office", "MKS-01")

    response = await post_json(
        client,
        [item("MKS-01", today(), 3), item("MKS-01", days_ago(7), 4)],
        headers=bearer(token),
    )

    assert response.status_code == 403
    assert "admin" in response.json()["detail"] or "admin" in str(response.json()["errors"])
    assert [(e["index"], e["date"]) for e in response.json()["errors"]] == [
        (1, days_ago(7).isoformat())
    ]
    assert await stored_counts(db) == []


async def test_office_token_batch_outside_the_window_is_403_even_when_invalid(client, offices, db):
    token = await new_token(client, "office", "MKS-01")

    response = await post_json(
        client,
        [item("MKS-01", today(), 3), item("MKS-01", days_ago(30), -4)],
        headers=bearer(token),
    )

    assert response.status_code == 403
    assert await stored_counts(db) == []


async def test_office_token_csv_with_another_office_is_403(client, offices, db):
    token = await new_token(client, "office", "MKS-01")

    response = await post_csv(
        client,
        f"office,date,recordings\nMKS-01,{today()},1\nMKS-02,{today()},x\n",
        headers={**bearer(token), "Content-Type": "text/csv"},
    )

    assert response.status_code == 403
    assert await stored_counts(db) == []


async def test_viewer_cannot_post_a_batch(client, offices, db):
    viewer = await new_token(client, "viewer")

    response = await post_json(client, [item("MKS-01", today(), 3)], headers=bearer(viewer))

    assert response.status_code == 403
    assert await stored_counts(db) == []


async def test_batch_needs_a_token_before_anything_else(client, offices):
    response = await client.post(BATCH, json={"counts": [{"bogus": 1}]})

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


# Tallies


async def test_tallies_follow_batches_puts_and_deletes(client, offices, db):
    await new_office(client, "KDI-01", "74.71.01.2001")
    month_start = today().replace(day=1)
    await post_json(
        client,
        [
            item(office, day, 3 * i + j)
            for i, office in enumerate(["MKS-01", "MKS-02", "GOW-01", "KDI-01"])
            for j, day in enumerate([today(), month_start - timedelta(days=1), days_ago(90)])
        ],
    )
    await post_csv(
        client,
        f"office,date,recordings\nMKS-01,{today()},50\nKDI-01,{days_ago(90)},0\n"
        f"GOW-01,{days_ago(200)},8\n",
    )
    await client.delete(f"/api/v1/offices/MKS-02/counts/{today()}", headers=ADMIN)
    await put_count(client, "MKS-02", today(), 4)

    await assert_tallies_exact(db)
    nation = await db.scalar(text("SELECT sum(recordings) FROM region_days WHERE region = 'ID'"))
    assert nation == await db.scalar(text("SELECT sum(recordings) FROM counts"))
