"""Page helpers of the registry: who may open which page, the place pickers, and the room chart
(楼盘表) shaped into rows and columns. The data itself comes from ``people.selectors``; the few
reads here start from ``Model.objects.visible_to(user)`` like every selector.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.functional import Promise
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from wangge.core import clock
from wangge.core.errors import NotFound
from wangge.core.roles import Capability
from wangge.core.scope import has_capability, scope_for
from wangge.people.models import CareGroup, House, HouseUse
from wangge.places.models import Place, PlaceKind

MAX_ID = 2**63 - 1

# Age bands of the search filter: key → (label, youngest, oldest or None).
AGE_BANDS: dict[str, tuple[str, int, int | None]] = {
    "0-14": ("0–14", 0, 14),
    "15-59": ("15–59", 15, 59),
    "60-79": ("60–79", 60, 79),
    "80+": ("80+", 80, None),
}

# One short marker per preset care group for room-chart cells (one character in Chinese).
CARE_MARKERS: dict[str, Promise] = {
    "elderly_alone": pgettext_lazy("care-group marker", "EA"),
    "solitary_elderly": pgettext_lazy("care-group marker", "SE"),
    "disabled": pgettext_lazy("care-group marker", "D"),
    "veteran": pgettext_lazy("care-group marker", "V"),
    "party_member": pgettext_lazy("care-group marker", "P"),
    "low_income": pgettext_lazy("care-group marker", "L"),
    "left_behind_child": pgettext_lazy("care-group marker", "C"),
    "serious_illness": pgettext_lazy("care-group marker", "I"),
    "special_attention": pgettext_lazy("care-group marker", "S"),
}

# Kinds the place pickers offer (buildings are reached from the building list and the tree).
PICKER_KINDS = (
    PlaceKind.COUNTY,
    PlaceKind.STREET,
    PlaceKind.COMMUNITY,
    PlaceKind.GRID,
    PlaceKind.MICRO_GRID,
)
PICKER_LIMIT = 500


def today() -> date:
    return clock.local_now().date()


def may_browse_registry(user: Any) -> bool:
    """Whether the user sees personal records by place (territorial staff, administrators)."""
    scope = scope_for(user)
    return scope.is_admin or bool(scope.territorial_paths)


def may_view_sensitive(user: Any, path: str | None = None) -> bool:
    return has_capability(user, Capability.VIEW_SENSITIVE, path)


def may_reveal(user: Any, path: str | None = None) -> bool:
    return has_capability(user, Capability.REVEAL_PII, path)


def personal_places(user: Any) -> QuerySet[Place]:
    """The places under which the user sees personal records, not only the territory."""
    scope = scope_for(user)
    qs = Place.objects.visible_to(user)
    if scope.is_admin:
        return qs
    condition = Q(pk__in=[])
    for prefix in scope.territorial_paths:
        condition |= Q(path__under=prefix)
    return qs.filter(condition)


def personal_place_get(user: Any, place_id: int, *, kinds: tuple[str, ...] | None = None) -> Place:
    """A place under which the user sees personal records, or NotFound (never saying why)."""
    if not 0 < place_id <= MAX_ID:
        raise NotFound(_("Place not found"))
    qs = personal_places(user).defer("boundary")
    if kinds:
        qs = qs.filter(kind__in=kinds)
    place = qs.filter(pk=place_id).first()
    if place is None:
        raise NotFound(_("Place not found"))
    return place


def picker_places(user: Any) -> list[Place]:
    """The places a subtree picker offers, in tree order."""
    qs = personal_places(user).filter(kind__in=PICKER_KINDS).defer("boundary").order_by("path")
    return list(qs[:PICKER_LIMIT])


def default_place(user: Any) -> Place | None:
    """The top of the user's personal scope: their first territorial place, or the first root."""
    scope = scope_for(user)
    qs = Place.objects.defer("boundary")
    if scope.is_admin:
        return qs.filter(parent__isnull=True).order_by("path").first()
    if not scope.territorial_paths:
        return None
    return qs.filter(path__in=scope.territorial_paths).order_by("path").first()


def care_group_name(name: str, name_en: str) -> str:
    """A care group's name in the page's language (the configured name is Chinese)."""
    language = get_language() or ""
    return name_en if name_en and language.startswith("en") else name


def care_names(groups: list[CareGroup]) -> dict[str, str]:
    return {g.code: care_group_name(g.name, g.name_en) for g in groups}


def marker_for(code: str, name: str) -> str:
    marker = CARE_MARKERS.get(code)
    return str(marker) if marker is not None else name[:1]


def address_names(paths: set[str], *, from_kind: str = PlaceKind.GRID) -> dict[str, list[str]]:
    """For each place path, the names along it from ``from_kind`` down (one query).

    The caller has already been allowed to see the places at ``paths``; the places above
    them are territory, which everyone working there may see.
    """
    wanted: set[str] = set()
    for path in paths:
        parts = path.split(".")[:-1]
        wanted.update(".".join(parts[: i + 1]) + "." for i in range(len(parts)))
    if not wanted:
        return {}
    depth_of = {kind: index for index, kind in enumerate(PlaceKind.values)}
    start = depth_of[from_kind]
    names = {
        p: (n, depth_of.get(k, 0))
        for p, n, k in Place.objects.filter(path__in=wanted).values_list("path", "name", "kind")
    }
    result: dict[str, list[str]] = {}
    for path in paths:
        parts = path.split(".")[:-1]
        chain = [names.get(".".join(parts[: i + 1]) + ".") for i in range(len(parts))]
        result[path] = [name for name, depth in (c for c in chain if c) if depth >= start]
    return result


# --- the room chart (楼盘表) ---------------------------------------------------------------


@dataclass
class Marker:
    code: str
    marker: str
    name: str


@dataclass
class RoomCell:
    place_id: int
    name: str
    room: str
    floor: int
    use: str
    use_label: str
    residents: int
    household_id: int | None
    house_id: int | None
    markers: list[Marker] = field(default_factory=list)


@dataclass
class UnitColumns:
    place_id: int | None
    name: str
    width: int


@dataclass
class FloorRow:
    floor: int
    # One list of cells per unit, each exactly as wide as its unit (None pads).
    units: list[list[RoomCell | None]]


@dataclass
class RoomChart:
    units: list[UnitColumns]
    rows: list[FloorRow]
    houses: int
    residents: int
    uses: list[dict[str, Any]]
    unregistered: int
    legend: list[Marker]


def shape_room_chart(raw: dict[str, Any], names: dict[str, str]) -> RoomChart:
    """``selectors.room_chart``'s units × floors as table rows: top floor first, the units
    side by side, every floor of a unit as wide as its widest floor. No queries."""
    order = {g["code"]: i for i, g in enumerate(raw["care_groups"])}
    use_labels = {u["key"]: u["label"] for u in raw["uses"]}
    seen: set[str] = set()
    columns: list[UnitColumns] = []
    grids: list[dict[int, list[RoomCell]]] = []
    unregistered = 0
    residents = 0
    houses = 0
    for unit in raw["units"]:
        by_floor: dict[int, list[RoomCell]] = {}
        for floor in unit["floors"]:
            cells = []
            for c in floor["cells"]:
                codes = sorted(
                    (code for code, on in c["markers"].items() if on), key=lambda k: order.get(k, 99)
                )
                seen.update(codes)
                use = c["use"] or "unregistered"
                unregistered += c["use"] is None
                residents += c["residents"]
                cells.append(
                    RoomCell(
                        place_id=c["place_id"],
                        name=c["name"],
                        room=c["room"],
                        floor=floor["floor"],
                        use=use,
                        use_label=str(use_labels.get(use, _("Not registered"))),
                        residents=c["residents"],
                        household_id=c["household_id"],
                        house_id=c["house_id"],
                        markers=[Marker(k, marker_for(k, names.get(k, k)), names.get(k, k)) for k in codes],
                    )
                )
            houses += len(cells)
            by_floor[floor["floor"]] = cells
        if not by_floor:
            continue
        columns.append(UnitColumns(unit["place_id"], unit["name"], max(len(v) for v in by_floor.values())))
        grids.append(by_floor)
    rows = []
    for floor in sorted({f for g in grids for f in g}, reverse=True):
        row: list[list[RoomCell | None]] = []
        for column, by_floor in zip(columns, grids, strict=True):
            here: list[RoomCell | None] = list(by_floor.get(floor, []))
            row.append(here + [None] * (column.width - len(here)))
        rows.append(FloorRow(floor=floor, units=row))
    legend = [
        Marker(
            g["code"], marker_for(g["code"], names.get(g["code"], g["name"])), names.get(g["code"], g["name"])
        )
        for g in raw["care_groups"]
        if g["code"] in seen
    ]
    return RoomChart(
        units=columns,
        rows=rows,
        houses=houses,
        residents=residents,
        uses=raw["uses"],
        unregistered=unregistered,
        legend=legend,
    )


def buildings_under(user: Any, place: Place) -> list[dict[str, Any]]:
    """The buildings under ``place`` with their numbers of houses and vacant houses (3 queries)."""
    buildings = list(
        personal_places(user)
        .filter(path__under=place.path, kind=PlaceKind.BUILDING)
        .defer("boundary")
        .order_by("path")[:1000]
    )
    if not buildings:
        return []
    by_path = {b.path: {"houses": 0, "vacant": 0} for b in buildings}
    houses = House.objects.visible_to(user).filter(place__path__under=place.path)
    for path, use in houses.values_list("place__path", "use").iterator(chunk_size=2000):
        # A house path is its building's path plus a unit segment (optional) and its own.
        parts = path.split(".")
        for cut in (-3, -2):
            entry = by_path.get(".".join(parts[:cut]) + ".")
            if entry is not None:
                entry["houses"] += 1
                entry["vacant"] += use == HouseUse.VACANT
                break
    trails = address_names(set(by_path), from_kind=PlaceKind.GRID)
    return [{"place": b, "trail": trails.get(b.path, [])[:-1], **by_path[b.path]} for b in buildings]
