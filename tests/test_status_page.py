"""The status page (`GET /` once configured): counts and health for anyone, the details
(repositories, pull requests, errors) for whoever shows ADMIN_TOKEN."""

from __future__ import annotations

import contextlib
import html
import re
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr
from starlette.requests import Request
from starlette.responses import Response
from support.harness import WEBHOOK_PATH, Bot, Clock, running_bot
from support.pages import assert_not_framable
from support.webhooks import WEBHOOK_SECRET

from app.github.client import Timeouts
from app.journal import JournalUnavailable
from app.journal.base import HEARTBEAT_KEY
from app.metrics import signature_refusals
from app.pages import status
from app.pages.admin import COOKIE, SESSION_SECONDS, Access, AdminSessions
from sandbox import new_private_key_pem
from sandbox.webhooks import post_delivery

ADMIN_TOKEN = "correct-horse-battery-staple-0123456789"
PROBLEM = re.compile(r'<div class="problem"><p>(.*?)</p></div>')  # what the page says is wrong
REFUSED = "GitHub answered 404 to GET /repos/acme/widgets/pulls/1: Not Found"
NOBODY = (
    "Repositories, pull requests and errors are shown only to whoever enters ADMIN_TOKEN. "
    "It is not set on this server, so nobody sees them here: set it to see them."
)


def fail_one_delivery(bot: Bot) -> None:
    """A delivery whose pull request GitHub refuses: its row names the repository, the pull
    request and GitHub's error."""
    pull = bot.open_hotfix()
    bot.fake.inject("GET", r"/pulls/1$", status=404, times=None)
    bot.pull_request(pull.number, "opened")
    [entry] = bot.journal.recent()
    assert (entry.status, entry.last_error) == ("failed", REFUSED)


def assert_public(page: str) -> None:
    """Counts and health, and nothing that names a repository, a pull request or an error."""
    shown = page.split("<main>", 1)[1]
    assert "Running as a GitHub App installed on 1 account." in shown
    assert "0 queued · 0 running · 0 done · 0 superseded · 1 failed · 0 ignored" in shown
    for detail in ("acme/widgets", "#1", "Not Found", "pull_request.opened", "/apps/"):
        assert detail not in shown


@pytest.fixture
def guarded(tmp_path: Path, private_key_pem: str) -> Iterator[Bot]:
    with running_bot(tmp_path, private_key_pem, ADMIN_TOKEN=ADMIN_TOKEN) as bot:
        fail_one_delivery(bot)
        yield bot


def test_without_admin_token_nobody_sees_the_details(bot: Bot) -> None:
    fail_one_delivery(bot)

    for headers in ({}, {"authorization": "Bearer anything"}):
        page = bot.client.get("/", headers=headers)

        assert page.status_code == 200
        assert_public(page.text)
        assert NOBODY in page.text
        assert "<form" not in page.text
    refused = bot.client.post("/", data={"token": "anything"})
    assert refused.status_code == 403
    assert "ADMIN_TOKEN is not set on this server, so nobody sees the details." in refused.text
    assert "set-cookie" not in refused.headers


def test_anyone_without_the_token_sees_counts_health_and_the_sign_in_form(guarded: Bot) -> None:
    page = guarded.client.get("/")

    assert page.status_code == 200
    assert_not_framable(page)
    assert_public(page.text)
    assert '<form method="post" action="/">' in page.text
    assert '<input type="password" id="token" name="token"' in page.text


def test_the_bearer_token_shows_the_details_and_a_wrong_one_is_refused(guarded: Bot) -> None:
    page = guarded.client.get("/", headers={"authorization": f"Bearer {ADMIN_TOKEN}"})

    assert page.status_code == 200
    assert_not_framable(page)
    assert "<td>acme/widgets#1</td>" in page.text
    assert f"<td>{REFUSED}</td>" in page.text
    assert "<code>pull_request.opened</code>" in page.text
    assert "Running as the GitHub App" in page.text and "/installations/new" in page.text
    assert "<form" not in page.text

    wrong = guarded.client.get("/", headers={"authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401
    assert_not_framable(wrong)
    assert wrong.headers["www-authenticate"] == "Bearer"
    assert "The bearer token sent is not this server&#x27;s ADMIN_TOKEN." in wrong.text
    assert "acme/widgets" not in wrong.text


def test_the_token_entered_on_the_page_is_remembered_by_a_cookie_that_does_not_hold_it(
    guarded: Bot,
) -> None:
    client = guarded.client
    wrong = client.post("/", data={"token": "not-the-token"})
    assert wrong.status_code == 403
    assert_not_framable(wrong)
    assert "That is not the ADMIN_TOKEN." in wrong.text
    assert_public(wrong.text)
    assert "set-cookie" not in wrong.headers

    signed_in = client.post("/", data={"token": ADMIN_TOKEN}, follow_redirects=False)

    assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/")
    cookie = signed_in.headers["set-cookie"]
    # Spelled as docs/ADMIN.md writes it; `Secure` only over https.
    value, _, attributes = cookie.partition("; ")
    assert attributes == f"HttpOnly; Max-Age={SESSION_SECONDS}; Path=/; SameSite=Strict"
    assert value.startswith(f"{COOKIE}=") and ADMIN_TOKEN not in value
    page = client.get("/")
    assert page.status_code == 200 and "<td>acme/widgets#1</td>" in page.text

    for forged in ("9999999999.forged", "².x", f"{'9' * 5000}.x"):
        cookie_header = f"{COOKIE}={forged}".encode("latin-1")
        assert_public(client.get("/", headers={"cookie": cookie_header}).text)


def test_a_browser_session_ends_when_it_expires_or_the_token_changes() -> None:
    now = [1_000_000.0]
    sessions = AdminSessions(clock=lambda: now[0])
    token = SecretStr(ADMIN_TOKEN)
    response = Response()
    sessions.sign_in(_request(), response, token)
    cookie = response.headers["set-cookie"].split(";")[0].split("=", 1)[1]

    assert sessions.access(_request(cookie), token) is Access.DETAILS
    assert sessions.access(_request(cookie), SecretStr("a-new-token")) is Access.PUBLIC
    now[0] += SESSION_SECONDS
    assert sessions.access(_request(cookie), token) is Access.PUBLIC


def _request(cookie: str | None = None) -> Request:
    headers = [(b"cookie", f"{COOKIE}={cookie}".encode())] if cookie else []
    scope = {"type": "http", "scheme": "http", "server": ("bot.example.com", 80), "path": "/"}
    return Request({**scope, "query_string": b"", "headers": headers})


def test_a_corrupt_journal_is_said_on_the_page_in_readyzs_words(
    bot: Bot, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    journal_file = tmp_path / "journal.db"
    with contextlib.closing(sqlite3.connect(journal_file)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # every page in the file
    journal_file.write_bytes(b"this is not a database\n" * 1000)

    ready = bot.client.get("/readyz")
    page = bot.client.get("/")

    assert ready.status_code == 503
    assert ready.json() == {"status": "unavailable", "problems": ["the journal is not writable"]}
    assert page.status_code == 200
    assert_not_framable(page)
    assert '<div class="problem"><p>the journal is not writable</p></div>' in page.text
    assert (
        '<h2>Deliveries</h2><div class="problem"><p>The journal could not be read, so its '
        "deliveries are not shown: the log says why.</p></div>"
    ) in page.text
    assert "Running as a GitHub App installed on 1 account." in page.text
    # SQLite's words depend on whether its connection had read the file before it was
    # overwritten (the worker reads it all the time).
    said = "the status page cannot read the journal: journal read failed: "
    assert {said + "file is not a database", said + "database disk image is malformed"} & set(
        caplog.messages
    )


def test_a_replaced_journal_file_is_said_on_the_page_without_its_path(
    bot: Bot, tmp_path: Path
) -> None:
    path, moved = tmp_path / "journal.db", tmp_path / "journal.db.moved"
    path.rename(moved)
    shutil.copy(moved, path)  # say, a backup restored over it

    replaced = bot.client.get("/")
    moved.replace(path)  # the file the server opened, put back
    restored = bot.client.get("/")

    problem = (
        "the journal file was deleted or replaced while hotfix-bot was running: put it back, "
        "or restart hotfix-bot to open the file now at its path"
    )
    assert replaced.status_code == 200
    assert f'<div class="problem"><p>{problem}</p></div>' in replaced.text
    assert str(tmp_path) not in replaced.text
    assert restored.status_code == 200
    assert problem not in restored.text


def test_after_a_refused_delivery_the_page_says_readyzs_last_answer_without_its_large_write(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Anyone may load the page: after a refused delivery it writes a heartbeat of a few
    bytes, never one as large as the delivery, and says what /readyz last found; once
    /readyz found room, it says nothing."""
    heartbeats: list[int] = []
    set_state = bot.journal.set_state

    async def kept_track_of(key: str, value: str) -> None:
        if key == HEARTBEAT_KEY:
            heartbeats.append(len(value))
        await set_state(key, value)

    async def disk_full(*_: object, **__: object) -> None:
        raise JournalUnavailable("journal write failed: database or disk is full")

    monkeypatch.setattr(bot.journal, "set_state", kept_track_of)
    monkeypatch.setattr(bot.journal, "record", disk_full)
    delivery = {"zen": "x" * 10_000}
    refused = post_delivery(bot.client, WEBHOOK_PATH, WEBHOOK_SECRET, "push", delivery, "d-1")
    monkeypatch.delattr(bot.journal, "record")  # room made
    page = bot.client.get("/")
    written_by_the_page = list(heartbeats)
    ready = bot.client.get("/readyz")
    page_after = bot.client.get("/")

    problem = '<div class="problem"><p>the journal is not writable</p></div>'
    assert refused.status_code == 503
    assert (page.status_code, problem in page.text) == (200, True)
    assert len(written_by_the_page) == 1 and written_by_the_page[0] < 32
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
    assert max(heartbeats) > 10_000  # /readyz's
    assert (page_after.status_code, problem in page_after.text) == (200, False)


def test_app_credentials_github_refuses_are_said_as_its_answer_not_as_silence(
    tmp_path: Path, private_key_pem: str
) -> None:
    """A key of another App (or APP_ID of another App): GitHub answers 401 to the App's JWT."""
    with running_bot(
        tmp_path, private_key_pem, PRIVATE_KEY=new_private_key_pem(), ADMIN_TOKEN=ADMIN_TOKEN
    ) as bot:
        public = bot.client.get("/")
        details = bot.client.get("/", headers={"authorization": f"Bearer {ADMIN_TOKEN}"})

    refused = (
        "GitHub refused hotfix-bot's App credentials (401): check that APP_ID and PRIVATE_KEY "
        "belong to the same App, and that the key was not deleted from its settings on GitHub."
    )
    assert public.status_code == 200
    assert f'<div class="problem"><p>{html.escape(refused)}</p></div>' in public.text
    assert details.status_code == 200
    assert (
        html.escape(
            f"{refused} GitHub answered 401 to GET /app: A JSON web token could not be decoded."
        )
        in details.text
    )
    assert "did not answer" not in public.text + details.text


def test_deliveries_refused_for_their_signature_are_counted_to_anyone_and_explained_to_an_admin(
    tmp_path: Path, private_key_pem: str
) -> None:
    """ "My webhooks do nothing": GitHub signs them with another secret than WEBHOOK_SECRET,
    and shows its 401s in the App's settings alone."""
    clock = Clock(datetime(2026, 12, 5, 9, 15, 0, tzinfo=UTC).timestamp())
    with running_bot(tmp_path, private_key_pem, clock=clock, ADMIN_TOKEN=ADMIN_TOKEN) as bot:
        # This test process's intake counts the refusals of the tests before this one too.
        before = signature_refusals().count
        answers = []
        for number in range(3):
            clock.now += 60
            answers.append(
                post_delivery(
                    bot.client, WEBHOOK_PATH, "github-has-another", "push", {}, f"d-{number}"
                ).status_code
            )
        public = bot.client.get("/").text
        admin = bot.client.get("/", headers={"authorization": f"Bearer {ADMIN_TOKEN}"}).text

    refused = (
        f"{before + 3} deliveries were refused (401) for a missing or wrong "
        "X-Hub-Signature-256 since this server started"
    )
    advice = (
        "if GitHub's Recent Deliveries (the App's settings, Advanced) show 401, the App's "
        "webhook secret there is not this server's WEBHOOK_SECRET: set the same value in both"
    )
    assert answers == [401, 401, 401]
    assert f'<div class="problem"><p>{refused}.</p></div>' in public
    assert "09:18:00" not in public and "WEBHOOK_SECRET" not in public
    last = f"{refused}, the last at 2026-12-05 09:18:00 UTC; {advice}."
    assert f'<div class="problem"><p>{html.escape(last)}</p></div>' in admin
    assert "github-has-another" not in public + admin


def test_a_webhook_secret_with_whitespace_around_it_is_named_to_an_admin_alone(
    tmp_path: Path, private_key_pem: str
) -> None:
    """A secret read from a file keeps its line break, which no secret typed into GitHub has:
    every delivery is refused, and the page says where to look, without the secret."""
    padded = f"{WEBHOOK_SECRET}\n"
    with running_bot(
        tmp_path, private_key_pem, ADMIN_TOKEN=ADMIN_TOKEN, WEBHOOK_SECRET=padded
    ) as bot:
        typed_in = post_delivery(bot.client, WEBHOOK_PATH, WEBHOOK_SECRET, "push", {}, "d-1")
        public = bot.client.get("/").text
        admin = bot.client.get("/", headers={"authorization": f"Bearer {ADMIN_TOKEN}"}).text

    hint = (
        "this server&#x27;s WEBHOOK_SECRET begins or ends with whitespace (a line break kept "
        "from a file?), which the secret typed into GitHub most likely does not: remove it."
    )
    assert typed_in.status_code == 401
    assert f"set the same value in both; {hint}</p></div>" in admin
    assert "WEBHOOK_SECRET" not in public
    assert WEBHOOK_SECRET not in public + admin


def test_while_github_hangs_the_page_answers_and_asks_again_only_once_that_is_old(
    tmp_path: Path, private_key_pem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GitHub answers nothing for longer than the client waits: the page says so after its
    own wait, and its next loads say it again without asking GitHub, until the failure is
    old enough to ask once more."""
    monkeypatch.setattr(status, "SUMMARY_WAIT_SECONDS", 0.5)
    patient = Timeouts(connect=60.0, read=60.0, whole=60.0)  # longer than any test waits
    with running_bot(
        tmp_path, private_key_pem, github_timeouts=patient, ADMIN_TOKEN=ADMIN_TOKEN
    ) as bot:
        bot.fake.inject("GET", r"/app$", hang=True, times=None)
        admin = {"authorization": f"Bearer {ADMIN_TOKEN}"}

        pages = [bot.client.get("/", headers=admin).text for _ in range(2)]
        public = bot.client.get("/").text
        asked = len(bot.fake.requests_to("GET", "/app"))
        monkeypatch.setattr(status, "FAILURE_SECONDS", 0.0)
        bot.client.get("/", headers=admin)

        # The first problem a page tells (the refused signatures of earlier tests may follow).
        for page in pages:
            assert PROBLEM.findall(page)[0] == "GitHub did not answer GET /app in time"
        assert PROBLEM.findall(public)[0] == "GitHub did not answer."
        assert asked == 1
        assert len(bot.fake.requests_to("GET", "/app")) == 2
