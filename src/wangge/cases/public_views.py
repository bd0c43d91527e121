"""Pages for residents: report a matter (signed in or not), follow it by tracking code, rate it,
and the list of one's own requests.

A reporter who is not signed in leaves a phone number and gets a tracking code; the
tracking page shows only the public timeline (what was done and when, unit names, the
reply), never staff names or other reporters' details. Nothing here tells whether a phone
number has other requests.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from wangge.cases import forms, routing, selectors, services
from wangge.cases.models import CaseReporter, Channel
from wangge.cases.views import (
    check_me_too,
    parse_float,
    parse_int,
    photo_response,
    place_labels,
    signed_in_user,
    similar_for,
)
from wangge.core.errors import DomainError, NotFound
from wangge.core.scope import scope_for, visible_to
from wangge.places.models import Place, PlaceKind

SESSION_KEY = "wangge_report_done"
PAGE_SIZE = 20
LOCATE_KINDS = (PlaceKind.STREET, PlaceKind.COMMUNITY, PlaceKind.BUILDING)


# --- public place names -------------------------------------------------------------------------
#
# The names of streets, communities and buildings are public (they are on every gate); a
# reporter who is not signed in picks where the matter is from them. Nothing personal is read.


def _public_places(kind: str, parent: Place | None = None) -> QuerySet[Place]:
    qs = Place.objects.filter(kind=kind).defer("boundary")
    if parent is not None:
        qs = qs.filter(path__under=parent.path)
    return qs.order_by("path")


def _public_place(place_id: int | None, kinds: tuple[str, ...] = LOCATE_KINDS) -> Place | None:
    if not place_id:
        return None
    return Place.objects.filter(pk=place_id, kind__in=kinds).defer("boundary").first()


def _building_options(community: Place) -> list[tuple[int, str]]:
    rows = list(_public_places(PlaceKind.BUILDING, community)[: forms.MAX_TARGETS])
    labels = place_labels((b.path for b in rows), kinds=(PlaceKind.MICRO_GRID, PlaceKind.BUILDING))
    return [(b.pk, labels.get(b.path) or b.name) for b in rows]


def _homes(user: Any) -> list[Place]:
    """The houses a signed-in resident lives in (their own, in their scope)."""
    if not scope_for(user).is_resident_only:
        return []
    return list(
        Place.objects.visible_to(user).filter(kind=PlaceKind.HOUSE).defer("boundary").order_by("path")
    )


def _picker(request: HttpRequest, data: Any) -> dict[str, Any]:
    """What the place picker offers: a resident's home and the buildings of their community;
    anyone else a street → community → building cascade."""
    homes = _homes(request.user)
    if homes:
        community = routing.unit_of(homes[0], PlaceKind.COMMUNITY)
        home_labels = place_labels(
            (h.path for h in homes), kinds=(PlaceKind.BUILDING, PlaceKind.UNIT, PlaceKind.HOUSE)
        )
        return {
            "mode": "resident",
            "homes": [(h.pk, home_labels.get(h.path) or h.name) for h in homes],
            "community": community,
            "buildings": _building_options(community) if community else [],
        }
    street = _public_place(parse_int(data.get("street")), (PlaceKind.STREET,))
    community = _public_place(parse_int(data.get("community")), (PlaceKind.COMMUNITY,))
    if community is not None and street is not None and not community.path.startswith(street.path):
        community = None
    streets = list(_public_places(PlaceKind.STREET))
    if street is None and len(streets) == 1:
        street = streets[0]
    communities = list(_public_places(PlaceKind.COMMUNITY, street)) if street else []
    if community is None and len(communities) == 1:
        community = communities[0]
    return {
        "mode": "public",
        "streets": [(s.pk, s.name) for s in streets],
        "street": street,
        "communities": [(c.pk, c.name) for c in communities],
        "community": community,
        "buildings": _building_options(community) if community else [],
    }


def _report_place(request: HttpRequest, place_id: int | None) -> Place | None:
    """The place a report names, if the reporter may name it."""
    if not place_id:
        return None
    homes = _homes(request.user)
    if homes:
        for home in homes:
            if home.pk == place_id:
                return home
        community = routing.unit_of(homes[0], PlaceKind.COMMUNITY)
        found = _public_place(place_id, (PlaceKind.BUILDING,))
        if found is not None and community is not None and found.path.startswith(community.path):
            return found
        return None
    return _public_place(place_id)


@require_GET
def places(request: HttpRequest) -> HttpResponse:
    """Options for the cascade: the communities of a street, or the buildings of a community."""
    street = _public_place(parse_int(request.GET.get("street")), (PlaceKind.STREET,))
    community = _public_place(parse_int(request.GET.get("community")), (PlaceKind.COMMUNITY,))
    if request.GET.get("level") == "community" and street is not None:
        options = [(c.pk, c.name) for c in _public_places(PlaceKind.COMMUNITY, street)]
        return render(
            request,
            "cases/public/_place_options.html",
            {"options": options, "empty": _("Choose a community")},
        )
    options = _building_options(community) if community is not None else []
    return render(
        request, "cases/public/_place_options.html", {"options": options, "empty": _("Choose a building")}
    )


# --- report ------------------------------------------------------------------------------------


def report(request: HttpRequest) -> HttpResponse:
    """Report a matter: signed in (the account is the reporter) or with a phone number."""
    signed_in = bool(request.user.is_authenticated)
    form = forms.ReportForm(request.POST or None, signed_in=signed_in)
    status = 200
    if request.method == "POST":
        photos, photo_error = forms.photos_from(request)
        if form.is_valid() and not photo_error:
            done = _file(request, form, photos)
            if done is not None:
                return done
        if photo_error:
            form.add_error(None, photo_error)
        status = 400
    data = request.POST if request.method == "POST" else request.GET
    context = {
        "form": form,
        "picker": _picker(request, data),
        "chosen_place": parse_int(data.get("place")),
        "signed_in": signed_in,
    }
    return render(request, "cases/public/report.html", context, status=status)


def _file(request: HttpRequest, form: forms.ReportForm, photos: list[bytes]) -> HttpResponse | None:
    d = form.cleaned_data
    place = _report_place(request, d.get("place"))
    if d.get("place") and place is None:
        form.add_error(None, _("Choose the building from the list"))
        return None
    me_too = check_me_too(form, place)
    if form.errors:
        return None
    try:
        result = services.case_intake(
            actor=signed_in_user(request),
            channel=Channel.WEB,
            category=d["category"],
            description=d["description"],
            place=place,
            lat=d.get("lat"),
            lng=d.get("lng"),
            reporter_name=d.get("reporter_name") or "",
            reporter_phone=d.get("reporter_phone") or "",
            photos=photos,
            me_too_of=me_too,
            idempotency_key=d["idempotency_key"],
        )
    except DomainError as err:
        form.add_error(None, err.message)
        return None
    request.session[SESSION_KEY] = {
        "number": result.case.number,
        "code": result.reporter.tracking_code,
        "joined": result.joined,
        "replayed": result.replayed,
    }
    return redirect("public:report_done")


@require_GET
def report_done(request: HttpRequest) -> HttpResponse:
    done = request.session.get(SESSION_KEY)
    if not done:
        return redirect("public:report")
    return render(request, "cases/public/report_done.html", {"done": done})


@require_GET
def similar(request: HttpRequest) -> HttpResponse:
    """ "Me too" candidates, with public facts only (number, title, category, date, count)."""
    place = _report_place(request, parse_int(request.GET.get("place")))
    found, _where = similar_for(
        request.GET.get("category", ""),
        place,
        parse_float(request.GET.get("lat")),
        parse_float(request.GET.get("lng")),
    )
    return render(
        request,
        "cases/_similar.html",
        {"similar": found, "chosen": request.GET.get("me_too", ""), "staff": False},
    )


# --- tracking -----------------------------------------------------------------------------------


def track(request: HttpRequest) -> HttpResponse:
    """The tracking-code form."""
    code = (request.POST.get("code") or request.GET.get("code") or "").strip()
    if code:
        clean = services.normalise_tracking_code(code)
        if clean:
            return redirect("public:track_detail", code=clean)
    return render(request, "cases/public/track_form.html", {"code": code})


def _track_or_none(code: str) -> selectors.TrackView | None:
    try:
        return selectors.track(code)
    except NotFound:
        return None


def _track_context(
    view: selectors.TrackView, code: str, rating_form: forms.RatingForm | None = None
) -> dict[str, Any]:
    return {
        "view": view,
        "case": view.case,
        "code": code,
        "events": view.events,
        "rating_form": rating_form or (forms.RatingForm() if view.may_rate else None),
        "address": _public_address(view.case.place),
    }


def _public_address(place: Place) -> str:
    """Street, community and building: never the house."""
    chain = routing.ancestors(place)
    kinds = (PlaceKind.STREET, PlaceKind.COMMUNITY, PlaceKind.MICRO_GRID, PlaceKind.BUILDING)
    return " ".join(p.name for p in reversed(chain) if p.kind in kinds)


@require_GET
def track_detail(request: HttpRequest, code: str) -> HttpResponse:
    view = _track_or_none(code)
    if view is None:
        return render(
            request,
            "cases/public/track_form.html",
            {"code": code, "not_found": True},
            status=404,
        )
    return render(request, "cases/public/track.html", _track_context(view, code))


@require_POST
def track_rate(request: HttpRequest, code: str) -> HttpResponse:
    view = _track_or_none(code)
    if view is None:
        raise Http404
    form = forms.RatingForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            services.case_rate(
                actor=signed_in_user(request),
                case=view.case,
                rating=form.cleaned_data["rating"],
                comment=form.cleaned_data["comment"],
                tracking_code=code,
            )
        except DomainError as err:
            form.add_error(None, err.message)
            status = err.status
        else:
            messages.success(request, _("Thank you for your rating."))
            return redirect("public:track_detail", code=code)
    fresh = _track_or_none(code) or view
    return render(request, "cases/public/track.html", _track_context(fresh, code, form), status=status)


@require_GET
def track_attachment(request: HttpRequest, code: str, attachment_id: int) -> FileResponse:
    try:
        found = selectors.attachment_by_code(code, attachment_id)
    except NotFound:
        raise Http404 from None
    return photo_response(found)


# --- my requests ----------------------------------------------------------------------------------


@require_GET
@login_required
def my_requests(request: HttpRequest) -> HttpResponse:
    """The signed-in user's own requests, newest first."""
    rows = (
        visible_to(CaseReporter.objects.all(), request.user)
        .filter(user=signed_in_user(request))
        .select_related("case", "case__category")
        .order_by("-created_at", "-pk")
    )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "cases/public/my_requests.html",
        {"page": page, "rows": page.object_list, "report_url": reverse("public:report")},
    )


# The methods each page answers, for the generated route tests.
track_rate.http_methods = ("POST",)  # type: ignore[attr-defined]
report.http_methods = ("GET", "POST")  # type: ignore[attr-defined]
track.http_methods = ("GET", "POST")  # type: ignore[attr-defined]
