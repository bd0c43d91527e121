"""Reads of cases, every one narrowed to the actor's scope first.

- ``cases_visible``: everything the actor may see.
- ``dispatch_queue``: what waits at the actor's desks (received, returned), by deadline.
- ``my_tasks``: what the actor (or their unit) must handle now.
- ``overdue_board``: open cases past or near their deadline, for supervisors.
- ``case_detail``: one case with its timeline, attachments and the actions open to the actor.
- ``track``: what a reporter sees by tracking code, without signing in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from wangge.cases import permissions
from wangge.cases.models import (
    OPEN_STATES,
    Attachment,
    Case,
    CaseEvent,
    CaseReporter,
    Category,
    Extension,
    State,
)
from wangge.cases.workflow import USER_ACTIONS
from wangge.core import clock
from wangge.core.errors import NotFound
from wangge.core.pii import mask_name, mask_phone
from wangge.core.roles import Capability
from wangge.core.scope import access, has_capability, scope_for

LIST_RELATED = (
    "category",
    "place",
    "owner_place",
    "owner_department",
    "owner_property_company",
    "handler_place",
    "handler_department",
    "handler_property_company",
    "handler",
)


def cases_visible(user: Any) -> QuerySet[Case]:
    return Case.objects.visible_to(user).select_related(*LIST_RELATED)


def categories_active() -> QuerySet[Category]:
    """The category tree (reference data, not personal: everyone may read it)."""
    return Category.objects.filter(is_active=True).select_related("parent", "sla_policy").order_by("code")


@dataclass(frozen=True)
class CaseFilter:
    state: str = ""
    category: str = ""  # a code: the category and its children
    channel: str = ""
    priority: str = ""
    place_path: str = ""
    overdue: bool | None = None
    supervised: bool | None = None
    q: str = ""
    created_from: datetime | None = None
    created_to: datetime | None = None


def filtered(qs: QuerySet[Case], f: CaseFilter) -> QuerySet[Case]:
    if f.state == "open":
        qs = qs.filter(state__in=OPEN_STATES)
    elif f.state:
        qs = qs.filter(state=f.state)
    if f.category:
        qs = qs.filter(Q(category__code=f.category) | Q(category__parent__code=f.category))
    if f.channel:
        qs = qs.filter(channel=f.channel)
    if f.priority:
        qs = qs.filter(priority=f.priority)
    if f.place_path:
        qs = qs.filter(place_path__under=f.place_path)
    if f.overdue is not None:
        qs = qs.filter(overdue=f.overdue)
    if f.supervised is not None:
        qs = qs.filter(supervised=f.supervised)
    if f.q:
        term = f.q.strip()[:50]
        qs = qs.filter(Q(number__startswith=term) | Q(title__icontains=term) | Q(hotline_ticket=term))
    if f.created_from:
        qs = qs.filter(created_at__gte=f.created_from)
    if f.created_to:
        qs = qs.filter(created_at__lt=f.created_to)
    return qs


def cases_list(user: Any, f: CaseFilter | None = None) -> QuerySet[Case]:
    return filtered(cases_visible(user), f or CaseFilter()).order_by("-created_at", "-pk")


def dispatch_queue(user: Any) -> QuerySet[Case]:
    """Cases waiting at a desk the actor sits at (受理/退单待派), soonest deadline first."""
    scope = scope_for(user)
    qs = cases_visible(user).filter(state__in=(State.RECEIVED, State.RETURNED))
    if not scope.is_admin:
        desk_paths = [g.path for g in scope.grants if has_capability(user, Capability.CASE_DISPATCH, g.path)]
        if not desk_paths:
            return qs.none()
        cond = Q(pk__in=[])
        for path in desk_paths:
            cond |= Q(owner_place_path__under=path)
            # Department- and company-owned cases are dispatched by the desk over their place.
            cond |= Q(owner_place__isnull=True, place_path__under=path)
        qs = qs.filter(cond)
    return qs.order_by("due_at", "pk")


def my_tasks(user: Any) -> QuerySet[Case]:
    """Cases the actor must handle: theirs, their unit's not yet taken, those they assist."""
    scope = scope_for(user)
    if scope.user_id is None:
        return Case.objects.none()
    cond = Q(handler_id=scope.user_id)
    if scope.department_ids:
        cond |= Q(handler_department_id__in=scope.department_ids)
    if scope.property_company_ids:
        cond |= Q(handler_property_company_id__in=scope.property_company_ids)
    # A unit's work orders nobody has taken yet: for the staff of exactly that unit.
    handle_paths = [g.path for g in scope.grants if has_capability(user, Capability.CASE_HANDLE, g.path)]
    if handle_paths:
        cond |= Q(handler_id__isnull=True, handler_place__path__in=handle_paths)
    cond |= Q(pk__in=Case.objects.filter(assists__user_id=scope.user_id).values("pk"))
    working = Q(cond, state__in=(State.DISPATCHED, State.ACCEPTED, State.IN_PROGRESS))
    # What a grid owns and nobody has taken yet waits for the grid's own staff, who are its
    # desk (permissions.is_dispatcher): 小事不出网格.
    waiting = Q(
        owner_place__kind__in=permissions.GRID_KINDS,
        owner_place_path__in=handle_paths,
        state__in=(State.RECEIVED, State.RETURNED),
    )
    return cases_visible(user).filter(working | waiting).order_by("due_at", "pk")


def overdue_board(user: Any, *, within_hours: int = 24) -> QuerySet[Case]:
    """Open cases overdue, or due within ``within_hours``, and every supervised open case."""
    soon = clock.now() + timedelta(hours=within_hours)
    return (
        cases_visible(user)
        .filter(state__in=OPEN_STATES)
        .filter(Q(overdue=True) | Q(due_at__lte=soon) | Q(supervised=True) | Q(whistle_missed=True))
        .order_by("due_at", "pk")
    )


def case_get(user: Any, number: str) -> Case:
    return access(cases_visible(user), user, number=number)


@dataclass
class CaseView:
    case: Case
    events: list[CaseEvent]
    attachments: list[Attachment]
    reporters: list[dict[str, Any]]
    actions: list[str]
    may_rate: bool
    pending_extension: Extension | None
    extensions: list[Extension] = field(default_factory=list)
    # A reporter looking at their own request: the public timeline only, no staff details.
    reporter_only: bool = False


def _reporter_rows(user: Any, case: Case) -> list[dict[str, Any]]:
    """Reporters as the actor may see them: names and phones masked unless the actor may
    reveal personal data at the case's place (the handler must be able to call back)."""
    full = has_capability(user, Capability.REVEAL_PII, case.place_path) or permissions.is_handler(user, case)
    rows = []
    for r in case.reporters.all().order_by("created_at", "pk"):
        rows.append(
            {
                "id": r.pk,
                "name": r.name if full else mask_name(r.name),
                "phone": (r.phone if full else mask_phone(r.phone)) if r.phone else "",
                "channel": r.channel,
                "created_at": r.created_at,
                "is_me": r.user_id is not None and r.user_id == scope_for(user).user_id,
            }
        )
    return rows


def case_detail(user: Any, number: str) -> CaseView:
    case = access(
        Case.objects.visible_to(user)
        .select_related(*LIST_RELATED, "sla_policy", "whistle_department", "duplicate_of")
        .prefetch_related("assists__place", "assists__department", "assists__user"),
        user,
        number=number,
    )
    events = list(
        case.events.select_related("actor").prefetch_related(
            Prefetch("attachments", queryset=Attachment.objects.order_by("pk"))
        )
    )
    scope = scope_for(user)
    reporter_only = scope.is_resident_only or (
        permissions.is_reporter(user, case)
        and not (permissions.is_dispatcher(user, case) or permissions.is_handler(user, case))
        and not has_capability(user, Capability.CASE_HANDLE, case.place_path)
    )
    if reporter_only:
        events = [e for e in events if e.public]
    attachments = [a for e in events for a in e.attachments.all()]
    pending = case.extensions.filter(status=Extension.Status.PENDING).first()
    return CaseView(
        case=case,
        events=events,
        attachments=attachments,
        reporters=[] if reporter_only else _reporter_rows(user, case),
        actions=[] if reporter_only else permissions.actions_for(user, case, USER_ACTIONS),
        may_rate=case.state == State.RESOLVED and permissions.is_reporter(user, case),
        pending_extension=pending,
        extensions=list(case.extensions.order_by("-requested_at")),
        reporter_only=reporter_only,
    )


@dataclass
class TrackView:
    case: Case
    reporter: CaseReporter
    events: list[CaseEvent]
    may_rate: bool


def track(code: str) -> TrackView:
    """A reporter's view by tracking code: the public timeline only, no staff names."""
    from wangge.cases.services import normalise_tracking_code

    clean = normalise_tracking_code(code)
    reporter = (
        CaseReporter.objects.select_related("case", "case__category", "case__place")
        .filter(tracking_code=clean)
        .first()
        if clean
        else None
    )
    if reporter is None:
        raise NotFound("Not found")
    case = reporter.case
    if case.state == State.MERGED and case.duplicate_of_id:
        case = Case.objects.select_related("category", "place").get(pk=case.duplicate_of_id)
    events = list(case.events.filter(public=True).prefetch_related("attachments").order_by("at", "pk"))
    return TrackView(case=case, reporter=reporter, events=events, may_rate=case.state == State.RESOLVED)


def attachment_get(user: Any, attachment_id: int) -> Attachment:
    """A photo, if the actor sees its case (and, for a reporter, it is on a public entry)."""
    found = (
        Attachment.objects.select_related("case", "event")
        .filter(pk=attachment_id, case__in=Case.objects.visible_to(user).values("pk"))
        .first()
    )
    if found is None:
        raise NotFound("Not found")
    if scope_for(user).is_resident_only and found.event is not None and not found.event.public:
        raise NotFound("Not found")
    return found


def attachment_by_code(code: str, attachment_id: int) -> Attachment:
    view = track(code)
    found = Attachment.objects.filter(pk=attachment_id, case=view.case, event__public=True).first()
    if found is None:
        raise NotFound("Not found")
    return found
