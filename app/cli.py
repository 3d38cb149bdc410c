"""The `rekam` command: serve, migrate, token create, import, demo."""

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import Actor
from app.config import Settings, describe_settings_error, get_settings
from app.db import create_engine, create_session_factory, embedded_database_url
from app.errors import RekamError

T = TypeVar("T")
CLI_ACTOR = Actor(token_id=None, role="admin", name="rekam import")


class CommandError(Exception):
    pass


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
                raise
            print(f"waiting for the database: {str(error).splitlines()[0]}", file=sys.stderr)
            time.sleep(2)


async def _in_session(
    settings: Settings, url: str, work: Callable[[AsyncSession], Awaitable[T]]
) -> T:
    engine = create_engine(settings, url)
    try:
        async with create_session_factory(engine)() as session:
            return await work(session)
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
    imp.add_argument("file")
    imp.set_defaults(run=cmd_import)

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
        sys.exit(2)
    except RekamError as error:
        print(f"rekam: {_describe(error)}", file=sys.stderr)
        sys.exit(1)
    except (OSError, SQLAlchemyError) as error:
        print(f"rekam: database error: {str(error).splitlines()[0]}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
