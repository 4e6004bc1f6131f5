"""No answer of hotfix-bot can be framed by another site (docs/ADMIN.md), whichever endpoint
gives it: pages, JSON, redirects, Starlette's own 404, 405 and 500."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from support.harness import Bot
from support.pages import assert_not_framable
from support.webhooks import journal_file, make_settings, pull_request_payload, signed_headers

from app.intake.server import create_app
from app.journal import SqliteJournal
from app.pages.setup import CALLBACK_PATH

WEBHOOK_PATH = "/api/github/webhooks"
REQUESTS = [
    ("GET", "/healthz", 200),
    ("GET", "/readyz", 200),
    ("GET", "/metrics", 200),
    ("GET", "/", 200),
    ("POST", "/", 403),  # no ADMIN_TOKEN on this server
    ("GET", CALLBACK_PATH, 409),  # configured already
    ("GET", "/nowhere", 404),
    ("GET", WEBHOOK_PATH, 405),
]


@pytest.mark.parametrize(("method", "path", "status"), REQUESTS)
def test_no_answer_of_a_configured_server_can_be_framed(
    bot: Bot, method: str, path: str, status: int
) -> None:
    answer = bot.client.request(method, path)

    assert answer.status_code == status
    assert_not_framable(answer)


def test_the_answer_to_a_delivery_cannot_be_framed(bot: Bot) -> None:
    body = pull_request_payload(action="assigned")  # ignored: nothing runs
    accepted = bot.client.post(
        WEBHOOK_PATH, content=body, headers=signed_headers(body, "pull_request", "d-1")
    )
    refused = bot.client.post(WEBHOOK_PATH, content=body)

    assert (accepted.status_code, refused.status_code) == (202, 401)
    assert_not_framable(accepted)
    assert_not_framable(refused)


@pytest.fixture
def setup_mode(tmp_path: Path) -> Iterator[TestClient]:
    """hotfix-bot before the App exists."""
    settings = make_settings(tmp_path, None)
    with TestClient(create_app(settings)) as client:
        yield client


def test_the_redirect_before_the_app_exists_cannot_be_framed(setup_mode: TestClient) -> None:
    redirect = setup_mode.post("/", follow_redirects=False)

    assert (redirect.status_code, redirect.headers["location"]) == (303, "/")
    assert_not_framable(redirect)


class BrokenJournal(SqliteJournal):
    def count(self, statuses: object) -> int:
        raise RuntimeError("a bug")


def test_starlettes_own_500_cannot_be_framed(tmp_path: Path, private_key_pem: str) -> None:
    settings = make_settings(tmp_path, private_key_pem)
    journal = BrokenJournal(journal_file(settings))
    app = create_app(settings, journal=journal)
    with TestClient(app, raise_server_exceptions=False) as client:
        failed = client.get("/metrics")

    assert (failed.status_code, failed.text) == (500, "Internal Server Error")
    assert_not_framable(failed)
