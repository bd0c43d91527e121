"""Real servers the tests talk to. Missing locally → skip with a reason; under CI=true → fail."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

import pytest

DEFAULTS = {
    "postgres": "postgresql://postgres@127.0.0.1:5432/postgres",
    "redis": "redis://127.0.0.1:6379/0",
    "mqtt": "mqtt://127.0.0.1:1883",
}
ENV = {
    "postgres": "WANGGE_TEST_POSTGRES_URL",
    "redis": "WANGGE_TEST_REDIS_URL",
    "mqtt": "WANGGE_TEST_MQTT_URL",
}


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def service_url(name: str) -> str:
    return os.environ.get(ENV[name], DEFAULTS[name])


def reachable(url: str, timeout: float = 1.0) -> bool:
    parsed = urlparse(url)
    port = parsed.port or {"postgresql": 5432, "postgres": 5432, "redis": 6379, "mqtt": 1883}.get(
        parsed.scheme, 0
    )
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def require_service(name: str) -> str:
    """The service's URL, or skip (locally) / fail (under CI=true) when it is not running."""
    url = service_url(name)
    if reachable(url):
        return url
    message = f"{name} is not running at {url}; start it or set {ENV[name]}"
    if in_ci():
        pytest.fail(f"CI needs {name}: {message}")
    pytest.skip(message)
    raise AssertionError("unreachable")
