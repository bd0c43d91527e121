"""Every write to a case: intake from every channel, each workflow action, the SLA sweep.

Each service takes the acting user, checks that they see the case (scope) and may take the
action (``cases.permissions``), locks the case row, applies the transition from
``cases.workflow``, and in the same transaction writes the timeline row, the audit row and
the outbox events (live push, notifications). A stale or concurrent action gets a 409.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from wangge.cases import notices, routing, sla
from wangge.cases.attachments import Photo, photos_read_first, read_photos
from wangge.cases.models import (
    OPEN_STATES,
    Attachment,
    Case,
    CaseAssist,
    CaseEvent,
    CaseReporter,
    Category,
    Channel,
    Extension,
    Priority,
    Rating,
    SlaUnit,
    State,
    WhistleKind,
)
from wangge.cases.permissions import CHECKS
from wangge.cases.workflow import TRANSITIONS, Who
from wangge.core import audit, clock, outbox, pii
from wangge.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from wangge.core.models import IdempotencyRecord, User
from wangge.core.roles import CAPABILITIES, CO_BUILDING_SUPERVISOR_ROLES, TERRITORIAL_ROLES, Capability
from wangge.core.scope import has_capability, scope_for
from wangge.org.models import Department, PropertyCompany
from wangge.places.locator import get_locator
from wangge.places.models import Place, PlaceKind

TRACKING_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I
TRACKING_LENGTH = 12  # 60 random bits
SYSTEM_LABEL = "system"
ROUTABLE_KINDS = (
    PlaceKind.GRID,
    PlaceKind.MICRO_GRID,
    PlaceKind.COMMUNITY,
    PlaceKind.STREET,
    PlaceKind.COUNTY,
)


@dataclass(frozen=True)
class Target:
    """Where a case is sent: a unit (place, department, property company) and maybe a person."""

    place: Place | None = None
    department: Department | None = None
    property_company: PropertyCompany | None = None
    user: User | None = None

    @property
    def label(self) -> str:
        parts = [str(u) for u in (self.place, self.department, self.property_company) if u is not None]
        if self.user is not None:
            parts.append(self.user.label)
        return " · ".join(parts)


@dataclass(frozen=True)
class IntakeResult:
    case: Case
    reporter: CaseReporter
    # False when a retry returned the first result, or the report joined an open case.
    created: bool
    joined: bool = False
    replayed: bool = False


# --- small helpers --------------------------------------------------------------------------


def new_tracking_code() -> str:
    return "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(TRACKING_LENGTH))


def normalise_tracking_code(code: str) -> str:
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())[:32]


def _text(value: str | None, *, label: str, max_length: int, required: bool = False) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationError(_("%(field)s is required") % {"field": label}, code="required")
    if len(text) > max_length:
        raise ValidationError(
            _("%(field)s is longer than %(n)d characters") % {"field": label, "n": max_length},
            code="too_long",
        )
    return text


def _choice(value: str, allowed: Sequence[str], label: str) -> str:
    if value not in allowed:
        raise ValidationError(
            _("Unknown %(field)s: %(value)s") % {"field": label, "value": value}, code="bad_choice"
        )
    return value


def _phone(value: str, *, required: bool) -> str:
    from wangge.people.identity import validate_phone

    raw = (value or "").strip()
    if not raw:
        if required:
            raise ValidationError(_("Leave a phone number so we can reach you"), code="phone_required")
        return ""
    try:
        return validate_phone(raw)
    except Exception as exc:  # identity raises its own ValidationError with a reason
        raise ValidationError(_("The phone number is not valid"), code="bad_phone") from exc


def _actor_label(actor: User | None) -> str:
    return actor.get_username() if actor is not None and actor.pk else SYSTEM_LABEL


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    r = 6_371_000.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def _has_role_at(actor: User | None, roles: frozenset[str], path: str) -> bool:
    scope = scope_for(actor)
    if scope.is_admin:
        return True
    return any(g.role in roles and path.startswith(g.path) for g in scope.grants)


# --- locating -------------------------------------------------------------------------------


def locate(
    *, place: Place | None, lat: float | None, lng: float | None
) -> tuple[Place, float | None, float | None]:
    """The place of a report: the chosen building or house, else the point's place."""
    if (lat is None) != (lng is None):
        raise ValidationError(_("Give both latitude and longitude"), code="bad_point")
    if (
        lat is not None
        and lng is not None
        and not (math.isfinite(lat) and math.isfinite(lng) and -90 <= lat <= 90 and -180 <= lng <= 180)
    ):
        raise ValidationError(_("The location is not a valid point"), code="bad_point")
    if place is not None:
        if place.kind == PlaceKind.COUNTY:
            raise ValidationError(_("Choose a place inside a street office's area"), code="place_too_wide")
        return place, lat, lng
    if lat is None or lng is None:
        raise ValidationError(
            _("Choose a building or house, or share the location"), code="location_required"
        )
    found = get_locator().locate(lat, lng)
    if found is None:
        raise ValidationError(_("The location is outside the area this service covers"), code="outside_area")
    located = Place.objects.get(pk=found)
    if located.kind == PlaceKind.COUNTY:
        raise ValidationError(_("The location is outside the area this service covers"), code="outside_area")
    return located, lat, lng


def similar_open_cases(
    *, category: Category, place: Place, lat: float | None, lng: float | None, limit: int = 5
) -> list[Case]:
    """Open cases of the same category near the same spot, newest first ("me too" candidates)."""
    since = clock.now() - timedelta(days=settings.CASES_DUPLICATE_DAYS)
    community = routing.unit_of(place, PlaceKind.COMMUNITY) or routing.street_of(place)
    candidates = (
        Case.objects.filter(
            category=category, state__in=OPEN_STATES, created_at__gte=since, place_path__under=community.path
        )
        .select_related("place")
        .order_by("-created_at")[:200]
    )
    found: list[Case] = []
    for case in candidates:
        if lat is not None and lng is not None and case.lat is not None and case.lng is not None:
            near = distance_m(lat, lng, case.lat, case.lng) <= settings.CASES_DUPLICATE_METRES
        else:
            # Without two points: the same building (or the same place) is "near".
            near = case.place_path.startswith(place.path) or place.path.startswith(case.place_path)
            near = near and place.kind in (PlaceKind.BUILDING, PlaceKind.UNIT, PlaceKind.HOUSE)
        if near:
            found.append(case)
            if len(found) >= limit:
                break
    return found


# --- idempotency ----------------------------------------------------------------------------


def _claim(scope_name: str, key: str) -> tuple[IdempotencyRecord | None, tuple[int, int] | None]:
    if not key:
        return None, None
    if len(key) > 128:
        raise ValidationError(_("The idempotency key is longer than 128 characters"), code="bad_key")
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                scope=scope_name[:64], key=key, created_at=clock.now(), object_type="cases.case", object_id=""
            )
        return record, None
    except IntegrityError:
        earlier = IdempotencyRecord.objects.get(scope=scope_name[:64], key=key)
    if not earlier.object_id:
        raise Conflict(_("A request with this idempotency key is still being filed"), code="idempotency_busy")
    case_id, reporter_id = (int(x) for x in earlier.object_id.split(":"))
    return None, (case_id, reporter_id)


# --- intake ---------------------------------------------------------------------------------


def _check_channel(actor: User | None, channel: str, path: str, *, phone: str, hotline_ticket: str) -> None:
    if channel == Channel.WEB:
        if actor is None and not phone:
            raise ValidationError(_("Leave a phone number so we can reach you"), code="phone_required")
        return
    if channel in (Channel.DEVICE, Channel.OPEN311):
        if actor is not None:
            raise PermissionDenied(_("This channel is for connected systems only"))
        return
    if actor is None:
        raise PermissionDenied(_("Sign in to report through this channel"))
    if channel == Channel.PATROL:
        if not (
            _has_role_at(actor, TERRITORIAL_ROLES, path)
            and has_capability(actor, Capability.CASE_REPORT, path)
        ):
            raise PermissionDenied(_("Only grid staff of this place report patrol findings here"))
    elif channel == Channel.CO_BUILDING:
        if not _has_role_at(actor, CO_BUILDING_SUPERVISOR_ROLES, path):
            raise PermissionDenied(_("Only co-building supervisors of this area report through this channel"))
    elif channel in (Channel.HOTLINE, Channel.WALK_IN):
        if not has_capability(actor, Capability.CASE_INTAKE, path):
            raise PermissionDenied(_("You may not register requests for this place"))
        if channel == Channel.HOTLINE and not hotline_ticket:
            raise ValidationError(
                _("A 12345 transfer needs the hotline's ticket number"), code="ticket_required"
            )
    else:  # pragma: no cover - _choice has refused it
        raise ValidationError(_("Unknown channel"), code="bad_choice")


@photos_read_first
def case_intake(
    *,
    actor: User | None,
    channel: str,
    category: Category,
    description: str,
    title: str = "",
    place: Place | None = None,
    lat: float | None = None,
    lng: float | None = None,
    address: str = "",
    priority: str = Priority.NORMAL,
    reporter_name: str = "",
    reporter_phone: str = "",
    hotline_ticket: str = "",
    photos: Sequence[bytes | Photo] = (),
    me_too_of: Case | None = None,
    idempotency_key: str = "",
    source_ref: str = "",
    handle_myself: bool = False,
) -> IntakeResult:
    """File a request (受理) from any channel. Retries with the same key return the first result."""
    channel = _choice(channel, Channel.values, _("channel"))
    priority = _choice(priority, Priority.values, _("priority"))
    if not category.is_active:
        raise ValidationError(_("This category is no longer in use"), code="inactive_category")
    description = _text(description, label=_("Description"), max_length=2000, required=True)
    title = _text(title, label=_("Title"), max_length=100) or description[:30]
    address = _text(address, label=_("Address"), max_length=200)
    reporter_name = _text(reporter_name, label=_("Name"), max_length=64)
    hotline_ticket = _text(hotline_ticket, label=_("12345 ticket number"), max_length=40)
    source_ref = _text(source_ref, label="source", max_length=64)
    key = (idempotency_key or "").strip()
    phone = _phone(reporter_phone, required=False)
    phone_hash = pii.blind_index("phone", phone) if phone else ""
    if actor is not None and actor.pk:
        scope_name = f"cases.intake:{actor.pk}"
    else:
        scope_name = f"cases.intake:{channel}:{phone_hash or source_ref}"
    record, earlier = _claim(scope_name, key)
    if earlier is not None:
        case = Case.objects.select_related("place", "category").get(pk=earlier[0])
        return IntakeResult(
            case=case, reporter=CaseReporter.objects.get(pk=earlier[1]), created=False, replayed=True
        )

    where, lat, lng = locate(place=place, lat=lat, lng=lng)
    _check_channel(actor, channel, where.path, phone=phone, hotline_ticket=hotline_ticket)
    if hotline_ticket:
        taken = Case.objects.filter(hotline_ticket=hotline_ticket).values_list("number", flat=True).first()
        if taken:
            raise Conflict(
                _("Hotline ticket %(ticket)s is already registered as case %(number)s")
                % {"ticket": hotline_ticket, "number": taken},
                code="duplicate_ticket",
            )
    checked = read_photos(photos)
    now = clock.now()
    if actor is not None and not reporter_name:
        reporter_name = actor.label

    if me_too_of is not None:
        result = _join(
            actor=actor,
            case=me_too_of,
            category=category,
            channel=channel,
            name=reporter_name,
            phone=phone,
            phone_hash=phone_hash,
            note=description,
            photos=checked,
        )
    else:
        result = _create(
            actor=actor,
            channel=channel,
            category=category,
            title=title,
            description=description,
            place=where,
            lat=lat,
            lng=lng,
            address=address,
            priority=priority,
            name=reporter_name,
            phone=phone,
            phone_hash=phone_hash,
            hotline_ticket=hotline_ticket,
            source_ref=source_ref,
            photos=checked,
            now=now,
            handle_myself=handle_myself,
        )
    if record is not None:
        record.object_id = f"{result.case.pk}:{result.reporter.pk}"
        record.save(update_fields=["object_id"])
    return result


def _new_reporter(
    *, case: Case, actor: User | None, channel: str, name: str, phone: str, phone_hash: str, now: datetime
) -> CaseReporter:
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return CaseReporter.objects.create(
                    case=case,
                    user=actor if actor is not None and actor.pk else None,
                    name=name,
                    phone=phone,
                    phone_hash=phone_hash,
                    channel=channel,
                    tracking_code=new_tracking_code(),
                    created_at=now,
                )
        except IntegrityError:  # pragma: no cover - a 60-bit collision
            continue
    raise RuntimeError("could not draw a unique tracking code")  # pragma: no cover


def _create(
    *,
    actor: User | None,
    channel: str,
    category: Category,
    title: str,
    description: str,
    place: Place,
    lat: float | None,
    lng: float | None,
    address: str,
    priority: str,
    name: str,
    phone: str,
    phone_hash: str,
    hotline_ticket: str,
    source_ref: str,
    photos: list[Photo],
    now: datetime,
    handle_myself: bool,
) -> IntakeResult:
    owner = routing.default_owner(category, place)
    policy = sla.policy_for(category, priority)
    limits = sla.deadlines(policy, now)
    case = Case(
        number=f"tmp-{secrets.token_hex(8)}",
        title=title,
        description=description,
        category=category,
        channel=channel,
        priority=priority,
        state=State.RECEIVED,
        place=place,
        place_path=place.path,
        lat=lat,
        lng=lng,
        address=address,
        reporter=actor if actor is not None and actor.pk else None,
        hotline_ticket=hotline_ticket,
        source_ref=source_ref,
        owner_place=owner.place,
        owner_place_path=owner.place.path if owner.place else "",
        owner_department=owner.department,
        owner_property_company=owner.property_company,
        first_owner_label=owner.label[:100],
        sla_policy=policy,
        respond_due_at=limits.respond_due_at,
        due_at=limits.due_at,
        warn_at=limits.warn_at,
        created_at=now,
        updated_at=now,
    )
    try:
        with transaction.atomic():
            case.save(force_insert=True)
    except IntegrityError as exc:  # a concurrent intake registered the same hotline ticket
        raise Conflict(_("This hotline ticket is already registered"), code="duplicate_ticket") from exc
    case.number = f"{clock.local_now():%Y%m%d}{case.pk:07d}"
    Case.objects.filter(pk=case.pk).update(number=case.number)
    reporter = _new_reporter(
        case=case, actor=actor, channel=channel, name=name, phone=phone, phone_hash=phone_hash, now=now
    )
    event = _event(
        case,
        actor,
        "receive",
        from_state="",
        note=description if channel != Channel.WEB else "",
        data={"channel": channel, "owner": owner.label, "ticket": hotline_ticket},
        now=now,
    )
    _store_photos(case, event, photos, actor, now)
    if owner.department is not None or owner.property_company is not None:
        # A department's or a company's matter goes straight to it.
        _auto_dispatch(
            case,
            Target(department=owner.department, property_company=owner.property_company),
            now,
        )
    elif handle_myself and channel == Channel.PATROL and actor is not None:
        _handle_myself(case, actor, now)
    _schedule(case)
    case.save()
    _push(case, "receive")
    notices.tell(
        case,
        "received",
        notices.desk(case),
        notices.headline(case, _("New request")),
        case.description[:200],
        urgent=priority == Priority.EMERGENCY,
    )
    audit.record(
        actor=actor,
        action="case.received",
        obj=case,
        changes={"channel": channel, "category": category.code, "owner": owner.label, "photos": len(photos)},
    )
    return IntakeResult(case=case, reporter=reporter, created=True)


def _auto_dispatch(case: Case, to: Target, now: datetime) -> None:
    before = case.state
    case.handler_department = to.department
    case.handler_property_company = to.property_company
    case.handler_place = to.place
    case.handler = to.user
    case.state = State.DISPATCHED
    case.dispatched_at = case.dispatched_at or now
    _event(case, None, "dispatch", from_state=before, data={"to": to.label}, now=now)
    notices.tell(case, "dispatched", notices.handlers(case), notices.headline(case, _("New work order")))


def _handle_myself(case: Case, actor: User, now: datetime) -> None:
    """A grid worker who found it on patrol takes it at once (小事不出网格)."""
    grid = routing.unit_of(case.place, PlaceKind.GRID) or case.owner_place
    if grid is None or not has_capability(actor, Capability.CASE_HANDLE, grid.path):
        raise PermissionDenied(_("You may handle only matters in your own grid"))
    case.handler_place = grid
    case.handler = actor
    case.state = State.DISPATCHED
    case.dispatched_at = now
    _event(
        case, actor, "dispatch", from_state=State.RECEIVED, data={"to": actor.label, "self": True}, now=now
    )
    case.state = State.ACCEPTED
    _mark_responded(case, now)
    _event(case, actor, "accept", from_state=State.DISPATCHED, now=now, public=True)


def _join(
    *,
    actor: User | None,
    case: Case,
    category: Category,
    channel: str,
    name: str,
    phone: str,
    phone_hash: str,
    note: str,
    photos: list[Photo],
) -> IntakeResult:
    """Add a reporter to an open case of the same matter (我也遇到): one case, every reporter told."""
    locked = Case.objects.select_for_update().select_related("place").filter(pk=case.pk).first()
    if locked is None or locked.state not in OPEN_STATES:
        raise Conflict(_("That request has been closed meanwhile; file a new one"), code="case_closed")
    if locked.category_id != category.pk:
        raise ValidationError(_("Only a request of the same category can be joined"), code="other_category")
    now = clock.now()
    if actor is not None and actor.pk and locked.reporters.filter(user=actor).exists():
        raise Conflict(_("You have already reported this matter"), code="already_reported")
    reporter = _new_reporter(
        case=locked, actor=actor, channel=channel, name=name, phone=phone, phone_hash=phone_hash, now=now
    )
    Case.objects.filter(pk=locked.pk).update(reporter_count=F("reporter_count") + 1)
    locked.refresh_from_db(fields=["reporter_count"])
    event = _event(locked, actor, "me_too", from_state=locked.state, note=note, now=now, public=True)
    _store_photos(locked, event, photos, actor, now)
    locked.version += 1
    locked.updated_at = now
    locked.save(update_fields=["version", "updated_at"])
    _push(locked, "me_too")
    notices.tell(
        locked,
        "me_too",
        [*notices.handlers(locked), *notices.desk(locked)],
        notices.headline(locked, _("Reported again (%(n)d reporters)") % {"n": locked.reporter_count}),
    )
    audit.record(actor=actor, action="case.me_too", obj=locked, changes={"reporters": locked.reporter_count})
    return IntakeResult(case=locked, reporter=reporter, created=False, joined=True)


# --- the transition machinery -----------------------------------------------------------------


def _event(
    case: Case,
    actor: User | None,
    action: str,
    *,
    from_state: str,
    note: str = "",
    data: dict[str, Any] | None = None,
    now: datetime | None = None,
    public: bool | None = None,
) -> CaseEvent:
    t = TRANSITIONS[action]
    return CaseEvent.objects.create(
        case=case,
        at=now or clock.now(),
        actor=actor if actor is not None and actor.pk else None,
        actor_label=_actor_label(actor)[:150],
        action=action,
        from_state=from_state,
        to_state=case.state,
        note=note,
        public=t.public if public is None else public,
        data=data or {},
    )


def _store_photos(
    case: Case, event: CaseEvent, photos: list[Photo], actor: User | None, now: datetime
) -> None:
    for photo in photos:
        Attachment.objects.create(
            case=case,
            event=event,
            file=photo.as_file(),
            content_type="image/jpeg",
            size=len(photo.content),
            sha256=photo.sha256,
            width=photo.width,
            height=photo.height,
            uploaded_by=actor if actor is not None and actor.pk else None,
            created_at=now,
        )


def _push(case: Case, action: str) -> None:
    departments = [
        d for d in (case.owner_department_id, case.handler_department_id, case.whistle_department_id) if d
    ]
    users = [u for u in (case.handler_id,) if u]
    outbox.enqueue(
        topic="live",
        payload={
            "type": "case",
            "action": action,
            "number": case.number,
            "state": case.state,
            "category": case.category.code if case.category_id else "",
            "priority": case.priority,
            "due_at": case.due_at.isoformat(),
            "_department_ids": departments,
            "_user_ids": users,
        },
        place_path=case.place_path,
    )


def _lock(actor: User | None, case: Case | int) -> Case:
    """The case, row-locked, if the actor may see it (a reporter by account counts)."""
    case_id = case if isinstance(case, int) else case.pk
    qs = Case.objects.select_for_update(of=("self",)).select_related(
        "place", "category", "sla_policy", "owner_place", "handler_place", "handler"
    )
    if actor is not None:
        qs = qs.visible_to(actor)
    found = qs.filter(pk=case_id).first()
    if found is None:
        raise NotFound(_("Not found"))
    return found


def _begin(
    actor: User | None, case: Case | int, action: str, version: int | None, note: str
) -> tuple[Case, str]:
    locked = _lock(actor, case)
    t = TRANSITIONS[action]
    if version is not None and locked.version != version:
        raise Conflict(
            _("Someone else changed this case meanwhile (now: %(state)s). Reload it and try again.")
            % {"state": State(locked.state).label},
            code="stale_version",
        )
    if locked.state not in t.sources:
        raise Conflict(
            _("The case is %(state)s now, so it cannot be given this action: %(action)s")
            % {"state": State(locked.state).label, "action": t.label},
            code="wrong_state",
        )
    if t.who != Who.SYSTEM and not CHECKS[t.who](actor, locked):
        raise PermissionDenied(_("You may not take this action on this case"))
    note = _text(note, label=_("Note"), max_length=2000, required=t.note_required)
    return locked, note


def _finish(
    case: Case,
    actor: User | None,
    action: str,
    *,
    from_state: str,
    note: str = "",
    data: dict[str, Any] | None = None,
    photos: Sequence[Photo] = (),
    now: datetime,
    public: bool | None = None,
    audit_changes: dict[str, Any] | None = None,
) -> CaseEvent:
    case.version += 1
    case.updated_at = now
    _schedule(case)
    case.save()
    event = _event(case, actor, action, from_state=from_state, note=note, data=data, now=now, public=public)
    _store_photos(case, event, list(photos), actor, now)
    _push(case, action)
    audit.record(
        actor=actor,
        action=f"case.{action}",
        obj=case,
        changes={"from": from_state, "to": case.state, **(audit_changes or {})},
    )
    return event


def _schedule(case: Case) -> None:
    """When the SLA sweep must next look at this case (None: never again)."""
    moments: list[datetime] = []
    if case.state in OPEN_STATES:
        if case.whistle_due_at and not case.whistle_reported_at and not case.whistle_missed:
            moments.append(case.whistle_due_at)
        if case.responded_at is None and case.responded_on_time is None:
            moments.append(case.respond_due_at)
        if not case.warned:
            moments.append(case.warn_at)
        if not case.overdue or _sweep_may_escalate(case):
            moments.append(case.due_at)
    elif case.state == State.RESOLVED and case.resolved_at:
        moments.append(case.resolved_at + timedelta(days=settings.CASES_RATING_DAYS))
    elif case.state == State.RATED and case.rated_at:
        moments.append(case.rated_at + timedelta(days=settings.CASES_ARCHIVE_DAYS))
    case.next_sweep_at = min(moments) if moments else None


def _sweep_may_escalate(case: Case) -> bool:
    if not case.sla_policy.escalate_when_overdue:
        return False
    if case.owner_department_id or case.owner_property_company_id:
        return True
    return case.owner_place is not None and routing.next_level(case.owner_place) is not None


def _mark_responded(case: Case, now: datetime) -> None:
    if case.responded_at is None:
        case.responded_at = now
        case.responded_on_time = now <= case.respond_due_at


def _clean_target(actor: User | None, case: Case, to: Target, *, for_owner: bool) -> Target:
    """Check where a case is sent: a unit the actor may send to, a person who may handle there."""
    units = [u for u in (to.place, to.department, to.property_company) if u is not None]
    if len(units) > 1:
        raise ValidationError(_("Send the case to one unit at a time"), code="bad_target")
    if not units and to.user is None:
        raise ValidationError(_("Choose where to send the case"), code="target_required")
    place = to.place
    if to.user is not None:
        if not to.user.is_active:
            raise ValidationError(_("This person's account is not active"), code="bad_target")
        handle_paths = [
            g.path
            for g in scope_for(to.user).grants
            if Capability.CASE_HANDLE in CAPABILITIES.get(g.role, frozenset())
        ]
        if place is None:
            # The person's own unit under the case's owner.
            candidates = [p for p in handle_paths if p.startswith(case.owner_place_path or case.place_path)]
            if not candidates:
                raise ValidationError(_("This person does not handle cases in this area"), code="bad_target")
            place = Place.objects.get(path=max(candidates, key=len))
        elif not any(place.path.startswith(p) for p in handle_paths):
            raise ValidationError(_("This person does not handle cases in that place"), code="bad_target")
    if place is not None:
        if place.kind not in ROUTABLE_KINDS:
            raise ValidationError(_("Send the case to a grid, community or street office"), code="bad_target")
        inside = place.path.startswith(case.owner_place_path or case.place_path)
        if not for_owner and not (inside or has_capability(actor, Capability.CASE_DISPATCH, place.path)):
            raise ValidationError(_("You may only send cases inside your own area"), code="bad_target")
    if to.department is not None and not to.department.is_active:
        raise ValidationError(_("This department is not active"), code="bad_target")
    return Target(place=place, department=to.department, property_company=to.property_company, user=to.user)


def _set_handler(case: Case, to: Target) -> None:
    case.handler_place = to.place
    case.handler_department = to.department
    case.handler_property_company = to.property_company
    case.handler = to.user


def _clear_handler(case: Case) -> None:
    _set_handler(case, Target())


def _set_owner(
    case: Case, place: Place | None, department: Department | None, company: PropertyCompany | None
) -> None:
    case.owner_place = place
    case.owner_place_path = place.path if place is not None else ""
    case.owner_department = department
    case.owner_property_company = company


# --- actions -------------------------------------------------------------------------------


@transaction.atomic
def case_dispatch(
    *, actor: User, case: Case | int, to: Target, note: str = "", version: int | None = None
) -> Case:
    """Send the case to a handling unit or person (派单)."""
    case, note = _begin(actor, case, "dispatch", version, note)
    target = _clean_target(actor, case, to, for_owner=False)
    now = clock.now()
    before = case.state
    _set_handler(case, target)
    case.state = State.DISPATCHED
    case.dispatched_at = case.dispatched_at or now
    _finish(case, actor, "dispatch", from_state=before, note=note, data={"to": target.label}, now=now)
    notices.tell(
        case, "dispatched", notices.handlers(case), notices.headline(case, _("New work order")), note
    )
    return case


@transaction.atomic
def case_recall(*, actor: User, case: Case | int, note: str = "", version: int | None = None) -> Case:
    case, note = _begin(actor, case, "recall", version, note)
    now = clock.now()
    previous = notices.handlers(case)
    label = case.handler_label
    _clear_handler(case)
    case.state = State.RECEIVED
    _finish(case, actor, "recall", from_state=State.DISPATCHED, note=note, data={"from": label}, now=now)
    notices.tell(case, "recalled", previous, notices.headline(case, _("Work order recalled")), note)
    return case


@transaction.atomic
def case_hand_on(*, actor: User, case: Case | int, to: Target, note: str, version: int | None = None) -> Case:
    """Hand the case to another owning unit (移交): the only way, besides escalation, that the
    first receiver stops owning it."""
    case, note = _begin(actor, case, "hand_on", version, note)
    target = _clean_target(
        actor,
        case,
        Target(place=to.place, department=to.department, property_company=to.property_company),
        for_owner=True,
    )
    if target.place is not None and not case.place_path.startswith(target.place.path):
        raise ValidationError(_("The new owner must be responsible for the case's place"), code="bad_target")
    now = clock.now()
    before_label = case.owner_label
    _set_owner(case, target.place, target.department, target.property_company)
    _clear_handler(case)
    case.state = State.RECEIVED
    if target.department is not None or target.property_company is not None:
        _auto_dispatch(case, target, now)
    _finish(
        case,
        actor,
        "hand_on",
        from_state=State.RECEIVED,
        note=note,
        data={"from": before_label, "to": target.label},
        now=now,
    )
    notices.tell(case, "handed_on", notices.desk(case), notices.headline(case, _("Case handed to you")), note)
    return case


@transaction.atomic
def case_accept(*, actor: User, case: Case | int, note: str = "", version: int | None = None) -> Case:
    """Take the work order (签收). For a whistle this is the department reporting in (报到)."""
    case, note = _begin(actor, case, "accept", version, note)
    now = clock.now()
    if case.handler_id is None and not scope_for(actor).is_admin and case.handler_place_id is not None:
        case.handler = actor
    _mark_responded(case, now)
    data: dict[str, Any] = {}
    if case.whistle_due_at and case.whistle_reported_at is None and case.handler_department_id:
        case.whistle_reported_at = now
        data["reported_in_minutes"] = round(
            (now - (case.whistle_due_at - timedelta(minutes=settings.CASES_WHISTLE_MINUTES))).total_seconds()
            / 60,
            1,
        )
    case.state = State.ACCEPTED
    _finish(case, actor, "accept", from_state=State.DISPATCHED, note=note, data=data, now=now)
    notices.tell_reporters(case, "accepted", notices.headline(case, _("Your request is being handled")))
    return case


@transaction.atomic
def case_start(*, actor: User, case: Case | int, note: str = "", version: int | None = None) -> Case:
    case, note = _begin(actor, case, "start", version, note)
    case.state = State.IN_PROGRESS
    _finish(case, actor, "start", from_state=State.ACCEPTED, note=note, now=clock.now())
    return case


@photos_read_first
def case_progress(
    *,
    actor: User,
    case: Case | int,
    note: str,
    photos: Sequence[bytes | Photo] = (),
    version: int | None = None,
) -> Case:
    checked = read_photos(photos)
    case, note = _begin(actor, case, "progress", version, note)
    _finish(case, actor, "progress", from_state=case.state, note=note, photos=checked, now=clock.now())
    return case


@photos_read_first
def case_resolve(
    *,
    actor: User,
    case: Case | int,
    reply: str,
    photos: Sequence[bytes | Photo] = (),
    version: int | None = None,
) -> Case:
    """Finish the work and reply to the reporter (办结并答复)."""
    checked = read_photos(photos)
    case, reply = _begin(actor, case, "resolve", version, reply)
    now = clock.now()
    before = case.state
    _mark_responded(case, now)
    case.state = State.RESOLVED
    case.reply = reply
    case.resolved_at = now
    case.first_resolved_at = case.first_resolved_at or now
    case.resolved_on_time = not case.overdue and now <= case.due_at
    case.rating = ""
    case.rating_comment = ""
    case.rated_at = None
    _finish(case, actor, "resolve", from_state=before, note=reply, photos=checked, now=now)
    notices.tell_reporters(
        case, "resolved", notices.headline(case, _("Your request has been answered")), reply
    )
    return case


@transaction.atomic
def case_return(*, actor: User, case: Case | int, reason: str, version: int | None = None) -> Case:
    """Send the case back to the dispatcher with a reason (退单)."""
    case, reason = _begin(actor, case, "return", version, reason)
    now = clock.now()
    before = case.state
    label = case.handler_label
    _clear_handler(case)
    case.state = State.RETURNED
    _finish(case, actor, "return", from_state=before, note=reason, data={"from": label}, now=now)
    notices.tell(
        case, "returned", notices.desk(case), notices.headline(case, _("Work order returned")), reason
    )
    return case


@transaction.atomic
def case_escalate(
    *,
    actor: User | None,
    case: Case | int,
    note: str,
    department: Department | None = None,
    version: int | None = None,
    system: bool = False,
) -> Case:
    """Send the case up one level (上报): grid → community → street; from the street to a
    named department. The new level owns it."""
    if system:
        case = _lock(None, case)
        note = note or _("Overdue: escalated by the deadline sweep")
    else:
        case, note = _begin(actor, case, "escalate", version, note)
    now = clock.now()
    before, before_label = case.state, case.owner_label
    if department is not None:
        if not department.is_active:
            raise ValidationError(_("This department is not active"), code="bad_target")
        _set_owner(case, None, department, None)
        _clear_handler(case)
        case.state = State.RECEIVED
        _auto_dispatch(case, Target(department=department), now)
    else:
        if case.owner_place is not None:
            upper = routing.next_level(case.owner_place)
        else:
            upper = routing.street_of(case.place)
        if upper is None:
            raise ValidationError(
                _("The street office is the top level here: name the department to escalate to"),
                code="department_required",
            )
        _set_owner(case, upper, None, None)
        _clear_handler(case)
        case.state = State.RECEIVED
    case.escalation_level += 1
    if case.overdue or case.due_at <= now:
        case.due_at = max(case.due_at, sla.grace(case.sla_policy, now))
    _finish(
        case,
        actor if not system else None,
        "escalate",
        from_state=before,
        note=note,
        data={"from": before_label, "to": case.owner_label, "level": case.escalation_level, "system": system},
        now=now,
    )
    notices.tell(
        case,
        "escalated",
        [*notices.desk(case), *notices.handlers(case)],
        notices.headline(case, _("Escalated to you")),
        note,
        urgent=case.priority == Priority.EMERGENCY,
    )
    return case


@transaction.atomic
def case_whistle(
    *,
    actor: User,
    case: Case | int,
    department: Department,
    note: str,
    kind: str = WhistleKind.DAILY,
    version: int | None = None,
) -> Case:
    """Blow the whistle (吹哨): call a department, which must report in within the set time."""
    case, note = _begin(actor, case, "whistle", version, note)
    kind = _choice(kind, WhistleKind.values, _("whistle kind"))
    if not department.is_active:
        raise ValidationError(_("This department is not active"), code="bad_target")
    now = clock.now()
    before = case.state
    _set_handler(case, Target(department=department))
    case.state = State.DISPATCHED
    case.dispatched_at = case.dispatched_at or now
    case.whistle_kind = kind
    case.whistle_department = department
    case.whistle_due_at = now + timedelta(minutes=settings.CASES_WHISTLE_MINUTES)
    case.whistle_reported_at = None
    case.whistle_missed = False
    _finish(
        case,
        actor,
        "whistle",
        from_state=before,
        note=note,
        data={"department": department.name, "kind": kind, "report_by": case.whistle_due_at.isoformat()},
        now=now,
    )
    notices.tell(
        case,
        "whistle",
        notices.handlers(case),
        notices.headline(
            case, _("Whistle: report in within %(n)d minutes") % {"n": settings.CASES_WHISTLE_MINUTES}
        ),
        note,
        urgent=True,
    )
    return case


@transaction.atomic
def case_assist(
    *, actor: User, case: Case | int, to: Target, note: str = "", version: int | None = None
) -> Case:
    """Add an assisting handler (协办)."""
    case, note = _begin(actor, case, "assist", version, note)
    target = _clean_target(actor, case, to, for_owner=True)
    now = clock.now()
    CaseAssist.objects.create(
        case=case,
        place=target.place if target.user is None else None,
        department=target.department,
        property_company=target.property_company,
        user=target.user,
        added_at=now,
    )
    _finish(case, actor, "assist", from_state=case.state, note=note, data={"to": target.label}, now=now)
    recipients: list[int] = [target.user.pk] if target.user is not None else []
    if target.department is not None:
        recipients += notices.unit_staff(department_id=target.department.pk)
    notices.tell(case, "assist", recipients, notices.headline(case, _("Please assist")), note)
    return case


@transaction.atomic
def case_supervise(*, actor: User, case: Case | int, note: str, version: int | None = None) -> Case:
    """Flag the case as supervised (督办) and tell the handler and their superior."""
    case, note = _begin(actor, case, "supervise", version, note)
    now = clock.now()
    case.supervised = True
    case.supervised_at = now
    _finish(case, actor, "supervise", from_state=case.state, note=note, now=now)
    notices.tell(
        case,
        "supervised",
        [*notices.handlers(case), *notices.desk(case)],
        notices.headline(case, _("Supervised")),
        note,
        urgent=True,
    )
    return case


@transaction.atomic
def case_request_extension(
    *, actor: User, case: Case | int, amount: int, reason: str, version: int | None = None
) -> Extension:
    """Ask for more time (延期申请), in the policy's resolution unit."""
    case, reason = _begin(actor, case, "request_extension", version, reason)
    limit = case.sla_policy.max_extension
    if not isinstance(amount, int) or amount < 1 or amount > limit:
        raise ValidationError(
            _("An extension is between 1 and %(n)d (%(unit)s)")
            % {"n": limit, "unit": SlaUnit(case.sla_policy.resolve_unit).label},
            code="bad_amount",
        )
    if case.extensions.filter(status=Extension.Status.PENDING).exists():
        raise Conflict(_("An extension request is already waiting for a decision"), code="extension_pending")
    now = clock.now()
    ext = Extension.objects.create(
        case=case,
        requested_by=actor,
        requested_at=now,
        amount=amount,
        unit=case.sla_policy.resolve_unit,
        reason=reason,
    )
    _finish(
        case,
        actor,
        "request_extension",
        from_state=case.state,
        note=reason,
        data={"extension": ext.pk, "amount": amount, "unit": ext.unit},
        now=now,
    )
    notices.tell(
        case,
        "extension_requested",
        [*notices.desk(case), *notices.supervisors(case)],
        notices.headline(case, _("Extension requested")),
        reason,
    )
    return ext


@transaction.atomic
def case_decide_extension(
    *, actor: User, extension: Extension | int, approve: bool, note: str = "", version: int | None = None
) -> Extension:
    ext_id = extension if isinstance(extension, int) else extension.pk
    ext = Extension.objects.select_for_update().filter(pk=ext_id).first()
    if ext is None:
        raise NotFound(_("Not found"))
    action = "approve_extension" if approve else "refuse_extension"
    case, note = _begin(actor, ext.case_id, action, version, note)
    if ext.status != Extension.Status.PENDING:
        raise Conflict(_("This extension request has already been decided"), code="extension_decided")
    now = clock.now()
    ext.status = Extension.Status.APPROVED if approve else Extension.Status.REFUSED
    ext.decided_by = actor
    ext.decided_at = now
    ext.decision_note = note
    ext.save()
    data: dict[str, Any] = {"extension": ext.pk}
    if approve:
        old_due = case.due_at
        case.due_at = sla.add(case.due_at, ext.amount, ext.unit)
        case.extension_count += 1
        case.warned = False
        case.warn_at = sla.share_point(clock.now(), case.due_at, ext.unit, case.sla_policy.warn_at_percent)
        data.update({"from": old_due.isoformat(), "to": case.due_at.isoformat()})
    _finish(case, actor, action, from_state=case.state, note=note, data=data, now=now)
    notices.tell(
        case,
        "extension_decided",
        [*notices.handlers(case), ext.requested_by_id],
        notices.headline(case, _("Extension approved") if approve else _("Extension refused")),
        note,
    )
    return ext


def _reporter_for(actor: User | None, case: Case, tracking_code: str) -> CaseReporter:
    code = normalise_tracking_code(tracking_code)
    if code:
        found = case.reporters.filter(tracking_code=code).first()
        if found is not None:
            return found
    elif actor is not None and actor.pk:
        found = case.reporters.filter(user=actor).first()
        if found is not None:
            return found
    raise PermissionDenied(_("Only the person who reported this matter may rate it"))


@transaction.atomic
def case_rate(
    *,
    actor: User | None,
    case: Case | int,
    rating: str,
    comment: str = "",
    tracking_code: str = "",
) -> Case:
    """The reporter rates the answer (评价). 不满意 reopens the case once; a second one goes
    to the supervisor."""
    rating = _choice(rating, Rating.values, _("rating"))
    comment = _text(comment, label=_("Comment"), max_length=500, required=rating == Rating.UNSATISFIED)
    case = _lock(None, case)
    reporter = _reporter_for(actor, case, tracking_code)
    if case.state != State.RESOLVED:
        raise Conflict(_("Only an answered request can be rated"), code="wrong_state")
    now = clock.now()
    by = actor if actor is not None and actor.pk else None
    case.rating = rating
    case.rating_comment = comment
    case.rated_at = now
    data = {"rating": rating, "reporter": reporter.pk, "round": case.reopen_count + 1}
    if rating == Rating.UNSATISFIED and case.reopen_count == 0:
        case.state = State.RATED
        _finish(case, by, "rate", from_state=State.RESOLVED, note=comment, data=data, now=now)
        _reopen(case, None, _("The reporter was not satisfied: reopened for rework"), now)
        return case
    case.state = State.RATED
    _finish(case, by, "rate", from_state=State.RESOLVED, note=comment, data=data, now=now)
    if rating == Rating.UNSATISFIED:
        case.supervised = True
        case.supervised_at = now
        case.save(update_fields=["supervised", "supervised_at"])
        notices.tell(
            case,
            "unsatisfied_again",
            [*notices.supervisors(case), *notices.desk(case)],
            notices.headline(case, _("Unsatisfied after rework: for the supervisor")),
            comment,
            urgent=True,
        )
    return case


def _reopen(case: Case, actor: User | None, note: str, now: datetime) -> None:
    before = case.state
    case.state = (
        State.DISPATCHED
        if (
            case.handler_place_id
            or case.handler_department_id
            or case.handler_property_company_id
            or case.handler_id
        )
        else State.RECEIVED
    )
    case.reopen_count += 1
    case.resolved_at = None
    case.resolved_on_time = None
    limits = sla.deadlines(case.sla_policy, now)
    case.due_at = limits.due_at
    case.warn_at = limits.warn_at
    case.warned = False
    case.overdue = False
    case.overdue_at = None
    _finish(
        case, actor, "reopen", from_state=before, note=note, data={"round": case.reopen_count + 1}, now=now
    )
    notices.tell(
        case,
        "reopened",
        [*notices.handlers(case), *notices.desk(case)],
        notices.headline(case, _("Reopened for rework")),
        note,
        urgent=True,
    )


@transaction.atomic
def case_reopen(*, actor: User, case: Case | int, note: str, version: int | None = None) -> Case:
    case, note = _begin(actor, case, "reopen", version, note)
    _reopen(case, actor, note, clock.now())
    return case


@transaction.atomic
def case_close(
    *, actor: User | None, case: Case | int, note: str = "", version: int | None = None, system: bool = False
) -> Case:
    """Archive the case (归档)."""
    if system:
        case = _lock(None, case)
        if case.state not in TRANSITIONS["close"].sources:
            raise Conflict(_("Only a resolved or rated case can be archived"), code="wrong_state")
    else:
        case, note = _begin(actor, case, "close", version, note)
    now = clock.now()
    before = case.state
    case.state = State.CLOSED
    case.closed_at = now
    _finish(case, None if system else actor, "close", from_state=before, note=note, now=now)
    return case


@transaction.atomic
def case_cancel(*, actor: User, case: Case | int, reason: str, version: int | None = None) -> Case:
    """Decline the request (不予受理) with a reason the reporter sees."""
    case, reason = _begin(actor, case, "cancel", version, reason)
    now = clock.now()
    before = case.state
    case.state = State.CANCELLED
    case.closed_at = now
    _finish(case, actor, "cancel", from_state=before, note=reason, now=now)
    notices.tell_reporters(
        case, "cancelled", notices.headline(case, _("Your request was not accepted")), reason
    )
    return case


@transaction.atomic
def case_merge(
    *, actor: User, case: Case | int, into: Case | int, note: str = "", version: int | None = None
) -> Case:
    """Merge a duplicate into the case that stays open: its reporters follow that case."""
    case, note = _begin(actor, case, "merge", version, note)
    target = _lock(actor, into)
    if target.pk == case.pk:
        raise ValidationError(_("A case cannot be merged into itself"), code="bad_target")
    if target.state not in OPEN_STATES:
        raise Conflict(_("The case to merge into is no longer open"), code="wrong_state")
    if target.category_id != case.category_id:
        raise ValidationError(_("Only cases of the same category can be merged"), code="other_category")
    now = clock.now()
    moved = CaseReporter.objects.filter(case=case).update(case=target)
    Case.objects.filter(pk=target.pk).update(
        reporter_count=F("reporter_count") + moved, version=F("version") + 1, updated_at=now
    )
    before = case.state
    case.state = State.MERGED
    case.duplicate_of = target
    case.closed_at = now
    case.reporter_count = 0
    _finish(case, actor, "merge", from_state=before, note=note, data={"into": target.number}, now=now)
    target.refresh_from_db()
    _event(
        target,
        actor,
        "me_too",
        from_state=target.state,
        note=_("Merged from %(n)s") % {"n": case.number},
        data={"merged": case.number, "reporters": moved},
        now=now,
    )
    return case


# --- the SLA sweep ----------------------------------------------------------------------------


@dataclass
class SweepResult:
    looked_at: int = 0
    warned: int = 0
    overdue: int = 0
    escalated: int = 0
    late_responses: int = 0
    whistles_missed: int = 0
    archived: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def sla_sweep(*, now: datetime | None = None, limit: int = 5000) -> SweepResult:
    """Warn, mark overdue and escalate, flag whistles nobody answered, archive rated cases.

    Idempotent: each case is looked at in its own transaction, under its row lock, and only
    for what ``next_sweep_at`` says is due; running it twice does nothing the second time.
    """
    now = now or clock.now()
    result = SweepResult()
    ids = list(
        Case.objects.filter(next_sweep_at__lte=now)
        .order_by("next_sweep_at")
        .values_list("pk", flat=True)[:limit]
    )
    for case_id in ids:
        with transaction.atomic():
            case = (
                Case.objects.select_for_update(of=("self",))
                .select_related("place", "category", "sla_policy", "owner_place", "handler_place")
                .filter(pk=case_id, next_sweep_at__lte=now)
                .first()
            )
            if case is None:
                continue
            result.looked_at += 1
            _sweep_one(case, now, result)
    return result


def _sweep_one(case: Case, now: datetime, result: SweepResult) -> None:
    if case.state == State.RESOLVED:
        if case.resolved_at and case.resolved_at + timedelta(days=settings.CASES_RATING_DAYS) <= now:
            case_close(actor=None, case=case.pk, note=_("Not rated in time: archived"), system=True)
            result.archived += 1
        return
    if case.state == State.RATED:
        if case.rated_at and case.rated_at + timedelta(days=settings.CASES_ARCHIVE_DAYS) <= now:
            case_close(actor=None, case=case.pk, system=True)
            result.archived += 1
        return
    if case.state not in OPEN_STATES:
        case.next_sweep_at = None
        case.save(update_fields=["next_sweep_at"])
        return
    changed: list[tuple[str, dict[str, Any]]] = []
    if (
        case.whistle_due_at
        and not case.whistle_reported_at
        and not case.whistle_missed
        and case.whistle_due_at <= now
    ):
        case.whistle_missed = True
        changed.append(("whistle_missed", {"department": str(case.whistle_department or "")}))
        result.whistles_missed += 1
    if case.responded_at is None and case.responded_on_time is None and case.respond_due_at <= now:
        case.responded_on_time = False
        changed.append(("response_late", {}))
        result.late_responses += 1
    if not case.warned and case.warn_at <= now and case.due_at > now:
        case.warned = True
        changed.append(("sla_warning", {"due_at": case.due_at.isoformat()}))
        result.warned += 1
    escalate = False
    if case.due_at <= now:
        case.warned = True
        if not case.overdue:
            case.overdue = True
            case.overdue_at = now
            changed.append(("overdue", {"due_at": case.due_at.isoformat()}))
            result.overdue += 1
        escalate = _sweep_may_escalate(case)
    for action, data in changed:
        _event(case, None, action, from_state=case.state, data=data, now=now)
    if changed:
        case.version += 1
        case.updated_at = now
    _schedule(case)
    case.save()
    for action, _data in changed:
        _sweep_notice(case, action)
    if escalate:
        case_escalate(actor=None, case=case.pk, note="", system=True)
        result.escalated += 1


def _sweep_notice(case: Case, action: str) -> None:
    if action == "whistle_missed":
        notices.tell(
            case,
            action,
            [*notices.desk(case), *notices.supervisors(case), *notices.handlers(case)],
            notices.headline(case, _("The department did not report in on time")),
            urgent=True,
            dedupe=action,
        )
    elif action == "sla_warning":
        notices.tell(
            case,
            action,
            notices.handlers(case) or notices.desk(case),
            notices.headline(case, _("Deadline approaching")),
            dedupe=f"{action}:{case.due_at:%s}",
        )
    elif action == "overdue":
        notices.tell(
            case,
            action,
            [*notices.handlers(case), *notices.desk(case), *notices.supervisors(case)],
            notices.headline(case, _("Overdue")),
            urgent=True,
            dedupe=action,
        )
    elif action == "response_late":
        notices.tell(
            case, action, notices.desk(case), notices.headline(case, _("Not accepted in time")), dedupe=action
        )
