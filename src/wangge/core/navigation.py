"""The navigation menu, by role. Apps add their entries to ``NAV``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from wangge.core.roles import CO_BUILDING_SUPERVISOR_ROLES, TERRITORIAL_ROLES, Role
from wangge.core.scope import has_capability, scope_for


@dataclass(frozen=True)
class NavEntry:
    url_name: str
    label: str | Promise
    icon: str
    # Shown when the user holds any of these roles; empty means every signed-in user.
    roles: frozenset[str] = frozenset()
    capability: str | None = None
    staff_only: bool = False


# Who handles work orders without sitting at a dispatch desk, and who only reports.
CASE_HANDLER_ROLES = frozenset(
    {
        Role.GRID_WORKER,
        Role.GRID_WORKER_PART_TIME,
        Role.MICRO_GRID_WORKER,
        Role.DEPARTMENT_STAFF,
        Role.PROPERTY_STAFF,
    }
)
CASE_REPORTER_ROLES = frozenset(
    {Role.BUILDING_LEADER, Role.UNIT_LEADER, Role.COURTYARD_LEADER, *CO_BUILDING_SUPERVISOR_ROLES}
)

NAV: list[NavEntry] = [
    NavEntry("home", _("Home"), "home"),
    NavEntry("places:browser", _("Places"), "map", staff_only=True),
    NavEntry("people:residents", _("Residents"), "user", roles=TERRITORIAL_ROLES),
    NavEntry("people:buildings", _("Room charts"), "layers", roles=TERRITORIAL_ROLES),
    NavEntry("people:stats", _("Population statistics"), "chart", roles=TERRITORIAL_ROLES),
    NavEntry("ledger:index", _("Excel ledgers"), "layers", capability="pii.reveal"),
    NavEntry("audit:list", _("Audit log"), "shield", capability="audit.view"),
    # Requests and work orders (接诉即办): one entry per kind of user, the other request pages
    # are tabs on these (a desk sees the queue, a handler their tasks, a reporter the form).
    NavEntry("cases:queue", _("Requests and work orders"), "layers", capability="cases.dispatch"),
    NavEntry("cases:mine", _("My tasks"), "layers", roles=CASE_HANDLER_ROLES),
    NavEntry("cases:new", _("New request"), "phone", roles=CASE_REPORTER_ROLES),
    NavEntry("cases:metrics", _("Request metrics"), "chart", capability="cases.metrics"),
    NavEntry("public:report", _("Report a matter"), "phone", roles=frozenset({Role.RESIDENT})),
    NavEntry("public:my_requests", _("My requests"), "layers", roles=frozenset({Role.RESIDENT})),
]


def navigation_for(user: Any, current_path: str) -> list[dict[str, Any]]:
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    scope = scope_for(user)
    items = []
    for entry in NAV:
        if entry.staff_only and scope.is_resident_only:
            continue
        if entry.roles and not (scope.is_admin or scope.roles & entry.roles):
            continue
        if entry.capability and not has_capability(user, entry.capability):
            continue
        try:
            url = reverse(entry.url_name)
        except NoReverseMatch:
            continue
        active = current_path == url or (url != "/" and current_path.startswith(url))
        items.append({"url": url, "label": entry.label, "icon": entry.icon, "active": active})
    # The most specific match wins: /people/stats/ is not also /people/.
    best = max((i for i in items if i["active"]), key=lambda i: len(str(i["url"])), default=None)
    for item in items:
        item["active"] = item is best
    return items
