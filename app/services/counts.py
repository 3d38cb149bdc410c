"""Daily counts: the write side. Every change writes its history row and its tallies in the
same statement, so the count, its history and every summary always agree."""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal, NamedTuple, TypeVar

import asyncpg
from sqlalchemy import TextClause, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import Actor
from app.clock import now, today_in
from app.db import Db, fetch
from app.errors import Forbidden, Invalid, NotFound, PreconditionFailed, excerpt
from app.schemas import CountIn, parse_date, read_date
from app.scopes import outside_scope
from app.services.offices import OfficeRow, check_code, get_office, lock_offices
from app.services.tallies import tally_statement, write_with_tallies

T = TypeVar("T")

# The write: every item's count, its history row and the tallies, in one statement. It ends
# in one of the two SELECTs below, which read its CTEs `current` (each item with the count
# it replaces) and `written` (the rows it changed).
_WRITE = """
input AS (
    SELECT * FROM unnest(CAST(:office_ids AS int[]), CAST(:dates AS date[]),
                         CAST(:recordings AS int[]), CAST(:notes AS text[]))
        AS i(office_id, date, recordings, note)
),
current AS (
    SELECT i.office_id, i.date, i.recordings, i.note,
           c.recordings AS old_recordings, c.note AS old_note, c.version AS old_version,
           c.updated_at AS old_updated_at,
           -- a deleted count comes back with the version after the last one in its history
           coalesce(c.version, (SELECT max(r.version) FROM count_revisions r
                                WHERE r.office_id = i.office_id AND r.date = i.date), 0)
               AS last_version
    FROM input i LEFT JOIN counts c ON c.office_id = i.office_id AND c.date = i.date
),
written AS (
    INSERT INTO counts AS c (office_id, date, recordings, note, version, updated_at)
    SELECT office_id, date, recordings, note, last_version + 1, :now FROM current
    WHERE old_version IS NULL
       OR (recordings, note) IS DISTINCT FROM (old_recordings, old_note)
    ORDER BY office_id, date
    ON CONFLICT (office_id, date) DO UPDATE SET
        recordings = excluded.recordings, note = excluded.note,
        version = excluded.version, updated_at = excluded.updated_at
    RETURNING c.office_id, c.date, c.recordings, c.note, c.version, c.updated_at
),
history AS (
    INSERT INTO count_revisions
        (office_id, date, version, recordings, note, at, token_id, actor_role, actor_name)
    SELECT office_id, date, version, recordings, note, updated_at, :token_id, :role, :name
    FROM written
),
delta_rows AS (
    SELECT w.office_id, o.region, w.date, w.recordings - coalesce(cur.old_recordings, 0) AS delta,
           CASE WHEN cur.old_version IS NULL THEN 1 ELSE 0 END AS reports
    FROM written w
    JOIN current cur ON cur.office_id = w.office_id AND cur.date = w.date
    JOIN offices o ON o.id = w.office_id
)"""

_OUTCOME = """CASE WHEN cur.old_version IS NULL THEN 'created'
                   WHEN w.office_id IS NULL THEN 'unchanged' ELSE 'updated' END"""
_EACH_ITEM = (
    "FROM current cur LEFT JOIN written w ON w.office_id = cur.office_id AND w.date = cur.date"
)

# One count: the stored row and what became of it. (UPSERT and UPSERT_BATCH are public so
# that the benchmark sends the very same statements from its bare asyncpg baseline.)
UPSERT = tally_statement(
    _WRITE,
    f"""cur.office_id, cur.date, {_OUTCOME} AS outcome,
       coalesce(w.recordings, cur.old_recordings) AS recordings,
       CASE WHEN w.office_id IS NULL THEN cur.old_note ELSE w.note END AS note,
       coalesce(w.version, cur.old_version) AS version,
       coalesce(w.updated_at, cur.old_updated_at) AS updated_at""",
    _EACH_ITEM,
)

# A batch: how many items had each outcome (a national day is 7,800 rows the caller would
# only count).
UPSERT_BATCH = tally_statement(
    _WRITE, f"{_OUTCOME} AS outcome, count(*) AS items", f"{_EACH_ITEM}\nGROUP BY 1"
)

_DELETE = tally_statement(
    """
gone AS (
    DELETE FROM counts WHERE office_id = :office_id AND date = :date
    RETURNING office_id, date, recordings, version
),
history AS (
    INSERT INTO count_revisions
        (office_id, date, version, recordings, note, at, token_id, actor_role, actor_name)
    SELECT office_id, date, version + 1, NULL, NULL, :now, :token_id, :role, :name FROM gone
),
delta_rows AS (
    SELECT g.office_id, o.region, g.date, -g.recordings AS delta, -1 AS reports
    FROM gone g JOIN offices o ON o.id = g.office_id
)""",
    "count(*) AS deleted",
    "FROM gone",
)

# Deadlocks and serialisation failures are the database asking for another try.
_RETRYABLE = {"40P01", "40001"}
_ATTEMPTS = 5


class StoredCount(NamedTuple):
    office: str
    date: date
    recordings: int
    note: str | None
    version: int
    updated_at: datetime


Outcome = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True, slots=True)
class CountWrite:
    office: str
    date: date
    recordings: int
    note: str | None
    # A batch item may name its office's region (counts.csv carries it): checked, not stored.
    region: str | None = None


@dataclass(frozen=True, slots=True)
class ItemError:
    index: int
    office: str | None
    date: str | None
    message: str
    line: int | None = None

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "index": self.index,
            "office": self.office,
            "date": self.date,
            "message": self.message,
        }
        if self.line is not None:
            body["line"] = self.line
        return body


def _sqlstate(error: DBAPIError | asyncpg.PostgresError) -> str | None:
    state: str | None = getattr(
        error if isinstance(error, asyncpg.PostgresError) else error.orig, "sqlstate", None
    )
    return state


async def with_retry(session: AsyncSession | None, work: Callable[[], Awaitable[T]]) -> T:
    """Run a write transaction, again from the start when the database reports a deadlock:
    the session's, rolled back here, or one that `work` opens on the driver's connection."""
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            return await work()
        except (DBAPIError, asyncpg.PostgresError) as error:
            if session is not None:
                await session.rollback()
            if _sqlstate(error) not in _RETRYABLE or attempt == _ATTEMPTS:
                raise
            await asyncio.sleep(0.01 * attempt)
    raise AssertionError("unreachable")


def _actor_params(actor: Actor) -> dict[str, Any]:
    return {"token_id": actor.token_id, "role": actor.role, "name": actor.name, "now": now()}


def edit_window_start(office: OfficeRow, edit_window_days: int) -> date:
    """The first day an office token may still write: the window ends today, office time."""
    return today_in(office.timezone) - timedelta(days=edit_window_days - 1)


def permission_problem(actor: Actor, office_code: str) -> str | None:
    """Whether an office token may write this office, known before any office is read."""
    if actor.role == "office" and actor.office_code != office_code:
        return f"this token may only write counts of office {actor.office_code}"
    return None


def scope_problem(actor: Actor, office: OfficeRow) -> str | None:
    """Whether a scoped admin may write this office's counts (its region from lock_offices)."""
    if actor.region is not None and outside_scope(actor, office.region):
        return (
            f"this token is scoped to region {actor.region}: office {office.code} is in "
            f"region {office.region}, outside it"
        )
    return None


def window_problem(actor: Actor, office: OfficeRow, day: date, edit_window_days: int) -> str | None:
    if actor.role == "office" and day < edit_window_start(office, edit_window_days):
        return (
            f"{day} is outside the {edit_window_days}-day edit window of office {office.code}; "
            "an admin must correct it"
        )
    return None


def validity_problem(office: OfficeRow, day: date, today: date) -> str | None:
    """`today` is today in the office's timezone."""
    if not office.active:
        return f"office {office.code} is inactive"
    if day > today:
        return f"{day} is after today in the office's timezone ({office.timezone})"
    if office.opened_on is not None and day < office.opened_on:
        return f"{day} is before the office opened ({office.opened_on})"
    return None


async def _write(
    db: Db,
    actor: Actor,
    offices: dict[str, OfficeRow],
    items: Sequence[CountWrite],
    statement: TextClause = UPSERT,
) -> Sequence[Any]:
    return await write_with_tallies(
        db,
        statement,
        {
            "office_ids": [offices[item.office].id for item in items],
            "dates": [item.date for item in items],
            "recordings": [item.recordings for item in items],
            "notes": [item.note for item in items],
            **_actor_params(actor),
        },
    )


def parse_if_match(header: str | None) -> int | str | None:
    """The version an If-Match names; '*' for any; None when absent."""
    if header is None:
        return None
    value = header.strip()
    if value == "*":
        return "*"
    value = value.removeprefix("W/").strip('"')
    try:
        return int(value)
    except ValueError:
        raise PreconditionFailed(f"If-Match {header!r} names no version") from None


def parse_if_none_match(header: str | None) -> set[int] | str | None:
    """The versions an If-None-Match names (weak comparison, RFC 9110); '*' for any stored
    count; None when absent. A tag that names no version matches no stored count."""
    if header is None:
        return None
    if header.strip() == "*":
        return "*"
    versions: set[int] = set()
    for tag in header.split(","):
        value = tag.strip().removeprefix("W/").strip('"')
        if value.isascii() and value.isdigit():
            versions.add(int(value))
    return versions


async def put_count(
    connection: asyncpg.Connection,
    *,
    identify: Callable[[asyncpg.Connection], Awaitable[Actor]],
    office_code: str,
    day_text: str,
    read_body: Callable[[], CountIn],
    if_match: str | None,
    edit_window_days: int,
    if_none_match: str | None = None,
) -> tuple[StoredCount, Outcome]:
    """Create or replace one count, in one transaction on the driver's connection that also
    identifies the caller (`identify`: its token, looked up there); returns the stored count
    and the outcome: created, updated or unchanged.

    The checks run in the contract's order: who is asking (401), may this caller write here
    (403) before is the request valid (422), so the date and body are read only after the
    permission checks."""

    async def attempt() -> tuple[StoredCount, Outcome]:
        async with connection.transaction():
            # The office is locked before the caller is identified, though the answers keep
            # the contract's order (nothing is written, and the lock goes with a refusal's
            # rollback): the lock has the rest of the transaction planned once for all
            # parameters (LOCK_OFFICES), the token lookup included.
            offices = await lock_offices(connection, [office_code])
            actor = await identify(connection)
            check_code(office_code)
            problem = permission_problem(actor, office_code)
            if problem:
                raise Forbidden(problem)
            office = offices.get(office_code)
            if office is None:
                raise NotFound(f"no office {office_code}")
            problem = scope_problem(actor, office)
            if problem:
                raise Forbidden(problem)
            day = parse_date(day_text)
            problem = window_problem(actor, office, day, edit_window_days)
            if problem:
                raise Forbidden(problem)
            body = read_body()
            problem = validity_problem(office, day, today_in(office.timezone))
            if problem:
                raise Invalid(problem)
            item = CountWrite(office_code, day, body.recordings, body.note)
            await _check_preconditions(connection, office, item, if_match, if_none_match)
            (row,) = await _write(connection, actor, offices, [item])
            return _stored(item.office, row), row["outcome"]

    return await with_retry(None, attempt)


_VERSION = text("SELECT version FROM counts WHERE office_id = :office_id AND date = :date")


async def _check_preconditions(
    db: Db, office: OfficeRow, item: CountWrite, if_match: str | None, if_none_match: str | None
) -> None:
    """412 unless the stored version is the one If-Match names and none If-None-Match does."""
    expected = parse_if_match(if_match)
    refused = parse_if_none_match(if_none_match)
    if expected is None and refused is None:
        return
    # The office row is locked (lock_offices), so the version read here is the one the write
    # replaces. A deleted count has no row: it is absent for both headers.
    rows = await fetch(db, _VERSION, {"office_id": office.id, "date": item.date})
    stored = rows[0]["version"] if rows else None
    if expected is not None and (stored is None or (expected != "*" and stored != expected)):
        raise PreconditionFailed(
            f"If-Match {if_match} does not match the stored version ({stored})"
        )
    if stored is not None and refused is not None and (refused == "*" or stored in refused):
        raise PreconditionFailed(
            f"If-None-Match {if_none_match}: a count exists (version {stored})"
        )


def _stored(office: str, row: Any) -> StoredCount:
    """A count from a row read by column name."""
    return StoredCount(
        office, row["date"], row["recordings"], row["note"], row["version"], row["updated_at"]
    )


async def write_batch(
    session: AsyncSession,
    *,
    actor: Actor,
    items: Sequence[CountWrite | None],
    lines: Sequence[int] | None,
    early_errors: Sequence[ItemError],
    edit_window_days: int,
) -> dict[str, int]:
    """All or nothing: 403 if any item is not the caller's to write, 422 naming every bad
    item, else every item written in one statement."""

    def error(index: int, item: CountWrite, message: str) -> ItemError:
        return ItemError(
            index, item.office, item.date.isoformat(), message, lines[index] if lines else None
        )

    # Items that failed to parse (None, with their errors in early_errors) keep their index.
    parsed = {index: item for index, item in enumerate(items) if item is not None}
    forbidden = [
        error(index, item, problem)
        for index, item in parsed.items()
        if (problem := permission_problem(actor, item.office))
    ]
    forbidden += [
        e
        for e in early_errors
        if actor.role == "office" and e.office is not None and e.office != actor.office_code
    ]
    if forbidden:
        raise Forbidden(
            "this token may not write every count in the batch; nothing was written",
            errors=[e.as_json() for e in sorted(forbidden, key=lambda e: e.index)],
        )

    # An office token's items are all its own office by now; lock it even when none of its
    # items parsed, so that an invalid item outside the edit window is still refused (403).
    codes = {item.office for item in parsed.values()}
    if actor.role == "office" and actor.office_code is not None:
        codes.add(actor.office_code)
    if actor.region is not None:
        # A scoped admin may not write an item outside its scope, valid or not.
        codes |= {e.office for e in early_errors if e.office is not None}

    async def attempt() -> dict[str, int]:
        offices = await lock_offices(session, sorted(codes))
        if actor.region is not None:
            out_of_scope = [
                error(index, item, problem)
                for index, item in parsed.items()
                if item.office in offices
                and (problem := scope_problem(actor, offices[item.office]))
            ]
            out_of_scope += [
                ItemError(e.index, e.office, e.date, problem, e.line)
                for e in early_errors
                if e.office in offices and (problem := scope_problem(actor, offices[e.office]))
            ]
            if out_of_scope:
                raise Forbidden(
                    f"this token is scoped to region {actor.region} and may not write every "
                    "count in the batch; nothing was written",
                    errors=[e.as_json() for e in sorted(out_of_scope, key=lambda e: e.index)],
                )
        outside = [
            error(index, item, problem)
            for index, item in parsed.items()
            if item.office in offices
            and (
                problem := window_problem(actor, offices[item.office], item.date, edit_window_days)
            )
        ]
        outside += [
            ItemError(e.index, e.office, e.date, problem, e.line)
            for e in early_errors
            if e.office in offices
            and (day := _iso_day(e.date)) is not None
            and (problem := window_problem(actor, offices[e.office], day, edit_window_days))
        ]
        outside.sort(key=lambda e: e.index)
        if outside:
            raise Forbidden(
                "some counts are outside the edit window; nothing was written",
                errors=[e.as_json() for e in outside],
            )
        errors = list(early_errors)
        first_seen: dict[tuple[str, date], int] = {}
        todays = {tz: today_in(tz) for tz in {office.timezone for office in offices.values()}}
        for index, item in parsed.items():
            office = offices.get(item.office)
            key = (item.office, item.date)
            if office is None:
                errors.append(error(index, item, f"no office {item.office}"))
            elif key in first_seen:
                errors.append(error(index, item, f"same office and date as item {first_seen[key]}"))
            elif problem := validity_problem(office, item.date, todays[office.timezone]):
                errors.append(error(index, item, problem))
            elif item.region is not None and item.region != office.region:
                errors.append(
                    error(
                        index,
                        item,
                        f"office {item.office} is in region {office.region}, "
                        f"not {excerpt(item.region)}",
                    )
                )
            first_seen.setdefault(key, index)
        if errors:
            raise Invalid(
                f"{len(errors)} of {len(items)} counts are invalid; nothing was written",
                errors=[e.as_json() for e in sorted(errors, key=lambda e: e.index)],
            )
        rows = await _write(session, actor, offices, list(parsed.values()), UPSERT_BATCH)
        await session.commit()
        return {"created": 0, "updated": 0, "unchanged": 0} | {
            row["outcome"]: row["items"] for row in rows
        }

    return await with_retry(session, attempt)


def _iso_day(value: str | None) -> date | None:
    """The date an unparsed item names, if it names one."""
    if value is None:
        return None
    try:
        return read_date(value)
    except ValueError:
        return None


async def delete_count(session: AsyncSession, *, actor: Actor, office: str, day: date) -> None:
    """Delete a count; its history keeps a revision with recordings null."""
    check_code(office)

    async def attempt() -> None:
        offices = await lock_offices(session, [office])
        if office not in offices:
            raise NotFound(f"no office {office}")
        problem = scope_problem(actor, offices[office])
        if problem:
            raise Forbidden(problem)
        params = {"office_id": offices[office].id, "date": day, **_actor_params(actor)}
        (deleted,) = await write_with_tallies(session, _DELETE, params)
        if not deleted["deleted"]:
            raise NotFound(f"office {office} has no count dated {day}")
        await session.commit()

    await with_retry(session, attempt)


async def get_count(session: AsyncSession, *, office: str, day: date) -> StoredCount:
    office_id = (await get_office(session, office))["id"]
    row = (
        await session.execute(
            text("SELECT * FROM counts WHERE office_id = :office_id AND date = :date"),
            {"office_id": office_id, "date": day},
        )
    ).one_or_none()
    if row is None:
        raise NotFound(f"office {office} has no count dated {day}")
    return _stored(office, row._mapping)


async def list_counts(
    session: AsyncSession, *, office: str, start: date, end: date
) -> list[StoredCount]:
    office_id = (await get_office(session, office))["id"]
    rows = await session.execute(
        text(
            "SELECT * FROM counts WHERE office_id = :office_id"
            " AND date BETWEEN :start AND :end ORDER BY date"
        ),
        {"office_id": office_id, "start": start, "end": end},
    )
    return [_stored(office, row._mapping) for row in rows]


async def count_history(session: AsyncSession, *, office: str, day: date) -> list[dict[str, Any]]:
    office_id = (await get_office(session, office))["id"]
    rows = await session.execute(
        text(
            """
            SELECT version, recordings, note, at, token_id, actor_role, actor_name
            FROM count_revisions WHERE office_id = :office_id AND date = :date ORDER BY version
            """
        ),
        {"office_id": office_id, "date": day},
    )
    revisions = [
        {
            "version": row.version,
            "recordings": row.recordings,
            "note": row.note,
            "at": row.at,
            "actor": {"token_id": row.token_id, "role": row.actor_role, "name": row.actor_name},
        }
        for row in rows
    ]
    if not revisions:
        raise NotFound(f"office {office} has no count history dated {day}")
    return revisions
