"""Kemendagri region codes: ID, 73, 73.71, 73.71.01, 73.71.01.1001. Pure functions, no I/O."""

import re
from dataclasses import dataclass
from functools import lru_cache

from app.errors import Invalid, excerpt

NATION = "ID"
LEVELS = ("nation", "province", "regency", "district", "village")
# ASCII digits only: \d alone would also match full-width and other Unicode digits. Checked
# with fullmatch: $ alone also matches before a final newline.
CODE_PATTERN = r"^(?:ID|[0-9]{2}(?:\.[0-9]{2}(?:\.[0-9]{2}(?:\.[0-9]{4})?)?)?)$"
_CODE = re.compile(CODE_PATTERN)


class InvalidCode(Invalid):
    pass


@dataclass(frozen=True, slots=True)
class RegionCode:
    code: str
    depth: int

    @property
    def level(self) -> str:
        return LEVELS[self.depth]

    @property
    def parent(self) -> str | None:
        if self.depth == 0:
            return None
        if self.depth == 1:
            return NATION
        return self.code.rsplit(".", 1)[0]

    @property
    def lineage(self) -> list[str]:
        """The codes from the nation down to this region, itself included."""
        if self.depth == 0:
            return [NATION]
        parts = self.code.split(".")
        return [NATION] + [".".join(parts[: i + 1]) for i in range(len(parts))]


def parse(code: str) -> RegionCode:
    if not _CODE.fullmatch(code):
        raise InvalidCode(
            f"{excerpt(code)} is not a Kemendagri code (ID, 73, 73.71, 73.71.01 or 73.71.01.1001)"
        )
    return RegionCode(code, 0 if code == NATION else code.count(".") + 1)


@lru_cache(maxsize=65_536)
def lineage_of(code: str) -> tuple[str, ...]:
    """The lineage of a valid code; cached, as progress asks it for every anchored region."""
    return tuple(parse(code).lineage)


def is_valid(code: str) -> bool:
    return bool(_CODE.fullmatch(code))


def sql_in_subtree(column: str, parameter: str = "region") -> str:
    """A SQL condition: the region code in `column` is in the subtree of :parameter."""
    return (
        f"(CAST(:{parameter} AS text) = 'ID' OR {column} = :{parameter}"
        f" OR {column} LIKE :{parameter} || '.%')"
    )
