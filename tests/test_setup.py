"""The setup flow's parts without a browser: GitHub's web host, the state, .env, failures."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.testclient import TestClient
from support.webhooks import make_settings

from app.env_file import update_env_file
from app.journal import SqliteJournal
from app.sandbox import FakeGitHub, serve_fake
from app.server import create_app
from app.setup import PendingStates, github_web_url

ADMIN_TOKEN = "admin-token-for-tests"


@pytest.mark.parametrize(
    ("api_url", "web_url"),
    [
        ("https://api.github.com", "https://github.com"),
        ("https://github.acme.com/api/v3", "https://github.acme.com"),
        ("https://api.acme.ghe.com", "https://acme.ghe.com"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ],
)
def test_the_new_app_page_is_on_githubs_web_host_for_the_api_url(
    api_url: str, web_url: str
) -> None:
    assert github_web_url(api_url) == web_url


def test_a_state_is_single_use() -> None:
    states = PendingStates()
    state = states.issue()

    assert states.take(state)
    assert not states.take(state)
    assert not states.take("never-issued")


def test_env_file_keeps_other_lines_replaces_ours_and_is_owner_only(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("LOG_FORMAT=json\nexport APP_ID=1\n# a comment\nAPP_ID=2\n")
    env_file.chmod(0o644)

    update_env_file(env_file, {"APP_ID": "42", "PRIVATE_KEY": "-----BEGIN\nabc\n-----END\n"})

    assert env_file.read_text() == (
        "LOG_FORMAT=json\nAPP_ID=42\n# a comment\nPRIVATE_KEY=-----BEGIN\\nabc\\n-----END\n"
    )
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert [path.name for path in tmp_path.iterdir()] == [".env"]  # no temporary file left


@pytest.fixture
def setup_client(tmp_path: Path) -> Iterator[tuple[TestClient, FakeGitHub]]:
    fake = FakeGitHub()
    with serve_fake(fake) as api_url:
        settings = make_settings(
            tmp_path, None, WEBHOOK_SECRET=None, GITHUB_API_URL=api_url, ADMIN_TOKEN=ADMIN_TOKEN
        )
        app = create_app(settings, journal=SqliteJournal(settings.database_path))
        with TestClient(app, base_url="https://bot.example.com") as client:
            yield client, fake


def _state(client: TestClient) -> str:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    action = page.text.split('action="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    [state] = parse_qs(urlsplit(action).query)["state"]
    return state


def test_a_code_github_does_not_know_is_reported_and_nothing_is_written(
    setup_client: tuple[TestClient, FakeGitHub], tmp_path: Path
) -> None:
    client, fake = setup_client

    answer = client.get("/setup/callback", params={"code": "expired", "state": _state(client)})

    assert answer.status_code == 502
    assert "GitHub answered 404 (Not Found)" in answer.text
    assert not (tmp_path / ".env").exists()
    assert client.get("/readyz").status_code == 503
    [conversion] = fake.requests_to("POST", "/app-manifests/")
    assert "authorization" not in conversion.headers


def test_the_status_page_says_when_github_does_not_answer(
    setup_client: tuple[TestClient, FakeGitHub],
) -> None:
    client, fake = setup_client
    registration = fake.register_manifest_code("hotfix-bot-acme")
    client.get(
        "/setup/callback", params={"code": registration.code, "state": _state(client)}
    ).raise_for_status()
    fake.inject("GET", "^/app$", 500, times=None)

    page = client.get("/")
    details = client.get("/", headers={"authorization": f"Bearer {ADMIN_TOKEN}"})

    assert page.status_code == 200
    assert "GitHub did not answer.</p>" in page.text and "GitHub answered" not in page.text
    assert "0 queued" in page.text
    assert details.status_code == 200  # ADMIN_TOKEN outlives the switch to configured
    assert "GitHub did not answer: GitHub answered 500 to GET /app" in details.text
    assert "No deliveries yet." in details.text
