"""The baselines: FastAPI and raw asyncpg, nothing else, run with the service's uvicorn settings.

    hello            the framework's ceiling: a constant
    raw-put          the write of a count PUT (the upsert and its history row), one statement
    raw-batch        one INSERT ... SELECT FROM unnest(...) ON CONFLICT DO UPDATE of a batch
    naive-progress   the progress numbers straight from counts: one plain GROUP BY
    bare-put         the service's own SQL for one count, sent by asyncpg: the office lock
                     (app.services.offices.LOCK_OFFICES), the write statement
                     (app.services.counts.UPSERT: the count, its history row and every
                     summary) and the outlier verdicts it changed
                     (app.services.outliers.REJUDGE), in one transaction
    bare-batch       the same for a batch (UPSERT_BATCH) on the same data

raw-put and raw-batch write bench_counts and bench_count_revisions, copies of the real tables
with the same keys, indexes and size, so that the service's summaries stay exact. bare-put and
bare-batch write the real tables: the statement keeps the summaries exact itself. What they
leave out is the framework's share: token lookup, validation, checks, the office lock, the
session and the response model.
Run: BENCH_DATABASE_URL=postgresql://... uvicorn bench.baselines:create_app --factory
"""

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

import asyncpg
from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from app.db import positional
from app.services.counts import UPSERT, UPSERT_BATCH
from app.services.offices import LOCK_OFFICES
from app.services.outliers import REJUDGE

RAW_PUT = """
WITH written AS (
    INSERT INTO bench_counts AS c (office_id, date, recordings, note, version, updated_at)
    VALUES ($1, $2, $3, $4, 1, now())
    ON CONFLICT (office_id, date) DO UPDATE SET
        recordings = excluded.recordings, note = excluded.note,
        version = c.version + 1, updated_at = excluded.updated_at
    RETURNING c.office_id, c.date, c.recordings, c.note, c.version, c.updated_at
),
history AS (
    INSERT INTO bench_count_revisions
        (office_id, date, version, recordings, note, at, token_id, actor_role, actor_name)
    SELECT office_id, date, version, recordings, note, updated_at, NULL, 'office', 'raw-put'
    FROM written
)
SELECT * FROM written
"""

RAW_BATCH = """
INSERT INTO bench_counts AS c (office_id, date, recordings, note, version, updated_at)
SELECT o.id, i.date, i.recordings, i.note, 1, now()
FROM unnest($1::text[], $2::date[], $3::int[], $4::text[]) AS i(office, date, recordings, note)
JOIN offices o ON o.code = i.office
ON CONFLICT (office_id, date) DO UPDATE SET
    recordings = excluded.recordings, note = excluded.note,
    version = c.version + 1, updated_at = excluded.updated_at
"""

# naive-progress: the progress numbers of region $1 at $2 (window from $3) from the counts and
# figures alone. recorded is the published figures of the frontier (regions of the subtree with
# a recorded figure and no figured region between them and $1) plus every count not covered
# by one: counts of offices under no frontier figure, and counts dated after theirs.
# First the small part: the frontier, and each office's frontier figure date if it has one.
NAIVE_ANCHORS = """
WITH target AS (SELECT depth FROM regions WHERE code = $1),
sub AS (SELECT code, lineage FROM regions WHERE $1 = ANY(lineage)),
ancestry AS (  -- each subtree region's regions from $1 down to itself
    SELECT s.code, u.ancestor, u.pos
    FROM sub s CROSS JOIN target t
    CROSS JOIN LATERAL unnest(s.lineage) WITH ORDINALITY AS u(ancestor, pos)
    WHERE u.pos > t.depth
),
recorded_latest AS (
    SELECT DISTINCT ON (f.region) f.region, f.date, f.recorded
    FROM figures f JOIN sub ON sub.code = f.region
    WHERE f.recorded IS NOT NULL AND f.date <= $2
    ORDER BY f.region, f.date DESC
),
eligible_latest AS (
    SELECT DISTINCT ON (f.region) f.region, f.eligible
    FROM figures f JOIN sub ON sub.code = f.region
    WHERE f.eligible IS NOT NULL AND f.date <= $2
    ORDER BY f.region, f.date DESC
),
recorded_frontier AS (
    SELECT l.* FROM recorded_latest l
    WHERE NOT EXISTS (
        SELECT 1 FROM ancestry a JOIN recorded_latest x ON x.region = a.ancestor
        WHERE a.code = l.region AND a.ancestor <> l.region)
),
eligible_frontier AS (
    SELECT l.* FROM eligible_latest l
    WHERE NOT EXISTS (
        SELECT 1 FROM ancestry a JOIN eligible_latest x ON x.region = a.ancestor
        WHERE a.code = l.region AND a.ancestor <> l.region)
)
SELECT
    (SELECT coalesce(sum(recorded), 0) FROM recorded_frontier) AS frontier_recorded,
    (SELECT sum(eligible) FROM eligible_frontier) AS eligible,
    (SELECT array_agg(o.id) FROM offices o JOIN sub ON sub.code = o.region) AS offices,
    (SELECT array_agg(o.id) FROM offices o JOIN ancestry a ON a.code = o.region
     JOIN recorded_frontier f ON f.region = a.ancestor) AS anchored_offices,
    (SELECT array_agg(f.date) FROM offices o JOIN ancestry a ON a.code = o.region
     JOIN recorded_frontier f ON f.region = a.ancestor) AS anchors
"""

# Then one pass over every count: a parallel sequential scan, the office's place in the
# subtree ($1) and its frontier figure's date ($4, 0001-01-01 for none) looked up by office id.
# (Joins to the office list make the planner pick an index-order scan of the counts that is
# five times slower: this is the fastest plain plan found.)
NAIVE_COUNTS = """
SELECT
    coalesce(sum(recordings) FILTER (WHERE date > ($4::date[])[office_id]), 0) AS uncovered,
    coalesce(sum(recordings) FILTER (WHERE date = $2), 0) AS day,
    coalesce(sum(recordings) FILTER (WHERE date >= $3), 0) AS window
FROM counts
WHERE ($1::bool[])[office_id] AND date <= $2
"""


BARE_LOCK, _ = positional(LOCK_OFFICES)  # one parameter: the office codes
BARE_REJUDGE, BARE_REJUDGE_PARAMS = positional(REJUDGE)
BARE_PUT, BARE_PUT_PARAMS = positional(UPSERT)
BARE_BATCH, BARE_BATCH_PARAMS = positional(UPSERT_BATCH)
BARE_ACTOR = {"token_id": None, "role": "admin"}


def _args(names: tuple[str, ...], values: dict[str, Any]) -> list[Any]:
    return [values[name] for name in names]


async def _write_retrying(
    pool: Any, codes: list[str], statement: str, args: list[Any]
) -> list[Any]:
    """The SQL of a service count write: in one transaction, lock the offices (writes for one
    office queue there, so each computes its deltas from the previous one's result), then the
    write statement. A deadlock or serialisation failure is retried, as the service does
    (app.services.counts.with_retry)."""
    for attempt in range(5):
        try:
            async with pool.acquire() as conn, conn.transaction():
                await conn.fetch(BARE_LOCK, sorted(codes))
                rows: list[Any] = await conn.fetch(statement, *args)
                _no_figures_changed(rows)
                await rejudge(conn, rows)
                return rows
        except (asyncpg.DeadlockDetectedError, asyncpg.SerializationError):
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


async def rejudge(conn: asyncpg.Connection, rows: list[Any]) -> None:
    """The outlier verdicts the write changed, as write_with_tallies recomputes them."""
    if rows and rows[0]["changed_office_ids"]:
        values = {"office_ids": rows[0]["changed_office_ids"], "dates": rows[0]["changed_dates"]}
        await conn.execute(BARE_REJUDGE, *_args(BARE_REJUDGE_PARAMS, values))


async def _office_codes(app: FastAPI) -> dict[str, int]:
    """Every office's id by code, looked up once: the bare routes take what the service
    would have found in its token and office checks."""
    if not hasattr(app.state, "office_ids"):
        rows = await app.state.pool.fetch("SELECT code, id FROM offices")
        app.state.office_ids = {code: office_id for code, office_id in rows}
        app.state.office_codes = {office_id: code for code, office_id in rows}
    ids: dict[str, int] = app.state.office_ids
    return ids


def _no_figures_changed(rows: list[Any]) -> None:
    """The service would rebuild the step functions of figures the write changed (figures
    dated on or after a written day); the bench writes after every figure, so none may be."""
    if rows and rows[0]["refigured_regions"]:
        raise RuntimeError(f"bare write changed figures of {rows[0]['refigured_regions']}")


class CountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    recordings: int = Field(ge=0, le=100_000)
    note: str | None = Field(default=None, max_length=500)


def _count_json(row: Any) -> dict[str, Any]:
    """A written count as the service answers it."""
    return {
        "office_id": row["office_id"],
        "date": row["date"],
        "recordings": row["recordings"],
        "note": row["note"],
        "version": row["version"],
        "updated_at": row["updated_at"],
    }


def create_app() -> FastAPI:
    dsn = os.environ["BENCH_DATABASE_URL"]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The service's pool is 10 + 5 overflow, with JIT off: the same here.
        app.state.pool = await asyncpg.create_pool(
            dsn, min_size=1, max_size=15, server_settings={"jit": "off"}
        )
        try:
            yield
        finally:
            await app.state.pool.close()

    app = FastAPI(title="Rekam baselines", lifespan=lifespan, docs_url=None, openapi_url=None)

    @app.get("/hello")
    async def hello() -> dict[str, str]:
        return {"hello": "world"}

    @app.put("/raw-put/{office_id}/{day}")
    async def raw_put(office_id: int, day: date, body: CountIn, request: Request) -> Any:
        row = await request.app.state.pool.fetchrow(
            RAW_PUT, office_id, day, body.recordings, body.note
        )
        return _count_json(row)

    @app.post("/raw-batch")
    async def raw_batch(request: Request) -> JSONResponse:
        items = json.loads(await request.body())["counts"]
        status = await request.app.state.pool.execute(
            RAW_BATCH,
            [item["office"] for item in items],
            [date.fromisoformat(item["date"]) for item in items],
            [item["recordings"] for item in items],
            [item.get("note") for item in items],
        )
        return JSONResponse({"written": int(status.split()[-1])})

    @app.put("/bare-put/{office_id}/{day}")
    async def bare_put(office_id: int, day: date, body: CountIn, request: Request) -> Any:
        values = {
            "office_ids": [office_id],
            "dates": [day],
            "recordings": [body.recordings],
            "notes": [body.note],
            "now": datetime.now(UTC),
            "name": "bare-put",
            **BARE_ACTOR,
        }
        await _office_codes(app)
        code = app.state.office_codes[office_id]
        rows = await _write_retrying(
            request.app.state.pool, [code], BARE_PUT, _args(BARE_PUT_PARAMS, values)
        )
        return _count_json(rows[0])

    @app.post("/bare-batch")
    async def bare_batch(request: Request) -> JSONResponse:
        items = json.loads(await request.body())["counts"]
        pool = request.app.state.pool
        ids = await _office_codes(app)
        values = {
            "office_ids": [ids[item["office"]] for item in items],
            "dates": [date.fromisoformat(item["date"]) for item in items],
            "recordings": [item["recordings"] for item in items],
            "notes": [item.get("note") for item in items],
            "now": datetime.now(UTC),
            "name": "bare-batch",
            **BARE_ACTOR,
        }
        codes = list({item["office"] for item in items})
        rows = await _write_retrying(pool, codes, BARE_BATCH, _args(BARE_BATCH_PARAMS, values))
        return JSONResponse({row["outcome"]: row["items"] for row in rows})

    @app.get("/naive-progress/{code}")
    async def naive_progress(
        code: str, request: Request, as_of: date, days: Annotated[int, Query(ge=1)] = 7
    ) -> dict[str, Any]:
        start = as_of - timedelta(days=days - 1)
        async with request.app.state.pool.acquire() as conn, conn.transaction():
            anchors = await conn.fetchrow(NAIVE_ANCHORS, code, as_of)
            last_id = await conn.fetchval("SELECT max(id) FROM offices")
            inside = [False] * last_id
            for office_id in anchors["offices"] or []:
                inside[office_id - 1] = True
            anchor_of = [date.min] * last_id  # 0001-01-01: before every count
            for office_id, day in zip(
                anchors["anchored_offices"] or [], anchors["anchors"] or [], strict=True
            ):
                anchor_of[office_id - 1] = day
            counts = await conn.fetchrow(NAIVE_COUNTS, inside, as_of, start, anchor_of)
        return {
            "region": code,
            "as_of": as_of,
            "recorded": int(anchors["frontier_recorded"]) + int(counts["uncovered"]),
            "eligible": None if anchors["eligible"] is None else int(anchors["eligible"]),
            "day": int(counts["day"]),
            "window": int(counts["window"]),
        }

    return app
