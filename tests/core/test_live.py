"""Live push over /ws/live/ (contract): a user receives what happens in their scope, nothing
else, and only after signing in by session cookie or bearer token."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from asgiref.testing import ApplicationCommunicator
from django.test import Client

from wangge.asgi import application
from wangge.core import outbox
from wangge.core.auth import token_issue
from wangge.core.models import OutboxEvent, User
from wangge.core.roles import Role
from wangge.org.models import Assignment
from wangge.places.models import Place, PlaceKind

pytestmark = pytest.mark.usefixtures("demo_db")

ORIGIN = (b"origin", b"http://testserver")


# Generous waits for slow machines; nothing here asserts how fast a message arrives.
WAIT = 10


@pytest.fixture(autouse=True)
def _keep_the_test_transaction(monkeypatch: pytest.MonkeyPatch) -> None:
    # channels closes "old" database connections around each database_sync_to_async call.
    # Inside a test's transaction that would end the transaction (and on PostgreSQL drop the
    # connection). channels' own test communicator skips it the same way; the consumer code
    # under test is unchanged.
    monkeypatch.setattr("channels.db.close_old_connections", lambda: None)


class Socket(ApplicationCommunicator):
    """A WebSocket client for the ASGI application (channels.testing needs daphne)."""

    def __init__(self, headers: list[tuple[bytes, bytes]], path: str = "/ws/live/") -> None:
        scope = {"type": "websocket", "path": path, "query_string": b"", "headers": headers}
        super().__init__(application, scope)
        self.pending: list[dict[str, Any]] = []
        self.close_code: int | None = None

    async def connect(self) -> bool:
        """True when the server accepts and keeps the connection.

        Refusal is either a close before the handshake, or an accept followed at once by a
        close with a reason code (so that browsers can tell the user why). An accepted
        connection always says hello first, so the message after the accept decides.
        """
        await self.send_input({"type": "websocket.connect"})
        answer = await self.receive_output(WAIT)
        if answer["type"] == "websocket.close":
            return False
        assert answer["type"] == "websocket.accept", answer
        following = await self.receive_output(WAIT)
        if following["type"] == "websocket.close":
            self.close_code = following.get("code")
            return False
        self.pending.append(following)
        return True

    async def receive_json(self) -> Any:
        message = self.pending.pop(0) if self.pending else await self.receive_output(WAIT)
        assert message["type"] == "websocket.send", message
        return json.loads(message["text"])

    async def disconnect(self) -> None:
        await self.send_input({"type": "websocket.disconnect", "code": 1000})
        await self.wait(WAIT)


def _building_in_grid_of(username: str) -> Place:
    grid = Assignment.objects.get(user__username=username, role=Role.GRID_WORKER).place
    building = Place.objects.filter(path__under=grid.path, kind=PlaceKind.BUILDING).order_by("path").first()
    assert building is not None
    return building


def _publish(place: Place, message: dict[str, Any]) -> None:
    """What a service does: write a live event to the outbox and let the worker deliver it."""
    event = outbox.enqueue(topic="live", payload=message, place_path=place.path)
    assert outbox.deliver(event.pk)
    event.refresh_from_db()
    assert event.status == OutboxEvent.Status.DONE


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    async_to_sync(scenario)()


def _communicator(headers: list[tuple[bytes, bytes]]) -> Socket:
    return Socket([ORIGIN, *headers])


def _bearer(user: User) -> tuple[bytes, bytes]:
    return (b"authorization", f"Bearer {token_issue(user=user)}".encode())


def _session_cookie(user: User) -> tuple[bytes, bytes]:
    client = Client()
    client.force_login(user)
    return (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())


def _scoped_delivery(headers: list[tuple[bytes, bytes]]) -> None:
    mine = _building_in_grid_of("grid1")
    theirs = _building_in_grid_of("grid2")

    async def scenario() -> None:
        communicator = _communicator(headers)
        connected = await communicator.connect()
        assert connected
        hello = await communicator.receive_json()
        assert hello["type"] == "hello"

        # grid 2's alarm goes first: if it leaked, it would be the first message received.
        await sync_to_async(_publish)(theirs, {"type": "alarm", "place": theirs.name})
        await sync_to_async(_publish)(mine, {"type": "alarm", "place": mine.name})

        received = await communicator.receive_json()
        assert received == {"type": "alarm", "place": mine.name}
        assert await communicator.receive_nothing()
        await communicator.disconnect()

    run(scenario)


def test_grid1_by_bearer_token_receives_only_grid_1(users: dict[str, User]) -> None:
    _scoped_delivery([_bearer(users["grid1"])])


def test_grid1_by_session_cookie_receives_only_grid_1(users: dict[str, User]) -> None:
    _scoped_delivery([_session_cookie(users["grid1"])])


def test_community_staff_receive_both_grids(users: dict[str, User]) -> None:
    one, two = _building_in_grid_of("grid1"), _building_in_grid_of("grid2")
    headers = [_bearer(users["community"])]

    async def scenario() -> None:
        communicator = _communicator(headers)
        connected = await communicator.connect()
        assert connected
        await communicator.receive_json()

        await sync_to_async(_publish)(one, {"type": "alarm", "n": 1})
        await sync_to_async(_publish)(two, {"type": "alarm", "n": 2})

        assert (await communicator.receive_json())["n"] == 1
        assert (await communicator.receive_json())["n"] == 2
        await communicator.disconnect()

    run(scenario)


@pytest.mark.parametrize(
    "headers",
    [
        [],
        [(b"authorization", b"Bearer not-a-token")],
        [(b"cookie", b"sessionid=not-a-session")],
    ],
    ids=["nothing", "garbage-token", "garbage-cookie"],
)
def test_a_connection_without_valid_credentials_is_refused(headers: list[tuple[bytes, bytes]]) -> None:
    async def scenario() -> None:
        communicator = _communicator(headers)
        connected = await communicator.connect()
        assert not connected
        await communicator.disconnect()

    run(scenario)


def test_a_device_with_a_bearer_token_and_no_origin_connects(users: dict[str, User]) -> None:
    headers = [_bearer(users["grid1"])]

    async def scenario() -> None:
        communicator = Socket(headers)
        assert await communicator.connect()
        assert (await communicator.receive_json())["type"] == "hello"
        await communicator.disconnect()

    run(scenario)


def test_a_session_cookie_without_origin_is_refused(users: dict[str, User]) -> None:
    headers = [_session_cookie(users["grid1"])]

    async def scenario() -> None:
        communicator = Socket(headers)
        assert not await communicator.connect()
        await communicator.disconnect()

    run(scenario)


def test_a_revoked_token_cannot_connect(users: dict[str, User]) -> None:
    from wangge.core.auth import token_revoke

    key = token_issue(user=users["grid1"])
    token_revoke(key=key)

    async def scenario() -> None:
        communicator = _communicator([(b"authorization", f"Bearer {key}".encode())])
        connected = await communicator.connect()
        assert not connected
        await communicator.disconnect()

    run(scenario)


def test_a_connection_from_a_foreign_origin_is_refused(users: dict[str, User]) -> None:
    headers = [(b"origin", b"https://evil.example"), _bearer(users["grid1"])]

    async def scenario() -> None:
        communicator = Socket(headers)
        connected = await communicator.connect()
        assert not connected
        await communicator.disconnect()

    run(scenario)
