"""The demo's people: realistic numbers, valid protected identifiers, the named examples,
the same population from the same seed, and the bulk write path's refusals."""

from __future__ import annotations

import functools
import subprocess
import sys
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.db.models import Count, F, Q, Sum

from tests.conftest import DEMO_SEED
from tests.demo.helpers import DONGHU, LESHAN, place
from tests.demo.test_loading import clean_env
from wangge.core import clock
from wangge.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationError
from wangge.core.models import AuditEvent
from wangge.core.pii import blind_index
from wangge.demo import loader
from wangge.demo.generate import generate
from wangge.demo.people import (
    POPULATION_COUNT_KEYS,
    Population,
    age_on,
    demo_examples,
    generate_population,
)
from wangge.org.models import Assignment, PartyOrganization
from wangge.people.bulk import HouseholdSpec, MembershipSpec, PhoneSpec, ResidentSpec, people_bulk_create
from wangge.people.identity import id_check_digit, id_gender, validate_id_number, validate_phone
from wangge.people.models import (
    CareGroup,
    CareGroupMembership,
    Consent,
    EmergencyContact,
    House,
    Household,
    Resident,
    ResidentMove,
    ResidentPhone,
)
from wangge.places.models import Place

pytestmark = pytest.mark.usefixtures("demo_db")
FIXED_DAY = date(2025, 6, 15)


def today() -> date:
    return clock.local_now().date()


def active_in(code: str) -> Any:
    return Resident.objects.filter(place__path__under=place(code).path, status="active")


def members(group: str, code: str) -> Any:
    return CareGroupMembership.objects.filter(
        group__code=group, end_on__isnull=True, resident__place__path__under=place(code).path
    )


def ages(code: str) -> list[int]:
    day = today()
    return [age_on(born, day) for born in active_in(code).values_list("birth_date", flat=True)]


@pytest.mark.parametrize(("code", "low", "high"), [(LESHAN, 7000, 8000), (DONGHU, 4700, 5700)])
def test_population_size_and_age_structure(code: str, low: int, high: int) -> None:
    years = ages(code)
    assert low <= len(years) <= high
    share = Counter("60+" if a >= 60 else "<15" if a < 15 else "15-59" for a in years)
    assert 0.18 <= share["60+"] / len(years) <= 0.22
    assert 0.12 <= sum(a >= 65 for a in years) / len(years) <= 0.155
    assert 0.10 <= share["<15"] / len(years) <= 0.15
    assert max(years) <= 100


def test_households_live_in_houses_of_their_community() -> None:
    for code in (LESHAN, DONGHU):
        path = place(code).path
        residents = Resident.objects.filter(place__path__under=path)
        assert residents.exclude(place__kind="house").count() == 0
        assert residents.filter(household__isnull=True).count() == 0
        assert residents.exclude(household__place=F("place")).count() == 0
        sizes = Counter(
            Household.objects.filter(place__path__under=path)
            .annotate(n=Count("members"))
            .values_list("n", flat=True)
        )
        assert set(sizes) == {1, 2, 3, 4, 5}
        heads = Household.objects.filter(place__path__under=path)
        assert heads.filter(head__isnull=True).count() == 0
        assert heads.exclude(head__household=F("pk")).count() == 0
    total = Resident.objects.filter(
        Q(place__path__under=place(LESHAN).path) | Q(place__path__under=place(DONGHU).path)
    ).count()
    assert total == Resident.objects.count()


def test_every_house_place_has_one_record_with_a_realistic_use() -> None:
    for code in (LESHAN, DONGHU):
        path = place(code).path
        places = Place.objects.filter(path__under=path, kind="house").count()
        houses = House.objects.filter(place__path__under=path)
        assert houses.count() == places
        uses = Counter(houses.values_list("use", flat=True))
        assert 0.75 <= uses["owner_occupied"] / places <= 0.85
        assert 0.10 <= uses["rented"] / places <= 0.14
        assert 0.04 <= uses["vacant"] / places <= 0.08
        assert 0 < uses["commercial"] / places <= 0.03
        assert not houses.filter(use="commercial").exclude(floor=1).exists()
        assert not houses.filter(area_m2__lt=45).exists()
        assert not houses.filter(area_m2__gt=140).exists()
        empty = houses.filter(use__in=["vacant", "commercial"]).values_list("place_id", flat=True)
        assert not Resident.objects.filter(place_id__in=list(empty)).exists()
        assert not houses.filter(use__in=["rented", "vacant"], use_changed_on__isnull=True).exists()
        owned = houses.filter(use="owner_occupied")
        assert owned.filter(owner__isnull=True).count() == 0
        assert owned.exclude(owner__place=F("place")).count() == 0
        rented = houses.filter(use="rented")
        assert rented.exclude(owner_name="").count() == rented.count()
        assert rented.filter(tenants__isnull=False).distinct().count() == rented.count()


def test_registration_and_ethnicity() -> None:
    registration = Counter(active_in(LESHAN).values_list("registration", flat=True))
    n = sum(registration.values())
    assert 0.70 <= registration["registered"] / n <= 0.82
    assert 0.11 <= registration["resident"] / n <= 0.19
    assert 0.05 <= registration["floating"] / n <= 0.11
    ethnicity = Counter(active_in(LESHAN).values_list("ethnicity", flat=True))
    assert ethnicity.most_common(1)[0][0] == "01"
    assert 0.005 < 1 - ethnicity["01"] / n < 0.05
    assert all(len(code) == 2 and code.isdigit() for code in ethnicity)


def test_care_groups_at_a_real_community_prevalence() -> None:
    n = active_in(LESHAN).count()
    alone = members("elderly_alone", LESHAN).select_related("resident")
    assert 30 <= alone.count() <= 60
    women = 0
    for membership in alone:
        person = membership.resident
        assert age_on(person.birth_date, today()) >= 70
        assert Resident.objects.filter(household_id=person.household_id, status="active").count() == 1
        assert person.emergency_contacts.count() >= 1
        women += person.gender == "female"
    assert women > alone.count() / 2
    solitary = members("solitary_elderly", LESHAN)
    assert 5 <= solitary.count() <= 12
    assert set(solitary.values_list("resident_id", flat=True)) <= set(
        alone.values_list("resident_id", flat=True)
    )
    assert members("party_member", LESHAN).count() == 312
    party = PartyOrganization.objects.filter(place__path__under=place(LESHAN).path).aggregate(
        n=Sum("member_count")
    )
    assert party["n"] == 312
    donghu_party = PartyOrganization.objects.filter(place__path__under=place(DONGHU).path).aggregate(
        n=Sum("member_count")
    )
    assert members("party_member", DONGHU).count() == donghu_party["n"]
    disabled = members("disabled", LESHAN)
    assert 0.01 <= disabled.count() / n <= 0.02
    assert set(disabled.values_list("grade", flat=True)) == {"一级", "二级", "三级", "四级"}
    for group in ("veteran", "low_income", "serious_illness"):
        assert 0.006 <= members(group, LESHAN).count() / n <= 0.015, group
    assert 3 <= members("left_behind_child", LESHAN).count() <= 8
    for membership in members("left_behind_child", LESHAN).select_related("resident"):
        assert age_on(membership.resident.birth_date, today()) < 16
        assert membership.resident.relation_to_head == "grandchild"
    assert 5 <= members("special_attention", LESHAN).count() <= 15
    # Only people living here are members.
    assert not CareGroupMembership.objects.exclude(resident__status="active").exists()


def test_older_people_have_emergency_contacts_and_most_households_consented() -> None:
    day = today()
    over_70 = active_in(LESHAN).filter(birth_date__lte=day.replace(year=day.year - 70))
    with_contact = over_70.filter(emergency_contacts__isnull=False).distinct().count()
    assert with_contact / over_70.count() >= 0.8
    households = Household.objects.filter(place__path__under=place(LESHAN).path)
    consented = households.filter(members__consents__isnull=False).distinct().count()
    assert 0.85 <= consented / households.count() <= 0.99
    consent = Consent.objects.filter(resident__place__path__under=place(LESHAN).path).first()
    assert consent is not None
    assert (consent.purpose, consent.channel) == ("网格化服务管理信息登记", "paper")
    assert not Consent.objects.filter(given_on__gt=day).exists()


def test_moves_in_and_out_over_the_last_twelve_months() -> None:
    since = today() - timedelta(days=366)
    moves = ResidentMove.objects.filter(place__path__under=place(LESHAN).path, on__gte=since)
    months = {
        kind: {d.strftime("%Y-%m") for d in moves.filter(kind=kind).values_list("on", flat=True)}
        for kind in ("in", "out")
    }
    assert len(months["in"]) >= 8
    assert len(months["out"]) >= 8
    out = Resident.objects.filter(place__path__under=place(LESHAN).path, status="moved_out")
    assert 20 <= out.count() <= 60
    assert moves.filter(kind="out").count() == out.count()
    assert not out.filter(moved_out_on__isnull=True).exists()
    assert 20 <= moves.filter(kind="in").count() <= 120


def test_id_numbers_are_valid_unique_and_match_the_person() -> None:
    rows = list(Resident.objects.values_list("id_number", "id_hash", "birth_date", "gender"))
    assert len(rows) > 12000
    for id_number, id_hash, born, gender in rows:
        assert validate_id_number(id_number) == id_number
        assert id_hash == blind_index("id_number", id_number)
        assert born is not None
        assert id_number[6:14] == born.strftime("%Y%m%d")
        assert id_gender(id_number) == gender
    assert len({r[1] for r in rows}) == len(rows)
    regions = Counter(r[0][:6] for r in rows)
    assert regions.most_common(1)[0][0] == "370103"
    assert regions["370902"] > 2000


def test_phones_are_valid_and_hashed() -> None:
    for model in (ResidentPhone, EmergencyContact):
        rows = list(model.objects.values_list("phone", "phone_hash"))
        assert rows
        for phone, digest in rows:
            assert validate_phone(phone)
            assert digest == blind_index("phone", phone)
    adults = active_in(LESHAN).filter(birth_date__lte=today().replace(year=today().year - 20))
    with_phone = adults.filter(phones__isnull=False).distinct().count()
    assert with_phone / adults.count() >= 0.85


def raw(model: Any, column: str) -> list[str]:
    """Every cell of ``column`` as stored, read with plain SQL past the model fields."""
    table, name = connection.ops.quote_name(model._meta.db_table), connection.ops.quote_name(column)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {name} FROM {table}")  # noqa: S608 - names from the models
        return [row[0] for row in cursor.fetchall()]


def test_no_plaintext_in_the_raw_columns() -> None:
    ids = {r.id_number for r in Resident.objects.only("id_number")}
    phones = set(ResidentPhone.objects.values_list("phone", flat=True))
    phones |= set(EmergencyContact.objects.values_list("phone", flat=True))
    notes = {n for n in CareGroupMembership.objects.values_list("notes", flat=True) if n}
    cells = {
        "id": raw(Resident, "id_number"),
        "health": [c for c in raw(Resident, "health_notes") if c],
        "phone": raw(ResidentPhone, "phone") + raw(EmergencyContact, "phone"),
        "notes": [c for c in raw(CareGroupMembership, "notes") if c],
    }
    assert len(cells["id"]) == len(ids)
    assert cells["health"]
    assert cells["notes"]
    for values in cells.values():
        for cell in values:
            assert cell.startswith("k")
            assert ":" in cell
            assert cell not in ids
            assert cell not in phones
            assert cell not in notes
    # Nothing else holds a plaintext number either: search columns, hashes, the audit row.
    sample = sorted(ids)[:50] + sorted(phones)[:50]
    other = raw(Resident, "name_pinyin") + raw(Resident, "id_hash")
    assert not any(value in cell for cell in other for value in sample[:20])
    event = AuditEvent.objects.filter(action="people.bulk_created").order_by("at").first()
    assert event is not None
    assert event.changes["residents"] > 12000
    blob = str(event.changes)
    assert not any(value in blob for value in sample)


def test_the_named_examples_exist() -> None:
    examples = demo_examples()
    building = Place.objects.get(code=examples["building"])
    assert building.kind == "building"
    assert building.path.startswith(place(LESHAN + "001").path)
    vacant = House.objects.get(place__code=examples["vacant_house"])
    assert vacant.use == "vacant"
    assert vacant.place.path.startswith(building.path)
    assert not Resident.objects.filter(place=vacant.place).exists()
    assert House.objects.get(place__code=examples["rented_house"]).use == "rented"
    for key, grid in (
        ("elderly_alone", LESHAN + "001"),
        ("grid2_elderly_alone", LESHAN + "002"),
        ("donghu_elderly_alone", DONGHU + "001"),
    ):
        house = Place.objects.get(code=examples[f"{key}_house"])
        assert house.path.startswith(place(grid).path)
        (person,) = Resident.objects.filter(place=house, status="active")
        assert person.name == examples[f"{key}_name"]
        assert person.care_groups.filter(group__code="elderly_alone").exists()
        assert person.emergency_contacts.exists()
    assert Place.objects.get(code=examples["elderly_alone_house"]).path.startswith(building.path)
    home = Assignment.objects.get(user__username="resident").place
    assert examples["resident_home"] == home.code
    linked = Resident.objects.get(user__username="resident")
    assert linked.place == home
    assert linked.household is not None
    assert linked.household.head == linked
    assert House.objects.get(place=home).owner == linked


@functools.cache
def demo_population() -> Population:
    return generate_population(generate(DEMO_SEED), seed=DEMO_SEED, today=FIXED_DAY)


def test_generation_is_deterministic() -> None:
    first = demo_population()
    second = generate_population(generate(DEMO_SEED), seed=DEMO_SEED, today=FIXED_DAY)
    assert first.digest() == second.digest()
    other = generate_population(generate(DEMO_SEED + 1), seed=DEMO_SEED + 1, today=FIXED_DAY)
    assert other.digest() != first.digest()
    assert [r.name for r in other.residents[:50]] != [r.name for r in first.residents[:50]]
    ids = [r.id_number for r in first.residents]
    assert len(set(ids)) == len(ids)
    assert all(id_check_digit(i[:17]) == i[17] for i in ids)
    assert set(first.counts()) == set(POPULATION_COUNT_KEYS)


def test_generation_does_not_depend_on_hash_order(tmp_path: Path) -> None:
    script = (
        "import django; django.setup(); from datetime import date; "
        "from wangge.demo.generate import generate; from wangge.demo.people import generate_population; "
        f"world = generate({DEMO_SEED}); "
        f"print(generate_population(world, seed={DEMO_SEED}, today=date(2025, 6, 15)).digest())"
    )
    env = {**clean_env(tmp_path), "PYTHONHASHSEED": "4242", "DJANGO_SETTINGS_MODULE": "wangge.settings"}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == demo_population().digest()


def test_loading_again_adds_no_people() -> None:
    before = (Resident.objects.count(), House.objects.count(), Household.objects.count())
    counts = loader.load_demo(seed=DEMO_SEED, demo_accounts=True)
    assert counts["already_loaded"] == 1
    assert all(counts[key] == 0 for key in POPULATION_COUNT_KEYS)
    assert (Resident.objects.count(), House.objects.count(), Household.objects.count()) == before


# --- The bulk write path.


def make_id(born: date, serial: int, male: bool) -> str:
    first17 = f"370103{born:%Y%m%d}{serial * 2 + int(male):03d}"[:17]
    return first17 + id_check_digit(first17)


def batch(house: Place, *, id_number: str, phone: str = "13912345678") -> dict[str, Any]:
    return {
        "households": [HouseholdSpec(key="h", place=house, head="a")],
        "residents": [
            ResidentSpec(key="a", place=house, name="张三", household="h", id_number=id_number),
        ],
        "phones": [PhoneSpec(resident="a", phone=phone, is_primary=True)],
    }


def free_house(grid: str) -> Place:
    """A vacant house of the grid: nobody is registered there yet."""
    house = (
        Place.objects.filter(path__under=place(grid).path, kind="house", house__use="vacant")
        .order_by("code")
        .first()
    )
    assert house is not None
    return house


def snapshot() -> tuple[int, ...]:
    return (
        Resident.objects.count(),
        Household.objects.count(),
        ResidentPhone.objects.count(),
        CareGroupMembership.objects.count(),
        CareGroup.objects.count(),
        AuditEvent.objects.filter(action="people.bulk_created").count(),
    )


def test_bulk_create_by_a_grid_worker_in_their_grid(users: dict[str, Any]) -> None:
    house = free_house(LESHAN + "001")
    id_number = make_id(date(1990, 3, 4), 12, True)
    before = snapshot()
    result = people_bulk_create(actor=users["grid1"], **batch(house, id_number=id_number))
    person = result.residents["a"]
    person.refresh_from_db()
    assert (person.name_pinyin, person.name_initials) == ("zhangsan", "zs")
    assert person.gender == "male"
    assert person.birth_date == date(1990, 3, 4)
    assert person.household is not None
    assert person.household.head == person
    assert person.id_hash == blind_index("id_number", id_number)
    assert snapshot() == (before[0] + 1, before[1] + 1, before[2] + 1, before[3], before[4], before[5] + 1)
    event = AuditEvent.objects.filter(action="people.bulk_created").order_by("-at", "-pk").first()
    assert event is not None
    assert event.actor == users["grid1"]
    assert id_number not in str(event.changes)
    assert "13912345678" not in str(event.changes)
    assert event.place_path == house.path


@pytest.mark.parametrize(
    ("actor", "change", "error"),
    [
        ("grid2", {}, NotFound),
        ("dept", {}, NotFound),
        ("resident", {}, NotFound),
        (None, {"bad_check_digit": True}, ValidationError),
        (None, {"phone": "12345"}, ValidationError),
        (None, {"existing": True}, Conflict),
        (None, {"grade": "一级"}, ValidationError),
        (None, {"group": "no_such_group"}, ValidationError),
    ],
)
def test_bulk_create_refusals_write_nothing(
    users: dict[str, Any], actor: str | None, change: dict[str, Any], error: type[DomainError]
) -> None:
    house = free_house(LESHAN + "001")
    id_number = make_id(date(1985, 7, 8), 40, False)
    if change.get("bad_check_digit"):
        id_number = id_number[:17] + ("0" if id_number[17] != "0" else "1")
    if change.get("existing"):
        id_number = Resident.objects.filter(place__path__under=place(LESHAN).path).first().id_number  # type: ignore[union-attr]
    records = batch(house, id_number=id_number, phone=change.get("phone", "13912345678"))
    if "grade" in change or "group" in change:
        group = change.get("group", "veteran")
        records["memberships"] = [MembershipSpec("a", group, date(2020, 1, 1), grade=change.get("grade", ""))]
    before = snapshot()
    with pytest.raises(error):
        people_bulk_create(actor=users[actor] if actor else None, **records)
    assert snapshot() == before


def test_bulk_create_needs_the_capability(users: dict[str, Any]) -> None:
    """A part-time grid worker sees the grid's people but may not register identifiers."""
    grid = place(LESHAN + "001")
    part_time = (
        Assignment.objects.filter(place=grid, role="grid_worker_part_time").select_related("user").first()
    )
    assert part_time is not None
    before = snapshot()
    with pytest.raises(PermissionDenied):
        people_bulk_create(
            actor=part_time.user, **batch(free_house(grid.code), id_number=make_id(date(1979, 1, 2), 7, True))
        )
    assert snapshot() == before
