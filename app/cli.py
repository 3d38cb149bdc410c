"""The `rekam` command: serve, migrate, token create, import, regions load, offices create,
demo."""

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.auth import Actor
from app.config import Settings, describe_settings_error, get_settings
from app.db import create_engine, create_session_factory, embedded_database_url
from app.errors import RekamError
from app.schemas import OfficeKind

T = TypeVar("T")
CLI_ACTOR = Actor(token_id=None, role="admin", name="rekam import")


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
    from app.services.tokens import create_token

    settings = _settings()
    url = _database_url(settings)

    async def work(session: AsyncSession) -> dict[str, Any]:
        return await create_token(session, role=args.role, office=args.office, name=args.name)

    created = asyncio.run(_in_session(settings, url, work))
    print(created["token"])


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

    token = commands.add_parser("token", help="manage API tokens")
    token_commands = token.add_subparsers(dest="token_command", required=True)
    create = token_commands.add_parser("create", help="create a token and print it")
    create.add_argument("--role", required=True, choices=["admin", "office", "viewer"])
    create.add_argument("--office")
    create.add_argument("--name")
    create.set_defaults(run=cmd_token_create)

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
