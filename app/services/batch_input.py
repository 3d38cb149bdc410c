"""Turn a batch body (JSON or CSV) into count writes, naming every item that cannot be read."""

from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from app.bodies import NotJson
from app.bodies import parse_json as parse_json_body
from app.csvcells import unquote_cell
from app.errors import Invalid, TooLarge
from app.schemas import BatchItemIn
from app.services.bulk_input import csv_records, int_or_text, validation_message
from app.services.counts import CountWrite, ItemError

_ITEMS = TypeAdapter(list[BatchItemIn])
REQUIRED_COLUMNS = ("office", "date", "recordings")
OPTIONAL_COLUMNS = ("region", "note")


@dataclass(slots=True)
class Batch:
    items: list[CountWrite | None]
    errors: list[ItemError]
    lines: list[int] | None = None


def _check_size(count: int, max_batch: int) -> None:
    if count == 0:
        raise Invalid("a batch needs at least one count")
    if count > max_batch:
        raise TooLarge(f"a batch holds at most {max_batch} counts; this one has {count}")


def _validate(raw_items: list[Any], lines: list[int] | None) -> Batch:
    batch = Batch(items=[None] * len(raw_items), errors=[], lines=lines)
    try:
        valid = _ITEMS.validate_python(raw_items)
    except ValidationError as error:
        by_index: dict[int, list[Any]] = {}
        for item_error in error.errors():
            by_index.setdefault(int(item_error["loc"][0]), []).append(item_error)
        valid = []
        for index, raw in enumerate(raw_items):
            if index in by_index:
                office = raw.get("office") if isinstance(raw, dict) else None
                day = raw.get("date") if isinstance(raw, dict) else None
                batch.errors.append(
                    ItemError(
                        index,
                        office if isinstance(office, str) else None,
                        day if isinstance(day, str) else None,
                        validation_message(by_index[index]),
                        lines[index] if lines else None,
                    )
                )
            else:
                valid.append(BatchItemIn.model_validate(raw))
        indexes = [i for i in range(len(raw_items)) if i not in by_index]
    else:
        indexes = list(range(len(raw_items)))
    for index, item in zip(indexes, valid, strict=True):
        batch.items[index] = CountWrite(
            item.office, item.date, item.recordings, item.note, item.region
        )
    return batch


def parse_json(body: bytes, max_batch: int) -> Batch:
    try:
        document = parse_json_body(body)
    except NotJson as error:
        raise Invalid(
            f"the body is not valid JSON: {error.msg}",
            errors=[{"field": "body", "message": error.msg}],
        ) from None
    if not isinstance(document, dict) or set(document) != {"counts"}:
        raise Invalid('the body must be {"counts": [...]} and nothing else')
    raw_items = document["counts"]
    if not isinstance(raw_items, list):
        raise Invalid("counts must be a list")
    _check_size(len(raw_items), max_batch)
    return _validate(raw_items, None)


def _header_problem(found: list[str]) -> str:
    shown = ",".join(found)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return (
        f"the CSV header must name {','.join(REQUIRED_COLUMNS)} (and may add "
        f"{' and '.join(OPTIONAL_COLUMNS)}); found {shown!r}"
    )


def _columns(header: list[str] | None) -> list[str]:
    """The header's column names; matched without regard to case and surrounding spaces."""
    columns = [name.strip().lower() for name in header or []]
    known = set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS)
    if (
        not set(REQUIRED_COLUMNS) <= set(columns)
        or not set(columns) <= known
        or len(set(columns)) != len(columns)
    ):
        raise Invalid(_header_problem(header or []))
    return columns


def parse_csv(body: bytes, max_batch: int) -> Batch:
    """CSV with the header office,date,recordings[,region][,note] (counts.csv as exported);
    `line` counts the header as line 1."""
    columns, records = csv_records(body, _columns, max_batch, "counts")
    raw_items: list[Any] = []
    lines = [line for line, _ in records]
    for _, row in records:
        if len(row) != len(columns):
            raw_items.append({"__row__": row})
            continue
        item: dict[str, Any] = dict(zip(columns, row, strict=True))
        item["recordings"] = int_or_text(item["recordings"])
        for optional in OPTIONAL_COLUMNS:
            if item.get(optional) == "":
                item[optional] = None
        if item.get("note") is not None:
            item["note"] = unquote_cell(item["note"])
        raw_items.append(item)
    _check_size(len(raw_items), max_batch)
    batch = _validate(raw_items, lines)
    for index, raw in enumerate(raw_items):
        if "__row__" in raw:
            batch.errors = [e for e in batch.errors if e.index != index]
            row = raw["__row__"]
            named = dict(zip(columns, row, strict=False))
            batch.errors.append(
                ItemError(
                    index,
                    named.get("office"),
                    named.get("date"),
                    f"expected {len(columns)} fields, found {len(row)}",
                    lines[index],
                )
            )
    batch.errors.sort(key=lambda e: e.index)
    return batch
