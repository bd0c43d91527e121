"""A real wangge process for tests that must see the whole product: `wangge demo` on a free port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

WANGGE = Path(sys.executable).parent / "wangge"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a child wangge process: none of the test session's own settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANGGE_") and k != "DATABASE_URL"}
    env.update(extra)
    return env


@dataclass
class DemoServer:
    url: str
    home: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    extra: dict[str, str] = field(default_factory=dict)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)


def start_demo(timeout: float = 120.0, **env: str) -> DemoServer:
    home = Path(tempfile.mkdtemp(prefix="wangge-demo-"))
    port = free_port()
    log_path = home / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(WANGGE), "demo", "--port", str(port)],
            env=clean_env(WANGGE_HOME=str(home), **env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = DemoServer(url=f"http://127.0.0.1:{port}", home=home, process=process, log_path=log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"wangge demo exited with {process.returncode}:\n{server.log()}")
        try:
            with urllib.request.urlopen(server.url + "/healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"wangge demo did not answer within {timeout} s:\n{server.log()}")
