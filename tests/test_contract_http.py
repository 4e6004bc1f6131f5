"""The environment, the HTTP answers and the intake's limits as an operator meets them
(docs/BEHAVIOUR.md, 'Environment' and 'HTTP answers'; docs/ADMIN.md): mostly `hotfix-bot
serve` as a subprocess over loopback; the config's limits on the bot and its fake GitHub."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.harness import Bot
from support.live_server import Server, github_and_server, open_hotfix, undated, wait_for
from support.titles import all_rules_pass
from support.webhooks import WEBHOOK_SECRET

from app.cli import main
from app.settings import load_settings
from sandbox import FakeGitHub, FakeRepo

ADMIN_TOKEN = "admin-token-for-contract-tests-0123"


@pytest.fixture
def live(tmp_path: Path, private_key_pem: str) -> Iterator[tuple[FakeGitHub, FakeRepo, Server]]:
    """The server, not started yet, and the fake GitHub it talks to."""
    with github_and_server(tmp_path, private_key_pem) as started:
        yield started


def exchange(server: Server, request: bytes) -> bytes:
    """What the server sends for `request`, on a connection of its own, until it closes it."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


# -- No answer can be framed; the setup page's state cookie (docs/ADMIN.md) --------------------

# Requests the intake answers itself, before any endpoint sees them.
HEADERS_OVER_64_KIB = (
    b"GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\nx-padding: " + b"a" * (64 * 1024) + b"\r\n\r\n"
)
NO_HTTP = b"NOT HTTP AT ALL\r\n\r\n"


@pytest.mark.parametrize(
    ("request_bytes", "answer"),
    [
        (
            HEADERS_OVER_64_KIB,
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: text/plain; charset=utf-8\r\ncontent-length: 51\r\n"
            b"x-frame-options: DENY\r\ncontent-security-policy: frame-ancestors 'none'\r\n"
            b"connection: close\r\n\r\nthe request line and headers are larger than 64 KiB",
        ),
        (
            NO_HTTP,
            b"HTTP/1.1 400 Bad Request\r\n"
            b"content-type: text/plain; charset=utf-8\r\ncontent-length: 30\r\n"
            b"x-frame-options: DENY\r\ncontent-security-policy: frame-ancestors 'none'\r\n"
            b"connection: close\r\n\r\nInvalid HTTP request received.",
        ),
    ],
    ids=["431 for headers over 64 KiB", "400 for what is no HTTP request"],
)
def test_the_answers_the_intake_writes_itself_cannot_be_framed_and_are_dated(
    live: tuple[FakeGitHub, FakeRepo, Server], request_bytes: bytes, answer: bytes
) -> None:
    """Answered before any endpoint sees the request, so the framing headers are the
    intake's to add; `Date` first, as uvicorn writes it on the endpoints' answers."""
    _, _, server = live
    server.start()

    assert undated(exchange(server, request_bytes)) == answer


def test_the_setup_page_binds_its_state_with_an_httponly_samesite_lax_cookie(
    live: tuple[FakeGitHub, FakeRepo, Server],
) -> None:
    """Spelled as docs/ADMIN.md writes it: `HttpOnly`, `SameSite=Lax`."""
    _, _, server = live
    del server.environment["APP_ID"], server.environment["PRIVATE_KEY"]
    server.start()

    page = server.client.get(server.url)

    assert page.status_code == 200
    assert 'name="manifest"' in page.text
    attributes = [part.strip() for part in page.headers["set-cookie"].split(";")][1:]
    assert {"HttpOnly", "SameSite=Lax"} <= set(attributes)
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["content-security-policy"] == "frame-ancestors 'none'"


# -- The environment (docs/BEHAVIOUR.md, 'Environment') ----------------------------------------


def test_private_key_path_is_not_read_while_private_key_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, private_key_pem: str
) -> None:
    """PRIVATE_KEY_PATH is "used when PRIVATE_KEY is unset": a stale path left beside a key
    set as text stops nothing."""
    monkeypatch.setenv("APP_ID", "7")
    monkeypatch.setenv("PRIVATE_KEY", private_key_pem.strip().replace("\n", "\\n"))
    monkeypatch.setenv("PRIVATE_KEY_PATH", str(tmp_path / "gone.pem"))

    assert load_settings(env_file=None).private_key_pem() == private_key_pem.strip() + "\n"


def test_by_default_the_log_is_console_lines_at_info(
    live: tuple[FakeGitHub, FakeRepo, Server],
) -> None:
    _, _, server = live
    del server.environment["LOG_FORMAT"]
    server.start()
    assert server.deliver("ping", {"zen": "Design for failure."}, "ping-1").status_code == 200
    server.stop()

    lines = server.log_lines()
    console = re.compile(r"\d\d:\d\d:\d\d (INFO|WARNING|ERROR|CRITICAL) +\S")
    assert lines and [line for line in lines if not console.match(line)] == []
    assert any(line.split()[1] == "INFO" for line in lines)


# -- Secrets never appear in the log (docs/ADMIN.md) -------------------------------------------


def test_at_log_level_debug_no_secret_reaches_the_log(
    live: tuple[FakeGitHub, FakeRepo, Server], private_key_pem: str
) -> None:
    """The most the log says: a delivery processed, GitHub called with the App's key and
    its installation tokens, the status page read with ADMIN_TOKEN."""
    fake, repo, server = live
    server.environment |= {"LOG_LEVEL": "debug", "ADMIN_TOKEN": ADMIN_TOKEN}
    server.start()
    number = open_hotfix(repo)
    event = fake.pull_request_event(repo, number, "opened")
    assert server.deliver("pull_request", event, "debug-1").status_code == 202
    wait_for(lambda: repo.runs_named("hotfix-policy"))
    bearer = {"authorization": f"Bearer {ADMIN_TOKEN}"}
    assert server.client.get(server.url, headers=bearer).status_code == 200
    server.stop()

    log = server.log.read_text()
    assert '"level": "debug"' in log
    tokens = list(fake.tokens)
    key_lines = [line for line in private_key_pem.splitlines() if "PRIVATE KEY" not in line]
    assert tokens and key_lines
    for secret in [WEBHOOK_SECRET, ADMIN_TOKEN, *key_lines, *tokens]:
        assert secret not in log


# -- Merge keys work; a value that cannot be represented names its key (docs/ADMIN.md) ---------


def policy_title(bot: Bot, config: str, labels: tuple[str, ...]) -> str:
    """The title of `hotfix-policy` on a hotfix opened under `config` on main."""
    bot.repo.commit("main", {".github/hotfix.yml": config}, "The policy")
    bot.repo.create_branch("hotfix/fix-login", "main")
    head = bot.repo.commit("hotfix/fix-login", {"VERSION": "1.2.4\n"}, "Fix the login")
    pull = bot.repo.open_pull("hotfix/fix-login", "main", title="Fix", author="dev", labels=labels)
    bot.pull_request(pull.number, "opened")
    title: str = bot.policy_run(head).output["title"]
    return title


def test_a_merge_key_in_the_config_works_in_the_check_run(bot: Bot) -> None:
    """P2 allows hotfixes through the settings it merges from P1 (by default it does not)."""
    config = "severities:\n  P1: &allowed {hotfix_allowed: true}\n  P2: {<<: *allowed}\n"

    assert policy_title(bot, config, ("hotfix", "P2")) == all_rules_pass()


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        (
            'tag:\n  format: !!binary "not base64!!"\n',
            'tag.format: cannot be represented as binary data (got "not base64!!")',
        ),
        (
            'tag:\n  format: "\\ud800"\n',
            'tag.format: cannot be represented as text (got "\\ud800")',
        ),
        ("tag:\n  format: &a [*a]\n", "tag.format[0]: the alias *a is inside the value it names"),
    ],
    ids=["binary", "lone surrogate", "alias inside itself"],
)
def test_a_value_that_cannot_be_represented_is_named_alike_in_the_check_run_and_validate(
    bot: Bot, tmp_path: Path, capsys: pytest.CaptureFixture[str], config: str, problem: str
) -> None:
    title = policy_title(bot, config, ("hotfix", "P1"))
    (tmp_path / "hotfix.yml").write_text(config)
    validated = main(["config", "validate", str(tmp_path / "hotfix.yml")])

    assert title == f"Invalid .github/hotfix.yml: {problem}"
    assert (validated, capsys.readouterr().out) == (1, f"{tmp_path / 'hotfix.yml'}: {problem}\n")
