"""The embedded default, tried as a user would: one `wangge demo` process serves pages, API,
WebSocket and background work together; `wangge serve` refuses to start without secrets."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from collections.abc import Iterator

import pytest
from websockets.sync.client import connect

from tests.live_server import WANGGE, DemoServer, clean_env, start_demo


@pytest.fixture(scope="module")
def server() -> Iterator[DemoServer]:
    running = start_demo()
    yield running
    running.stop()


def _post_json(url: str, body: dict[str, object], token: str | None = None) -> tuple[int, dict[str, object]]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_demo_serves_login_page_in_chinese(server: DemoServer) -> None:
    with urllib.request.urlopen(server.url + "/login/", timeout=10) as response:  # noqa: S310
        body = response.read().decode()
    assert response.status == 200
    assert '<html lang="zh-CN">' in body
    assert "网格化社会治理" in body


def test_demo_keeps_generated_secrets_under_its_home(server: DemoServer) -> None:
    secrets = json.loads((server.home / "secrets.json").read_text())
    assert set(secrets) == {"SECRET_KEY", "WANGGE_FIELD_KEY"}
    assert (server.home / "wangge.sqlite3").exists()
    assert oct((server.home / "secrets.json").stat().st_mode & 0o777) == "0o600"


def test_one_process_serves_api_websocket_and_background_work(server: DemoServer) -> None:
    status, body = _post_json(
        server.url + "/api/v1/auth/token", {"username": "grid1", "password": "wangge-demo"}
    )
    assert status == 200
    token = str(body["token"])
    ws_url = server.url.replace("http://", "ws://") + "/ws/live/"
    with connect(ws_url, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=10) as ws:
        hello = json.loads(ws.recv(timeout=5))
        assert hello["type"] == "hello"
        started = time.monotonic()
        status, _ = _post_json(server.url + "/api/v1/live/test", {}, token=token)
        assert status == 202
        # Delivered by the in-process worker through the outbox, then the channel layer.
        message = json.loads(ws.recv(timeout=5))
        elapsed = time.monotonic() - started
    assert message["type"] == "test"
    assert message["by"] == "grid1"
    assert "_user_ids" not in message
    print(f"live test message arrived after {elapsed * 1000:.0f} ms")


def test_websocket_without_credentials_is_refused(server: DemoServer) -> None:
    ws_url = server.url.replace("http://", "ws://") + "/ws/live/"
    # A script with neither Origin nor token is refused at the handshake.
    with pytest.raises(Exception, match="403"), connect(ws_url, open_timeout=10) as ws:
        ws.recv(timeout=5)
    # A page of ours without a session is accepted at the handshake and closed as unauthenticated.
    with pytest.raises(Exception, match="4401"), connect(ws_url, origin=server.url, open_timeout=10) as ws:
        ws.recv(timeout=5)


def test_websocket_from_a_foreign_origin_is_refused_even_with_a_token(server: DemoServer) -> None:
    status, body = _post_json(
        server.url + "/api/v1/auth/token", {"username": "grid1", "password": "wangge-demo"}
    )
    assert status == 200
    ws_url = server.url.replace("http://", "ws://") + "/ws/live/"
    with (
        pytest.raises(Exception, match="403"),
        connect(
            ws_url,
            origin="http://evil.example",
            additional_headers={"Authorization": f"Bearer {body['token']}"},
            open_timeout=10,
        ) as ws,
    ):
        ws.recv(timeout=5)


def test_serve_without_secrets_refuses_to_start(tmp_path: object) -> None:
    result = subprocess.run(
        [str(WANGGE), "serve", "--port", "0"],
        env=clean_env(WANGGE_HOME=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "SECRET_KEY is not set" in result.stderr
    assert "wangge demo" in result.stderr
