"""The people told of an incident rather than fixing it, and the on-call person who files its
record (docs/BEHAVIOUR.md, 'The record and the notices'): a P0 and a P1 with a chat webhook
(NOTIFY_WEBHOOK_URL) going from opened to merged and to the incident report, while the chat
and GitHub answer as they really do when something is wrong: what each reader reads (the
chat message, the issue, the `hotfix-release` report) must be right and must work when
followed."""

from __future__ import annotations

import email.utils
import logging
import math
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from support.chat import SECRET_PATH, ChatReceiver
from support.harness import Bot, Clock
from support.live_server import wait_for

from app.journal import JournalEntry
from sandbox import FakePull

MINUTE, HOUR = 60, 3600


def open_hotfix(bot: Bot, severity: str) -> FakePull:
    pull = bot.open_hotfix(labels=("hotfix", severity))
    bot.send("pull_request", bot.fake.pull_request_event(bot.repo, pull.number, "opened"))
    return pull


def chat_deliveries(bot: Bot) -> list[JournalEntry]:
    return [entry for entry in bot.journal.recent() if entry.action == "chat"]


def no_secret_in(caplog: pytest.LogCaptureFixture) -> None:
    """No log line holds the webhook's URL or its token."""
    for record in caplog.records:
        line = logging.Formatter().format(record)
        assert "s3cr3t" not in line and SECRET_PATH not in line, line


def in_30_seconds_as_an_http_date() -> str:
    # Read against the real clock, as a real chat's date would be: whole seconds, so 30 or
    # 31 s from when it is read (29 or 28 when the machine is slow to get there).
    later = datetime.fromtimestamp(math.ceil(time.time()) + 30, UTC)
    return email.utils.format_datetime(later, usegmt=True)


@pytest.mark.parametrize(
    ("retry_after", "asked"),
    [(lambda: "30", range(30, 31)), (in_30_seconds_as_an_http_date, range(28, 32))],
    ids=["seconds", "http-date"],
)
def test_a_chat_that_rate_limits_is_tried_again_when_it_asks_not_before(
    chatty_bot: Bot,
    chat: ChatReceiver,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
    retry_after: Callable[[], str],
    asked: range,
) -> None:
    """Slack answers a burst of messages with 429 and `Retry-After` (in seconds, or as HTTP's
    date): the message waits as long as chat asks, as a GitHub rate limit's retry does
    (docs/BEHAVIOUR.md, 'Chat'), rather than spending its attempts on a chat that said when to
    come back."""
    bot = chatty_bot
    chat.answers = [(429, {"Retry-After": retry_after()})]
    with caplog.at_level(logging.INFO):
        open_hotfix(bot, "P0")
        wait_for(lambda: chat_deliveries(bot) and chat_deliveries(bot)[0].status == "queued")
        [waiting] = chat_deliveries(bot)
        said = re.fullmatch(
            r"ChatUndelivered: chat answered 429, asking to wait (\d+) s", waiting.last_error or ""
        )
        assert said is not None and int(said[1]) in asked, waiting.last_error
        wait = int(said[1])
        assert waiting.next_attempt_at == pytest.approx(clock.now + wait, abs=0.5)

        bot.advance(wait)
    [sent] = chat_deliveries(bot)
    assert (sent.status, sent.attempts) == ("done", 2)
    assert len(chat.received) == 2 and chat.received[0] == chat.received[1]
    no_secret_in(caplog)


OFF = {  # GitHub's answer about the issues of a repository that turned them off
    "message": "Issues are disabled for this repo",
    "documentation_url": "https://docs.github.com/v3/issues/",
}


def test_issues_turned_off_are_named_as_what_to_fix_not_commands_that_fail_the_same_way(
    chatty_bot: Bot, chat: ChatReceiver
) -> None:
    """The repository has Issues turned off: GitHub answers 410 to opening the retroactive
    review and the incident report. `gh issue create` fails so too, so the report's *Finish by
    hand* says what to turn on, once; done as it says, the re-run opens both."""
    bot = chatty_bot
    turned_off = [
        bot.fake.inject(method, "/repos/acme/widgets/issues$", status=410, times=None, body=OFF)
        for method in ("GET", "POST")
    ]
    pull = open_hotfix(bot, "P0")
    bot.settle()
    glass = bot.repo.add_comment(pull.number, "lead", "/hotfix break-glass checkout is down")
    bot.deliver("issue_comment", bot.fake.issue_comment_event(bot.repo, glass.id))
    sha = bot.repo.merge_pull(pull.number, merged_by="lead")
    bot.pull_request(pull.number, "closed")

    [run] = bot.repo.runs_named("hotfix-release", sha)
    summary = run.output["summary"]
    assert (
        "| Incident report | ❌ failed | GitHub answered 410 to GET /repos/acme/widgets/issues: "
        "Issues are disabled for this repo |   |\n"
    ) in summary
    assert summary.split("## Finish by hand\n\n")[1] == (
        "Issues are turned off in `acme/widgets` (GitHub: *Issues are disabled for this "
        "repo*), so neither hotfix-bot nor `gh issue` can open or comment on an issue there. "
        "Turn them on (the repository's *Settings*, *General*, *Features*, *Issues*), then "
        "re-run the `hotfix-release` check: it does what waits for them."
    )
    assert "```sh" not in bot.repo.comments_on(pull.number)[-1].body  # the report comment too

    for fault in turned_off:  # done as it says
        fault.times = fault.hits
    bot.deliver("check_run", bot.fake.check_run_event(bot.repo, run.id))

    assert run.conclusion == "success"
    assert sorted(issue.title for issue in bot.repo.issues.values()) == [
        "Incident report: Fix",
        "Retroactive review: Fix",
    ]


STAKEHOLDERS = """severities:
  P0:
    escalation:
      - {after: 10m, notify: [approvers, "@acme/sre", "@cto"]}
      - {after: 1h, notify: [author, "@acme/incident-commanders"]}
"""


def mentions_outside_code(markdown: str) -> set[str]:
    """The `@` mentions GitHub notifies of: those outside code spans."""
    return set(re.findall(r"(?<![\w`])@[\w/-]+", re.sub(r"`[^`]*`", "", markdown)))


def test_the_incident_report_does_not_notify_again_everyone_its_escalations_reminded(
    chatty_bot: Bot, chat: ChatReceiver
) -> None:
    """A P0 whose reminders go to the approvers and to stakeholders (`@acme/sre`, `@cto`)
    merges after both fired. Its incident report asks nothing of those reminded: its timeline
    names them as the P0 alert does, as code, so that opening it notifies only the people who
    took part, not every team reminded an hour before."""
    bot = chatty_bot
    bot.repo.commit("main", {".github/hotfix.yml": STAKEHOLDERS}, "Remind the stakeholders")
    pull = open_hotfix(bot, "P0")
    bot.advance(10 * MINUTE)
    bot.repo.review(pull.number, "lead", "APPROVED")
    bot.deliver("pull_request_review", bot.fake.review_event(bot.repo, pull.number))
    bot.advance(50 * MINUTE)
    bot.repo.review(pull.number, "oncall", "APPROVED")
    bot.deliver("pull_request_review", bot.fake.review_event(bot.repo, pull.number))
    bot.repo.merge_pull(pull.number, merged_by="lead")
    bot.pull_request(pull.number, "closed")

    [report] = [i for i in bot.repo.issues.values() if "incident-report" in i.labels]
    escalations = [row for row in report.body.splitlines() if "| Escalation" in row]
    assert escalations == [
        "| 2026-12-04 20:40 UTC | Escalation after 10m: reminded `@acme/engineering-leads`, "
        "`@acme/on-call-managers`, `@acme/sre` and `@cto` |",
        "| 2026-12-04 21:30 UTC | Escalation after 1h: reminded `@dev` and "
        "`@acme/incident-commanders` |",
    ]
    assert mentions_outside_code(report.body) == {"@dev", "@lead", "@oncall"}
    # The reminders themselves did notify them, on the pull request and in chat.
    [first] = [c.body for c in bot.repo.comments_on(pull.number) if "P0:10m" in c.body]
    assert mentions_outside_code(first) == {
        "@acme/engineering-leads",
        "@acme/on-call-managers",
        "@acme/sre",
        "@cto",
    }
