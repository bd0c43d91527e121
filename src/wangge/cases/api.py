"""Cases API (诉求接口): file requests, work the queue, act on a case, follow it.

Every read goes through ``cases.selectors`` (scope first: a case outside it is a 404), every
write through ``cases.services`` (which checks the action is allowed now: 403 if the caller
may not, 409 if the case moved on or the sent ``version`` is stale). Handlers are thin.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from django.http import FileResponse, HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Header, Path, Query, Router, Status

from wangge.cases import selectors, services
from wangge.cases.models import Case, CaseEvent, Category, State
from wangge.cases.schemas import (
    ActionIn,
    CaseDetailOut,
    CasePageOut,
    CaseQuery,
    CategoryOut,
    DecisionIn,
    EscalateIn,
    ExtensionIn,
    ExtensionOut,
    IntakeIn,
    IntakeOut,
    MergeIn,
    PageQuery,
    ProgressIn,
    RateIn,
    ResolveIn,
    SendIn,
    SimilarOut,
    SimilarQuery,
    TargetIn,
    TrackOut,
    WhistleIn,
)
from wangge.cases.services import Target
from wangge.cases.workflow import TRANSITIONS
from wangge.core.api import READ_ERRORS, WRITE_ERRORS, api_user
from wangge.core.clock import LOCAL_TZ
from wangge.core.errors import NotFound, ValidationError
from wangge.core.models import User
from wangge.org.models import Department, PropertyCompany
from wangge.places.models import Place
from wangge.places.selectors import place_get

router = Router(tags=["cases"])
# Case numbers are digits, which also keeps /cases/queue and friends apart from /cases/{number}.
CaseNumber = Annotated[str, Path(pattern=r"^[0-9]{1,24}$")]
public_router = Router(tags=["cases (reporters)"], auth=None)


def _photos(items: list[str]) -> list[bytes]:
    out = []
    for index, item in enumerate(items):
        data = item.split(",", 1)[1] if item.startswith("data:") else item
        try:
            out.append(base64.b64decode(data, validate=True))
        except (binascii.Error, ValueError):
            raise ValidationError(
                _("Photo %(n)d is not valid base64") % {"n": index + 1}, code="photo_encoding"
            ) from None
    return out


def _unit(place: Any = None, department: Any = None, company: Any = None) -> dict[str, Any] | None:
    if place is not None:
        return {"kind": "place", "id": place.pk, "name": place.name}
    if department is not None:
        return {"kind": "department", "id": department.pk, "name": department.name}
    if company is not None:
        return {"kind": "property_company", "id": company.pk, "name": company.name}
    return None


def _row(case: Case) -> dict[str, Any]:
    return {
        "number": case.number,
        "title": case.title,
        "state": case.state,
        "state_label": str(State(case.state).label),
        "category_code": case.category.code,
        "category_name": case.category.name,
        "channel": case.channel,
        "priority": case.priority,
        "place_id": case.place_id,
        "place_name": case.place.name,
        "owner": _unit(case.owner_place, case.owner_department, case.owner_property_company),
        "handler_unit": _unit(case.handler_place, case.handler_department, case.handler_property_company),
        "handler_name": case.handler.label if case.handler is not None else "",
        "reporter_count": case.reporter_count,
        "created_at": case.created_at,
        "due_at": case.due_at,
        "warn_at": case.warn_at,
        "overdue": case.overdue,
        "supervised": case.supervised,
        "whistle_missed": case.whistle_missed,
        "version": case.version,
    }


def _event(event: CaseEvent, attachment_url: Callable[[int], str], *, staff: bool) -> dict[str, Any]:
    return {
        "id": event.pk,
        "at": event.at,
        "action": event.action,
        "action_label": str(TRANSITIONS[event.action].label) if event.action in TRANSITIONS else event.action,
        # Reporters see what was done and when, not who among the staff did it.
        "actor": event.actor_label if staff else "",
        "from_state": event.from_state,
        "to_state": event.to_state,
        "note": event.note,
        "public": event.public,
        "data": event.data if staff else {},
        "attachments": [
            {"id": a.pk, "url": attachment_url(a.pk), "width": a.width, "height": a.height, "size": a.size}
            for a in event.attachments.all()
        ],
    }


def _extension(ext: Any) -> dict[str, Any]:
    return {
        "id": ext.pk,
        "amount": ext.amount,
        "unit": ext.unit,
        "reason": ext.reason,
        "status": ext.status,
        "requested_at": ext.requested_at,
        "decided_at": ext.decided_at,
        "decision_note": ext.decision_note,
    }


def _detail(user: Any, number: str) -> dict[str, Any]:
    view = selectors.case_detail(user, number)
    case = view.case
    staff = not view.reporter_only

    def url(pk: int) -> str:
        return reverse("api:case_attachment", args=[case.number, pk])

    return {
        **_row(case),
        "description": case.description,
        "address": case.address,
        "lat": case.lat,
        "lng": case.lng,
        "hotline_ticket": case.hotline_ticket if staff else "",
        "sla_policy": case.sla_policy.name,
        "respond_due_at": case.respond_due_at,
        "responded_at": case.responded_at,
        "resolved_at": case.resolved_at,
        "closed_at": case.closed_at,
        "reply": case.reply,
        "rating": case.rating,
        "rating_comment": case.rating_comment,
        "reopen_count": case.reopen_count,
        "extension_count": case.extension_count,
        "escalation_level": case.escalation_level,
        "whistle_department": case.whistle_department.name if case.whistle_department else None,
        "whistle_due_at": case.whistle_due_at,
        "whistle_reported_at": case.whistle_reported_at,
        "duplicate_of": case.duplicate_of.number if case.duplicate_of else None,
        "reporters": [
            {
                "id": r["id"],
                "name": r["name"],
                "phone_masked": r["phone"],
                "channel": r["channel"],
                "created_at": r["created_at"],
                "is_me": r["is_me"],
            }
            for r in view.reporters
        ],
        "timeline": [_event(e, url, staff=staff) for e in view.events],
        "extensions": [_extension(x) for x in view.extensions] if staff else [],
        "actions": view.actions,
        "may_rate": view.may_rate,
    }


def _page(qs: Any, limit: int, offset: int) -> dict[str, Any]:
    total = qs.count()
    return {
        "items": [_row(c) for c in qs[offset : offset + limit]],
        "total": total,
        "limit": limit,
        "offset": offset,
    }


def _target(user: Any, data: TargetIn) -> Target:
    place = place_get(user, data.place_id) if data.place_id is not None else None
    person = None
    if data.user_id is not None:
        person = User.objects.filter(pk=data.user_id, is_active=True).first()
        if person is None:
            raise ValidationError(_("Unknown person"), code="bad_target")
    department = None
    if data.department_id is not None:
        department = Department.objects.filter(pk=data.department_id).first()
        if department is None:
            raise ValidationError(_("Unknown department"), code="bad_target")
    company = None
    if data.property_company_id is not None:
        company = PropertyCompany.objects.filter(pk=data.property_company_id).first()
        if company is None:
            raise ValidationError(_("Unknown property company"), code="bad_target")
    return Target(place=place, department=department, property_company=company, user=person)


def _department(case: Case, department_id: int) -> Department:
    """A department over the case's place (one the case may be sent to)."""
    from wangge.cases.routing import departments_over

    for department in departments_over(case.place):
        if department.pk == department_id:
            return department
    raise ValidationError(_("This department does not serve the case's place"), code="bad_target")


def _category(code: str) -> Category:
    found = Category.objects.filter(code=code, is_active=True).first()
    if found is None:
        raise ValidationError(_("Unknown category %(code)s") % {"code": code}, code="bad_category")
    return found


def _report_place(place_id: int | None) -> Place | None:
    """Where a matter is reported: anyone may report at any place of the territory (the
    answer never tells more about the place than that it exists)."""
    if place_id is None:
        return None
    found = Place.objects.filter(pk=place_id).first()
    if found is None:
        raise ValidationError(_("Unknown place"), code="bad_place")
    return found


def _visible_case(user: Any, number: str) -> Case:
    return selectors.case_get(user, number)


# --- reading ---------------------------------------------------------------------------------


@router.get("/categories", response={200: list[CategoryOut], **READ_ERRORS})
def categories(request: HttpRequest) -> list[dict[str, Any]]:
    """The category tree with each category's default owner level and SLA policy."""
    return [
        {
            "code": c.code,
            "name": c.name,
            "name_en": c.name_en,
            "parent_code": c.parent.code if c.parent else None,
            "owner_level": c.owner_level,
            "sla_policy": c.sla_policy.code,
            "is_public": c.is_public,
        }
        for c in selectors.categories_active()
    ]


@router.get("/", response={200: CasePageOut, **READ_ERRORS})
def case_list(request: HttpRequest, filters: Query[CaseQuery]) -> dict[str, Any]:
    """Cases in the caller's scope, newest first; residents see their own requests."""
    user = request.user
    place = place_get(user, filters.place_id) if filters.place_id is not None else None
    f = selectors.CaseFilter(
        state=filters.state or "",
        category=filters.category or "",
        channel=filters.channel or "",
        priority=filters.priority or "",
        place_path=place.path if place is not None else "",
        overdue=filters.overdue,
        supervised=filters.supervised,
        q=filters.q,
        created_from=_local_midnight(filters.created_from),
        created_to=_local_midnight(filters.created_to, next_day=True),
    )
    return _page(selectors.cases_list(user, f), filters.limit, filters.offset)


def _local_midnight(day: date | None, *, next_day: bool = False) -> datetime | None:
    if day is None:
        return None
    start = datetime.combine(day, time(0), tzinfo=LOCAL_TZ)
    return start + timedelta(days=1) if next_day else start


@router.get("/queue", response={200: CasePageOut, **READ_ERRORS})
def queue(request: HttpRequest, page: Query[PageQuery]) -> dict[str, Any]:
    """What waits at the caller's desks to be dispatched, soonest deadline first."""
    return _page(selectors.dispatch_queue(request.user), page.limit, page.offset)


@router.get("/mine", response={200: CasePageOut, **READ_ERRORS})
def mine(request: HttpRequest, page: Query[PageQuery]) -> dict[str, Any]:
    """The caller's work orders (and their unit's untaken ones), soonest deadline first."""
    return _page(selectors.my_tasks(request.user), page.limit, page.offset)


@router.get("/overdue", response={200: CasePageOut, **READ_ERRORS})
def overdue(request: HttpRequest, page: Query[PageQuery]) -> dict[str, Any]:
    """Open cases overdue or due within a day, supervised ones, whistles not answered."""
    return _page(selectors.overdue_board(request.user), page.limit, page.offset)


@router.get("/similar", response={200: list[SimilarOut], **READ_ERRORS})
def similar(request: HttpRequest, filters: Query[SimilarQuery]) -> list[dict[str, Any]]:
    """Open cases of the same category near the spot ("me too" candidates)."""
    category = _category(filters.category)
    place = _report_place(filters.place_id)
    where, lat, lng = services.locate(place=place, lat=filters.lat, lng=filters.lng)
    return _similar_rows(category, where, lat, lng)


def _similar_rows(
    category: Category, where: Place, lat: float | None, lng: float | None
) -> list[dict[str, Any]]:
    rows = []
    for case in services.similar_open_cases(category=category, place=where, lat=lat, lng=lng):
        distance = None
        if lat is not None and lng is not None and case.lat is not None and case.lng is not None:
            distance = round(services.distance_m(lat, lng, case.lat, case.lng), 1)
        rows.append(
            {
                "number": case.number,
                "title": case.title,
                "category_code": category.code,
                "created_at": case.created_at,
                "reporter_count": case.reporter_count,
                "distance_m": distance,
            }
        )
    return rows


@router.get("/{number}", response={200: CaseDetailOut, **READ_ERRORS}, url_name="case_detail")
def case_detail(request: HttpRequest, number: CaseNumber) -> dict[str, Any]:
    """One case with its timeline and the actions open to the caller now."""
    return _detail(request.user, number)


@router.get(
    "/{number}/attachments/{attachment_id}", response={200: None, **READ_ERRORS}, url_name="case_attachment"
)
def attachment(request: HttpRequest, number: CaseNumber, attachment_id: int) -> FileResponse:
    """A photo of the case (scope-checked)."""
    found = selectors.attachment_get(request.user, attachment_id)
    if found.case.number != number:
        raise NotFound(_("Not found"))
    response = FileResponse(found.file.open("rb"), content_type=found.content_type)
    response["Cache-Control"] = "private, max-age=3600"
    return response


# --- writing ---------------------------------------------------------------------------------


@router.post("/", response={201: IntakeOut, 200: IntakeOut, **WRITE_ERRORS})
def intake(
    request: HttpRequest,
    data: IntakeIn,
    idempotency_key: str = Header("", alias="Idempotency-Key", max_length=128),
) -> Status[dict[str, Any]]:
    """File a request. Send an ``Idempotency-Key`` header: a retry returns the first result
    (200) instead of filing it twice (201 the first time)."""
    user = api_user(request)
    place = _report_place(data.place_id)
    me_too = _visible_case(user, data.me_too_of) if data.me_too_of else None
    result = services.case_intake(
        actor=user,
        channel=data.channel,
        category=_category(data.category),
        description=data.description,
        title=data.title,
        place=place,
        lat=data.lat,
        lng=data.lng,
        address=data.address,
        priority=data.priority,
        reporter_name=data.reporter_name,
        reporter_phone=data.reporter_phone,
        hotline_ticket=data.hotline_ticket,
        photos=_photos(data.photos),
        me_too_of=me_too,
        idempotency_key=idempotency_key.strip(),
        handle_myself=data.handle_myself,
    )
    body = {
        "number": result.case.number,
        "state": result.case.state,
        "created": result.created,
        "joined": result.joined,
        "tracking_code": result.reporter.tracking_code,
    }
    return Status(200 if result.replayed else 201, body)


def _act(request: HttpRequest, number: str, run: Callable[[User, Case], Any]) -> dict[str, Any]:
    user = api_user(request)
    case = _visible_case(user, number)
    run(user, case)
    return _detail(user, number)


@router.post("/{number}/dispatch", response={200: CaseDetailOut, **WRITE_ERRORS})
def dispatch(request: HttpRequest, number: CaseNumber, data: SendIn) -> dict[str, Any]:
    """Send the case to a grid, a person, a department or a property company (派单)."""
    return _act(
        request,
        number,
        lambda u, c: services.case_dispatch(
            actor=u, case=c, to=_target(u, data.to), note=data.note, version=data.version
        ),
    )


@router.post("/{number}/hand-on", response={200: CaseDetailOut, **WRITE_ERRORS})
def hand_on(request: HttpRequest, number: CaseNumber, data: SendIn) -> dict[str, Any]:
    """Hand the case to another owning unit (移交)."""
    return _act(
        request,
        number,
        lambda u, c: services.case_hand_on(
            actor=u, case=c, to=_target(u, data.to), note=data.note, version=data.version
        ),
    )


@router.post("/{number}/assist", response={200: CaseDetailOut, **WRITE_ERRORS})
def assist(request: HttpRequest, number: CaseNumber, data: SendIn) -> dict[str, Any]:
    """Add an assisting handler (协办)."""
    return _act(
        request,
        number,
        lambda u, c: services.case_assist(
            actor=u, case=c, to=_target(u, data.to), note=data.note, version=data.version
        ),
    )


_SIMPLE: dict[str, Callable[..., Any]] = {
    "recall": services.case_recall,
    "accept": services.case_accept,
    "start": services.case_start,
    "supervise": services.case_supervise,
    "reopen": services.case_reopen,
    "close": services.case_close,
}


def _simple(name: str, doc: str) -> None:
    fn = _SIMPLE[name]

    def handler(request: HttpRequest, number: CaseNumber, data: ActionIn) -> dict[str, Any]:
        return _act(request, number, lambda u, c: fn(actor=u, case=c, note=data.note, version=data.version))

    handler.__doc__ = doc
    handler.__name__ = f"case_{name}"
    router.post(
        f"/{{number}}/{name}", response={200: CaseDetailOut, **WRITE_ERRORS}, operation_id=f"case_{name}"
    )(handler)


_simple("recall", "Take back a dispatch nobody has accepted yet.")
_simple("accept", "Take the work order (签收); for a whistle, the department reports in (报到).")
_simple("start", "Start work on site (处置).")
_simple("supervise", "Flag the case as supervised (督办); the handler and their superior are told.")
_simple("reopen", "Reopen a resolved or rated case for rework (重办).")
_simple("close", "Archive a resolved or rated case (归档).")


@router.post("/{number}/progress", response={200: CaseDetailOut, **WRITE_ERRORS})
def progress(request: HttpRequest, number: CaseNumber, data: ProgressIn) -> dict[str, Any]:
    """Add a progress note with photos."""
    return _act(
        request,
        number,
        lambda u, c: services.case_progress(
            actor=u, case=c, note=data.note, photos=_photos(data.photos), version=data.version
        ),
    )


@router.post("/{number}/resolve", response={200: CaseDetailOut, **WRITE_ERRORS})
def resolve(request: HttpRequest, number: CaseNumber, data: ResolveIn) -> dict[str, Any]:
    """Finish the work and reply to the reporter (办结)."""
    return _act(
        request,
        number,
        lambda u, c: services.case_resolve(
            actor=u, case=c, reply=data.reply, photos=_photos(data.photos), version=data.version
        ),
    )


@router.post("/{number}/return", response={200: CaseDetailOut, **WRITE_ERRORS})
def return_case(request: HttpRequest, number: CaseNumber, data: ActionIn) -> dict[str, Any]:
    """Send the case back to the dispatcher with a reason (退单)."""
    return _act(
        request,
        number,
        lambda u, c: services.case_return(actor=u, case=c, reason=data.note, version=data.version),
    )


@router.post("/{number}/cancel", response={200: CaseDetailOut, **WRITE_ERRORS})
def cancel(request: HttpRequest, number: CaseNumber, data: ActionIn) -> dict[str, Any]:
    """Decline the request with a reason the reporter sees (不予受理)."""
    return _act(
        request,
        number,
        lambda u, c: services.case_cancel(actor=u, case=c, reason=data.note, version=data.version),
    )


@router.post("/{number}/escalate", response={200: CaseDetailOut, **WRITE_ERRORS})
def escalate(request: HttpRequest, number: CaseNumber, data: EscalateIn) -> dict[str, Any]:
    """Send the case up one level (上报), or to a named department."""
    return _act(
        request,
        number,
        lambda u, c: services.case_escalate(
            actor=u,
            case=c,
            note=data.note,
            department=_department(c, data.department_id) if data.department_id else None,
            version=data.version,
        ),
    )


@router.post("/{number}/whistle", response={200: CaseDetailOut, **WRITE_ERRORS})
def whistle(request: HttpRequest, number: CaseNumber, data: WhistleIn) -> dict[str, Any]:
    """Blow the whistle (吹哨): the department must report in within 30 minutes."""
    return _act(
        request,
        number,
        lambda u, c: services.case_whistle(
            actor=u,
            case=c,
            department=_department(c, data.department_id),
            note=data.note,
            kind=data.kind,
            version=data.version,
        ),
    )


@router.post("/{number}/merge", response={200: CaseDetailOut, **WRITE_ERRORS})
def merge(request: HttpRequest, number: CaseNumber, data: MergeIn) -> dict[str, Any]:
    """Merge this case into another open case of the same matter."""
    return _act(
        request,
        number,
        lambda u, c: services.case_merge(
            actor=u, case=c, into=_visible_case(u, data.into), note=data.note, version=data.version
        ),
    )


@router.post("/{number}/extensions", response={201: ExtensionOut, **WRITE_ERRORS})
def extension_request(request: HttpRequest, number: CaseNumber, data: ExtensionIn) -> Status[dict[str, Any]]:
    """Ask for more time (延期), in the case's policy unit."""
    user = api_user(request)
    case = _visible_case(user, number)
    ext = services.case_request_extension(
        actor=user, case=case, amount=data.amount, reason=data.reason, version=data.version
    )
    return Status(201, _extension(ext))


@router.post("/{number}/extensions/{extension_id}/decide", response={200: ExtensionOut, **WRITE_ERRORS})
def extension_decide(
    request: HttpRequest, number: CaseNumber, extension_id: int, data: DecisionIn
) -> dict[str, Any]:
    """Approve or refuse an extension request."""
    user = api_user(request)
    case = _visible_case(user, number)
    ext = case.extensions.filter(pk=extension_id).first()
    if ext is None:
        raise NotFound(_("Not found"))
    decided = services.case_decide_extension(
        actor=user, extension=ext, approve=data.approve, note=data.note, version=data.version
    )
    return _extension(decided)


@router.post("/{number}/rate", response={200: CaseDetailOut, **WRITE_ERRORS})
def rate(request: HttpRequest, number: CaseNumber, data: RateIn) -> dict[str, Any]:
    """The reporter rates the answer: 满意, 基本满意 or 不满意 (which reopens the case once)."""
    return _act(
        request,
        number,
        lambda u, c: services.case_rate(actor=u, case=c, rating=data.rating, comment=data.comment),
    )


# --- reporters without an account --------------------------------------------------------------


def _track(code: str) -> dict[str, Any]:
    view = selectors.track(code)
    case = view.case

    def url(pk: int) -> str:
        return reverse("api:case_track_attachment", args=[code, pk])

    return {
        "number": case.number,
        "title": case.title,
        "state": case.state,
        "state_label": str(State(case.state).label),
        "category_name": case.category.name,
        "created_at": case.created_at,
        "due_at": case.due_at,
        "reply": case.reply,
        "rating": case.rating,
        "may_rate": view.may_rate,
        "timeline": [_event(e, url, staff=False) for e in view.events],
    }


@public_router.get("/{code}", response={200: TrackOut, **READ_ERRORS})
def track(request: HttpRequest, code: str) -> dict[str, Any]:
    """Follow a request by its tracking code: the public timeline only."""
    return _track(code)


@public_router.post("/{code}/rate", response={200: TrackOut, **WRITE_ERRORS})
def track_rate(request: HttpRequest, code: str, data: RateIn) -> dict[str, Any]:
    """Rate the answer with the tracking code."""
    view = selectors.track(code)
    user = request.user if getattr(request.user, "is_authenticated", False) else None
    services.case_rate(
        actor=user,  # type: ignore[arg-type]
        case=view.case,
        rating=data.rating,
        comment=data.comment,
        tracking_code=code,
    )
    return _track(code)


@public_router.get(
    "/{code}/attachments/{attachment_id}",
    response={200: None, **READ_ERRORS},
    url_name="case_track_attachment",
)
def track_attachment(request: HttpRequest, code: str, attachment_id: int) -> FileResponse:
    """A photo on the public timeline."""
    found = selectors.attachment_by_code(code, attachment_id)
    response = FileResponse(found.file.open("rb"), content_type=found.content_type)
    response["Cache-Control"] = "private, max-age=3600"
    return response
