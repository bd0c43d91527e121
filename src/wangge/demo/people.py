"""The demo's people: house records, households and residents as plain data, and their loading.

``generate_population(world, seed=…, today=…)`` turns the house places of the two demo
communities into a ``Population``: a registry record per house (room, floor, area, use),
households of one to five people with a Chinese urban age structure (about 20 % aged 60 or
over, 12 % under 15), valid ID numbers (GB 11643), phones, emergency contacts, consent
records, care-group memberships at the prevalence a real community shows, and a few dozen
moves in and out over the last twelve months. Nothing depends on the clock except through
``today``, nor on set order: the same seed and day give the same population.

``write_population`` stores it through ``people.bulk.people_bulk_create`` as the system
actor; ``demo_examples`` names the records that tests and the browser test rely on.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from faker import Faker
from faker.providers.person.zh_CN import Provider as PersonProvider
from tqdm import tqdm

from wangge.core.models import User
from wangge.demo import names
from wangge.demo.data import PlaceRow, World
from wangge.people.bulk import (
    ConsentSpec,
    EmergencyContactSpec,
    HouseholdSpec,
    HouseSpec,
    MembershipSpec,
    MoveSpec,
    PhoneSpec,
    ResidentSpec,
    people_bulk_create,
)
from wangge.people.identity import id_check_digit
from wangge.people.models import CareGroupMembership, House, Resident
from wangge.places.models import Place

logger = logging.getLogger("wangge.demo")

POPULATION_COUNT_KEYS = (
    "house_records",
    "households",
    "residents",
    "resident_phones",
    "emergency_contacts",
    "care_group_memberships",
    "resident_moves",
    "consents",
)
CONSENT_PURPOSE = "网格化服务管理信息登记"

# GB 3304 ethnicity codes and their shares in the two cities (汉 01, 回 03, 满 11, 蒙古 02, 朝鲜 10, 壮 08).
ETHNICITIES = (("01", 97.8), ("03", 1.4), ("11", 0.4), ("02", 0.15), ("10", 0.15), ("08", 0.1))
# Where people not born locally come from (GB/T 2260 county codes).
SHANDONG_CODES = ("370102", "370104", "370105", "370112", "370124", "370181", "370911", "371302", "371324")
OTHER_PROVINCE_CODES = ("410102", "411302", "340102", "341202", "320106", "130102", "220102", "510107")
DISABILITIES = ("肢体残疾", "视力残疾", "听力残疾", "言语残疾", "智力残疾", "精神残疾")
DISABILITY_GRADES = (("一级", 10), ("二级", 25), ("三级", 30), ("四级", 35))
ILLNESSES = ("恶性肿瘤（化疗中）", "尿毒症（规律透析）", "脑卒中后遗症", "重度心力衰竭", "帕金森病", "白血病")
SPECIAL_ATTENTION = (
    "社区矫正对象",
    "严重精神障碍患者（监护人已落实）",
    "刑满释放人员（安置帮教）",
    "长期信访人员",
    "独居高龄，行动不便",
)
ALONE_NOTES = ("老伴已故，子女在外地工作", "子女在本市，每周探望", "老伴已故，女儿每月探望", "")
MOVE_OUT_REASONS = ("外出求学", "外出务工", "婚嫁迁出", "购房迁出", "投靠子女")


@dataclass(frozen=True)
class HouseRow:
    place_code: str
    room_number: str
    floor: int
    area_m2: str
    use: str
    use_changed_on: date | None = None
    owner: str | None = None
    owner_name: str = ""
    tenants: tuple[str, ...] = ()


@dataclass(frozen=True)
class HouseholdRow:
    key: str
    place_code: str
    number: str
    head: str


@dataclass(frozen=True)
class ResidentRow:
    key: str
    household: str
    place_code: str
    relation: str
    name: str
    gender: str
    birth_date: date
    ethnicity: str
    id_number: str
    registration: str
    moved_in_on: date
    moved_in_reason: str
    status: str = "active"
    moved_out_on: date | None = None
    moved_out_reason: str = ""
    health_notes: str = ""
    username: str | None = None  # the demo account living here, when there is one


@dataclass(frozen=True)
class PhoneRow:
    resident: str
    phone: str
    label: str
    is_primary: bool


@dataclass(frozen=True)
class ContactRow:
    resident: str
    name: str
    relation: str
    phone: str
    sort_order: int


@dataclass(frozen=True)
class MembershipRow:
    resident: str
    group: str
    start_on: date
    grade: str = ""
    notes: str = ""


@dataclass(frozen=True)
class MoveRow:
    resident: str
    kind: str
    on: date
    reason: str


@dataclass(frozen=True)
class ConsentRow:
    resident: str
    given_on: date


@dataclass
class Population:
    communities: list[str] = field(default_factory=list)
    houses: list[HouseRow] = field(default_factory=list)
    households: list[HouseholdRow] = field(default_factory=list)
    residents: list[ResidentRow] = field(default_factory=list)
    phones: list[PhoneRow] = field(default_factory=list)
    contacts: list[ContactRow] = field(default_factory=list)
    memberships: list[MembershipRow] = field(default_factory=list)
    moves: list[MoveRow] = field(default_factory=list)
    consents: list[ConsentRow] = field(default_factory=list)

    def extend(self, other: Population) -> None:
        for f in dataclasses.fields(self):
            getattr(self, f.name).extend(getattr(other, f.name))

    def digest(self) -> str:
        """SHA-256 of everything generated, to compare two generations."""
        digest = hashlib.sha256()
        for f in dataclasses.fields(self):
            digest.update(f"{f.name}\n".encode())
            for row in getattr(self, f.name):
                digest.update(f"{row!r}\n".encode())  # reprs of dataclasses, str, date: stable
        return digest.hexdigest()

    def counts(self) -> dict[str, int]:
        return {
            "house_records": len(self.houses),
            "households": len(self.households),
            "residents": len(self.residents),
            "resident_phones": len(self.phones),
            "emergency_contacts": len(self.contacts),
            "care_group_memberships": len(self.memberships),
            "resident_moves": len(self.moves),
            "consents": len(self.consents),
        }


@dataclass(frozen=True)
class CommunityPlan:
    """What one community's people look like."""

    code: str
    prefix: str  # resident keys and household numbers
    region: str  # county code of local ID numbers
    area_code: str  # landline area code
    elderly_alone: int
    solitary: int
    left_behind: int
    special_attention: int
    recent_move_ins: int
    recent_move_outs: int


PLANS = (
    CommunityPlan(names.LESHAN_CODE, "ls", "370103", "0531", 40, 8, 5, 10, 26, 34),
    CommunityPlan(names.DONGHU_CODE, "dh", "370902", "0538", 28, 5, 3, 7, 18, 24),
)


# --- Dates and ages.


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def birth_date(rng: random.Random, age: int, today: date) -> date:
    """A date of birth that makes someone exactly ``age`` today."""
    latest = years_before(today, age)
    earliest = years_before(today, age + 1) + timedelta(days=1)
    return earliest + timedelta(days=rng.randint(0, (latest - earliest).days))


def day_between(rng: random.Random, start: date, end: date) -> date:
    if end <= start:
        return start
    return start + timedelta(days=rng.randint(0, (end - start).days))


def elder_age(rng: random.Random, low: int = 60, high: int = 98, scale: float = 12.0) -> int:
    """An age of an older person: numbers fall off with age roughly as survival does."""
    while True:
        age = low + int(rng.expovariate(1 / scale))
        if age <= high:
            return age


def weighted(rng: random.Random, table: Sequence[tuple[str, float]]) -> str:
    return rng.choices([k for k, _w in table], weights=[w for _k, w in table])[0]


# --- Households.


@dataclass
class Member:
    relation: str
    age: int
    gender: str
    line: bool = True  # takes the family surname (born into the family) or not (married in)


def _couple(rng: random.Random, head_age: int, head_male: float = 0.85) -> list[Member]:
    male_head = rng.random() < head_male
    spouse_age = max(18, head_age + rng.randint(-5, 2) if male_head else head_age + rng.randint(-2, 5))
    return [
        Member("head", head_age, "male" if male_head else "female", line=male_head),
        Member("spouse", spouse_age, "female" if male_head else "male", line=not male_head),
    ]


def _child_age(rng: random.Random, parents: list[Member], low: int = 23, high: int = 34) -> int:
    return max(0, min(m.age for m in parents) - rng.randint(low, high))


def _gender(rng: random.Random) -> str:
    return "male" if rng.random() < 0.51 else "female"


def compose(kind: str, rng: random.Random) -> list[Member]:
    """The members of a household of ``kind``: relation to the head, age and gender."""
    g = _gender(rng)
    if kind == "single_adult":
        return [Member("head", rng.randint(22, 59), g)]
    if kind == "single_senior":
        return [Member("head", elder_age(rng, 60, 69, 6.0), g)]
    if kind == "elderly_alone":
        return [Member("head", elder_age(rng, 70, 97, 8.0), "female" if rng.random() < 0.72 else "male")]
    if kind == "elderly_couple":
        return _couple(rng, elder_age(rng, 61, 95, 11.0))
    if kind == "empty_nest":
        return _couple(rng, rng.randint(46, 62))
    if kind == "young_couple":
        return _couple(rng, rng.randint(24, 35))
    if kind == "single_parent":
        parent = Member("head", rng.randint(33, 55), "female" if rng.random() < 0.7 else "male")
        return [parent, Member("child", _child_age(rng, [parent], 22, 33), g)]
    if kind == "elder_with_child":
        head = Member("head", elder_age(rng, 66, 95, 9.0), "female" if rng.random() < 0.65 else "male")
        return [head, Member("child", max(30, _child_age(rng, [head], 24, 34)), g)]
    if kind == "couple_child":
        members = _couple(rng, rng.randint(30, 58))
        return [*members, Member("child", _child_age(rng, members), g)]
    if kind == "couple_with_parent":
        members = _couple(rng, rng.randint(38, 60))
        parent_age = max(elder_age(rng, 70, 97, 8.0), members[0].age + 22)
        gender = "female" if rng.random() < 0.65 else "male"
        return [*members, Member("parent", min(parent_age, 99), gender)]
    if kind == "couple_two_children":
        members = _couple(rng, rng.randint(31, 50))
        first = _child_age(rng, members, 23, 32)
        second = max(0, first - rng.randint(2, 8))
        return [*members, Member("child", first, g), Member("child", second, _gender(rng))]
    if kind == "couple_child_parent":
        members = _couple(rng, rng.randint(34, 56))
        child = Member("child", _child_age(rng, members), g)
        parent_age = min(99, max(elder_age(rng, 64, 95, 8.0), members[0].age + 23))
        return [*members, child, Member("parent", parent_age, "female" if rng.random() < 0.6 else "male")]
    if kind == "three_generations":
        members = _couple(rng, elder_age(rng, 60, 82, 7.0), head_male=0.9)
        son = rng.random() < 0.7
        child = Member("child", max(26, _child_age(rng, members, 24, 32)), "male" if son else "female")
        in_law = Member(
            "child_in_law", child.age + rng.randint(-3, 3), "female" if son else "male", line=False
        )
        grandchild = Member("grandchild", max(0, min(child.age, in_law.age) - rng.randint(24, 32)), g)
        return [*members, child, in_law, grandchild]
    if kind == "couple_two_children_parent":
        members = _couple(rng, rng.randint(33, 50))
        first = _child_age(rng, members, 23, 32)
        parent_age = min(99, max(elder_age(rng, 62, 92, 7.0), members[0].age + 23))
        return [
            *members,
            Member("child", first, g),
            Member("child", max(0, first - rng.randint(2, 7)), _gender(rng)),
            Member("parent", parent_age, "female" if rng.random() < 0.6 else "male"),
        ]
    if kind == "couple_child_two_parents":
        members = _couple(rng, rng.randint(33, 52))
        father = min(99, max(elder_age(rng, 62, 92, 7.0), members[0].age + 24))
        return [
            *members,
            Member("child", _child_age(rng, members), g),
            Member("parent", father, "male"),
            Member("parent", min(99, father + rng.randint(-4, 1)), "female", line=False),
        ]
    if kind == "left_behind":
        grandmother = Member("head", elder_age(rng, 58, 75, 5.0), "female", line=False)
        members = [grandmother]
        if rng.random() < 0.6:
            members.append(Member("spouse", grandmother.age + rng.randint(0, 4), "male"))
        return [*members, Member("grandchild", rng.randint(4, 14), g)]
    if kind == "sharers":
        return [Member("head", rng.randint(20, 34), g)] + [
            Member("other", rng.randint(20, 34), g) for _ in range(rng.randint(1, 2))
        ]
    raise ValueError(kind)


OWNER_KINDS: tuple[tuple[str, float], ...] = (
    ("single_adult", 6.0),
    ("single_senior", 4.0),
    ("elderly_couple", 9.5),
    ("empty_nest", 13.5),
    ("young_couple", 4.0),
    ("single_parent", 3.0),
    ("elder_with_child", 3.0),
    ("couple_child", 25.0),
    ("couple_with_parent", 4.0),
    ("couple_two_children", 4.5),
    ("couple_child_parent", 7.0),
    ("three_generations", 5.5),
    ("couple_two_children_parent", 2.5),
    ("couple_child_two_parents", 3.5),
)
RENTED_KINDS: tuple[tuple[str, float], ...] = (
    ("single_adult", 25.0),
    ("young_couple", 22.0),
    ("couple_child", 26.0),
    ("couple_two_children", 8.0),
    ("sharers", 19.0),
)
# Kinds with at least two adults, for the party-member households (党员中心户).
ADULT_PAIR_KINDS: tuple[tuple[str, float], ...] = (
    ("elderly_couple", 3.0),
    ("empty_nest", 3.0),
    ("couple_child", 4.0),
    ("couple_child_parent", 2.0),
)


def quota(table: Sequence[tuple[str, float]], count: int, rng: random.Random) -> list[str]:
    """``count`` kinds in the proportions of ``table`` (largest remainders), shuffled."""
    total = sum(w for _k, w in table)
    exact = [(k, count * w / total) for k, w in table]
    result = [k for k, share in exact for _ in range(int(share))]
    by_remainder = sorted(exact, key=lambda item: (-(item[1] - int(item[1])), item[0]))
    result += [k for k, _share in by_remainder[: count - len(result)]]
    rng.shuffle(result)
    return result


# --- ID numbers, names and phones.


class Identities:
    """Unique ID numbers, mobile numbers and names from a seeded generator."""

    def __init__(self, rng: random.Random, fake: Faker) -> None:
        self.rng = rng
        self.fake = fake
        self.ids: set[str] = set()
        self.phones: set[str] = set()

    def id_number(self, region: str, born: date, gender: str) -> str:
        while True:
            serial = self.rng.randrange(0, 500) * 2 + (1 if gender == "male" else 0)
            first17 = f"{region}{born:%Y%m%d}{serial:03d}"
            if first17 not in self.ids:
                self.ids.add(first17)
                return first17 + id_check_digit(first17)

    def mobile(self) -> str:
        while True:
            number = "".join(c for c in self.fake.phone_number() if c.isdigit())
            if len(number) == 11 and number.startswith("1") and number not in self.phones:
                self.phones.add(number)
                return number

    def given_name(self, gender: str) -> str:
        return str(self.fake.first_name_male() if gender == "male" else self.fake.first_name_female())

    def surname(self) -> str:
        return str(self.fake.last_name())

    @staticmethod
    def gender_of(name: str) -> str | None:
        """The gender a name's given part suggests, when Faker's lists tell."""
        female = name[1:] in PersonProvider.first_names_female
        male = name[1:] in PersonProvider.first_names_male
        return "female" if female and not male else "male" if male and not female else None


def _fit_gender(members: list[Member], gender: str | None) -> list[Member]:
    """A couple's household whose head has ``gender``: head and spouse swap places if needed."""
    if gender is None or members[0].gender == gender:
        return members
    head, spouse, *rest = members
    return [
        Member("head", spouse.age, spouse.gender, spouse.line),
        Member("spouse", head.age, head.gender, head.line),
        *rest,
    ]


# --- The examples that tests and the browser test rely on.


def first_buildings(places: Sequence[PlaceRow] | None = None) -> dict[str, str]:
    """Codes of the first building (lowest code) of Leshan grids 1 and 2 and of Donghu grid 1."""
    grids = {
        "leshan_grid1": names.LESHAN_CODE + "001",
        "leshan_grid2": names.LESHAN_CODE + "002",
        "donghu_grid1": names.DONGHU_CODE + "001",
    }
    if places is not None:
        codes = sorted(p.code for p in places if p.kind == "building")
    else:
        codes = sorted(Place.objects.filter(kind="building").values_list("code", flat=True))
    return {name: next(c for c in codes if c.startswith(grid)) for name, grid in grids.items()}


def demo_examples() -> dict[str, str]:
    """Named examples of the loaded demo, by place code and name (never database ids).

    ``building`` (Leshan grid 1) holds a vacant house (``vacant_house``), a rented house
    (``rented_house``) and an elderly person living alone (``elderly_alone_house``,
    ``elderly_alone_name``); ``grid2_elderly_alone_house`` is an elderly person living alone
    in Leshan grid 2, ``donghu_elderly_alone_house`` one in Donghu; ``resident_home`` is the
    house of the demo account ``resident``.
    """
    buildings = first_buildings()
    result: dict[str, str] = {}
    building = Place.objects.get(code=buildings["leshan_grid1"])
    result["building"] = building.code
    result["building_name"] = building.name
    houses = House.objects.filter(place__path__under=building.path).order_by("place__code")
    for use in ("vacant", "rented"):
        first = houses.filter(use=use).values_list("place__code", flat=True).first()
        if first is not None:
            result[f"{use}_house"] = first
    for key, building_code in (
        ("elderly_alone", buildings["leshan_grid1"]),
        ("grid2_elderly_alone", buildings["leshan_grid2"]),
        ("donghu_elderly_alone", buildings["donghu_grid1"]),
    ):
        path = Place.objects.values_list("path", flat=True).get(code=building_code)
        member = (
            CareGroupMembership.objects.filter(
                group__code="elderly_alone", end_on__isnull=True, resident__place__path__under=path
            )
            .order_by("resident__place__code")
            .values_list("resident__place__code", "resident__name")
            .first()
        )
        if member is not None:
            result[f"{key}_house"], result[f"{key}_name"] = member
    home = Resident.objects.filter(user__username="resident").values_list("place__code", flat=True).first()
    if home is not None:
        result["resident_home"] = home
    return result


# --- Generation.


@dataclass
class _Household:
    key: str
    place: PlaceRow
    kind: str
    registration: str
    members: list[Member]
    moved_in_on: date
    keys: list[str] = field(default_factory=list)


def _house_parts(row: PlaceRow) -> tuple[int, int, int]:
    """(unit, floor, door) of a house named like ``2-0502``."""
    unit, rest = row.name.split("-")
    return int(unit), int(rest[:2]), int(rest[2:])


def _pick(rng: random.Random, items: Sequence[str], count: int) -> list[str]:
    return sorted(rng.sample(list(items), min(count, len(items))))


def _community(
    world: World,
    plan: CommunityPlan,
    seed: int,
    today: date,
    account_names: dict[str, str],
) -> Population:
    rng = random.Random(f"{seed}:people:{plan.code}")
    fake = Faker("zh_CN")
    fake.seed_instance(f"{seed}:people:{plan.code}")
    ids = Identities(rng, fake)
    population = Population(communities=[plan.code])

    houses = [p for p in world.places if p.kind == "house" and p.code.startswith(plan.code)]
    by_code = {h.code: h for h in houses}
    parts = {h.code: _house_parts(h) for h in houses}
    building_of = {h.code: h.code[:-6] for h in houses}
    top_floor: dict[str, int] = {}
    for h in houses:
        top_floor[building_of[h.code]] = max(top_floor.get(building_of[h.code], 0), parts[h.code][1])

    # Reserved houses: the demo resident's home, party-member households, the examples.
    assignments = {a.place_code: a.username for a in world.assignments if a.role == "resident"}
    party_homes = {
        p.place_code: p.member_count
        for p in world.party
        if p.level == "household" and p.place_code.startswith(plan.code)
    }
    party_total = sum(p.member_count for p in world.party if p.place_code.startswith(plan.code))
    forced_kind: dict[str, str] = {}
    forced_use: dict[str, str] = {}
    for code in sorted(party_homes):
        forced_kind[code] = "party"
        forced_use[code] = "owner_occupied"
    for code in sorted(assignments):
        if code in by_code:
            forced_kind[code] = "account"
            forced_use[code] = "owner_occupied"
    buildings = first_buildings(world.places)
    example_buildings = [b for b in buildings.values() if b.startswith(plan.code)]
    for b, building in enumerate(example_buildings):
        in_building = sorted(
            (c for c in houses if building_of[c.code] == building and c.code not in forced_kind),
            key=lambda h: (abs(parts[h.code][1] - 2), h.code),
        )
        alone_home = in_building[0].code
        forced_kind[alone_home], forced_use[alone_home] = "elderly_alone", "owner_occupied"
        if b == 0:  # the room-chart building: a vacant and a rented house as well
            rest = [h.code for h in in_building[1:]]
            upper = [c for c in rest if parts[c][1] >= 4] or rest
            forced_use[upper[0]] = "vacant"
            forced_use[rest[-1]] = "rented"
            forced_kind[rest[-1]] = "rented"
            forced_kind[upper[0]] = "vacant"

    # Uses: 2 % commercial on ground floors, 6 % vacant, 12 % rented, the rest owner-occupied.
    n = len(houses)
    free = [h.code for h in houses if h.code not in forced_use]
    ground = [c for c in free if parts[c][1] == 1]
    use: dict[str, str] = dict(forced_use)
    for code in _pick(rng, ground, round(0.02 * n)):
        use[code] = "commercial"
    free = [c for c in free if c not in use]
    rng.shuffle(free)
    vacant_left = round(0.06 * n) - sum(1 for u in use.values() if u == "vacant")
    rented_left = round(0.12 * n) - sum(1 for u in use.values() if u == "rented")
    for code in free[:vacant_left]:
        use[code] = "vacant"
    for code in free[vacant_left : vacant_left + rented_left]:
        use[code] = "rented"
    for code in free[vacant_left + rented_left :]:
        use[code] = "owner_occupied"

    # Special households among owner-occupied houses: elderly living alone (low floors
    # mostly), left-behind children.
    owner_free = [h.code for h in houses if use[h.code] == "owner_occupied" and h.code not in forced_kind]
    low = [c for c in owner_free if parts[c][1] <= 3]
    already_alone = sum(1 for k in forced_kind.values() if k == "elderly_alone")
    for code in _pick(rng, low, plan.elderly_alone - already_alone):
        forced_kind[code] = "elderly_alone"
    owner_free = [c for c in owner_free if c not in forced_kind]
    for code in _pick(rng, owner_free, plan.left_behind):
        forced_kind[code] = "left_behind"

    # Areas: the same door of every floor of a building has the same plan.
    area_of: dict[tuple[str, int], Decimal] = {}

    def area(code: str) -> Decimal:
        key = (building_of[code], parts[code][2])
        if key not in area_of:
            high_rise = top_floor[building_of[code]] >= 11
            value = rng.triangular(70, 140, 105) if high_rise else rng.triangular(45, 120, 72)
            area_of[key] = Decimal(f"{value:.2f}")
        return area_of[key]

    # Households: kinds in fixed proportions (shuffled), so every seed gets the same structure.
    ordinary = {
        which: [
            h.code for h in houses if use[h.code] == which and forced_kind.get(h.code) in (None, "rented")
        ]
        for which in ("owner_occupied", "rented")
    }
    kinds_left = {
        "owner_occupied": quota(OWNER_KINDS, len(ordinary["owner_occupied"]), rng),
        "rented": quota(RENTED_KINDS, len(ordinary["rented"]), rng),
    }
    households: list[_Household] = []
    house_rows: dict[str, dict[str, object]] = {}
    for h in houses:
        code = h.code
        _unit, floor, door = parts[code]
        row: dict[str, object] = {
            "place_code": code,
            "room_number": f"{floor}{door:02d}",
            "floor": floor,
            "area_m2": str(area(code)),
            "use": use[code],
        }
        house_rows[code] = row
        if use[code] in ("vacant", "rented"):
            # Changes of the last year come with a recorded move (below); these are older.
            row["use_changed_on"] = day_between(rng, years_before(today, 8), today - timedelta(days=420))
        if use[code] == "rented":
            row["owner_name"] = ids.surname() + ids.given_name(_gender(rng))
        if use[code] not in ("owner_occupied", "rented"):
            continue
        kind = forced_kind.get(code)
        if kind == "party":
            kind = weighted(rng, ADULT_PAIR_KINDS)
        elif kind == "account":
            kind = "couple_child"
        elif kind is None or kind == "rented":
            kind = kinds_left[use[code]].pop()
        members = compose(kind, rng)
        if forced_kind.get(code) == "account":
            members = _fit_gender(members, ids.gender_of(account_names.get(assignments[code], "")))
        if use[code] == "rented":
            registration = weighted(rng, (("registered", 8), ("resident", 32), ("floating", 60)))
            moved_in = row["use_changed_on"]
            assert isinstance(moved_in, date)
            moved_in = min(today - timedelta(days=30), moved_in + timedelta(days=rng.randint(0, 45)))
        else:
            registration = weighted(rng, (("registered", 87), ("resident", 12), ("floating", 1)))
            oldest = max(m.age for m in members)
            earliest = max(date(1985, 1, 1), years_before(today, max(0, oldest - 20)))
            moved_in = day_between(rng, earliest, years_before(today, 1))
        households.append(
            _Household(
                key=f"{plan.prefix}-h{len(households) + 1:05d}",
                place=h,
                kind=kind,
                registration=registration,
                members=members,
                moved_in_on=moved_in,
            )
        )

    # Recent move-ins (whole households, spread over the last twelve months).
    movable = [hh for hh in households if forced_kind.get(hh.place.code) is None]
    recent = sorted(rng.sample(movable, plan.recent_move_ins), key=lambda hh: hh.key)
    recent_keys = {hh.key for hh in recent}
    for i, hh in enumerate(recent):
        month_start = today - timedelta(days=30 * (i % 12 + 1))
        hh.moved_in_on = day_between(rng, month_start, month_start + timedelta(days=27))
        row = house_rows[hh.place.code]
        if row["use"] == "rented":
            row["use_changed_on"] = hh.moved_in_on - timedelta(days=rng.randint(0, 20))

    # People. Surnames follow the male line: the family's for those born into it, their own
    # for those who married in; a parent of the head shares the head's surname if a father.
    residents: list[ResidentRow] = []
    ages: dict[str, int] = {}
    surnames: dict[str, str] = {}
    for hh in households:
        family = ids.surname()
        ethnicity = weighted(rng, ETHNICITIES)
        account = assignments.get(hh.place.code) if forced_kind.get(hh.place.code) == "account" else None
        given: list[str] = []
        for index, m in enumerate(hh.members):
            if m.relation in ("head", "spouse"):
                surname = family if m.line else ids.surname()
            elif m.relation == "parent":
                surname = given[0] if m.gender == "male" else ids.surname()
            elif m.relation == "grandchild" and hh.kind == "three_generations":
                sons = [
                    given[i]
                    for i, x in enumerate(hh.members[:index])
                    if x.relation in ("child", "child_in_law") and x.gender == "male"
                ]
                surname = sons[0] if sons else family
            elif m.relation in ("child", "grandchild"):
                surname = family
            else:
                surname = ids.surname()
            given.append(surname)
            name = surname + ids.given_name(m.gender)
            if account is not None and index == 0:
                name = account_names.get(account, name)
            born = birth_date(rng, m.age, today)
            registration = hh.registration
            if rng.random() >= 0.9:
                registration = weighted(rng, (("registered", 70), ("resident", 20), ("floating", 10)))
            if registration == "registered":
                region = plan.region if rng.random() < 0.85 else rng.choice(SHANDONG_CODES)
            elif registration == "resident":
                region = (
                    rng.choice(SHANDONG_CODES) if rng.random() < 0.8 else rng.choice(OTHER_PROVINCE_CODES)
                )
            else:
                region = rng.choice(OTHER_PROVINCE_CODES)
            moved_in = hh.moved_in_on
            if born > hh.moved_in_on:
                moved_in, reason = born, "出生"
            elif house_rows[hh.place.code]["use"] == "rented":
                reason = "租房居住"
            elif m.relation == "parent":
                reason = "投靠子女"
            elif hh.moved_in_on.year < 1998:
                reason = "单位分房"
            else:
                reason = "购房入住"
            key = f"{plan.prefix}-r{len(residents) + 1:05d}"
            residents.append(
                ResidentRow(
                    key=key,
                    household=hh.key,
                    place_code=hh.place.code,
                    relation=m.relation,
                    name=name,
                    gender=m.gender,
                    birth_date=born,
                    ethnicity=ethnicity if m.line or m.relation in ("child", "grandchild") else "01",
                    id_number=ids.id_number(region, born, m.gender),
                    registration=registration,
                    moved_in_on=moved_in,
                    moved_in_reason=reason,
                    username=account if index == 0 else None,
                )
            )
            ages[key] = m.age
            surnames[key] = surname
            hh.keys.append(key)

    # Recent move-outs: grown-up children leaving, spread over the last twelve months.
    leaving = [
        r
        for r in residents
        if r.relation in ("child", "grandchild")
        and 18 <= ages[r.key] <= 32
        and r.household not in recent_keys
        and forced_kind.get(r.place_code) is None
    ]
    out_order = {
        r.key: i
        for i, r in enumerate(sorted(rng.sample(leaving, plan.recent_move_outs), key=lambda r: r.key))
    }
    moves: list[MoveRow] = []
    for i, r in enumerate(residents):
        if r.key in out_order:
            month_start = today - timedelta(days=30 * (out_order[r.key] % 12 + 1))
            on = day_between(rng, month_start, month_start + timedelta(days=27))
            why = rng.choice(MOVE_OUT_REASONS)
            residents[i] = dataclasses.replace(r, status="moved_out", moved_out_on=on, moved_out_reason=why)
            moves.append(MoveRow(r.key, "out", on, why))
        if r.household in recent_keys and r.moved_in_reason != "出生":
            moves.append(MoveRow(r.key, "in", r.moved_in_on, r.moved_in_reason))
    moves.sort(key=lambda m: (m.on, m.resident, m.kind))
    by_key = {r.key: r for r in residents}
    active_keys = [r.key for r in residents if r.status == "active"]
    adults = [k for k in active_keys if ages[k] >= 18]
    adult_set = set(adults)

    # Houses: the owner is the head of an owner-occupied household; tenants are a rented one's adults.
    heads = {hh.key: hh.keys[0] for hh in households}
    for hh in households:
        row = house_rows[hh.place.code]
        if row["use"] == "owner_occupied":
            row["owner"] = heads[hh.key]
        else:
            row["tenants"] = tuple([k for k in hh.keys if k in adult_set][:2])

    # Care groups.
    memberships: list[MembershipRow] = []

    def join(key: str, group: str, start: date, grade: str = "", notes: str = "") -> None:
        memberships.append(MembershipRow(key, group, max(start, by_key[key].birth_date), grade, notes))

    def since(years: int, *, until_days: int = 30) -> date:
        return day_between(rng, years_before(today, years), today - timedelta(days=until_days))

    def choose(pool: Sequence[str], count: int, weight: Callable[[str], float]) -> list[str]:
        """``count`` keys drawn without replacement, in proportion to ``weight`` (Efraimidis–Spirakis)."""
        ranked = sorted(pool, key=lambda k: rng.random() ** (1.0 / weight(k)), reverse=True)
        return sorted(ranked[: max(0, count)])

    alone = [hh for hh in households if hh.kind == "elderly_alone"]
    solitary = {hh.key for hh in rng.sample(alone, min(plan.solitary, len(alone)))}
    for hh in alone:
        key = hh.keys[0]
        join(
            key,
            "elderly_alone",
            since(12, until_days=365),
            notes="无配偶、无子女" if hh.key in solitary else rng.choice(ALONE_NOTES),
        )
        if hh.key in solitary:
            join(key, "solitary_elderly", since(10, until_days=365))

    size = len(active_keys)
    for key in choose(active_keys, round(0.015 * size), lambda k: 1 + ages[k] / 20):
        join(
            key, "disabled", since(15), grade=weighted(rng, DISABILITY_GRADES), notes=rng.choice(DISABILITIES)
        )
    men_35 = [k for k in adults if ages[k] >= 35]
    for key in choose(men_35, round(0.01 * size), lambda k: 8.0 if by_key[k].gender == "male" else 1.0):
        discharged = years_before(by_key[key].birth_date, -rng.randint(21, 26))
        join(key, "veteran", min(discharged, today - timedelta(days=30)))

    # Party members: each party-member household's count, the rest across the community.
    party = [
        k
        for hh in households
        for k in [k for k in hh.keys if k in adult_set][: party_homes.get(hh.place.code, 0)]
    ]
    party_set = set(party)
    others = [k for k in adults if k not in party_set and by_key[k].registration != "floating"]
    party += choose(
        others,
        party_total - len(party),
        lambda k: (1.6 if by_key[k].gender == "male" else 1.0) * (1.5 if ages[k] >= 40 else 1.0),
    )
    for key in sorted(party):
        joined = years_before(by_key[key].birth_date, -rng.randint(19, 45))
        join(key, "party_member", min(joined, today - timedelta(days=60)))

    # Low income: whole owner-occupied households, about 1 % of residents.
    candidates = [hh for hh in households if house_rows[hh.place.code]["use"] == "owner_occupied"]
    rng.shuffle(candidates)
    low_income = 0
    for hh in candidates:
        if low_income >= round(0.01 * size):
            break
        start = since(6, until_days=60)
        note = rng.choice(("城市低保", "低收入家庭", "城市低保"))
        for key in hh.keys:
            if by_key[key].status == "active":
                join(key, "low_income", start, notes=note)
                low_income += 1

    for hh in households:
        if hh.kind == "left_behind":
            join(hh.keys[-1], "left_behind_child", since(3), notes="父母在外地务工")
    for key in choose(active_keys, round(0.01 * size), lambda k: 0.2 + (ages[k] / 40) ** 2):
        illness = rng.choice(ILLNESSES)
        join(key, "serious_illness", since(4), notes=illness)
        by_key[key] = dataclasses.replace(by_key[key], health_notes=illness)
    for key in choose([k for k in adults if ages[k] < 75], plan.special_attention, lambda k: 1.0):
        join(key, "special_attention", since(3), notes=rng.choice(SPECIAL_ATTENTION))
    memberships.sort(key=lambda m: (m.resident, m.group))

    # Phones: adults' mobiles (fewer among the very old), a landline in some older households.
    phones: list[PhoneRow] = []
    for hh in households:
        head_has_mobile = False
        for key in hh.keys:
            age = ages[key]
            chance = 0.0 if age < 16 else 0.5 if age < 18 else 0.97 if age < 75 else 0.75 if age < 85 else 0.4
            if rng.random() < chance:
                phones.append(PhoneRow(key, ids.mobile(), "手机", True))
                head_has_mobile = head_has_mobile or key == hh.keys[0]
        if max(ages[k] for k in hh.keys) >= 60 and rng.random() < 0.3:
            number = f"{plan.area_code}-{rng.randint(81000000, 89999999)}"
            phones.append(PhoneRow(hh.keys[0], number, "座机", not head_has_mobile))

    # Emergency contacts: a son or daughter for every elderly person living alone (a nephew,
    # niece or neighbour for the solitary) and for most people aged 70 or over.
    contacts: list[ContactRow] = []
    alone_keys = {hh.keys[0] for hh in alone}
    for key in active_keys:
        if ages[key] < 70 or (key not in alone_keys and rng.random() >= 0.85):
            continue
        r = by_key[key]
        if r.household in solitary:
            relation = rng.choice(("侄子", "外甥女", "邻居"))
            gender = "female" if relation == "外甥女" else "male" if relation == "侄子" else _gender(rng)
            surname = surnames[key] if relation == "侄子" and r.gender == "male" else ids.surname()
            contacts.append(ContactRow(key, surname + ids.given_name(gender), relation, ids.mobile(), 0))
            continue
        for order in range(rng.choice((1, 2, 2))):
            gender = _gender(rng)
            relation = "儿子" if gender == "male" else "女儿"
            surname = surnames[key] if r.gender == "male" else ids.surname()
            contacts.append(ContactRow(key, surname + ids.given_name(gender), relation, ids.mobile(), order))
    for hh in households:
        if hh.kind == "left_behind":
            child = hh.keys[-1]
            contacts.append(
                ContactRow(child, surnames[child] + ids.given_name("male"), "父亲", ids.mobile(), 0)
            )
            contacts.append(
                ContactRow(child, ids.surname() + ids.given_name("female"), "母亲", ids.mobile(), 1)
            )

    # Consent to the registration purpose, signed on paper by most households.
    consents: list[ConsentRow] = []
    for hh in households:
        if hh.key not in recent_keys and rng.random() >= 0.93:
            continue
        signed = max(
            hh.moved_in_on + timedelta(days=rng.randint(3, 40)), today - timedelta(days=rng.randint(60, 1000))
        )
        signed = min(signed, today)
        consents += [
            ConsentRow(k, max(signed, by_key[k].birth_date)) for k in hh.keys if by_key[k].status == "active"
        ]

    population.houses = [HouseRow(**row) for row in house_rows.values()]  # type: ignore[arg-type]
    population.households = [
        HouseholdRow(hh.key, hh.place.code, f"{plan.prefix.upper()}{i:05d}", heads[hh.key])
        for i, hh in enumerate(households, start=1)
    ]
    population.residents = [by_key[r.key] for r in residents]
    population.phones = phones
    population.contacts = contacts
    population.memberships = memberships
    population.moves = moves
    population.consents = consents
    return population


def generate_population(world: World, *, seed: int, today: date) -> Population:
    """The people of both demo communities of ``world`` (as ``generate(seed)`` made it)."""
    account_names = {p.username: p.display_name for p in world.people}
    population = Population()
    for plan in PLANS:
        population.extend(_community(world, plan, seed, today, account_names))
    return population


# --- Writing.


def population_is_loaded(population: Population) -> bool:
    codes = [rows.place_code for rows in population.houses[:1]]
    return bool(codes) and House.objects.filter(place__code__in=codes).exists()


def write_population(population: Population, *, progress: bool = False) -> dict[str, int]:
    """Store ``population`` as the system actor; nothing when it is already there."""
    if population_is_loaded(population):
        logger.info("The demo's people are already loaded; nothing to do.")
        return dict.fromkeys(POPULATION_COUNT_KEYS, 0)
    paths = list(Place.objects.filter(code__in=population.communities).values_list("path", flat=True))
    places: dict[str, Place] = {}
    for path in paths:
        for place in Place.objects.filter(kind="house", path__under=path).only("id", "kind", "code", "path"):
            places[place.code] = place
    usernames = sorted({r.username for r in population.residents if r.username})
    users = {u.username: u for u in User.objects.filter(username__in=usernames)}
    total = sum(population.counts().values())
    with tqdm(total=total, desc="people", unit=" rows", disable=not progress) as bar:
        result = people_bulk_create(
            actor=None,
            houses=[
                HouseSpec(
                    place=places[h.place_code],
                    room_number=h.room_number,
                    floor=h.floor,
                    area_m2=Decimal(h.area_m2),
                    use=h.use,
                    use_changed_on=h.use_changed_on,
                    owner=h.owner,
                    owner_name=h.owner_name,
                    tenants=h.tenants,
                )
                for h in population.houses
            ],
            households=[
                HouseholdSpec(key=h.key, place=places[h.place_code], number=h.number, head=h.head)
                for h in population.households
            ],
            residents=[
                ResidentSpec(
                    key=r.key,
                    place=places[r.place_code],
                    name=r.name,
                    household=r.household,
                    relation_to_head=r.relation,
                    gender=r.gender,
                    birth_date=r.birth_date,
                    ethnicity=r.ethnicity,
                    id_number=r.id_number,
                    registration=r.registration,
                    status=r.status,
                    moved_in_on=r.moved_in_on,
                    moved_in_reason=r.moved_in_reason,
                    moved_out_on=r.moved_out_on,
                    moved_out_reason=r.moved_out_reason,
                    health_notes=r.health_notes,
                    user=users.get(r.username) if r.username else None,
                )
                for r in population.residents
            ],
            phones=[PhoneSpec(p.resident, p.phone, p.label, p.is_primary) for p in population.phones],
            emergency_contacts=[
                EmergencyContactSpec(c.resident, c.name, c.relation, c.phone, c.sort_order)
                for c in population.contacts
            ],
            memberships=[
                MembershipSpec(m.resident, m.group, m.start_on, grade=m.grade, notes=m.notes)
                for m in population.memberships
            ],
            moves=[MoveSpec(m.resident, m.kind, m.on, m.reason) for m in population.moves],
            consents=[ConsentSpec(c.resident, CONSENT_PURPOSE, c.given_on) for c in population.consents],
            label="demo people",
            on_progress=bar.update,
        )
    return result.counts
