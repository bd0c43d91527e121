"""Reads for the shell: what the home page shows the user, and the audit log, inside their scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from wangge.core.errors import PermissionDenied
from wangge.core.models import AuditEvent
from wangge.core.roles import CAPABILITIES, Capability
from wangge.core.scope import has_capability, scope_for
from wangge.org.models import Assignment
from wangge.places.models import Place, PlaceKind


def home_summary(user: Any) -> dict[str, Any]:
    scope = scope_for(user)
    places = Place.objects.visible_to(user)
    counts = dict(places.values_list("kind").annotate(n=Count("id")).order_by())
    kind_counts = [
        {"kind": kind.value, "label": kind.label, "count": counts[kind.value]}
        for kind in PlaceKind
        if counts.get(kind.value)
    ]
    my_assignments = list(
        Assignment.objects.filter(user_id=scope.user_id or 0, is_active=True)
        .select_related("place", "department", "property_company")
        .order_by("place__path", "role")
    )
    if scope.is_admin:
        roots = list(Place.objects.filter(parent__isnull=True).order_by("path"))
    else:
        roots = list(places.filter(path__in=scope.all_paths).order_by("path"))
    return {"counts": counts, "kind_counts": kind_counts, "assignments": my_assignments, "roots": roots}


@dataclass(frozen=True)
class AuditFilters:
    action: str = ""
    actor: str = ""
    date_from: date | None = None
    date_to: date | None = None

    @property
    def active(self) -> bool:
        return bool(self.action or self.actor or self.date_from or self.date_to)


def _audit_visible(user: Any) -> QuerySet[AuditEvent]:
    """Audit rows the user may read: all of them for platform admins, otherwise the rows
    about places under the assignments whose role grants ``audit.view``."""
    if not has_capability(user, Capability.VIEW_AUDIT):
        raise PermissionDenied(_("You may not read the audit log"))
    scope = scope_for(user)
    qs = AuditEvent.objects.all()
    if scope.is_admin:
        return qs
    condition = Q(pk__in=[])
    for grant in scope.grants:
        if Capability.VIEW_AUDIT in CAPABILITIES.get(grant.role, frozenset()):
            condition |= Q(place_path__startswith=grant.path)
    return qs.filter(condition)


def audit_events(user: Any, filters: AuditFilters | None = None) -> QuerySet[AuditEvent]:
    """The audit log, newest first, narrowed by scope and then by the filters."""
    filters = filters or AuditFilters()
    qs = _audit_visible(user)
    if filters.action:
        qs = qs.filter(action=filters.action)
    if filters.actor:
        qs = qs.filter(actor_label__icontains=filters.actor)
    if filters.date_from:
        qs = qs.filter(at__date__gte=filters.date_from)
    if filters.date_to:
        qs = qs.filter(at__date__lte=filters.date_to)
    return qs.select_related("actor").order_by("-at", "-id")


def audit_actions(user: Any) -> list[str]:
    """The distinct actions in the log the user may read, for the filter menu."""
    return list(_audit_visible(user).order_by("action").values_list("action", flat=True).distinct())
