"""The setup flow's parts without a browser: GitHub's web host, the state, .env, failures."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from dotenv import dotenv_values
from starlette.testclient import TestClient
from support.pages import assert_not_framable
from support.webhooks import journal_file, make_settings, signed_headers

from app.env_file import update_env_file
from app.intake.server import create_app
from app.journal import SqliteJournal
from app.pages.setup import STATE_COOKIE, STATE_LIFETIME, SetupStates, github_web_url
from sandbox import FakeGitHub, serve_fake, shapes

ADMIN_TOKEN = "admin-token-for-tests"


@pytest.mark.parametrize(
    ("api_url", "web_url"),
    [
        ("https://api.github.com", "https://github.com"),
        ("https://github.acme.com/api/v3", "https://github.acme.com"),
        ("https://api.ghe.acme.com/api/v3", "https://api.ghe.acme.com"),
        ("https://api.acme.ghe.com", "https://acme.ghe.com"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ],
)
def test_the_new_app_page_is_on_githubs_web_host_for_the_api_url(
    api_url: str, web_url: str
) -> None:
    assert github_web_url(api_url) == web_url


def test_a_state_is_valid_as_issued_by_this_server_until_it_expires() -> None:
    now = [1_000_000.0]
    states = SetupStates(clock=lambda: now[0])
    state = states.issue()
    expires, nonce, signature = state.split(".")

    assert states.valid(state)
    assert states.issue() != state  # two browsers in the same second get different states
    assert not states.valid(f"{int(expires) + 3600}.{nonce}.{signature}")
    assert not SetupStates(clock=lambda: now[0]).valid(state)  # after a restart
    for forged in ("", "never-issued", "².x.y", f"{'9' * 5000}.x.y"):
        assert not states.valid(forged)
    now[0] += STATE_LIFETIME
    assert not states.valid(state)


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
        app = create_app(settings, journal=SqliteJournal(journal_file(settings)))
        with TestClient(app, base_url="https://bot.example.com") as client:
            yield client, fake


def _state(client: TestClient) -> str:
    """Load the setup page as a browser does: its form's state, its cookie kept."""
    page = client.get("/")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert_not_framable(page)
    action: str = page.text.split('action="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    [state] = parse_qs(urlsplit(action).query)["state"]
    return state


def test_the_setup_page_binds_its_state_to_the_browser_with_a_cookie(
    setup_client: tuple[TestClient, FakeGitHub],
) -> None:
    client, _ = setup_client
    page = client.get("/")
    action: str = page.text.split('action="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    [state] = parse_qs(urlsplit(action).query)["state"]

    name, _, rest = page.headers["set-cookie"].partition("=")
    value, *attributes = (part.strip() for part in rest.split(";"))
    assert (name, value) == (STATE_COOKIE, state)
    assert {attribute.lower() for attribute in attributes} == {
        "httponly",
        "samesite=lax",
        "secure",  # the page was opened over https
        "path=/setup/callback",
        f"max-age={STATE_LIFETIME}",
    }


def test_a_callback_from_a_browser_without_the_states_cookie_is_refused_and_writes_nothing(
    setup_client: tuple[TestClient, FakeGitHub], tmp_path: Path
) -> None:
    client, fake = setup_client
    registration = fake.register_manifest_code("hotfix-bot-acme")
    state = _state(client)
    _state(client)  # the page loaded again: this browser's cookie holds the newer state

    link = {"code": registration.code, "state": state}
    refused = [client.get("/setup/callback", params=link)]
    client.cookies.clear()  # another browser: no cookie at all
    refused.append(client.get("/setup/callback", params=link))

    for answer in refused:
        assert answer.status_code == 403
        assert "<h1>This setup link is not for this browser</h1>" in answer.text
        assert "Open the setup page in this browser and register again." in answer.text
        assert_not_framable(answer)
    assert fake.requests_to("POST", "/app-manifests/") == []
    assert not (tmp_path / ".env").exists()
    assert client.get("/readyz").status_code == 503


def test_many_anonymous_page_loads_do_not_crowd_out_a_browsers_state(
    setup_client: tuple[TestClient, FakeGitHub], tmp_path: Path
) -> None:
    client, fake = setup_client
    registration = fake.register_manifest_code("hotfix-bot-acme")
    state = _state(client)
    anonymous = TestClient(client.app, base_url="https://bot.example.com")
    for _ in range(1000):
        assert anonymous.get("/").status_code == 200

    registered = client.get("/setup/callback", params={"code": registration.code, "state": state})

    assert registered.status_code == 200
    assert "<h1>hotfix-bot is registered</h1>" in registered.text
    assert_not_framable(registered)
    assert (tmp_path / ".env").exists()
    # The state is spent: the cookie is gone, so this browser cannot follow the link again.
    assert registered.headers["set-cookie"].startswith(f'{STATE_COOKIE}=""; expires=')
    assert STATE_COOKIE not in client.cookies


ONE_OVERRIDDEN = (
    "WEBHOOK_SECRET is also set in the environment, which overrides .env at the next start: "
    "remove it there, or set it there to the new value from .env"
)
TWO_OVERRIDDEN = (
    "PRIVATE_KEY and WEBHOOK_SECRET are also set in the environment, which overrides .env at "
    "the next start: remove them there, or set them there to the new values from .env"
)


@pytest.mark.parametrize(
    ("environment", "warning"),
    [
        ({"WEBHOOK_SECRET": "the-old-secret"}, ONE_OVERRIDDEN),
        ({"PRIVATE_KEY": "the-old-key", "WEBHOOK_SECRET": "the-old-secret"}, TWO_OVERRIDDEN),
        ({"WEBHOOK_SECRET": ""}, None),  # left blank: unset, so .env supplies it
    ],
    ids=["secret", "key and secret", "blank"],
)
def test_credentials_the_environment_sets_too_are_replaced_there_and_named_never_shown(
    environment: dict[str, str],
    warning: str | None,
    setup_client: tuple[TestClient, FakeGitHub],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The environment wins over .env: the processes the server starts inherit it, and the
    next start reads it again."""
    client, fake = setup_client
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    registration = fake.register_manifest_code("hotfix-bot-acme")

    with caplog.at_level(logging.WARNING, logger="hotfix_bot.setup"):
        registered = client.get(
            "/setup/callback", params={"code": registration.code, "state": _state(client)}
        )

    assert registered.status_code == 200
    new_values = {
        "PRIVATE_KEY": registration.app.private_key_pem,
        "WEBHOOK_SECRET": registration.webhook_secret,
    }
    assert {name: os.environ[name] for name in environment} == {
        name: new_values[name] if value else "" for name, value in environment.items()
    }
    warnings = [record.getMessage() for record in caplog.records]
    if warning is None:
        assert 'class="problem"' not in registered.text and warnings == []
    else:
        assert f'<div class="problem"><p>{warning}.</p></div>' in registered.text
        assert warnings == [warning]
    for secret in (*environment.values(), *new_values.values()):
        assert not secret or secret not in registered.text


def test_a_conversion_without_webhook_secret_or_client_id_saves_no_guessable_secret(
    setup_client: tuple[TestClient, FakeGitHub], tmp_path: Path
) -> None:
    """GitHub's description lets the conversion answer `webhook_secret: null` and leave out
    `slug` and `client_id`."""
    client, fake = setup_client
    registration = fake.register_manifest_code("hotfix-bot-acme")
    described = {
        **{k: v for k, v in shapes.app(fake, registration.app).items() if k != "slug"},
        "client_secret": registration.client_secret,
        "webhook_secret": None,
        "pem": registration.app.private_key_pem,
    }
    fake.inject("POST", "/app-manifests/", status=201, body=described)

    registered = client.get(
        "/setup/callback", params={"code": registration.code, "state": _state(client)}
    )

    assert registered.status_code == 200
    settings_url = described["html_url"]
    assert (
        '<div class="problem"><p>GitHub gave no webhook secret, so every delivery is refused: '
        f"set one in the App&#x27;s settings, {settings_url}, and give it to hotfix-bot as "
        "WEBHOOK_SECRET.</p></div>"
    ) in registered.text
    saved = dotenv_values(tmp_path / ".env")
    assert sorted(saved) == ["APP_ID", "GITHUB_CLIENT_SECRET", "PRIVATE_KEY"]
    assert saved["GITHUB_CLIENT_SECRET"] == registration.client_secret
    delivery = client.post(
        "/api/github/webhooks",
        content=b"{}",
        headers={
            **signed_headers(b"{}", "ping", "d-1", "None"),
            "content-type": "application/json",
        },
    )
    assert delivery.status_code == 503


def test_a_code_github_does_not_know_is_reported_and_nothing_is_written(
    setup_client: tuple[TestClient, FakeGitHub], tmp_path: Path
) -> None:
    client, fake = setup_client

    answer = client.get("/setup/callback", params={"code": "expired", "state": _state(client)})

    assert answer.status_code == 502
    assert_not_framable(answer)
    assert "GitHub answered 404 (Not Found)" in answer.text
    assert not (tmp_path / ".env").exists()
    assert client.get("/readyz").status_code == 503
    [conversion] = fake.requests_to("POST", "/app-manifests/")
    assert "authorization" not in conversion.headers


def test_the_status_page_says_what_github_answered_and_its_words_with_the_details(
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
    assert "GitHub answered 500.</p>" in page.text and "GET /app" not in page.text
    assert "0 queued" in page.text
    assert details.status_code == 200  # ADMIN_TOKEN outlives the switch to configured
    assert "<p>GitHub answered 500 to GET /app" in details.text
    assert "No deliveries yet." in details.text
