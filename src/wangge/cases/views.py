"""Staff pages for requests and work orders: the dispatcher's queue, "my tasks", the overdue
board, the list, the case detail with its timeline and action forms, staff intake, photos.

Thin: parse → selector or service → template. Cases outside the user's scope answer 404
exactly like missing ones; a refused action (403), a stale page (409) or bad input (400) is
shown on the page with the service's reason, never as a server error.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from wangge.cases import forms, permissions, routing, selectors, services
from wangge.cases.models import OPEN_STATES, Case, Extension
from wangge.cases.templatetags.cases_tags import countdown_state
from wangge.cases.workflow import TRANSITIONS
from wangge.core import clock
from wangge.core.errors import DomainError, NotFound
from wangge.core.models import User
from wangge.core.roles import Capability
from wangge.core.scope import has_capability, scope_for
from wangge.places.models import Place, PlaceKind

PAGE_SIZE = 25
TASKS_LIMIT = 100
BOARD_LIMIT = 300
SEARCH_LIMIT = 50
# What a handler may do from the "my tasks" cards.
TASK_ACTIONS = ("accept", "start", "resolve", "return", "request_extension")
# Actions without choices or a required note: a plain button.
BUTTON_ACTIONS = frozenset({"accept", "start", "recall", "close"})
LIST_KINDS = (PlaceKind.GRID, PlaceKind.BUILDING, PlaceKind.HOUSE)
DETAIL_KINDS = (
    PlaceKind.STREET,
    PlaceKind.COMMUNITY,
    PlaceKind.GRID,
    PlaceKind.MICRO_GRID,
    PlaceKind.BUILDING,
    PlaceKind.UNIT,
    PlaceKind.HOUSE,
)


# --- helpers ------------------------------------------------------------------------------------


def signed_in_user(request: HttpRequest) -> User | None:
    user = request.user
    return user if isinstance(user, User) and user.is_authenticated else None


def _need(user: Any, capability: str) -> None:
    if not has_capability(user, capability):
        raise DjangoPermissionDenied


def _need_staff(user: Any) -> None:
    if scope_for(user).is_resident_only:
        raise DjangoPermissionDenied


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def place_labels(paths: Iterable[str], kinds: tuple[str, ...] = LIST_KINDS) -> dict[str, str]:
    """A short address for each place path (grid, building, house), in one query."""
    wanted: set[str] = set()
    path_list = list(set(paths))
    for path in path_list:
        parts = path.split(".")[:-1]
        wanted.update(".".join(parts[: i + 1]) + "." for i in range(len(parts)))
    names = {
        p: (kind, name)
        for p, kind, name in Place.objects.filter(path__in=wanted).values_list("path", "kind", "name")
    }
    out: dict[str, str] = {}
    for path in path_list:
        parts = path.split(".")[:-1]
        chain = [names.get(".".join(parts[: i + 1]) + ".") for i in range(len(parts))]
        picked = [name for item in chain if item is not None for kind, name in [item] if kind in kinds]
        if not picked and chain and chain[-1] is not None:
            picked = [chain[-1][1]]
        out[path] = " · ".join(picked)
    return out


def _rows(cases: Iterable[Case]) -> list[dict[str, Any]]:
    cases = list(cases)
    labels = place_labels(c.place_path for c in cases)
    now = clock.now()
    return [{"case": c, "place": labels.get(c.place_path, ""), "cd": countdown_state(c, now)} for c in cases]


def case_tabs(user: Any) -> list[dict[str, Any]]:
    """The tabs over the staff pages, those the user may open."""
    tabs = (
        ("queue", "cases:queue", _("Dispatch queue"), Capability.CASE_DISPATCH),
        ("mine", "cases:mine", _("My tasks"), Capability.CASE_HANDLE),
        ("overdue", "cases:overdue", _("Overdue board"), Capability.CASE_SUPERVISE),
        ("list", "cases:list", _("All requests"), None),
        ("new", "cases:new", _("New request"), Capability.CASE_REPORT),
        ("metrics", "cases:metrics", _("Request metrics"), Capability.CASE_METRICS),
    )
    out = []
    for key, name, label, capability in tabs:
        if capability is not None and not has_capability(user, capability):
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        out.append({"key": key, "url": url, "label": label})
    return out


def _view_or_404(user: Any, number: str) -> selectors.CaseView:
    try:
        return selectors.case_detail(user, number)
    except NotFound:
        raise Http404 from None


# --- lists --------------------------------------------------------------------------------------


@require_GET
@login_required
def queue(request: HttpRequest) -> HttpResponse:
    """The dispatcher's queue: cases waiting at the user's desks, soonest deadline first."""
    _need(request.user, Capability.CASE_DISPATCH)
    filters = forms.QueueFilterForm(request.GET or None)
    qs = selectors.filtered(selectors.dispatch_queue(request.user), filters.to_filter())
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = _rows(page.object_list)
    # The choices depend on the owner (territory), the county (departments) and the place
    # (its property company): each is worked out once per page, not once per row.
    territory: dict[str, list[forms.Choice]] = {}
    departments: dict[str, list[forms.Choice]] = {}
    companies = routing.property_companies_of([row["case"].place for row in rows])
    for row in rows:
        case = row["case"]
        owner, county = case.owner_place_path, case.place_path.split(".", 1)[0]
        if owner not in territory:
            territory[owner] = forms.territory_choices(request.user, case, people=False)
        if county not in departments:
            departments[county] = forms.department_choices(case)
        units = [
            *territory[owner],
            *departments[county],
            *forms.company_choices(companies.get(case.place_path)),
        ]
        row["targets"] = forms.grouped(units)
        row["may_dispatch"] = permissions.may(request.user, "dispatch", case)
    context = {
        "page": page,
        "rows": rows,
        "filters": filters,
        "filter_query": _query_without_page(request),
        "here": request.get_full_path(),
        "case_tabs": case_tabs(request.user),
    }
    return render(request, "cases/queue.html", context)


@require_GET
@login_required
def mine(request: HttpRequest) -> HttpResponse:
    """The handler's tasks, as cards for the phone, with the actions open now."""
    _need(request.user, Capability.CASE_HANDLE)
    cases = list(
        selectors.my_tasks(request.user)
        .select_related("sla_policy")
        .prefetch_related("assists__place")[:TASKS_LIMIT]
    )
    rows = _rows(cases)
    for row in rows:
        case = row["case"]
        row["forms"] = [
            forms.action_form(a, request.user, case, auto_id=f"id_{case.pk}_%s")
            for a in permissions.actions_for(request.user, case, TASK_ACTIONS)
        ]
    context = {
        "rows": rows,
        "here": request.get_full_path(),
        "buttons": BUTTON_ACTIONS,
        "case_tabs": case_tabs(request.user),
    }
    return render(request, "cases/mine.html", context)


BOARD_GROUPS = (
    ("overdue", "Overdue"),
    ("whistle", "Whistle not answered"),
    ("soon", "Due within 24 hours"),
    ("supervised", "Supervised"),
)


@require_GET
@login_required
def overdue(request: HttpRequest) -> HttpResponse:
    """The supervisor's board: overdue, whistles not answered, due soon, supervised."""
    _need(request.user, Capability.CASE_SUPERVISE)
    now = clock.now()
    cases = list(selectors.overdue_board(request.user)[:BOARD_LIMIT])
    rows = _rows(cases)
    groups: dict[str, list[dict[str, Any]]] = {key: [] for key, _label in BOARD_GROUPS}
    for row in rows:
        case = row["case"]
        whistle_late = case.whistle_missed or (
            case.whistle_due_at is not None and case.whistle_reported_at is None and case.whistle_due_at < now
        )
        if case.overdue or case.due_at < now:
            key = "overdue"
        elif whistle_late:
            key = "whistle"
        elif case.supervised:
            key = "supervised"
        else:
            key = "soon"
        row["may_supervise"] = not case.supervised and permissions.may(request.user, "supervise", case)
        groups[key].append(row)
    labels = {
        "overdue": _("Overdue"),
        "whistle": _("Whistle not answered"),
        "soon": _("Due within 24 hours"),
        "supervised": _("Supervised"),
    }
    sections = [{"key": key, "label": labels[key], "rows": groups[key]} for key, _label in BOARD_GROUPS]
    return render(
        request,
        "cases/overdue.html",
        {
            "sections": sections,
            "total": len(rows),
            "here": request.get_full_path(),
            "case_tabs": case_tabs(request.user),
        },
    )


@require_GET
@login_required
def case_list(request: HttpRequest) -> HttpResponse:
    """Every case the user sees, with filters and a search by number, title or ticket."""
    _need_staff(request.user)
    filters = forms.CaseFilterForm(request.GET or None, user=request.user)
    qs = selectors.cases_list(request.user, filters.to_filter())
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "rows": _rows(page.object_list),
        "filters": filters,
        "filter_query": _query_without_page(request),
        "case_tabs": case_tabs(request.user),
    }
    return render(request, "cases/list.html", context)


# --- the case ------------------------------------------------------------------------------------


def _detail_context(
    request: HttpRequest,
    view: selectors.CaseView,
    *,
    bound: forms.ActionForm | None = None,
    rating_form: forms.RatingForm | None = None,
    error: str = "",
) -> dict[str, Any]:
    user = request.user
    case = view.case
    public = view.reporter_only
    auto_id = f"id_{case.pk}_%s"
    action_forms: list[forms.ActionForm] = []
    names = list(view.actions)
    if not public and permissions.may(user, "merge", case):
        names.append("merge")
    for name in names:
        if bound is not None and bound.action == name:
            action_forms.append(bound)
        else:
            action_forms.append(forms.action_form(name, user, case, auto_id=auto_id))
    decide: list[forms.ActionForm] = []
    pending = view.pending_extension
    may_decide = pending is not None and not public and case.state in OPEN_STATES
    if may_decide and (permissions.is_supervisor(user, case) or permissions.is_dispatcher(user, case)):
        for name in ("approve_extension", "refuse_extension"):
            if bound is not None and bound.action == name:
                decide.append(bound)
            else:
                form = forms.action_form(name, user, case, auto_id=auto_id)
                form.initial["extension"] = pending.pk if pending else None
                decide.append(form)
    chain = routing.ancestors(case.place)
    address = " ".join(p.name for p in reversed(chain) if p.kind in DETAIL_KINDS)
    return {
        "view": view,
        "case": case,
        "public": public,
        "address": address,
        "cd": countdown_state(case),
        "action_forms": action_forms,
        "decide_forms": decide,
        "buttons": BUTTON_ACTIONS,
        "rating_form": rating_form or (forms.RatingForm(auto_id=auto_id) if view.may_rate else None),
        "error": error,
        "here": reverse("cases:detail", args=[case.number]),
        "transitions": TRANSITIONS,
        "case_tabs": [] if public else case_tabs(user),
    }


def _render_detail(
    request: HttpRequest, view: selectors.CaseView, *, status: int = 200, **kw: Any
) -> HttpResponse:
    return render(request, "cases/detail.html", _detail_context(request, view, **kw), status=status)


@require_GET
@login_required
def case_detail(request: HttpRequest, number: str) -> HttpResponse:
    return _render_detail(request, _view_or_404(request.user, number))


def _perform(user: Any, case: Case, form: forms.ActionForm, photos: list[bytes]) -> None:
    d = form.cleaned_data
    action, version, note = form.action, d["version"], d.get("note") or ""
    common: dict[str, Any] = {"actor": user, "case": case, "version": version}
    if action == "dispatch":
        services.case_dispatch(**common, to=d["target"], note=note)
    elif action == "hand_on":
        services.case_hand_on(**common, to=d["target"], note=note)
    elif action == "assist":
        services.case_assist(**common, to=d["target"], note=note)
    elif action in ("recall", "accept", "start", "supervise", "reopen", "close"):
        getattr(services, f"case_{action}")(**common, note=note)
    elif action == "progress":
        services.case_progress(**common, note=note, photos=photos)
    elif action == "resolve":
        services.case_resolve(**common, reply=note, photos=photos)
    elif action == "return":
        services.case_return(**common, reason=note)
    elif action == "cancel":
        services.case_cancel(**common, reason=note)
    elif action == "escalate":
        services.case_escalate(**common, note=note, department=d.get("department"))
    elif action == "whistle":
        services.case_whistle(**common, department=d["department"], kind=d["kind"], note=note)
    elif action == "request_extension":
        services.case_request_extension(**common, amount=d["amount"], reason=note)
    elif action in ("approve_extension", "refuse_extension"):
        if not Extension.objects.filter(pk=d["extension"], case=case).exists():
            raise NotFound(_("Not found"))
        services.case_decide_extension(
            actor=user,
            extension=d["extension"],
            approve=action == "approve_extension",
            note=note,
            version=version,
        )
    elif action == "merge":
        services.case_merge(**common, into=d["into"], note=note)
    else:  # pragma: no cover - the URL names only the actions above
        raise Http404


@require_POST
@login_required
def act(request: HttpRequest, number: str, action: str) -> HttpResponse:
    """Take one workflow action; the form carries the version the page showed."""
    view = _view_or_404(request.user, number)
    if action not in forms.form_actions():
        raise Http404
    form = forms.action_form(action, request.user, view.case, request.POST, auto_id=f"id_{view.case.pk}_%s")
    photos, photo_error = forms.photos_from(request, f"{action}-photos") if form.has_photos else ([], "")
    valid = form.is_valid()
    if photo_error:
        form.add_error(None, photo_error)
    if not valid or photo_error:
        return _render_detail(
            request, view, bound=form, error=_("Please correct the form below."), status=400
        )
    try:
        _perform(request.user, view.case, form, photos)
    except DomainError as err:
        if err.status == 409:
            # Show the case as it is now, with fresh forms.
            return _render_detail(request, _view_or_404(request.user, number), error=err.message, status=409)
        form.add_error(None, err.message)
        return _render_detail(request, view, bound=form, error=err.message, status=err.status)
    messages.success(request, _("Done: %(action)s") % {"action": form.label})
    return redirect(_safe_next(request, reverse("cases:detail", args=[number])))


@require_POST
@login_required
def rate(request: HttpRequest, number: str) -> HttpResponse:
    """A signed-in reporter rates the answer."""
    view = _view_or_404(request.user, number)
    form = forms.RatingForm(request.POST, auto_id=f"id_{view.case.pk}_%s")
    if not form.is_valid():
        return _render_detail(
            request, view, rating_form=form, error=_("Please correct the form below."), status=400
        )
    try:
        services.case_rate(
            actor=signed_in_user(request),
            case=view.case,
            rating=form.cleaned_data["rating"],
            comment=form.cleaned_data["comment"],
        )
    except DomainError as err:
        form.add_error(None, err.message)
        return _render_detail(request, view, rating_form=form, error=err.message, status=err.status)
    messages.success(request, _("Thank you for your rating."))
    return redirect("cases:detail", number=number)


@require_GET
@login_required
def attachment(request: HttpRequest, attachment_id: int) -> FileResponse:
    try:
        found = selectors.attachment_get(request.user, attachment_id)
    except NotFound:
        raise Http404 from None
    return photo_response(found)


def photo_response(found: Any) -> FileResponse:
    try:
        handle = found.file.open("rb")
    except (FileNotFoundError, OSError):
        raise Http404 from None
    response = FileResponse(handle, content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- staff intake --------------------------------------------------------------------------------


def _intake_places(user: Any) -> list[tuple[Any, Any]]:
    """Buildings in the user's area, grouped by grid (the default choices of the picker)."""
    buildings = (
        Place.objects.visible_to(user)
        .filter(kind=PlaceKind.BUILDING)
        .defer("boundary")
        .order_by("path")[: forms.MAX_TARGETS]
    )
    rows = list(buildings)
    labels = place_labels((b.path for b in rows), kinds=(PlaceKind.COMMUNITY, PlaceKind.GRID))
    groups: dict[str, list[tuple[int, str]]] = {}
    for b in rows:
        parent = labels.get(b.path, "").rsplit(" · ", 1)[0]
        groups.setdefault(parent, []).append((b.pk, b.name))
    return list(groups.items())


def _scoped_place(user: Any, place_id: int | None) -> Place | None:
    if not place_id:
        return None
    return (
        Place.objects.visible_to(user)
        .filter(pk=place_id, kind__in=forms.REPORT_KINDS)
        .defer("boundary")
        .first()
    )


@require_GET
@login_required
def place_search(request: HttpRequest) -> HttpResponse:
    """Buildings and houses in the user's area whose name matches (options for the picker)."""
    q = request.GET.get("q", "").strip()[:30]
    qs = Place.objects.visible_to(request.user).filter(kind__in=(PlaceKind.BUILDING, PlaceKind.HOUSE))
    found = list(qs.filter(name__icontains=q).defer("boundary").order_by("path")[:SEARCH_LIMIT]) if q else []
    labels = place_labels(
        (p.path for p in found), kinds=(PlaceKind.GRID, PlaceKind.BUILDING, PlaceKind.HOUSE)
    )
    options = [(p.pk, labels.get(p.path) or p.name) for p in found]
    return render(request, "cases/_place_options.html", {"options": options, "q": q})


def similar_for(
    category_code: str, place: Place | None, lat: float | None, lng: float | None
) -> tuple[list[Case], Place | None]:
    """ "Me too" candidates for a category at a place or point (none when either is missing)."""
    category = forms.category_by_code(category_code) if category_code else None
    if category is None:
        return [], None
    try:
        where, lat, lng = services.locate(place=place, lat=lat, lng=lng)
    except DomainError:
        return [], None
    return services.similar_open_cases(category=category, place=where, lat=lat, lng=lng), where


def parse_float(raw: str | None) -> float | None:
    try:
        value = float(raw or "")
    except ValueError:
        return None
    return value if math.isfinite(value) and abs(value) <= 180 else None


def parse_int(raw: str | None) -> int | None:
    try:
        value = int(raw or "")
    except ValueError:
        return None
    return value if 0 < value < 2**63 else None


@require_GET
@login_required
def similar(request: HttpRequest) -> HttpResponse:
    _need_staff(request.user)
    place = _scoped_place(request.user, parse_int(request.GET.get("place")))
    found, _where = similar_for(
        request.GET.get("category", ""),
        place,
        parse_float(request.GET.get("lat")),
        parse_float(request.GET.get("lng")),
    )
    return render(
        request,
        "cases/_similar.html",
        {"similar": found, "chosen": request.GET.get("me_too", ""), "staff": True},
    )


def check_me_too(form: Any, place: Place | None) -> Case | None:
    """The case chosen to join, if it is still among the candidates for this report."""
    number = (form.cleaned_data.get("me_too") or "").strip()
    if not number:
        return None
    found, _where = similar_for(
        form.cleaned_data["category"].code, place, form.cleaned_data.get("lat"), form.cleaned_data.get("lng")
    )
    for case in found:
        if case.number == number:
            return case
    form.add_error(None, _("That request can no longer be joined; file this one as a new request."))
    return None


@login_required
def new(request: HttpRequest) -> HttpResponse:
    """Staff intake: a patrol finding, a 12345 transfer, a walk-in, a co-building report."""
    _need_staff(request.user)
    if not forms.channels_for(request.user):
        raise DjangoPermissionDenied
    form = forms.IntakeForm(request.POST or None, user=request.user)
    status = 200
    if request.method == "POST":
        photos, photo_error = forms.photos_from(request)
        if form.is_valid() and not photo_error:
            result = _intake(request, form, photos)
            if result is not None:
                return result
        if photo_error:
            form.add_error(None, photo_error)
        status = 400
    context = {
        "form": form,
        "places": _intake_places(request.user),
        "case_tabs": case_tabs(request.user),
        "chosen_place": _scoped_place(request.user, parse_int(form.data.get("place")))
        if form.is_bound
        else None,
    }
    return render(request, "cases/new.html", context, status=status)


def _intake(request: HttpRequest, form: forms.IntakeForm, photos: list[bytes]) -> HttpResponse | None:
    d = form.cleaned_data
    place = _scoped_place(request.user, d.get("place"))
    if d.get("place") and place is None:
        form.add_error(None, _("Choose a building or house in your area"))
        return None
    me_too = check_me_too(form, place)
    if form.errors:
        return None
    try:
        result = services.case_intake(
            actor=signed_in_user(request),
            channel=d["channel"],
            category=d["category"],
            description=d["description"],
            title=d.get("title") or "",
            place=place,
            lat=d.get("lat"),
            lng=d.get("lng"),
            priority=d["priority"],
            reporter_name=d.get("reporter_name") or "",
            reporter_phone=d.get("reporter_phone") or "",
            hotline_ticket=d.get("hotline_ticket") or "",
            photos=photos,
            me_too_of=me_too,
            idempotency_key=d["idempotency_key"],
            handle_myself=bool(d.get("handle_myself")),
        )
    except DomainError as err:
        form.add_error(None, err.message)
        return None
    if result.replayed:
        messages.info(
            request, _("This request was already registered as case %(n)s.") % {"n": result.case.number}
        )
    elif result.joined:
        messages.success(request, _("Added as another reporter of case %(n)s.") % {"n": result.case.number})
    else:
        messages.success(request, _("Case %(n)s registered.") % {"n": result.case.number})
    return redirect("cases:detail", number=result.case.number)


# The methods each page answers, for the generated route tests.
act.http_methods = ("POST",)  # type: ignore[attr-defined]
rate.http_methods = ("POST",)  # type: ignore[attr-defined]
new.http_methods = ("GET", "POST")  # type: ignore[attr-defined]
