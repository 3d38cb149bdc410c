"""counts.csv: a region's counts as CSV, read page by page.

Each page is read in a short transaction of its own and the connection goes back to the
pool before the page is sent, so a client that reads slowly (or not at all) never holds a
database connection. A page is a run of whole days sized to about PAGE_ROWS counts, which
the index on counts (date, office_id) reads directly.
"""

import csv
import io
from collections.abc import AsyncIterator
from datetime import date, timedelta

from sqlalchemy import text

from app.csvcells import spreadsheet_safe
from app.db import SessionFactory

CSV_HEADER = "office,region,date,recordings,note\r\n"
PAGE_ROWS = 10_000

_OFFICES = text(
    """
    SELECT count(*) FROM offices o JOIN regions r ON r.code = o.region
    WHERE CAST(:region AS text) = ANY(r.lineage)
    """
)
_PAGE = text(
    """
    SELECT o.code, o.region, c.date, c.recordings, c.note
    FROM counts c
    JOIN offices o ON o.id = c.office_id
    JOIN regions r ON r.code = o.region
    WHERE CAST(:region AS text) = ANY(r.lineage) AND c.date BETWEEN :first AND :last
    ORDER BY c.date, o.code COLLATE "C"
    """
)


async def counts_csv(
    sessions: SessionFactory, *, region: str, start: date, end: date
) -> AsyncIterator[str]:
    """Counts of the region's subtree in start..end, by date then office, as CSV chunks."""
    yield CSV_HEADER
    async with sessions() as session:
        offices = int(await session.scalar(_OFFICES, {"region": region}) or 0)
    if offices == 0:
        return
    days_per_page = max(1, PAGE_ROWS // offices)
    first = start
    while first <= end:
        last = min(end, first + timedelta(days=days_per_page - 1))
        async with sessions() as session:
            rows = (
                await session.execute(_PAGE, {"region": region, "first": first, "last": last})
            ).all()
        buffer = io.StringIO()
        csv.writer(buffer).writerows(
            (
                spreadsheet_safe(row.code),
                spreadsheet_safe(row.region),
                row.date.isoformat(),
                row.recordings,
                spreadsheet_safe(row.note or ""),
            )
            for row in rows
        )
        yield buffer.getvalue()
        if last == date.max:
            break
        first = last + timedelta(days=1)
