"""Shared fixtures: an App key, settings without any .env, signed deliveries."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from support.harness import Bot, running_bot


@pytest.fixture(scope="session")
def private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No test reads the developer's .env or environment by accident."""
    for name in (
        "APP_ID", "PRIVATE_KEY", "PRIVATE_KEY_PATH", "WEBHOOK_SECRET", "GITHUB_API_URL",
        "WEBHOOK_PATH", "HOST", "PORT", "DATABASE_URL", "LOG_LEVEL", "LOG_FORMAT",
    ):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    yield


@pytest.fixture
def bot(tmp_path: Path, private_key_pem: str) -> Iterator[Bot]:
    """hotfix-bot in process, against the fake GitHub on loopback (see support.harness)."""
    with running_bot(tmp_path, private_key_pem) as running:
        yield running
