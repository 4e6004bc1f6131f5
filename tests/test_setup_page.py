"""The setup page in a real browser: the manifest form, then GitHub's redirect back.

Headless Chromium from Debian's packages (/usr/bin/chromium) driven by Playwright; nothing is
downloaded and nothing leaves loopback: the browser may reach only the server under test, the
form is read but never submitted to GitHub, and GitHub's redirect back is simulated by
navigating to the callback with a code the fake GitHub knows.
"""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import yaml
from dotenv import dotenv_values
from support.fake_world import shared_private_key
from support.openapi import OpenAPIValidator
from support.webhooks import journal_file, make_settings, signed_headers

from app.intake.server import create_app
from app.journal import SqliteJournal
from app.settings import load_settings
from sandbox import FakeGitHub, FakeManifestCode, serve_asgi, serve_fake

try:
    from playwright.sync_api import Browser, BrowserContext, Page, Route, sync_playwright
except ImportError:  # reported by `browser` below: a failure in CI, a skip elsewhere
    sync_playwright = None  # type: ignore[assignment]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MANIFEST = yaml.safe_load((Path(__file__).parents[1] / "app.yml").read_text())
WEBHOOK_PATH = "/api/github/webhooks"
ADMIN_TOKEN = "admin-token-for-tests"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    missing = (
        "Playwright for Python is not installed (pip install -e '.[test]')"
        if sync_playwright is None
        else None
        if CHROMIUM.exists()
        else f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    )
    if missing is not None:
        if os.environ.get("CI"):
            pytest.fail(f"the browser test must run in CI: {missing}")
        pytest.skip(missing)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class SetupServer:
    url: str
    fake: FakeGitHub
    registration: FakeManifestCode


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SetupServer]:
    """hotfix-bot in setup mode (no APP_ID, key or secret), served on loopback by uvicorn."""
    fake = FakeGitHub(request_validator=OpenAPIValidator().validate)
    registration = fake.register_manifest_code("hotfix-bot-acme", shared_private_key())
    with serve_fake(fake) as api_url:
        settings = make_settings(
            tmp_path, None, WEBHOOK_SECRET=None, GITHUB_API_URL=api_url, ADMIN_TOKEN=ADMIN_TOKEN
        )
        app = create_app(settings, journal=SqliteJournal(journal_file(settings)))
        with serve_asgi(app, thread_name="hotfix-bot") as url:
            yield SetupServer(url, fake, registration)
    problems = [f"{v.request.method} {v.request.path}: {v.errors}" for v in fake.violations]
    assert problems == [], "requests not valid against GitHub's OpenAPI description"


def loopback_browser(browser: Browser, server: SetupServer) -> BrowserContext:
    """A browser profile of its own (its own cookies) that reaches only the server."""
    context = browser.new_context()

    def loopback_only(route: Route) -> None:
        if route.request.url.startswith(server.url + "/"):
            route.continue_()
        else:
            route.abort()

    context.route("**/*", loopback_only)
    return context


@pytest.fixture
def page(browser: Browser, server: SetupServer) -> Iterator[Page]:
    context = loopback_browser(browser, server)
    yield context.new_page()
    context.close()


def test_the_setup_page_registers_the_app_and_the_server_is_configured_without_a_restart(
    server: SetupServer, page: Page, tmp_path: Path
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("# kept\nLOG_LEVEL=debug\n")
    env_file.chmod(0o644)
    assert httpx.get(f"{server.url}/readyz").status_code == 503

    setup_page = page.goto(f"{server.url}/")
    assert setup_page is not None and setup_page.headers["x-frame-options"] == "DENY"
    form = page.locator("form#register")
    action = urlsplit(form.get_attribute("action") or "")
    [state] = parse_qs(action.query)["state"]
    assert f"{action.scheme}://{action.netloc}{action.path}" == (
        f"{server.fake.api_url}/settings/apps/new"  # a local fake is its own web host
    )
    page.fill("#organization", "acme-corp")
    assert form.get_attribute("action") == (
        f"{server.fake.api_url}/organizations/acme-corp/settings/apps/new?state={state}"
    )
    page.fill("#organization", "")
    assert parse_qs(urlsplit(form.get_attribute("action") or "").query)["state"] == [state]

    manifest = json.loads(page.locator("input[name=manifest]").input_value())
    assert manifest["name"] == "hotfix-bot"
    assert manifest["public"] is False
    assert set(manifest["default_events"]) == {
        "pull_request",
        "pull_request_review",
        "check_run",
        "check_suite",
        "merge_group",
        "issue_comment",
        "push",
        "repository",
    }
    assert manifest["default_permissions"] == {
        "checks": "write",
        "contents": "write",
        "pull_requests": "write",
        "issues": "write",
        "metadata": "read",
        "members": "read",
        "merge_queues": "read",
    }
    assert manifest["hook_attributes"] == {"url": f"{server.url}{WEBHOOK_PATH}", "active": True}
    assert manifest["redirect_url"] == f"{server.url}/setup/callback"
    assert manifest["url"] == f"{server.url}/"
    assert {
        k: v for k, v in manifest.items() if k not in ("url", "hook_attributes", "redirect_url")
    } == {k: v for k, v in MANIFEST.items() if k not in ("url", "hook_attributes")}

    # GitHub creates the App, then sends the browser back with a code and the state.
    registration = server.registration
    answer = page.goto(f"{server.url}/setup/callback?code={registration.code}&state={state}")
    assert answer is not None and answer.status == 200
    shown = page.content()
    assert "hotfix-bot-acme" in page.inner_text("h1 + p")
    install = page.locator("a", has_text="Install hotfix-bot-acme")
    assert install.get_attribute("href") == (
        f"https://github.com/apps/{registration.app.slug}/installations/new"
    )
    for secret in (registration.webhook_secret, registration.client_secret, "PRIVATE KEY"):
        assert secret not in shown

    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    saved = dotenv_values(env_file)
    assert saved == {
        "LOG_LEVEL": "debug",
        "APP_ID": str(registration.app.id),
        "PRIVATE_KEY": registration.app.private_key_pem.strip().replace("\n", "\\n"),
        "WEBHOOK_SECRET": registration.webhook_secret,
        "GITHUB_CLIENT_ID": registration.client_id,
        "GITHUB_CLIENT_SECRET": registration.client_secret,
    }
    assert env_file.read_text().startswith("# kept\n")
    assert load_settings().app_id == registration.app.id  # what a restart would read

    assert httpx.get(f"{server.url}/readyz").status_code == 200
    installation = server.fake.add_installation(registration.app.id, account="acme")
    repo = server.fake.add_repo("acme/widgets", installation)
    repo.create_branch("hotfix/fix-login", "main")
    pull = repo.open_pull("hotfix/fix-login", "main", title="Fix login", author="dev")
    body = json.dumps(server.fake.pull_request_event(repo, pull.number, "opened")).encode()
    headers = signed_headers(body, "pull_request", "d-1", secret=registration.webhook_secret)
    delivered = httpx.post(f"{server.url}{WEBHOOK_PATH}", content=body, headers=headers)
    assert delivered.status_code == 202 and delivered.json()["status"] == "queued"
    # The App's key from the conversion signs the JWT: a token is minted, the check written.
    deadline = time.monotonic() + 20
    while not repo.runs_named("hotfix-policy", pull.head_sha):
        assert time.monotonic() < deadline, "the delivery was not processed"
        time.sleep(0.05)

    page.goto(f"{server.url}/")
    status = page.inner_text("main")
    assert "installed on 1 account." in status and "1 done" in status
    assert "hotfix-bot-acme" not in status and "acme/widgets" not in status
    page.fill("#token", ADMIN_TOKEN)
    page.click("text=Show details")
    status = page.inner_text("main")  # the browser keeps the cookie for later visits
    assert "hotfix-bot-acme" in status and "installed on 1 account." in status
    assert "pull_request.opened" in status and "acme/widgets#1" in status
    page.reload()
    assert "acme/widgets#1" in page.inner_text("main")

    replayed = page.goto(f"{server.url}/setup/callback?code={registration.code}&state={state}")
    assert replayed is not None and replayed.status == 409


@pytest.mark.parametrize("query", ["code={code}&state=forged", "code={code}", "state={state}"])
def test_a_callback_without_a_valid_state_or_code_is_refused_and_writes_nothing(
    server: SetupServer, page: Page, tmp_path: Path, query: str
) -> None:
    page.goto(f"{server.url}/")
    action = page.locator("form#register").get_attribute("action") or ""
    [state] = parse_qs(urlsplit(action).query)["state"]

    filled = query.format(code=server.registration.code, state=state)
    answer = page.goto(f"{server.url}/setup/callback?{filled}")

    assert answer is not None and answer.status == 400
    assert "This setup link is not valid" in page.inner_text("h1")
    assert not (tmp_path / ".env").exists()
    assert server.fake.requests_to("POST", "/app-manifests") == []
    assert httpx.get(f"{server.url}/readyz").status_code == 503


def test_a_callback_in_another_browser_is_refused_and_writes_nothing(
    server: SetupServer, page: Page, browser: Browser, tmp_path: Path
) -> None:
    page.goto(f"{server.url}/")
    action = page.locator("form#register").get_attribute("action") or ""
    [state] = parse_qs(urlsplit(action).query)["state"]
    other = loopback_browser(browser, server)
    try:
        elsewhere = other.new_page()
        answer = elsewhere.goto(
            f"{server.url}/setup/callback?code={server.registration.code}&state={state}"
        )
        assert answer is not None and answer.status == 403
        assert elsewhere.inner_text("h1") == "This setup link is not for this browser"
    finally:
        other.close()

    assert not (tmp_path / ".env").exists()
    assert server.fake.requests_to("POST", "/app-manifests") == []
    assert httpx.get(f"{server.url}/readyz").status_code == 503
