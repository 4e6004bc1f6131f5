"""The people told of an incident rather than fixing it, and the on-call person who files its
record (docs/BEHAVIOUR.md, 'The record and the notices'): a P0 and a P1 with a chat webhook
(NOTIFY_WEBHOOK_URL) going from opened to merged and to the incident report, while the chat
and GitHub answer as they really do when something is wrong: what each reader reads (the
chat message, the issue, the `hotfix-release` report) must be right and must work when
followed."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.chat import SECRET_PATH, ChatReceiver, serving_chat
from support.harness import Bot, Clock, running_bot
from support.live_server import wait_for

from app.journal import JournalEntry
from sandbox import FakePull

MINUTE, HOUR = 60, 3600
TEAMS = {"engineering-leads": ["lead"], "on-call-managers": ["oncall"]}


@pytest.fixture
def chat() -> Iterator[ChatReceiver]:
    with serving_chat() as receiver:
        yield receiver


@pytest.fixture
def chatty_bot(
    tmp_path: Path, private_key_pem: str, clock: Clock, chat: ChatReceiver
) -> Iterator[Bot]:
    """hotfix-bot on the journal's clock, its notices going to `chat` as well."""
    with running_bot(
        tmp_path, private_key_pem, clock=clock, chat_timeout=2.0, NOTIFY_WEBHOOK_URL=chat.url
    ) as bot:
        for slug, members in TEAMS.items():
            bot.fake.add_team("acme", slug, members)
        bot.repo.collaborators.update({"dev": "write", "lead": "maintain", "oncall": "write"})
        yield bot


def open_hotfix(bot: Bot, severity: str) -> FakePull:
    pull = bot.open_hotfix(labels=("hotfix", severity))
    bot.send("pull_request", bot.fake.pull_request_event(bot.repo, pull.number, "opened"))
    return pull


def chat_deliveries(bot: Bot) -> list[JournalEntry]:
    return [entry for entry in bot.journal.recent() if entry.action == "chat"]


def no_secret_in(caplog: pytest.LogCaptureFixture) -> None:
    for record in caplog.records:
        line = logging.Formatter().format(record)
        assert "s3cr3t" not in line and SECRET_PATH not in line, line


def test_a_chat_that_rate_limits_is_tried_again_when_it_asks_not_before(
    chatty_bot: Bot, chat: ChatReceiver, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    """Slack answers a burst of messages with 429 and `Retry-After`: the message waits as long
    as chat asks, as a GitHub rate limit's retry does (docs/BEHAVIOUR.md, 'Chat'), rather than
    spending its attempts on a chat that said when to come back."""
    bot = chatty_bot
    chat.answers = [(429, {"Retry-After": "30"})]
    with caplog.at_level(logging.INFO):
        open_hotfix(bot, "P0")
        wait_for(lambda: chat_deliveries(bot) and chat_deliveries(bot)[0].status == "queued")
        [waiting] = chat_deliveries(bot)
        assert waiting.last_error == "ChatUndelivered: chat answered 429, asking to wait 30 s"
        assert waiting.next_attempt_at == pytest.approx(clock.now + 30, abs=0.5)

        bot.advance(30)
    [sent] = chat_deliveries(bot)
    assert (sent.status, sent.attempts) == ("done", 2)
    assert len(chat.received) == 2 and chat.received[0] == chat.received[1]
    no_secret_in(caplog)
