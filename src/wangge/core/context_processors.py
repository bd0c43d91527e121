"""What every page's shell needs: the navigation for the user's roles, map settings."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from wangge.core.navigation import navigation_for
from wangge.core.roles import Role
from wangge.core.scope import scope_for

# The demo accounts of the contract, listed on the sign-in page in demo mode only (also on
# the lockout page, which core.auth renders without the login view's context).
DEMO_ACCOUNTS = (
    ("admin", _("Platform administrator")),
    ("street", _("Street office staff, Gangshiqiao")),
    ("community", _("Community staff, Leshan")),
    ("grid1", _("Grid worker, grid 1")),
    ("grid2", _("Grid worker, grid 2")),
    ("dept", _("County department staff")),
    ("resident", _("Resident in grid 1")),
)
DEMO_PASSWORD = "wangge-demo"  # noqa: S105 - the published demo password (contract)


def role_labels(user: Any) -> list[str]:
    """The names of the user's roles, most senior first, each once (for the top bar)."""
    scope = scope_for(user)
    labels = [str(role.label) for role in Role if role.value in scope.roles]
    if scope.is_admin and str(Role.PLATFORM_ADMIN.label) not in labels:
        labels.insert(0, str(Role.PLATFORM_ADMIN.label))
    return labels


def unread_counter(user: Any) -> Callable[[], int]:
    """The user's unread notifications, counted only if a template shows them, and only once."""
    from wangge.core.notify import inbox_unread_count

    @cache
    def count() -> int:
        return inbox_unread_count(user)

    return count


def shell(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    return {
        "nav_items": navigation_for(user, request.path) if signed_in else [],
        "shell_roles": role_labels(user) if signed_in else [],
        # The inbox badge: templates call it, so pages that do not show it run no query.
        "inbox_unread": unread_counter(user) if signed_in else 0,
        "demo_mode": settings.DEMO,
        "demo_accounts": DEMO_ACCOUNTS if settings.DEMO else (),
        "demo_password": DEMO_PASSWORD if settings.DEMO else "",
        "map_tile_url": settings.MAP_TILE_URL,
        "map_tile_attribution": settings.MAP_TILE_ATTRIBUTION,
    }
