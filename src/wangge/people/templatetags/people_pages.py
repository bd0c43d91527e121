"""Links from other pages into the registry's pages, shown only to users who may open them."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils.translation import gettext as _

from wangge.core.scope import can_see_path
from wangge.people.charts import may_browse_registry
from wangge.people.models import House
from wangge.places.models import Place, PlaceKind

register = template.Library()

AREA_KINDS = frozenset(
    {PlaceKind.COUNTY, PlaceKind.STREET, PlaceKind.COMMUNITY, PlaceKind.GRID, PlaceKind.MICRO_GRID}
)


@register.simple_tag(takes_context=True)
def registry_links(context: dict[str, Any], place: Place) -> list[dict[str, str]]:
    """The registry pages about ``place`` that the signed-in user may open (no query)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not may_browse_registry(user) or not can_see_path(user, place.path, personal=True):
        return []
    if place.kind == PlaceKind.BUILDING:
        return [
            {
                "label": _("Room chart"),
                "url": reverse("people:room_chart", args=[place.pk]),
                "key": "room-chart",
            }
        ]
    if place.kind == PlaceKind.HOUSE:
        house_id = House.objects.visible_to(user).filter(place=place).values_list("pk", flat=True).first()
        if house_id is None:
            return []
        return [
            {
                "label": _("House and household"),
                "url": reverse("people:house", args=[house_id]),
                "key": "house",
            }
        ]
    if place.kind in AREA_KINDS:
        query = f"?place_id={place.pk}"
        return [
            {"label": _("Residents"), "url": reverse("people:residents") + query, "key": "residents"},
            {"label": _("Population statistics"), "url": reverse("people:stats") + query, "key": "stats"},
        ]
    return []
