"""The people typing comment commands during an incident, as they type them on GitHub
(docs/BEHAVIOUR.md, 'Comment commands'): a break-glass posted twice is told and recorded
once, and a command refused for an unusable config says what to do once it is fixed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from support.chat import ChatReceiver
from support.harness import Bot, running_bot
from test_commands import (
    BOT,
    FakeTime,
    command,
    deliver_comment,
    github_time,
    merge,
    open_p0_hotfix,
    organization,
    reactions,
    refusal,
    replies,
)

from sandbox import FakeIssue

# The fixtures these scenarios share.
__all__ = ["github_time", "organization"]


@pytest.fixture
def bot(
    tmp_path: Path, private_key_pem: str, github_time: FakeTime, chat: ChatReceiver
) -> Iterator[Bot]:
    """tests/test_commands.py's, with a chat that hears what hotfix-bot tells it."""
    with running_bot(
        tmp_path,
        private_key_pem,
        clock=lambda: github_time.now.timestamp(),
        chat_timeout=2.0,
        NOTIFY_WEBHOOK_URL=chat.url,
    ) as bot:
        bot.fake.clock = github_time
        yield bot


def timeline_rows(report: FakeIssue, holding: str) -> list[str]:
    return [row for row in report.body.splitlines() if row.startswith("| 20") and holding in row]


def chat_texts(chat: ChatReceiver) -> list[str]:
    return [str(body["text"]).split("\n", 2)[1] for _, body in chat.received]


@pytest.mark.parametrize("delivered", ["in order", "in reverse"])
def test_a_break_glass_posted_twice_is_told_once_and_withdrawn_once(
    bot: Bot, chat: ChatReceiver, github_time: FakeTime, delivered: str
) -> None:
    """A double submit, or no patience: whichever of the two GitHub delivers first, it ends
    as one break-glass, broken when the first was written."""
    pull = open_p0_hotfix(bot)
    line = "/hotfix break-glass checkout is down"
    first = bot.repo.add_comment(pull.number, "lead", line)
    if delivered == "in order":
        deliver_comment(bot, first)
    github_time.now += timedelta(minutes=2)
    again = command(bot, pull.number, "lead", line)
    if delivered == "in reverse":
        deliver_comment(bot, first)

    assert [reactions(bot, first), reactions(bot, again)] == [[("+1", BOT)], [("+1", BOT)]]
    run = bot.policy_run(pull.head_sha)
    assert run.output["title"] == "Break-glass by @lead: checkout is down"
    assert "**Break-glass** by @lead at 2026-12-04 14:32 UTC" in run.output["summary"]
    command(bot, pull.number, "lead", "/hotfix break-glass off")
    assert bot.policy_run(pull.head_sha).output["title"] == (
        "Waiting for approval: Engineering Lead and On-call Manager"
    )
    merge(bot, pull)

    assert chat_texts(chat) == [
        "🚨 CRITICAL INCIDENT - Production Down",
        "🔓 BREAK-GLASS on #1 (Fix) by @lead: checkout is down",
        "🔒 BREAK-GLASS WITHDRAWN on #1 (Fix) by @lead",
        "✅ RESOLVED - Production Restored",
    ]
    [report] = [i for i in bot.repo.issues.values() if i.title == "Incident report: Fix"]
    assert timeline_rows(report, "Break-glass") == [
        "| 2026-12-04 14:32 UTC | Break-glass by @lead: checkout is down |",
        "| 2026-12-04 14:34 UTC | Break-glass withdrawn by @lead |",
    ]
    assert [i.title for i in bot.repo.issues.values()] == ["Incident report: Fix"]


def test_a_break_glass_posted_again_after_a_withdrawal_still_to_come_is_in_force(
    bot: Bot,
) -> None:
    pull = open_p0_hotfix(bot)
    line = "/hotfix break-glass checkout is down"
    command(bot, pull.number, "lead", line)
    withdrawn = bot.repo.add_comment(pull.number, "lena", "/hotfix break-glass off")
    command(bot, pull.number, "lead", line)  # delivered before the withdrawal written first

    deliver_comment(bot, withdrawn)

    assert bot.policy_run(pull.head_sha).output["title"] == (
        "Break-glass by @lead: checkout is down"
    )
    merge(bot, pull)
    [report] = [i for i in bot.repo.issues.values() if i.title == "Incident report: Fix"]
    # Broken twice: once before the withdrawal, once after it.
    assert (
        timeline_rows(report, "Break-glass by")
        == [
            "| 2026-12-04 14:32 UTC | Break-glass by @lead: checkout is down |",
        ]
        * 2
    )


@pytest.mark.parametrize(
    ("between", "rows"),
    [
        pytest.param(("lena", "/hotfix break-glass off"), None, id="a withdrawal"),
        pytest.param(
            ("lead", "/hotfix break-glass payments too"),
            [
                "| 2026-12-04 14:32 UTC | Break-glass by @lead: checkout is down |",
                "| 2026-12-04 14:33 UTC | Break-glass by @lead: payments too |",
                "| 2026-12-04 14:34 UTC | Break-glass by @lead: checkout is down |",
            ],
            id="another break-glass",
        ),
    ],
)
def test_a_break_glass_posted_again_after_a_command_between_is_in_force_delivered_first(
    bot: Bot, github_time: FakeTime, between: tuple[str, str], rows: list[str] | None
) -> None:
    """Posted again after a withdrawal or another break-glass, and delivered before both:
    the later one is in force, at its own time, not taken for the first posted again."""
    pull = open_p0_hotfix(bot)
    line = "/hotfix break-glass checkout is down"
    first = bot.repo.add_comment(pull.number, "lead", line)
    github_time.now += timedelta(minutes=1)
    written_between = bot.repo.add_comment(pull.number, *between)
    github_time.now += timedelta(minutes=1)
    command(bot, pull.number, "lead", line)  # delivered before the two written first

    deliver_comment(bot, first)
    deliver_comment(bot, written_between)

    run = bot.policy_run(pull.head_sha)
    assert run.output["title"] == "Break-glass by @lead: checkout is down"
    assert "**Break-glass** by @lead at 2026-12-04 14:34 UTC" in run.output["summary"]
    if rows is not None:
        merge(bot, pull)
        [report] = [i for i in bot.repo.issues.values() if i.title == "Incident report: Fix"]
        assert timeline_rows(report, "Break-glass by") == rows


def test_a_break_glass_posted_again_after_another_still_to_come_is_in_force(
    bot: Bot, github_time: FakeTime
) -> None:
    pull = open_p0_hotfix(bot)
    line = "/hotfix break-glass checkout is down"
    command(bot, pull.number, "lead", line)
    github_time.now += timedelta(minutes=1)
    other = bot.repo.add_comment(pull.number, "lead", "/hotfix break-glass payments too")
    github_time.now += timedelta(minutes=1)
    command(bot, pull.number, "lead", line)  # delivered before the one written before it

    deliver_comment(bot, other)

    run = bot.policy_run(pull.head_sha)
    assert run.output["title"] == "Break-glass by @lead: checkout is down"
    assert "**Break-glass** by @lead at 2026-12-04 14:34 UTC" in run.output["summary"]


def test_a_command_under_a_config_with_a_bad_duration_says_to_post_it_again_once_fixed(
    bot: Bot,
) -> None:
    bot.repo.commit(
        "main", {".github/hotfix.yml": "severities:\n  P0:\n    deadline: 2 hours\n"}, "P0"
    )
    pull = open_p0_hotfix(bot)
    line = "/hotfix break-glass checkout is down"

    written = command(bot, pull.number, "lead", line)

    [reply] = replies(bot, pull.number)
    assert reply.startswith(
        refusal(
            written,
            line,
            "lead",
            "`.github/hotfix.yml` on `main` cannot be used: severities.P0.deadline: "
            'must be a duration such as 2h, 30m, 1d or 90s (got "2 hours"; write 2h); once '
            "it is fixed there, post the command again, in a new comment",
        ).split("\n\nCommands")[0]
    )
