"""People API (人口接口): residents, households, houses, care groups, statistics, room charts.

Every read starts from the caller's scope, so a record outside it answers 404 exactly like
one that does not exist. ID and phone numbers leave masked; ``reveal`` unmasks one field
for callers with the permission and audits it. Handlers are thin: parse → selector or
service → schema.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Header, Query, Router, Status

from wangge.core.api import READ_ERRORS, WRITE_ERRORS, ErrorOut, api_user
from wangge.core.pii import mask_phone
from wangge.people import selectors, services
from wangge.people.models import EmergencyContact, ResidentPhone
from wangge.people.schemas import (
    CareGroupCreateIn,
    CareGroupJoinIn,
    CareGroupLeaveIn,
    CareGroupMembershipOut,
    CareGroupOut,
    ConsentOut,
    ConsentRecordIn,
    ConsentWithdrawIn,
    EmergencyContactIn,
    EmergencyContactOut,
    EmergencyContactRemoveIn,
    HouseDetailOut,
    HouseholdCardOut,
    HouseholdCreateIn,
    HouseholdHeadIn,
    HouseholdMemberIn,
    HouseholdPageOut,
    HouseholdQuery,
    HouseUpdateIn,
    PopulationStatsOut,
    PopulationStatsQuery,
    ResidentCreateIn,
    ResidentDetailOut,
    ResidentMoveOutIn,
    ResidentPageOut,
    ResidentPhoneOut,
    ResidentPhonesIn,
    ResidentQuery,
    ResidentRevealIn,
    ResidentRevealOut,
    ResidentUpdateIn,
    RoomChartOut,
)
from wangge.places.selectors import place_get

router = Router(tags=["people"])


def _phones(resident_id: int) -> list[dict[str, Any]]:
    return [
        {"id": p.pk, "label": p.label, "is_primary": p.is_primary, "phone_masked": mask_phone(p.phone)}
        for p in ResidentPhone.objects.filter(resident_id=resident_id).order_by("-is_primary", "pk")
    ]


# --- residents ----------------------------------------------------------------------------


@router.get("/residents", response={200: ResidentPageOut, **READ_ERRORS})
def resident_list(request: HttpRequest, filters: Query[ResidentQuery]) -> dict[str, Any]:
    """Find residents: by name, pinyin or initials (``zs`` finds 张三), or an exact ID or phone
    number; filtered by place subtree, care group, age and registration. Identifiers masked."""
    user = request.user
    today = selectors.local_today()
    page = selectors.resident_search(
        user,
        q=filters.q,
        place=place_get(user, filters.place_id) if filters.place_id is not None else None,
        care_group=selectors.care_group_get(user, filters.care_group) if filters.care_group else None,
        age_min=filters.age_min,
        age_max=filters.age_max,
        registration=filters.registration,
        gender=filters.gender,
        status=None if filters.status == "all" else filters.status,
        limit=filters.limit,
        offset=filters.offset,
    )
    return {
        "items": [selectors.resident_list_row(r, today=today) for r in page.items],
        "total": page.total,
        "limit": page.limit,
        "offset": page.offset,
    }


@router.post("/residents", response={201: ResidentDetailOut, **WRITE_ERRORS}, exclude_unset=True)
def resident_create(
    request: HttpRequest,
    data: ResidentCreateIn,
    idempotency_key: str = Header("", alias="Idempotency-Key", max_length=128),
) -> Status[dict[str, Any]]:
    """Register a resident. Send an ``Idempotency-Key`` header so that a retry cannot register
    them twice: the same key returns the first result. A duplicate ID number is refused (409)."""
    user = api_user(request)
    place = place_get(user, data.place_id)
    household = selectors.household_get(user, data.household_id) if data.household_id else None
    resident = services.resident_create(
        actor=user,
        place=place,
        name=data.name,
        id_number=data.id_number,
        gender=data.gender,
        birth_date=data.birth_date,
        ethnicity=data.ethnicity,
        registration=data.registration,
        household=household,
        relation_to_head=data.relation_to_head,
        phones=[services.PhoneInput(p.phone, p.label) for p in data.phones],
        moved_in_on=data.moved_in_on,
        moved_in_reason=data.moved_in_reason,
        health_notes=data.health_notes,
        idempotency_key=idempotency_key,
    )
    return Status(201, selectors.resident_detail(user, resident.pk))


@router.get("/residents/{resident_id}", response={200: ResidentDetailOut, **READ_ERRORS}, exclude_unset=True)
def resident_detail(request: HttpRequest, resident_id: int) -> dict[str, Any]:
    """One resident; sensitive details only for callers who may see them (otherwise absent)."""
    return selectors.resident_detail(request.user, resident_id)


@router.patch(
    "/residents/{resident_id}", response={200: ResidentDetailOut, **WRITE_ERRORS}, exclude_unset=True
)
def resident_update(request: HttpRequest, resident_id: int, data: ResidentUpdateIn) -> dict[str, Any]:
    """Correct a resident's details; only the fields sent change."""
    user = api_user(request)
    resident = selectors.resident_get(user, resident_id)
    sent = data.model_fields_set
    services.resident_update(
        actor=user,
        resident=resident,
        name=data.name,
        id_number=data.id_number,
        gender=data.gender,
        birth_date=data.birth_date if "birth_date" in sent else services.UNSET,
        ethnicity=data.ethnicity,
        registration=data.registration,
        moved_in_on=data.moved_in_on if "moved_in_on" in sent else services.UNSET,
        moved_in_reason=data.moved_in_reason,
        health_notes=data.health_notes,
    )
    return selectors.resident_detail(user, resident.pk)


@router.post(
    "/residents/{resident_id}/move-out", response={200: ResidentDetailOut, **WRITE_ERRORS}, exclude_unset=True
)
def resident_move_out(request: HttpRequest, resident_id: int, data: ResidentMoveOutIn) -> dict[str, Any]:
    """Record that a resident moved out (迁出) or died."""
    user = api_user(request)
    resident = selectors.resident_get(user, resident_id)
    services.resident_move_out(
        actor=user, resident=resident, on=data.on, reason=data.reason, status=data.status
    )
    return selectors.resident_detail(user, resident.pk)


@router.post("/residents/{resident_id}/reveal", response={200: ResidentRevealOut, **WRITE_ERRORS})
def resident_reveal(request: HttpRequest, resident_id: int, data: ResidentRevealIn) -> ResidentRevealOut:
    """Unmask one ID or phone number. Needs the reveal permission at the resident's place;
    every reveal, and every refused attempt, is written to the audit log."""
    user = api_user(request)
    resident = selectors.resident_get(user, resident_id)
    value = services.resident_reveal(actor=user, resident=resident, field=data.field, item_id=data.item_id)
    return ResidentRevealOut(field=data.field, value=value)


@router.get("/residents/{resident_id}/phones", response={200: list[ResidentPhoneOut], **READ_ERRORS})
def resident_phones(request: HttpRequest, resident_id: int) -> list[dict[str, Any]]:
    """A resident's phone numbers, masked; the primary first."""
    resident = selectors.resident_get(request.user, resident_id)
    return _phones(resident.pk)


@router.put("/residents/{resident_id}/phones", response={200: list[ResidentPhoneOut], **WRITE_ERRORS})
def resident_set_phones(
    request: HttpRequest, resident_id: int, data: ResidentPhonesIn
) -> list[dict[str, Any]]:
    """Replace a resident's phone numbers; the first becomes the primary one."""
    user = api_user(request)
    resident = selectors.resident_get(user, resident_id)
    services.resident_set_phones(
        actor=user, resident=resident, phones=[services.PhoneInput(p.phone, p.label) for p in data.phones]
    )
    return _phones(resident.pk)


def _contacts(resident_id: int) -> list[dict[str, Any]]:
    return [
        {"id": c.pk, "name": c.name, "relation": c.relation, "phone_masked": mask_phone(c.phone)}
        for c in EmergencyContact.objects.filter(resident_id=resident_id).order_by("sort_order", "pk")
    ]


@router.get(
    "/residents/{resident_id}/emergency-contacts", response={200: list[EmergencyContactOut], **READ_ERRORS}
)
def emergency_contact_list(request: HttpRequest, resident_id: int) -> list[dict[str, Any]]:
    """A resident's emergency contacts (紧急联系人), phones masked."""
    return _contacts(selectors.resident_get(request.user, resident_id).pk)


@router.post(
    "/residents/{resident_id}/emergency-contacts", response={201: list[EmergencyContactOut], **WRITE_ERRORS}
)
def emergency_contact_add(
    request: HttpRequest, resident_id: int, data: EmergencyContactIn
) -> Status[list[dict[str, Any]]]:
    """Add an emergency contact; answers with all of the resident's contacts."""
    user = api_user(request)
    resident = selectors.resident_get(user, resident_id)
    services.emergency_contact_add(
        actor=user, resident=resident, name=data.name, relation=data.relation, phone=data.phone
    )
    return Status(201, _contacts(resident.pk))


@router.post(
    "/residents/{resident_id}/emergency-contacts/remove",
    response={200: list[EmergencyContactOut], **WRITE_ERRORS},
)
def emergency_contact_remove(
    request: HttpRequest, resident_id: int, data: EmergencyContactRemoveIn
) -> list[dict[str, Any]]:
    """Remove one emergency contact; answers with those left."""
    user = api_user(request)
    resident = selectors.resident_get(user, resident_id)
    services.emergency_contact_remove(actor=user, resident=resident, contact_id=data.contact_id)
    return _contacts(resident.pk)


@router.get("/residents/{resident_id}/consents", response={200: list[ConsentOut], **READ_ERRORS})
def consent_list(request: HttpRequest, resident_id: int) -> list[Any]:
    """A resident's consent records (知情同意), newest first."""
    resident = selectors.resident_get(request.user, resident_id)
    return list(resident.consents.order_by("-given_on", "-pk"))


@router.post("/residents/{resident_id}/consents", response={201: ConsentOut, **WRITE_ERRORS})
def consent_record(request: HttpRequest, resident_id: int, data: ConsentRecordIn) -> Status[Any]:
    """Record a consent: purpose, date and channel."""
    user = api_user(request)
    resident = selectors.resident_get(user, resident_id)
    consent = services.consent_record(
        actor=user, resident=resident, purpose=data.purpose, channel=data.channel, given_on=data.given_on
    )
    return Status(201, consent)


@router.post("/residents/{resident_id}/consents/withdraw", response={200: ConsentOut, **WRITE_ERRORS})
def consent_withdraw(request: HttpRequest, resident_id: int, data: ConsentWithdrawIn) -> Any:
    """Record that a consent was withdrawn."""
    user = api_user(request)
    resident = selectors.resident_get(user, resident_id)
    return services.consent_withdraw(actor=user, resident=resident, consent_id=data.consent_id, on=data.on)


@router.get(
    "/residents/{resident_id}/care-groups",
    response={200: list[CareGroupMembershipOut], **READ_ERRORS},
    exclude_unset=True,
)
def care_group_memberships(request: HttpRequest, resident_id: int) -> list[dict[str, Any]]:
    """A resident's care groups, past and present (sensitive ones only for those allowed)."""
    resident = selectors.resident_get(request.user, resident_id)
    return selectors.membership_rows(request.user, resident)


@router.post(
    "/residents/{resident_id}/care-groups",
    response={201: list[CareGroupMembershipOut], **WRITE_ERRORS},
    exclude_unset=True,
)
def care_group_join(
    request: HttpRequest, resident_id: int, data: CareGroupJoinIn
) -> Status[list[dict[str, Any]]]:
    """Tag a resident with a care group; a grade only for graded groups (残疾人)."""
    user = api_user(request)
    resident = selectors.resident_get(user, resident_id)
    group = selectors.care_group_get(user, data.group)
    services.care_group_join(
        actor=user,
        resident=resident,
        group=group,
        start_on=data.start_on,
        end_on=data.end_on,
        grade=data.grade,
        notes=data.notes,
    )
    return Status(201, selectors.membership_rows(user, resident))


@router.post(
    "/residents/{resident_id}/care-groups/leave",
    response={200: list[CareGroupMembershipOut], **WRITE_ERRORS},
    exclude_unset=True,
)
def care_group_leave(request: HttpRequest, resident_id: int, data: CareGroupLeaveIn) -> list[dict[str, Any]]:
    """End a care-group membership."""
    user = api_user(request)
    resident = selectors.resident_get(user, resident_id)
    services.care_group_leave(actor=user, resident=resident, membership_id=data.membership_id, on=data.on)
    return selectors.membership_rows(user, resident)


# --- households ---------------------------------------------------------------------------


@router.get("/households", response={200: HouseholdPageOut, **READ_ERRORS})
def household_list(request: HttpRequest, filters: Query[HouseholdQuery]) -> dict[str, Any]:
    """Households (户) in the caller's scope, in address order, a page at a time."""
    user = request.user
    place = place_get(user, filters.place_id) if filters.place_id is not None else None
    items, total = selectors.household_list(user, place=place, limit=filters.limit, offset=filters.offset)
    return {"items": items, "total": total, "limit": filters.limit, "offset": filters.offset}


@router.post("/households", response={201: HouseholdCardOut, **WRITE_ERRORS}, exclude_unset=True)
def household_create(request: HttpRequest, data: HouseholdCreateIn) -> Status[dict[str, Any]]:
    """Open a household at a house."""
    user = api_user(request)
    household = services.household_create(
        actor=user, place=place_get(user, data.place_id), number=data.number
    )
    return Status(201, selectors.household_card(user, selectors.household_get(user, household.pk)))


@router.get("/households/{household_id}", response={200: HouseholdCardOut, **READ_ERRORS}, exclude_unset=True)
def household_detail(request: HttpRequest, household_id: int) -> dict[str, Any]:
    """The household card (户卡): members, house, care groups, emergency contacts and who is
    responsible. Sensitive details only for callers who may see them (otherwise absent)."""
    return selectors.household_card(request.user, selectors.household_get(request.user, household_id))


@router.post(
    "/households/{household_id}/members", response={200: HouseholdCardOut, **WRITE_ERRORS}, exclude_unset=True
)
def household_add_member(request: HttpRequest, household_id: int, data: HouseholdMemberIn) -> dict[str, Any]:
    """Put a resident into the household, with their relation to the head."""
    user = api_user(request)
    household = selectors.household_get(user, household_id)
    resident = selectors.resident_get(user, data.resident_id)
    services.household_add_member(actor=user, household=household, resident=resident, relation=data.relation)
    return selectors.household_card(user, selectors.household_get(user, household_id))


@router.post(
    "/households/{household_id}/head", response={200: HouseholdCardOut, **WRITE_ERRORS}, exclude_unset=True
)
def household_set_head(request: HttpRequest, household_id: int, data: HouseholdHeadIn) -> dict[str, Any]:
    """Make a member the head of the household (户主)."""
    user = api_user(request)
    household = selectors.household_get(user, household_id)
    resident = selectors.resident_get(user, data.resident_id)
    services.household_set_head(actor=user, household=household, resident=resident)
    return selectors.household_card(user, selectors.household_get(user, household_id))


# --- houses -------------------------------------------------------------------------------


@router.get("/houses/{house_id}", response={200: HouseDetailOut, **READ_ERRORS})
def house_detail(request: HttpRequest, house_id: int) -> dict[str, Any]:
    """A house (房屋): room, floor, area, use, owner, tenants and the households living there."""
    return selectors.house_detail(request.user, selectors.house_get(request.user, house_id))


@router.patch("/houses/{house_id}", response={200: HouseDetailOut, **WRITE_ERRORS})
def house_update(request: HttpRequest, house_id: int, data: HouseUpdateIn) -> dict[str, Any]:
    """Change a house's use (the date of the change is kept), owner, tenants, area, floor or room."""
    user = api_user(request)
    house = selectors.house_get(user, house_id)
    sent = data.model_fields_set
    owner: Any = services.UNSET
    if "owner_id" in sent:
        owner = selectors.resident_get(user, data.owner_id) if data.owner_id is not None else None
    tenants = (
        [selectors.resident_get(user, t) for t in data.tenant_ids] if data.tenant_ids is not None else None
    )
    house = services.house_update(
        actor=user,
        house=house,
        use=data.use,
        owner=owner,
        owner_name=data.owner_name,
        tenants=tenants,
        area_m2=(
            (Decimal(str(round(data.area_m2, 2))) if data.area_m2 is not None else None)
            if "area_m2" in sent
            else services.UNSET
        ),
        floor=data.floor if "floor" in sent else services.UNSET,
        room_number=data.room_number,
    )
    return selectors.house_detail(user, selectors.house_get(user, house.pk))


# --- care groups, statistics, room charts -------------------------------------------------


@router.get("/care-groups", response={200: list[CareGroupOut], 401: ErrorOut})
def care_group_list(request: HttpRequest) -> list[Any]:
    """The configured care groups (重点人群); sensitive ones only for callers who may see them."""
    return selectors.care_groups_visible(request.user)


@router.post("/care-groups", response={201: CareGroupOut, **WRITE_ERRORS})
def care_group_create(request: HttpRequest, data: CareGroupCreateIn) -> Status[Any]:
    """Add a care group to the list (platform administrators only)."""
    group = services.care_group_create(
        actor=api_user(request),
        code=data.code,
        name=data.name,
        name_en=data.name_en,
        is_sensitive=data.is_sensitive,
        has_grade=data.has_grade,
        visit_every_days=data.visit_every_days,
        sort_order=data.sort_order,
    )
    return Status(201, group)


@router.get("/stats", response={200: PopulationStatsOut, **READ_ERRORS})
def population_stats(request: HttpRequest, filters: Query[PopulationStatsQuery]) -> dict[str, Any]:
    """Population figures for a place's subtree: registration types, age pyramid (5-year bands
    by gender), care groups, houses by use and vacancy, moves in and out per month (12 months)."""
    return selectors.population_stats(request.user, place_get(request.user, filters.place_id))


@router.get("/buildings/{place_id}/room-chart", response={200: RoomChartOut, **READ_ERRORS})
def room_chart(request: HttpRequest, place_id: int) -> dict[str, Any]:
    """The room chart of a building (楼盘表): units × floors, one cell per house, with its use,
    household and care-group markers."""
    return selectors.room_chart(request.user, place_get(request.user, place_id))
