"""Typed shapes of the people API (人口接口). Every response is described exactly.

ID and phone numbers only ever leave masked (``*_masked``), except through ``reveal``.
Sensitive keys (health notes, grades, membership notes) are absent, not null, for callers
who may not see them: those endpoints answer with ``exclude_unset``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal, get_args

from ninja import Field, Schema
from pydantic import Strict

from wangge.people.models import Consent, Gender, HouseUse, Registration, Relation, ResidentStatus
from wangge.places.schemas import BodyIn, ResponsibleOut

MAX_ID = 2**63 - 1
NO_NUL = r"^[^\x00]*$"

GenderLiteral = Literal["male", "female", "unknown"]
RegistrationLiteral = Literal["registered", "resident", "floating"]
StatusLiteral = Literal["active", "moved_out", "deceased"]
RelationLiteral = Literal[
    "head", "spouse", "child", "parent", "grandchild", "grandparent", "sibling", "child_in_law", "other"
]
HouseUseLiteral = Literal["owner_occupied", "rented", "vacant", "commercial", "other"]
ChannelLiteral = Literal["paper", "app", "verbal", "other"]
RevealFieldLiteral = Literal["id_number", "phone", "emergency_phone"]
for _literal, _choices in (
    (GenderLiteral, Gender.values),
    (RegistrationLiteral, Registration.values),
    (StatusLiteral, ResidentStatus.values),
    (RelationLiteral, Relation.values),
    (HouseUseLiteral, HouseUse.values),
    (ChannelLiteral, Consent.Channel.values),
):
    if set(get_args(_literal)) != set(_choices):
        raise ImportError("people.schemas: a literal differs from the model's choices")

# JSON has no date type: bodies are strict, except that dates come as ISO strings.
LaxDate = Annotated[date, Strict(False)]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


def text(max_length: int, *, default: Any = ..., min_length: int = 0) -> Any:
    return Field(default, min_length=min_length, max_length=max_length, pattern=NO_NUL)


# --- residents ----------------------------------------------------------------------------


class ResidentQuery(Schema):
    q: str = Field(
        "", max_length=64, description="Name, pinyin, initials (zs), or an exact ID or phone number"
    )
    place_id: int | None = Field(None, ge=1, le=MAX_ID, description="Only residents under this place")
    care_group: str | None = Field(
        None, max_length=32, pattern=r"^[A-Za-z0-9_-]*$", description="A care group code"
    )
    age_min: int | None = Field(None, ge=0, le=150)
    age_max: int | None = Field(None, ge=0, le=150)
    registration: RegistrationLiteral | None = None
    gender: GenderLiteral | None = None
    status: Literal["active", "moved_out", "deceased", "all"] = "active"
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=10_000_000)


class ResidentListOut(Schema):
    id: int
    name: str
    gender: str
    birth_date: date | None
    age: int | None
    registration: str
    status: str
    place_id: int
    place_name: str
    household_id: int | None
    relation_to_head: str
    id_number_masked: str
    phone_masked: str
    care_groups: list[str] = Field(..., description="Codes of current care groups the caller may see")


class ResidentPageOut(Schema):
    items: list[ResidentListOut]
    total: int
    limit: int
    offset: int


class ResidentPhoneOut(Schema):
    id: int
    label: str
    is_primary: bool
    phone_masked: str


class EmergencyContactOut(Schema):
    id: int
    name: str
    relation: str
    phone_masked: str


class CareGroupMembershipOut(Schema):
    id: int
    code: str
    name: str
    start_on: date
    end_on: date | None = None
    is_sensitive: bool | None = Field(None, description="Only for callers who may see sensitive details")
    grade: str | None = Field(None, description="Only for graded groups, for callers who may see it")
    notes: str | None = Field(None, description="Only for callers who may see sensitive details")


class ResidentCardOut(Schema):
    id: int
    name: str
    gender: str
    birth_date: date | None
    age: int | None
    ethnicity: str
    relation_to_head: str
    registration: str
    status: str
    id_number_masked: str
    phones: list[ResidentPhoneOut]
    emergency_contacts: list[EmergencyContactOut]
    care_groups: list[CareGroupMembershipOut]
    health_notes: str | None = Field(None, description="Only for callers who may see sensitive details")


class ResidentDetailOut(ResidentCardOut):
    place_id: int
    place_name: str
    address: str
    household_id: int | None
    moved_in_on: date | None
    moved_in_reason: str
    moved_out_on: date | None
    moved_out_reason: str


class ResidentPhoneIn(BodyIn):
    phone: str = text(32, min_length=1)
    label: str = text(16, default="")


class ResidentCreateIn(BodyIn):
    place_id: Id
    name: str = text(64, min_length=1)
    id_number: str = text(32, default="")
    gender: GenderLiteral | None = None
    birth_date: LaxDate | None = None
    ethnicity: str = text(2, default="")
    registration: RegistrationLiteral = "registered"
    household_id: Id | None = None
    relation_to_head: RelationLiteral = "other"
    phones: list[ResidentPhoneIn] = Field([], max_length=5)
    moved_in_on: LaxDate | None = None
    moved_in_reason: str = text(200, default="")
    health_notes: str = text(2000, default="")


class ResidentUpdateIn(BodyIn):
    name: str | None = text(64, default=None, min_length=1)
    id_number: str | None = text(32, default=None)
    gender: GenderLiteral | None = None
    birth_date: LaxDate | None = None
    ethnicity: str | None = text(2, default=None)
    registration: RegistrationLiteral | None = None
    moved_in_on: LaxDate | None = None
    moved_in_reason: str | None = text(200, default=None)
    health_notes: str | None = text(2000, default=None)


class ResidentMoveOutIn(BodyIn):
    on: LaxDate | None = Field(None, description="Default: today")
    reason: str = text(200, default="")
    status: Literal["moved_out", "deceased"] = "moved_out"


class ResidentRevealIn(BodyIn):
    field: RevealFieldLiteral
    item_id: Id | None = Field(None, description="Which phone or emergency contact; default the first")


class ResidentRevealOut(Schema):
    field: str
    value: str


class ResidentPhonesIn(BodyIn):
    phones: list[ResidentPhoneIn] = Field(..., max_length=5)


class EmergencyContactIn(BodyIn):
    name: str = text(64, min_length=1)
    relation: str = text(32, min_length=1)
    phone: str = text(32, min_length=1)


class EmergencyContactRemoveIn(BodyIn):
    contact_id: Id


class ConsentRecordIn(BodyIn):
    purpose: str = text(200, min_length=1)
    channel: ChannelLiteral
    given_on: LaxDate | None = Field(None, description="Default: today")


class ConsentWithdrawIn(BodyIn):
    consent_id: Id
    on: LaxDate | None = Field(None, description="Default: today")


class ConsentOut(Schema):
    id: int
    purpose: str
    given_on: date
    channel: str
    withdrawn_on: date | None
    recorded_by_id: int | None


class CareGroupJoinIn(BodyIn):
    group: str = Field(
        ..., min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$", description="Care group code"
    )
    start_on: LaxDate | None = Field(None, description="Default: today")
    end_on: LaxDate | None = None
    grade: str = text(16, default="")
    notes: str = text(2000, default="")


class CareGroupLeaveIn(BodyIn):
    membership_id: Id
    on: LaxDate | None = Field(None, description="Default: today")


# --- households and houses ----------------------------------------------------------------


class HouseholdQuery(Schema):
    place_id: int | None = Field(None, ge=1, le=MAX_ID)
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=10_000_000)


class HouseholdListOut(Schema):
    id: int
    number: str
    place_id: int
    place_name: str
    head_id: int | None
    head_name: str
    member_count: int


class HouseholdPageOut(Schema):
    items: list[HouseholdListOut]
    total: int
    limit: int
    offset: int


class HouseOut(Schema):
    id: int
    place_id: int
    room_number: str
    floor: int | None
    area_m2: float | None
    use: str
    use_changed_on: date | None
    owner_id: int | None
    owner_name: str


class HouseDetailOut(HouseOut):
    place_name: str
    address: str
    tenant_ids: list[int]
    household_ids: list[int]


class HouseholdCardOut(Schema):
    id: int
    number: str
    head_id: int | None
    place_id: int
    place_name: str
    address: str
    house: HouseOut | None
    members: list[ResidentCardOut]
    responsible: list[ResponsibleOut]
    sensitive_shown: bool


class HouseholdCreateIn(BodyIn):
    place_id: Id
    number: str = text(32, default="")


class HouseholdMemberIn(BodyIn):
    resident_id: Id
    relation: RelationLiteral = "other"


class HouseholdHeadIn(BodyIn):
    resident_id: Id


class HouseUpdateIn(BodyIn):
    use: HouseUseLiteral | None = None
    owner_id: Id | None = Field(None, description="A resident; send null to clear")
    owner_name: str | None = text(64, default=None)
    tenant_ids: list[Id] | None = Field(None, max_length=50)
    area_m2: float | None = Field(None, gt=0, lt=100_000, allow_inf_nan=False)
    floor: int | None = Field(None, ge=-10, le=200)
    room_number: str | None = text(16, default=None, min_length=1)


# --- care groups --------------------------------------------------------------------------


class CareGroupOut(Schema):
    id: int
    code: str
    name: str
    name_en: str
    is_sensitive: bool
    has_grade: bool
    visit_every_days: int | None
    is_active: bool


class CareGroupCreateIn(BodyIn):
    code: str = Field(..., min_length=1, max_length=32, pattern=r"^[a-z0-9_-]+$")
    name: str = text(64, min_length=1)
    name_en: str = text(64, default="")
    is_sensitive: bool = False
    has_grade: bool = False
    visit_every_days: int | None = Field(None, ge=1, le=366)
    sort_order: int = Field(0, ge=0, le=32767)


# --- statistics and the room chart --------------------------------------------------------


class PopulationStatsQuery(Schema):
    place_id: int = Field(..., ge=1, le=MAX_ID)


class PeopleCountOut(Schema):
    key: str
    label: str
    count: int


class CareGroupCountOut(Schema):
    code: str
    name: str
    is_sensitive: bool
    count: int


class AgePyramidOut(Schema):
    male: list[int]
    female: list[int]
    unknown: list[int]


class PopulationStatsOut(Schema):
    place_id: int
    place_name: str
    residents: int
    aged_60_plus: int
    registration: list[PeopleCountOut]
    age_bands: list[str]
    age_pyramid: AgePyramidOut
    unknown_age: int
    care_groups: list[CareGroupCountOut]
    houses: int
    houses_by_use: list[PeopleCountOut]
    vacancy_rate: float
    months: list[str]
    moves_in: list[int]
    moves_out: list[int]


class RoomCellOut(Schema):
    place_id: int
    name: str
    room: str
    floor: int
    house_id: int | None
    use: str | None
    household_id: int | None
    residents: int
    markers: dict[str, bool]


class RoomFloorOut(Schema):
    floor: int
    cells: list[RoomCellOut]


class RoomUnitOut(Schema):
    place_id: int | None
    name: str
    floors: list[RoomFloorOut]


class CareGroupLegendOut(Schema):
    code: str
    name: str


class RoomChartOut(Schema):
    building_id: int
    building_name: str
    floors: list[int]
    units: list[RoomUnitOut]
    care_groups: list[CareGroupLegendOut]
    uses: list[PeopleCountOut]
