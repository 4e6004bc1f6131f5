"""Serve an ASGI app (the fake GitHub, or hotfix-bot itself) on loopback from a thread."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

import uvicorn
from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from sandbox.fake import FakeGitHub

STARTUP_TIMEOUT = 10.0


@contextmanager
def serve_asgi(
    app: ASGIApp,
    host: str = "127.0.0.1",
    *,
    lifespan: Literal["on", "off"] = "on",
    thread_name: str = "asgi-server",
    http: type[asyncio.Protocol] | Literal["auto"] = "auto",
) -> Iterator[str]:
    """Run ``app`` with uvicorn on a free port; yields its base URL. ``http`` is uvicorn's
    HTTP protocol (`app.intake.connection_limits.limited_protocol` for the intake's limits)."""
    # Binding the socket here (port 0) avoids racing another process for a "free" port.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        interface="asgi3",
        http=http,
        lifespan=lifespan,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=thread_name, daemon=True
    )
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"{thread_name} did not start")
        time.sleep(0.005)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextmanager
def serve_fake(fake: FakeGitHub, host: str = "127.0.0.1", api_prefix: str = "") -> Iterator[str]:
    """Run ``fake`` on a free port; yields its base URL (``GITHUB_API_URL``). With
    ``api_prefix`` (``/api/v3``) the API is served under it alone, as GitHub Enterprise Server
    serves it, and the URLs in its answers carry it; its web pages' URLs (`html_url`) are
    then on the same host, as on GitHub Enterprise Server."""
    fake.stopping.clear()
    app = _under_prefix(fake.asgi, api_prefix) if api_prefix else fake.asgi
    with serve_asgi(app, host, lifespan="off", thread_name="fake-github") as server_url:
        base_url = f"{server_url}{api_prefix}"
        fake.api_url = base_url
        if api_prefix:
            fake.web_url = server_url  # GitHub Enterprise Server's web pages are on its host
        try:
            yield base_url
        finally:
            # Hung requests watch `stopping`, so shutdown does not wait for their clients.
            fake.stopping.set()


def _under_prefix(app: ASGIApp, prefix: str) -> ASGIApp:
    """``app`` at ``prefix``: a request elsewhere is answered 404 with a page, as the web
    host of GitHub Enterprise Server answers a path it does not know."""

    async def prefixed(scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        if not path.startswith(f"{prefix}/"):
            page = HTMLResponse("<!DOCTYPE html><title>Page not found</title>", 404)
            await page(scope, receive, send)
            return
        raw_path: bytes = scope.get("raw_path") or path.encode()
        inner = {"path": path.removeprefix(prefix), "raw_path": raw_path[len(prefix) :]}
        await app({**scope, **inner}, receive, send)

    return prefixed
