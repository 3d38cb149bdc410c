"""Standing up a deployment: the Kemendagri area list loaded as regions, and an office made
for every kecamatan or regency that has none. Both write through the same service functions
as the API's batches (upsert_regions, write_offices)."""

import csv
import gzip
import io
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal, NamedTuple

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app import codes
from app.auth import Actor
from app.errors import Invalid
from app.names import display_name
from app.schemas import OfficeItemIn, OfficeKind
from app.services.bulk_input import ItemBatch, WriteSummary
from app.services.offices import write_offices
from app.services.regions import (
    RegionWrite,
    existing_codes,
    region_problems,
    upsert_regions_on_record,
)

# The list's files, by level, with the column that names each row's parent.
LIST_FILES = (
    ("provinces", None),
    ("regencies", "province_code"),
    ("districts", "regency_code"),
    ("villages", "district_code"),
)
SHIPPED_LIST = "idn-area-data 3.1.2"


class ListedRegion(NamedTuple):
    code: str
    name: str


def _open_list_file(directory: Path | None, stem: str) -> str | None:
    """The text of `stem`.csv, or of `stem`.csv.gz; None when neither exists. No directory:
    the list shipped with Rekam (app/data/idn-area, gzipped)."""
    if directory is None:
        shipped = resources.files("app") / "data" / "idn-area" / f"{stem}.csv.gz"
        return gzip.decompress(shipped.read_bytes()).decode("utf-8-sig")
    for name, unpack in ((f"{stem}.csv", False), (f"{stem}.csv.gz", True)):
        path = directory / name
        if path.is_file():
            data = path.read_bytes()
            return (gzip.decompress(data) if unpack else data).decode("utf-8-sig")
    return None


def read_area_list(directory: Path | None = None, *, villages: bool = False) -> list[ListedRegion]:
    """The regions of a list in idn-area-data's format (provinces.csv `code,name`,
    regencies.csv `code,province_code,name`, districts.csv, villages.csv), names trimmed;
    villages only when asked. Refuses a row whose code or parent column is wrong."""
    listed: list[ListedRegion] = []
    for depth, (stem, parent_column) in enumerate(LIST_FILES[: 4 if villages else 3], start=1):
        content = _open_list_file(directory, stem)
        if content is None:
            raise Invalid(f"{directory} has no {stem}.csv")
        reader = csv.DictReader(io.StringIO(content, newline=""))
        for row in reader:
            where = f"{stem}.csv line {reader.line_num}"
            code = (row.get("code") or "").strip()
            name = (row.get("name") or "").strip()
            if not codes.is_valid(code) or codes.parse(code).depth != depth:
                raise Invalid(f"{where}: {code!r} is not a code of the {stem}")
            if parent_column is not None and (row.get(parent_column) or "").strip() != (
                codes.parse(code).parent
            ):
                raise Invalid(f"{where}: {parent_column} is not the parent of {code}")
            if not name:
                raise Invalid(f"{where}: {code} has no name")
            listed.append(ListedRegion(code, name))
    return listed


class LoadSummary(NamedTuple):
    created: int
    renamed: int
    unchanged: int
    # Regions stored at the levels loaded, under the region loaded, that the list lacks.
    not_in_list: list[str]


def _loaded_part(listed: Sequence[ListedRegion], under: str) -> list[ListedRegion]:
    """The list's regions in `under`'s subtree, and the ancestors it needs."""
    if under == codes.NATION:
        return list(listed)
    lineage = set(codes.lineage_of(under))
    part = [r for r in listed if r.code in lineage or r.code.startswith(under + ".")]
    if not any(r.code == under for r in part):
        raise Invalid(f"{under} is not in the list")
    return part


_NOT_IN_LIST = text(
    f"""
SELECT code FROM regions
WHERE depth BETWEEN 1 AND :depth AND {codes.sql_in_subtree("code", "under")}
  AND code <> ALL(CAST(:listed AS text[]))
ORDER BY code COLLATE "C"
"""
)


async def load_regions(
    session: AsyncSession,
    *,
    actor: Actor,
    listed: Sequence[ListedRegion],
    under: str = codes.NATION,
    dry_run: bool = False,
) -> LoadSummary:
    """Create the list's regions that are missing and rename those whose name differs;
    targets and figures stay as an admin set them, and nothing is deleted. A dry run works
    it all out and writes nothing."""
    codes.parse(under)
    part = _loaded_part(listed, under)
    parents = [p for r in part if (p := codes.parse(r.code).parent) is not None]
    problems = region_problems(
        [(index, r.code) for index, r in enumerate(part)], await existing_codes(session, parents)
    )
    if problems:
        raise Invalid(
            f"{len(problems)} regions of the list cannot be loaded; nothing was written",
            errors=[
                {"index": index, "code": part[index].code, "message": message}
                for index, message in sorted(problems.items())
            ],
        )
    deepest = max((codes.parse(r.code).depth for r in listed), default=3)
    missing = list(
        await session.scalars(
            _NOT_IN_LIST,
            {"depth": deepest, "under": under, "listed": [r.code for r in part]},
        )
    )
    written = await upsert_regions_on_record(
        session, actor=actor, items=[RegionWrite(r.code, r.name) for r in part], names_only=True
    )
    if dry_run:
        await session.rollback()
    else:
        await session.commit()
    return LoadSummary(written.created, written.updated, written.unchanged, missing)


# WIB, WITA and WIT by province code. Kalimantan Barat (61) and Tengah (62) keep WIB under
# their own IANA zone, Asia/Pontianak.
_ZONES = (
    ("Asia/Jakarta", range(11, 37)),
    ("Asia/Pontianak", range(61, 63)),
    ("Asia/Makassar", (*range(51, 54), *range(63, 66), *range(71, 77))),
    ("Asia/Jayapura", (*range(81, 83), *range(91, 97))),
)


def province_timezone(code: str) -> str | None:
    """The timezone of the province a region is in; None for a province not mapped."""
    province = int(codes.lineage_of(code)[1]) if code != codes.NATION else None
    return next((zone for zone, provinces in _ZONES if province in provinces), None)


# How offices made per region are named and coded: "Kecamatan Mariso", KEC-73.71.01;
# "Disdukcapil Kota Makassar", DUKCAPIL-73.71.
OFFICE_NAMING: dict[str, tuple[str, str]] = {
    "kecamatan": ("Kecamatan", "KEC"),
    "dukcapil": ("Disdukcapil", "DUKCAPIL"),
    "mobile": ("Layanan Keliling", "MOBILE"),
    "other": ("Kantor", "OFFICE"),
}
_PER_LEVEL = {"district": 3, "regency": 2}


def office_code(kind: str, region: str) -> str:
    return f"{OFFICE_NAMING[kind][1]}-{region}"


def office_name(kind: str, region_name: str) -> str:
    """The kind's word, then the region's name as shown: "Kecamatan Mariso", "Disdukcapil
    Kota Makassar" (the regency's whole name, so a Kabupaten and a Kota of the same name,
    such as Bekasi, stay apart)."""
    return f"{OFFICE_NAMING[kind][0]} {display_name(region_name)}"


# Regions at the level asked, under :under, with no office of the kind attached (for a
# district: no office at all), whose office code is not taken.
_WITHOUT_OFFICE = text(
    f"""
SELECT r.code, r.name FROM regions r
WHERE r.depth = :depth AND {codes.sql_in_subtree("r.code", "under")}
  AND NOT EXISTS (SELECT 1 FROM offices o WHERE o.region = r.code
                  AND (CAST(:any_kind AS boolean) OR o.kind = :kind))
  AND NOT EXISTS (SELECT 1 FROM offices o WHERE o.code = :prefix || r.code)
ORDER BY r.code COLLATE "C"
"""
)


@dataclass(frozen=True, slots=True)
class CreatedOffices:
    created: int
    # Regions whose province has no timezone in the mapping: REKAM_TIMEZONE was used.
    default_timezone_regions: list[str]


async def create_offices(
    session: AsyncSession,
    *,
    actor: Actor,
    per: Literal["district", "regency"],
    kind: OfficeKind,
    under: str = codes.NATION,
    default_timezone: str,
) -> CreatedOffices:
    """One office for every district (or regency) under `under` that has none (for a
    regency: none of that kind), named after it, in its province's timezone. Run again, it
    creates nothing."""
    codes.parse(under)
    rows = list(
        await session.execute(
            _WITHOUT_OFFICE,
            {
                "depth": _PER_LEVEL[per],
                "under": under,
                "any_kind": per == "district",
                "kind": kind,
                "prefix": office_code(kind, ""),
            },
        )
    )
    if not rows:
        await session.rollback()
        return CreatedOffices(0, [])
    items = [
        OfficeItemIn(
            code=office_code(kind, code),
            name=office_name(kind, name),
            region=code,
            kind=kind,
            timezone=province_timezone(code),
        )
        for code, name in rows
    ]
    batch = ItemBatch[OfficeItemIn](items=list(items), keys=[{"code": i.code} for i in items])
    summary: WriteSummary = await write_offices(
        session, actor=actor, batch=batch, default_timezone=default_timezone
    )
    unmapped = [item.region for item in items if item.timezone is None]
    return CreatedOffices(summary.created, unmapped)
