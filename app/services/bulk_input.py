"""Read the bulk bodies an admin sets up with (regions, offices, figures): JSON
`{"<member>": [...]}` or CSV with a header matched by name, like the count batch.

Every item is validated by the model the single PUT uses (plus its key columns); the items
that cannot be read are named in `problems` with their index and, in CSV, their line."""

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, NamedTuple, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from app.bodies import CSV, NotJson, is_json
from app.bodies import parse_json as parse_json_body
from app.errors import Invalid, TooLarge, UnsupportedMediaType

M = TypeVar("M", bound=BaseModel)


def validation_message(errors: list[Any]) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in e['loc'][1:]) or 'item'}: {e['msg']}" for e in errors
    )


def csv_reader(body: bytes) -> Any:
    """A strict reader of a UTF-8 CSV body (a BOM tolerated), `,` or `;` separated."""
    try:
        content = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid("the CSV must be UTF-8") from None
    return csv.reader(
        io.StringIO(content, newline=""), delimiter=csv_delimiter(content), strict=True
    )


def csv_delimiter(content: str) -> str:
    """`;` for a file saved by a spreadsheet in a locale whose decimal mark is the comma."""
    first_line = content.split("\n", 1)[0]
    return ";" if ";" in first_line and "," not in first_line else ","


def csv_problem(error: csv.Error, line: int) -> Invalid:
    if "end of data" in str(error):
        return Invalid(f"the CSV cannot be read: a quote opened by line {line} is never closed")
    return Invalid(f"the CSV cannot be read at line {line}: {error}")


def int_or_text(value: str) -> int | str:
    stripped = value.strip()
    if stripped.isascii() and stripped.lstrip("-").isdigit() and len(stripped) <= 12:
        return int(stripped)
    return value


class WriteSummary(NamedTuple):
    created: int
    updated: int
    unchanged: int


@dataclass(frozen=True, slots=True)
class ItemProblem:
    """One bad item: `keys` are its identifying members as sent (code; region and date)."""

    index: int
    message: str
    keys: dict[str, str | None]
    line: int | None = None

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"index": self.index, **self.keys, "message": self.message}
        if self.line is not None:
            body["line"] = self.line
        return body


@dataclass(frozen=True, slots=True)
class BatchKind(Generic[M]):
    """What one kind of batch holds: `member` names the JSON list and the items ("regions");
    `columns` are the CSV columns, the first `required` of them required; `integers` and
    `booleans` the cells read as numbers and true/false; `keys` identify an item in errors."""

    member: str
    model: type[M]
    columns: tuple[str, ...]
    required: int
    keys: tuple[str, ...]
    integers: frozenset[str] = frozenset()
    booleans: frozenset[str] = frozenset()


@dataclass(slots=True)
class ItemBatch(Generic[M]):
    """The items in order (None for one that could not be read) and what is wrong so far."""

    items: list[M | None]
    keys: list[dict[str, str | None]]
    problems: list[ItemProblem] = field(default_factory=list)
    lines: list[int] | None = None

    def problem(self, index: int, message: str) -> ItemProblem:
        return ItemProblem(
            index, message, self.keys[index], self.lines[index] if self.lines else None
        )

    def refuse_if_any(self, problems: Sequence[ItemProblem], what: str) -> None:
        """422 naming every bad item (these and the unreadable ones), nothing written."""
        every = sorted([*self.problems, *problems], key=lambda p: p.index)
        if every:
            raise Invalid(
                f"{len({p.index for p in every})} of {len(self.items)} {what} are invalid; "
                "nothing was written",
                errors=[p.as_json() for p in every],
            )

    def valid(self) -> list[tuple[int, M]]:
        return [(index, item) for index, item in enumerate(self.items) if item is not None]


def _keys(kind: BatchKind[Any], raw: Any) -> dict[str, str | None]:
    found = raw if isinstance(raw, dict) else {}
    return {key: value if isinstance(value := found.get(key), str) else None for key in kind.keys}


def _validate(kind: BatchKind[M], raw_items: list[Any], lines: list[int] | None) -> ItemBatch[M]:
    batch: ItemBatch[M] = ItemBatch(
        items=[None] * len(raw_items), keys=[_keys(kind, raw) for raw in raw_items], lines=lines
    )
    adapter = TypeAdapter(kind.model)
    for index, raw in enumerate(raw_items):
        if isinstance(raw, dict) and "__fields__" in raw:
            batch.problems.append(batch.problem(index, raw["__fields__"]))
            continue
        try:
            batch.items[index] = adapter.validate_python(raw)
        except ValidationError as error:
            problems = [{**e, "loc": ("item", *e["loc"])} for e in error.errors()]
            batch.problems.append(batch.problem(index, validation_message(problems)))
    return batch


def _check_size(kind: BatchKind[Any], count: int, max_batch: int) -> None:
    if count == 0:
        raise Invalid(f"a batch needs at least one of {kind.member}")
    if count > max_batch:
        raise TooLarge(f"a batch holds at most {max_batch} {kind.member}; this one has {count}")


def parse_json(kind: BatchKind[M], body: bytes, max_batch: int) -> ItemBatch[M]:
    try:
        document = parse_json_body(body)
    except NotJson as error:
        raise Invalid(
            f"the body is not valid JSON: {error.msg}",
            errors=[{"field": "body", "message": error.msg}],
        ) from None
    if not isinstance(document, dict) or set(document) != {kind.member}:
        raise Invalid(f'the body must be {{"{kind.member}": [...]}} and nothing else')
    raw_items = document[kind.member]
    if not isinstance(raw_items, list):
        raise Invalid(f"{kind.member} must be a list")
    _check_size(kind, len(raw_items), max_batch)
    return _validate(kind, raw_items, None)


def _header(kind: BatchKind[Any], header: list[str] | None) -> list[str]:
    columns = [name.strip().lower() for name in header or []]
    if (
        not set(kind.columns[: kind.required]) <= set(columns)
        or not set(columns) <= set(kind.columns)
        or len(set(columns)) != len(columns)
    ):
        shown = ",".join(header or [])
        if len(shown) > 80:
            shown = shown[:77] + "..."
        raise Invalid(
            f"the CSV header must name {','.join(kind.columns[: kind.required])} (and may add "
            f"{','.join(kind.columns[kind.required :])}); found {shown!r}"
        )
    return columns


def _cell(kind: BatchKind[Any], column: str, value: str) -> Any:
    if column in kind.integers:
        return int_or_text(value)
    if column in kind.booleans and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return value


def csv_records(
    body: bytes, header: Callable[[list[str] | None], list[str]], max_batch: int, what: str
) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The columns `header` reads from the first row, and every other row that is not blank
    with the line it starts on (the header is line 1); 413 past max_batch rows."""
    reader = csv_reader(body)
    line = 1
    records: list[tuple[int, list[str]]] = []
    try:
        columns = header(next(reader, None))
        line = reader.line_num + 1
        for row in reader:
            start, line = line, reader.line_num + 1
            if not row or row == [""]:
                continue
            if len(records) >= max_batch:
                raise TooLarge(f"a batch holds at most {max_batch} {what}")
            records.append((start, row))
    except csv.Error as error:
        raise csv_problem(error, line) from None
    return columns, records


def parse_csv(kind: BatchKind[M], body: bytes, max_batch: int) -> ItemBatch[M]:
    """An empty cell is an omitted member: null, or the member's stated default."""
    columns, records = csv_records(body, lambda found: _header(kind, found), max_batch, kind.member)
    raw_items: list[Any] = []
    lines = [line for line, _ in records]
    for _, row in records:
        named = dict(zip(columns, row, strict=False))
        if len(row) != len(columns):
            named["__fields__"] = f"expected {len(columns)} fields, found {len(row)}"
            raw_items.append(named)
            continue
        raw_items.append(
            {column: _cell(kind, column, value) for column, value in named.items() if value != ""}
        )
    _check_size(kind, len(raw_items), max_batch)
    return _validate(kind, raw_items, lines)


def parse_body(
    kind: BatchKind[M], body: bytes, media_type: str | None, max_batch: int
) -> ItemBatch[M]:
    """A JSON or CSV batch by its media type (a body without one is read as JSON)."""
    if is_json(media_type):
        return parse_json(kind, body, max_batch)
    if media_type in (CSV, "application/csv"):
        return parse_csv(kind, body, max_batch)
    raise UnsupportedMediaType("send application/json or text/csv")
