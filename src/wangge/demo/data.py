"""Plain data of a generated territory: what ``generate`` returns and ``write`` stores.

Nothing here touches the database, so the same seed can be generated twice and compared.
Places are referred to by code, people by username, organisations by key.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

DEMO_PASSWORD = "wangge-demo"  # noqa: S105 - the published password of the demo accounts (contract)


@dataclass(frozen=True)
class PlaceRow:
    code: str
    kind: str
    name: str
    parent_code: str | None
    segment: str
    lat: float
    lng: float
    boundary: dict[str, Any] | None = None
    sort_order: int = 0


@dataclass(frozen=True)
class PersonRow:
    """A staff member. ``demo_username`` replaces ``username`` when demo accounts are on;
    ``demo_only`` people (the platform administrator, the demo resident) exist only then."""

    username: str
    display_name: str
    phone: str = ""
    demo_username: str | None = None
    demo_only: bool = False
    is_superuser: bool = False
    is_demo: bool = False


@dataclass(frozen=True)
class AssignmentRow:
    username: str
    role: str
    place_code: str
    title: str = ""
    department: str | None = None
    property_company: str | None = None


@dataclass(frozen=True)
class DepartmentRow:
    key: str
    name: str
    short_name: str
    place_code: str
    duty_phone: str
    responsibilities: tuple[str, ...]


@dataclass(frozen=True)
class CompanyRow:
    key: str
    name: str
    credit_code: str
    place_code: str
    service_phone: str
    managed_codes: tuple[str, ...]


@dataclass(frozen=True)
class UnitRow:
    name: str
    kind: str
    place_code: str
    contact_name: str
    contact_phone: str


@dataclass(frozen=True)
class PartyRow:
    """``member_count``: members organised directly in this organisation, not in its children."""

    key: str
    level: str
    name: str
    place_code: str
    parent_key: str | None
    secretary: str | None
    member_count: int


@dataclass
class World:
    places: list[PlaceRow] = field(default_factory=list)
    people: list[PersonRow] = field(default_factory=list)
    departments: list[DepartmentRow] = field(default_factory=list)
    companies: list[CompanyRow] = field(default_factory=list)
    units: list[UnitRow] = field(default_factory=list)
    assignments: list[AssignmentRow] = field(default_factory=list)
    party: list[PartyRow] = field(default_factory=list)

    def extend(self, other: World) -> None:
        for f in dataclasses.fields(self):
            getattr(self, f.name).extend(getattr(other, f.name))

    def digest(self) -> str:
        """SHA-256 of everything generated, to compare two generations."""
        blob = json.dumps(dataclasses.asdict(self), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()

    def with_accounts(self, enabled: bool) -> World:
        """The world as it is written: demo usernames applied, or demo-only people left out."""
        if enabled:
            rename = {p.username: p.demo_username for p in self.people if p.demo_username}
            people = [
                dataclasses.replace(p, username=rename.get(p.username, p.username), is_demo=True)
                if p.demo_username or p.demo_only
                else p
                for p in self.people
            ]
            keep = {p.username for p in self.people}
        else:
            rename = {}
            people = [p for p in self.people if not p.demo_only]
            keep = {p.username for p in people}
        return World(
            places=list(self.places),
            people=people,
            departments=list(self.departments),
            companies=list(self.companies),
            units=list(self.units),
            assignments=[
                dataclasses.replace(a, username=rename.get(a.username, a.username))
                for a in self.assignments
                if a.username in keep
            ],
            party=[
                dataclasses.replace(
                    p,
                    secretary=rename.get(p.secretary, p.secretary) if p.secretary in keep else None,
                )
                for p in self.party
            ],
        )

    def counts(self) -> dict[str, int]:
        kinds = Counter(p.kind for p in self.places)
        return {
            "places": len(self.places),
            "counties": kinds["county"],
            "streets": kinds["street"],
            "communities": kinds["community"],
            "grids": kinds["grid"],
            "micro_grids": kinds["micro_grid"],
            "buildings": kinds["building"],
            "units": kinds["unit"],
            "houses": kinds["house"],
            "users": len(self.people),
            "demo_accounts": sum(1 for p in self.people if p.is_demo),
            "assignments": len(self.assignments),
            "departments": len(self.departments),
            "property_companies": len(self.companies),
            "co_building_units": len(self.units),
            "party_organizations": len(self.party),
            "party_members": sum(p.member_count for p in self.party),
        }
