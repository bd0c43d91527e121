"""With REDIS_URL set, background work and live push leave the web process: a separate
`wangge worker` delivers the outbox and the Redis channel layer carries the message to the
WebSocket held by the web process."""

from __future__ import annotations

import json
import signal
import subprocess
import uuid
from collections.abc import Iterator

import pytest
from websockets.sync.client import connect

from tests.cli.test_embedded import _post_json
from tests.live_server import WANGGE, DemoServer, clean_env, start_demo
from tests.services import require_service


@pytest.fixture(scope="module")
def redis_stack() -> Iterator[tuple[DemoServer, subprocess.Popen[bytes]]]:
    redis_url = require_service("redis")
    # A queue and a key prefix of this run's own, so parallel runs do not share work.
    env = {"REDIS_URL": redis_url, "WANGGE_HUEY_NAME": f"wangge-test-{uuid.uuid4().hex[:8]}"}
    server = start_demo(**env)
    worker = subprocess.Popen(
        [str(WANGGE), "worker", "--workers", "2"],
        env=clean_env(WANGGE_HOME=str(server.home), WANGGE_DEMO="1", **env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    yield server, worker
    worker.terminate()
    worker.wait(timeout=15)
    server.stop()


@pytest.mark.redis
def test_worker_process_delivers_live_push_through_redis(
    redis_stack: tuple[DemoServer, subprocess.Popen[bytes]],
) -> None:
    server, worker = redis_stack
    status, body = _post_json(server.url + "/api/v1/auth/token", {"username": "grid2", "password": "wangge-demo"})
    assert status == 200
    token = str(body["token"])
    ws_url = server.url.replace("http://", "ws://") + "/ws/live/"
    with connect(ws_url, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=10) as ws:
        assert json.loads(ws.recv(timeout=5))["type"] == "hello"
        status, _ = _post_json(server.url + "/api/v1/live/test", {}, token=token)
        assert status == 202
        message = json.loads(ws.recv(timeout=10))
    assert message == {"type": "test", "sent_at": message["sent_at"], "by": "grid2"}
    assert worker.poll() is None


@pytest.mark.redis
def test_web_process_alone_does_not_deliver_when_redis_is_set(
    redis_stack: tuple[DemoServer, subprocess.Popen[bytes]],
) -> None:
    """The in-process worker is off with Redis: stopping the worker leaves the message queued."""
    server, worker = redis_stack
    worker.send_signal(signal.SIGSTOP)
    try:
        status, body = _post_json(
            server.url + "/api/v1/auth/token", {"username": "grid2", "password": "wangge-demo"}
        )
        token = str(body["token"])
        ws_url = server.url.replace("http://", "ws://") + "/ws/live/"
        with connect(ws_url, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=10) as ws:
            assert json.loads(ws.recv(timeout=5))["type"] == "hello"
            _post_json(server.url + "/api/v1/live/test", {}, token=token)
            with pytest.raises(TimeoutError):
                ws.recv(timeout=1.5)
            worker.send_signal(signal.SIGCONT)
            # Once the worker runs again, the queued message arrives: nothing was lost.
            message = json.loads(ws.recv(timeout=10))
        assert message["type"] == "test"
    finally:
        worker.send_signal(signal.SIGCONT)
