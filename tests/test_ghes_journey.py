"""A company on GitHub Enterprise Server (`GITHUB_API_URL=https://HOST/api/v3`, docs/ADMIN.md,
"GitHub Enterprise Server"): every link and command a person reads names the server's own web
host, never github.com, from the App's registration to a hotfix's whole life."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from dotenv import dotenv_values
from starlette.testclient import TestClient
from support.chat import ChatReceiver
from support.harness import Bot, Clock, running_bot
from support.webhooks import journal_file, make_settings

from app.intake.server import create_app
from app.journal import SqliteJournal
from sandbox import FakeGitHub, serve_fake

API_PREFIX = "/api/v3"
SERVER = "https://bot.acme.example"  # where hotfix-bot is served
ADMIN_TOKEN = "admin-token-for-the-ghes-journey"
BOT = "hotfix-bot[bot]"
OUTPUT_PARTS = ("title", "summary", "text")
URL = re.compile(r"\bhttps?://[^\s)>\]\"'`]+")


@pytest.fixture
def ghes(tmp_path: Path, private_key_pem: str, chat: ChatReceiver) -> Iterator[Bot]:
    """hotfix-bot on a GitHub Enterprise Server: the fake serves its API under /api/v3 and
    its web pages on its own host (http, on a port of its own), with a chat and teams."""
    clock = Clock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC).timestamp())
    with running_bot(
        tmp_path,
        private_key_pem,
        clock=clock,
        api_prefix=API_PREFIX,
        chat_timeout=2.0,
        NOTIFY_WEBHOOK_URL=chat.url,
    ) as bot:
        bot.fake.add_team("acme", "engineering-leads", ["lead"])
        bot.fake.add_team("acme", "on-call-managers", ["oncall"])
        bot.fake.add_team("acme", "product-managers", ["pm"])
        bot.repo.collaborators.update({"dev": "write", "lead": "maintain", "oncall": "write"})
        bot.repo.create_branch("develop", "main")
        yield bot


def links_in(text: str) -> list[str]:
    return URL.findall(text)


def what_people_read(bot: Bot, chat: ChatReceiver) -> dict[str, str]:
    """Every text hotfix-bot wrote for people, by where it stands."""
    texts: dict[str, str] = {}
    for run in bot.repo.check_runs.values():
        for index, shown in enumerate(run.history):  # each state people saw, not the last only
            output = shown.get("output") or {}
            parts = [shown.get("details_url"), *(output.get(part) for part in OUTPUT_PARTS)]
            texts[f"check run {run.name} {run.id}.{index}"] = "\n".join(
                map(str, filter(None, parts))
            )
    for comment in bot.repo.comments.values():
        if comment.author == BOT:
            texts[f"comment {comment.id}"] = comment.body
    for number, issue in bot.repo.issues.items():
        texts[f"issue #{number}"] = f"{issue.title}\n{issue.body}"
    for number, pull in bot.repo.pulls.items():
        if pull.author == BOT:
            texts[f"pull request #{number}"] = f"{pull.title}\n{pull.body}"
    for tag, release in bot.repo.releases.items():
        texts[f"release {tag}"] = f"{release.name}\n{release.body}"
    for index, text in enumerate(chat.texts()):
        texts[f"chat {index}"] = text
    return texts


def test_a_p0_hotfix_on_ghes_links_only_to_the_servers_web_host(
    ghes: Bot, chat: ChatReceiver
) -> None:
    bot = ghes
    web = bot.fake.web_url
    assert web.startswith("http://127.0.0.1:") and bot.fake.api_url == f"{web}{API_PREFIX}"
    # develop takes no direct push: the back-merge is a pull request. The release is refused
    # every time: the report gives the commands that finish it by hand.
    bot.repo.protect("develop")
    bot.fake.inject("POST", r"/releases$", status=403, times=None, body={"message": "Forbidden"})
    pull = bot.open_hotfix(labels=("hotfix", "P0"))
    bot.pull_request(pull.number, "opened")
    for login in ("lead", "oncall", "pm"):
        bot.repo.review(pull.number, login, "APPROVED")
        bot.deliver("pull_request_review", bot.fake.review_event(bot.repo, pull.number))
    bot.repo.merge_pull(pull.number, merged_by="lead")
    bot.pull_request(pull.number, "closed")

    [release_run] = bot.repo.runs_named("hotfix-release")
    assert release_run.conclusion == "failure"
    assert "gh release create v1.2.4" in release_run.output["summary"]
    [back_merge] = [opened for opened in bot.repo.pulls.values() if opened.author == BOT]
    [report] = bot.repo.issues.values()
    assert release_run.details_url == f"{web}/acme/widgets/pull/{pull.number}"
    for link in (f"pull/{back_merge.number}", f"issues/{report.number}", "tree/v1.2.4"):
        assert f"({web}/acme/widgets/{link})" in release_run.output["summary"]
    texts = what_people_read(bot, chat)
    assert [where for where in texts if where.startswith("chat ")] == ["chat 0", "chat 1"]
    elsewhere = {
        where: [link for link in links_in(text) if not link.startswith(f"{web}/")]
        for where, text in texts.items()
    }
    assert {where: links for where, links in elsewhere.items() if links} == {}
    assert [where for where, text in texts.items() if "github.com" in text] == []


def test_a_forks_new_pull_request_is_opened_on_the_server_not_on_github_com(
    ghes: Bot,
) -> None:
    """gh takes `--repo OWNER/REPO` as a repository on its default host, github.com for
    anyone also signed in there; the server's repository is `HOST/OWNER/REPO` to it."""
    bot = ghes
    host = bot.fake.web_host
    bot.fake.add_repo("contributor/widgets", bot.repo.installation_id)
    bot.repo.create_branch("Fix_Login", "main")
    bot.repo.commit("Fix_Login", {"VERSION": "1.2.4\n"}, "Fix the login")
    pull = bot.repo.open_pull(
        "Fix_Login",
        title="Fix login",
        author="dev",
        labels=("hotfix", "P1"),
        from_fork="contributor/widgets",
    )
    bot.pull_request(pull.number, "opened")

    summary = bot.policy_run(pull.head_sha).output["summary"]
    assert (
        "In your clone of contributor/widgets, where `origin` is the fork, rename the branch, "
        "push it, then open a new pull request from contributor:hotfix/fix-login into "
        "acme/widgets and close this one:\n\n```sh\n"
        "git branch -m Fix_Login hotfix/fix-login\n"
        "git push origin -u hotfix/fix-login\n"
        f"gh pr create --repo {host}/acme/widgets --base main\n```"
    ) in summary


@pytest.mark.parametrize("written", ["{api}", "{api}/"])
def test_the_app_is_registered_on_the_server_from_the_setup_page(
    tmp_path: Path, written: str
) -> None:
    """The setup page sends the browser to the server's new-App pages with a manifest whose
    addresses are hotfix-bot's own, and the code is exchanged at the server's API: the
    fake's web host is http, on a port of its own, and GITHUB_API_URL may end in a slash."""
    fake = FakeGitHub()
    with serve_fake(fake, api_prefix=API_PREFIX) as api:
        web = fake.web_url
        settings = make_settings(
            tmp_path,
            None,
            WEBHOOK_SECRET=None,
            GITHUB_API_URL=written.format(api=api),
            ADMIN_TOKEN=ADMIN_TOKEN,
        )
        app = create_app(settings, journal=SqliteJournal(journal_file(settings)))
        with TestClient(app, base_url=SERVER) as client:
            page = client.get("/").text
            forms = {
                name: page.split(f'{name}="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
                for name in ("data-personal-action", "data-organization-action")
            }
            state = parse_qs(urlsplit(forms["data-personal-action"]).query)["state"][0]
            assert forms == {
                "data-personal-action": f"{web}/settings/apps/new?state={state}",
                "data-organization-action": (
                    f"{web}/organizations/{{organization}}/settings/apps/new?state={state}"
                ),
            }
            manifest = json.loads(
                page.split('name="manifest" value="', 1)[1].split('"', 1)[0].replace("&quot;", '"')
            )
            assert (
                manifest["url"],
                manifest["hook_attributes"]["url"],
                manifest["redirect_url"],
            ) == (
                f"{SERVER}/",
                f"{SERVER}/api/github/webhooks",
                f"{SERVER}/setup/callback",
            )
            assert f"administer on <code>{web}</code>" in page

            registration = fake.register_manifest_code("hotfix-bot-acme")
            registered = client.get(
                "/setup/callback", params={"code": registration.code, "state": state}
            )
            assert registered.status_code == 200, registered.text
            app_page = f"{web}/github-apps/hotfix-bot-acme"  # GHES's, not github.com's /apps/
            assert links_in(registered.text) == [f"{app_page}/installations/new"]
            assert dotenv_values(tmp_path / ".env")["APP_ID"] == str(registration.app.id)
            status = client.get("/", headers={"authorization": f"Bearer {ADMIN_TOKEN}"}).text
            assert links_in(status) == [app_page, f"{app_page}/installations/new"]


def test_a_server_named_without_its_api_path_is_named_in_the_failed_registration(
    tmp_path: Path,
) -> None:
    """GITHUB_API_URL=https://HOST, /api/v3 forgotten: the setup page still sends the browser
    to the server's new-App page, where the App is created, but the code goes to the web
    pages, which do not know it. Registering again as before would only fail again."""
    fake = FakeGitHub()
    with serve_fake(fake, api_prefix=API_PREFIX):
        web = fake.web_url
        settings = make_settings(tmp_path, None, WEBHOOK_SECRET=None, GITHUB_API_URL=web)
        app = create_app(settings, journal=SqliteJournal(journal_file(settings)))
        with TestClient(app, base_url=SERVER) as client:
            action = client.get("/").text.split('action="', 1)[1].split('"', 1)[0]
            assert action.startswith(f"{web}/settings/apps/new?state=")
            state = parse_qs(urlsplit(action.replace("&amp;", "&")).query)["state"][0]
            registration = fake.register_manifest_code("hotfix-bot-acme")
            failed = client.get(
                "/setup/callback", params={"code": registration.code, "state": state}
            )

    assert failed.status_code == 502
    assert (
        "GitHub answered 404 (Not Found). A code works once and for an hour: register the App "
        f"again from the setup page. If {web} is a GitHub Enterprise Server, GITHUB_API_URL "
        f"must be its API, {web}/api/v3: set it and restart hotfix-bot before registering "
        "again, and delete the App just created there, which has no credentials here."
    ) in failed.text
    assert not (tmp_path / ".env").exists()


def test_an_api_at_the_root_of_a_host_that_answers_json_is_not_told_of_api_v3(
    tmp_path: Path,
) -> None:
    """An API served at a host's root (a proxy's, a GitHub stand-in) that answers a used code
    404 in JSON is an API: only a page in its place says GITHUB_API_URL names a web host."""
    fake = FakeGitHub()
    with serve_fake(fake) as api_url:
        settings = make_settings(tmp_path, None, WEBHOOK_SECRET=None, GITHUB_API_URL=api_url)
        app = create_app(settings, journal=SqliteJournal(journal_file(settings)))
        with TestClient(app, base_url=SERVER) as client:
            action = client.get("/").text.split('action="', 1)[1].split('"', 1)[0]
            state = parse_qs(urlsplit(action.replace("&amp;", "&")).query)["state"][0]
            failed = client.get("/setup/callback", params={"code": "used-code", "state": state})

    assert failed.status_code == 502
    assert (
        "GitHub answered 404 (Not Found). A code works once and for an hour: register the App "
        "again from the setup page.<"
    ) in failed.text


def test_the_status_page_names_the_api_url_a_server_without_its_api_path_needs(
    tmp_path: Path, private_key_pem: str
) -> None:
    """Credentials written to .env by hand, GITHUB_API_URL=https://HOST: every request is
    answered by the server's web pages, 404. The status page's details say what to set."""
    fake = FakeGitHub()
    fake_app = fake.create_app(private_key_pem=private_key_pem)
    with serve_fake(fake, api_prefix=API_PREFIX):
        web = fake.web_url
        settings = make_settings(
            tmp_path,
            private_key_pem,
            APP_ID=fake_app.id,
            GITHUB_API_URL=web,
            ADMIN_TOKEN=ADMIN_TOKEN,
        )
        app = create_app(settings, journal=SqliteJournal(journal_file(settings)))
        with TestClient(app, base_url=SERVER) as client:
            public = client.get("/").text
            details = client.get("/", headers={"authorization": f"Bearer {ADMIN_TOKEN}"}).text

    assert "<p>GitHub answered 404.</p>" in public and "/api/v3" not in public
    assert (
        f"<p>GitHub answered 404 to GET /app. If {web} is a GitHub Enterprise Server, "
        f"GITHUB_API_URL must be its API, {web}/api/v3.</p>"
    ) in details
