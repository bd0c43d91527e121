"""Creating many houses, households and residents in one go: the demo, importers, migrations.

``people_bulk_create`` applies the checks of the single-record services (GB 11643 check
digit, phone format, choices, one household per resident in the same house, no ID number
twice) to a whole batch, then writes each table with ``bulk_create`` and one summary audit
row, all in one transaction. ID and phone numbers are encrypted by their model fields and
get their keyed hashes here; names get their pinyin search keys. Records refer to each
other by temporary keys (a resident's household, a household's head, a house's owner).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from django.db import IntegrityError, models, transaction
from django.db.models import OuterRef, Subquery
from django.utils.translation import gettext as _

from wangge.core import audit, clock
from wangge.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from wangge.core.models import User
from wangge.core.pii import blind_index
from wangge.core.roles import Capability
from wangge.core.scope import can_see_path, has_capability, scope_for
from wangge.people.identity import id_birth_date, id_gender, name_keys, validate_id_number, validate_phone
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
from wangge.places.bulk import common_path
from wangge.places.models import Place, PlaceKind

# The care groups every installation starts with (the data migration creates them too):
# (code, name, English name, sensitive, has a grade, visit every (days)).
PRESET_CARE_GROUPS: tuple[tuple[str, str, str, bool, bool, int | None], ...] = (
    ("elderly_alone", "独居老人", "Elderly living alone", False, False, 7),
    ("solitary_elderly", "孤寡老人", "Solitary elderly", False, False, 7),
    ("disabled", "残疾人", "Disabled", True, True, 30),
    ("veteran", "退役军人", "Veteran", False, False, None),
    ("party_member", "党员", "Party member", False, False, None),
    ("low_income", "低保/低收入", "Low income / subsistence allowance", True, False, None),
    ("left_behind_child", "留守儿童", "Left-behind child", False, False, 14),
    ("serious_illness", "重病", "Serious illness", True, False, 14),
    ("special_attention", "重点关注", "Special attention", True, False, None),
)

# Non-administrators need this capability where they write: the roles that may handle
# people's identifiers unmasked.
WRITE_CAPABILITY = Capability.REVEAL_PII

_CHUNK = 500
_BATCH = 1000


@dataclass(frozen=True)
class HouseSpec:
    """The registry record of a house place. ``owner`` and ``tenants`` are resident keys."""

    place: Place
    room_number: str
    floor: int | None = None
    area_m2: Decimal | None = None
    use: str = HouseUse.OWNER_OCCUPIED
    use_changed_on: date | None = None
    owner: str | None = None
    owner_name: str = ""
    tenants: tuple[str, ...] = ()


@dataclass(frozen=True)
class HouseholdSpec:
    """A household living in ``place`` (a house); ``head`` is the key of one of its members."""

    key: str
    place: Place
    number: str = ""
    head: str | None = None


@dataclass(frozen=True)
class ResidentSpec:
    """A resident. An empty ``gender`` or ``birth_date`` is taken from the ID number."""

    key: str
    place: Place
    name: str
    household: str | None = None
    relation_to_head: str = Relation.HEAD
    gender: str = ""
    birth_date: date | None = None
    ethnicity: str = ""
    id_number: str = ""
    registration: str = Registration.REGISTERED
    status: str = ResidentStatus.ACTIVE
    moved_in_on: date | None = None
    moved_in_reason: str = ""
    moved_out_on: date | None = None
    moved_out_reason: str = ""
    health_notes: str = ""
    user: User | None = None


@dataclass(frozen=True)
class PhoneSpec:
    resident: str
    phone: str
    label: str = ""
    is_primary: bool = False


@dataclass(frozen=True)
class EmergencyContactSpec:
    resident: str
    name: str
    relation: str
    phone: str
    sort_order: int = 0


@dataclass(frozen=True)
class MembershipSpec:
    """Membership of the care group with code ``group``."""

    resident: str
    group: str
    start_on: date
    grade: str = ""
    end_on: date | None = None
    notes: str = ""


@dataclass(frozen=True)
class MoveSpec:
    """A move in or out; ``place`` defaults to the resident's place."""

    resident: str
    kind: str
    on: date
    reason: str = ""
    place: Place | None = None


@dataclass(frozen=True)
class ConsentSpec:
    resident: str
    purpose: str
    given_on: date
    channel: str = Consent.Channel.PAPER
    withdrawn_on: date | None = None
    recorded_by: User | None = None


@dataclass
class PeopleBulkResult:
    houses: list[House] = field(default_factory=list)
    households: dict[str, Household] = field(default_factory=dict)
    residents: dict[str, Resident] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


T = TypeVar("T")
M = TypeVar("M", bound=models.Model)


def _chunks(items: Sequence[T], size: int = _CHUNK) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _fail(message: str, key: str) -> ValidationError:
    return ValidationError(f"{message}: {key}")


def _text(value: str, limit: int, message: str, key: str, *, required: bool = True) -> str:
    value = value.strip()
    if required and not value:
        raise _fail(message, key)
    if len(value) > limit:
        raise _fail(_("The text is too long"), key)
    return value


def _choice(value: str, choices: Sequence[str], key: str) -> str:
    if value not in choices:
        raise _fail(_("Not one of the allowed values") + f" ({value})", key)
    return value


def _house_place(place: Place, key: str) -> Place:
    if place.pk is None:
        raise _fail(_("The place has not been saved"), key)
    if place.kind != PlaceKind.HOUSE:
        raise _fail(_("People and households are registered at a house"), key)
    return place


def _check_actor(actor: User | None, places: Iterable[Place]) -> None:
    if actor is None:
        return  # system actors: the demo loader, imports run by an operator
    if scope_for(actor).is_admin:
        return
    for path in sorted({p.path for p in places}):
        if not can_see_path(actor, path, personal=True):
            raise NotFound(_("Place not found"))
        if not has_capability(actor, WRITE_CAPABILITY, path):
            raise PermissionDenied(_("You may not register people here"))


def _care_groups(codes: set[str]) -> dict[str, CareGroup]:
    """The care groups by code; preset ones missing from the database are created."""
    groups = {g.code: g for g in CareGroup.objects.filter(code__in=sorted(codes))}
    presets = {row[0]: (order, row) for order, row in enumerate(PRESET_CARE_GROUPS)}
    for code in sorted(codes - set(groups)):
        if code not in presets:
            raise ValidationError(_("Unknown care group") + f": {code}")
        order, (_code, name, name_en, sensitive, has_grade, every) = presets[code]
        groups[code], _created = CareGroup.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "name_en": name_en,
                "is_sensitive": sensitive,
                "has_grade": has_grade,
                "visit_every_days": every,
                "sort_order": order,
            },
        )
    return groups


def _insert(model: type[M], rows: list[M], progress: Callable[[int], None] | None) -> None:
    manager = model._default_manager
    for batch in _chunks(rows, _BATCH):
        manager.bulk_create(list(batch))
        if progress is not None:
            progress(len(batch))


def _existing(queryset: models.QuerySet[Any], lookup: str, values: Sequence[Any]) -> set[Any]:
    found: set[Any] = set()
    for chunk in _chunks(sorted(values)):
        found.update(queryset.filter(**{f"{lookup}__in": list(chunk)}).values_list(lookup, flat=True))
    return found


@transaction.atomic
def people_bulk_create(
    *,
    actor: User | None,
    houses: Sequence[HouseSpec] = (),
    households: Sequence[HouseholdSpec] = (),
    residents: Sequence[ResidentSpec] = (),
    phones: Sequence[PhoneSpec] = (),
    emergency_contacts: Sequence[EmergencyContactSpec] = (),
    memberships: Sequence[MembershipSpec] = (),
    moves: Sequence[MoveSpec] = (),
    consents: Sequence[ConsentSpec] = (),
    label: str = "",
    on_progress: Callable[[int], None] | None = None,
) -> PeopleBulkResult:
    """Create every record of the batch, or none: the first bad record refuses it all.

    ``on_progress`` is told how many rows each INSERT wrote.
    """
    # --- Check everything before writing anything.
    places: list[Place] = []
    household_by_key: dict[str, HouseholdSpec] = {}
    for spec in households:
        if spec.key in household_by_key:
            raise _fail(_("The same key appears twice in the batch"), spec.key)
        household_by_key[spec.key] = spec
        places.append(_house_place(spec.place, spec.key))
        _text(spec.number, 32, "", spec.key, required=False)

    resident_by_key: dict[str, ResidentSpec] = {}
    cleaned: dict[str, dict[str, Any]] = {}
    id_hashes: dict[str, str] = {}  # hash → resident key
    users: set[int] = set()
    keys_cache: dict[str, tuple[str, str]] = {}
    today = clock.local_now().date()
    for person in residents:
        key = person.key
        if key in resident_by_key:
            raise _fail(_("The same key appears twice in the batch"), key)
        resident_by_key[key] = person
        places.append(_house_place(person.place, key))
        name = _text(person.name, 64, _("A resident needs a name"), key)
        if person.household is not None:
            home = household_by_key.get(person.household)
            if home is None:
                raise _fail(_("Unknown household key"), key)
            if home.place.pk != person.place.pk:
                raise _fail(_("A resident lives in the house of their household"), key)
        _choice(person.relation_to_head, Relation.values, key)
        _choice(person.registration, Registration.values, key)
        _choice(person.status, ResidentStatus.values, key)
        if person.ethnicity and not (len(person.ethnicity) == 2 and person.ethnicity.isdigit()):
            raise _fail(_("The ethnicity is a two-digit code (GB 3304)"), key)
        gender, born, id_number, id_hash = person.gender, person.birth_date, "", ""
        if person.id_number:
            id_number = validate_id_number(person.id_number)
            id_hash = blind_index("id_number", id_number)
            if id_hash in id_hashes:
                raise _fail(_("The same ID number appears twice in the batch"), key)
            id_hashes[id_hash] = key
            if born is None:
                born = id_birth_date(id_number)
            elif born != id_birth_date(id_number):
                raise _fail(_("The date of birth does not match the ID number"), key)
            if not gender or gender == Gender.UNKNOWN:
                gender = id_gender(id_number)
            elif gender != id_gender(id_number):
                raise _fail(_("The gender does not match the ID number"), key)
        _choice(gender or Gender.UNKNOWN, Gender.values, key)
        if born is not None and born > today:
            raise _fail(_("The date of birth is in the future"), key)
        if person.moved_out_on is not None and person.status == ResidentStatus.ACTIVE:
            raise _fail(_("A resident still living here has no move-out date"), key)
        if person.moved_in_on and person.moved_out_on and person.moved_out_on < person.moved_in_on:
            raise _fail(_("The move-out date is before the move-in date"), key)
        if person.user is not None:
            if person.user.pk is None or person.user.pk in users:
                raise _fail(_("An account belongs to one resident only"), key)
            users.add(person.user.pk)
        if name not in keys_cache:
            keys_cache[name] = name_keys(name)
        cleaned[key] = {
            "name": name,
            "gender": gender or Gender.UNKNOWN,
            "birth_date": born,
            "id_number": id_number,
            "id_hash": id_hash,
            "moved_in_reason": _text(person.moved_in_reason, 200, "", key, required=False),
            "moved_out_reason": _text(person.moved_out_reason, 200, "", key, required=False),
        }

    heads_in: dict[str, int] = {}
    for person in residents:
        if person.household is not None and person.relation_to_head == Relation.HEAD:
            heads_in[person.household] = heads_in.get(person.household, 0) + 1
    for spec in households:
        if spec.head is not None:
            head = resident_by_key.get(spec.head)
            if head is None or head.household != spec.key:
                raise _fail(_("The head of a household is one of its members"), spec.key)
            if head.relation_to_head != Relation.HEAD or heads_in.get(spec.key) != 1:
                raise _fail(_("A household has one head, whose relation is 'head'"), spec.key)

    house_places: set[int] = set()
    for house in houses:
        label_key = f"house {house.place.pk}"
        places.append(_house_place(house.place, label_key))
        if house.place.pk in house_places:
            raise _fail(_("The same house appears twice in the batch"), label_key)
        house_places.add(house.place.pk)
        _text(house.room_number, 16, _("A house needs a room number"), label_key)
        _choice(house.use, HouseUse.values, label_key)
        _text(house.owner_name, 64, "", label_key, required=False)
        if house.floor is not None and not -10 <= house.floor <= 300:
            raise _fail(_("The floor is out of range"), label_key)
        if house.area_m2 is not None and not Decimal(0) < house.area_m2 < Decimal(100000):
            raise _fail(_("The area is out of range"), label_key)
        for ref in (house.owner, *house.tenants):
            if ref is not None and ref not in resident_by_key:
                raise _fail(_("Unknown resident key"), label_key)

    phone_rows: list[tuple[PhoneSpec, str, str]] = []
    seen_phones: set[tuple[str, str]] = set()
    for phone in phones:
        if phone.resident not in resident_by_key:
            raise _fail(_("Unknown resident key"), phone.resident)
        number = validate_phone(phone.phone)
        digest = blind_index("phone", number)
        if (phone.resident, digest) in seen_phones:
            raise _fail(_("The same phone number appears twice for one resident"), phone.resident)
        seen_phones.add((phone.resident, digest))
        _text(phone.label, 16, "", phone.resident, required=False)
        phone_rows.append((phone, number, digest))

    contact_rows: list[tuple[EmergencyContactSpec, str, str]] = []
    for contact in emergency_contacts:
        if contact.resident not in resident_by_key:
            raise _fail(_("Unknown resident key"), contact.resident)
        _text(contact.name, 64, _("An emergency contact needs a name"), contact.resident)
        _text(contact.relation, 32, _("An emergency contact needs a relation"), contact.resident)
        number = validate_phone(contact.phone)
        contact_rows.append((contact, number, blind_index("phone", number)))

    for membership in memberships:
        if membership.resident not in resident_by_key:
            raise _fail(_("Unknown resident key"), membership.resident)
        if membership.end_on is not None and membership.end_on < membership.start_on:
            raise _fail(_("A membership cannot end before it starts"), membership.resident)
        _text(membership.grade, 16, "", membership.resident, required=False)

    for move in moves:
        if move.resident not in resident_by_key:
            raise _fail(_("Unknown resident key"), move.resident)
        _choice(move.kind, ResidentMove.Kind.values, move.resident)
        _text(move.reason, 200, "", move.resident, required=False)
        if move.place is not None:
            if move.place.pk is None:
                raise _fail(_("The place has not been saved"), move.resident)
            places.append(move.place)

    for consent in consents:
        if consent.resident not in resident_by_key:
            raise _fail(_("Unknown resident key"), consent.resident)
        _text(consent.purpose, 200, _("A consent needs a purpose"), consent.resident)
        _choice(consent.channel, Consent.Channel.values, consent.resident)
        if consent.withdrawn_on is not None and consent.withdrawn_on < consent.given_on:
            raise _fail(_("A consent cannot be withdrawn before it was given"), consent.resident)

    _check_actor(actor, places)
    groups = _care_groups({m.group for m in memberships}) if memberships else {}
    for membership in memberships:
        if membership.grade and not groups[membership.group].has_grade:
            raise _fail(_("This care group has no grades"), membership.resident)

    # Against the database: no ID number, house record or account used twice.
    if _existing(Resident.objects.all(), "id_hash", list(id_hashes)):
        raise Conflict(_("A resident with this ID number is already registered"))
    if _existing(House.objects.all(), "place_id", sorted(house_places)):
        raise Conflict(_("This house is already in the registry"))
    if users and _existing(Resident.objects.all(), "user_id", sorted(users)):
        raise Conflict(_("This account already belongs to a resident"))

    # --- Write: households, residents, heads, houses and their tenants, then the rest.
    now = clock.now()
    result = PeopleBulkResult()
    try:
        with transaction.atomic():
            household_rows = {
                spec.key: Household(
                    place=spec.place, number=spec.number.strip(), created_at=now, updated_at=now
                )
                for spec in households
            }
            _insert(Household, list(household_rows.values()), on_progress)
            resident_rows: dict[str, Resident] = {}
            for person in residents:
                values = cleaned[person.key]
                pinyin, initials = keys_cache[values["name"]]
                resident_rows[person.key] = Resident(
                    place=person.place,
                    household=household_rows[person.household] if person.household is not None else None,
                    relation_to_head=person.relation_to_head,
                    name=values["name"],
                    name_pinyin=pinyin[:255],
                    name_initials=initials[:64],
                    gender=values["gender"],
                    birth_date=values["birth_date"],
                    ethnicity=person.ethnicity,
                    id_number=values["id_number"],
                    id_hash=values["id_hash"],
                    registration=person.registration,
                    status=person.status,
                    moved_in_on=person.moved_in_on,
                    moved_in_reason=values["moved_in_reason"],
                    moved_out_on=person.moved_out_on,
                    moved_out_reason=values["moved_out_reason"],
                    health_notes=person.health_notes.strip(),
                    user=person.user,
                    created_at=now,
                    updated_at=now,
                )
            _insert(Resident, list(resident_rows.values()), on_progress)
            # Each head is the one member whose relation is "head" (checked above): one
            # UPDATE per chunk of households rather than one per household.
            headed = [household_rows[spec.key].pk for spec in households if spec.head is not None]
            head_of = Resident.objects.filter(household=OuterRef("pk"), relation_to_head=Relation.HEAD)
            for chunk in _chunks(headed):
                Household.objects.filter(pk__in=list(chunk)).update(head=Subquery(head_of.values("pk")[:1]))
            for spec in households:
                if spec.head is not None:
                    household_rows[spec.key].head = resident_rows[spec.head]

            house_rows = [
                House(
                    place=spec.place,
                    room_number=spec.room_number.strip(),
                    floor=spec.floor,
                    area_m2=spec.area_m2,
                    use=spec.use,
                    use_changed_on=spec.use_changed_on,
                    owner=resident_rows[spec.owner] if spec.owner is not None else None,
                    owner_name=spec.owner_name.strip(),
                    updated_at=now,
                )
                for spec in houses
            ]
            _insert(House, house_rows, on_progress)
            through = House.tenants.through
            tenant_rows = [
                through(house_id=row.pk, resident_id=resident_rows[key].pk)
                for spec, row in zip(houses, house_rows, strict=True)
                for key in dict.fromkeys(spec.tenants)
            ]
            _insert(through, tenant_rows, on_progress)

            _insert(
                ResidentPhone,
                [
                    ResidentPhone(
                        resident=resident_rows[spec.resident],
                        phone=number,
                        phone_hash=digest,
                        label=spec.label.strip(),
                        is_primary=spec.is_primary,
                    )
                    for spec, number, digest in phone_rows
                ],
                on_progress,
            )
            _insert(
                EmergencyContact,
                [
                    EmergencyContact(
                        resident=resident_rows[spec.resident],
                        name=spec.name.strip(),
                        relation=spec.relation.strip(),
                        phone=number,
                        phone_hash=digest,
                        sort_order=spec.sort_order,
                    )
                    for spec, number, digest in contact_rows
                ],
                on_progress,
            )
            _insert(
                CareGroupMembership,
                [
                    CareGroupMembership(
                        resident=resident_rows[m.resident],
                        group=groups[m.group],
                        grade=m.grade.strip(),
                        start_on=m.start_on,
                        end_on=m.end_on,
                        notes=m.notes.strip(),
                    )
                    for m in memberships
                ],
                on_progress,
            )
            _insert(
                ResidentMove,
                [
                    ResidentMove(
                        resident=resident_rows[m.resident],
                        place=m.place if m.place is not None else resident_by_key[m.resident].place,
                        kind=m.kind,
                        on=m.on,
                        reason=m.reason.strip(),
                    )
                    for m in moves
                ],
                on_progress,
            )
            _insert(
                Consent,
                [
                    Consent(
                        resident=resident_rows[c.resident],
                        purpose=c.purpose.strip(),
                        given_on=c.given_on,
                        channel=c.channel,
                        withdrawn_on=c.withdrawn_on,
                        recorded_by=c.recorded_by,
                    )
                    for c in consents
                ],
                on_progress,
            )
    except IntegrityError as exc:
        raise Conflict(_("These records clash with records already registered")) from exc

    result.houses = house_rows
    result.households = household_rows
    result.residents = resident_rows
    result.counts = {
        "house_records": len(house_rows),
        "households": len(household_rows),
        "residents": len(resident_rows),
        "resident_phones": len(phone_rows),
        "emergency_contacts": len(contact_rows),
        "care_group_memberships": len(memberships),
        "resident_moves": len(moves),
        "consents": len(consents),
    }
    by_group: dict[str, int] = {}
    for m in memberships:
        by_group[m.group] = by_group.get(m.group, 0) + 1
    audit.record(
        actor=actor,
        action="people.bulk_created",
        object_type=Resident._meta.label_lower,
        object_label=(label or _("%(count)d residents") % {"count": len(resident_rows)})[:200],
        place_path=common_path(sorted({p.path for p in places})),
        changes={**result.counts, "care_groups": dict(sorted(by_group.items()))},
    )
    return result
