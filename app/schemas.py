"""Request (In) and response (Out) models. Input refuses unknown members."""

import re
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictBool,
    StrictInt,
    StrictStr,
    computed_field,
    model_validator,
)
from pydantic_core import PydanticCustomError

from app.config import valid_timezone
from app.errors import Invalid
from app.names import display_name

# The largest integer a JSON client in a browser can hold exactly.
MAX_FIGURE = 2**53 - 1
MAX_RECORDINGS = 100_000

# ASCII digits, the whole string: \d would take other scripts' digits, and $ a final newline.
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
BADLY_WRITTEN_DATE = "must be a date written YYYY-MM-DD"
NO_SUCH_DATE = "names a day that does not exist"


def read_date(text: str) -> date:
    """The date `text` writes, or a ValueError with the one message every input shares."""
    if not _ISO_DATE.fullmatch(text):
        raise ValueError(BADLY_WRITTEN_DATE)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(NO_SUCH_DATE) from None


# A national day's batch writes one date 7,800 times: reading it once saves about half of
# the batch's validation (bench/LIMITS.md). Only dates read well are kept (an exception is
# not cached), so a bad one gets its message every time.
_read_date_cached = lru_cache(maxsize=4096)(read_date)


def _iso_date_only(value: object) -> date:
    """Dates are written YYYY-MM-DD; no timestamps, no other spellings."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError("date_type", BADLY_WRITTEN_DATE)
    try:
        return _read_date_cached(value)
    except ValueError as error:
        raise PydanticCustomError("date_value", str(error)) from None


IsoDate = Annotated[date, BeforeValidator(_iso_date_only)]


def parse_date(text: str, field: str = "date") -> date:
    try:
        return read_date(text)
    except ValueError as error:
        raise Invalid(
            f"{field}: {error}", errors=[{"field": field, "message": str(error)}]
        ) from None


Role = Literal["admin", "office", "viewer"]
OfficeKind = Literal["dukcapil", "kecamatan", "mobile", "other"]


def _no_nul(value: str) -> str:
    """PostgreSQL text cannot hold NUL characters: refuse them here, as invalid input."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Text = Annotated[StrictStr, AfterValidator(_no_nul)]
Name = Annotated[Text, Field(min_length=1, max_length=200)]
Note = Annotated[Text, Field(max_length=500)]
Recordings = Annotated[StrictInt, Field(ge=0, le=MAX_RECORDINGS)]
DailyTarget = Annotated[StrictInt, Field(ge=0, le=10_000_000)]
FigureValue = Annotated[StrictInt, Field(ge=0, le=MAX_FIGURE)]
Timezone = Annotated[StrictStr, Field(max_length=64), AfterValidator(valid_timezone)]
# Kept as the decimal it was written as (0.85 is 85/100), shown as a JSON number.
CoverageTarget = Annotated[
    Decimal,
    Field(gt=0, le=1, max_digits=7, decimal_places=6),
    PlainSerializer(float, return_type=float),
]


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    pass


# Tokens


RegionCodeText = Annotated[Text, Field(max_length=20)]


class TokenIn(In):
    role: Role
    office: Annotated[Text, Field(max_length=64)] | None = None
    # The scope of an admin or viewer token; null: national.
    region: RegionCodeText | None = None
    name: Annotated[Text, Field(max_length=200)] | None = None


class TokenCreatedOut(Out):
    id: int
    token: str
    role: Role
    office: str | None
    region: str | None
    name: str | None
    created_at: datetime


class TokenSelfOut(Out):
    # The environment's admin token has no id.
    id: int | None
    role: Role
    office: str | None
    region: str | None
    name: str | None
    home: str


class TokenOut(Out):
    id: int
    role: Role
    office: str | None
    region: str | None
    name: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenListOut(Out):
    tokens: list[TokenOut]


class TokenIssueIn(In):
    region: RegionCodeText
    rotate: StrictBool = False


class IssuedTokenOut(Out):
    id: int
    office: str
    name: str
    token: str
    created_at: datetime


class TokensIssuedOut(Out):
    tokens: list[IssuedTokenOut]


# The record of changes


AuditKind = Literal["region", "figure", "office", "token", "target", "quality_check"]


class AuditActorOut(Out):
    token_id: int | None
    role: str
    name: str | None
    region: str | None


class AuditEventOut(Out):
    at: datetime
    actor: AuditActorOut
    kind: AuditKind
    key: str
    action: Literal["created", "updated", "deleted", "revoked"]
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditOut(Out):
    events: list[AuditEventOut]
    next_before: str | None


# Regions and figures


class RegionIn(In):
    name: Name
    daily_target: DailyTarget | None = None
    coverage_target: CoverageTarget | None = None
    coverage_deadline: IsoDate | None = None

    @model_validator(mode="after")
    def _target_with_deadline(self) -> "RegionIn":
        if (self.coverage_target is None) != (self.coverage_deadline is None):
            raise ValueError("coverage_target and coverage_deadline are set together or both null")
        return self


class Named(Out):
    """A region as it appears in any response: its stored name, and the name as shown."""

    code: str
    name: str
    level: str

    @computed_field  # type: ignore[prop-decorator]
    @property
    def display_name(self) -> str:
        """The name as shown: the list's capitals in title case (app/names.py)."""
        return display_name(self.name)


class RegionOut(Named):
    parent: str | None
    daily_target: int | None
    coverage_target: CoverageTarget | None
    coverage_deadline: date | None


class RegionListOut(Out):
    regions: list[RegionOut]


class FigureIn(In):
    eligible: FigureValue | None = None
    recorded: FigureValue | None = None

    @model_validator(mode="after")
    def _some_value(self) -> "FigureIn":
        if self.eligible is None and self.recorded is None:
            raise ValueError("at least one of eligible and recorded must be given")
        return self


class RegionItemIn(RegionIn):
    """One region of POST /api/v1/regions: PUT's body with its code."""

    code: RegionCodeText


class RegionBatchIn(In):
    regions: list[RegionItemIn]


class FigureItemIn(FigureIn):
    """One figure of POST /api/v1/figures: PUT's body with its region and date."""

    region: RegionCodeText
    date: IsoDate


class FigureBatchIn(In):
    figures: list[FigureItemIn]


class FigureOut(Out):
    date: date
    eligible: int | None
    recorded: int | None


class FigureListOut(Out):
    figures: list[FigureOut]


# Offices


class OfficeIn(In):
    name: Name
    region: Annotated[Text, Field(max_length=20)]
    kind: OfficeKind = "kecamatan"
    daily_target: DailyTarget | None = None
    timezone: Timezone | None = None
    opened_on: IsoDate | None = None
    active: StrictBool = True


class OfficeItemIn(OfficeIn):
    """One office of POST /api/v1/offices: PUT's body with its code."""

    code: Annotated[Text, Field(max_length=64)]


class OfficeBatchIn(In):
    offices: list[OfficeItemIn]


class OfficeOut(Out):
    code: str
    name: str
    region: str
    kind: OfficeKind
    daily_target: int | None
    timezone: str
    opened_on: date | None
    active: bool


class OfficeListOut(Out):
    offices: list[OfficeOut]


# Counts


class CountIn(In):
    recordings: Recordings
    note: Note | None = None


class CountOut(Out):
    office: str
    date: date
    recordings: int
    note: str | None
    version: int
    updated_at: datetime


class CountListOut(Out):
    office: str
    counts: list[CountOut]


class ActorOut(Out):
    token_id: int | None
    role: str
    name: str | None


class RevisionOut(Out):
    version: int
    recordings: int | None
    note: str | None
    at: datetime
    actor: ActorOut


class HistoryOut(Out):
    office: str
    date: date
    revisions: list[RevisionOut]


class BatchItemIn(In):
    office: Annotated[Text, Field(max_length=64)]
    date: IsoDate
    region: Annotated[Text, Field(max_length=20)] | None = None
    recordings: Recordings
    note: Note | None = None


class BatchIn(In):
    counts: list[BatchItemIn]


class BatchOut(Out):
    created: int
    updated: int
    unchanged: int


class ProblemItemOut(Out):
    """One thing wrong: a request field (`field`), or a batch item (`index`, with what
    identifies it: `office` and `date`, `code`, or `region` and `date`; in CSV, `line`)."""

    message: str
    field: str | None = None
    index: int | None = None
    office: str | None = None
    code: str | None = None
    region: str | None = None
    date: str | None = None
    line: int | None = None


# Operations


class MetaOut(Out):
    version: str
    demo: bool
    timezone: str
    public_read: bool
    edit_window_days: int


# Progress


class RegionRefOut(Named):
    pass


class DayOut(Out):
    recordings: int
    target: int | None
    achievement: float | None


class WindowOut(Out):
    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from", serialization_alias="from")
    to: date
    days: int
    recordings: int
    average_per_day: float
    days_target_met: int | None


class TargetOut(Out):
    coverage: CoverageTarget
    deadline: date
    source: str
    needed: int | None
    remaining: int | None
    days_left: int
    required_per_day: int | None
    projected_date: date | None
    on_track: bool


class ChildReportingOut(Out):
    code: str
    name: str
    expected: int
    reported: int


class ReportingOut(Out):
    date: date
    expected: int
    reported: int
    missing: list[str]
    missing_total: int
    by_child: list[ChildReportingOut]


class ChildProgressOut(Named):
    eligible: int | None
    recorded: int
    coverage: float | None
    day_recordings: int
    window_recordings: int
    target_coverage: CoverageTarget | None
    target_source: str | None
    required_per_day: int | None
    on_track: bool | None


class OfficeProgressRowOut(Out):
    code: str
    name: str
    kind: str
    daily_target: int | None
    day_recordings: int
    window_recordings: int
    reported: bool


class ProgressOut(Out):
    region: RegionRefOut
    as_of: date
    eligible: int | None
    recorded: int
    coverage: float | None
    day: DayOut
    window: WindowOut
    target: TargetOut | None
    reporting: ReportingOut
    children: list[ChildProgressOut]
    offices: list[OfficeProgressRowOut]


class PointOut(Out):
    start: date
    end: date
    recordings: int
    recorded: int
    eligible: int | None
    coverage: float | None
    target: int | None


class SeriesOut(Out):
    region: RegionRefOut
    bucket: Literal["day", "week", "month"]
    points: list[PointOut]


class OfficeRefOut(Out):
    code: str
    name: str
    kind: str
    region: str
    timezone: str


class OfficeProgressOut(Out):
    office: OfficeRefOut
    as_of: date
    day: DayOut
    window: WindowOut
    total: int
    last_reported: date | None


class ErrorOut(Out):
    """Every error, as RFC 9457 problem details: `detail` says what is wrong in one
    sentence; `errors` names each bad field or batch item."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[ProblemItemOut] | None = None


# Data quality and explain

QualityKind = Literal[
    "outlier", "over_coverage", "recorded_decrease", "eligible_jump", "figure_mismatch", "silent"
]
# A median or MAD is an integer or an exact half (a quarter for a MAD): a JSON number.
ExactNumber = Annotated[Decimal, PlainSerializer(float, return_type=float)]


class CheckedOut(Out):
    at: datetime
    by: ActorOut
    note: str


class FlagOut(Out):
    kind: QualityKind
    region: str
    office: str | None
    date: date
    value: int | ExactNumber | None
    expected: int | ExactNumber | None
    message: str
    checked: CheckedOut | None


class QualityOut(Out):
    region: RegionRefOut
    as_of: date
    flags: list[FlagOut]
    total: int


class QualityCheckIn(In):
    kind: QualityKind
    region: RegionCodeText | None = None
    office: Annotated[Text, Field(max_length=64)] | None = None
    date: IsoDate
    note: Annotated[Text, Field(min_length=1, max_length=500)]


class FigurePartOut(Out):
    region: str
    figure_date: date
    eligible: int | None
    recorded: int | None
    counts_after: int | None
    counts_after_from: date | None
    counts_after_to: date | None


class OfficePartOut(Out):
    region: str
    recordings: int


class ExplainTotalsOut(Out):
    eligible: int | None
    recorded: int


class ExplainOut(Out):
    region: RegionRefOut
    as_of: date
    parts: list[FigurePartOut | OfficePartOut]
    totals: ExplainTotalsOut
