"""A chat's incoming webhook served on 127.0.0.1, for the notices hotfix-bot sends to
NOTIFY_WEBHOOK_URL."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SECRET_PATH = "/hooks/T0001/B0002/s3cr3t-t0k3n"


class ChatReceiver:
    """A chat's incoming webhook: keeps each JSON body posted to it and answers with the next
    of `answers` (200 once they run out): a status, or a status and headers; an answer of
    None hangs until the test ends."""

    def __init__(self) -> None:
        self.received: list[tuple[str, Any]] = []  # (path, JSON body)
        self.answers: list[int | tuple[int, dict[str, str]] | None] = []
        self.hanging = threading.Event()  # a request is hanging now
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((self.path, json.loads(body)))
                answer = receiver.answers.pop(0) if receiver.answers else 200
                if answer is None:
                    receiver.hanging.set()
                    receiver.release.wait(30)
                    return
                status, headers = answer if isinstance(answer, tuple) else (answer, {})
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{SECRET_PATH}"

    def texts(self) -> list[str]:
        return [str(body["text"]) for _, body in self.received]


@contextmanager
def serving_chat() -> Iterator[ChatReceiver]:
    receiver = ChatReceiver()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        receiver.server.shutdown()
        receiver.server.server_close()
