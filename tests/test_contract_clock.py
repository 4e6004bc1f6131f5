"""The incident clock, comment commands, the record and retries, read off hotfix-bot's outside
alone (docs/BEHAVIOUR.md, 'The incident clock', 'Comment commands', 'The record and the
notices', 'Durability and failure'): with the defaults `.github/hotfix.yml` leaves in place,
the exact words people read, the exact bodies a chat webhook receives, and GitHub's state
when its answers are lost."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.chat import SECRET_PATH, ChatReceiver
from support.harness import Bot, Clock, running_bot
from support.titles import rules_fail
from test_clock import notices
from test_faults import Network

from sandbox import FakePull

MINUTE, HOUR = 60, 3600
BOT = "hotfix-bot[bot]"


def open_hotfix(bot: Bot, severity: str) -> FakePull:
    """A hotfix by dev, opened now on the test's clock (2026-12-04 20:30:30 UTC)."""
    pull = bot.open_hotfix(labels=("hotfix", severity))
    bot.pull_request(pull.number, "opened")
    return pull


def step(bot: Bot, pull: FakePull, after: str) -> list[str]:
    """The comments of escalation step `after` on the pull request, without their marker."""
    severity = next(label for label in bot.repo.pulls[pull.number].labels if label != "hotfix")
    return notices(bot, pull, f"escalation:acme/widgets#{pull.number}:{severity}:{after}")


def say(bot: Bot, pull: FakePull, login: str, body: str) -> int:
    comment = bot.repo.add_comment(pull.number, login, body)
    bot.deliver("issue_comment", bot.fake.issue_comment_event(bot.repo, comment.id))
    return comment.id


def test_a_p0_left_open_is_reminded_at_15m_and_at_4h_the_author_too_as_the_defaults_say(
    chatty_bot: Bot, chat: ChatReceiver
) -> None:
    bot = chatty_bot
    pull = open_hotfix(bot, "P0")

    bot.advance(15 * MINUTE)
    assert step(bot, pull, "15m") == [
        "@acme/engineering-leads @acme/on-call-managers: this **P0** hotfix has been open for "
        "**15m**. Deadline 2026-12-04 22:30 UTC (2h after opening): **1h45m left**.\n\n"
        "`hotfix-policy`: Waiting for approval: Engineering Lead and On-call Manager"
    ]
    bot.advance(4 * HOUR - 15 * MINUTE)
    assert step(bot, pull, "4h") == [
        "@acme/engineering-leads @acme/on-call-managers @dev: this **P0** hotfix has been "
        "open for **4h**. Deadline 2026-12-04 22:30 UTC (2h after opening): **overdue by "
        "2h**.\n\n"
        "`hotfix-policy`: Overdue: Waiting for approval: Engineering Lead and On-call Manager"
    ]
    # Each went to chat too (after the P0 alert), as the one JSON member an incoming webhook
    # takes: the comment's link, then its words.
    sent = [
        f"acme/widgets#1: https://github.com/acme/widgets/pull/1#issuecomment-{comment.id}\n"
        + comment.body.split("\n", 1)[1]
        for comment in bot.repo.comments_on(pull.number)
        if "escalation:" in comment.body.split("\n", 1)[0]
    ]
    assert chat.received[1:] == [(SECRET_PATH, {"text": text}) for text in sent]


def test_a_p1_left_open_is_reminded_at_30m_and_at_2h_the_author_too_as_the_defaults_say(
    clocked_bot: Bot,
) -> None:
    bot = clocked_bot
    bot.fake.add_team("acme", "engineering-leads", ["lead"])
    bot.fake.add_team("acme", "product-managers", ["pm"])
    pull = open_hotfix(bot, "P1")

    bot.advance(30 * MINUTE - 1)
    assert step(bot, pull, "30m") == []
    bot.advance(1)
    assert step(bot, pull, "30m") == [
        "@acme/engineering-leads @acme/product-managers: this **P1** hotfix has been open for "
        "**30m**. Deadline 2026-12-05 20:30 UTC (24h after opening): **23h30m left**.\n\n"
        "`hotfix-policy`: Waiting for approval: Engineering Lead and Product Manager"
    ]
    bot.approve(pull.number, "pm")
    bot.advance(90 * MINUTE)
    assert step(bot, pull, "2h") == [
        "@acme/engineering-leads @dev: this **P1** hotfix has been open for **2h**. Deadline "
        "2026-12-05 20:30 UTC (24h after opening): **22h left**.\n\n"
        "`hotfix-policy`: Waiting for approval: Engineering Lead"
    ]


def test_a_failing_hotfix_past_its_deadline_is_titled_overdue_and_still_fails(
    clocked_bot: Bot,
) -> None:
    bot = clocked_bot
    bot.repo.create_branch("hotfix/fix-login", "main")
    bot.repo.commit("hotfix/fix-login", {"VERSION": "1.3.0\n"}, "Fix, bumped too far")
    pull = bot.repo.open_pull(
        "hotfix/fix-login", "main", title="Fix", author="dev", labels=["hotfix", "P0"]
    )
    bot.pull_request(pull.number, "opened")
    run = bot.policy_run(pull.head_sha)
    assert (run.conclusion, run.output["title"]) == ("failure", rules_fail("version-bump"))

    bot.advance(2 * HOUR)

    run = bot.policy_run(pull.head_sha)
    assert (run.status, run.conclusion, run.output["title"]) == (
        "completed",
        "failure",
        f"Overdue: {rules_fail('version-bump')}",
    )


def test_a_break_glass_past_the_deadline_keeps_its_title_after_overdue(clocked_bot: Bot) -> None:
    """Both hold: the title begins with `Overdue:`, and the break-glass title follows whole."""
    bot = clocked_bot
    bot.fake.add_team("acme", "engineering-leads", ["lead"])
    bot.fake.add_team("acme", "on-call-managers", ["oncall"])
    pull = open_hotfix(bot, "P0")
    bot.advance(2 * HOUR + MINUTE)
    say(bot, pull, "lead", "/hotfix break-glass checkout is down")
    run = bot.policy_run(pull.head_sha)
    assert (run.status, run.conclusion, run.output["title"]) == (
        "completed",
        "success",
        "Overdue: Break-glass by @lead: checkout is down",
    )


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        (
            "severities: {P0: {deadline: 31d}}",
            'severities.P0.deadline: must be at most 30d (got "31d")',
        ),
        (
            "severities: {P0: {escalation: [{after: 0m, notify: [approvers]}]}}",
            'severities.P0.escalation[0].after: must be longer than zero (got "0m")',
        ),
        (
            "severities: {P1: {incident_report: {due: 1h1h}}}",
            "severities.P1.incident_report.due: must give its units largest first, each once, "
            'as in 1h30m (got "1h1h")',
        ),
        (
            "severities: {P0: {escalation: [{after: 15m, notify: [lena]}]}}",
            "severities.P0.escalation[0].notify[0]: must be @login, @org/team-slug, approvers or "
            'author (got "lena")',
        ),
        (
            "notices: {templates: {escalation: 'Hurry, {pager}'}}",
            "notices.templates.escalation: unknown placeholder {pager}",
        ),
    ],
    ids=["over 30d", "zero", "units twice", "a mention without @", "an unknown placeholder"],
)
def test_a_bad_duration_mention_or_placeholder_fails_the_check_naming_the_key(
    bot: Bot, config: str, problem: str
) -> None:
    bot.repo.commit("main", {".github/hotfix.yml": config + "\n"}, "A policy of our own")

    pull = open_hotfix(bot, "P0")

    run = bot.policy_run(pull.head_sha)
    assert (run.status, run.conclusion) == ("completed", "failure")
    assert run.output["title"].startswith(f"Invalid .github/hotfix.yml: {problem}")


def test_the_incident_report_carries_the_severity_label_the_repository_names(
    clocked_bot: Bot,
) -> None:
    bot = clocked_bot
    bot.repo.commit(
        "main",
        {".github/hotfix.yml": "labels: {severities: {P0: sev0, P1: sev1, P2: sev2}}\n"},
        "Our own severity labels",
    )
    bot.fake.add_team("acme", "engineering-leads", ["lead"])
    bot.repo.collaborators.update({"dev": "write", "lead": "maintain"})
    bot.repo.create_branch("develop", "main")
    pull = open_hotfix(bot, "sev0")
    glass = say(bot, pull, "lead", "/hotfix break-glass checkout is down")
    assert [(r.content, r.user) for r in bot.repo.reactions_to(glass)] == [("+1", BOT)]
    bot.advance(10 * MINUTE)
    bot.repo.merge_pull(pull.number, merged_by="lead")
    bot.pull_request(pull.number, "closed")

    [report] = [issue for issue in bot.repo.issues.values() if "incident-report" in issue.labels]
    assert (report.title, report.labels, report.assignees) == (
        "Incident report: Fix",
        ["incident-report", "sev0"],
        ["dev"],
    )
    assert "- **Severity:** P0\n" in report.body


def test_whoever_broke_the_glass_withdraws_it_though_no_approver_and_a_failing_rule_is_waived(
    bot: Bot,
) -> None:
    bot.repo.commit(
        "main",
        {".github/hotfix.yml": "severities:\n  P0:\n    break_glass: {users: [boss]}\n"},
        "boss may break the glass",
    )
    bot.repo.create_branch("hotfix/fix-login", "main")
    bot.repo.commit("hotfix/fix-login", {"VERSION": "1.3.0\n"}, "Fix, bumped too far")
    pull = bot.repo.open_pull(
        "hotfix/fix-login", "main", title="Fix", author="dev", labels=["hotfix", "P0"]
    )
    bot.pull_request(pull.number, "opened")

    broke = say(bot, pull, "boss", "/hotfix break-glass checkout is down")

    run = bot.policy_run(pull.head_sha)
    assert (run.status, run.conclusion, run.output["title"]) == (
        "completed",
        "success",
        "Break-glass by @boss: checkout is down",
    )
    rows = [line for line in run.output["summary"].splitlines() if line.startswith("| `")]
    assert {row.split(" | ")[0]: row.split(" | ")[1] for row in rows} == {
        "| `branch-name`": "✅ pass",
        "| `target-branch`": "✅ pass",
        "| `labels`": "✅ pass",
        "| `severity`": "✅ pass",
        "| `approvals`": "⚠️ waived",
        "| `version-bump`": "⚠️ waived",
    }
    assert [(r.content, r.user) for r in bot.repo.reactions_to(broke)] == [("+1", BOT)]

    withdrew = say(bot, pull, "boss", "/hotfix break-glass off")

    run = bot.policy_run(pull.head_sha)
    assert (run.status, run.conclusion, run.output["title"]) == (
        "completed",
        "failure",
        rules_fail("version-bump"),
    )
    assert [(r.content, r.user) for r in bot.repo.reactions_to(withdrew)] == [("+1", BOT)]


# --- GitHub did the write, but its answer was lost ---------------------------------------------


@pytest.fixture
def network() -> Network:
    return Network()


@pytest.fixture
def lossy_bot(
    tmp_path: Path, private_key_pem: str, network: Network, clock: Clock
) -> Iterator[Bot]:
    """`clocked_bot` behind `network`, with acme's teams and its people's access to acme/widgets
    and a develop branch to merge back into."""
    with running_bot(tmp_path, private_key_pem, network=network, clock=clock) as bot:
        bot.fake.add_team("acme", "engineering-leads", ["lead"])
        bot.fake.add_team("acme", "on-call-managers", ["oncall"])
        bot.repo.collaborators.update({"dev": "write", "lead": "maintain", "oncall": "write"})
        bot.repo.create_branch("develop", "main")
        yield bot


def deliver_retrying(bot: Bot, event: str, payload: dict[str, Any]) -> None:
    """Deliver, moving the clock on to each retry the worker waits for."""
    assert bot.clock is not None
    bot.send(event, payload)
    for _ in range(20):
        try:
            bot.settle(timeout=0.5)
            return
        except TimeoutError:
            bot.clock.now += 2
    raise AssertionError(f"the delivery stayed unfinished: {bot.journal.recent()[0]}")


@pytest.mark.parametrize(
    "lost",
    [
        r"/check-runs$",
        r"/pulls/1/requested_reviewers$",
        r"/issues/1/comments$",
        r"/comments/\d+/reactions$",
        r"/repos/acme/widgets/issues$",
        r"/git/tags$",
        r"/releases$",
    ],
    ids=["check run", "review request", "P0 alert", "reaction", "issue", "tag", "release"],
)
def test_a_write_whose_answer_is_lost_is_retried_and_made_once(
    lossy_bot: Bot, network: Network, lost: str
) -> None:
    bot = lossy_bot
    network.reset_once("POST", lost)
    pull = bot.open_hotfix(labels=("hotfix", "P0"))
    deliver_retrying(
        bot, "pull_request", bot.fake.pull_request_event(bot.repo, pull.number, "opened")
    )
    glass = bot.repo.add_comment(pull.number, "lead", "/hotfix break-glass checkout is down")
    deliver_retrying(bot, "issue_comment", bot.fake.issue_comment_event(bot.repo, glass.id))
    bot.repo.merge_pull(pull.number, merged_by="lead")
    deliver_retrying(
        bot, "pull_request", bot.fake.pull_request_event(bot.repo, pull.number, "closed")
    )

    # One delivery met the lost answer and was tried again.
    assert [entry.attempts for entry in bot.journal.recent() if entry.attempts > 1] == [2]
    assert len(bot.repo.runs_named("hotfix-policy", pull.head_sha)) == 1
    assert bot.repo.pulls[pull.number].requested_teams == ["engineering-leads", "on-call-managers"]
    alerts = [c for c in bot.repo.comments_on(pull.number) if "p0-alert:" in c.body.split("\n")[0]]
    assert len(alerts) == 1
    assert [(r.content, r.user) for r in bot.repo.reactions_to(glass.id)] == [("+1", BOT)]
    assert sorted(issue.title for issue in bot.repo.issues.values()) == [
        "Incident report: Fix",
        "Retroactive review: Fix",
    ]
    assert bot.repo.tag_object("v1.2.4") is not None
    assert sorted(bot.repo.releases) == ["v1.2.4"]
    [run] = bot.repo.runs_named("hotfix-release", pull.merge_commit_sha)
    assert run.conclusion == "success"
