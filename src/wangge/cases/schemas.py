"""Typed shapes of the cases API (诉求接口).

Reporters' phone numbers leave masked unless the caller may see them (the handler, staff who
may reveal personal data there); residents see only the public timeline of their own cases.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal, get_args

from ninja import Field, Schema
from pydantic import Strict

from wangge.cases.models import Channel, Priority, Rating, State, WhistleKind
from wangge.places.schemas import BodyIn

MAX_ID = 2**63 - 1
NO_NUL = r"^[^\x00]*$"
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
LaxDate = Annotated[date, Strict(False)]

StateLiteral = Literal[
    "received",
    "dispatched",
    "accepted",
    "in_progress",
    "returned",
    "resolved",
    "rated",
    "closed",
    "merged",
    "cancelled",
]
# What a signed-in caller may file through the API; devices and Open311 have their own doors.
IntakeChannelLiteral = Literal["web", "patrol", "hotline", "co_building", "walk_in"]
ChannelLiteral = Literal["web", "patrol", "hotline", "co_building", "device", "open311", "walk_in"]
PriorityLiteral = Literal["normal", "urgent", "emergency"]
RatingLiteral = Literal["satisfied", "basic", "unsatisfied"]
WhistleLiteral = Literal["daily", "tough", "emergency"]
for _literal, _choices in (
    (StateLiteral, State.values),
    (ChannelLiteral, Channel.values),
    (PriorityLiteral, Priority.values),
    (RatingLiteral, Rating.values),
    (WhistleLiteral, WhistleKind.values),
):
    if set(get_args(_literal)) != set(_choices):
        raise ImportError("cases.schemas: a literal differs from the model's choices")

# A base64 photo (optionally a data: URL); 10 MB of image is about 13.4 MB of base64.
Photo = Annotated[str, Field(max_length=14_000_000)]


def text(max_length: int, *, default: Any = ..., min_length: int = 0) -> Any:
    return Field(default, min_length=min_length, max_length=max_length, pattern=NO_NUL)


# --- reading ---------------------------------------------------------------------------------


class CategoryOut(Schema):
    code: str
    name: str
    name_en: str
    parent_code: str | None
    owner_level: str
    sla_policy: str
    is_public: bool


class CaseUnitOut(Schema):
    kind: Literal["place", "department", "property_company"]
    id: int
    name: str


class CaseRowOut(Schema):
    number: str
    title: str
    state: StateLiteral
    state_label: str
    category_code: str
    category_name: str
    channel: ChannelLiteral
    priority: PriorityLiteral
    place_id: int
    place_name: str
    owner: CaseUnitOut | None
    handler_unit: CaseUnitOut | None
    handler_name: str
    reporter_count: int
    created_at: datetime
    due_at: datetime
    warn_at: datetime
    overdue: bool
    supervised: bool
    whistle_missed: bool
    version: int


class CasePageOut(Schema):
    items: list[CaseRowOut]
    total: int
    limit: int
    offset: int


class AttachmentOut(Schema):
    id: int
    url: str
    width: int
    height: int
    size: int


class EventOut(Schema):
    id: int
    at: datetime
    action: str
    action_label: str
    actor: str
    from_state: str
    to_state: str
    note: str
    public: bool
    data: dict[str, Any]
    attachments: list[AttachmentOut]


class ReporterOut(Schema):
    id: int
    name: str
    phone_masked: str
    channel: ChannelLiteral
    created_at: datetime
    is_me: bool


class ExtensionOut(Schema):
    id: int
    amount: int
    unit: str
    reason: str
    status: Literal["pending", "approved", "refused"]
    requested_at: datetime
    decided_at: datetime | None
    decision_note: str


class CaseDetailOut(CaseRowOut):
    description: str
    address: str
    lat: float | None
    lng: float | None
    hotline_ticket: str
    sla_policy: str
    respond_due_at: datetime
    responded_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    reply: str
    rating: str
    rating_comment: str
    reopen_count: int
    extension_count: int
    escalation_level: int
    whistle_department: str | None
    whistle_due_at: datetime | None
    whistle_reported_at: datetime | None
    duplicate_of: str | None
    reporters: list[ReporterOut]
    timeline: list[EventOut]
    extensions: list[ExtensionOut]
    actions: list[str]
    may_rate: bool


class SimilarOut(Schema):
    """A "me too" candidate: only what anyone may see."""

    number: str
    title: str
    category_code: str
    created_at: datetime
    reporter_count: int
    distance_m: float | None


class CaseQuery(Schema):
    state: StateLiteral | Literal["open"] | None = None
    category: str | None = Field(None, max_length=16, pattern=r"^[0-9A-Za-z]*$")
    channel: ChannelLiteral | None = None
    priority: PriorityLiteral | None = None
    place_id: int | None = Field(None, ge=1, le=MAX_ID)
    overdue: bool | None = None
    supervised: bool | None = None
    q: str = Field("", max_length=50, pattern=NO_NUL)
    created_from: date | None = None
    created_to: date | None = None
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=10_000_000)


class PageQuery(Schema):
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=10_000_000)


class SimilarQuery(Schema):
    category: str = Field(..., max_length=16, pattern=r"^[0-9A-Za-z]+$")
    place_id: int | None = Field(None, ge=1, le=MAX_ID)
    lat: float | None = Field(None, ge=-90, le=90)
    lng: float | None = Field(None, ge=-180, le=180)


class TrackOut(Schema):
    number: str
    title: str
    state: StateLiteral
    state_label: str
    category_name: str
    created_at: datetime
    due_at: datetime
    reply: str
    rating: str
    may_rate: bool
    timeline: list[EventOut]


# --- writing ---------------------------------------------------------------------------------


class IntakeIn(BodyIn):
    channel: IntakeChannelLiteral = "web"
    category: str = Field(..., min_length=1, max_length=16, pattern=r"^[0-9A-Za-z]+$")
    description: str = text(2000, min_length=1)
    title: str = text(100, default="")
    place_id: int | None = Field(None, ge=1, le=MAX_ID, description="A building or house (or any place)")
    lat: float | None = Field(None, ge=-90, le=90)
    lng: float | None = Field(None, ge=-180, le=180)
    address: str = text(200, default="")
    priority: PriorityLiteral = "normal"
    reporter_name: str = text(64, default="")
    reporter_phone: str = text(20, default="")
    hotline_ticket: str = text(40, default="")
    photos: list[Photo] = Field(default_factory=list, max_length=9)
    me_too_of: str | None = Field(None, max_length=24, pattern=r"^[0-9]+$", description="Join this open case")
    handle_myself: bool = False


class IntakeOut(Schema):
    number: str
    state: StateLiteral
    created: bool
    joined: bool
    tracking_code: str


class TargetIn(BodyIn):
    place_id: int | None = Field(None, ge=1, le=MAX_ID)
    user_id: int | None = Field(None, ge=1, le=MAX_ID)
    department_id: int | None = Field(None, ge=1, le=MAX_ID)
    property_company_id: int | None = Field(None, ge=1, le=MAX_ID)


class ActionIn(BodyIn):
    note: str = text(2000, default="")
    version: int | None = Field(
        None, ge=1, le=MAX_ID, description="The version you saw; a stale one is a 409"
    )


class SendIn(ActionIn):
    to: TargetIn


class ResolveIn(BodyIn):
    reply: str = text(2000, min_length=1)
    photos: list[Photo] = Field(default_factory=list, max_length=9)
    version: int | None = Field(None, ge=1, le=MAX_ID)


class ProgressIn(BodyIn):
    note: str = text(2000, min_length=1)
    photos: list[Photo] = Field(default_factory=list, max_length=9)
    version: int | None = Field(None, ge=1, le=MAX_ID)


class EscalateIn(ActionIn):
    department_id: int | None = Field(None, ge=1, le=MAX_ID)


class WhistleIn(ActionIn):
    department_id: Id
    kind: WhistleLiteral = "daily"


class ExtensionIn(BodyIn):
    amount: int = Field(..., ge=1, le=1000)
    reason: str = text(2000, min_length=1)
    version: int | None = Field(None, ge=1, le=MAX_ID)


class DecisionIn(ActionIn):
    approve: bool


class RateIn(BodyIn):
    rating: RatingLiteral
    comment: str = text(500, default="")


class MergeIn(ActionIn):
    into: str = Field(..., min_length=1, max_length=24, pattern=r"^[0-9]+$")
