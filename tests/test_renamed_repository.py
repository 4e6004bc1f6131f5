"""A repository renamed or transferred in the middle of an incident (docs/BEHAVIOUR.md, 'A
repository renamed or transferred'): the clock goes on under the new name, with no notice
sent twice and one incident report."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.harness import Bot, Clock, running_bot
from support.titles import all_rules_pass

from sandbox import FakePull

MINUTE, HOUR = 60, 3600
TEAMS = {"engineering-leads": ["lead"], "on-call-managers": ["lena", "oncall"]}


@pytest.fixture
def bot(tmp_path: Path, private_key_pem: str, clock: Clock, journal_url: str) -> Iterator[Bot]:
    """hotfix-bot on each kind of journal, on a clock the test moves, in the organization."""
    with running_bot(tmp_path, private_key_pem, clock=clock, DATABASE_URL=journal_url) as bot:
        for slug, members in TEAMS.items():
            bot.fake.add_team("acme", slug, members)
        bot.repo.collaborators.update({"dana": "write", "lead": "maintain", "dev": "write"})
        bot.repo.create_branch("develop", "main")
        yield bot


def open_p0_with_verbal_approval(bot: Bot) -> FakePull:
    """A P0 hotfix by dev, opened at 2026-12-04 20:30:30 UTC; dana records lena's approval,
    given on the incident bridge, for the on-call managers."""
    pull = bot.open_hotfix(labels=("hotfix", "P0"))
    bot.pull_request(pull.number, "opened")
    comment = bot.repo.add_comment(pull.number, "dana", "/hotfix verbal-approval @lena")
    bot.deliver("issue_comment", bot.fake.issue_comment_event(bot.repo, comment.id))
    return pull


def marked(bot: Bot, pull: FakePull, notice_id: str) -> list[str]:
    """The comments of the pull request that carry the notice's hidden marker."""
    marker = f"<!-- hotfix-bot notice {notice_id} -->"
    return [c.body for c in bot.repo.comments_on(pull.number) if c.body.startswith(marker)]


def approve(bot: Bot, pull: FakePull, login: str) -> None:
    bot.repo.review(pull.number, login, "APPROVED")
    bot.deliver("pull_request_review", bot.fake.review_event(bot.repo, pull.number))


def approvals_row(bot: Bot, pull: FakePull) -> str:
    [row] = [
        line
        for line in bot.policy_run(pull.head_sha).output["summary"].splitlines()
        if line.startswith("| `approvals` |")
    ]
    return row


def test_after_a_rename_the_verbal_approval_counts_and_no_notice_or_report_repeats(
    bot: Bot,
) -> None:
    pull = open_p0_with_verbal_approval(bot)
    bot.advance(15 * MINUTE)  # the first escalation step: one reminder
    assert len(marked(bot, pull, "escalation:acme/widgets#1:P0:15m")) == 1

    bot.deliver("repository", bot.fake.rename_repo(bot.repo, "gadgets"))
    approve(bot, pull, "lead")  # evaluated again, under the new name

    run = bot.policy_run(pull.head_sha)
    assert (run.conclusion, run.output["title"]) == ("success", all_rules_pass())
    assert "On-call Manager: lena (verbal, recorded by @dana at 20:30 UTC)" in approvals_row(
        bot, pull
    )
    assert len(marked(bot, pull, "p0-alert:acme/widgets#1")) == 1
    assert marked(bot, pull, "p0-alert:acme/gadgets#1") == []
    assert len(marked(bot, pull, "escalation:acme/widgets#1:P0:15m")) == 1
    assert marked(bot, pull, "escalation:acme/gadgets#1:P0:15m") == []

    bot.repo.merge_pull(pull.number, merged_by="lead")
    bot.pull_request(pull.number, "closed")

    reports = [issue for issue in bot.repo.issues.values() if "incident-report" in issue.labels]
    assert [issue.title for issue in reports] == ["Incident report: Fix"]
    assert {entry.timer.repository for entry in bot.journal.timers()} == {"acme/gadgets"}
