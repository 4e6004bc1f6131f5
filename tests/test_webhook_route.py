"""WEBHOOK_PATH is the path of the App's webhook URL, compared with the path a request sent
as it was sent (docs/BEHAVIOUR.md, "The webhook")."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from support.webhooks import make_settings, signed_headers

from app.intake.server import create_app
from sandbox.serve import serve_asgi

PING = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}).encode()
PONG = {"delivery": "p-1", "status": "pong"}


@contextmanager
def server(tmp_path: Path, private_key_pem: str, webhook_path: str) -> Iterator[httpx.Client]:
    """Served by uvicorn, which passes the path on as it was sent (Starlette's TestClient
    decodes it twice)."""
    settings = make_settings(tmp_path, private_key_pem, WEBHOOK_PATH=webhook_path)
    with serve_asgi(create_app(settings)) as url, httpx.Client(base_url=url) as client:
        yield client


@pytest.mark.parametrize(
    ("webhook_path", "sent", "found"),
    [
        ("/hooks%20x", "/hooks%20x", True),
        ("/hooks%20x", "/hooks%2520x", False),
        ("/hooks x", "/hooks%20x", True),
        ("/gh%2Fhooks", "/gh%2Fhooks", True),
        ("/gh%2Fhooks", "/gh%2fhooks", True),
        ("/gh%2Fhooks", "/gh/hooks", False),
        ("/gh%2Fhooks", "/gh%252Fhooks", False),
        ("/caf%C3%A9", "/caf%c3%a9", True),
        ("/café", "/caf%C3%A9", True),
        ("/api/github/%77ebhooks", "/api/github/webhooks", True),
        ("/hooks/{id}", "/hooks/%7Bid%7D", True),
        ("/hooks/{id}", "/hooks/anything", False),
        ("/hooks/{id:path}", "/hooks/a/b/c", False),
        ("/hooks/{id:unknown}", "/hooks/%7Bid:unknown%7D", True),
        ("/Hooks", "/hooks", False),
    ],
)
def test_a_delivery_is_taken_at_the_path_of_the_webhook_url_alone(
    tmp_path: Path, private_key_pem: str, webhook_path: str, sent: str, found: bool
) -> None:
    """Escapes are compared as URLs compare them, never decoded into another path; braces
    are characters, not a pattern."""
    with server(tmp_path, private_key_pem, webhook_path) as client:
        answer = client.post(sent, content=PING, headers=signed_headers(PING, "ping", "p-1"))

    if found:
        assert (answer.status_code, answer.json()) == (200, PONG)
    else:
        assert (answer.status_code, answer.text) == (404, "Not Found")


def test_another_method_is_405_and_the_other_trailing_slash_is_redirected(
    tmp_path: Path, private_key_pem: str
) -> None:
    with server(tmp_path, private_key_pem, "/gh%2Fhooks") as client:
        got = client.get("/gh%2Fhooks")
        put = client.put("/gh%2Fhooks")
        slashed = client.post("/gh%2Fhooks/?from=github", follow_redirects=False)
        status = client.get("/healthz")

    assert (got.status_code, got.headers["allow"], got.text) == (405, "POST", "Method Not Allowed")
    assert (put.status_code, put.headers["allow"]) == (405, "POST")
    assert (slashed.status_code, slashed.headers["location"]) == (307, "/gh%2Fhooks?from=github")
    assert status.status_code == 200
