"""The territory tree: county → street → community → grid → micro-grid → building → unit → house."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from wangge.core.fields import PathField
from wangge.core.scope import ScopedQuerySet, ScopeSpec


class PlaceKind(models.TextChoices):
    COUNTY = "county", _("County/district")
    STREET = "street", _("Street office")
    COMMUNITY = "community", _("Community")
    GRID = "grid", _("Grid")
    MICRO_GRID = "micro_grid", _("Micro-grid")
    BUILDING = "building", _("Building")
    UNIT = "unit", _("Unit")
    HOUSE = "house", _("House")


# Which kinds may sit under which. Micro-grid and unit are optional levels.
ALLOWED_PARENTS: dict[str, tuple[str, ...]] = {
    PlaceKind.COUNTY: (),
    PlaceKind.STREET: (PlaceKind.COUNTY,),
    PlaceKind.COMMUNITY: (PlaceKind.STREET,),
    PlaceKind.GRID: (PlaceKind.COMMUNITY,),
    PlaceKind.MICRO_GRID: (PlaceKind.GRID,),
    PlaceKind.BUILDING: (PlaceKind.MICRO_GRID, PlaceKind.GRID),
    PlaceKind.UNIT: (PlaceKind.BUILDING,),
    PlaceKind.HOUSE: (PlaceKind.UNIT, PlaceKind.BUILDING),
}

# Digits each kind adds to its parent's code. County 6 (GB/T 2260) + street 3 + community 3
# is the 12-digit statistical code; + grid 3 is the CJ/T 213 grid code.
SEGMENT_WIDTH: dict[str, int] = {
    PlaceKind.COUNTY: 6,
    PlaceKind.STREET: 3,
    PlaceKind.COMMUNITY: 3,
    PlaceKind.GRID: 3,
    PlaceKind.MICRO_GRID: 3,
    PlaceKind.BUILDING: 3,
    PlaceKind.UNIT: 2,
    PlaceKind.HOUSE: 4,
}

KIND_DEPTH = {kind: index for index, kind in enumerate(PlaceKind.values)}


class GridType(models.TextChoices):
    GENERAL = "general", _("General grid")
    SCHOOL = "school", _("School grid")
    ENTERPRISE = "enterprise", _("Enterprise grid")
    OTHER = "other", _("Other dedicated grid")


class Place(models.Model):
    """A node of the territory tree (地点): street, community, grid (网格), building, house…"""

    kind = models.CharField(_("kind"), max_length=16, choices=PlaceKind.choices)
    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    segment = models.CharField(max_length=8)
    code = models.CharField(_("code"), max_length=40, unique=True)
    path = PathField(unique=True)
    depth = models.PositiveSmallIntegerField(default=0)
    grid_type = models.CharField(
        _("grid type"), max_length=16, choices=GridType.choices, blank=True, default=""
    )
    # GeoJSON geometry (Polygon or MultiPolygon) in WGS-84, and a representative point.
    boundary = models.JSONField(_("boundary"), null=True, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    lng = models.FloatField(_("longitude"), null=True, blank=True)
    sort_order = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    objects: ClassVar[ScopedQuerySet[Place]] = ScopedQuerySet.as_manager()  # type: ignore[assignment]
    scope_spec = ScopeSpec(place_path="path", personal=False)

    class Meta:
        verbose_name = _("place")
        verbose_name_plural = _("places")
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "segment"], name="place_parent_segment_unique"),
            models.CheckConstraint(condition=models.Q(kind__in=PlaceKind.values), name="place_kind_valid"),
        ]
        indexes = [
            models.Index(fields=["kind", "path"], name="place_kind_path"),
            models.Index(fields=["path"], name="place_path_pattern", opclasses=["varchar_pattern_ops"]),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def stat_code(self) -> str:
        """The 12-digit statistical area code for street and community levels."""
        if self.kind in (PlaceKind.COUNTY, PlaceKind.STREET, PlaceKind.COMMUNITY):
            return self.code.ljust(12, "0")
        return self.code

    def ancestor_paths(self) -> list[str]:
        """Paths of this place and every place above it, top first."""
        parts = self.path.split(".")[:-1]
        return [".".join(parts[: i + 1]) + "." for i in range(len(parts))]

    def natural(self) -> dict[str, Any]:
        return {"id": self.pk, "kind": self.kind, "name": self.name, "code": self.code}


class LocatorState(models.Model):
    """One row: bumped whenever a boundary changes, so every process rebuilds its index."""

    version = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"locator v{self.version}"
