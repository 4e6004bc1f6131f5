"""Settings and signed deliveries for tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.journal import journal_path
from app.settings import Settings
from sandbox import webhooks

WEBHOOK_SECRET = "webhook-secret-for-tests"


def make_settings(tmp_path: Path, private_key_pem: str | None, **values: Any) -> Settings:
    defaults: dict[str, Any] = {
        "APP_ID": 1 if private_key_pem else None,
        "PRIVATE_KEY": private_key_pem,
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'journal.db'}",
        "GITHUB_API_URL": "http://github.invalid",
    }
    return Settings(_env_file=None, **{**defaults, **values})


def journal_file(settings: Settings) -> Path:
    """The SQLite file of `settings`' journal, as make_settings names one."""
    path = journal_path(settings.database_url)
    assert path is not None, settings.database_url
    return path


def signed_headers(
    body: bytes, event: str, delivery_id: str, secret: str = WEBHOOK_SECRET
) -> dict[str, str]:
    return webhooks.signed_headers(body, event, delivery_id, secret)


def pull_request_payload(number: int = 7, action: str = "opened", installation: int = 11) -> bytes:
    return json.dumps(
        {
            "action": action,
            "number": number,
            "installation": {"id": installation},
            "repository": {"full_name": "acme/widgets", "default_branch": "main"},
            "pull_request": {"number": number, "head": {"ref": "hotfix/x", "sha": "a" * 40}},
        }
    ).encode()
