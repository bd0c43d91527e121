"""Loading the demo community and the county-scale seed into the database.

``generate`` (pure, in ``demo.generate`` and ``demo.county``) makes plain data from a seed;
``write`` stores it through the bulk services of ``places`` and ``org`` as the system actor.
The demo's people (``demo.people``: houses, households, residents) are generated from the
same seed and written after the territory, by ``people.bulk``. Both loads run in one
transaction and do nothing when their territory is already there.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from tqdm import tqdm

from wangge.core import clock
from wangge.demo import names
from wangge.demo.cases import COUNT_KEYS as CASE_COUNT_KEYS
from wangge.demo.cases import load_demo_cases
from wangge.demo.county import COUNTY_CODE, generate_county
from wangge.demo.data import DEMO_PASSWORD, World
from wangge.demo.generate import DEFAULT_SEED, generate
from wangge.demo.people import POPULATION_COUNT_KEYS, generate_population, write_population
from wangge.open311.services import ensure_demo_client
from wangge.org.bulk import (
    AssignmentSpec,
    CoBuildingUnitSpec,
    DepartmentSpec,
    PartyOrganizationSpec,
    PropertyCompanySpec,
    UserSpec,
    org_bulk_create,
)
from wangge.places.bulk import PlaceSpec, places_bulk_create
from wangge.places.models import Place

logger = logging.getLogger("wangge.demo")

COUNT_KEYS = (*tuple(World().counts()), *POPULATION_COUNT_KEYS, *CASE_COUNT_KEYS, "already_loaded")
# Serialises concurrent loaders on PostgreSQL (SQLite's IMMEDIATE transactions already do).
_LOCK_KEY = 0x77616E67


def demo_is_loaded() -> bool:
    """Whether the demo community (乐山小区社区) is in the database."""
    return Place.objects.filter(code=names.LESHAN_CODE).exists()


def county_is_seeded() -> bool:
    return Place.objects.filter(code=COUNTY_CODE).exists()


def _lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])


def _nothing() -> dict[str, int]:
    return {**dict.fromkeys(COUNT_KEYS, 0), "already_loaded": 1}


def write(world: World, *, label: str, progress: bool = False) -> dict[str, int]:
    """Store ``world`` (demo accounts already applied) as the system actor; return its counts."""
    total = (
        len(world.places)
        + len(world.people)
        + len(world.departments)
        + len(world.companies)
        + len(world.units)
        + len(world.assignments)
        + len(world.party)
    )
    with transaction.atomic(), tqdm(total=total, desc=label, unit=" rows", disable=not progress) as bar:

        def update(count: int) -> None:
            bar.update(count)

        places = places_bulk_create(
            actor=None,
            specs=[
                PlaceSpec(
                    key=row.code,
                    kind=row.kind,
                    name=row.name,
                    parent=row.parent_code,
                    segment=row.segment,
                    boundary=row.boundary,
                    lat=row.lat,
                    lng=row.lng,
                    sort_order=row.sort_order,
                )
                for row in world.places
            ],
            label=label,
            on_progress=update,
        )
        # One slow hash for every demo account, not one each.
        demo_hash = make_password(DEMO_PASSWORD) if any(p.is_demo for p in world.people) else None
        org_bulk_create(
            actor=None,
            users=[
                UserSpec(
                    username=p.username,
                    display_name=p.display_name,
                    phone=p.phone,
                    password_hash=demo_hash if p.is_demo else None,
                    is_demo=p.is_demo,
                    is_staff=p.is_superuser,
                    is_superuser=p.is_superuser,
                )
                for p in world.people
            ],
            departments=[
                DepartmentSpec(
                    key=d.key,
                    name=d.name,
                    short_name=d.short_name,
                    place=places[d.place_code],
                    duty_phone=d.duty_phone,
                    responsibilities=d.responsibilities,
                )
                for d in world.departments
            ],
            property_companies=[
                PropertyCompanySpec(
                    key=c.key,
                    name=c.name,
                    place=places[c.place_code],
                    credit_code=c.credit_code,
                    service_phone=c.service_phone,
                    managed_places=tuple(places[code] for code in c.managed_codes),
                )
                for c in world.companies
            ],
            units=[
                CoBuildingUnitSpec(
                    name=u.name,
                    kind=u.kind,
                    place=places[u.place_code],
                    contact_name=u.contact_name,
                    contact_phone=u.contact_phone,
                )
                for u in world.units
            ],
            assignments=[
                AssignmentSpec(
                    user=a.username,
                    role=a.role,
                    place=places[a.place_code],
                    department=a.department,
                    property_company=a.property_company,
                    title=a.title,
                )
                for a in world.assignments
            ],
            party_organizations=[
                PartyOrganizationSpec(
                    key=p.key,
                    level=p.level,
                    name=p.name,
                    place=places[p.place_code],
                    parent=p.parent_key,
                    secretary=p.secretary,
                    member_count=p.member_count,
                )
                for p in world.party
            ],
            label=label,
            on_progress=update,
        )
    return {**world.counts(), "already_loaded": 0}


def load_demo(
    *, seed: int = DEFAULT_SEED, progress: bool = False, demo_accounts: bool | None = None
) -> dict[str, int]:
    """Load the demo territory once; a second call changes nothing and says so.

    ``demo_accounts`` None creates the demo accounts (password ``wangge-demo``) only when
    the process runs in demo mode.
    """
    accounts = settings.DEMO if demo_accounts is None else demo_accounts
    if demo_is_loaded():
        logger.info("The demo community is already loaded; nothing to do.")
        return _nothing()
    generated = generate(seed)
    world = generated.with_accounts(accounts)
    population = generate_population(generated, seed=seed, today=clock.local_now().date())
    with transaction.atomic():
        _lock()
        if demo_is_loaded():  # another process loaded it while we were generating
            logger.info("The demo community is already loaded; nothing to do.")
            return _nothing()
        counts = write(world, label="demo", progress=progress)
        if accounts:
            ensure_demo_client()  # the Open311 demo key wangge-demo-open311
        counts = {**counts, **write_population(population, progress=progress)}
        counts = {**counts, **load_demo_cases(seed=seed)}
    logger.info(
        "Loaded the demo: %(places)d places (%(houses)d houses), %(users)d users "
        "(%(demo_accounts)d demo accounts), %(party_organizations)d party organisations, "
        "%(households)d households and %(residents)d residents.",
        counts,
    )
    return counts


def seed_county(*, seed: int = DEFAULT_SEED, progress: bool = False) -> dict[str, int]:
    """Seed 兰陵县: 21 communities, 405 grids, 2,971 micro-grids and their staff, once."""
    if county_is_seeded():
        logger.info("兰陵县 (%s) is already seeded; nothing to do.", COUNTY_CODE)
        return _nothing()
    world = generate_county(seed)
    with transaction.atomic():
        _lock()
        if county_is_seeded():
            logger.info("兰陵县 (%s) is already seeded; nothing to do.", COUNTY_CODE)
            return _nothing()
        counts = write(world, label="county", progress=progress)
    logger.info(
        "Seeded 兰陵县: %(communities)d communities, %(grids)d grids, %(micro_grids)d micro-grids, "
        "%(users)d staff accounts.",
        counts,
    )
    return counts
