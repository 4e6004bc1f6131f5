"""Shared fixtures: an App key, settings without any .env, signed deliveries."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.harness import Bot, running_bot

from app.sandbox import new_private_key_pem


@pytest.fixture(scope="session")
def private_key_pem() -> str:
    return new_private_key_pem()


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No test reads the developer's .env or environment by accident."""
    for name in (
        "APP_ID", "PRIVATE_KEY", "PRIVATE_KEY_PATH", "WEBHOOK_SECRET", "GITHUB_API_URL",
        "WEBHOOK_PATH", "HOST", "PORT", "DATABASE_URL", "LOG_LEVEL", "LOG_FORMAT", "ADMIN_TOKEN",
    ):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    yield


@pytest.fixture
def bot(tmp_path: Path, private_key_pem: str) -> Iterator[Bot]:
    """hotfix-bot in process, against the fake GitHub on loopback (see support.harness)."""
    with running_bot(tmp_path, private_key_pem) as running:
        yield running
