"""With REDIS_URL set, background work and live push leave the web process: a separate
`wangge worker` delivers the outbox and the Redis channel layer carries the message to the
WebSocket held by the web process."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from websockets.sync.client import connect

from tests.cli.test_embedded import _post_json
from tests.live_server import WANGGE, DemoServer, clean_env, start_demo
from tests.services import require_service


@dataclass
class RedisStack:
    server: DemoServer
    env: dict[str, str]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start_worker(self) -> subprocess.Popen[bytes]:
        worker = subprocess.Popen(
            [str(WANGGE), "worker", "--workers", "2"],
            env=clean_env(WANGGE_HOME=str(self.server.home), WANGGE_DEMO="1", **self.env),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.workers.append(worker)
        return worker

    def stop_workers(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                worker.terminate()
                worker.wait(timeout=15)
        self.workers.clear()


@pytest.fixture(scope="module")
def stack() -> Iterator[RedisStack]:
    redis_url = require_service("redis")
    # A queue of this run's own, so parallel runs do not take each other's work.
    env = {"REDIS_URL": redis_url, "WANGGE_HUEY_NAME": f"wangge-test-{uuid.uuid4().hex[:8]}"}
    running = RedisStack(server=start_demo(**env), env=env)
    yield running
    running.stop_workers()
    running.server.stop()


def _token(server: DemoServer, username: str) -> str:
    status, body = _post_json(
        server.url + "/api/v1/auth/token", {"username": username, "password": "wangge-demo"}
    )
    assert status == 200
    return str(body["token"])


def _with_live_socket(server: DemoServer, token: str, body: Callable[[object], None]) -> None:
    ws_url = server.url.replace("http://", "ws://") + "/ws/live/"
    with connect(ws_url, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=10) as ws:
        assert json.loads(ws.recv(timeout=5))["type"] == "hello"
        body(ws)


@pytest.mark.redis
def test_worker_process_delivers_live_push_through_redis(stack: RedisStack) -> None:
    worker = stack.start_worker()
    token = _token(stack.server, "grid2")
    received: list[dict[str, object]] = []

    def exchange(ws: object) -> None:
        status, _ = _post_json(stack.server.url + "/api/v1/live/test", {}, token=token)
        assert status == 202
        received.append(json.loads(ws.recv(timeout=10)))  # type: ignore[attr-defined]

    _with_live_socket(stack.server, token, exchange)
    assert received == [{"type": "test", "sent_at": received[0]["sent_at"], "by": "grid2"}]
    assert worker.poll() is None
    stack.stop_workers()


@pytest.mark.redis
def test_without_a_worker_the_message_waits_in_the_queue_and_is_not_lost(stack: RedisStack) -> None:
    stack.stop_workers()
    token = _token(stack.server, "grid2")
    received: list[dict[str, object]] = []

    def exchange(ws: object) -> None:
        status, _ = _post_json(stack.server.url + "/api/v1/live/test", {}, token=token)
        assert status == 202
        # With Redis the web process does no background work itself.
        with pytest.raises(TimeoutError):
            ws.recv(timeout=1.5)  # type: ignore[attr-defined]
        stack.start_worker()
        received.append(json.loads(ws.recv(timeout=15)))  # type: ignore[attr-defined]

    _with_live_socket(stack.server, token, exchange)
    assert [m["type"] for m in received] == ["test"]
