"""The registry's pages: resident search, household card (户卡), house, room chart (楼盘表),
population statistics. Thin: parse → selector or service → template. Out-of-scope objects
answer 404 exactly like missing ones.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from wangge.core.errors import DomainError, NotFound
from wangge.core.errors import PermissionDenied as DomainPermissionDenied
from wangge.core.models import User
from wangge.core.pii import mask_id_number, mask_phone
from wangge.org.selectors import responsible_for
from wangge.people import charts, selectors, services
from wangge.people.models import (
    CareGroup,
    Consent,
    Gender,
    Household,
    HouseUse,
    Registration,
    Relation,
    Resident,
    ResidentStatus,
)
from wangge.places import selectors as place_selectors
from wangge.places.models import Place, PlaceKind

PAGE_SIZE = 20
REVEAL_FIELDS = ("id_number", "phone")
STATS_LABELS = {
    "male": _("Male"),
    "female": _("Female"),
    "moved_in": _("Moved in"),
    "moved_out": _("Moved out"),
    "residents": _("Residents"),
    "houses": _("Houses"),
    "vacancy": _("Vacancy rate"),
}
GENDERS = dict(Gender.choices)
RELATIONS = dict(Relation.choices)
REGISTRATIONS = dict(Registration.choices)
STATUSES = dict(ResidentStatus.choices)


def _id(raw: str | None) -> int | None:
    try:
        value = int(str(raw or "").strip())
    except ValueError:
        return None
    return value if 0 < value <= charts.MAX_ID else None


def _need_registry(request: HttpRequest) -> None:
    """Lists and charts are for staff who see personal records by place."""
    if not charts.may_browse_registry(request.user):
        raise DjangoPermissionDenied


def _place_or_404(request: HttpRequest, place_id: int, kinds: tuple[str, ...] | None = None) -> Place:
    try:
        return charts.personal_place_get(request.user, place_id, kinds=kinds)
    except NotFound:
        raise Http404 from None


def _chosen_place(request: HttpRequest, *, default: bool = True) -> Place | None:
    """The ``place_id`` of the query string (404 outside scope), else the top of the scope."""
    raw = request.GET.get("place_id", "").strip()
    if raw:
        place_id = _id(raw)
        if place_id is None:
            raise Http404
        return _place_or_404(request, place_id)
    return charts.default_place(request.user) if default else None


def _ledger_url() -> str:
    try:
        return reverse("ledger:index")
    except NoReverseMatch:
        return ""


def _secret(user: Any, resident_id: int, path: str, field: str, masked: str) -> dict[str, Any]:
    return {
        "resident_id": resident_id,
        "field": field,
        "masked": masked,
        "can_reveal": bool(masked) and charts.may_reveal(user, path),
    }


def _care_names() -> dict[str, str]:
    return charts.care_names(list(CareGroup.objects.all()))


def _badges(rows: list[dict[str, Any]], names: dict[str, str]) -> list[dict[str, Any]]:
    """Care-group rows from the selectors (sensitive ones already dropped where not allowed)."""
    return [
        {
            "code": row["code"],
            "name": names.get(row["code"], row["name"]),
            "grade": row.get("grade", ""),
            "notes": row.get("notes", ""),
            "sensitive": row.get("is_sensitive", False),
        }
        for row in rows
    ]


# --- the resident list ------------------------------------------------------------------------


@require_GET
@login_required
def resident_list(request: HttpRequest) -> HttpResponse:
    _need_registry(request)
    user = request.user
    place = _chosen_place(request, default=False)
    groups = selectors.care_groups_visible(user)
    names = charts.care_names(groups)
    code = request.GET.get("care_group", "").strip()
    care_group = next((g for g in groups if g.code == code), None)
    age = request.GET.get("age", "")
    age = age if age in charts.AGE_BANDS else ""
    registration = request.GET.get("registration", "")
    registration = registration if registration in REGISTRATIONS else ""
    q = request.GET.get("q", "").replace("\x00", "").strip()[:64]
    _label, age_min, age_max = charts.AGE_BANDS.get(age, ("", None, None))
    qs = selectors.resident_filter(
        user,
        q=q,
        place=place,
        care_group=care_group,
        age_min=age_min,
        age_max=age_max,
        registration=registration or None,
    )
    page = Paginator(selectors.with_list_details(user, qs), PAGE_SIZE).get_page(request.GET.get("page"))
    residents = list(page.object_list)
    selectors.visible_memberships(user, residents)
    on = charts.today()
    addresses = charts.address_names({r.place.path for r in residents})
    rows = []
    for r in residents:
        phones = list(r.phones.all())
        id_masked = mask_id_number(r.id_number) if r.id_number else ""
        phone_masked = mask_phone(phones[0].phone) if phones else ""
        memberships = getattr(r, "visible_care_groups", [])
        rows.append(
            {
                "resident": r,
                "age": selectors.age_on(r.birth_date, on),
                "address": addresses.get(r.place.path, []),
                "id_secret": _secret(user, r.pk, r.place.path, "id_number", id_masked),
                "phone_secret": _secret(user, r.pk, r.place.path, "phone", phone_masked),
                "badges": [
                    {
                        "code": m.group.code,
                        "name": names.get(m.group.code, m.group.name),
                        "sensitive": m.group.is_sensitive,
                        "grade": "",
                    }
                    for m in memberships
                ],
            }
        )
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "rows": rows,
        "filters": {
            "q": q,
            "place": place,
            "care_group": care_group,
            "age": age,
            "registration": registration,
            "active": bool(q or place or care_group or age or registration),
            "more": sum(1 for value in (place, care_group, age, registration) if value),
        },
        "picker": charts.picker_places(user),
        "care_groups": [{"code": g.code, "name": names[g.code]} for g in groups],
        "age_bands": [(key, label) for key, (label, _y, _o) in charts.AGE_BANDS.items()],
        "registrations": Registration.choices,
        "filter_query": query.urlencode(),
        "ledger_url": _ledger_url(),
        "any_reveal": charts.may_reveal(user),
        "section": "residents",
    }
    return render(request, "people/resident_list.html", context)


# --- one resident, one household, one house --------------------------------------------------


def _household_or_404(request: HttpRequest, household_id: int) -> Household:
    try:
        return selectors.household_get(request.user, household_id)
    except NotFound:
        raise Http404 from None


def _resident_or_404(request: HttpRequest, resident_id: int) -> Resident:
    try:
        return selectors.resident_get(request.user, resident_id)
    except NotFound:
        raise Http404 from None


def _members(
    user: Any, rows: list[dict[str, Any]], *, path: str, head_id: int | None
) -> list[dict[str, Any]]:
    """Member rows of the selectors, with labels, reveal buttons and consents for the page."""
    names = _care_names()
    consents: dict[int, list[Consent]] = {}
    for consent in Consent.objects.filter(resident_id__in=[m["id"] for m in rows]).order_by(
        "-given_on", "pk"
    ):
        consents.setdefault(consent.resident_id, []).append(consent)
    result = []
    for m in rows:
        phones = m["phones"]
        result.append(
            {
                **m,
                "is_head": m["id"] == head_id,
                "gender_label": GENDERS.get(m["gender"], ""),
                "relation_label": RELATIONS.get(m["relation_to_head"], ""),
                "registration_label": REGISTRATIONS.get(m["registration"], ""),
                "status_label": STATUSES.get(m["status"], ""),
                "id_secret": _secret(user, m["id"], path, "id_number", m["id_number_masked"]),
                "phone_secret": _secret(
                    user, m["id"], path, "phone", phones[0]["phone_masked"] if phones else ""
                ),
                "badges": _badges(m["care_groups"], names),
                "consents": consents.get(m["id"], []),
            }
        )
    return result


def _house_context(user: Any, place: Place) -> dict[str, Any]:
    house = (
        selectors.houses_visible(user)
        .filter(place=place)
        .select_related("owner")
        .prefetch_related("tenants")
        .first()
    )
    trail = charts.address_names({place.path}, from_kind=PlaceKind.COMMUNITY).get(place.path, [])
    building = (
        Place.objects.filter(path__in=place.ancestor_paths(), kind=PlaceKind.BUILDING)
        .defer("boundary")
        .first()
    )
    return {
        "house": house,
        "house_place": place,
        "trail": trail,
        "building": building,
        "can_browse": charts.may_browse_registry(user),
    }


@require_GET
@login_required
def household_card(request: HttpRequest, household_id: int) -> HttpResponse:
    household = _household_or_404(request, household_id)
    context = _card_context(request, household, _id(request.GET.get("member")))
    return render(request, "people/household_card.html", context)


def _card_context(request: HttpRequest, household: Household, highlight: int | None) -> dict[str, Any]:
    user = request.user
    card = selectors.household_card(user, household)
    head = next((m for m in card["members"] if m["id"] == household.head_id), None)
    return {
        "household": household,
        "card": card,
        "head_name": head["name"] if head else "",
        "members": _members(user, card["members"], path=household.place.path, head_id=household.head_id),
        "highlight": highlight,
        "responsible": card["responsible"],
        "section": "residents",
        **_house_context(user, household.place),
    }


@require_GET
@login_required
def resident_detail(request: HttpRequest, resident_id: int) -> HttpResponse:
    """A resident: their household card with them highlighted, or a page of their own."""
    resident = _resident_or_404(request, resident_id)
    if resident.household_id is not None and resident.status == ResidentStatus.ACTIVE:
        household = _household_or_404(request, resident.household_id)
        return render(request, "people/household_card.html", _card_context(request, household, resident.pk))
    row = selectors.resident_detail(request.user, resident.pk)
    context = {
        "resident": resident,
        "members": _members(request.user, [row], path=resident.place.path, head_id=None),
        "highlight": resident.pk,
        "responsible": responsible_for(request.user, resident.place),
        "section": "residents",
        **_house_context(request.user, resident.place),
    }
    return render(request, "people/resident_detail.html", context)


@require_GET
@login_required
def house_detail(request: HttpRequest, house_id: int) -> HttpResponse:
    """A house: its use and owner, and the households living there (none when vacant)."""
    user = request.user
    try:
        house = selectors.house_get(user, house_id)
    except NotFound:
        raise Http404 from None
    place = house.place
    households = list(
        selectors.households_visible(user).filter(place=place).select_related("head").order_by("pk")
    )
    residents = selectors.residents_visible(user).filter(place=place).count()
    context = {
        "households": households,
        "resident_count": residents,
        "section": "buildings",
        **_house_context(user, place),
    }
    return render(request, "people/house_detail.html", context)


@require_POST
@login_required
def resident_reveal(request: HttpRequest, resident_id: int) -> HttpResponse:
    """Reveal one masked field of a resident: the service checks the capability and audits it."""
    resident = _resident_or_404(request, resident_id)
    actor = request.user
    if not isinstance(actor, User):  # login_required has let only users in
        raise Http404
    field = request.POST.get("field", "")
    if field not in REVEAL_FIELDS:
        return render(request, "people/_reveal_error.html", {"message": "", "field": field}, status=400)
    try:
        value = services.resident_reveal(actor=actor, resident=resident, field=field)
    except DomainPermissionDenied as exc:
        return render(
            request, "people/_reveal_error.html", {"message": exc.message, "field": field}, status=403
        )
    except NotFound:
        raise Http404 from None
    except DomainError as exc:
        return render(
            request, "people/_reveal_error.html", {"message": exc.message, "field": field}, status=exc.status
        )
    context = {"value": value, "field": field, "resident": resident}
    if request.headers.get("HX-Request") == "true":
        return render(request, "people/_revealed.html", context)
    return render(request, "people/revealed.html", context)


# Route walkers (the generated scope test) read this: the reveal answers POST only.
resident_reveal.http_methods = ("POST",)  # type: ignore[attr-defined]


# --- buildings and the room chart -------------------------------------------------------------


@require_GET
@login_required
def building_index(request: HttpRequest) -> HttpResponse:
    _need_registry(request)
    place = _chosen_place(request)
    context = {
        "place": place,
        "buildings": charts.buildings_under(request.user, place) if place else [],
        "picker": charts.picker_places(request.user),
        "section": "buildings",
    }
    return render(request, "people/buildings.html", context)


@require_GET
@login_required
def room_chart(request: HttpRequest, place_id: int) -> HttpResponse:
    building = _place_or_404(request, place_id, kinds=(PlaceKind.BUILDING,))
    user = request.user
    raw = selectors.room_chart(user, building)
    chart = charts.shape_room_chart(raw, _care_names())
    context = {
        "chart": chart,
        "building": building,
        "ancestors": place_selectors.place_ancestors(user, building),
        "section": "buildings",
    }
    return render(request, "people/room_chart.html", context)


# --- statistics -------------------------------------------------------------------------------


@require_GET
@login_required
def stats(request: HttpRequest) -> HttpResponse:
    _need_registry(request)
    user = request.user
    place = _chosen_place(request)
    context: dict[str, Any] = {"place": place, "picker": charts.picker_places(user), "section": "stats"}
    if place is not None:
        data = selectors.population_stats(user, place)
        names = _care_names()
        for group in data["care_groups"]:
            group["name"] = names.get(group["code"], group["name"])
        residents = data["residents"]
        vacant = next((u["count"] for u in data["houses_by_use"] if u["key"] == HouseUse.VACANT), 0)
        context["stats"] = data
        context["totals"] = {
            "households": selectors.households_visible(user).filter(place__path__under=place.path).count(),
            "aged60_pct": round(100 * data["aged_60_plus"] / residents, 1) if residents else 0,
            "vacant": vacant,
            "vacancy_pct": round(100 * data["vacancy_rate"], 1),
            "moves_in": sum(data["moves_in"]),
            "moves_out": sum(data["moves_out"]),
        }
        context["labels"] = {key: str(label) for key, label in STATS_LABELS.items()}
        context["ancestors"] = place_selectors.place_ancestors(user, place)
    return render(request, "people/stats.html", context)
