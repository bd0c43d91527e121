"""The demo territory as plain data: ``generate(seed)`` → ``World``.

Two communities modelled on the seed articles:

* 济南市市中区 → 杆石桥街道 → 乐山小区社区: 6 grids (网格), 35 courtyards (庭院, micro-grids),
  59 buildings, 3,040 households; a grid leader (网格长), a full-time grid worker (专职网格员)
  and one or two part-time workers per grid, a courtyard leader (庭院长) per courtyard; the
  party committee (社区党委) → 6 grid branches (网格党支部) → 35 courtyard groups
  (庭院党小组) → party-member households (党员中心户), 312 members in all.
* 泰安市泰山区 → 财源街道 → 东湖社区: 6 grids and 42 buildings directly under them, a
  building leader (楼长) per building looking after about 50 households (2,100 in all),
  24 full- and part-time grid workers, 6 grid branches and 42 building groups (楼院党小组).

Everything comes from ``random.Random`` and Faker ``zh_CN`` seeded from ``seed``; nothing
depends on set order or the clock, so the same seed gives the same world.
"""

from __future__ import annotations

import dataclasses
import math
import random
from dataclasses import dataclass, field

from faker import Faker

from wangge.demo import names
from wangge.demo.data import (
    AssignmentRow,
    CompanyRow,
    DepartmentRow,
    PartyRow,
    PersonRow,
    PlaceRow,
    UnitRow,
    World,
)
from wangge.demo.layout import Frame, Rect, Tiling, apportion, cut, split

DEFAULT_SEED = 20240601


class PlaceBook:
    """Collects place rows; rectangles registered here get boundaries that tile exactly."""

    def __init__(self, frame: Frame) -> None:
        self.frame = frame
        self.tiling = Tiling(frame)
        self.rows: list[PlaceRow] = []
        self.by_code: dict[str, PlaceRow] = {}

    @classmethod
    def framed(
        cls, rng: random.Random, centre: tuple[float, float], *, angle: float, warp: float, wavelength: float
    ) -> PlaceBook:
        """A book whose local metres are rotated and warped onto WGS-84 around ``centre``."""
        phase = rng.uniform(0, 2 * math.pi)
        return cls(
            Frame(lat=centre[0], lng=centre[1], angle=angle, warp=warp, wavelength=wavelength, phase=phase)
        )

    def add_chain(self, *levels: tuple[tuple[str, str], Rect]) -> list[str]:
        """Add county → street → community (as many levels as given), each under the one before.

        Each level is ``((segment, name), rect)``; returns the codes, top first.
        """
        kinds = ("county", "street", "community")
        codes: list[str] = []
        for kind, ((segment, name), rect) in zip(kinds, levels, strict=False):
            parent = codes[-1] if codes else None
            codes.append(self.add(kind=kind, name=name, parent=parent, segment=segment, rect=rect))
        return codes

    def add(
        self,
        *,
        kind: str,
        name: str,
        parent: str | None,
        segment: str,
        rect: Rect | None = None,
        footprint: Rect | None = None,
        point: tuple[float, float] | None = None,
        sort_order: int = 0,
    ) -> str:
        """Add a place and return its code.

        ``rect`` joins the tiling; ``footprint`` is a stand-alone small polygon (a building);
        ``point`` (lat, lng) is for places without a boundary (units, houses).
        """
        code = (parent or "") + segment
        boundary = None
        if rect is not None:
            self.tiling.add(code, rect)
            lat, lng = self.frame.point(*rect.centre)
        elif footprint is not None:
            boundary = self.frame.quad(footprint)
            lat, lng = self.frame.point(*footprint.centre)
        elif point is not None:
            lat, lng = point
        else:
            raise ValueError("a place needs a rectangle, a footprint or a point")
        row = PlaceRow(
            code=code,
            kind=kind,
            name=name,
            parent_code=parent,
            segment=segment,
            lat=lat,
            lng=lng,
            boundary=boundary,
            sort_order=sort_order,
        )
        self.rows.append(row)
        self.by_code[code] = row
        return code

    def finish(self) -> list[PlaceRow]:
        polygons = self.tiling.polygons()
        return [
            dataclasses.replace(row, boundary=polygons[row.code]) if row.code in polygons else row
            for row in self.rows
        ]


class PeopleBook:
    """Staff with Chinese names and unique mobile numbers from a seeded Faker."""

    def __init__(self, fake: Faker) -> None:
        self.fake = fake
        self.phones: set[str] = set()
        self.rows: list[PersonRow] = []

    def phone(self) -> str:
        while True:
            number = "".join(c for c in self.fake.phone_number() if c.isdigit())
            if len(number) == 11 and number.startswith("1") and number not in self.phones:
                self.phones.add(number)
                return number

    def add(
        self,
        username: str,
        *,
        demo_username: str | None = None,
        demo_only: bool = False,
        display_name: str | None = None,
        is_superuser: bool = False,
        phone: bool = True,
    ) -> str:
        self.rows.append(
            PersonRow(
                username=username,
                display_name=display_name or self.fake.name(),
                phone=self.phone() if phone else "",
                demo_username=demo_username,
                demo_only=demo_only,
                is_superuser=is_superuser,
            )
        )
        return username


@dataclass
class BuildingPlan:
    """A residential building: units (单元) × floors × doors per floor, less merged top-floor flats."""

    number: int
    units: int
    floors: int
    doors: int
    short_top: set[int] = field(default_factory=set)  # units whose top floor has one door fewer

    @property
    def houses(self) -> int:
        return self.units * self.floors * self.doors - len(self.short_top)

    def rooms(self, unit: int) -> list[tuple[int, int]]:
        """(floor, door) of every house of a unit."""
        result = []
        for floor in range(1, self.floors + 1):
            doors = self.doors - (1 if floor == self.floors and unit in self.short_top else 0)
            result += [(floor, door) for door in range(1, doors + 1)]
        return result


def fit_houses(plans: list[BuildingPlan], target: int, rng: random.Random, *, low: int, high: int) -> None:
    """Adjust floors (within ``low``–``high``) and merge a few top-floor flats (复式) so that
    the houses add up to exactly ``target``."""
    total = sum(p.units * p.floors * p.doors for p in plans)
    window = sum(p.units for p in plans) // 2
    if window < max(p.units * p.doors for p in plans):
        raise ValueError("too few units to fit the number of houses exactly")
    while not (target <= total <= target + window):
        if total < target:
            plan = rng.choice([p for p in plans if p.floors < high])
            plan.floors += 1
            total += plan.units * plan.doors
        else:
            plan = rng.choice([p for p in plans if p.floors > low])
            plan.floors -= 1
            total -= plan.units * plan.doors
    units = [(p.number, u) for p in plans for u in range(1, p.units + 1)]
    by_number = {p.number: p for p in plans}
    for number, unit in rng.sample(units, total - target):
        by_number[number].short_top.add(unit)


def landline(rng: random.Random, area: str) -> str:
    return f"{area}-{rng.randint(81000000, 89999999)}"


def add_building(
    book: PlaceBook,
    *,
    parent: str,
    plan: BuildingPlan,
    footprint: Rect,
    sort_order: int,
) -> tuple[str, list[str]]:
    """A building with its units and houses; returns its code and its houses' codes."""
    code = book.add(
        kind="building",
        name=f"{plan.number}号楼",
        parent=parent,
        segment=f"{plan.number:03d}",
        footprint=footprint,
        sort_order=sort_order,
    )
    point = (book.by_code[code].lat, book.by_code[code].lng)
    houses: list[str] = []
    for unit in range(1, plan.units + 1):
        unit_code = book.add(
            kind="unit", name=f"{unit}单元", parent=code, segment=f"{unit:02d}", point=point, sort_order=unit
        )
        for index, (floor, door) in enumerate(plan.rooms(unit)):
            houses.append(
                book.add(
                    kind="house",
                    name=f"{unit}-{floor:02d}{door:02d}",
                    parent=unit_code,
                    segment=f"{floor:02d}{door:02d}",
                    point=point,
                    sort_order=index,
                )
            )
    return code, houses


def footprints_in(
    area: Rect, plans: list[BuildingPlan], rng: random.Random, *, margin: int = 8
) -> list[Rect]:
    """Slab buildings stacked north to south inside ``area``, each well inside it."""
    inner = area.inset(margin)
    result = []
    bands = cut(-inner.y1, -inner.y0, [1.0] * len(plans), minimum=14)
    for (top, bottom), plan in zip(bands, plans, strict=True):
        band = bottom - top
        depth = min(12 + (3 if plan.floors >= 11 else 0), band - 4)
        length = min(plan.units * 14 + rng.randint(-2, 4), inner.width)
        x0 = inner.x0 + rng.randint(0, inner.width - length)
        y1 = -top - (band - depth) // 2
        result.append(Rect(x0, y1 - depth, x0 + length, y1))
    return result


def department_rows(
    rng: random.Random,
    prefix: str,
    county: str,
    area: str,
    table: tuple[tuple[str, str, str, tuple[str, ...]], ...],
) -> list[DepartmentRow]:
    return [
        DepartmentRow(
            key=f"{prefix}-{slug}",
            name=name,
            short_name=short,
            place_code=county,
            duty_phone=landline(rng, area),
            responsibilities=duties,
        )
        for slug, name, short, duties in table
    ]


def _jinan(seed: int, fake: Faker, people: PeopleBook) -> World:
    """济南市市中区 → 杆石桥街道 → 乐山小区社区."""
    rng = random.Random(f"{seed}:jinan")
    fake.seed_instance(f"{seed}:jinan")
    book = PlaceBook.framed(rng, names.LESHAN_CENTRE, angle=6.0, warp=9.0, wavelength=1100.0)
    world = World()
    community_rect = Rect(-320, -260, 320, 260)
    county, street, community = book.add_chain(
        (names.JINAN_COUNTY, Rect(-7000, -9000, 6000, 3000)),
        (names.GANGSHIQIAO, Rect(-1300, -1000, 1500, 1200)),
        (names.LESHAN, community_rect),
    )

    grid_rects = split(community_rect, [1.0] * names.LESHAN_GRIDS, rng, jitter=0.12, minimum=120)
    courtyard_counts = apportion(names.LESHAN_COURTYARDS, names.LESHAN_GRIDS, rng, spread=0.1, low=5)
    building_counts = apportion(names.LESHAN_BUILDINGS, names.LESHAN_COURTYARDS, rng, spread=0.5, low=1)
    plans: list[BuildingPlan] = []
    for number in range(1, names.LESHAN_BUILDINGS + 1):
        floors = rng.choice([6, 6, 6, 6, 7, 7, 11, 18])
        plans.append(
            BuildingPlan(
                number=number,
                units=rng.choice([2, 3, 3, 4]),
                floors=floors,
                doors=rng.choice([2, 3]) if floors >= 11 else 2,
            )
        )
    fit_houses(plans, names.LESHAN_HOUSES, rng, low=6, high=18)

    grids: list[str] = []
    courtyards: list[tuple[int, str]] = []  # (grid number, code)
    buildings_of: dict[str, list[tuple[BuildingPlan, str]]] = {}  # courtyard → buildings
    houses_of: dict[str, list[str]] = {}  # courtyard → houses
    grid_buildings: dict[int, list[str]] = {}
    next_courtyard = 1
    next_plan = 0
    for g, (grid_rect, count) in enumerate(zip(grid_rects, courtyard_counts, strict=True), start=1):
        grid = book.add(
            kind="grid",
            name=names.grid_name(g),
            parent=community,
            segment=f"{g:03d}",
            rect=grid_rect,
            sort_order=g,
        )
        grids.append(grid)
        grid_buildings[g] = []
        for i, yard_rect in enumerate(split(grid_rect, [1.0] * count, rng, jitter=0.2, minimum=50), start=1):
            n = next_courtyard
            next_courtyard += 1
            yard = book.add(
                kind="micro_grid",
                name=f"乐山小区{n}号院",
                parent=grid,
                segment=f"{n:03d}",
                rect=yard_rect,
                sort_order=i,
            )
            courtyards.append((g, yard))
            yard_plans = plans[next_plan : next_plan + building_counts[n - 1]]
            next_plan += len(yard_plans)
            buildings_of[yard] = []
            houses_of[yard] = []
            for j, (plan, footprint) in enumerate(
                zip(yard_plans, footprints_in(yard_rect, yard_plans, rng), strict=True), start=1
            ):
                code, houses = add_building(book, parent=yard, plan=plan, footprint=footprint, sort_order=j)
                buildings_of[yard].append((plan, code))
                houses_of[yard] += houses
                grid_buildings[g].append(code)
    world.places = book.finish()

    # Organisations of the county: departments, property companies, co-building units.
    world.departments = department_rows(rng, "jinan", county, "0531", names.JINAN_DEPARTMENTS)
    for i, company in enumerate(names.LESHAN_PROPERTY_COMPANIES, start=1):
        managed = [b for g in sorted(grid_buildings) if (g <= 3) == (i == 1) for b in grid_buildings[g]]
        world.companies.append(
            CompanyRow(
                key=f"leshan-{i}",
                name=company,
                credit_code=names.credit_code("370103", rng.randint(10**7, 10**8 - 1)),
                place_code=community,
                service_phone=landline(rng, "0531"),
                managed_codes=tuple(managed),
            )
        )
    world.units = [
        UnitRow(name=n, kind=k, place_code=community, contact_name=fake.name(), contact_phone=people.phone())
        for n, k in names.LESHAN_UNITS
    ]

    # People and their posts (定人、定岗、定责).
    assign = world.assignments
    person = people.add
    assign.append(AssignmentRow(person("szq-county"), "county_staff", county, "区社会治理服务中心"))
    for dept in world.departments:
        slug = dept.key.removeprefix("jinan-")
        username = person(f"szq-{slug}", demo_username="dept" if slug == "zjj" else None)
        assign.append(AssignmentRow(username, "department_staff", county, "部门联络员", department=dept.key))
    assign.append(
        AssignmentRow(person("gsq-staff", demo_username="street"), "street_staff", street, "街道网格中心")
    )
    assign.append(
        AssignmentRow(
            person("ls-staff", demo_username="community"), "community_staff", community, "社区工作者"
        )
    )
    secretary = person("ls-secretary")
    assign.append(AssignmentRow(secretary, "party_secretary", community, "社区党委书记"))
    leaders: dict[int, str] = {}
    for g, grid in enumerate(grids, start=1):
        leaders[g] = person(f"ls-g{g}-leader")
        assign.append(AssignmentRow(leaders[g], "grid_leader", grid, "网格长"))
        demo = {1: "grid1", 2: "grid2"}.get(g)
        assign.append(
            AssignmentRow(person(f"ls-g{g}-worker", demo_username=demo), "grid_worker", grid, "专职网格员")
        )
        for k in range(1, rng.randint(1, 2) + 1):
            assign.append(
                AssignmentRow(person(f"ls-g{g}-part{k}"), "grid_worker_part_time", grid, "兼职网格员")
            )
    yard_leaders: dict[str, str] = {}
    for n, (_g, yard) in enumerate(courtyards, start=1):
        yard_leaders[yard] = person(f"ls-c{n:02d}-leader")
        assign.append(AssignmentRow(yard_leaders[yard], "courtyard_leader", yard, "庭院长"))
    for company_row in world.companies:
        i = int(company_row.key.rsplit("-", 1)[1])
        username = person(f"ls-pc{i}-staff")
        assign.append(
            AssignmentRow(
                username, "property_staff", community, "物业项目经理", property_company=company_row.key
            )
        )
    # Couriers and delivery riders enlisted as supervisors over the street (双报到 riders).
    for slug, role, title in (
        ("rider-traffic", "traffic_supervisor", "快递小哥·交通安全监督员"),
        ("rider-facilities", "facilities_supervisor", "外卖骑手·市政设施监督员"),
        ("rider-appearance", "appearance_supervisor", "快递小哥·市容环境监督员"),
        ("rider-volunteer", "community_volunteer", "外卖骑手·社区志愿者"),
    ):
        assign.append(AssignmentRow(person(f"gsq-{slug}"), role, street, title))
    # The demo resident lives in grid 1 (the first building of its first courtyard).
    first_yard = courtyards[0][1]
    resident_home = next(h for h in houses_of[first_yard] if book.by_code[h].name == "1-0302")
    assign.append(
        AssignmentRow(person("resident", demo_only=True, phone=False), "resident", resident_home, "居民")
    )

    # Party organisation: 社区党委 → 网格党支部 → 庭院党小组 → 党员中心户.
    committee_members, branch_members = 7, 3
    household_plan: list[tuple[str, list[str], list[int]]] = []
    for _g, yard in courtyards:
        count = rng.choice([0, 1, 1, 2])
        homes = sorted(rng.sample(houses_of[yard], count))
        household_plan.append((yard, homes, [rng.choice([1, 1, 2]) for _ in homes]))
    household_members = sum(sum(m) for _y, _h, m in household_plan)
    group_total = (
        names.LESHAN_PARTY_MEMBERS - committee_members - branch_members * len(grids) - household_members
    )
    group_members = apportion(group_total, len(courtyards), rng, spread=0.4, low=3)
    party = world.party
    party.append(
        PartyRow(
            "ls-committee", "committee", "乐山小区社区党委", community, None, secretary, committee_members
        )
    )
    for g, grid in enumerate(grids, start=1):
        party.append(
            PartyRow(
                f"ls-branch-{g}",
                "branch",
                f"乐山小区社区{names.grid_name(g)}党支部",
                grid,
                "ls-committee",
                leaders[g],
                branch_members,
            )
        )
    yard_number = {yard: n for n, (_g, yard) in enumerate(courtyards, start=1)}
    for (g, yard), members, (_yard, homes, home_members) in zip(
        courtyards, group_members, household_plan, strict=True
    ):
        n = yard_number[yard]
        group_key = f"ls-group-{n}"
        party.append(
            PartyRow(
                group_key,
                "group",
                f"乐山小区{n}号院庭院党小组",
                yard,
                f"ls-branch-{g}",
                yard_leaders[yard],
                members,
            )
        )
        for home, count in zip(homes, home_members, strict=True):
            building = book.by_code[home[:-6]].name
            party.append(
                PartyRow(
                    f"ls-household-{home}",
                    "household",
                    f"党员中心户（{building}{book.by_code[home].name}）",
                    home,
                    group_key,
                    None,
                    count,
                )
            )
    world.people = people.rows
    people.rows = []
    return world


def _taian(seed: int, fake: Faker, people: PeopleBook) -> World:
    """泰安市泰山区 → 财源街道 → 东湖社区."""
    rng = random.Random(f"{seed}:taian")
    fake.seed_instance(f"{seed}:taian")
    book = PlaceBook.framed(rng, names.DONGHU_CENTRE, angle=-9.0, warp=10.0, wavelength=1300.0)
    world = World()
    community_rect = Rect(-360, -300, 360, 300)
    county, street, community = book.add_chain(
        (names.TAIAN_COUNTY, Rect(-6000, -7000, 7000, 5000)),
        (names.CAIYUAN, Rect(-1200, -1100, 1400, 1300)),
        (names.DONGHU, community_rect),
    )
    per_grid = names.DONGHU_BUILDINGS // names.DONGHU_GRIDS
    plans = [
        # Six- and seven-storey walk-ups of three or four units: about 50 households each.
        BuildingPlan(number=n, units=rng.choice([3, 4, 4, 4]), floors=rng.choice([6, 6, 7]), doors=2)
        for n in range(1, names.DONGHU_BUILDINGS + 1)
    ]
    fit_houses(plans, names.DONGHU_HOUSES, rng, low=6, high=18)
    grids: list[str] = []
    buildings: list[tuple[int, str]] = []  # (grid number, code)
    for g, grid_rect in enumerate(
        split(community_rect, [1.0] * names.DONGHU_GRIDS, rng, jitter=0.12, minimum=150), start=1
    ):
        grid = book.add(
            kind="grid",
            name=names.grid_name(g),
            parent=community,
            segment=f"{g:03d}",
            rect=grid_rect,
            sort_order=g,
        )
        grids.append(grid)
        grid_plans = plans[(g - 1) * per_grid : g * per_grid]
        # Plots (not places): each building sits well inside its own plot of the grid.
        plots = split(grid_rect.inset(4), [1.0] * len(grid_plans), rng, jitter=0.2, minimum=40)
        for j, (plan, plot) in enumerate(zip(grid_plans, plots, strict=True), start=1):
            (footprint,) = footprints_in(plot, [plan], rng, margin=6)
            code, _houses = add_building(book, parent=grid, plan=plan, footprint=footprint, sort_order=j)
            buildings.append((g, code))
    world.places = book.finish()

    world.departments = department_rows(rng, "taian", county, "0538", names.TAIAN_DEPARTMENTS)
    world.companies.append(
        CompanyRow(
            key="donghu-1",
            name=names.DONGHU_PROPERTY_COMPANY,
            credit_code=names.credit_code("370902", rng.randint(10**7, 10**8 - 1)),
            place_code=community,
            service_phone=landline(rng, "0538"),
            managed_codes=tuple(code for _g, code in buildings),
        )
    )
    world.units = [
        UnitRow(name=n, kind=k, place_code=community, contact_name=fake.name(), contact_phone=people.phone())
        for n, k in names.DONGHU_UNITS
    ]

    assign = world.assignments
    person = people.add
    for dept in world.departments:
        slug = dept.key.removeprefix("taian-")
        assign.append(
            AssignmentRow(
                person(f"tsq-{slug}"), "department_staff", county, "部门联络员", department=dept.key
            )
        )
    assign.append(AssignmentRow(person("cy-staff"), "street_staff", street, "街道网格中心"))
    assign.append(AssignmentRow(person("dh-staff"), "community_staff", community, "社区工作者"))
    secretary = person("dh-secretary")
    assign.append(AssignmentRow(secretary, "party_secretary", community, "社区党委书记"))
    leaders: dict[int, str] = {}
    for g, grid in enumerate(grids, start=1):
        leaders[g] = person(f"dh-g{g}-leader")
        assign.append(AssignmentRow(leaders[g], "grid_leader", grid, "网格长"))
        assign.append(AssignmentRow(person(f"dh-g{g}-worker"), "grid_worker", grid, "专职网格员"))
        for k in range(1, names.DONGHU_PART_TIME_PER_GRID + 1):
            username = person(f"dh-g{g}-part{k}")
            if k == 1:
                # Property staff serve as part-time grid workers (物业兼职网格员).
                assign.append(AssignmentRow(username, "grid_worker_part_time", grid, "物业兼职网格员"))
                assign.append(
                    AssignmentRow(
                        username, "property_staff", community, "物业管家", property_company="donghu-1"
                    )
                )
            else:
                assign.append(AssignmentRow(username, "grid_worker_part_time", grid, "兼职网格员"))
    building_leaders: dict[str, str] = {}
    for _g, code in buildings:
        number = int(code[-3:])
        building_leaders[code] = person(f"dh-b{number:02d}-leader")
        assign.append(AssignmentRow(building_leaders[code], "building_leader", code, "楼长"))

    party = world.party
    party.append(PartyRow("dh-committee", "committee", "东湖社区党委", community, None, secretary, 7))
    for g, grid in enumerate(grids, start=1):
        party.append(
            PartyRow(
                f"dh-branch-{g}",
                "branch",
                f"东湖社区{names.grid_name(g)}党支部",
                grid,
                "dh-committee",
                leaders[g],
                3,
            )
        )
    for g, code in buildings:
        number = int(code[-3:])
        party.append(
            PartyRow(
                f"dh-group-{number}",
                "group",
                f"东湖社区{number}号楼楼院党小组",
                code,
                f"dh-branch-{g}",
                building_leaders[code],
                rng.randint(5, 12),
            )
        )
    world.people = people.rows
    people.rows = []
    return world


def generate(seed: int = DEFAULT_SEED) -> World:
    """The whole demo territory for ``seed``, demo accounts marked but not applied."""
    fake = Faker("zh_CN")
    people = PeopleBook(fake)
    fake.seed_instance(f"{seed}:platform")
    platform = World()
    people.add("admin", demo_only=True, display_name="平台管理员", is_superuser=True, phone=False)
    platform.people = people.rows
    people.rows = []
    world = World()
    world.extend(platform)
    world.extend(_jinan(seed, fake, people))
    world.extend(_taian(seed, fake, people))
    return world
