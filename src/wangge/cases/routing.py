"""Who owns a new case: the category's default level, resolved against the place.

小事不出网格、急事不出社区、难事不出街道: a grid-level category goes to the grid the place
lies in, a community-level one to its community, and so on. A department-level category
goes to the category's department; a property matter to the company managing the place.
When the level has no unit at that place (a place outside every grid, a building without a
property company), the street office takes it (兜底).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import F

from wangge.cases.models import Category, OwnerLevel
from wangge.org.models import Department, PropertyCompany
from wangge.places.models import Place, PlaceKind

GRID_KINDS = (PlaceKind.GRID,)


@dataclass(frozen=True)
class Owner:
    place: Place | None = None
    department: Department | None = None
    property_company: PropertyCompany | None = None

    @property
    def label(self) -> str:
        unit = self.place or self.department or self.property_company
        return str(unit) if unit is not None else ""


def ancestors(place: Place) -> list[Place]:
    """The place and every place above it, nearest first (one query)."""
    prefixes = list(reversed(place.ancestor_paths()))
    by_path = {p.path: p for p in Place.objects.filter(path__in=prefixes)}
    return [by_path[p] for p in prefixes if p in by_path]


def unit_of(place: Place, kind: str) -> Place | None:
    """The place of ``kind`` at or above ``place``."""
    for p in ancestors(place):
        if p.kind == kind:
            return p
    return None


def street_of(place: Place) -> Place:
    street = unit_of(place, PlaceKind.STREET)
    if street is not None:
        return street
    # A place above every street (the county itself): its own root answers.
    return ancestors(place)[-1]


def property_company_of(place: Place) -> PropertyCompany | None:
    return (
        PropertyCompany.objects.filter(managed_places__path__in=place.ancestor_paths())
        .order_by("-managed_places__depth", "pk")
        .first()
    )


def property_companies_of(places: list[Place]) -> dict[str, PropertyCompany]:
    """``property_company_of`` for many places in one query, by place path."""
    wanted = {path for place in places for path in place.ancestor_paths()}
    managing: dict[str, tuple[int, PropertyCompany]] = {}
    for company in (
        PropertyCompany.objects.filter(managed_places__path__in=wanted)
        .annotate(managed_path=F("managed_places__path"), managed_depth=F("managed_places__depth"))
        .order_by("pk")
    ):
        managing.setdefault(company.managed_path, (company.managed_depth, company))
    found: dict[str, PropertyCompany] = {}
    for place in places:
        best = max(
            (managing[p] for p in place.ancestor_paths() if p in managing), key=lambda m: m[0], default=None
        )
        if best is not None:
            found[place.path] = best[1]
    return found


def departments_over(place: Place) -> list[Department]:
    """The active departments of the counties (and streets) above ``place``."""
    return list(
        Department.objects.filter(place__path__in=place.ancestor_paths(), is_active=True).order_by(
            "place__depth", "name"
        )
    )


def department_for(duty: str, place: Place) -> Department | None:
    """The department that answers for ``duty`` at ``place`` (the nearest one)."""
    if not duty:
        return None
    for department in reversed(departments_over(place)):
        if duty in (department.responsibilities or []):
            return department
    return None


def default_owner(category: Category, place: Place) -> Owner:
    level = category.owner_level
    if level == OwnerLevel.GRID:
        unit = unit_of(place, PlaceKind.GRID) or unit_of(place, PlaceKind.COMMUNITY)
        return Owner(place=unit or street_of(place))
    if level == OwnerLevel.COMMUNITY:
        return Owner(place=unit_of(place, PlaceKind.COMMUNITY) or street_of(place))
    if level == OwnerLevel.DEPARTMENT:
        department = department_for(category.duty, place)
        if department is not None:
            return Owner(department=department)
        return Owner(place=street_of(place))
    if level == OwnerLevel.PROPERTY:
        company = property_company_of(place)
        if company is not None:
            return Owner(property_company=company)
        return Owner(place=street_of(place))
    return Owner(place=street_of(place))


def next_level(place: Place) -> Place | None:
    """The unit an escalation goes to: grid (or micro-grid) → community → street → none."""
    if place.kind in (PlaceKind.GRID, PlaceKind.MICRO_GRID):
        return unit_of(place, PlaceKind.COMMUNITY) or street_of(place)
    if place.kind == PlaceKind.COMMUNITY:
        return street_of(place)
    if place.kind in (PlaceKind.BUILDING, PlaceKind.UNIT, PlaceKind.HOUSE):
        return unit_of(place, PlaceKind.GRID) or unit_of(place, PlaceKind.COMMUNITY) or street_of(place)
    return None
