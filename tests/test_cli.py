"""The `rekam` command on its own committed database: token create, import, and what it
says of a database it cannot use."""

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from app.cli import shown_url
from app.main import create_app
from app.migrate import upgrade
from tests.conftest import ADMIN, ROOT, drop_database, new_database, settings_for
from tests.helpers import bearer, days_ago, today


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture(scope="module")
def cli_database(server_url: str) -> Iterator[str]:
    url = new_database(server_url, "cli")
    upgrade(url)
    yield url
    drop_database(server_url, url)


async def rekam(
    *args: str, database_url: str | None, stdin: bytes | None = None, **env: str
) -> Result:
    """The command with database_url (None: the embedded database) and env added to its
    environment ("" unsets a variable)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("REKAM_")}
    if database_url is not None:
        environment["REKAM_DATABASE_URL"] = database_url
    environment |= env
    # An empty value unsets the variable.
    environment = {k: v for k, v in environment.items() if v != ""}
    process = await asyncio.create_subprocess_exec(
        str(ROOT / ".venv" / "bin" / "rekam"),
        *args,
        cwd=ROOT,
        env=environment,
        stdin=asyncio.subprocess.DEVNULL if stdin is None else asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(stdin), timeout=120)
    assert process.returncode is not None
    return Result(process.returncode, stdout.decode(), stderr.decode())


@asynccontextmanager
async def committed_client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The app over the CLI's database, committing for real (no test transaction)."""
    engine = create_async_engine(database_url)
    try:
        app = create_app(settings_for(database_url), engine=engine)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://rekam.test") as client:
            yield client
    finally:
        await engine.dispose()


async def make_office(database_url: str, code: str) -> None:
    async with committed_client(database_url) as client:
        for region in ("73", "73.71", "73.71.01"):
            await client.put(f"/api/v1/regions/{region}", json={"name": region}, headers=ADMIN)
        response = await client.put(
            f"/api/v1/offices/{code}", json={"name": code, "region": "73.71.01"}, headers=ADMIN
        )
        assert response.status_code in (200, 201), response.text


async def office_counts(database_url: str, code: str) -> list[tuple]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text(
                    "SELECT c.date, c.recordings, c.note, c.version FROM counts c"
                    " JOIN offices o ON o.id = c.office_id WHERE o.code = :code ORDER BY c.date"
                ),
                {"code": code},
            )
            return [tuple(row) for row in rows]
    finally:
        await engine.dispose()


# token create


async def test_token_create_prints_an_admin_token_that_works(cli_database):
    result = await rekam(
        "token", "create", "--role", "admin", "--name", "ops", database_url=cli_database
    )

    assert result.returncode == 0, result.stderr
    (token,) = result.stdout.splitlines()
    assert token.startswith("rekam_")
    assert result.stderr == ""
    async with committed_client(cli_database) as client:
        listed = await client.get("/api/v1/tokens", headers=bearer(token))
        written = await client.put(
            "/api/v1/regions/74", json={"name": "Sultra"}, headers=bearer(token)
        )
    assert listed.status_code == 200
    assert {(t["role"], t["name"]) for t in listed.json()["tokens"]} >= {("admin", "ops")}
    assert written.status_code in (200, 201)


async def test_token_create_for_an_office_binds_it(cli_database):
    await make_office(cli_database, "CLI-TOKEN")

    result = await rekam(
        "token", "create", "--role", "office", "--office", "CLI-TOKEN", database_url=cli_database
    )

    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    async with committed_client(cli_database) as client:
        own = await client.put(
            f"/api/v1/offices/CLI-TOKEN/counts/{today()}",
            json={"recordings": 3},
            headers=bearer(token),
        )
        listing = await client.get("/api/v1/tokens", headers=bearer(token))
    assert own.status_code == 201
    assert listing.status_code == 403


async def test_token_create_for_an_unknown_office_fails_in_one_line(cli_database):
    result = await rekam(
        "token", "create", "--role", "office", "--office", "NOPE", database_url=cli_database
    )

    assert result.returncode != 0
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "NOPE" in result.stderr


async def test_token_create_with_an_unknown_role_is_refused(cli_database):
    result = await rekam("token", "create", "--role", "root", database_url=cli_database)

    assert result.returncode != 0
    assert "Traceback" not in result.stderr


# tokens issue, list, revoke


async def issue_offices(database_url: str, region: str, *offices: tuple[str, str]) -> None:
    """Regions down to `region` and offices (code, name) in it."""
    async with committed_client(database_url) as client:
        parts = region.split(".")
        for i in range(1, len(parts) + 1):
            await client.put(
                f"/api/v1/regions/{'.'.join(parts[:i])}", json={"name": "R"}, headers=ADMIN
            )
        for code, name in offices:
            response = await client.put(
                f"/api/v1/offices/{code}", json={"name": name, "region": region}, headers=ADMIN
            )
            assert response.status_code in (200, 201), response.text


async def live_tokens(database_url: str) -> int:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            return int(
                await connection.scalar(
                    text("SELECT count(*) FROM tokens WHERE revoked_at IS NULL")
                )
            )
    finally:
        await engine.dispose()


def read_csv(path) -> list[list[str]]:
    import csv

    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.reader(file))


async def test_tokens_issue_writes_a_file_only_its_owner_reads(cli_database, tmp_path):
    await issue_offices(
        cli_database, "74.01.01", ("CLI-ISS-1", "Kantor Satu"), ("CLI-ISS-2", "=Dua")
    )
    out = tmp_path / "tokens.csv"

    result = await rekam(
        "tokens", "issue", "--region", "74.01", "--out", str(out), database_url=cli_database
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"issued 2 tokens into {out}"
    assert out.stat().st_mode & 0o777 == 0o600
    rows = read_csv(out)
    assert rows[0] == ["office", "office_name", "region", "token"]
    assert [row[:3] for row in rows[1:]] == [
        ["CLI-ISS-1", "Kantor Satu", "74.01.01"],
        ["CLI-ISS-2", "'=Dua", "74.01.01"],
    ]
    async with committed_client(cli_database) as client:
        for row in rows[1:]:
            own = await client.put(
                f"/api/v1/offices/{row[0]}/counts/{today()}",
                json={"recordings": 1},
                headers=bearer(row[3]),
            )
            assert own.status_code == 201

    again = await rekam(
        "tokens",
        "issue",
        "--region",
        "74.01",
        "--out",
        str(tmp_path / "again.csv"),
        database_url=cli_database,
    )
    assert again.stdout.strip() == f"issued 0 tokens into {tmp_path / 'again.csv'}"
    assert read_csv(tmp_path / "again.csv") == [["office", "office_name", "region", "token"]]


async def test_tokens_issue_sheet_has_a_qr_link_per_office_with_its_token(cli_database, tmp_path):
    from tests.sheet_reader import read_sheet

    await issue_offices(cli_database, "74.41.01", ("CLI-SHT-1", "Satu"), ("CLI-SHT-2", "Dua"))
    out, sheet = tmp_path / "tokens.csv", tmp_path / "sheet.pdf"

    result = await rekam(
        "tokens", "issue", "--region", "74.41", "--out", str(out), "--sheet", str(sheet),
        "--base-url", "https://rekam.example.go.id/", database_url=cli_database,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert sheet.stat().st_mode & 0o777 == 0o600
    rows = read_csv(out)[1:]
    pages = read_sheet(sheet.read_bytes())
    assert len(pages) == len(rows) == 2
    for page, row in zip(pages, rows, strict=True):
        assert row[0] in page.text
        assert row[1] in page.text
        assert page.links == [f"https://rekam.example.go.id/lapor#token={row[3]}"]


async def test_tokens_issue_sheet_without_base_url_issues_nothing(cli_database, tmp_path):
    await issue_offices(cli_database, "74.42.01", ("CLI-SHU-1", "Satu"))
    before = await live_tokens(cli_database)
    out, sheet = tmp_path / "tokens.csv", tmp_path / "sheet.pdf"

    result = await rekam(
        "tokens", "issue", "--region", "74.42", "--out", str(out), "--sheet", str(sheet),
        database_url=cli_database,
    )  # fmt: skip

    assert result.returncode == 2
    assert "--base-url" in result.stderr
    assert not out.exists()
    assert not sheet.exists()
    assert await live_tokens(cli_database) == before


async def test_tokens_issue_refuses_to_overwrite_before_issuing_anything(cli_database, tmp_path):
    await issue_offices(cli_database, "74.02.01", ("CLI-OVW-1", "Satu"))
    out = tmp_path / "tokens.csv"
    out.write_text("earlier secrets\n")
    before = await live_tokens(cli_database)

    result = await rekam(
        "tokens", "issue", "--region", "74.02", "--out", str(out), database_url=cli_database
    )

    assert result.returncode == 2
    assert "refusing to overwrite" in result.stderr
    assert out.read_text() == "earlier secrets\n"
    assert await live_tokens(cli_database) == before


async def test_tokens_issue_that_fails_leaves_no_file(cli_database, tmp_path):
    out = tmp_path / "tokens.csv"

    result = await rekam(
        "tokens", "issue", "--region", "99.99", "--out", str(out), database_url=cli_database
    )

    assert result.returncode == 1
    assert "99.99" in result.stderr
    assert not out.exists()


async def test_tokens_rotate_revokes_the_old_tokens(cli_database, tmp_path):
    await issue_offices(cli_database, "74.03.01", ("CLI-ROT-1", "Satu"))
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    await rekam(
        "tokens", "issue", "--region", "74.03", "--out", str(first), database_url=cli_database
    )

    result = await rekam(
        "tokens",
        "issue",
        "--region",
        "74.03",
        "--rotate",
        "--out",
        str(second),
        database_url=cli_database,
    )

    assert result.returncode == 0, result.stderr
    (old,), (new,) = read_csv(first)[1:], read_csv(second)[1:]
    async with committed_client(cli_database) as client:
        assert (await client.get("/api/v1/regions/ID", headers=bearer(old[3]))).status_code == 401
        assert (await client.get("/api/v1/regions/ID", headers=bearer(new[3]))).status_code == 200


async def test_tokens_list_shows_the_live_tokens_of_a_region(cli_database, tmp_path):
    await issue_offices(cli_database, "74.04.01", ("CLI-LST-1", "Satu"))
    await rekam(
        "tokens",
        "issue",
        "--region",
        "74.04",
        "--out",
        str(tmp_path / "t.csv"),
        database_url=cli_database,
    )
    scoped = await rekam(
        "tokens",
        "create",
        "--role",
        "viewer",
        "--region",
        "74.04",
        "--name",
        "wall",
        database_url=cli_database,
    )
    assert scoped.returncode == 0, scoped.stderr

    result = await rekam("tokens", "list", "--region", "74.04", database_url=cli_database)

    assert result.returncode == 0, result.stderr
    header, *rows = [line.split() for line in result.stdout.splitlines()]
    assert header == ["id", "role", "office_or_scope", "name", "created", "last_used"]
    assert [(row[1], row[2]) for row in rows] == [("office", "CLI-LST-1"), ("viewer", "74.04")]
    assert rows[0][-1] == "-"  # never used
    everything = await rekam("tokens", "list", database_url=cli_database)
    assert len(everything.stdout.splitlines()) > len(rows) + 1


async def test_tokens_revoke_revokes_every_id_or_none(cli_database, tmp_path):
    await issue_offices(cli_database, "74.05.01", ("CLI-REV-1", "Satu"), ("CLI-REV-2", "Dua"))
    out = tmp_path / "t.csv"
    await rekam(
        "tokens", "issue", "--region", "74.05", "--out", str(out), database_url=cli_database
    )
    listed = await rekam("tokens", "list", "--region", "74.05", database_url=cli_database)
    ids = [line.split()[0] for line in listed.stdout.splitlines()[1:]]

    unknown = await rekam("tokens", "revoke", ids[0], "999999", database_url=cli_database)
    revoked = await rekam("tokens", "revoke", *ids, database_url=cli_database)

    assert unknown.returncode == 1
    assert "999999" in unknown.stderr
    assert revoked.returncode == 0, revoked.stderr
    assert revoked.stdout.strip().startswith("revoked 2 of 2")
    async with committed_client(cli_database) as client:
        for row in read_csv(out)[1:]:
            assert (
                await client.get("/api/v1/regions/ID", headers=bearer(row[3]))
            ).status_code == 401


# import


async def test_import_prints_the_summary(cli_database, tmp_path):
    await make_office(cli_database, "CLI-IMP")
    first = tmp_path / "first.csv"
    first.write_text(
        f"office,date,recordings,note\nCLI-IMP,{days_ago(1)},10,pagi\nCLI-IMP,{today()},4,\n"
    )
    second = tmp_path / "second.csv"
    second.write_text(
        f"office,date,recordings\nCLI-IMP,{days_ago(1)},11\nCLI-IMP,{today()},4\n"
        f"CLI-IMP,{days_ago(400)},2\n"
    )

    created = await rekam("import", str(first), database_url=cli_database)
    again = await rekam("import", str(second), database_url=cli_database)

    assert (created.returncode, again.returncode) == (0, 0), created.stderr + again.stderr
    assert created.stdout.strip() == "created 2, updated 0, unchanged 0"
    assert again.stdout.strip() == "created 1, updated 1, unchanged 1"
    assert await office_counts(cli_database, "CLI-IMP") == [
        (days_ago(400), 2, None, 1),
        (days_ago(1), 11, None, 2),
        (today(), 4, None, 1),
    ]
    async with committed_client(cli_database) as client:
        history = await client.get(
            f"/api/v1/offices/CLI-IMP/counts/{days_ago(1)}/history", headers=ADMIN
        )
    assert history.json()["revisions"][0]["actor"] == {
        "token_id": None,
        "role": "admin",
        "name": "rekam import",
    }


async def test_import_of_a_bad_file_prints_every_bad_line_and_writes_nothing(
    cli_database, tmp_path
):
    await make_office(cli_database, "CLI-BAD")
    path = tmp_path / "bad.csv"
    path.write_text(
        "office,date,recordings\n"  # line 1
        f"CLI-BAD,{today()},10\n"  # line 2: good
        f"CLI-BAD,{days_ago(1)},many\n"  # line 3
        f"CLI-BAD,{days_ago(2)},5\n"  # line 4: good
        f"NOWHERE,{days_ago(2)},5\n"  # line 5
        f"CLI-BAD,2025-02-30,5\n"  # line 6
    )

    result = await rekam("import", str(path), database_url=cli_database)

    assert result.returncode != 0
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    bad_lines = [line for line in result.stderr.splitlines() if line.strip().startswith("line ")]
    assert [line.split(":")[0].strip() for line in bad_lines] == ["line 3", "line 5", "line 6"]
    assert await office_counts(cli_database, "CLI-BAD") == []


async def test_import_of_an_unreadable_csv_fails_in_one_line(cli_database, tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("kantor,tanggal,jumlah\nX,2025-01-01,1\n")

    result = await rekam("import", str(path), database_url=cli_database)

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


async def test_import_of_a_missing_file_fails_in_one_line(cli_database, tmp_path):
    result = await rekam("import", str(tmp_path / "absent.csv"), database_url=cli_database)

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "absent.csv" in result.stderr


async def test_import_reads_standard_input(cli_database):
    await make_office(cli_database, "CLI-STDIN")
    body = f"office,date,recordings,note\nCLI-STDIN,{today()},7,dari stdin\n".encode()

    result = await rekam("import", "-", database_url=cli_database, stdin=body)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "created 1, updated 0, unchanged 0"
    assert result.stderr == ""
    assert await office_counts(cli_database, "CLI-STDIN") == [(today(), 7, "dari stdin", 1)]


@pytest.fixture(scope="module")
def empty_database(server_url: str) -> Iterator[str]:
    """A database that was never migrated."""
    url = new_database(server_url, "unmigrated")
    yield url
    drop_database(server_url, url)


def assert_one_line(result: Result) -> str:
    assert result.returncode != 0
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize(
    "command",
    [["token", "create", "--role", "admin"], ["import", "-"]],
    ids=["token create", "import"],
)
async def test_a_command_on_an_unmigrated_database_names_it_and_says_to_migrate(
    empty_database, command
):
    url = empty_database
    csv = f"office,date,recordings\nX,{today()},1\n".encode()

    line = assert_one_line(await rekam(*command, database_url=url, stdin=csv))

    assert shown_url(url) in line
    assert "rekam migrate" in line
    assert "does not exist" not in line
    password = make_url(url).password
    assert not password or password not in line


async def test_a_command_on_a_database_that_does_not_exist_names_it(server_url):
    url = make_url(server_url).set(database="rekam_no_such_database").render_as_string(False)

    line = assert_one_line(await rekam("token", "create", "--role", "admin", database_url=url))

    assert "'rekam_no_such_database'" in line
    assert shown_url(url) in line
    assert "rekam migrate" in line


@pytest.mark.parametrize("command", [["token", "create", "--role", "admin"], ["migrate"]])
async def test_a_server_that_does_not_answer_is_named(command):
    url = "postgresql://nobody:a-password-never-shown@127.0.0.1:1/none"

    line = assert_one_line(await rekam(*command, database_url=url))

    assert "127.0.0.1:1 does not answer" in line
    assert "postgresql://nobody@127.0.0.1:1/none" in line
    assert "a-password-never-shown" not in line


async def test_commands_on_the_embedded_database_print_no_warnings(tmp_path):
    # Without XDG_RUNTIME_DIR, as in a container, under cron or sudo: platformdirs warns then.
    data = str(tmp_path / "data")
    migrated = await rekam("migrate", database_url=None, REKAM_DATA_DIR=data, XDG_RUNTIME_DIR="")
    created = await rekam(
        "token",
        "create",
        "--role",
        "viewer",
        database_url=None,
        REKAM_DATA_DIR=data,
        XDG_RUNTIME_DIR="",
    )

    assert (migrated.returncode, created.returncode) == (0, 0), migrated.stderr + created.stderr
    assert (migrated.stderr, created.stderr) == ("", "")
