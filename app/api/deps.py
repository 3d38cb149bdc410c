"""Small dependencies shared by the routers."""

from datetime import date
from typing import Annotated

from fastapi import Path, Query

from app.clock import MAX_RANGE_DAYS, days_between
from app.errors import Invalid
from app.schemas import IsoDate

RegionCode = Annotated[str, Path(description="Kemendagri code: ID, 73, 73.71, 73.71.01, ...")]
OfficeCode = Annotated[str, Path(description="Office code")]
DatePath = Annotated[IsoDate, Path(description="A date, YYYY-MM-DD")]
FromQuery = Annotated[IsoDate | None, Query(alias="from")]
ToQuery = Annotated[IsoDate | None, Query(alias="to")]


def check_range(start: date, end: date) -> None:
    if start > end:
        raise Invalid(f"from ({start}) is after to ({end})")
    if days_between(start, end) > MAX_RANGE_DAYS:
        raise Invalid(f"a range covers at most {MAX_RANGE_DAYS} days")
