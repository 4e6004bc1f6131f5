"""Shared fixtures: an App key, settings without any .env, signed deliveries."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.harness import Bot, Clock, running_bot

from sandbox import new_private_key_pem


@pytest.fixture(scope="session")
def private_key_pem() -> str:
    return new_private_key_pem()


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No test reads the developer's .env or environment by accident."""
    for name in (
        "APP_ID", "PRIVATE_KEY", "PRIVATE_KEY_PATH", "WEBHOOK_SECRET", "GITHUB_API_URL",
        "WEBHOOK_PATH", "HOST", "PORT", "DATABASE_URL", "LOG_LEVEL", "LOG_FORMAT", "ADMIN_TOKEN",
        "NOTIFY_WEBHOOK_URL",
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
def clocked_bot(tmp_path: Path, private_key_pem: str, clock: Clock) -> Iterator[Bot]:
    """`bot` whose journal, and the worker with it, keeps the time of `clock`."""
    with running_bot(tmp_path, private_key_pem, clock=clock) as running:
        yield running
