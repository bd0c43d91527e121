"""What every page's shell needs: the navigation for the user's roles, map settings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from wangge.core.navigation import navigation_for


def shell(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    return {
        "nav_items": navigation_for(user, request.path) if user is not None else [],
        "demo_mode": settings.DEMO,
        "map_tile_url": settings.MAP_TILE_URL,
        "map_tile_attribution": settings.MAP_TILE_ATTRIBUTION,
    }
