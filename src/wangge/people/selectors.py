"""Reads of the people and houses registry, always narrowed to the actor's scope.

Lists show ID and phone numbers masked. Health notes, disability grades, membership notes
and the sensitive care groups themselves are *omitted* (not masked) for actors without
``Capability.VIEW_SENSITIVE`` at the resident's place.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Cast, Substr, TruncMonth
from django.utils.translation import gettext as _

from wangge.core import clock
from wangge.core.errors import NotFound, ValidationError
from wangge.core.pii import blind_index, mask_id_number, mask_phone
from wangge.core.roles import CAPABILITIES, Capability
from wangge.core.scope import access, can_see_path, has_capability, scope_for
from wangge.org.selectors import responsible_for
from wangge.people import identity
from wangge.people.models import (
    CareGroup,
    CareGroupMembership,
    EmergencyContact,
    Gender,
    House,
    Household,
    HouseUse,
    Registration,
    Resident,
    ResidentMove,
    ResidentPhone,
    ResidentStatus,
)
from wangge.places.models import Place, PlaceKind

MAX_ID = 2**63 - 1
AGE_BAND_YEARS = 5
AGE_BANDS = 21  # 0-4 … 95-99 and 100+
_ID_RE = re.compile(r"^\d{17}[\dX]$")
_PHONE_CHARS = re.compile(r"^[\d\s+\-()]+$")


# --- sensitive details --------------------------------------------------------------------


def sensitive_paths(user: Any) -> tuple[str, ...] | None:
    """The subtrees where ``user`` may see sensitive details; None means everywhere."""
    scope = scope_for(user)
    if scope.is_admin:
        return None
    return tuple(
        sorted(
            {
                g.path
                for g in scope.grants
                if Capability.VIEW_SENSITIVE in CAPABILITIES.get(g.role, frozenset())
            }
        )
    )


def sensitive_checker(user: Any) -> Callable[[str], bool]:
    """A fast ``path -> may see sensitive details there`` for many rows."""
    paths = sensitive_paths(user)
    if paths is None:
        return lambda path: True
    return lambda path: any(path.startswith(p) for p in paths)


def _under_any(lookup: str, paths: Iterable[str]) -> Q:
    condition = Q(pk__in=[])
    for p in paths:
        condition |= Q(**{f"{lookup}__under": p})
    return condition


def _active_on(today: date, prefix: str = "") -> Q:
    return Q(**{f"{prefix}start_on__lte": today}) & (
        Q(**{f"{prefix}end_on__isnull": True}) | Q(**{f"{prefix}end_on__gte": today})
    )


def local_today() -> date:
    return clock.local_now().date()


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year - years, day=28)


def age_on(birth_date: date | None, today: date) -> int | None:
    if birth_date is None:
        return None
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


# --- finding one ------------------------------------------------------------------------


def _check_id(value: int) -> None:
    if not 0 < value <= MAX_ID:
        raise NotFound(_("Not found"))


def residents_visible(user: Any, *, include_inactive: bool = False) -> QuerySet[Resident]:
    """The residents ``user`` may see: those living here unless ``include_inactive``."""
    qs = Resident.objects.visible_to(user)
    return qs if include_inactive else qs.filter(status=ResidentStatus.ACTIVE)


def resident_get(user: Any, resident_id: int) -> Resident:
    """One resident (moved out ones included), or NotFound when missing or out of scope."""
    _check_id(resident_id)
    return access(Resident.objects.select_related("place"), user, pk=resident_id)


def households_visible(user: Any) -> QuerySet[Household]:
    # The owner rule joins the members, which would repeat a household once per member:
    # narrow through a subquery of ids instead.
    ids = Household.objects.visible_to(user).values("pk")
    return Household.objects.filter(pk__in=ids)


def household_get(user: Any, household_id: int) -> Household:
    _check_id(household_id)
    found = households_visible(user).select_related("place").filter(pk=household_id).first()
    if found is None:
        raise NotFound(_("Not found"))
    return found


def houses_visible(user: Any) -> QuerySet[House]:
    return House.objects.visible_to(user)


def house_get(user: Any, house_id: int) -> House:
    _check_id(house_id)
    return access(House.objects.select_related("place", "owner"), user, pk=house_id)


def care_groups_visible(
    user: Any, *, path: str | None = None, include_inactive: bool = False
) -> list[CareGroup]:
    """The configured care groups; sensitive ones only for those who may see them (at ``path``)."""
    qs = CareGroup.objects.all()
    if not include_inactive:
        qs = qs.filter(is_active=True)
    allowed = has_capability(user, Capability.VIEW_SENSITIVE, path)
    return [g for g in qs.order_by("sort_order", "code") if allowed or not g.is_sensitive]


def care_group_get(user: Any, code: str) -> CareGroup:
    group = CareGroup.objects.filter(code=code[:32]).first()
    if group is None or (group.is_sensitive and not has_capability(user, Capability.VIEW_SENSITIVE)):
        raise NotFound(_("No such care group"), code="unknown_care_group")
    return group


# --- search -------------------------------------------------------------------------------


def query_condition(q: str) -> Q | None:
    """How a search box's text matches residents.

    An ID number or a phone number matches exactly, through the keyed hash; anything else
    matches the name (contains), its full pinyin (prefix: ``zhang``, ``zhangsan``) or its
    initials (prefix: ``zs`` finds 张三).
    """
    q = q.replace("\x00", "").strip()[:64]
    if not q:
        return None
    compact = q.upper().replace(" ", "")
    if _ID_RE.match(compact):
        return Q(id_hash=blind_index("id_number", compact))
    if _PHONE_CHARS.match(q):
        digits = identity.normalise_phone(q)
        if 7 <= len(digits) <= 12:
            owners = ResidentPhone.objects.filter(phone_hash=blind_index("phone", digits)).values(
                "resident_id"
            )
            return Q(pk__in=owners)
    condition = Q(name__contains=q)
    key = re.sub(r"[\s']", "", q.lower())
    if key and key.isascii() and key.isalpha():
        condition |= Q(name_pinyin__startswith=key) | Q(name_initials__startswith=key)
    return condition


def resident_filter(
    user: Any,
    *,
    q: str = "",
    place: Place | None = None,
    care_group: CareGroup | None = None,
    age_min: int | None = None,
    age_max: int | None = None,
    registration: str | None = None,
    gender: str | None = None,
    status: str | None = ResidentStatus.ACTIVE,
) -> QuerySet[Resident]:
    """Residents ``user`` may see that match every filter given, in name order (unpaginated).

    ``place`` must already have been fetched through scope (``places.selectors.place_get``);
    ``status=None`` includes moved-out and deceased residents. Exports iterate this.
    """
    qs = Resident.objects.visible_to(user)
    if status is not None:
        if status not in ResidentStatus.values:
            raise ValidationError(_("Unknown status"), code="bad_status")
        qs = qs.filter(status=status)
    condition = query_condition(q)
    if condition is not None:
        qs = qs.filter(condition)
    if place is not None:
        qs = qs.filter(place__path__under=place.path)
    if registration:
        if registration not in Registration.values:
            raise ValidationError(_("Unknown registration type"), code="bad_registration")
        qs = qs.filter(registration=registration)
    if gender:
        if gender not in Gender.values:
            raise ValidationError(_("Unknown gender"), code="bad_gender")
        qs = qs.filter(gender=gender)
    today = local_today()
    if age_min is not None and age_max is not None and age_min > age_max:
        raise ValidationError(_("The lowest age is above the highest"), code="bad_age_band")
    if age_min is not None:
        qs = qs.filter(birth_date__lte=_years_before(today, age_min))
    if age_max is not None:
        qs = qs.filter(birth_date__gt=_years_before(today, age_max + 1))
    if care_group is not None:
        members = CareGroupMembership.objects.filter(
            _active_on(today), resident=OuterRef("pk"), group=care_group
        )
        qs = qs.filter(Exists(members))
        if care_group.is_sensitive:
            paths = sensitive_paths(user)
            if paths is not None:
                qs = qs.filter(_under_any("place__path", paths))
    return qs.order_by("name_pinyin", "name", "pk")


@dataclass(frozen=True)
class ResidentPage:
    items: list[Resident]
    total: int
    limit: int
    offset: int


def with_list_details(user: Any, qs: QuerySet[Resident]) -> QuerySet[Resident]:
    """Rows for lists: place, phones and current care groups in a fixed number of queries."""
    today = local_today()
    return qs.select_related("place").prefetch_related(
        Prefetch("phones", queryset=ResidentPhone.objects.order_by("-is_primary", "pk")),
        Prefetch(
            "care_groups",
            queryset=CareGroupMembership.objects.filter(_active_on(today))
            .select_related("group")
            .order_by("group__sort_order", "group__code"),
            to_attr="current_care_groups",
        ),
    )


def visible_memberships(user: Any, residents: Iterable[Resident]) -> None:
    """Set ``visible_care_groups`` on each resident: sensitive ones dropped where not allowed.

    Needs ``with_list_details`` (or the card's prefetch) to have loaded ``current_care_groups``.
    """
    may = sensitive_checker(user)
    for r in residents:
        allowed = may(r.place.path)
        r.may_view_sensitive = allowed  # type: ignore[attr-defined]
        r.visible_care_groups = [  # type: ignore[attr-defined]
            m for m in getattr(r, "current_care_groups", []) if allowed or not m.group.is_sensitive
        ]


def resident_search(
    user: Any,
    *,
    q: str = "",
    place: Place | None = None,
    care_group: CareGroup | None = None,
    age_min: int | None = None,
    age_max: int | None = None,
    registration: str | None = None,
    gender: str | None = None,
    status: str | None = ResidentStatus.ACTIVE,
    limit: int = 50,
    offset: int = 0,
) -> ResidentPage:
    """One page of ``resident_filter``, with list details: four queries whatever the page size."""
    qs = resident_filter(
        user,
        q=q,
        place=place,
        care_group=care_group,
        age_min=age_min,
        age_max=age_max,
        registration=registration,
        gender=gender,
        status=status,
    )
    total = qs.count()
    items = list(with_list_details(user, qs)[offset : offset + limit]) if offset < total else []
    visible_memberships(user, items)
    return ResidentPage(items=items, total=total, limit=limit, offset=offset)


def resident_detail(user: Any, resident_id: int) -> dict[str, Any]:
    """One resident as the detail view shows them: masked identifiers, and sensitive keys
    (health notes, grades, notes, sensitive care groups) only where the caller may see them."""
    _check_id(resident_id)
    qs = with_list_details(user, Resident.objects.visible_to(user)).prefetch_related(
        Prefetch("emergency_contacts", queryset=EmergencyContact.objects.order_by("sort_order", "pk"))
    )
    found = qs.filter(pk=resident_id).first()
    if found is None:
        raise NotFound(_("Not found"))
    sensitive = has_capability(user, Capability.VIEW_SENSITIVE, found.place.path)
    return {
        **member_row(found, today=local_today(), sensitive=sensitive),
        "place_id": found.place_id,
        "place_name": found.place.name,
        "address": address_of(found.place),
        "household_id": found.household_id,
        "moved_in_on": found.moved_in_on,
        "moved_in_reason": found.moved_in_reason,
        "moved_out_on": found.moved_out_on,
        "moved_out_reason": found.moved_out_reason,
    }


def resident_own(user: Any) -> Resident | None:
    """The resident record that is the user's own (a resident signed in), if any."""
    if not getattr(user, "is_authenticated", False):
        return None
    return Resident.objects.select_related("place").filter(user_id=user.pk).first()


def memberships_for(
    user: Any, resident: Resident, *, include_ended: bool = True
) -> list[CareGroupMembership]:
    """A resident's care-group memberships that ``user`` may see (sensitive ones only if allowed)."""
    qs = CareGroupMembership.objects.filter(resident=resident).select_related("group")
    if not include_ended:
        qs = qs.filter(_active_on(local_today()))
    if not has_capability(user, Capability.VIEW_SENSITIVE, resident.place.path):
        qs = qs.filter(group__is_sensitive=False)
    return list(qs.order_by("-start_on", "pk"))


# --- household card -----------------------------------------------------------------------


def address_of(place: Place) -> str:
    """The names from the community down: ``乐山小区社区 第一网格 1号楼 1单元 1-0302``."""
    rows = Place.objects.filter(path__in=place.ancestor_paths()).values_list("kind", "name").order_by("path")
    shown = [name for kind, name in rows if kind not in (PlaceKind.COUNTY, PlaceKind.STREET)]
    return " ".join(shown)


def membership_row(m: CareGroupMembership, sensitive: bool) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": m.pk,
        "code": m.group.code,
        "name": m.group.name,
        "start_on": m.start_on,
        "end_on": m.end_on,
    }
    if sensitive:
        row["is_sensitive"] = m.group.is_sensitive
        if m.group.has_grade:
            row["grade"] = m.grade
        row["notes"] = m.notes
    return row


def member_row(resident: Resident, *, today: date, sensitive: bool) -> dict[str, Any]:
    """A resident as the card and the detail show them; sensitive keys only when allowed."""
    row: dict[str, Any] = {
        "id": resident.pk,
        "name": resident.name,
        "gender": resident.gender,
        "birth_date": resident.birth_date,
        "age": age_on(resident.birth_date, today),
        "ethnicity": resident.ethnicity,
        "relation_to_head": resident.relation_to_head,
        "registration": resident.registration,
        "status": resident.status,
        "id_number_masked": mask_id_number(resident.id_number) if resident.id_number else "",
        "phones": [
            {"id": p.pk, "label": p.label, "is_primary": p.is_primary, "phone_masked": mask_phone(p.phone)}
            for p in resident.phones.all()
        ],
        "emergency_contacts": [
            {"id": c.pk, "name": c.name, "relation": c.relation, "phone_masked": mask_phone(c.phone)}
            for c in resident.emergency_contacts.all()
        ],
        "care_groups": [
            membership_row(m, sensitive)
            for m in getattr(resident, "current_care_groups", [])
            if sensitive or not m.group.is_sensitive
        ],
    }
    if sensitive:
        row["health_notes"] = resident.health_notes
    return row


def house_row(house: House | None) -> dict[str, Any] | None:
    if house is None:
        return None
    return {
        "id": house.pk,
        "place_id": house.place_id,
        "room_number": house.room_number,
        "floor": house.floor,
        "area_m2": float(house.area_m2) if house.area_m2 is not None else None,
        "use": house.use,
        "use_changed_on": house.use_changed_on,
        "owner_id": house.owner_id,
        "owner_name": house.owner.name if house.owner is not None else house.owner_name,
    }


def household_card(user: Any, household: Household) -> dict[str, Any]:
    """A household card (户卡): members, house, care groups, emergency contacts, who is responsible.

    ``household`` comes from ``household_get``. Sensitive details appear only for actors
    with VIEW_SENSITIVE at the household's place; otherwise their keys are absent.
    """
    today = local_today()
    place = household.place
    sensitive = has_capability(user, Capability.VIEW_SENSITIVE, place.path)
    members = list(
        Resident.objects.filter(household=household, status=ResidentStatus.ACTIVE)
        .order_by(Case(When(pk=household.head_id, then=Value(0)), default=Value(1)), "birth_date", "pk")
        .prefetch_related(
            Prefetch("phones", queryset=ResidentPhone.objects.order_by("-is_primary", "pk")),
            Prefetch("emergency_contacts", queryset=EmergencyContact.objects.order_by("sort_order", "pk")),
            Prefetch(
                "care_groups",
                queryset=CareGroupMembership.objects.filter(_active_on(today))
                .select_related("group")
                .order_by("group__sort_order", "group__code"),
                to_attr="current_care_groups",
            ),
        )
    )
    house = House.objects.select_related("owner").filter(place=place).first()
    return {
        "id": household.pk,
        "number": household.number,
        "head_id": household.head_id,
        "place_id": place.pk,
        "place_name": place.name,
        "address": address_of(place),
        "house": house_row(house),
        "members": [member_row(m, today=today, sensitive=sensitive) for m in members],
        "responsible": responsible_for(user, place),
        "sensitive_shown": sensitive,
    }


def household_list(
    user: Any, *, place: Place | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """A page of households with their head's name and member count, in address order."""
    qs = households_visible(user)
    if place is not None:
        qs = qs.filter(place__path__under=place.path)
    total = qs.count()
    rows = (
        qs.select_related("place", "head")
        .annotate(member_count=Count("members", filter=Q(members__status=ResidentStatus.ACTIVE)))
        .order_by("place__path", "pk")[offset : offset + limit]
    )
    return [
        {
            "id": h.pk,
            "number": h.number,
            "place_id": h.place_id,
            "place_name": h.place.name,
            "head_id": h.head_id,
            "head_name": h.head.name if h.head is not None else "",
            "member_count": h.member_count,
        }
        for h in rows
    ], total


# --- statistics ---------------------------------------------------------------------------


def residents_under(user: Any, place: Place) -> QuerySet[Resident]:
    """Residents living under ``place`` that ``user`` may see, for aggregates.

    When the actor sees every person under the place (the usual case: staff asking about
    their own territory, administrators), the narrowing is one id subquery over the place
    tree, which both databases drive from the path index; otherwise the general scope rule.
    """
    if can_see_path(user, place.path, personal=True):
        houses = Place.objects.filter(path__under=place.path).values("pk")
        return Resident.objects.filter(status=ResidentStatus.ACTIVE, place_id__in=houses)
    return residents_visible(user).filter(place__path__under=place.path)


@dataclass
class _PeopleCounts:
    by_registration: dict[str, int]
    pyramid: dict[str, list[int]]
    unknown_age: int


def _people_counts(residents: QuerySet[Resident], today: date) -> _PeopleCounts:
    """Registration counts and the age pyramid in one scan.

    The database groups by (registration, birth year, birthday still to come this year,
    gender): at most a few thousand groups, whatever the population. The 5-year bands are
    summed here from those groups, exactly (age is decided by the birthday, not the year).
    """
    text = Cast("birth_date", CharField())
    rows = (
        residents.order_by()
        .alias(birth_md=Substr(text, 6, 5))
        .annotate(
            born_year=Substr(text, 1, 4),
            later=Case(
                When(birth_md__gt=today.strftime("%m-%d"), then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            ),
        )
        .values("registration", "born_year", "later", "gender")
        .annotate(n=Count("pk"))
    )
    counts = _PeopleCounts(by_registration=defaultdict(int), pyramid={}, unknown_age=0)
    counts.pyramid = {g: [0] * AGE_BANDS for g in Gender.values}
    for row in rows:
        counts.by_registration[row["registration"]] += row["n"]
        if row["born_year"] is None:
            counts.unknown_age += row["n"]
            continue
        age = max(0, today.year - int(row["born_year"]) - row["later"])
        band = min(age // AGE_BAND_YEARS, AGE_BANDS - 1)
        counts.pyramid.setdefault(row["gender"], [0] * AGE_BANDS)[band] += row["n"]
    return counts


def age_band_labels() -> list[str]:
    labels = [f"{i * AGE_BAND_YEARS}-{i * AGE_BAND_YEARS + AGE_BAND_YEARS - 1}" for i in range(AGE_BANDS - 1)]
    return [*labels, f"{(AGE_BANDS - 1) * AGE_BAND_YEARS}+"]


def _months_back(today: date, count: int) -> list[date]:
    months = []
    year, month = today.year, today.month
    for _i in range(count):
        months.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return list(reversed(months))


def population_stats(user: Any, place: Place) -> dict[str, Any]:
    """Population figures for a place's subtree (人口统计), narrowed to the actor's scope.

    Every figure is one aggregate query in the database. Sensitive care groups are counted
    only where the actor may see sensitive details.
    """
    today = local_today()
    residents = residents_under(user, place)

    people = _people_counts(residents, today)
    by_registration, pyramid, unknown_age = people.by_registration, people.pyramid, people.unknown_age
    total = sum(by_registration.values())
    aged_60 = sum(sum(counts[60 // AGE_BAND_YEARS :]) for counts in pyramid.values())

    groups = care_groups_visible(user, path=place.path)
    memberships = CareGroupMembership.objects.filter(
        _active_on(today),
        resident__in=residents.values("pk"),
        group__in=[g.pk for g in groups],
    )
    paths = sensitive_paths(user)
    if paths is not None:
        memberships = memberships.filter(
            Q(group__is_sensitive=False) | _under_any("resident__place__path", paths)
        )
    group_counts = dict(
        memberships.order_by()
        .values_list("group_id")
        .annotate(n=Count("resident_id", distinct=True))
        .values_list("group_id", "n")
    )

    houses = houses_visible(user).filter(place__path__under=place.path)
    by_use = dict(houses.order_by().values_list("use").annotate(n=Count("pk")).values_list("use", "n"))
    house_total = sum(by_use.values())

    months = _months_back(today, 12)
    moves = (
        ResidentMove.objects.visible_to(user)
        .filter(place__path__under=place.path, on__gte=months[0], on__lte=today)
        .annotate(month=TruncMonth("on"))
        .order_by()
        .values("month", "kind")
        .annotate(n=Count("pk"))
    )
    moved: dict[str, dict[str, int]] = {ResidentMove.Kind.IN: {}, ResidentMove.Kind.OUT: {}}
    for row in moves:
        month = row["month"]
        key = month.strftime("%Y-%m") if month is not None else ""
        moved.setdefault(row["kind"], {})[key] = row["n"]
    month_keys = [m.strftime("%Y-%m") for m in months]

    return {
        "place_id": place.pk,
        "place_name": place.name,
        "residents": total,
        "aged_60_plus": aged_60,
        "registration": [
            {"key": key, "label": str(label), "count": by_registration.get(key, 0)}
            for key, label in Registration.choices
        ],
        "age_bands": age_band_labels(),
        "age_pyramid": {
            "male": pyramid[Gender.MALE],
            "female": pyramid[Gender.FEMALE],
            "unknown": pyramid[Gender.UNKNOWN],
        },
        "unknown_age": unknown_age,
        "care_groups": [
            {
                "code": g.code,
                "name": g.name,
                "is_sensitive": g.is_sensitive,
                "count": group_counts.get(g.pk, 0),
            }
            for g in groups
        ],
        "houses": house_total,
        "houses_by_use": [
            {"key": key, "label": str(label), "count": by_use.get(key, 0)} for key, label in HouseUse.choices
        ],
        "vacancy_rate": round(by_use.get(HouseUse.VACANT, 0) / house_total, 4) if house_total else 0.0,
        "months": month_keys,
        "moves_in": [moved[ResidentMove.Kind.IN].get(k, 0) for k in month_keys],
        "moves_out": [moved[ResidentMove.Kind.OUT].get(k, 0) for k in month_keys],
    }


# --- the building room chart --------------------------------------------------------------


def room_chart(user: Any, building: Place) -> dict[str, Any]:
    """The room chart of a building (楼盘表): units × floors, one cell per house.

    ``building`` comes from ``places.selectors.place_get``. Each cell has the house's use,
    its household (the first one there), how many live there and a marker per care group
    the actor may see (``{"elderly_alone": true, ...}``). Actors who see the building but
    not the people in it (departments) get the grid of rooms with no personal details.
    """
    if building.kind != PlaceKind.BUILDING:
        raise ValidationError(_("A room chart is drawn for a building"), code="not_a_building")
    today = local_today()
    under = Place.objects.visible_to(user).filter(
        path__under=building.path, kind__in=[PlaceKind.UNIT, PlaceKind.HOUSE]
    )
    places = list(
        under.values("id", "kind", "name", "segment", "parent_id", "sort_order", "path").order_by("path")
    )
    house_ids = [p["id"] for p in places if p["kind"] == PlaceKind.HOUSE]
    paths = {p["id"]: p["path"] for p in places}
    # Ids of the building's houses drive every query below from an index; the scope rule is
    # added only when the actor does not see everyone in the building.
    houses_qs: QuerySet[House] = House.objects.filter(place_id__in=house_ids)
    households_qs: QuerySet[Household] = Household.objects.filter(place_id__in=house_ids)
    residents = Resident.objects.filter(status=ResidentStatus.ACTIVE, place_id__in=house_ids)
    if not can_see_path(user, building.path, personal=True):
        houses_qs = houses_qs.filter(pk__in=houses_visible(user).values("pk"))
        households_qs = households_qs.filter(pk__in=households_visible(user).values("pk"))
        residents = residents.filter(pk__in=residents_visible(user).values("pk"))
    house_rows = {h["place_id"]: h for h in houses_qs.values("id", "place_id", "room_number", "floor", "use")}
    households: dict[int, int] = {}
    for pk, place_id in households_qs.order_by("pk").values_list("pk", "place_id"):
        households.setdefault(place_id, pk)
    people = dict(
        residents.order_by().values_list("place_id").annotate(n=Count("pk")).values_list("place_id", "n")
    )
    groups = care_groups_visible(user, path=building.path)
    may = sensitive_checker(user)
    marks: dict[int, set[str]] = defaultdict(set)
    for place_id, code, is_sensitive in (
        CareGroupMembership.objects.filter(
            _active_on(today), resident__in=residents.values("pk"), group__in=[g.pk for g in groups]
        )
        .values_list("resident__place_id", "group__code", "group__is_sensitive")
        .distinct()
    ):
        if not is_sensitive or may(paths.get(place_id, building.path)):
            marks[place_id].add(code)
    codes = [g.code for g in groups]

    units: dict[int | None, dict[str, Any]] = {}
    cells_by_unit: dict[int | None, dict[int, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for p in places:
        if p["kind"] == PlaceKind.UNIT:
            units[p["id"]] = {"place_id": p["id"], "name": p["name"], "sort_order": p["sort_order"]}
    for p in places:
        if p["kind"] != PlaceKind.HOUSE:
            continue
        unit_id = p["parent_id"] if p["parent_id"] in units else None
        if unit_id is None and None not in units:
            units[None] = {"place_id": None, "name": "", "sort_order": -1}
        house = house_rows.get(p["id"])
        segment = p["segment"]
        fallback_floor = int(segment[:2]) if len(segment) == 4 and segment.isdigit() else 0
        floor = house["floor"] if house and house["floor"] is not None else fallback_floor
        room = house["room_number"] if house else p["name"].rsplit("-", 1)[-1]
        cells_by_unit[unit_id][floor].append(
            {
                "place_id": p["id"],
                "name": p["name"],
                "room": room,
                "floor": floor,
                "house_id": house["id"] if house else None,
                "use": house["use"] if house else None,
                "household_id": households.get(p["id"]),
                "residents": people.get(p["id"], 0),
                "markers": {code: code in marks.get(p["id"], ()) for code in codes},
                "_order": (p["sort_order"], p["path"]),
            }
        )
    out_units = []
    all_floors: set[int] = set()
    for unit_id, unit in sorted(units.items(), key=lambda kv: (kv[1]["sort_order"], kv[1]["name"])):
        floors = cells_by_unit.get(unit_id, {})
        all_floors.update(floors)
        out_units.append(
            {
                "place_id": unit["place_id"],
                "name": unit["name"],
                "floors": [
                    {
                        "floor": f,
                        "cells": [
                            {k: v for k, v in c.items() if k != "_order"}
                            for c in sorted(floors[f], key=lambda c: c["_order"])
                        ],
                    }
                    for f in sorted(floors, reverse=True)
                ],
            }
        )
    use_counts: dict[str, int] = defaultdict(int)
    for h in house_rows.values():
        use_counts[h["use"]] += 1
    return {
        "building_id": building.pk,
        "building_name": building.name,
        "floors": sorted(all_floors, reverse=True),
        "units": out_units,
        "care_groups": [{"code": g.code, "name": g.name} for g in groups],
        "uses": [
            {"key": key, "label": str(label), "count": use_counts.get(key, 0)}
            for key, label in HouseUse.choices
        ],
    }


def resident_list_row(resident: Resident, *, today: date) -> dict[str, Any]:
    """A resident as lists show them: identifiers masked, the care groups the caller may see.

    Needs ``with_list_details`` and ``visible_memberships`` to have run on the rows.
    """
    phones = list(resident.phones.all())
    return {
        "id": resident.pk,
        "name": resident.name,
        "gender": resident.gender,
        "birth_date": resident.birth_date,
        "age": age_on(resident.birth_date, today),
        "registration": resident.registration,
        "status": resident.status,
        "place_id": resident.place_id,
        "place_name": resident.place.name,
        "household_id": resident.household_id,
        "relation_to_head": resident.relation_to_head,
        "id_number_masked": mask_id_number(resident.id_number) if resident.id_number else "",
        "phone_masked": mask_phone(phones[0].phone) if phones else "",
        "care_groups": [m.group.code for m in getattr(resident, "visible_care_groups", [])],
    }


def membership_rows(user: Any, resident: Resident) -> list[dict[str, Any]]:
    """A resident's memberships, past and present, as the API shows them."""
    sensitive = has_capability(user, Capability.VIEW_SENSITIVE, resident.place.path)
    return [membership_row(m, sensitive) for m in memberships_for(user, resident)]


def house_detail(user: Any, house: House) -> dict[str, Any]:
    """A house with its owner, tenants and the households living there."""
    row = house_row(house)
    assert row is not None
    return {
        **row,
        "place_name": house.place.name,
        "address": address_of(house.place),
        "tenant_ids": sorted(house.tenants.values_list("pk", flat=True)),
        "household_ids": list(
            households_visible(user).filter(place=house.place).order_by("pk").values_list("pk", flat=True)
        ),
    }
