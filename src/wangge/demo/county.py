"""A county-sized territory for load tests: ``generate_county(seed)`` → ``World``.

Modelled on 兰陵县 (371324) as the seed articles report it: 21 urban communities across
several street offices and towns, 405 base grids (网格) and 2,971 micro-grids (微网格);
595 full-time community workers (one grid worker per grid, a party secretary and
community staff per community) and 160 compound party branches (小区党支部) under 21
community committees. Communities tile their street, grids their community, micro-grids
their grid.
"""

from __future__ import annotations

import random

from faker import Faker

from wangge.demo import names
from wangge.demo.data import AssignmentRow, PartyRow, World
from wangge.demo.generate import PeopleBook, PlaceBook
from wangge.demo.layout import Rect, apportion, split

COUNTY_CODE = names.LANLING_COUNTY[0]


def generate_county(seed: int) -> World:
    rng = random.Random(f"{seed}:lanling")
    fake = Faker("zh_CN")
    fake.seed_instance(f"{seed}:lanling")
    people = PeopleBook(fake)
    book = PlaceBook.framed(rng, names.LANLING_CENTRE, angle=4.0, warp=30.0, wavelength=3200.0)
    world = World()
    (county,) = book.add_chain((names.LANLING_COUNTY, Rect(-30000, -26000, 18000, 24000)))

    community_names = [(s, c) for s, (_seg, _name, cs) in enumerate(names.LANLING_STREETS) for c in cs]
    grid_counts = apportion(names.LANLING_GRIDS, len(community_names), rng, spread=0.35, low=10)
    micro_counts = apportion(names.LANLING_MICRO_GRIDS, names.LANLING_GRIDS, rng, spread=0.4, low=3)
    staff_counts = apportion(
        names.LANLING_WORKERS - names.LANLING_GRIDS - len(community_names),
        len(community_names),
        rng,
        spread=0.2,
    )
    branch_counts = apportion(names.LANLING_BRANCHES, len(community_names), rng, spread=0.3, low=3)

    street_weights = [
        float(sum(n for (s, _c), n in zip(community_names, grid_counts, strict=True) if s == index))
        for index in range(len(names.LANLING_STREETS))
    ]
    urban = Rect(-5500, -4000, 5500, 4000)
    street_rects = split(urban, street_weights, rng, jitter=0.05, minimum=1500)
    community_index = 0
    micro_index = 0
    for (segment, street_name, communities), street_rect in zip(
        names.LANLING_STREETS, street_rects, strict=True
    ):
        street = book.add(kind="street", name=street_name, parent=county, segment=segment, rect=street_rect)
        counts = grid_counts[community_index : community_index + len(communities)]
        community_rects = split(street_rect, [float(c) for c in counts], rng, jitter=0.1, minimum=600)
        for k, (community_name, community_rect, grid_count) in enumerate(
            zip(communities, community_rects, counts, strict=True), start=1
        ):
            c = community_index + 1
            community = book.add(
                kind="community",
                name=community_name,
                parent=street,
                segment=f"{k:03d}",
                rect=community_rect,
                sort_order=k,
            )
            grids: list[str] = []
            grid_rects = split(community_rect, [1.0] * grid_count, rng, jitter=0.2, minimum=80)
            for g, grid_rect in enumerate(grid_rects, start=1):
                grid = book.add(
                    kind="grid",
                    name=names.grid_name(g),
                    parent=community,
                    segment=f"{g:03d}",
                    rect=grid_rect,
                    sort_order=g,
                )
                grids.append(grid)
                micro_rects = split(
                    grid_rect, [1.0] * micro_counts[micro_index], rng, jitter=0.25, minimum=15
                )
                micro_index += 1
                for m, micro_rect in enumerate(micro_rects, start=1):
                    book.add(
                        kind="micro_grid",
                        name=f"{m}号微网格",
                        parent=grid,
                        segment=f"{m:03d}",
                        rect=micro_rect,
                        sort_order=m,
                    )
            _community_people(
                world, people, rng, c, community_name, community, grids, staff_counts, branch_counts
            )
            community_index += 1
    world.places = book.finish()
    world.people = people.rows
    return world


def _community_people(
    world: World,
    people: PeopleBook,
    rng: random.Random,
    c: int,
    community_name: str,
    community: str,
    grids: list[str],
    staff_counts: list[int],
    branch_counts: list[int],
) -> None:
    """Full-time workers and the party organisation of community number ``c``."""
    prefix = f"ll-c{c:02d}"
    secretary = people.add(f"{prefix}-secretary")
    world.assignments.append(AssignmentRow(secretary, "party_secretary", community, "社区党组织书记"))
    for k in range(1, staff_counts[c - 1] + 1):
        world.assignments.append(
            AssignmentRow(people.add(f"{prefix}-staff{k}"), "community_staff", community, "社区专职工作者")
        )
    workers = []
    for g, grid in enumerate(grids, start=1):
        workers.append(people.add(f"{prefix}-g{g:02d}-worker"))
        world.assignments.append(AssignmentRow(workers[-1], "grid_worker", grid, "专职网格员"))
    committee = f"{prefix}-committee"
    world.party.append(
        PartyRow(committee, "committee", f"{community_name}党委", community, None, secretary, 7)
    )
    branches = branch_counts[c - 1]
    for b in range(1, branches + 1):
        g = (b - 1) * len(grids) // branches
        world.party.append(
            PartyRow(
                f"{prefix}-branch-{b}",
                "branch",
                f"{community_name}第{names.chinese_number(b)}小区党支部",
                grids[g],
                committee,
                workers[g],
                rng.randint(8, 30),
            )
        )
