"""Shared fixtures: an App key, settings without any .env, signed deliveries."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.chat import ChatReceiver, serving_chat
from support.harness import Bot, Clock, running_bot
from support.postgres import PostgresServer, PostgresUnavailable, start_postgres

from sandbox import new_private_key_pem


@pytest.fixture(scope="session")
def private_key_pem() -> str:
    return new_private_key_pem()


@pytest.fixture
def chat() -> Iterator[ChatReceiver]:
    """A chat webhook on loopback that keeps what it is sent (support.chat)."""
    with serving_chat() as receiver:
        yield receiver


@pytest.fixture
def chatty_bot(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    private_key_pem: str,
    clock: Clock,
    chat: ChatReceiver,
) -> Iterator[Bot]:
    """`clocked_bot` with NOTIFY_WEBHOOK_URL set to `chat`, each attempt given 2 s (or the
    seconds a test gives it, `indirect`); acme's lead and on-call teams, and its people's
    access to acme/widgets."""
    chat_timeout = getattr(request, "param", 2.0)
    with running_bot(
        tmp_path,
        private_key_pem,
        clock=clock,
        chat_timeout=chat_timeout,
        NOTIFY_WEBHOOK_URL=chat.url,
    ) as bot:
        bot.fake.add_team("acme", "engineering-leads", ["lead"])
        bot.fake.add_team("acme", "on-call-managers", ["oncall"])
        bot.repo.collaborators.update({"dev": "write", "lead": "maintain", "oncall": "write"})
        yield bot


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No test reads the developer's .env or environment by accident."""
    for name in (
        "APP_ID", "PRIVATE_KEY", "PRIVATE_KEY_PATH", "WEBHOOK_SECRET", "GITHUB_API_URL",
        "WEBHOOK_PATH", "HOST", "PORT", "DATABASE_URL", "LOG_LEVEL", "LOG_FORMAT", "ADMIN_TOKEN",
        "NOTIFY_WEBHOOK_URL",
        "WEB_CONCURRENCY", "GHE_HOST", "GHE_PROTOCOL",
    ):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    yield


@pytest.fixture
def bot(tmp_path: Path, private_key_pem: str) -> Iterator[Bot]:
    """hotfix-bot in process, against the fake GitHub on loopback (see support.harness)."""
    with running_bot(tmp_path, private_key_pem) as running:
        yield running


@pytest.fixture
def clock() -> Clock:
    """Stands at 2026-12-04 20:30:30 UTC until a test moves it."""
    return Clock(datetime(2026, 12, 4, 20, 30, 30, tzinfo=UTC).timestamp())


@pytest.fixture
def no_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries in line back off exactly 1, 2, 4, ... s, so that the times they add are known."""
    monkeypatch.setattr(random, "uniform", lambda low, high: high)


@pytest.fixture
def clocked_bot(tmp_path: Path, private_key_pem: str, clock: Clock) -> Iterator[Bot]:
    """`bot` whose journal, and the worker with it, keeps the time of `clock`."""
    with running_bot(tmp_path, private_key_pem, clock=clock) as running:
        yield running


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of the test session's own."""
    server = _started_postgres()
    yield server
    server.stop()


@pytest.fixture
def postgres_to_stop() -> Iterator[PostgresServer]:
    """A PostgreSQL server of the test's own, for a test that stops it."""
    server = _started_postgres()
    yield server
    server.stop()  # again, when the test did not


def _started_postgres() -> PostgresServer:
    """CI installs PostgreSQL (.ci/run): there a missing server fails the tests that need
    one rather than skip them."""
    try:
        return start_postgres()
    except PostgresUnavailable as missing:
        if os.environ.get("CI"):
            pytest.fail(str(missing))
        pytest.skip(str(missing))


JOURNAL_KINDS = ("sqlite", "postgresql")


@pytest.fixture(params=JOURNAL_KINDS)
def journal_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """DATABASE_URL of a new, empty journal: a SQLite file, or a PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'journal.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    with server.database() as url:
        yield url


@pytest.fixture
def bot_on_each_journal(
    tmp_path: Path, private_key_pem: str, clock: Clock, journal_url: str
) -> Iterator[Bot]:
    """`clocked_bot` on each kind of journal (see `journal_url`)."""
    with running_bot(tmp_path, private_key_pem, clock=clock, DATABASE_URL=journal_url) as running:
        yield running
