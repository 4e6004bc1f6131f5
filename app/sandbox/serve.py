"""Serve a FakeGitHub over HTTP on loopback from a background thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from app.sandbox.fake import FakeGitHub

STARTUP_TIMEOUT = 10.0


@contextmanager
def serve_fake(fake: FakeGitHub, host: str = "127.0.0.1") -> Iterator[str]:
    """Run ``fake`` with uvicorn on a free port; yields its base URL (``GITHUB_API_URL``)."""
    # Binding the socket here (port 0) avoids racing another process for a "free" port.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        fake.asgi,
        interface="asgi3",
        lifespan="off",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="fake-github", daemon=True
    )
    base_url = f"http://{host}:{port}"
    fake.api_url = base_url
    fake.stopping.clear()
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the fake GitHub server did not start")
        time.sleep(0.005)
    try:
        yield base_url
    finally:
        # Hung requests watch `stopping`, so shutdown does not wait for their clients.
        fake.stopping.set()
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
