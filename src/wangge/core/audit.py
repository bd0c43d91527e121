"""Writing to the append-only audit log. Every service write calls ``record``."""

from __future__ import annotations

from typing import Any

from django.db import models

from wangge.core import clock
from wangge.core.middleware import current_request
from wangge.core.models import AuditEvent, User


def record(
    *,
    actor: User | None,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_label: str = "",
    place_path: str = "",
    changes: dict[str, Any] | None = None,
    result: str = AuditEvent.Result.OK,
) -> AuditEvent:
    ctx = current_request()
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_label = object_label or str(obj)[:200]
        place_path = place_path or _place_path_of(obj)
    return AuditEvent.objects.create(
        at=clock.now(),
        actor=actor if actor is not None and actor.pk else None,
        actor_label=(actor.get_username() if actor is not None and actor.pk else "system")[:150],
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_label=object_label[:200],
        place_path=place_path,
        changes=changes or {},
        result=result,
        ip=ctx.ip if ctx else None,
        user_agent=ctx.user_agent if ctx else "",
        request_id=ctx.request_id if ctx else "",
    )


def _place_path_of(obj: models.Model) -> str:
    path = getattr(obj, "path", None)
    if isinstance(path, str):
        return path
    place = getattr(obj, "place", None)
    path = getattr(place, "path", None)
    return path if isinstance(path, str) else ""


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The fields that changed, as ``{field: [old, new]}``."""
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
