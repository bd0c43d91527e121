"""Reads for the shell: what the home page shows the user, inside their scope."""

from __future__ import annotations

from typing import Any

from django.db.models import Count

from wangge.core.scope import scope_for
from wangge.org.models import Assignment
from wangge.places.models import Place


def home_summary(user: Any) -> dict[str, Any]:
    scope = scope_for(user)
    places = Place.objects.visible_to(user)
    counts = dict(places.values_list("kind").annotate(n=Count("id")).order_by())
    my_assignments = list(
        Assignment.objects.filter(user_id=scope.user_id or 0, is_active=True)
        .select_related("place", "department", "property_company")
        .order_by("place__path")
    )
    roots = (
        list(places.filter(pk__in=[g.place_id for g in scope.grants]).order_by("path"))
        if not scope.is_admin
        else list(Place.objects.filter(parent__isnull=True).order_by("path"))
    )
    return {"counts": counts, "assignments": my_assignments, "roots": roots}
