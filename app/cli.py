"""The `rekam` command: serve, migrate, tokens (create, issue, list, revoke), import, regions
load, offices create, demo."""

import argparse
import asyncio
import csv
import os
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Literal, TypeVar, cast

from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app import codes
from app.auth import Actor
from app.config import Settings, describe_settings_error, get_settings
from app.db import create_engine, create_session_factory, embedded_database_url
from app.errors import RekamError
from app.schemas import OfficeKind

T = TypeVar("T")
CLI_ACTOR = Actor(token_id=None, role="admin", name="rekam import")
# Who the record of changes names for token commands run on the server itself.
TOKENS_ACTOR = Actor(token_id=None, role="admin", name="rekam tokens")


class CommandError(Exception):
    exit_code = 2


class DatabaseProblem(CommandError):
    """The database cannot be used: away, missing, refusing us, or without Rekam's schema."""

    exit_code = 1


def shown_url(url: str) -> str:
    """The database URL for a message: the driver and the password left out."""
    parsed = make_url(url)
    return URL.create(
        parsed.get_backend_name(),
        username=parsed.username,
        host=parsed.host,
        port=parsed.port,
        database=parsed.database,
        query=parsed.query,
    ).render_as_string(hide_password=False)


def _server(url: str) -> str:
    parsed = make_url(url)
    host = parsed.host or parsed.query.get("host") or "localhost"
    return f"{host}:{parsed.port or 5432}"


def database_problem(url: str, error: BaseException) -> DatabaseProblem:
    """What went wrong with the database at url, in one line that names it."""
    shown = shown_url(url)
    first_line = (str(error).splitlines() or [type(error).__name__])[0]
    if isinstance(error, OSError):  # refused, unreachable, unknown host, timed out
        reason = "no answer in time" if isinstance(error, TimeoutError) else first_line
        return DatabaseProblem(
            f"the database server at {_server(url)} does not answer ({reason}); "
            f"REKAM_DATABASE_URL is {shown}"
        )
    orig = getattr(error, "orig", None)
    message = str(orig) if orig is not None else first_line
    sqlstate = getattr(orig, "sqlstate", None) or ""
    if sqlstate == "3D000":  # invalid_catalog_name
        database = make_url(url).database
        return DatabaseProblem(
            f"there is no database {database!r} on the server at {_server(url)} ({shown}): "
            "create it, then run `rekam migrate`"
        )
    if sqlstate.startswith("28"):  # invalid authorization
        return DatabaseProblem(f"the database server refused {shown}: {message}")
    return DatabaseProblem(f"database error on {shown}: {message}")


async def _check_schema(connection: AsyncConnection, url: str) -> None:
    """Refuse, naming the database and what to run, one without Rekam's latest schema."""
    from app.migrate import head_revision

    if await connection.scalar(text("SELECT to_regclass('alembic_version')")) is None:
        raise DatabaseProblem(
            f"the database {shown_url(url)} holds no Rekam schema: "
            "run `rekam migrate` if it is the right one, or set REKAM_DATABASE_URL"
        )
    current = await connection.scalar(text("SELECT version_num FROM alembic_version"))
    if current != head_revision():
        raise DatabaseProblem(
            f"the schema of {shown_url(url)} is at revision {current}, not the latest "
            f"({head_revision()}): run `rekam migrate`"
        )


def _settings() -> Settings:
    try:
        return get_settings()
    except ValidationError as error:
        raise CommandError(describe_settings_error(error)) from None


def _database_url(settings: Settings) -> str:
    """The configured database, or the embedded one kept in REKAM_DATA_DIR."""
    if settings.database_url:
        return settings.database_url
    url = embedded_database_url(settings.data_dir)
    # Workers and child commands find the same server through the environment.
    os.environ["REKAM_DATABASE_URL"] = url
    get_settings.cache_clear()
    return url


def _migrate(url: str, wait_seconds: float = 0) -> None:
    """Bring the schema to the latest, waiting up to wait_seconds for the database to answer."""
    from app.migrate import upgrade

    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            upgrade(url)
            return
        except (OSError, OperationalError, InterfaceError) as error:
            if time.monotonic() >= deadline:
                raise database_problem(url, error) from None
            print(f"waiting for the database: {str(error).splitlines()[0]}", file=sys.stderr)
            time.sleep(2)
        except SQLAlchemyError as error:
            raise database_problem(url, error) from None


async def _in_session(
    settings: Settings, url: str, work: Callable[[AsyncSession], Awaitable[T]]
) -> T:
    engine = create_engine(settings, url)
    try:
        async with engine.connect() as connection:
            await _check_schema(connection, url)
        async with create_session_factory(engine)() as session:
            return await work(session)
    except (OSError, SQLAlchemyError) as error:
        raise database_problem(url, error) from None
    finally:
        await engine.dispose()


def cmd_migrate(args: argparse.Namespace) -> None:
    settings = _settings()
    _migrate(_database_url(settings))
    print("database migrated to the latest schema")


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    from app.logs import log_config

    settings = _settings()
    url = _database_url(settings)
    # A container may start before its database: wait for it rather than fail at once.
    _migrate(url, wait_seconds=args.wait_for_database)
    if args.demo_if_empty:
        from app.services.demo import load_demo_if_empty

        loaded = asyncio.run(_in_session(settings, url, load_demo_if_empty))
        if loaded:
            print("the database was empty: loaded the Makassar demo data", file=sys.stderr)
    if args.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Each worker writes its metrics here; /metrics in any worker adds them all up.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="rekam-metrics-")
    # Standard output carries the request log alone, one JSON object per line (app/logs.py).
    where = f"http://{args.host}:{args.port}"
    print(f"Rekam serving on {where}  (dashboard: /dashboard, API docs: /docs)", file=sys.stderr)
    print(
        "Get an admin token with:  .venv/bin/rekam token create --role admin --name me",
        file=sys.stderr,
    )
    # On SIGTERM uvicorn lets the requests in flight finish, then raises the signal again, and
    # the process would die of it after a clean stop; a clean stop exits 0.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_config=log_config(),
        log_level="info",
        access_log=False,
        # uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise: any process
        # on the host could then pick its address, to escape the per-address limits or to
        # spend another's. Only the proxies named in REKAM_TRUSTED_PROXIES are believed.
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=",".join(settings.trusted_proxies),
        timeout_graceful_shutdown=30,
    )


def cmd_token_create(args: argparse.Namespace) -> None:
    from app.services.tokens import CreatedToken, create_token

    settings = _settings()
    url = _database_url(settings)

    async def work(session: AsyncSession) -> CreatedToken:
        return await create_token(
            session,
            actor=TOKENS_ACTOR,
            role=args.role,
            office=args.office,
            region=args.region,
            name=args.name,
        )

    created = asyncio.run(_in_session(settings, url, work))
    print(created.token)


ISSUED_COLUMNS = ("office", "office_name", "region", "token")


def _create_secret_file(path: Path) -> int:
    """A new file only its owner can read, or a CommandError: an existing file is never
    overwritten (it may hold the secrets of an earlier issue)."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise CommandError(f"{path} exists already: refusing to overwrite it") from None
    except OSError as error:
        raise CommandError(f"cannot create {path}: {error.strerror}") from None
    os.fchmod(descriptor, 0o600)  # whatever the umask
    return descriptor


def cmd_tokens_issue(args: argparse.Namespace) -> None:
    from app.csvcells import spreadsheet_safe
    from app.services.tokens import IssuedToken, issue_tokens

    settings = _settings()
    url = _database_url(settings)
    path = Path(args.out)
    if args.sheet is not None and not args.base_url:
        raise CommandError("--sheet needs --base-url (the address the offices open, https://...)")
    # Before anything is issued: secrets that cannot be written down would be lost.
    descriptor = _create_secret_file(path)
    sheet_descriptor = None
    if args.sheet is not None:
        try:
            sheet_descriptor = _create_secret_file(Path(args.sheet))
        except CommandError:
            os.close(descriptor)
            path.unlink()
            raise

    async def work(session: AsyncSession) -> list[IssuedToken]:
        return await issue_tokens(
            session, actor=TOKENS_ACTOR, region=args.region, rotate=args.rotate
        )

    try:
        issued = asyncio.run(_in_session(settings, url, work))
    except BaseException:
        os.close(descriptor)
        path.unlink()
        if sheet_descriptor is not None:
            os.close(sheet_descriptor)
            Path(args.sheet).unlink()
        raise
    if sheet_descriptor is not None:
        from app.sheet import SheetEntry, sheet_pdf

        entries = [SheetEntry(t.office, t.office_name, t.token) for t in issued]
        with os.fdopen(sheet_descriptor, "wb") as sheet:
            sheet.write(sheet_pdf(entries, args.base_url))
    with os.fdopen(descriptor, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(ISSUED_COLUMNS)
        for token in issued:
            writer.writerow(
                [spreadsheet_safe(cell) for cell in (token.office, token.office_name, token.region)]
                + [token.token]
            )
    print(f"issued {len(issued)} tokens into {path}")


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.isoformat(timespec="seconds")


def cmd_tokens_list(args: argparse.Namespace) -> None:
    from app.services.tokens import TokenRow, list_tokens

    settings = _settings()
    url = _database_url(settings)
    if args.region is not None:
        codes.parse(args.region)

    async def work(session: AsyncSession) -> list[TokenRow]:
        return await list_tokens(session, within=args.region, live_only=True)

    found = asyncio.run(_in_session(settings, url, work))
    rows = [("id", "role", "office_or_scope", "name", "created", "last_used")]
    rows += [
        (
            str(token.id),
            token.role,
            token.office or token.region or codes.NATION,
            token.name or "-",
            _when(token.created_at),
            _when(token.last_used_at),
        )
        for token in found
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        padded = (cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True))
        print("  ".join(padded) + "  " + row[-1])


def cmd_tokens_revoke(args: argparse.Namespace) -> None:
    from app.services.tokens import revoke_tokens

    settings = _settings()
    url = _database_url(settings)

    async def work(session: AsyncSession) -> int:
        return await revoke_tokens(session, actor=TOKENS_ACTOR, token_ids=args.ids)

    revoked = asyncio.run(_in_session(settings, url, work))
    print(f"revoked {revoked} of {len(args.ids)} tokens (the others were revoked already)")


def cmd_import(args: argparse.Namespace) -> None:
    from app.services.batch_input import parse_csv
    from app.services.counts import write_batch

    settings = _settings()
    if args.file == "-":
        body = sys.stdin.buffer.read()
    else:
        path = Path(args.file)
        try:
            body = path.read_bytes()
        except OSError as error:
            raise CommandError(f"cannot read {path}: {error.strerror}") from None
    batch = parse_csv(body, settings.max_batch)
    url = _database_url(settings)

    async def work(session: AsyncSession) -> dict[str, int]:
        return await write_batch(
            session,
            actor=CLI_ACTOR,
            items=batch.items,
            lines=batch.lines,
            early_errors=batch.errors,
            edit_window_days=settings.edit_window_days,
        )

    summary = asyncio.run(_in_session(settings, url, work))
    print(
        f"created {summary['created']}, updated {summary['updated']}, "
        f"unchanged {summary['unchanged']}"
    )


def cmd_regions_load(args: argparse.Namespace) -> None:
    from app.services.onboarding import LoadSummary, load_regions, read_area_list

    settings = _settings()
    directory = Path(args.dir) if args.dir else None
    if directory is not None and not directory.is_dir():
        raise CommandError(f"{directory} is not a directory")
    listed = read_area_list(directory, villages=args.villages)
    url = _database_url(settings)

    async def work(session: AsyncSession) -> LoadSummary:
        return await load_regions(
            session,
            actor=Actor(token_id=None, role="admin", name="rekam regions load"),
            listed=listed,
            under=args.under,
            dry_run=args.dry_run,
        )

    summary = asyncio.run(_in_session(settings, url, work))
    print(f"created {summary.created}, renamed {summary.renamed}, unchanged {summary.unchanged}")
    for code in summary.not_in_list:
        print(f"not in the list: {code}")
    if args.dry_run:
        print("dry run: nothing was written")


def cmd_offices_create(args: argparse.Namespace) -> None:
    from app.services.onboarding import CreatedOffices, create_offices

    settings = _settings()
    url = _database_url(settings)
    per: Literal["district", "regency"] = "district" if args.per_district else "regency"
    # argparse's choices are the office kinds.
    kind = cast(OfficeKind, args.kind or ("kecamatan" if per == "district" else "dukcapil"))

    async def work(session: AsyncSession) -> CreatedOffices:
        return await create_offices(
            session,
            actor=Actor(token_id=None, role="admin", name="rekam offices create"),
            per=per,
            kind=kind,
            under=args.under,
            default_timezone=settings.timezone,
        )

    created = asyncio.run(_in_session(settings, url, work))
    print(f"created {created.created} offices")
    if created.default_timezone_regions:
        print(
            f"{len(created.default_timezone_regions)} of them in REKAM_TIMEZONE "
            f"({settings.timezone}): their province has no timezone in Rekam's mapping"
        )


def cmd_demo(args: argparse.Namespace) -> None:
    from app.services.demo import load_demo

    settings = _settings()
    url = _database_url(settings)
    _migrate(url)
    summary = asyncio.run(_in_session(settings, url, load_demo))
    print(f"Makassar demo loaded: {summary}")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="rekam", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="migrate, then serve the API and dashboard")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument(
        "--wait-for-database",
        type=float,
        default=60,
        metavar="SECONDS",
        help="how long to wait for the database at start (default 60)",
    )
    serve.add_argument(
        "--demo-if-empty", action="store_true", help="load the Makassar demo into an empty database"
    )
    serve.set_defaults(run=cmd_serve)

    migrate = commands.add_parser("migrate", help="bring the database schema to the latest")
    migrate.set_defaults(run=cmd_migrate)

    # `rekam token create` is the older spelling, kept working.
    tokens = commands.add_parser("tokens", aliases=["token"], help="manage API tokens")
    token_commands = tokens.add_subparsers(dest="token_command", required=True)
    create = token_commands.add_parser("create", help="create a token and print it")
    create.add_argument("--role", required=True, choices=["admin", "office", "viewer"])
    create.add_argument("--office")
    create.add_argument(
        "--region", help="the scope of an admin or viewer token (default: national)"
    )
    create.add_argument("--name")
    create.set_defaults(run=cmd_token_create)
    issue = token_commands.add_parser(
        "issue", help="an office token for each active office under a region that has none"
    )
    issue.add_argument("--region", required=True, help="a region code: ID, 73, 73.71, ...")
    issue.add_argument(
        "--rotate", action="store_true", help="revoke every live office token there and issue anew"
    )
    issue.add_argument(
        "--out", required=True, metavar="FILE.csv", help="a new file (mode 0600) for the secrets"
    )
    issue.add_argument(
        "--sheet", metavar="FILE.pdf", help="also a new PDF (mode 0600): a sign-in QR per office"
    )
    issue.add_argument(
        "--base-url", metavar="URL", help="the address offices open, for the sheet's links"
    )
    issue.set_defaults(run=cmd_tokens_issue)
    listing = token_commands.add_parser("list", help="the live tokens, without secrets")
    listing.add_argument("--region", help="only tokens of offices or scopes in this subtree")
    listing.set_defaults(run=cmd_tokens_list)
    revoke = token_commands.add_parser("revoke", help="revoke tokens by id")
    revoke.add_argument("ids", nargs="+", type=int, metavar="ID")
    revoke.set_defaults(run=cmd_tokens_revoke)

    imp = commands.add_parser(
        "import", help="import counts from a CSV (office,date,recordings[,note])"
    )
    imp.add_argument("file", help="the CSV file, or - to read standard input")
    imp.set_defaults(run=cmd_import)

    regions = commands.add_parser("regions", help="load the Kemendagri area list")
    region_commands = regions.add_subparsers(dest="regions_command", required=True)
    load = region_commands.add_parser(
        "load",
        help="create the list's missing regions and rename changed ones (never deletes)",
        description="With no DIR, the list shipped with Rekam (idn-area-data 3.1.2, ODbL 1.0); "
        "with DIR, a directory of provinces.csv, regencies.csv, districts.csv and villages.csv "
        "in the same format.",
    )
    load.add_argument("dir", nargs="?", metavar="DIR", help="a newer list, in the same format")
    load.add_argument("--under", default="ID", metavar="CODE", help="load only this subtree")
    load.add_argument("--villages", action="store_true", help="load the villages too")
    load.add_argument("--dry-run", action="store_true", help="say what would change, write nothing")
    load.set_defaults(run=cmd_regions_load)

    offices = commands.add_parser("offices", help="create offices for the regions")
    office_commands = offices.add_subparsers(dest="offices_command", required=True)
    office_create = office_commands.add_parser(
        "create",
        help="one office per district (or regency) that has none, in its province's timezone",
    )
    per = office_create.add_mutually_exclusive_group(required=True)
    per.add_argument("--per-district", action="store_true", help="one per kecamatan")
    per.add_argument("--per-regency", action="store_true", help="one per regency or city")
    office_create.add_argument("--under", default="ID", metavar="CODE", help="only this subtree")
    office_create.add_argument(
        "--kind",
        choices=["dukcapil", "kecamatan", "mobile", "other"],
        help="default: kecamatan per district, dukcapil per regency",
    )
    office_create.set_defaults(run=cmd_offices_create)

    demo = commands.add_parser("demo", help="load the Makassar demo data")
    demo.set_defaults(run=cmd_demo)
    return root


def _describe(error: RekamError) -> str:
    lines = [error.detail]
    for item in error.extra.get("errors", []):
        where = f"line {item['line']}" if item.get("line") else f"item {item['index']}"
        lines.append(f"  {where}: {item['message']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    try:
        args.run(args)
    except CommandError as error:
        print(f"rekam: {error}", file=sys.stderr)
        sys.exit(error.exit_code)
    except RekamError as error:
        print(f"rekam: {_describe(error)}", file=sys.stderr)
        sys.exit(1)
    except (OSError, SQLAlchemyError) as error:
        print(f"rekam: database error: {str(error).splitlines()[0]}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
