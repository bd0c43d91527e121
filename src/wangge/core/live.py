"""Live push over WebSocket ``/ws/live/``: alarms and case changes in the user's scope.

Each event is sent to the group of every place above it (``live.<path>``), so a client
joins one group per place of its scope and receives exactly what lies under them.
Departments and residents join groups of their own.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path

from wangge.core.auth import token_authenticate
from wangge.core.scope import scope_for

ALL_GROUP = "live.all"


def place_groups(place_path: str) -> list[str]:
    parts = place_path.split(".")[:-1]
    return ["live." + ".".join(parts[: i + 1]) for i in range(len(parts))]


def groups_for_event(
    *, place_path: str, department_ids: list[int] | None = None, user_ids: list[int] | None = None
) -> list[str]:
    # Administrators see everything that happens somewhere; personal messages stay personal.
    groups = [ALL_GROUP, *place_groups(place_path)] if place_path else []
    groups += [f"live.dept.{d}" for d in department_ids or []]
    groups += [f"live.user.{u}" for u in user_ids or []]
    return groups


def groups_for_user(user: Any) -> list[str]:
    scope = scope_for(user)
    if scope.is_admin:
        return [ALL_GROUP]
    groups = ["live." + p.rstrip(".") for p in scope.territorial_paths]
    groups += [f"live.dept.{d}" for d in scope.department_ids]
    groups.append(f"live.user.{scope.user_id}")
    return groups


def push(message: dict[str, Any], groups: list[str]) -> None:
    """Send one message to the given groups (called by the outbox worker)."""
    layer = get_channel_layer()
    if layer is None:
        return
    send = async_to_sync(layer.group_send)
    for group in dict.fromkeys(groups):
        send(group, {"type": "live.message", "message": message})


class LiveConsumer(AsyncJsonWebsocketConsumer):
    groups_joined: list[str]

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            # Accept first, so the client learns why (4401) instead of a bare handshake 403.
            await self.accept()
            await self.close(code=4401)
            return
        self.groups_joined = await database_sync_to_async(groups_for_user)(user)
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "groups": len(self.groups_joined)})

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def live_message(self, event: dict[str, Any]) -> None:
        await self.send_json(event["message"])


class _BearerMiddleware:
    """Accepts ``Authorization: Bearer <token>`` when there is no session user."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        user = scope.get("user")
        if user is None or not user.is_authenticated:
            headers = dict(scope.get("headers") or [])
            auth = headers.get(b"authorization", b"").decode("latin-1")
            if auth.lower().startswith("bearer "):
                token_user = await database_sync_to_async(token_authenticate)(auth[7:].strip())
                if token_user is not None:
                    scope = {**scope, "user": token_user}
        return await self.inner(scope, receive, send)


class _OriginGuard:
    """Browsers always send Origin, and it must be one of ours (no cross-site hijacking of the
    session cookie). A device or script without Origin must bring a bearer token instead."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.checked = AllowedHostsOriginValidator(inner)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        headers = dict(scope.get("headers") or [])
        if b"origin" not in headers and headers.get(b"authorization", b"").lower().startswith(b"bearer "):
            return await self.inner(scope, receive, send)
        return await self.checked(scope, receive, send)


def LiveAuthMiddleware(inner: Any) -> Any:
    return _OriginGuard(AuthMiddlewareStack(_BearerMiddleware(inner)))


websocket_urlpatterns = [path("ws/live/", LiveConsumer.as_asgi())]
