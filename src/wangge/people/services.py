"""Every write to the people and houses registry (人口房屋登记).

Each service takes the acting user (``None`` for the system: the demo loader, an import run
by an operator), checks scope and capability, runs in one transaction and writes one audit
row. Audit rows never hold an ID number, a phone number or a health note: they say which
field changed, not what it holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Final

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from wangge.core import audit, clock
from wangge.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from wangge.core.models import AuditEvent, IdempotencyRecord, User
from wangge.core.pii import blind_index
from wangge.core.roles import Capability
from wangge.core.scope import can_see_path, has_capability, scope_for
from wangge.people import identity
from wangge.people.models import (
    CareGroup,
    CareGroupMembership,
    Consent,
    EmergencyContact,
    Gender,
    House,
    Household,
    HouseUse,
    Registration,
    Relation,
    Resident,
    ResidentMove,
    ResidentPhone,
    ResidentStatus,
)
from wangge.places.models import Place, PlaceKind


class _Unset:
    """Marks an argument that was not given, where ``None`` means "clear it"."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset()

# Fields a reveal may unmask; each reveal is one audit row.
REVEAL_FIELDS = ("id_number", "phone", "emergency_phone")
# Places a resident, a household or a house may be registered at: a house, or (for people
# whose room is not in the tree yet) the unit, building or grid above it.
HOME_KINDS = (PlaceKind.HOUSE, PlaceKind.UNIT, PlaceKind.BUILDING, PlaceKind.MICRO_GRID, PlaceKind.GRID)
MAX_PHONES = 5
MAX_EMERGENCY_CONTACTS = 5
IDEMPOTENCY_SCOPE = "people.resident_create"


@dataclass(frozen=True)
class PhoneInput:
    phone: str
    label: str = ""


# --- checks -------------------------------------------------------------------------------


def check_can_edit_people(actor: User | None, path: str) -> None:
    """Territorial staff edit the people of their territory; others are refused.

    Someone who sees the place but not the people in it (a department, a resident at their
    own home) gets 403; someone who does not see the place gets 404, as for a missing one.
    """
    if actor is None:
        return
    if can_see_path(actor, path, personal=True):
        return
    if can_see_path(actor, path):
        raise PermissionDenied(_("You may not edit residents' records here"))
    raise NotFound(_("Not found"))


def check_sensitive(actor: User | None, path: str) -> None:
    if actor is not None and not has_capability(actor, Capability.VIEW_SENSITIVE, path):
        raise PermissionDenied(_("Health, disability and care-group details need a permission you lack"))


def _check_admin(actor: User | None) -> None:
    if actor is not None and not scope_for(actor).is_admin:
        raise PermissionDenied(_("Only platform administrators configure care groups"))


def _home_place(place: Place) -> None:
    if place.kind not in HOME_KINDS:
        raise ValidationError(
            _("People are registered at a house, unit, building or grid"), code="place_kind"
        )


def _text(value: str, *, max_length: int, required: bool = False, label: str = "") -> str:
    cleaned = value.replace("\x00", "").strip()
    if required and not cleaned:
        raise ValidationError(_("%(field)s is required") % {"field": label or _("A value")}, code="required")
    if len(cleaned) > max_length:
        raise ValidationError(
            _("%(field)s is longer than %(n)d characters")
            % {"field": label or _("A value"), "n": max_length},
            code="too_long",
        )
    return cleaned


def _choice(value: str, choices: Sequence[str], label: str) -> str:
    if value not in choices:
        raise ValidationError(_("Unknown %(field)s: %(value)s") % {"field": label, "value": value[:40]})
    return value


def _today() -> date:
    return clock.local_now().date()


def _check_date(value: date | None, label: str, *, future_ok: bool = False) -> None:
    if value is None:
        return
    if value.year < 1880 or (not future_ok and value > _today()):
        raise ValidationError(_("%(field)s is not a plausible date") % {"field": label}, code="bad_date")


def _id_fields(id_number: str) -> tuple[str, str]:
    """(normalised ID, its blind index), or ("", "") for none."""
    if not id_number.strip():
        return "", ""
    value = identity.validate_id_number(id_number)
    return value, blind_index("id_number", value)


def _check_id_free(id_hash: str, *, exclude_pk: int | None = None) -> None:
    if not id_hash:
        return
    others = Resident.objects.filter(id_hash=id_hash)
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    if others.exists():
        # Say no more than that: where the other record lives may be outside the actor's scope.
        raise Conflict(_("A resident with this ID number is already registered"), code="duplicate_id_number")


def _clean_phones(phones: Sequence[PhoneInput | str]) -> list[PhoneInput]:
    if len(phones) > MAX_PHONES:
        raise ValidationError(_("At most %(n)d phone numbers") % {"n": MAX_PHONES}, code="too_many_phones")
    cleaned: list[PhoneInput] = []
    seen: set[str] = set()
    for item in phones:
        entry = item if isinstance(item, PhoneInput) else PhoneInput(item)
        number = identity.validate_phone(entry.phone)
        if number in seen:
            continue
        seen.add(number)
        cleaned.append(PhoneInput(number, _text(entry.label, max_length=16, label=_("Label"))))
    return cleaned


def _write_phones(resident: Resident, phones: list[PhoneInput]) -> None:
    ResidentPhone.objects.filter(resident=resident).delete()
    ResidentPhone.objects.bulk_create(
        [
            ResidentPhone(
                resident=resident,
                phone=p.phone,
                phone_hash=blind_index("phone", p.phone),
                label=p.label,
                is_primary=index == 0,
            )
            for index, p in enumerate(phones)
        ]
    )


def _lock(resident: Resident) -> Resident:
    return Resident.objects.select_related("place").select_for_update(of=("self",)).get(pk=resident.pk)


# --- residents ----------------------------------------------------------------------------


def _claim_key(actor: User | None, key: str) -> tuple[IdempotencyRecord | None, Resident | None]:
    """Claim an idempotency key; when an earlier create holds it, return that create's resident."""
    if not key:
        return None, None
    if len(key) > 128:
        raise ValidationError(_("The idempotency key is longer than 128 characters"), code="bad_key")
    scope_name = f"{IDEMPOTENCY_SCOPE}:{actor.pk if actor is not None else 0}"
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                scope=scope_name, key=key, created_at=clock.now(), object_type="people.resident", object_id=""
            )
        return record, None
    except IntegrityError:
        earlier = IdempotencyRecord.objects.get(scope=scope_name, key=key)
    found = Resident.objects.select_related("place").filter(pk=int(earlier.object_id or 0)).first()
    if found is None:
        raise Conflict(_("A create with this idempotency key is still in progress"), code="idempotency_busy")
    return None, found


@transaction.atomic
def resident_create(
    *,
    actor: User | None,
    place: Place,
    name: str,
    id_number: str = "",
    gender: str | None = None,
    birth_date: date | None = None,
    ethnicity: str = "",
    registration: str = Registration.REGISTERED,
    household: Household | None = None,
    relation_to_head: str = Relation.OTHER,
    phones: Sequence[PhoneInput | str] = (),
    moved_in_on: date | None = None,
    moved_in_reason: str = "",
    health_notes: str = "",
    user: User | None = None,
    idempotency_key: str = "",
) -> Resident:
    """Register a resident (登记居民). Birth date and gender come from the ID number when not given.

    With ``idempotency_key``, a retry of the same create returns the first resident.
    """
    check_can_edit_people(actor, place.path)
    record, earlier = _claim_key(actor, idempotency_key.strip())
    if earlier is not None:
        return earlier
    _home_place(place)
    if household is not None and household.place_id != place.pk:
        raise ValidationError(
            _("A member of a household lives in the household's house"), code="household_place"
        )
    name = _text(name, max_length=64, required=True, label=_("Name"))
    number, id_hash = _id_fields(id_number)
    if number:
        born = identity.id_birth_date(number)
        if birth_date is not None and birth_date != born:
            raise ValidationError(
                _("The date of birth differs from the ID number's"), code="birth_date_mismatch"
            )
        birth_date = born
        sex = identity.id_gender(number)
        if gender not in (None, Gender.UNKNOWN, sex):
            raise ValidationError(_("The gender differs from the ID number's"), code="gender_mismatch")
        gender = sex
    _check_date(birth_date, _("Date of birth"))
    _check_date(moved_in_on, _("Moved in on"))
    gender = _choice(gender or Gender.UNKNOWN, Gender.values, _("gender"))
    registration = _choice(registration, Registration.values, _("registration"))
    relation_to_head = _choice(relation_to_head, Relation.values, _("relation"))
    ethnicity = _text(ethnicity, max_length=2, label=_("Ethnicity"))
    health_notes = _text(health_notes, max_length=2000, label=_("Health notes"))
    if health_notes:
        check_sensitive(actor, place.path)
    cleaned_phones = _clean_phones(phones)
    _check_id_free(id_hash)
    pinyin, initials = identity.name_keys(name)
    now = clock.now()
    try:
        with transaction.atomic():
            resident = Resident.objects.create(
                place=place,
                household=household,
                relation_to_head=relation_to_head,
                name=name,
                name_pinyin=pinyin[:255],
                name_initials=initials[:64],
                gender=gender,
                birth_date=birth_date,
                ethnicity=ethnicity,
                id_number=number,
                id_hash=id_hash,
                registration=registration,
                moved_in_on=moved_in_on,
                moved_in_reason=_text(moved_in_reason, max_length=200, label=_("Reason")),
                health_notes=health_notes,
                user=user,
                created_at=now,
                updated_at=now,
            )
    except IntegrityError as exc:  # a concurrent create registered the same ID, or the account is taken
        if id_hash and Resident.objects.filter(id_hash=id_hash).exists():
            raise Conflict(
                _("A resident with this ID number is already registered"), code="duplicate_id_number"
            ) from exc
        raise Conflict(_("This account already belongs to another resident"), code="user_taken") from exc
    _write_phones(resident, cleaned_phones)
    if moved_in_on is not None:
        ResidentMove.objects.create(
            resident=resident,
            place=place,
            kind=ResidentMove.Kind.IN,
            on=moved_in_on,
            reason=resident.moved_in_reason,
        )
    if household is not None and household.head_id is None and relation_to_head == Relation.HEAD:
        Household.objects.filter(pk=household.pk).update(head=resident, updated_at=now)
    if record is not None:
        record.object_id = str(resident.pk)
        record.save(update_fields=["object_id"])
    audit.record(
        actor=actor,
        action="resident.created",
        obj=resident,
        changes={
            "id_number": bool(number),
            "phones": len(cleaned_phones),
            "registration": registration,
            "household": household.pk if household else None,
        },
    )
    return resident


@transaction.atomic
def resident_update(
    *,
    actor: User | None,
    resident: Resident,
    name: str | None = None,
    id_number: str | None = None,
    gender: str | None = None,
    birth_date: date | _Unset | None = UNSET,
    ethnicity: str | None = None,
    registration: str | None = None,
    moved_in_on: date | _Unset | None = UNSET,
    moved_in_reason: str | None = None,
    health_notes: str | None = None,
    place: Place | None = None,
) -> Resident:
    """Correct a resident's details. Only the fields given change; ``""`` clears the ID number."""
    check_can_edit_people(actor, resident.place.path)
    resident = _lock(resident)
    before = {
        "name": resident.name,
        "gender": resident.gender,
        "birth_date": str(resident.birth_date) if resident.birth_date else None,
        "ethnicity": resident.ethnicity,
        "registration": resident.registration,
        "moved_in_on": str(resident.moved_in_on) if resident.moved_in_on else None,
        "moved_in_reason": resident.moved_in_reason,
        "place": resident.place_id,
    }
    changes: dict[str, Any] = {}
    if place is not None and place.pk != resident.place_id:
        check_can_edit_people(actor, place.path)
        _home_place(place)
        if resident.household_id is not None:
            raise ValidationError(
                _("Move the household, or take the resident out of it, to change where they live"),
                code="in_household",
            )
        resident.place = place
    if name is not None:
        resident.name = _text(name, max_length=64, required=True, label=_("Name"))
        resident.name_pinyin, resident.name_initials = identity.name_keys(resident.name)
    if id_number is not None:
        number, id_hash = _id_fields(id_number)
        if id_hash != resident.id_hash:
            _check_id_free(id_hash, exclude_pk=resident.pk)
            resident.id_number, resident.id_hash = number, id_hash
            changes["id_number"] = "changed" if number else "cleared"
    if resident.id_number:
        # The ID number decides birth date and gender; a correction of either must agree with it.
        born, sex = identity.id_birth_date(resident.id_number), identity.id_gender(resident.id_number)
        if not isinstance(birth_date, _Unset) and birth_date != born:
            raise ValidationError(
                _("The date of birth differs from the ID number's"), code="birth_date_mismatch"
            )
        if gender not in (None, Gender.UNKNOWN, sex):
            raise ValidationError(_("The gender differs from the ID number's"), code="gender_mismatch")
        resident.birth_date, resident.gender = born, sex
    else:
        if not isinstance(birth_date, _Unset):
            _check_date(birth_date, _("Date of birth"))
            resident.birth_date = birth_date
        if gender is not None:
            resident.gender = _choice(gender, Gender.values, _("gender"))
    if ethnicity is not None:
        resident.ethnicity = _text(ethnicity, max_length=2, label=_("Ethnicity"))
    if registration is not None:
        resident.registration = _choice(registration, Registration.values, _("registration"))
    if not isinstance(moved_in_on, _Unset):
        _check_date(moved_in_on, _("Moved in on"))
        resident.moved_in_on = moved_in_on
    if moved_in_reason is not None:
        resident.moved_in_reason = _text(moved_in_reason, max_length=200, label=_("Reason"))
    if health_notes is not None:
        check_sensitive(actor, resident.place.path)
        notes = _text(health_notes, max_length=2000, label=_("Health notes"))
        if notes != resident.health_notes:
            resident.health_notes = notes
            changes["health_notes"] = "changed" if notes else "cleared"
    resident.updated_at = clock.now()
    try:
        with transaction.atomic():
            resident.save()
    except IntegrityError as exc:
        raise Conflict(
            _("A resident with this ID number is already registered"), code="duplicate_id_number"
        ) from exc
    after = {
        "name": resident.name,
        "gender": resident.gender,
        "birth_date": str(resident.birth_date) if resident.birth_date else None,
        "ethnicity": resident.ethnicity,
        "registration": resident.registration,
        "moved_in_on": str(resident.moved_in_on) if resident.moved_in_on else None,
        "moved_in_reason": resident.moved_in_reason,
        "place": resident.place_id,
    }
    changes.update(audit.diff(before, after))
    audit.record(actor=actor, action="resident.updated", obj=resident, changes=changes)
    return resident


@transaction.atomic
def resident_move_out(
    *,
    actor: User | None,
    resident: Resident,
    on: date | None = None,
    reason: str = "",
    status: str = ResidentStatus.MOVED_OUT,
) -> Resident:
    """Record that a resident moved out (迁出) or died; they leave the lists of the living here."""
    check_can_edit_people(actor, resident.place.path)
    if status not in (ResidentStatus.MOVED_OUT, ResidentStatus.DECEASED):
        raise ValidationError(_("A resident moves out or is recorded as deceased"), code="bad_status")
    resident = _lock(resident)
    if resident.status != ResidentStatus.ACTIVE:
        raise Conflict(_("This resident no longer lives here"), code="not_active")
    on = on or _today()
    _check_date(on, _("Moved out on"))
    if resident.moved_in_on and on < resident.moved_in_on:
        raise ValidationError(_("A resident cannot move out before moving in"), code="bad_date")
    reason = _text(reason, max_length=200, label=_("Reason"))
    resident.status, resident.moved_out_on, resident.moved_out_reason = status, on, reason
    resident.updated_at = clock.now()
    resident.save(update_fields=["status", "moved_out_on", "moved_out_reason", "updated_at"])
    ResidentMove.objects.create(
        resident=resident, place=resident.place, kind=ResidentMove.Kind.OUT, on=on, reason=reason
    )
    if resident.household_id is not None:
        Household.objects.filter(pk=resident.household_id, head=resident).update(
            head=None, updated_at=clock.now()
        )
    CareGroupMembership.objects.filter(resident=resident, end_on__isnull=True).update(end_on=on)
    audit.record(
        actor=actor, action="resident.moved_out", obj=resident, changes={"status": status, "on": str(on)}
    )
    return resident


@transaction.atomic
def resident_set_phones(
    *, actor: User | None, resident: Resident, phones: Sequence[PhoneInput | str]
) -> list[ResidentPhone]:
    """Replace a resident's phone numbers; the first is the primary one."""
    check_can_edit_people(actor, resident.place.path)
    cleaned = _clean_phones(phones)
    resident = _lock(resident)
    _write_phones(resident, cleaned)
    Resident.objects.filter(pk=resident.pk).update(updated_at=clock.now())
    audit.record(actor=actor, action="resident.phones_set", obj=resident, changes={"phones": len(cleaned)})
    return list(ResidentPhone.objects.filter(resident=resident).order_by("-is_primary", "pk"))


@transaction.atomic
def emergency_contact_add(
    *, actor: User | None, resident: Resident, name: str, relation: str, phone: str
) -> EmergencyContact:
    check_can_edit_people(actor, resident.place.path)
    name = _text(name, max_length=64, required=True, label=_("Name"))
    relation = _text(relation, max_length=32, required=True, label=_("Relation"))
    number = identity.validate_phone(phone)
    resident = _lock(resident)
    existing = list(resident.emergency_contacts.all())
    if len(existing) >= MAX_EMERGENCY_CONTACTS:
        raise ValidationError(
            _("At most %(n)d emergency contacts") % {"n": MAX_EMERGENCY_CONTACTS}, code="too_many_contacts"
        )
    contact = EmergencyContact.objects.create(
        resident=resident,
        name=name,
        relation=relation,
        phone=number,
        phone_hash=blind_index("phone", number),
        sort_order=max((c.sort_order for c in existing), default=-1) + 1,
    )
    audit.record(
        actor=actor,
        action="resident.emergency_contact_added",
        obj=resident,
        changes={"contact": contact.pk, "relation": relation},
    )
    return contact


@transaction.atomic
def emergency_contact_remove(*, actor: User | None, resident: Resident, contact_id: int) -> None:
    check_can_edit_people(actor, resident.place.path)
    deleted, _rows = EmergencyContact.objects.filter(resident=resident, pk=contact_id).delete()
    if not deleted:
        raise NotFound(_("No such emergency contact"))
    audit.record(
        actor=actor,
        action="resident.emergency_contact_removed",
        obj=resident,
        changes={"contact": contact_id},
    )


@transaction.atomic
def consent_record(
    *, actor: User | None, resident: Resident, purpose: str, channel: str, given_on: date | None = None
) -> Consent:
    """Record a resident's consent to a purpose (知情同意)."""
    check_can_edit_people(actor, resident.place.path)
    purpose = _text(purpose, max_length=200, required=True, label=_("Purpose"))
    channel = _choice(channel, Consent.Channel.values, _("channel"))
    given_on = given_on or _today()
    _check_date(given_on, _("Given on"))
    consent = Consent.objects.create(
        resident=resident, purpose=purpose, given_on=given_on, channel=channel, recorded_by=actor
    )
    audit.record(
        actor=actor,
        action="resident.consent_recorded",
        obj=resident,
        changes={"consent": consent.pk, "purpose": purpose, "channel": channel},
    )
    return consent


@transaction.atomic
def consent_withdraw(
    *, actor: User | None, resident: Resident, consent_id: int, on: date | None = None
) -> Consent:
    check_can_edit_people(actor, resident.place.path)
    consent = Consent.objects.select_for_update().filter(resident=resident, pk=consent_id).first()
    if consent is None:
        raise NotFound(_("No such consent"))
    if consent.withdrawn_on is not None:
        raise Conflict(_("This consent was already withdrawn"), code="already_withdrawn")
    on = on or _today()
    _check_date(on, _("Withdrawn on"))
    if on < consent.given_on:
        raise ValidationError(_("A consent cannot be withdrawn before it was given"), code="bad_date")
    consent.withdrawn_on = on
    consent.save(update_fields=["withdrawn_on"])
    audit.record(
        actor=actor,
        action="resident.consent_withdrawn",
        obj=resident,
        changes={"consent": consent.pk, "on": str(on)},
    )
    return consent


# --- care groups --------------------------------------------------------------------------


@transaction.atomic
def care_group_join(
    *,
    actor: User | None,
    resident: Resident,
    group: CareGroup,
    start_on: date | None = None,
    end_on: date | None = None,
    grade: str = "",
    notes: str = "",
) -> CareGroupMembership:
    """Tag a resident with a care group (重点人群). Sensitive groups need VIEW_SENSITIVE."""
    check_can_edit_people(actor, resident.place.path)
    if group.is_sensitive or notes.strip():
        check_sensitive(actor, resident.place.path)
    if not group.is_active:
        raise ValidationError(_("This care group is no longer in use"), code="group_inactive")
    grade = _text(grade, max_length=16, label=_("Grade"))
    if grade and not group.has_grade:
        raise ValidationError(_("This care group has no grades"), code="no_grade")
    start_on = start_on or _today()
    _check_date(start_on, _("From"))
    _check_date(end_on, _("Until"), future_ok=True)
    if end_on is not None and end_on < start_on:
        raise ValidationError(_("A membership cannot end before it starts"), code="bad_date")
    resident = _lock(resident)
    if resident.status != ResidentStatus.ACTIVE:
        raise Conflict(_("This resident no longer lives here"), code="not_active")
    today = _today()
    current = CareGroupMembership.objects.filter(resident=resident, group=group).exclude(end_on__lt=today)
    if current.exists():
        raise Conflict(_("The resident is already in this care group"), code="already_member")
    membership = CareGroupMembership.objects.create(
        resident=resident,
        group=group,
        grade=grade,
        start_on=start_on,
        end_on=end_on,
        notes=_text(notes, max_length=2000, label=_("Notes")),
    )
    audit.record(
        actor=actor,
        action="resident.care_group_joined",
        obj=resident,
        changes={"group": group.code, "membership": membership.pk, "start_on": str(start_on)},
    )
    return membership


@transaction.atomic
def care_group_leave(
    *, actor: User | None, resident: Resident, membership_id: int, on: date | None = None
) -> CareGroupMembership:
    check_can_edit_people(actor, resident.place.path)
    membership = (
        CareGroupMembership.objects.select_for_update(of=("self",))
        .select_related("group")
        .filter(resident=resident, pk=membership_id)
        .first()
    )
    # A sensitive membership is invisible to those who may not see it: answer as if missing.
    if membership is None or (
        membership.group.is_sensitive
        and actor is not None
        and not has_capability(actor, Capability.VIEW_SENSITIVE, resident.place.path)
    ):
        raise NotFound(_("No such care-group membership"))
    on = on or _today()
    _check_date(on, _("Until"), future_ok=True)
    if membership.end_on is not None and membership.end_on <= on:
        raise Conflict(_("This membership has already ended"), code="already_ended")
    if on < membership.start_on:
        raise ValidationError(_("A membership cannot end before it starts"), code="bad_date")
    membership.end_on = on
    membership.save(update_fields=["end_on"])
    audit.record(
        actor=actor,
        action="resident.care_group_left",
        obj=resident,
        changes={"group": membership.group.code, "membership": membership.pk, "end_on": str(on)},
    )
    return membership


@transaction.atomic
def care_group_create(
    *,
    actor: User | None,
    code: str,
    name: str,
    name_en: str = "",
    is_sensitive: bool = False,
    has_grade: bool = False,
    visit_every_days: int | None = None,
    sort_order: int = 0,
) -> CareGroup:
    """Add a care group to the configurable list (administrators only)."""
    _check_admin(actor)
    code = _text(code, max_length=32, required=True, label=_("Code")).lower()
    if not code.replace("_", "").replace("-", "").isalnum() or not code.isascii():
        raise ValidationError(_("A code is letters, digits, - and _"), code="bad_code")
    if visit_every_days is not None and not 1 <= visit_every_days <= 366:
        raise ValidationError(_("Visits are due every 1 to 366 days"), code="bad_interval")
    if CareGroup.objects.filter(code=code).exists():
        raise Conflict(_("A care group with this code exists"), code="duplicate_code")
    try:
        with transaction.atomic():
            group = CareGroup.objects.create(
                code=code,
                name=_text(name, max_length=64, required=True, label=_("Name")),
                name_en=_text(name_en, max_length=64, label=_("English name")),
                is_sensitive=is_sensitive,
                has_grade=has_grade,
                visit_every_days=visit_every_days,
                sort_order=max(0, min(sort_order, 32767)),
            )
    except IntegrityError as exc:
        raise Conflict(_("A care group with this code exists"), code="duplicate_code") from exc
    audit.record(
        actor=actor,
        action="care_group.created",
        obj=group,
        changes={"code": code, "is_sensitive": is_sensitive, "has_grade": has_grade},
    )
    return group


@transaction.atomic
def care_group_update(
    *,
    actor: User | None,
    group: CareGroup,
    name: str | None = None,
    name_en: str | None = None,
    is_sensitive: bool | None = None,
    has_grade: bool | None = None,
    visit_every_days: int | _Unset | None = UNSET,
    is_active: bool | None = None,
    sort_order: int | None = None,
) -> CareGroup:
    _check_admin(actor)
    group = CareGroup.objects.select_for_update().get(pk=group.pk)
    before = {
        "name": group.name,
        "name_en": group.name_en,
        "is_sensitive": group.is_sensitive,
        "has_grade": group.has_grade,
        "visit_every_days": group.visit_every_days,
        "is_active": group.is_active,
        "sort_order": group.sort_order,
    }
    if name is not None:
        group.name = _text(name, max_length=64, required=True, label=_("Name"))
    if name_en is not None:
        group.name_en = _text(name_en, max_length=64, label=_("English name"))
    if is_sensitive is not None:
        group.is_sensitive = is_sensitive
    if has_grade is not None:
        group.has_grade = has_grade
    if not isinstance(visit_every_days, _Unset):
        if visit_every_days is not None and not 1 <= visit_every_days <= 366:
            raise ValidationError(_("Visits are due every 1 to 366 days"), code="bad_interval")
        group.visit_every_days = visit_every_days
    if is_active is not None:
        group.is_active = is_active
    if sort_order is not None:
        group.sort_order = max(0, min(sort_order, 32767))
    group.save()
    after = {k: getattr(group, k) for k in before}
    audit.record(actor=actor, action="care_group.updated", obj=group, changes=audit.diff(before, after))
    return group


# --- households and houses ----------------------------------------------------------------


@transaction.atomic
def household_create(*, actor: User | None, place: Place, number: str = "") -> Household:
    """Open a household (户) at a house."""
    check_can_edit_people(actor, place.path)
    _home_place(place)
    now = clock.now()
    household = Household.objects.create(
        place=place,
        number=_text(number, max_length=32, label=_("Household number")),
        created_at=now,
        updated_at=now,
    )
    audit.record(actor=actor, action="household.created", obj=household, changes={"number": household.number})
    return household


@transaction.atomic
def household_add_member(
    *, actor: User | None, household: Household, resident: Resident, relation: str = Relation.OTHER
) -> Resident:
    """Put a resident into a household; they then live at the household's house."""
    household = Household.objects.select_related("place").select_for_update(of=("self",)).get(pk=household.pk)
    check_can_edit_people(actor, household.place.path)
    check_can_edit_people(actor, resident.place.path)
    relation = _choice(relation, Relation.values, _("relation"))
    resident = _lock(resident)
    if resident.status != ResidentStatus.ACTIVE:
        raise Conflict(_("This resident no longer lives here"), code="not_active")
    if relation == Relation.HEAD and household.head_id not in (None, resident.pk):
        raise Conflict(_("The household already has a head; change the head instead"), code="has_head")
    previous = resident.household_id
    resident.household, resident.place, resident.relation_to_head = household, household.place, relation
    resident.updated_at = clock.now()
    resident.save(update_fields=["household", "place", "relation_to_head", "updated_at"])
    if previous and previous != household.pk:
        Household.objects.filter(pk=previous, head=resident).update(head=None, updated_at=clock.now())
    if relation == Relation.HEAD:
        household.head = resident
    household.updated_at = clock.now()
    household.save(update_fields=["head", "updated_at"])
    audit.record(
        actor=actor,
        action="household.member_added",
        obj=household,
        changes={"resident": resident.pk, "relation": relation, "from_household": previous},
    )
    return resident


@transaction.atomic
def household_set_head(*, actor: User | None, household: Household, resident: Resident) -> Household:
    household = Household.objects.select_related("place").select_for_update(of=("self",)).get(pk=household.pk)
    check_can_edit_people(actor, household.place.path)
    if resident.household_id != household.pk:
        raise ValidationError(_("The head must be a member of the household"), code="not_member")
    if resident.status != ResidentStatus.ACTIVE:
        raise Conflict(_("This resident no longer lives here"), code="not_active")
    previous = household.head_id
    now = clock.now()
    if previous and previous != resident.pk:
        Resident.objects.filter(pk=previous, relation_to_head=Relation.HEAD).update(
            relation_to_head=Relation.OTHER, updated_at=now
        )
    Resident.objects.filter(pk=resident.pk).update(relation_to_head=Relation.HEAD, updated_at=now)
    household.head, household.updated_at = resident, now
    household.save(update_fields=["head", "updated_at"])
    audit.record(
        actor=actor, action="household.head_set", obj=household, changes={"head": [previous, resident.pk]}
    )
    return household


def _house_fields(room_number: str, floor: int | None, area_m2: Decimal | None) -> None:
    if floor is not None and not -10 <= floor <= 200:
        raise ValidationError(_("A floor is between -10 and 200"), code="bad_floor")
    if area_m2 is not None and not Decimal("0") < area_m2 < Decimal("100000"):
        raise ValidationError(_("An area is more than 0 and less than 100,000 m²"), code="bad_area")


def _room_of(place: Place) -> tuple[str, int | None]:
    """Room number and floor from a house place: ``1-0302`` → (``0302``, 3)."""
    room = place.name.rsplit("-", 1)[-1][:16] or place.segment
    floor = int(place.segment[:2]) if len(place.segment) == 4 and place.segment.isdigit() else None
    return room, floor


@transaction.atomic
def house_create(
    *,
    actor: User | None,
    place: Place,
    room_number: str = "",
    floor: int | None = None,
    area_m2: Decimal | None = None,
    use: str = HouseUse.OWNER_OCCUPIED,
    owner_name: str = "",
) -> House:
    """Register the house record of a house place (房屋). Room and floor default from the place."""
    check_can_edit_people(actor, place.path)
    if place.kind != PlaceKind.HOUSE:
        raise ValidationError(_("A house record belongs to a place of kind house"), code="place_kind")
    if House.objects.filter(place=place).exists():
        raise Conflict(_("This house is already registered"), code="house_exists")
    default_room, default_floor = _room_of(place)
    room_number = _text(room_number, max_length=16, label=_("Room number")) or default_room
    floor = default_floor if floor is None else floor
    _house_fields(room_number, floor, area_m2)
    house = House.objects.create(
        place=place,
        room_number=room_number,
        floor=floor,
        area_m2=area_m2,
        use=_choice(use, HouseUse.values, _("use")),
        owner_name=_text(owner_name, max_length=64, label=_("Owner")),
        updated_at=clock.now(),
    )
    audit.record(actor=actor, action="house.created", obj=house, changes={"use": house.use})
    return house


@transaction.atomic
def house_update(
    *,
    actor: User | None,
    house: House,
    use: str | None = None,
    owner: Resident | _Unset | None = UNSET,
    owner_name: str | None = None,
    tenants: Sequence[Resident] | None = None,
    area_m2: Decimal | _Unset | None = UNSET,
    floor: int | _Unset | None = UNSET,
    room_number: str | None = None,
) -> House:
    """Change a house's use, owner, tenants, area, floor or room. A change of use dates itself."""
    house = House.objects.select_related("place").select_for_update(of=("self",)).get(pk=house.pk)
    check_can_edit_people(actor, house.place.path)
    before = {
        "use": house.use,
        "owner": house.owner_id,
        "owner_name": house.owner_name,
        "area_m2": str(house.area_m2) if house.area_m2 is not None else None,
        "floor": house.floor,
        "room_number": house.room_number,
    }
    if use is not None:
        use = _choice(use, HouseUse.values, _("use"))
        if use != house.use:
            house.use, house.use_changed_on = use, _today()
    if not isinstance(owner, _Unset):
        if owner is not None:
            check_can_edit_people(actor, owner.place.path)
        house.owner = owner
    if owner_name is not None:
        house.owner_name = _text(owner_name, max_length=64, label=_("Owner"))
    if not isinstance(area_m2, _Unset):
        _house_fields(house.room_number, None, area_m2)
        house.area_m2 = area_m2
    if not isinstance(floor, _Unset):
        _house_fields(house.room_number, floor, None)
        house.floor = floor
    if room_number is not None:
        house.room_number = _text(room_number, max_length=16, required=True, label=_("Room number"))
    house.updated_at = clock.now()
    house.save()
    changes = audit.diff(
        before,
        {
            "use": house.use,
            "owner": house.owner_id,
            "owner_name": house.owner_name,
            "area_m2": str(house.area_m2) if house.area_m2 is not None else None,
            "floor": house.floor,
            "room_number": house.room_number,
        },
    )
    if tenants is not None:
        for tenant in tenants:
            check_can_edit_people(actor, tenant.place.path)
        old = sorted(house.tenants.values_list("pk", flat=True))
        new = sorted({t.pk for t in tenants})
        if old != new:
            house.tenants.set(new)
            changes["tenants"] = [old, new]
    audit.record(actor=actor, action="house.updated", obj=house, changes=changes)
    return house


# --- revealing protected fields -----------------------------------------------------------


def resident_reveal(*, actor: User, resident: Resident, field: str, item_id: int | None = None) -> str:
    """The plaintext of one protected field (解密查看), for an actor allowed to see it.

    ``field`` is ``id_number``, ``phone`` (the primary phone, or the phone ``item_id``) or
    ``emergency_phone`` (the first emergency contact's, or contact ``item_id``'s). A reveal
    writes exactly one audit row naming the field, never the value. A refusal (403) writes
    one row with the result "denied", so administrators see attempts as well as reads; a
    resident outside the actor's scope is answered 404, as if missing, and leaves no row.
    """
    if field not in REVEAL_FIELDS:
        raise ValidationError(_("Unknown field: %(field)s") % {"field": field[:40]}, code="bad_field")
    if not (can_see_path(actor, resident.place.path, personal=True) or resident.user_id == actor.pk):
        raise NotFound(_("Not found"))
    changes: dict[str, Any] = {"field": field}
    if item_id is not None:
        changes["item"] = item_id
    if not has_capability(actor, Capability.REVEAL_PII, resident.place.path):
        audit.record(
            actor=actor, action="pii.reveal", obj=resident, changes=changes, result=AuditEvent.Result.DENIED
        )
        raise PermissionDenied(_("Revealing ID and phone numbers needs a permission you lack"))
    value = _reveal_value(resident, field, item_id)
    audit.record(actor=actor, action="pii.reveal", obj=resident, changes=changes)
    return value


def _reveal_value(resident: Resident, field: str, item_id: int | None) -> str:
    if field == "id_number":
        if not resident.id_number:
            raise NotFound(_("No ID number is registered"), code="no_value")
        return resident.id_number
    if field == "phone":
        phones = ResidentPhone.objects.filter(resident=resident)
        row = (
            phones.filter(pk=item_id) if item_id is not None else phones.order_by("-is_primary", "pk")
        ).first()
        if row is None:
            raise NotFound(_("No such phone number"), code="no_value")
        return row.phone
    contacts = EmergencyContact.objects.filter(resident=resident)
    contact = (
        contacts.filter(pk=item_id) if item_id is not None else contacts.order_by("sort_order", "pk")
    ).first()
    if contact is None:
        raise NotFound(_("No such emergency contact"), code="no_value")
    return contact.phone
