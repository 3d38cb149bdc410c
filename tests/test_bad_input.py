"""Bad input gets a 422 (or 415) in the one problem shape, and writes nothing.

Every write route is sent non-finite numbers, bodies that are not UTF-8, bodies nested far
deeper than any real one, and bodies in other media types; every path, query and body field
that carries a code or a date is sent that code or date with a space, newline, NUL or other
scripts' digits around or in it.
"""

from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import text

from tests.conftest import ADMIN
from tests.helpers import new_office, put_count, today

TABLES = ("regions", "offices", "tokens", "counts", "count_revisions", "figures")


async def snapshot(db: Any) -> dict[str, int]:
    return {t: await db.scalar(text(f"SELECT count(*) FROM {t}")) for t in TABLES}


@pytest.fixture
async def tree(client):
    await new_office(client, "MKS-01", "73.71.01", opened_on="2020-01-01")
    response = await client.put(
        "/api/v1/regions/73.71/figures/2024-01-01", json={"eligible": 10}, headers=ADMIN
    )
    assert response.status_code == 201


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-request-id"]
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"] == "about:blank"
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
    for item in body.get("errors", []):
        assert {"field", "message"} <= set(item) or {"index", "message"} <= set(item), item
        assert not {"type", "input", "ctx", "url", "loc", "msg"} & set(item), item
    return body


# (method, path, body template): "@" marks where a number goes.
WRITES = [
    ("PUT", f"/api/v1/offices/MKS-01/counts/{today()}", '{"recordings": @}'),
    ("PUT", "/api/v1/regions/73.72", '{"name": "Bone", "daily_target": @}'),
    ("PUT", "/api/v1/regions/73.71/figures/2024-02-01", '{"eligible": @}'),
    ("PUT", "/api/v1/offices/NEW-1", '{"name": "N", "region": "73.71.01", "daily_target": @}'),
    ("POST", "/api/v1/tokens", '{"role": "viewer", "name": @}'),
    ("POST", "/api/v1/counts", f'{{"counts": [{{"office": "MKS-01", "date": "{today()}", '
     '"recordings": @}]}'),
]  # fmt: skip
WRITE_IDS = [f"{m} {p}" for m, p, _ in WRITES]
JSON = {**ADMIN, "Content-Type": "application/json"}


@pytest.mark.parametrize(("method", "path", "template"), WRITES, ids=WRITE_IDS)
@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e309", "-1e400"])
async def test_non_finite_numbers_are_422(client, tree, db, method, path, template, number):
    before = await snapshot(db)
    body = template.replace("@", number).encode()

    response = await client.request(method, path, content=body, headers=JSON)

    assert_problem(response, 422)
    assert await snapshot(db) == before


@pytest.mark.parametrize(("method", "path", "template"), WRITES, ids=WRITE_IDS)
@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32", "latin-1", "stray"])
async def test_bodies_that_are_not_utf8_are_422(client, tree, db, method, path, template, encoding):
    before = await snapshot(db)
    if encoding == "stray":
        body = template.replace("@", "9").encode().replace(b"9", b"9\xe2\xc0x7")
    else:
        # A name or note with a letter outside ASCII, so Latin-1 differs from UTF-8.
        body = template.replace("@", '"Sulawesi Selatan é"').encode(encoding)

    response = await client.request(method, path, content=body, headers=JSON)

    assert_problem(response, 422)
    assert await snapshot(db) == before


@pytest.mark.parametrize(("method", "path", "template"), WRITES, ids=WRITE_IDS)
@pytest.mark.parametrize("depth", [1_000, 100_000])
async def test_deeply_nested_bodies_are_422(client, tree, db, method, path, template, depth):
    before = await snapshot(db)
    body = template.replace("@", "[" * depth + "]" * depth).encode()

    response = await client.request(method, path, content=body, headers=JSON)

    assert_problem(response, 422)
    assert await snapshot(db) == before


@pytest.mark.parametrize(("method", "path", "template"), WRITES, ids=WRITE_IDS)
@pytest.mark.parametrize(
    "content_type",
    ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain"],
)
async def test_other_media_types_are_415(client, tree, db, method, path, template, content_type):
    before = await snapshot(db)

    response = await client.request(
        method,
        path,
        content=template.replace("@", "1").encode(),
        headers={**ADMIN, "Content-Type": content_type},
    )

    body = assert_problem(response, 415)
    assert "application/json" in body["detail"]
    assert await snapshot(db) == before


async def test_a_body_without_content_type_is_read_as_json(client, tree):
    response = await client.put(
        f"/api/v1/offices/MKS-01/counts/{today()}", content=b'{"recordings": 5}', headers=ADMIN
    )
    assert response.status_code == 201, response.text
    response = await client.put("/api/v1/regions/73.72", content=b'{"name": "Bone"}', headers=ADMIN)
    assert response.status_code == 201, response.text


async def test_json_with_a_suffix_media_type_is_json(client, tree):
    response = await client.put(
        "/api/v1/regions/73.72",
        content=b'{"name": "Bone"}',
        headers={**ADMIN, "Content-Type": "application/merge-patch+json; charset=utf-8"},
    )
    assert response.status_code == 201, response.text


async def test_validation_errors_name_the_field_and_echo_no_input(client, tree):
    response = await client.put(
        "/api/v1/regions/73.72",
        json={"name": "x" * 5000, "daily_target": -1, "coverage_target": 7},
        headers=ADMIN,
    )
    body = assert_problem(response, 422)
    fields = {item["field"] for item in body["errors"]}
    assert fields == {"body.name", "body.daily_target", "body.coverage_target"}
    assert "xxxxxxxxxx" not in response.text


async def test_an_unknown_member_is_named(client, tree):
    response = await client.put(
        f"/api/v1/offices/MKS-01/counts/{today()}",
        json={"recordings": 1, "version": 9},
        headers=ADMIN,
    )
    body = assert_problem(response, 422)
    assert body["errors"] == [
        {"field": "body.version", "message": "Extra inputs are not permitted"}
    ]


# Codes and dates match the whole string.

FULLWIDTH = str.maketrans("0123456789", "".join(chr(0xFF10 + i) for i in range(10)))
ARABIC_INDIC = str.maketrans("0123456789", "".join(chr(0x0660 + i) for i in range(10)))
CODE_VARIANTS = [
    lambda c: c + "\n",
    lambda c: "\n" + c,
    lambda c: c + " ",
    lambda c: " " + c,
    lambda c: c + "\t",
    lambda c: c + "\x00",
    lambda c: c + "\r\n",
    # Full-width and Arabic-Indic digits in place of ASCII ones.
    lambda c: c.translate(FULLWIDTH),
    lambda c: c.translate(ARABIC_INDIC),
]
VARIANT_IDS = ["newline", "leading-newline", "space", "leading-space", "tab", "nul", "crlf",
               "fullwidth", "arabic-indic"]  # fmt: skip
DAY = "2024-03-01"


def _path(value: str) -> str:
    return quote(value, safe="")


def _requests(region: str, office: str, day: str) -> list[tuple[str, str, dict[str, Any]]]:
    """Each place a code or a date goes, with everything else valid."""
    r, o, d = _path(region), _path(office), _path(day)
    name = {"name": "N"}
    return [
        ("PUT", f"/api/v1/regions/{r}", {"json": name}),
        ("GET", f"/api/v1/regions/{r}", {}),
        ("PUT", f"/api/v1/regions/{r}/figures/{DAY}", {"json": {"eligible": 1}}),
        ("GET", f"/api/v1/progress/{r}", {}),
        ("GET", "/api/v1/regions", {"params": {"parent": region}}),
        ("GET", "/api/v1/offices", {"params": {"region": region}}),
        ("GET", "/api/v1/counts.csv", {"params": {"region": region}}),
        ("PUT", "/api/v1/offices/NEW-1", {"json": {**name, "region": region}}),
        ("PUT", f"/api/v1/offices/{o}", {"json": {**name, "region": "73.71.01"}}),
        ("GET", f"/api/v1/offices/{o}", {}),
        ("PUT", f"/api/v1/offices/{o}/counts/{DAY}", {"json": {"recordings": 1}}),
        ("POST", "/api/v1/tokens", {"json": {"role": "office", "office": office}}),
        ("PUT", f"/api/v1/offices/MKS-01/counts/{d}", {"json": {"recordings": 1}}),
        ("GET", f"/api/v1/offices/MKS-01/counts/{d}", {}),
        ("PUT", f"/api/v1/regions/73.71/figures/{d}", {"json": {"eligible": 1}}),
        ("GET", "/api/v1/progress/73.71", {"params": {"as_of": day}}),
        ("GET", "/api/v1/progress/73.71/series", {"params": {"from": day}}),
        ("GET", "/api/v1/counts.csv", {"params": {"region": "73", "to": day}}),
        ("GET", "/api/v1/offices/MKS-01/counts", {"params": {"from": day}}),
        ("PUT", "/api/v1/offices/NEW-1",
         {"json": {**name, "region": "73.71.01", "opened_on": day}}),
        ("PUT", "/api/v1/regions/73.72",
         {"json": {**name, "coverage_target": 0.85, "coverage_deadline": day}}),
        ("POST", "/api/v1/counts",
         {"json": {"counts": [{"office": office, "date": DAY, "recordings": 1}]}}),
        ("POST", "/api/v1/counts",
         {"json": {"counts": [{"office": "MKS-01", "date": day, "recordings": 1}]}}),
        ("POST", "/api/v1/counts",
         {"json": {"counts": [{"office": "MKS-01", "date": DAY, "recordings": 1,
                               "region": region}]}}),
    ]  # fmt: skip


def _changed(valid: tuple[str, str, str], variant: Any) -> list[tuple[str, str, dict[str, Any]]]:
    """The requests where exactly one code or date is the variant: those that differ from the
    all-valid request."""
    good = _requests(*valid)
    region, office, day = valid
    bad = (
        _requests(variant(region), office, day)
        + _requests(region, variant(office), day)
        + _requests(region, office, variant(day))
    )
    return [request for request in bad if request not in good]


@pytest.mark.parametrize("variant", CODE_VARIANTS, ids=VARIANT_IDS)
async def test_codes_and_dates_match_the_whole_string(client, tree, db, variant):
    before = await snapshot(db)
    checked = _changed(("73.71.01", "MKS-01", DAY), variant)
    assert len(checked) >= 24

    for method, path, kwargs in checked:
        response = await client.request(method, path, headers=ADMIN, **kwargs)
        assert_problem(response, 422)

    assert await snapshot(db) == before


@pytest.mark.parametrize("variant", CODE_VARIANTS, ids=VARIANT_IDS)
async def test_csv_codes_and_dates_match_the_whole_string(client, tree, db, variant):
    before = await snapshot(db)
    for row in (f'"{variant("MKS-01")}",{DAY},1', f'MKS-01,"{variant(DAY)}",1'):
        response = await client.post(
            "/api/v1/counts",
            content=f"office,date,recordings\n{row}\n".encode(),
            headers={**ADMIN, "Content-Type": "text/csv"},
        )
        body = assert_problem(response, 422)
        assert "errors" in body, body
        assert body["errors"][0]["line"] == 2, body
    assert await snapshot(db) == before


async def test_a_date_that_does_not_exist_says_so_the_same_way_everywhere(client, tree, db):
    before = await snapshot(db)
    path = await client.put(
        "/api/v1/offices/MKS-01/counts/2024-02-30", json={"recordings": 1}, headers=ADMIN
    )
    figure = await client.put(
        "/api/v1/regions/73.71/figures/2024-02-30", json={"eligible": 1}, headers=ADMIN
    )
    batch = await client.post(
        "/api/v1/counts",
        json={"counts": [{"office": "MKS-01", "date": "2024-02-30", "recordings": 1}]},
        headers=ADMIN,
    )
    csv = await client.post(
        "/api/v1/counts",
        content=b"office,date,recordings\nMKS-01,2024-02-30,1\n",
        headers={**ADMIN, "Content-Type": "text/csv"},
    )
    badly_written = await client.put(
        "/api/v1/offices/MKS-01/counts/2024-2-3", json={"recordings": 1}, headers=ADMIN
    )

    messages = [
        assert_problem(path, 422)["errors"][0]["message"],
        assert_problem(figure, 422)["errors"][0]["message"],
        assert_problem(batch, 422)["errors"][0]["message"].removeprefix("date: "),
        assert_problem(csv, 422)["errors"][0]["message"].removeprefix("date: "),
    ]
    assert len(set(messages)) == 1
    assert "does not exist" in messages[0]
    assert assert_problem(badly_written, 422)["errors"][0]["message"] != messages[0]
    assert await snapshot(db) == before


# The rest of the one interface.


async def test_405_lists_the_methods_of_the_path(client, tree):
    response = await client.post("/api/v1/regions/73.71", headers=ADMIN)
    assert_problem(response, 405)
    assert set(response.headers["allow"].split(", ")) == {"GET", "PUT", "DELETE"}

    response = await client.patch(f"/api/v1/offices/MKS-01/counts/{today()}", headers=ADMIN)
    assert_problem(response, 405)
    assert set(response.headers["allow"].split(", ")) == {"GET", "PUT", "DELETE"}


async def test_405_never_lists_a_method_of_a_path_that_only_looks_alike(client):
    # /tokens/issue is not /tokens/{token_id}: its DELETE is not this path's.
    response = await client.get("/api/v1/tokens/issue", headers=ADMIN)
    assert_problem(response, 405)
    assert response.headers["allow"] == "POST"


async def test_an_unknown_path_is_a_problem_too(client):
    assert_problem(await client.get("/api/v1/nothing-here", headers=ADMIN), 404)


async def test_no_redirect_reflects_the_host_header(client, tree):
    for path in ("/api/v1/regions/", "/api/v1/progress/73.71/", "/dashboard/", "/"):
        response = await client.get(path, headers={**ADMIN, "Host": "evil.example"})
        assert "evil.example" not in response.headers.get("location", ""), path


async def test_a_count_note_may_not_hold_nul(client, tree, db):
    before = await snapshot(db)
    response = await put_count(client, "MKS-01", today(), 1, note="a\x00b")
    assert_problem(response, 422)
    assert await snapshot(db) == before
