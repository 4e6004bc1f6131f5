"""The record and the notices of a hotfix, end to end against the fake GitHub on a clock the
test moves (docs/BEHAVIOUR.md, 'The record and the notices'): the timeline, the incident
report issue and its reminder; and the report across a real SIGKILL of `hotfix-bot serve`."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.by_hand import apply, run_by_hand
from support.harness import Bot, staff
from support.live_server import children_of, github_and_server, wait_for

from app.journal import Journal, TimerEntry, open_journal
from app.journal.timers import Timers
from policies.timeline import Kind, TimelineEvent
from sandbox import FakeComment, FakeGitHub, FakeIssue, FakePull, FakeRepo, RecordedRequest
from sandbox.repo import ReviewState

MINUTE, HOUR = 60, 3600
WEB = "https://github.com/acme/widgets"
ISSUES = "/repos/acme/widgets/issues"
BOT = "hotfix-bot[bot]"


@pytest.fixture
def bot(clocked_bot: Bot) -> Bot:
    """`clocked_bot` in acme's organization (`staff`), with `develop`."""
    staff(
        clocked_bot,
        {"dev": "write", "dana": "write", "lead": "maintain", "lena": "write", "oncall": "write"},
    )
    clocked_bot.repo.create_branch("develop", "main")
    return clocked_bot


def open_hotfix(bot: Bot, severity: str = "P0") -> FakePull:
    """A hotfix by dev, opened now on the test's clock (2026-12-04 20:30:30 UTC)."""
    pull = bot.open_hotfix(labels=("hotfix", severity))
    bot.pull_request(pull.number, "opened")
    return pull


def command(bot: Bot, pull: FakePull, author: str, body: str) -> FakeComment:
    comment = bot.repo.add_comment(pull.number, author, body)
    bot.deliver("issue_comment", bot.fake.issue_comment_event(bot.repo, comment.id))
    return comment


def merge(bot: Bot, pull: FakePull, by: str = "lead", *, back_merge_last: bool = False) -> str:
    sha = bot.repo.merge_pull(pull.number, merged_by=by)
    if back_merge_last:
        # The tag and the back-merge run side by side, and the timeline has their rows in the
        # order they ended: GitHub is slow to merge back here, so that the tag's comes first.
        bot.fake.inject("POST", r"/merges$", delay=0.5)
    bot.pull_request(pull.number, "closed")
    return sha


def reports(bot: Bot) -> list[FakeIssue]:
    return reports_in(bot.repo)


def reports_in(repo: FakeRepo) -> list[FakeIssue]:
    return [issue for issue in repo.issues.values() if "incident-report" in issue.labels]


def notices(bot: Bot, pull: FakePull) -> dict[str, str]:
    """The notices on the pull request, by id."""
    found = {}
    for comment in bot.repo.comments_on(pull.number):
        first, _, text = comment.body.partition("\n")
        if first.startswith("<!-- hotfix-bot notice "):
            assert comment.author == BOT
            found[first.removeprefix("<!-- hotfix-bot notice ").removesuffix(" -->")] = text
    return found


async def timeline_of(bot: Bot, pull: FakePull) -> list[TimelineEvent]:
    stored = await bot.journal.get_state(f"timeline:acme/widgets#{pull.number}")
    return [
        TimelineEvent(e["key"], datetime.fromisoformat(e["at"]), Kind(e["kind"]), e["text"])
        for e in json.loads(stored or "[]")
    ]


def report_timers(bot: Bot) -> list[TimerEntry]:
    return timers_of_reports(bot.journal)


def timers_of_reports(journal: Journal) -> list[TimerEntry]:
    return [entry for entry in journal.timers() if entry.timer.kind == "incident-report-due"]


def issues_created(fake: FakeGitHub) -> list[RecordedRequest]:
    """The requests to open an issue GitHub received (not those to comment on one)."""
    return [request for request in fake.requests_to("POST", ISSUES) if request.path == ISSUES]


def release_report(bot: Bot, sha: str) -> str:
    [run] = bot.repo.runs_named("hotfix-release", sha)
    return str(run.output["summary"])


def as_opened(issue: FakeIssue) -> tuple[str, str, list[str], list[str]]:
    return (issue.title, issue.body, issue.labels, issue.assignees)


def issue_link(issue: FakeIssue) -> str:
    return f"[#{issue.number}]({WEB}/issues/{issue.number})"


def opened_row(issue: FakeIssue, due: str) -> str:
    """The release report's row for the incident report it opened as `issue`."""
    return (
        f"| Incident report | ✅ done | opened issue #{issue.number} (assigned to @dev), due "
        f"{due} | {issue_link(issue)} |"
    )


def already_held_row(issue: FakeIssue, due: str) -> str:
    """The release report's row for the incident report a run found already opened."""
    return (
        f"| Incident report | ✅ already done | issue #{issue.number} already holds the "
        f"incident report, due {due} | {issue_link(issue)} |"
    )


def refuse(bot: Bot, method: str, path: str, times: int | None = 1) -> None:
    """GitHub answers `method` to `path` itself 403, `times` times (None: every time)."""
    bot.fake.inject(method, f"{path}$", status=403, times=times, body=REFUSED)


def confirmation_reminders(bot: Bot) -> list[TimerEntry]:
    return [e for e in bot.journal.timers() if e.timer.kind == "confirmation-reminder"]


# The first rows of the timeline of a P0 `open_hotfix` opened.
OPENED_AS_P0 = [
    "| 2026-12-04 20:30 UTC | Opened by @dev |",
    "| 2026-12-04 20:30 UTC | Became a P0 hotfix |",
    "| 2026-12-04 20:30 UTC | Review requested for Engineering Lead: team engineering-leads |",
    "| 2026-12-04 20:30 UTC | Review requested for On-call Manager: team on-call-managers |",
]


def released(bot: Bot, sha: str) -> list[str]:
    """The timeline's events of `merge` as `sha` and of the steps that follow it."""
    develop = bot.repo.branches["develop"].sha
    return [
        f"Merged into `main` by @lead as `{sha[:7]}`",
        f"Tag: annotated tag `v1.2.4` on the merge commit `{sha[:7]}`",
        "Release: published release `v1.2.4`",
        f"Back-merge: merged into `develop` as `{develop[:7]}`",
    ]


def rows(time: str, *events: str) -> list[str]:
    """`events` at `time` on 2026-12-04, as rows of a report's Timeline table."""
    return [f"| 2026-12-04 {time} UTC | {event} |" for event in events]


def lines(time: str, *events: str) -> str:
    """`events` at `time` on 2026-12-04, as lines of a resolution notice's Timeline."""
    return "".join(f"2026-12-04 {time} UTC - {event}\n" for event in events)


def timeline_rows(body: str) -> list[str]:
    """The rows of the Timeline table in a report's `body` (or the part of it from it on)."""
    return body.split("## Timeline\n")[1].split("\n\n")[0].splitlines()[2:]


def merged_p0(bot: Bot) -> tuple[FakePull, str]:
    """A P0 opened at 20:30:30, escalated at 20:45:30, approved by lead at 20:50:30 and
    verbally for lena at 20:55:30, merged by lead at 21:00:30."""
    pull = open_hotfix(bot)
    bot.advance(15 * MINUTE)  # the first escalation step
    bot.advance(5 * MINUTE)
    bot.approve(pull.number, "lead")
    bot.advance(5 * MINUTE)
    command(bot, pull, "dana", "/hotfix verbal-approval @lena on the bridge call")
    bot.advance(5 * MINUTE)
    return pull, merge(bot, pull, back_merge_last=True)


def test_a_merged_p0_opens_one_report_with_its_summary_and_every_event_of_its_timeline(
    bot: Bot,
) -> None:
    _, sha = merged_p0(bot)

    [issue] = reports(bot)
    assert issue.title == "Incident report: Fix"
    assert (issue.labels, issue.assignees, issue.state) == (
        ["incident-report", "P0"],
        ["dev"],
        "open",
    )
    timeline = "".join(
        f"{row}\n"
        for row in [
            *OPENED_AS_P0,
            *rows(
                "20:45",
                "Escalation after 15m: reminded `@acme/engineering-leads` and "
                "`@acme/on-call-managers`",
            ),
            *rows("20:50", "Approved by @lead for Engineering Lead"),
            *rows("20:55", "Approved by @lena for On-call Manager (verbal, recorded by @dana)"),
            *rows("21:00", *released(bot, sha)),
        ]
    )
    assert issue.body == (
        "<!-- hotfix-bot:incident-report acme/widgets#1 -->\n"
        "# Incident Report: Fix\n"
        "\n"
        "## Summary\n"
        "- **Incident ID:** INC-2026-001\n"
        "- **Severity:** P0\n"
        "- **Start Time:** 2026-12-04 20:30 UTC (pull request opened)\n"
        "- **End Time:** 2026-12-04 21:00 UTC (merged)\n"
        "- **Duration:** 30m\n"
        "- **Deadline:** met, with 1h30m to spare (2h after opening: 2026-12-04 22:30 UTC)\n"
        f"- **Release:** [`v1.2.4`]({WEB}/tree/v1.2.4), "
        f"[release v1.2.4]({WEB}/releases/tag/v1.2.4)\n"
        "- **Report due:** 2026-12-05 21:00 UTC (24h after the merge)\n"
        "- **Verbal approvals:** lena (verbal, recorded by @dana at 20:55 UTC), **unconfirmed**\n"
        "- **Impact:** [Description of user/business impact]\n"
        "\n"
        "## Root Cause\n"
        "[Detailed explanation of what went wrong and why]\n"
        "\n"
        "## Timeline\n"
        "| Time | Event |\n"
        "|------|-------|\n"
        f"{timeline}"
        "\n"
        "## Resolution\n"
        "[What was done to fix the issue]\n"
        "\n"
        f"Fixed by [#1]({WEB}/pull/1) (Fix); release: [`v1.2.4`]({WEB}/tree/v1.2.4), "
        f"[release v1.2.4]({WEB}/releases/tag/v1.2.4).\n"
        "\n"
        "## Lessons Learned\n"
        "### What went well\n"
        "- [e.g. Quick detection through monitoring]\n"
        "\n"
        "### What could be improved\n"
        "- [e.g. Earlier detection possible with better alerting]\n"
        "\n"
        "## Action Items\n"
        "- [ ] Improve monitoring for [specific area]\n"
        "- [ ] Add automated test for [specific scenario]\n"
        "- [ ] Update documentation for [specific process]\n"
        "- [ ] Training on [specific topic] for team\n"
        "\n"
        "## Prevention Measures\n"
        "[How we'll prevent this from happening again]"
    )
    # lena's confirmation is still to be written into it.
    assert (
        f"| Incident report | ⏳ waiting | opened issue #{issue.number} (assigned to @dev), due "
        "2026-12-05 21:00 UTC; it will show the verbal approval of lena confirmed once it is | "
        f"{issue_link(issue)} |\n"
        "| Resolution notice | ✅ done | posted the resolution notice on the pull request |   |"
    ) in release_report(bot, sha)


def test_a_p0_gets_the_alert_when_it_opens_and_the_resolution_notice_when_it_merges(
    bot: Bot,
) -> None:
    pull, sha = merged_p0(bot)

    [issue] = reports(bot)
    assert notices(bot, pull) == {
        "p0-alert:acme/widgets#1": (
            "🚨 CRITICAL INCIDENT - Production Down\n"
            "\n"
            "Status: Fix in review\n"
            "Started: 2026-12-04 20:30 UTC\n"
            "Incident Commander: @dev\n"
            "Deadline: 2026-12-04 22:30 UTC (2h after opening)\n"
            "\n"
            "Current Actions:\n"
            "- Reviewing the emergency fix, #1: Fix\n"
            "- Reminding the approvers at 15m and 4h, and the author at 4h after opening"
        ),
        "escalation:acme/widgets#1:P0:15m": (
            "@acme/engineering-leads @acme/on-call-managers: this **P0** hotfix has been open "
            "for **15m**. Deadline 2026-12-04 22:30 UTC (2h after opening): **1h45m left**.\n\n"
            "`hotfix-policy`: Waiting for approval: Engineering Lead and On-call Manager"
        ),
        "resolution:acme/widgets#1": (
            "✅ RESOLVED - Production Restored\n"
            "\n"
            "Status: Resolved\n"
            "Resolution Time: 30m\n"
            "Fix: #1 Fix, merged 2026-12-04 21:00 UTC, tagged v1.2.4\n"
            "\n"
            "Timeline:\n"
            "2026-12-04 20:30 UTC - Opened by @dev\n"
            "2026-12-04 20:30 UTC - Became a P0 hotfix\n"
            f"{lines('21:00', *released(bot, sha))}"
            "\n"
            f"Incident report: {issue_link(issue)}, due "
            "2026-12-05 21:00 UTC\n"
            "Thank you for your patience."
        ),
    }


def test_a_p0_alert_says_no_reminders_come_when_its_severity_has_no_escalation(bot: Bot) -> None:
    bot.repo.commit(
        "main", {".github/hotfix.yml": "severities: {P0: {escalation: []}}\n"}, "No reminders"
    )
    pull = open_hotfix(bot)

    assert notices(bot, pull)["p0-alert:acme/widgets#1"].endswith(
        "Current Actions:\n"
        "- Reviewing the emergency fix, #1: Fix\n"
        "- No reminders are set (severities.P0.escalation is empty)"
    )
    assert [entry.timer.kind for entry in bot.journal.timers()] == ["overdue"]


def test_a_p0_alert_github_refuses_is_shown_on_the_run_once_and_not_asked_for_again(
    bot: Bot,
) -> None:
    refuse(bot, "POST", f"{ISSUES}/1/comments", times=None)
    pull = open_hotfix(bot)
    bot.approve(pull.number, "lead")

    assert notices(bot, pull) == {}
    # No chat is set up: the run is where it is told.
    assert (
        "**Notices not posted on this pull request**:\n- P0 alert: GitHub answered 403 to POST "
        f"{ISSUES}/1/comments: Resource not accessible by integration; not sent to chat either\n"
    ) in bot.policy_run(pull.head_sha).output["summary"]
    assert [(e.event, e.action, e.status) for e in bot.journal.recent()] == [
        ("pull_request_review", "submitted", "done"),
        ("pull_request", "opened", "done"),
    ]
    # Asked once: the review's evaluation knew it was refused.
    asked = bot.fake.requests_to("POST", f"{ISSUES}/1/comments")
    assert len(asked) == 1


def test_a_late_p1_says_by_how_much_it_missed_its_deadline_and_is_due_in_48h(bot: Bot) -> None:
    bot.repo.commit(
        "main", {".github/hotfix.yml": "severities: {P1: {deadline: 1h}}\n"}, "P1 within 1h"
    )
    pull = open_hotfix(bot, "P1")
    bot.advance(3 * HOUR + 12 * MINUTE)
    merge(bot, pull)

    [issue] = reports(bot)
    assert (issue.title, issue.labels) == ("Incident report: Fix", ["incident-report", "P1"])
    summary = issue.body.split("## Root Cause")[0]
    assert (
        "- **Incident ID:** INC-2026-001\n"
        "- **Severity:** P1\n"
        "- **Start Time:** 2026-12-04 20:30 UTC (pull request opened)\n"
        "- **End Time:** 2026-12-04 23:42 UTC (merged)\n"
        "- **Duration:** 3h12m\n"
        "- **Deadline:** missed by 2h12m (1h after opening: 2026-12-04 21:30 UTC)\n"
    ) in summary
    assert "- **Report due:** 2026-12-06 23:42 UTC (48h after the merge)\n" in summary


def test_a_merge_the_moment_the_deadline_comes_missed_it_as_the_overdue_check_run_says(
    bot: Bot,
) -> None:
    """The deadline's timer and the merge at one moment: the check run and the report tell
    the same, and neither by `0s`."""
    pull = open_hotfix(bot)
    bot.approve(pull.number, "lead", "oncall")
    bot.advance(2 * HOUR)  # the overdue timer evaluates again
    run = bot.policy_run(pull.head_sha)
    assert run.output["title"] == "Overdue: All 6 rules pass"
    assert run.output["summary"].startswith(
        "**Severity P0**: merge within 2h of opening, by 2026-12-04 22:30 UTC: "
        "**overdue by 1s** as of 22:30 UTC.\n"
    )
    merge(bot, pull)

    [issue] = reports(bot)
    assert (
        "- **End Time:** 2026-12-04 22:30 UTC (merged)\n"
        "- **Duration:** 2h\n"
        "- **Deadline:** missed by 1s (2h after opening: 2026-12-04 22:30 UTC)\n"
    ) in issue.body


def test_a_p1_a_day_late_shows_its_duration_to_the_minute_beside_the_deadline_missed(
    bot: Bot,
) -> None:
    pull = open_hotfix(bot, "P1")  # the default P1: within 24h
    bot.advance(27 * HOUR + 30 * MINUTE)
    merge(bot, pull)

    [issue] = reports(bot)
    assert (
        "- **End Time:** 2026-12-06 00:00 UTC (merged)\n"
        "- **Duration:** 1d3h30m\n"
        "- **Deadline:** missed by 3h30m (24h after opening: 2026-12-05 20:30 UTC)\n"
    ) in issue.body
    resolution = notices(bot, pull)["resolution:acme/widgets#1"]
    assert "Resolution Time: 1d3h30m\n" in resolution


def test_a_p2_hotfix_gets_no_report_and_the_release_report_has_no_row_for_it(bot: Bot) -> None:
    pull = open_hotfix(bot, "P2")
    sha = merge(bot, pull)

    assert reports(bot) == []
    assert "Incident report" not in release_report(bot, sha)
    assert report_timers(bot) == []


def test_one_report_across_a_redelivery_a_rerun_and_a_run_stopped_after_creating_it(
    bot: Bot,
) -> None:
    pull = open_hotfix(bot)
    sha = merge(bot, pull)
    [issue] = reports(bot)

    bot.deliver("pull_request", bot.fake.pull_request_event(bot.repo, pull.number, "closed"))
    rerun_as_if_the_report_step_was_lost(bot, sha)

    assert reports(bot) == [issue]
    assert len(issues_created(bot.fake)) == 1
    assert already_held_row(issue, "2026-12-05 20:30 UTC") in release_report(bot, sha)
    [reminder] = report_timers(bot)
    assert (reminder.timer.id, reminder.status) == (
        f"incident-report-due:acme/widgets#{issue.number}:due",
        "scheduled",
    )


def test_one_report_when_the_server_is_killed_after_github_opened_it_before_it_heard_so(
    tmp_path: Path, private_key_pem: str
) -> None:
    """`hotfix-bot serve` and its worker process SIGKILLed while GitHub, having opened the
    issue, holds its answer back: the journal never kept the step. Started again on the same
    journal, the resumed run finds the issue by its marker instead of opening a second."""
    journal_path = tmp_path / "journal.db"
    with github_and_server(tmp_path, private_key_pem) as (fake, repo, server):
        repo.collaborators.update({"dev": "write", "lead": "maintain"})
        repo.create_branch("develop", "main")
        repo.create_branch("hotfix/fix-login", "main")
        repo.commit("hotfix/fix-login", {"VERSION": "1.2.4\n"}, "Fix")
        pull = repo.open_pull(
            "hotfix/fix-login", "main", title="Fix", author="dev", labels=["hotfix", "P0"]
        )
        sha = repo.merge_pull(pull.number, merged_by="lead")
        fake.inject("POST", f"^{ISSUES}$", hang=True, apply=True)
        server.start()
        assert server.process is not None

        closed = fake.pull_request_event(repo, pull.number, "closed")
        assert server.deliver("pull_request", closed, "merged-1").status_code == 202
        wait_for(lambda: repo.issues)  # opened; its answer is held back
        [created] = issues_created(fake)
        assert created.status is None
        [worker] = children_of(server.process.pid)
        os.kill(worker, signal.SIGKILL)  # the process running the step, mid-request
        server.kill()

        journal = open_journal(f"sqlite:///{journal_path}")
        try:
            kept = json.loads(asyncio.run(journal.get_state("release:acme/widgets#1")) or "{}")
            assert "tag" in kept["steps"]
            assert "incident-report" not in kept["steps"]
            server.start()
            wait_for(lambda: journal.count(("queued", "running")) == 0)
            [delivery] = [entry for entry in journal.recent() if entry.event == "pull_request"]
            timers = timers_of_reports(journal)
        finally:
            journal.close()

    assert (delivery.id, delivery.status, delivery.attempts) == ("merged-1", "done", 2)
    [issue] = reports_in(repo)
    assert (issue.title, issue.labels, issue.assignees) == (
        "Incident report: Fix",
        ["incident-report", "P0"],
        ["dev"],
    )
    assert issues_created(fake) == [created]
    [run] = repo.runs_named("hotfix-release", sha)
    assert (run.status, run.conclusion) == ("completed", "success")
    assert pull.merged_at is not None
    due = f"{pull.merged_at + timedelta(hours=24):%Y-%m-%d %H:%M} UTC"
    assert already_held_row(issue, due) in str(run.output["summary"])
    [reminder] = timers
    assert (reminder.timer.id, reminder.status) == (
        f"incident-report-due:acme/widgets#{issue.number}:due",
        "scheduled",
    )


def test_when_the_report_is_due_and_still_open_its_assignee_is_reminded_once(bot: Bot) -> None:
    pull = open_hotfix(bot)
    merge(bot, pull)
    [issue] = reports(bot)
    bot.repo.issues[issue.number].assignees.append("lena")  # someone joined the review

    bot.advance(24 * HOUR - 1)
    assert bot.repo.comments_on(issue.number) == []
    bot.advance(1)
    bot.restart()  # the timer has fired: a restart does not fire it again

    [reminder] = bot.repo.comments_on(issue.number)
    assert reminder.author == BOT
    assert reminder.body == (
        f"<!-- hotfix-bot notice incident-report-due:acme/widgets#{issue.number}:due -->\n"
        "@dev @lena: this incident report of #1 was due 2026-12-05 20:30 UTC and the issue is "
        "still open. Please fill it in, and close the issue once it is reviewed."
    )
    fired = [entry for entry in bot.journal.recent() if entry.action == "incident-report-due"]
    assert [entry.status for entry in fired] == ["done"]


def test_a_report_due_the_repository_sets_is_said_everywhere_and_reminded_then(bot: Bot) -> None:
    bot.repo.commit(
        "main", {".github/hotfix.yml": "severities: {P0: {incident_report: {due: 90m}}}\n"}, "Due"
    )
    pull = open_hotfix(bot)
    merge(bot, pull)  # at 2026-12-04 20:30:30 UTC: the report is due at 22:00:30

    [issue] = reports(bot)
    # The due time as the file writes it.
    assert "\n- **Report due:** 2026-12-04 22:00 UTC (90m after the merge)\n" in issue.body
    assert notices(bot, pull)["resolution:acme/widgets#1"].endswith(
        f"Incident report: {issue_link(issue)}, due "
        "2026-12-04 22:00 UTC\nThank you for your patience."
    )
    bot.advance(90 * MINUTE - 1)
    assert bot.repo.comments_on(issue.number) == []
    bot.advance(1)
    assert [comment.body for comment in bot.repo.comments_on(issue.number)] == [
        f"<!-- hotfix-bot notice incident-report-due:acme/widgets#{issue.number}:due -->\n"
        "@dev: this incident report of #1 was due 2026-12-04 22:00 UTC and the issue is "
        "still open. Please fill it in, and close the issue once it is reviewed."
    ]


def test_a_report_reminder_due_while_hotfix_bot_was_down_says_how_late_it_is(bot: Bot) -> None:
    pull = open_hotfix(bot)
    merge(bot, pull)  # at 2026-12-04 20:30:30 UTC: the report is due a day later
    [issue] = reports(bot)
    bot.advance(23 * HOUR)

    bot.restart(down_for=5 * HOUR)  # down when it came due

    [reminder] = bot.repo.comments_on(issue.number)
    assert reminder.body == (
        f"<!-- hotfix-bot notice incident-report-due:acme/widgets#{issue.number}:due -->\n"
        "@dev: this incident report of #1 was due 2026-12-05 20:30 UTC and the issue is "
        "still open. Please fill it in, and close the issue once it is reviewed.\n\n"
        "This reminder was due at 2026-12-05 20:30 UTC; hotfix-bot sends it 4h late."
    )


def test_a_report_closed_before_it_is_due_gets_no_reminder(bot: Bot) -> None:
    pull = open_hotfix(bot)
    merge(bot, pull)
    [issue] = reports(bot)
    bot.repo.close_issue(issue.number)

    bot.advance(25 * HOUR)

    assert bot.repo.comments_on(issue.number) == []
    [entry] = report_timers(bot)
    assert entry.status == "fired"


@pytest.mark.parametrize("github_answer", ["refused", "dropped silently"])
def test_an_author_github_will_not_assign_still_gets_the_report_unassigned(
    bot: Bot, github_answer: str
) -> None:
    if github_answer == "refused":
        del bot.repo.collaborators["dev"]  # say, a contributor from a fork
    else:
        bot.repo.drops_assignees = True  # GitHub's way when the App may not push
    pull = open_hotfix(bot)
    sha = merge(bot, pull)

    [issue] = reports(bot)
    assert issue.assignees == []
    assert (
        f"opened issue #{issue.number} (GitHub would not assign it to @dev), due "
        "2026-12-05 20:30 UTC"
    ) in release_report(bot, sha)


def test_a_p0_whose_authors_account_was_deleted_alerts_and_escalates_without_mentioning_it(
    bot: Bot,
) -> None:
    """GitHub gives a deleted account as `ghost`: mentioned, it would notify nobody, so the
    notices say the account was deleted instead."""
    bot.fake.delete_account("dev")
    pull = open_hotfix(bot)
    bot.advance(15 * MINUTE)
    bot.advance(3 * HOUR + 45 * MINUTE)  # the step reminding the author too

    alert, first, second = (
        notices(bot, pull)[f"{name}:acme/widgets#1{step}"]
        for name, step in (("p0-alert", ""), ("escalation", ":P0:15m"), ("escalation", ":P0:4h"))
    )
    assert alert == (
        "🚨 CRITICAL INCIDENT - Production Down\n"
        "\n"
        "Status: Fix in review\n"
        "Started: 2026-12-04 20:30 UTC\n"
        "Incident Commander: none (the author's account was deleted)\n"
        "Deadline: 2026-12-04 22:30 UTC (2h after opening)\n"
        "\n"
        "Current Actions:\n"
        "- Reviewing the emergency fix, #1: Fix\n"
        "- Reminding the approvers at 15m and 4h after opening; not the author, whose account "
        "was deleted"
    )
    assert first.startswith("@acme/engineering-leads @acme/on-call-managers: this **P0**")
    assert "deleted" not in first  # the 15-minute step reminds the approvers alone
    assert second == (
        "@acme/engineering-leads @acme/on-call-managers: this **P0** hotfix has been open for "
        "**4h**. Deadline 2026-12-04 22:30 UTC (2h after opening): **overdue by 2h**.\n\n"
        "`hotfix-policy`: Overdue: Waiting for approval: Engineering Lead and On-call Manager"
        "\n\nThe author's account was deleted: this reminder cannot mention them."
    )
    timeline = asyncio.run(timeline_of(bot, pull))
    assert timeline[0].text == "Opened by a deleted account"
    assert [event.text for event in timeline if event.kind is Kind.ESCALATION] == [
        "Escalation after 15m: reminded `@acme/engineering-leads` and `@acme/on-call-managers`",
        "Escalation after 4h: reminded `@acme/engineering-leads` and `@acme/on-call-managers`; "
        "not the author, whose account was deleted",
    ]
    assert not [c.body for c in bot.repo.comments_on(pull.number) if "@ghost" in c.body]


def test_the_report_of_a_hotfix_whose_authors_account_was_deleted_is_assigned_to_nobody(
    bot: Bot,
) -> None:
    """Nobody to assign it to, nor to remind of it by name: the report and its reminder say
    the author's account was deleted."""
    pull = open_hotfix(bot)
    bot.fake.delete_account("dev")
    sha = merge(bot, pull)

    [issue] = reports(bot)
    assert issue.assignees == []
    assert [request.json.get("assignees") for request in issues_created(bot.fake)] == [None]
    assert (
        f"| Incident report | ✅ done | opened issue #{issue.number} (unassigned: the author's "
        f"account was deleted), due 2026-12-05 20:30 UTC | {issue_link(issue)} |"
    ) in release_report(bot, sha)
    bot.advance(24 * HOUR)
    [reminder] = bot.repo.comments_on(issue.number)
    assert reminder.body == (
        f"<!-- hotfix-bot notice incident-report-due:acme/widgets#{issue.number}:due -->\n"
        "This incident report of #1 was due 2026-12-05 20:30 UTC and the issue is still open; "
        "nobody is assigned to it, and the author's account was deleted. Please fill it in, "
        "and close the issue once it is reviewed."
    )
    assert "@ghost" not in issue.body + notices(bot, pull)["resolution:acme/widgets#1"]


def test_a_hotfix_merged_while_its_check_failed_says_so_in_its_report_and_release_report(
    bot: Bot,
) -> None:
    """An admin bypassed the branch protection (or there is none): the record says what the
    check said of the merged head commit, as its run last showed it before the merge."""
    pull = bot.open_hotfix("hotfix/Fix_Login", labels=("hotfix", "P1"))
    bot.pull_request(pull.number, "opened")
    bot.approve(pull.number, "lead")
    assert bot.policy_run(pull.head_sha).conclusion == "failure"

    sha = merge(bot, pull)

    clause = (
        f"while `hotfix-policy` was failing on its head commit `{pull.head_sha[:7]}`: "
        "`branch-name` failed"
    )
    [issue] = reports(bot)
    assert (
        "- **Report due:** 2026-12-06 20:30 UTC (48h after the merge)\n"
        f"- **Policy check:** merged {clause}.\n"
        "- **Impact:** [Description of user/business impact]\n"
    ) in issue.body
    assert release_report(bot, sha).startswith(
        f"Hotfix #1 (Fix) was merged into `main` as [`{sha[:7]}`]({WEB}/commit/{sha}), {clause}."
    )


def test_a_check_that_failed_only_on_an_earlier_head_is_not_said_to_have_failed_at_the_merge(
    bot: Bot,
) -> None:
    """Pushed a fix, and merged before the push was evaluated: the run that failed is of
    another commit than the one merged, and says nothing of it."""
    pull = bot.open_hotfix("hotfix/fix-login", labels=("hotfix", "P1"))
    bot.repo.commit("main", {"VERSION": "1.2.4\n"}, "Someone else took 1.2.4")
    bot.pull_request(pull.number, "opened")
    assert bot.policy_run(pull.head_sha).conclusion == "failure"
    bot.repo.commit("hotfix/fix-login", {"NOTES": "fixed\n"}, "More")

    sha = merge(bot, pull)

    [issue] = reports(bot)
    assert "Policy check" not in issue.body
    assert release_report(bot, sha).startswith(
        f"Hotfix #1 (Fix) was merged into `main` as [`{sha[:7]}`]({WEB}/commit/{sha}).\n"
    )


def test_a_p1_gets_no_alert_and_its_resolution_notice_says_when_no_report_is_kept(bot: Bot) -> None:
    bot.repo.commit(
        "main",
        {".github/hotfix.yml": "severities: {P1: {incident_report: null}}\n"},
        "No P1 report",
    )
    pull = open_hotfix(bot, "P1")
    bot.pull_request(pull.number, "synchronize")
    assert notices(bot, pull) == {}
    bot.advance(90 * MINUTE)
    sha = merge(bot, pull)

    assert reports(bot) == []
    resolution = notices(bot, pull)["resolution:acme/widgets#1"]
    assert "Resolution Time: 1h30m\n" in resolution
    assert resolution.endswith("\n\nIncident report: none for P1\nThank you for your patience.")
    # With no report to link, the notice waits for nothing.
    assert (
        "\n| Resolution notice | ✅ done | posted the resolution notice on the pull request |"
    ) in release_report(bot, sha)


def test_a_rerun_after_a_merged_p1_was_relabelled_p0_keeps_the_record_a_p1s(bot: Bot) -> None:
    """The first run could not open the report; a re-run after someone relabelled the
    merged pull request opens it as the severity the first run followed."""
    pull = open_hotfix(bot, "P1")
    bot.advance(90 * MINUTE)
    refuse(bot, "POST", ISSUES)
    sha = merge(bot, pull)
    assert reports(bot) == []
    bot.repo.remove_label(pull.number, "P1")
    bot.repo.add_labels(pull.number, "P0")
    bot.advance(10 * MINUTE)

    rerun(bot, sha)

    [issue] = reports(bot)
    assert issue.labels == ["incident-report", "P1"]
    summary = issue.body.split("## Root Cause")[0]
    assert "- **Severity:** P1\n" in summary
    assert "- **Report due:** 2026-12-06 22:00 UTC (48h after the merge)\n" in summary
    resolution = notices(bot, pull)["resolution:acme/widgets#1"]
    assert resolution.endswith(
        f"Incident report: {issue_link(issue)}, due "
        "2026-12-06 22:00 UTC\nThank you for your patience."
    )


def test_a_hotfix_merged_with_two_severities_is_recorded_as_the_first_and_says_so(bot: Bot) -> None:
    pull = bot.open_hotfix(labels=("hotfix", "P1", "P0"))
    bot.pull_request(pull.number, "opened")
    bot.advance(30 * MINUTE)
    sha = merge(bot, pull)

    [issue] = reports(bot)
    assert (issue.labels, issue.assignees) == (["incident-report", "P0"], ["dev"])
    summary = issue.body.split("## Root Cause")[0]
    assert (
        "- **Severity:** P0\n- **Start Time:** 2026-12-04 20:30 UTC (pull request opened)\n"
    ) in summary
    assert (
        "- **Report due:** 2026-12-05 21:00 UTC (24h after the merge)\n"
        "- **Severity:** the pull request was labelled `P0` and `P1`, more than one severity; "
        "this report takes P0, the first of them in the config's order. Correct it here if the "
        "incident was of another.\n"
    ) in summary
    assert (
        f"{opened_row(issue, '2026-12-05 21:00 UTC')}\n"
        "| Resolution notice | ✅ done | posted the resolution notice on the pull request |   |"
    ) in release_report(bot, sha)
    resolution = notices(bot, pull)["resolution:acme/widgets#1"]
    assert resolution.startswith("✅ RESOLVED - Production Restored\n")


def test_a_pull_request_that_becomes_a_p0_is_alerted_once(bot: Bot) -> None:
    pull = open_hotfix(bot, "P1")
    bot.advance(10 * MINUTE)
    bot.repo.remove_label(pull.number, "P1")
    bot.repo.add_labels(pull.number, "P0")
    bot.pull_request(pull.number, "labeled", label="P0")

    with bot.counting() as requests:
        bot.pull_request(pull.number, "synchronize")
        bot.approve(pull.number, "lead")

    assert list(notices(bot, pull)) == ["p0-alert:acme/widgets#1"]
    assert "Started: 2026-12-04 20:30 UTC\n" in notices(bot, pull)["p0-alert:acme/widgets#1"]
    # Known to be sent: later evaluations ask GitHub nothing about it.
    assert not [r for r in requests if r.path.endswith(f"/issues/{pull.number}/comments")]
    labelled = [
        (event.at.strftime("%H:%M"), event.text)
        for event in asyncio.run(timeline_of(bot, pull))
        if event.kind in (Kind.OPENED, Kind.SEVERITY)
    ]
    assert labelled == [
        ("20:30", "Opened by @dev"),
        ("20:30", "Became a P1 hotfix"),
        ("20:40", "Severity changed to P0"),
    ]


def test_a_severity_labelled_again_is_a_row_of_its_own(bot: Bot) -> None:
    """P1, then P0, then P1 again: the last severity row is the one the incident ended
    with, as its report's summary says."""
    pull = open_hotfix(bot, "P1")
    for old, new in (("P1", "P0"), ("P0", "P1")):
        bot.advance(10 * MINUTE)
        bot.repo.remove_label(pull.number, old)
        bot.repo.add_labels(pull.number, new)
        bot.pull_request(pull.number, "labeled", label=new)
    bot.advance(5 * MINUTE)
    bot.pull_request(pull.number, "synchronize")  # still P1: no row

    labelled = [
        (event.at.strftime("%H:%M"), event.text)
        for event in asyncio.run(timeline_of(bot, pull))
        if event.kind is Kind.SEVERITY
    ]
    assert labelled == [
        ("20:30", "Became a P1 hotfix"),
        ("20:40", "Severity changed to P0"),
        ("20:50", "Severity changed to P1"),
    ]


def test_a_p0_evaluated_twice_at_once_is_alerted_once(bot: Bot) -> None:
    pull = bot.open_hotfix(labels=("hotfix", "P0"))
    # Each evaluation would list the comments, find no alert, and post one.
    bot.fake.inject("GET", rf"/issues/{pull.number}/comments$", delay=0.5, times=2)

    # The pull request's own delivery, and "Re-run all checks", which names no pull request
    # (as for one from a fork) and so is queued under the head commit, beside it.
    rerun = bot.fake.check_suite_event(bot.repo, pull.head_sha)
    rerun["check_suite"]["pull_requests"] = []
    bot.send("pull_request", bot.fake.pull_request_event(bot.repo, pull.number, "opened"))
    bot.send("check_suite", rerun)
    bot.settle()

    assert [entry.status for entry in bot.journal.recent()] == ["done", "done"]
    assert [comment.body.splitlines()[0] for comment in bot.repo.comments_on(pull.number)] == [
        "<!-- hotfix-bot notice p0-alert:acme/widgets#1 -->"
    ]


def test_a_repositorys_templates_replace_the_notices_wording_filled_in_as_plain_text(
    bot: Bot,
) -> None:
    templates = (
        "notices:\n  templates:\n"
        "    p0_alert: '{severity} on {repository}: #{number} {title} by {author}, "
        "commander {commander}, since {started}, due {deadline}; {reminders}'\n"
        "    escalation: '{mentions} {severity} #{number} open {open_for}; {deadline} {check}'\n"
        "    resolution: '#{number} resolved {resolved_at} in {resolution_time}, {tag}, "
        "report {report_due}'\n"
    )
    bot.repo.commit("main", {".github/hotfix.yml": templates}, "Our own words")
    bot.repo.create_branch("hotfix/braces", "main")
    bot.repo.commit("hotfix/braces", {"VERSION": "1.2.4\n"}, "Fix")
    pull = bot.repo.open_pull(
        "hotfix/braces", "main", title="Fix {author} {0.__class__}", author="dev",
        labels=["hotfix", "P0"],
    )  # fmt: skip
    bot.pull_request(pull.number, "opened")
    bot.advance(15 * MINUTE)
    merge(bot, pull)

    assert notices(bot, pull) == {
        "p0-alert:acme/widgets#1": (
            "P0 on acme/widgets: #1 Fix {author} {0.__class__} by @dev, commander @dev, "
            "since 2026-12-04 20:30 UTC, due 2026-12-04 22:30 UTC (2h after opening); "
            "Reminding the approvers at 15m and 4h, and the author at 4h after opening"
        ),
        "escalation:acme/widgets#1:P0:15m": (
            "@acme/engineering-leads @acme/on-call-managers P0 #1 open 15m; Deadline "
            "2026-12-04 22:30 UTC (2h after opening): **1h45m left**. Waiting for approval: "
            "Engineering Lead and On-call Manager"
        ),
        "resolution:acme/widgets#1": (
            "#1 resolved 2026-12-04 20:45 UTC in 15m, v1.2.4, report 2026-12-05 20:45 UTC"
        ),
    }


def glass_broken(bot: Bot, reason: str) -> FakePull:
    """A P0 opened at 20:30:30 whose glass lead broke at 20:40:30 for `reason`; now 20:45:30."""
    pull = open_hotfix(bot)
    bot.advance(10 * MINUTE)
    command(bot, pull, "lead", f"/hotfix break-glass {reason}")
    bot.advance(5 * MINUTE)
    return pull


def test_a_break_glass_is_in_the_timeline_and_the_report_names_its_retroactive_review(
    bot: Bot,
) -> None:
    pull = glass_broken(bot, "checkout is down")
    sha = merge(bot, pull, back_merge_last=True)

    [review] = [i for i in bot.repo.issues.values() if "hotfix-retro-review" in i.labels]
    [issue] = reports(bot)
    summary, _, rest = issue.body.partition("## Root Cause")
    assert (
        "- **Break-glass:** by @lead: checkout is down; retroactive review in "
        f"{issue_link(review)}\n"
    ) in summary
    assert timeline_rows(rest) == [
        *OPENED_AS_P0,
        "| 2026-12-04 20:40 UTC | Break-glass by @lead: checkout is down |",
        "| 2026-12-04 20:45 UTC | Escalation after 15m: reminded `@acme/engineering-leads` "
        "and `@acme/on-call-managers` |",
        *rows("20:45", *released(bot, sha)),
    ]


def test_the_issues_of_a_pull_request_titled_as_long_as_github_allows_are_cut_to_fit(
    bot: Bot,
) -> None:
    pull = open_hotfix(bot)
    longest = "Fix " + "x" * 252  # the 256 characters GitHub takes for a title
    assert pull.body is not None
    bot.repo.edit_pull(pull.number, longest, pull.body)
    command(bot, pull, "lead", "/hotfix break-glass checkout is down")
    merge(bot, pull, back_merge_last=True)

    titles = sorted(issue.title for issue in bot.repo.issues.values())
    assert titles == [
        "Incident report: Fix " + "x" * 234 + "…",
        "Retroactive review: Fix " + "x" * 231 + "…",
    ]
    assert [len(title) for title in titles] == [256, 256]


def relabelled_p1(bot: Bot, pull: FakePull) -> None:
    """P0 hotfix `pull` turns out to be a P1: a severity that names no `break_glass` and takes
    no verbal approvals, whose approval groups are Engineering Lead and Product Manager."""
    bot.fake.add_team("acme", "product-managers", ["pm"])
    bot.repo.remove_label(pull.number, "P0")
    bot.repo.add_labels(pull.number, "P1")
    bot.pull_request(pull.number, "labeled", label="P1")


def test_a_break_glass_not_in_force_at_the_merge_waived_nothing_and_asks_for_no_review(
    bot: Bot,
) -> None:
    pull = open_hotfix(bot)
    bot.advance(5 * MINUTE)
    command(bot, pull, "lead", "/hotfix break-glass checkout is down")
    bot.advance(5 * MINUTE)
    relabelled_p1(bot, pull)  # the glass stays broken, but the rules decide
    bot.approve(pull.number, "lead", "pm")
    assert bot.policy_run(pull.head_sha).output["title"] == "All 6 rules pass"

    sha = merge(bot, pull)

    # The incident report alone: no retroactive review.
    [issue] = bot.repo.issues.values()
    assert (issue.title, issue.labels) == ("Incident report: Fix", ["incident-report", "P1"])
    develop = bot.repo.branches["develop"].sha
    assert release_report(bot, sha).splitlines()[4:] == [
        f"| Tag | ✅ done | annotated tag `v1.2.4` on the merge commit `{sha[:7]}` | "
        f"[v1.2.4]({WEB}/tree/v1.2.4) |",
        f"| Release | ✅ done | published release `v1.2.4` | [v1.2.4]({WEB}/releases/tag/v1.2.4) |",
        f"| Back-merge | ✅ done | merged into `develop` as `{develop[:7]}` | "
        f"[{develop[:7]}]({WEB}/commit/{develop}) |",
        "| Delete branch | ✅ done | deleted `hotfix/fix-login` |   |",
        opened_row(issue, "2026-12-06 20:40 UTC"),
        "| Resolution notice | ✅ done | posted the resolution notice on the pull request |   |",
    ]
    summary, _, rest = issue.body.partition("## Root Cause")
    assert "Break-glass" not in summary
    # It was broken, and the timeline keeps it; at the merge it was not in force.
    not_in_force = "Break-glass by @lead was not in force at the merge: it waived nothing"
    assert timeline_rows(rest) == [
        *OPENED_AS_P0,
        "| 2026-12-04 20:35 UTC | Break-glass by @lead: checkout is down |",
        "| 2026-12-04 20:40 UTC | Severity changed to P1 |",
        "| 2026-12-04 20:40 UTC | Review requested for Engineering Lead: team engineering-leads |",
        "| 2026-12-04 20:40 UTC | Review requested for Product Manager: team product-managers |",
        "| 2026-12-04 20:40 UTC | Approved by @lead for Engineering Lead |",
        "| 2026-12-04 20:40 UTC | Approved by @pm for Product Manager |",
        f"| 2026-12-04 20:40 UTC | {not_in_force} |",
        *rows("20:40", *released(bot, sha)),
    ]
    resolution = notices(bot, pull)["resolution:acme/widgets#1"]
    assert (
        "2026-12-04 20:35 UTC - Break-glass by @lead: checkout is down\n"
        "2026-12-04 20:40 UTC - Severity changed to P1\n"
        f"2026-12-04 20:40 UTC - {not_in_force}\n"
        f"2026-12-04 20:40 UTC - Merged into `main` by @lead as `{sha[:7]}`\n"
    ) in resolution


def test_a_review_processed_after_the_merge_and_a_merge_before_any_evaluation_are_recorded(
    bot: Bot,
) -> None:
    # Merged before hotfix-bot saw it open: the merge writes the opening from GitHub's time.
    pull = bot.open_hotfix(labels=("hotfix", "P1"))
    bot.advance(5 * MINUTE)
    bot.repo.review(pull.number, "lead", "APPROVED")
    bot.advance(5 * MINUTE)
    bot.repo.merge_pull(pull.number, merged_by="lead")
    # The review's delivery was queued behind the merge: it is processed once the pull
    # request is merged, and its approval still joins the timeline.
    bot.deliver("pull_request_review", bot.fake.review_event(bot.repo, pull.number))
    bot.pull_request(pull.number, "closed")

    sha = pull.merge_commit_sha
    assert sha is not None
    events = asyncio.run(timeline_of(bot, pull))
    assert (
        [(f"{event.at:%H:%M:%S}", event.text) for event in events[:4]]
        == [
            ("20:30:30", "Opened by @dev"),
            ("20:40:30", "Became a P1 hotfix"),  # when hotfix-bot first saw it
            ("20:35:30", "Approved by @lead for Engineering Lead"),  # the review's own time
            ("20:40:30", f"Merged into `main` by @lead as `{sha[:7]}`"),
        ]
    )
    [report] = reports(bot)
    assert "| Opened by @dev |" in report.body
    assert "| Approved by @lead for Engineering Lead |" in report.body
    # The review's evaluation wrote the only run, as the pull request stood at the merge.
    [run] = bot.repo.runs_named("hotfix-policy")
    assert (run.head_sha, run.conclusion, run.output["title"]) == (
        pull.head_sha,
        "failure",
        "Merged while waiting for approval: Product Manager",
    )


def test_a_review_submitted_after_the_merge_does_not_join_the_timeline(bot: Bot) -> None:
    pull = open_hotfix(bot)
    bot.advance(5 * MINUTE)
    bot.approve(pull.number, "lead")
    bot.advance(5 * MINUTE)
    merge(bot, pull)  # with On-call Manager's approval still missing
    bot.advance(5 * MINUTE)
    # lena, an on-call manager, approves the merged commit: it let nothing merge.
    bot.approve(pull.number, "lena")

    events = asyncio.run(timeline_of(bot, pull))
    assert [event.text for event in events if event.text.startswith("Approved by")] == [
        "Approved by @lead for Engineering Lead"
    ]


def test_someone_in_two_groups_is_asked_about_truly_and_recorded_for_the_group_they_filled(
    clocked_bot: Bot,
) -> None:
    bot = clocked_bot
    # pm leads engineering too, and is the only product manager.
    bot.fake.add_team("acme", "engineering-leads", ["lead", "pm"])
    bot.fake.add_team("acme", "product-managers", ["pm"])
    bot.repo.create_branch("develop", "main")
    pull = open_hotfix(bot, "P1")
    bot.advance(5 * MINUTE)
    bot.approve(pull.number, "pm")

    # pm counts for either group: one more approval from either completes the pair.
    run = bot.policy_run(pull.head_sha)
    either = "Engineering Lead or Product Manager"
    assert (run.status, run.output["title"]) == ("in_progress", f"Waiting for approval: {either}")
    summary = run.output["summary"]
    assert (
        "| `approvals` | ⏳ waiting | Engineering Lead: nobody yet; Product Manager: nobody yet; "
        f"pm (counts for either {either}) |"
    ) in summary
    assert summary.endswith(
        f"### `approvals`\n\nWaiting for approval: {either}\n\n"
        f"{either}: ask someone from team engineering-leads or team product-managers to "
        "approve the latest commit"
    )
    bot.advance(25 * MINUTE)
    assert notices(bot, pull)["escalation:acme/widgets#1:P1:30m"] == (
        "@acme/engineering-leads @acme/product-managers: this **P1** hotfix has been open for "
        "**30m**. Deadline 2026-12-05 20:30 UTC (24h after opening): **23h30m left**.\n\n"
        f"`hotfix-policy`: Waiting for approval: {either}"
    )

    bot.advance(5 * MINUTE)
    bot.approve(pull.number, "lead")
    run = bot.policy_run(pull.head_sha)
    assert (run.status, run.conclusion) == ("completed", "success")
    assert (
        "| `approvals` | ✅ pass | Engineering Lead: lead; Product Manager: pm |"
        in run.output["summary"]
    )
    merge(bot, pull)

    # Each approval row names the group its approver filled at the merge, at its own time.
    [report] = reports(bot)
    rows = [row for row in report.body.splitlines() if "| Approved by" in row]
    assert rows == [
        "| 2026-12-04 20:35 UTC | Approved by @pm for Product Manager |",
        "| 2026-12-04 21:05 UTC | Approved by @lead for Engineering Lead |",
    ]


def test_a_push_that_voids_approvals_says_so_before_they_are_given_again(bot: Bot) -> None:
    pull = open_hotfix(bot)
    bot.repo.commit("hotfix/fix-login", {"app.py": "first try\n"}, "Fix more")
    bot.pull_request(pull.number, "synchronize")  # no approval yet: none is voided
    bot.advance(5 * MINUTE)
    bot.approve(pull.number, "lead", "oncall")
    bot.advance(5 * MINUTE)
    pushed = bot.repo.commit("hotfix/fix-login", {"app.py": "second try\n"}, "Fix the fix")
    bot.pull_request(pull.number, "synchronize")
    bot.advance(5 * MINUTE)
    bot.approve(pull.number, "oncall", "lead")
    merge(bot, pull)

    [report] = reports(bot)
    rows = [row for row in report.body.splitlines() if "| Approved by" in row or "| Pushed" in row]
    assert rows == [
        "| 2026-12-04 20:35 UTC | Approved by @lead for Engineering Lead |",
        "| 2026-12-04 20:35 UTC | Approved by @oncall for On-call Manager |",
        f"| 2026-12-04 20:40 UTC | Pushed `{pushed[:7]}`: approvals needed again (@lead and "
        "@oncall approved an older commit) |",
        "| 2026-12-04 20:45 UTC | Approved by @oncall for On-call Manager |",
        "| 2026-12-04 20:45 UTC | Approved by @lead for Engineering Lead |",
    ]


def merged_while_github_refuses(bot: Bot, refused: str) -> tuple[FakePull, str]:
    """A P1 hotfix merged while GitHub refuses every POST to a path ending `refused`, until
    `rerun_once_github_takes_it`."""
    pull = open_hotfix(bot, "P1")
    bot.fake.inject("POST", f"{refused}$", status=422, times=None, body={"message": "refused"})
    return pull, merge(bot, pull)


def rerun(bot: Bot, sha: str) -> None:
    """Re-run the `hotfix-release` check of the merge `sha`."""
    [run] = bot.repo.runs_named("hotfix-release", sha)
    bot.deliver("check_run", bot.fake.check_run_event(bot.repo, run.id))


def rerun_as_if_the_report_step_was_lost(bot: Bot, sha: str) -> None:
    """A re-run, then another as after a run that stopped once GitHub had opened the issue,
    before the journal kept the step."""
    rerun(bot, sha)
    bot.forget_post_merge_step(1, "incident-report")
    rerun(bot, sha)


def rerun_once_github_takes_it(bot: Bot, sha: str) -> None:
    bot.fake.faults.clear()
    rerun(bot, sha)


def finished(bot: Bot, sha: str, summary: str, tmp_path: Path, text: str, *, by_hand: bool) -> str:
    """A step GitHub refused, finished: `by_hand`, lead follows the report's *Finish by hand*
    as written first; then `rerun_once_github_takes_it`. `text`, which the step gives on a
    here-document, as it then stands (the here-document ends it in a newline)."""
    if by_hand:
        apply(run_by_hand(summary, tmp_path, bot.repo), bot.repo, "lead")
        text += "\n"
    rerun_once_github_takes_it(bot, sha)
    return text


def tag_and_release_continued(sha: str) -> str:
    """The comment giving the rows of the tag and the release of the merge `sha` (made at
    20:30) to a report opened before them."""
    return (
        "<!-- hotfix-bot:incident-timeline v1.2.4 -->\n**Timeline, continued**\n\n"
        "| Time | Event |\n|------|-------|\n"
        f"| 2026-12-04 20:30 UTC | Tag: annotated tag `v1.2.4` on the merge commit `{sha[:7]}` |\n"
        "| 2026-12-04 20:30 UTC | Release: published release `v1.2.4` |"
    )


def test_a_report_opened_while_the_tag_failed_names_it_once_a_rerun_makes_it(bot: Bot) -> None:
    pull, sha = merged_while_github_refuses(bot, "/git/tags")

    [issue] = reports(bot)
    assert "- **Release:** not tagged yet (see the `hotfix-release` check)" in issue.body
    assert (
        f"Fixed by [#1]({WEB}/pull/1) (Fix); release: not tagged yet (see the `hotfix-release` "
        "check)."
    ) in issue.body
    summary = release_report(bot, sha)
    assert (
        f"| Incident report | ⏳ waiting | opened issue #{issue.number} (assigned to @dev), due "
        "2026-12-06 20:30 UTC; it waits for the tag and release to name them | "
        f"{issue_link(issue)} |"
    ) in summary
    assert (
        "| Resolution notice | ➖ skipped | needs the tag, which failed: the notice names it |   |"
    ) in summary
    assert "resolution:acme/widgets#1" not in notices(bot, pull)

    rerun_once_github_takes_it(bot, sha)

    [issue] = reports(bot)
    assert "not tagged yet" not in issue.body
    assert (
        f"- **Release:** [`v1.2.4`]({WEB}/tree/v1.2.4), [release v1.2.4]({WEB}/releases/tag/v1.2.4)"
    ) in issue.body
    # The rows the report could not have when it was opened come in one comment.
    [continued] = bot.repo.comments_on(issue.number)
    assert continued.body == tag_and_release_continued(sha)
    summary = release_report(bot, sha)
    assert (
        f"| Incident report | ✅ done | issue #{issue.number} names v1.2.4 now, due "
        f"2026-12-06 20:30 UTC | {issue_link(issue)} |"
    ) in summary
    assert "tagged v1.2.4" in notices(bot, pull)["resolution:acme/widgets#1"]
    assert len(reports(bot)) == 1


def test_a_report_opened_while_the_release_failed_names_it_once_a_rerun_makes_it(bot: Bot) -> None:
    _, sha = merged_while_github_refuses(bot, "/releases")

    [issue] = reports(bot)
    assert f"- **Release:** [`v1.2.4`]({WEB}/tree/v1.2.4)\n" in issue.body
    assert (
        f"| Incident report | ⏳ waiting | opened issue #{issue.number} (assigned to @dev), due "
        "2026-12-06 20:30 UTC; it waits for the tag and release to name them"
    ) in release_report(bot, sha)

    rerun_once_github_takes_it(bot, sha)

    [issue] = reports(bot)
    assert (
        f"- **Release:** [`v1.2.4`]({WEB}/tree/v1.2.4), [release v1.2.4]({WEB}/releases/tag/v1.2.4)"
    ) in issue.body
    [continued] = bot.repo.comments_on(issue.number)
    assert continued.body.endswith("| 2026-12-04 20:30 UTC | Release: published release `v1.2.4` |")
    assert "Tag:" not in continued.body  # the report had its row


def test_a_rerun_writes_the_timeline_rows_of_the_steps_it_finds_done(bot: Bot) -> None:
    """A run stopped between a step's outcome and its row loses no row: the next writes it."""
    pull = open_hotfix(bot, "P1")
    sha = merge(bot, pull)
    key = f"timeline:acme/widgets#{pull.number}"
    stored = json.loads(asyncio.run(bot.journal.get_state(key)) or "[]")
    without_tag = [item for item in stored if not item["key"].startswith("step:tag:")]
    assert len(without_tag) == len(stored) - 1
    asyncio.run(bot.journal.set_state(key, json.dumps(without_tag)))

    rerun(bot, sha)

    rows = [event.text for event in asyncio.run(timeline_of(bot, pull))]
    assert f"Tag: annotated tag `v1.2.4` on the merge commit `{sha[:7]}`" in rows


def test_a_hotfix_merged_before_any_evaluation_has_its_opening_in_the_timeline(bot: Bot) -> None:
    pull = bot.open_hotfix(labels=("hotfix", "P1"))  # no delivery: never evaluated open
    bot.advance(10 * MINUTE)

    sha = merge(bot, pull)

    events = asyncio.run(timeline_of(bot, pull))
    assert (
        [(f"{event.at:%H:%M:%S}", event.text) for event in events[:2]]
        == [
            ("20:30:30", "Opened by @dev"),  # GitHub's created_at, not when the merge was seen
            ("20:40:30", f"Merged into `main` by @lead as `{sha[:7]}`"),
        ]
    )


UNCONFIRMED = (
    "- **Verbal approvals:** lena (verbal, recorded by @dana at 20:55 UTC), **unconfirmed**\n"
)


def confirmed_report_row(issue: FakeIssue) -> str:
    """The release report's row for `merged_p0`'s report once lena's approval is confirmed."""
    return (
        f"| Incident report | ✅ done | issue #{issue.number} shows the verbal approval of lena "
        "confirmed now, due 2026-12-05 21:00 UTC | "
        f"{issue_link(issue)} |"
    )


def test_a_confirmation_is_written_into_the_report_once_and_nothing_is_posted_on_it(
    bot: Bot,
) -> None:
    pull, sha = merged_p0(bot)  # lena's verbal approval recorded at 20:55, merged at 21:00
    [opened] = reports(bot)
    assert UNCONFIRMED in opened.body
    body_when_opened = opened.body
    bot.advance(10 * MINUTE)

    confirmation = command(bot, pull, "lena", "/hotfix confirm")

    [issue] = reports(bot)
    # The one line changes; whatever else the body says (people may have filled it in) stays.
    assert issue.body == body_when_opened.replace(
        UNCONFIRMED,
        "- **Verbal approvals:** lena (verbal, recorded by @dana at 20:55 UTC), confirmed by "
        "`/hotfix confirm` at 2026-12-04 21:10 UTC\n",
    )
    assert bot.repo.comments_on(issue.number) == []
    summary = release_report(bot, sha)
    assert confirmed_report_row(issue) in summary
    assert (
        "| Verbal approvals | ✅ done | lena (verbal, recorded by @dana at 20:55 UTC): confirmed "
        "by `/hotfix confirm` |   |"
    ) in summary

    # The command redelivered, the check re-run, and a run that lost the step's outcome: the
    # report is found again by its marker, and written to no more.
    bot.deliver("issue_comment", bot.fake.issue_comment_event(bot.repo, confirmation.id))
    rerun_as_if_the_report_step_was_lost(bot, sha)

    assert reports(bot) == [issue]
    assert len(issues_created(bot.fake)) == 1
    edits = [
        r for r in bot.fake.requests_to("PATCH", ISSUES) if r.path == f"{ISSUES}/{issue.number}"
    ]
    assert len(edits) == 1
    assert bot.repo.comments_on(issue.number) == []
    # Each run found it listed under its label: none read it alone.
    assert [r for r in bot.fake.requests_to("GET", ISSUES) if r.path == edits[0].path] == []


@pytest.mark.parametrize("relabelled", [[], ["postmortem"]], ids=["label-removed", "renamed"])
def test_a_report_people_took_the_label_off_is_found_by_the_number_the_run_recorded(
    bot: Bot, relabelled: list[str]
) -> None:
    pull, sha = merged_p0(bot)  # lena's verbal approval unconfirmed: the report's step waits
    [issue] = reports(bot)
    # People triage it: the label comes off, or is renamed for the whole repository.
    bot.repo.remove_label(issue.number, "incident-report")
    bot.repo.add_labels(issue.number, *relabelled)
    bot.advance(10 * MINUTE)

    with bot.counting() as requests:
        command(bot, pull, "lena", "/hotfix confirm")

    assert len(issues_created(bot.fake)) == 1
    assert [i.number for i in bot.repo.issues.values()] == [issue.number]
    assert issue.labels == ["P0", *relabelled]  # as people left them
    assert (
        "- **Verbal approvals:** lena (verbal, recorded by @dana at 20:55 UTC), confirmed by "
        "`/hotfix confirm` at 2026-12-04 21:10 UTC\n"
    ) in issue.body
    assert confirmed_report_row(issue) in release_report(bot, sha)
    # The listing under the label missed it: the issue the step recorded is read alone.
    found_by = (ISSUES, f"{ISSUES}/{issue.number}")
    assert [r.path for r in requests if r.method == "GET" and r.path in found_by] == [*found_by]


def test_a_report_deleted_since_the_step_recorded_it_is_opened_again(bot: Bot) -> None:
    pull, sha = merged_p0(bot)
    [deleted] = reports(bot)
    del bot.repo.issues[deleted.number]
    bot.fake.inject("GET", f"{ISSUES}/{deleted.number}$", status=410, body={"message": "Gone"})
    bot.advance(10 * MINUTE)

    command(bot, pull, "lena", "/hotfix confirm")

    [issue] = reports(bot)
    assert issue.number != deleted.number
    assert opened_row(issue, "2026-12-05 21:00 UTC") in release_report(bot, sha)


MARKER = "<!-- hotfix-bot:incident-report acme/widgets#1 -->"
CONFIRMED = (
    "- **Verbal approvals:** lena (verbal, recorded by @dana at 20:55 UTC), confirmed by "
    "`/hotfix confirm` at 2026-12-04 21:10 UTC"
)


def rewritten_in_the_browser(bot: Bot, issue: FakeIssue) -> str:
    """The report as people save it from the browser, its Root Cause filled in and its first
    line, the hidden marker, left out of what they pasted (GitHub keeps `\\r\\n` line ends):
    its new body."""
    first, _, rest = issue.body.partition("\n")
    assert first == MARKER
    body = rest.replace("\n", "\r\n").replace(
        "[Detailed explanation of what went wrong and why]", "A DNS record pointed elsewhere."
    )
    bot.repo.edit_issue(issue.number, issue.title, body)
    return body


def confirmed_in(body: str) -> str:
    """`body` as the run a confirmation starts writes it: the verbal approval confirmed, and the
    marker first again."""
    unconfirmed = UNCONFIRMED.removesuffix("\n")
    assert body.count(unconfirmed) == 1
    return f"{MARKER}\n{body.replace(unconfirmed, CONFIRMED)}"


def test_a_report_people_rewrote_without_its_marker_is_the_one_a_confirmation_writes_to(
    bot: Bot,
) -> None:
    pull, sha = merged_p0(bot)  # lena's verbal approval unconfirmed: the report's step waits
    [issue] = reports(bot)
    rewritten = rewritten_in_the_browser(bot, issue)
    bot.advance(10 * MINUTE)

    command(bot, pull, "lena", "/hotfix confirm")
    rerun(bot, sha)

    # The issue the step recorded, whatever people made of its body: no second is opened.
    assert list(bot.repo.issues) == [issue.number]
    assert len(issues_created(bot.fake)) == 1
    # The one line rewritten, in one edit; people's words kept, and the marker back first.
    assert issue.body == confirmed_in(rewritten)
    assert len(bot.fake.requests_to("PATCH", f"{ISSUES}/{issue.number}")) == 1
    link = issue_link(issue)
    assert confirmed_report_row(issue) in release_report(bot, sha)
    assert notices(bot, pull)["resolution:acme/widgets#1"].endswith(
        f"\n\nIncident report: {link}, due 2026-12-05 21:00 UTC\nThank you for your patience."
    )


def test_a_report_moved_to_another_repository_since_the_step_recorded_it_is_opened_again(
    bot: Bot,
) -> None:
    pull, sha = merged_p0(bot)
    [moved] = reports(bot)
    # People transfer it: it leaves acme/widgets, marker and all, and GitHub answers its old
    # number with a redirect to it in the repository it went to.
    handbook = bot.fake.add_repo("acme/handbook", bot.repo.installation_id)
    there = handbook.open_issue(moved.title, author=BOT, body=moved.body, labels=moved.labels)
    del bot.repo.issues[moved.number]
    location = f"{bot.fake.api_url}/repos/acme/handbook/issues/{there.number}"
    bot.fake.inject("GET", f"{ISSUES}/{moved.number}$", status=301, headers={"Location": location})
    bot.advance(10 * MINUTE)

    command(bot, pull, "lena", "/hotfix confirm")

    [issue] = reports(bot)
    assert issue.number != moved.number
    assert CONFIRMED in issue.body
    assert handbook.issues[there.number].body == moved.body  # not written to
    assert opened_row(issue, "2026-12-05 21:00 UTC") in release_report(bot, sha)


@pytest.mark.parametrize("replacing_review", ["COMMENTED", "CHANGES_REQUESTED"])
def test_an_approval_its_approver_replaced_before_the_verbal_approval_does_not_confirm_it(
    bot: Bot, replacing_review: ReviewState
) -> None:
    pull = open_hotfix(bot)
    bot.approve(pull.number, "lead")
    bot.approve(pull.number, "lena")  # 20:30:30, on the head commit that merges
    bot.advance(MINUTE)
    # A later review replaces it: lena's approval no longer counts, and a verbal one may.
    bot.repo.review(pull.number, "lena", replacing_review)
    bot.deliver("pull_request_review", bot.fake.review_event(bot.repo, pull.number))
    bot.advance(MINUTE)
    recorded = command(bot, pull, "dana", "/hotfix verbal-approval @lena on the bridge call")
    assert [(r.content, r.user) for r in bot.repo.reactions_to(recorded.id)] == [("+1", BOT)]
    bot.advance(MINUTE)

    sha = merge(bot, pull)

    lena = "lena (verbal, recorded by @dana at 20:32 UTC)"
    assert (
        f"| Verbal approvals | ⏳ waiting | {lena}: **unconfirmed**; @lena, approve the pull "
        "request or comment `/hotfix confirm` |   |"
    ) in release_report(bot, sha)
    [issue] = reports(bot)
    assert f"- **Verbal approvals:** {lena}, **unconfirmed**\n" in issue.body
    assert len(confirmation_reminders(bot)) == 1


@pytest.mark.parametrize("later_review", ["APPROVED", "COMMENTED"])
def test_a_verbal_approval_its_approver_replaced_with_a_review_waits_for_no_confirmation(
    bot: Bot, later_review: ReviewState
) -> None:
    pull = open_hotfix(bot)
    bot.approve(pull.number, "lead")
    command(bot, pull, "dana", "/hotfix verbal-approval @lena on the bridge call")
    bot.advance(MINUTE)
    # lena reviews herself before the merge: her review is what counts, approving or not
    # (oncall fills her group when she does not).
    bot.repo.review(pull.number, "lena", later_review)
    bot.deliver("pull_request_review", bot.fake.review_event(bot.repo, pull.number))
    bot.approve(pull.number, "oncall")
    bot.advance(MINUTE)

    sha = merge(bot, pull)

    summary = release_report(bot, sha)
    assert "Verbal approvals" not in summary
    [issue] = reports(bot)
    assert (
        f"| Incident report | ✅ done | opened issue #{issue.number} (assigned to @dev)" in summary
    )
    assert "**Verbal approvals:**" not in issue.body
    assert confirmation_reminders(bot) == []
    bot.advance(24 * HOUR + MINUTE)
    assert not [key for key in notices(bot, pull) if key.startswith("confirmation-reminder:")]


def merged_p1_with_a_p0_verbal_approval(bot: Bot) -> tuple[FakePull, str]:
    """A P0 with lead's verbal approval, relabelled P1 (which takes none) and merged on the
    reviews of lead2, another engineering lead, and pm."""
    bot.fake.teams[("acme", "engineering-leads")].members.append("lead2")
    pull = open_hotfix(bot)
    bot.advance(5 * MINUTE)
    command(bot, pull, "dana", "/hotfix verbal-approval @lead on the bridge call")
    bot.advance(5 * MINUTE)
    relabelled_p1(bot, pull)
    bot.approve(pull.number, "lead2", "pm")
    assert bot.policy_run(pull.head_sha).output["title"] == "All 6 rules pass"
    return pull, merge(bot, pull)


def test_a_verbal_approval_the_merged_severity_takes_none_of_is_neither_listed_nor_reminded(
    bot: Bot,
) -> None:
    pull, sha = merged_p1_with_a_p0_verbal_approval(bot)

    [issue] = reports(bot)
    summary = release_report(bot, sha)
    assert "Verbal approvals" not in summary
    assert opened_row(issue, "2026-12-06 20:40 UTC") in summary
    assert "**Verbal approvals:**" not in issue.body
    assert "unconfirmed" not in issue.body
    assert confirmation_reminders(bot) == []
    bot.advance(24 * HOUR + MINUTE)
    assert sorted(notices(bot, pull)) == ["p0-alert:acme/widgets#1", "resolution:acme/widgets#1"]


def test_a_reminder_kept_for_a_verbal_approval_the_merged_severity_takes_none_of_sends_nothing(
    bot: Bot,
) -> None:
    pull, _ = merged_p1_with_a_p0_verbal_approval(bot)
    assert bot.clock is not None
    merged_at = datetime.fromtimestamp(bot.clock.now, UTC)
    # As hotfix-bot kept it before it asked the merged severity: the reminder asks it itself.
    timers = Timers(bot.journal, bot.repo.installation_id, "acme/widgets", pull.number)
    asyncio.run(
        timers.schedule(
            "confirmation-reminder", "1d", merged_at + timedelta(hours=24), {"rollback": False}
        )
    )

    bot.advance(24 * HOUR)

    reminder = "confirmation-reminder:acme/widgets#1:1d"
    fired = {entry.id: entry.status for entry in bot.journal.recent() if entry.event == "timer"}
    assert fired[reminder] == "done"
    assert sorted(notices(bot, pull)) == ["p0-alert:acme/widgets#1", "resolution:acme/widgets#1"]


# A reason as someone may type it: quotes, a `$`, backquotes, a fence and a backslash, which
# the commands of the report keep as typed.
REASON = "checkout's down: `$PAY` ```rollback``` \\ EOF"
REFUSED = {"message": "Resource not accessible by integration"}


def retro_reviews(bot: Bot) -> list[FakeIssue]:
    return [issue for issue in bot.repo.issues.values() if "hotfix-retro-review" in issue.labels]


def retro_review_body(sha: str) -> str:
    """The retroactive review of `break_glass_merged`, as hotfix-bot writes it."""
    return (
        "<!-- hotfix-bot:retro-review acme/widgets#1 -->\n\n"
        f"@lead broke the glass on [#1]({WEB}/pull/1) (Fix) at 2026-12-04 20:40 UTC, so it "
        f"merged without the usual checks. The reason given: {REASON}\n\n"
        "What the break-glass waived:\n"
        "- `approvals`: Engineering Lead (@acme/engineering-leads), On-call Manager "
        "(@acme/on-call-managers)\n\n"
        f"Please review the change as it merged, [`{sha[:7]}`]({WEB}/commit/{sha}), and close "
        "this issue once it is reviewed."
    )


@pytest.mark.parametrize("by_hand", [True, False], ids=["made-by-hand", "made-by-the-rerun"])
def test_a_retroactive_review_github_refused_is_made_once_and_the_report_names_it(
    bot: Bot, tmp_path: Path, by_hand: bool
) -> None:
    pull = glass_broken(bot, REASON)
    # The first issue the run opens is the retroactive review: the report waits for it.
    refuse(bot, "POST", ISSUES)
    sha = merge(bot, pull)

    assert retro_reviews(bot) == []
    [report] = reports(bot)
    unnamed = f"- **Break-glass:** by @lead: {REASON}\n"
    assert unnamed in report.body
    summary = release_report(bot, sha)
    assert (
        "| Retroactive review | ❌ failed | GitHub answered 403 to POST "
        "/repos/acme/widgets/issues: Resource not accessible by integration |   |\n"
        f"| Incident report | ⏳ waiting | opened issue #{report.number} (assigned to @dev), due "
        "2026-12-05 20:45 UTC; it waits for the retroactive review to name it | "
        f"{issue_link(report)} |\n"
    ) in summary
    body = retro_review_body(sha)
    # Fenced with four backquotes: the reason holds three.
    assert summary.endswith(
        "\n\n## Finish by hand\n\n"
        "Run these in a clone of `acme/widgets`, then re-run the `hotfix-release` check to "
        "confirm:\n\n````sh\n"
        "git fetch origin\n"
        "gh label create hotfix-retro-review 2>/dev/null || true\n"
        "gh issue create --title 'Retroactive review: Fix' --label hotfix-retro-review "
        f"--body-file - <<'EOF' |\n{body}\nEOF\n"
        "xargs -I{} gh issue edit {} --add-assignee lead\n````"
    )
    body = finished(bot, sha, summary, tmp_path, body, by_hand=by_hand)

    [review] = retro_reviews(bot)
    assert as_opened(review) == (
        "Retroactive review: Fix",
        body,
        ["hotfix-retro-review"],
        ["lead"],
    )
    link = issue_link(review)
    [report] = reports(bot)
    assert f"- **Break-glass:** by @lead: {REASON}; retroactive review in {link}\n" in report.body
    assert unnamed not in report.body
    found = (
        f"✅ already done | issue #{review.number} already asks for a review of the "
        "break-glass by @lead"
        if by_hand
        else f"✅ done | opened issue #{review.number} for the break-glass by @lead, assigned "
        "to them"
    )
    assert f"| Retroactive review | {found} | {link} |" in release_report(bot, sha)
    assert (
        f"| Incident report | ✅ done | issue #{report.number} names the retroactive review "
        f"#{review.number} now, due 2026-12-05 20:45 UTC | "
        f"{issue_link(report)} |"
    ) in release_report(bot, sha)


def finish_by_hand_giving(summary: str, command: str, piped_to: str | None = None) -> str:
    """The text the report's *Finish by hand* gives `command` on its standard input, it being
    the section's one command (with the lines before it), its output `piped_to` another."""
    start = (
        "\n\n## Finish by hand\n\n"
        "Run these in a clone of `acme/widgets`, then re-run the `hotfix-release` check to "
        f"confirm:\n\n```sh\ngit fetch origin\n{command} <<'EOF'{' |' if piped_to else ''}\n"
    )
    assert start in summary, summary
    text = summary[summary.index(start) + len(start) :]
    end = f"\nEOF\n{piped_to}\n```" if piped_to else "\nEOF\n```"
    assert text.endswith(end), summary
    return text.removesuffix(end)


# The commands that open the report of a P1 hotfix by dev as the step would: `gh` makes none
# of its labels, so they are made first unless they exist; the issue is assigned once open.
OPEN_THE_REPORT_BY_HAND = (
    "gh label create incident-report 2>/dev/null || true\n"
    "gh label create P1 2>/dev/null || true\n"
    "gh issue create --title 'Incident report: Fix' --label incident-report --label P1 "
    "--body-file -",
    "xargs -I{} gh issue edit {} --add-assignee dev",
)


def notice_comment(bot: Bot, pull: FakePull) -> FakeComment:
    [comment] = [
        c
        for c in bot.repo.comments_on(pull.number)
        if c.body.startswith("<!-- hotfix-bot notice resolution:")
    ]
    return comment


@pytest.mark.parametrize("by_hand", [True, False], ids=["opened-by-hand", "opened-by-the-rerun"])
def test_a_report_github_refused_is_opened_whole_and_the_notice_posted_at_once_then_links_it(
    bot: Bot, tmp_path: Path, by_hand: bool
) -> None:
    pull = open_hotfix(bot, "P1")
    refuse(bot, "POST", ISSUES)
    sha = merge(bot, pull)

    assert reports(bot) == []
    # Posted at once all the same, saying the report is not opened yet.
    unopened = notices(bot, pull)["resolution:acme/widgets#1"]
    assert unopened.endswith(
        "\n\nIncident report: not opened yet, due 2026-12-06 20:30 UTC\n"
        "Thank you for your patience."
    )
    summary = release_report(bot, sha)
    assert (
        "| Incident report | ❌ failed | GitHub answered 403 to POST /repos/acme/widgets/issues: "
        "Resource not accessible by integration |   |\n"
        "| Resolution notice | ⏳ waiting | posted the resolution notice; it waits for the "
        "incident report to link it |   |\n\n## Finish by hand"
    ) in summary
    # The report's whole text, as the step wrote it before GitHub refused it.
    body = finish_by_hand_giving(summary, *OPEN_THE_REPORT_BY_HAND)
    assert body.startswith(
        "<!-- hotfix-bot:incident-report acme/widgets#1 -->\n# Incident Report: Fix\n\n"
        "## Summary\n- **Incident ID:** INC-2026-001\n"
    )
    body = finished(bot, sha, summary, tmp_path, body, by_hand=by_hand)

    [issue] = reports(bot)
    assert as_opened(issue) == (
        "Incident report: Fix",
        body,
        ["incident-report", "P1"],
        ["dev"],
    )
    link = issue_link(issue)
    # The notice posted before, edited once to link it.
    comment = notice_comment(bot, pull)
    edits = bot.fake.requests_to("PATCH", f"{ISSUES}/comments/{comment.id}")
    assert len(edits) == 1
    assert notices(bot, pull) == {
        "resolution:acme/widgets#1": unopened.replace(
            "Incident report: not opened yet, due", f"Incident report: {link}, due"
        )
    }
    opened = (
        f"✅ already done | issue #{issue.number} already holds the incident report"
        if by_hand
        else f"✅ done | opened issue #{issue.number} (assigned to @dev)"
    )
    assert release_report(bot, sha).endswith(
        f"| Incident report | {opened}, due 2026-12-06 20:30 UTC | {link} |\n"
        "| Resolution notice | ✅ done | the resolution notice links the incident report "
        f"#{issue.number} now |   |"
    )

    # Again: nothing more is opened, posted or edited.
    rerun_once_github_takes_it(bot, sha)
    assert reports(bot) == [issue]
    assert len(issues_created(bot.fake)) == (1 if by_hand else 2)
    assert bot.repo.comments_on(pull.number)[0] is comment
    assert len(bot.fake.requests_to("PATCH", f"{ISSUES}/comments/{comment.id}")) == 1


@pytest.mark.parametrize("by_hand", [True, False], ids=["edited-by-hand", "edited-by-the-rerun"])
def test_a_confirmation_github_refused_to_write_into_the_report_is_given_as_the_edit(
    bot: Bot, tmp_path: Path, by_hand: bool
) -> None:
    pull, sha = merged_p0(bot)
    [issue] = reports(bot)
    rewritten = rewritten_in_the_browser(bot, issue)
    refuse(bot, "PATCH", f"{ISSUES}/{issue.number}", times=None)
    bot.advance(10 * MINUTE)

    command(bot, pull, "lena", "/hotfix confirm")

    assert list(bot.repo.issues) == [issue.number]
    assert issue.body == rewritten
    link = issue_link(issue)
    summary = release_report(bot, sha)
    assert (
        f"| Incident report | ❌ failed | GitHub answered 403 to PATCH {ISSUES}/{issue.number}: "
        f"Resource not accessible by integration | {link} |"
    ) in summary
    # The body whole as the step wrote it: people's words, the line confirmed, the marker.
    body = confirmed_in(rewritten)
    command_given = f"gh issue edit {issue.number} --body-file -"
    assert finish_by_hand_giving(summary, command_given) == body
    body = finished(bot, sha, summary, tmp_path, body, by_hand=by_hand)

    # Found again by the number the failed run kept, though its body had no marker.
    assert list(bot.repo.issues) == [issue.number]
    assert issue.body == body
    written = (
        f"✅ already done | issue #{issue.number} already holds the incident report"
        if by_hand
        else f"✅ done | issue #{issue.number} shows the verbal approval of lena confirmed now"
    )
    summary = release_report(bot, sha)
    assert f"| Incident report | {written}, due 2026-12-05 21:00 UTC | {link} |" in summary
    assert "## Finish by hand" not in summary


def test_a_report_github_refused_to_name_the_release_in_is_given_as_its_edit_and_comment(
    bot: Bot, tmp_path: Path
) -> None:
    pull, sha = merged_while_github_refuses(bot, "/git/tags")
    [issue] = reports(bot)
    bot.fake.faults.clear()
    refuse(bot, "PATCH", f"{ISSUES}/{issue.number}", times=None)
    unnamed = issue.body

    rerun(bot, sha)

    assert (issue.body, bot.repo.comments_on(issue.number)) == (unnamed, [])
    summary = release_report(bot, sha)
    assert (
        f"| Incident report | ❌ failed | GitHub answered 403 to PATCH {ISSUES}/{issue.number}: "
        f"Resource not accessible by integration | {issue_link(issue)} |"
    ) in summary
    # The resolution notice, blocked until the tag was made, links the report all the same.
    assert notices(bot, pull)["resolution:acme/widgets#1"].endswith(
        f"\n\nIncident report: {issue_link(issue)}, due "
        "2026-12-06 20:30 UTC\nThank you for your patience."
    )
    assert (
        "| Resolution notice | ✅ done | posted the resolution notice on the pull request |   |"
    ) in summary
    # The edit, and the comment that was to follow it: once the words name the release, no
    # run would post that comment.
    named = unnamed.replace(  # in the Summary and in the Resolution
        "not tagged yet (see the `hotfix-release` check)",
        f"[`v1.2.4`]({WEB}/tree/v1.2.4), [release v1.2.4]({WEB}/releases/tag/v1.2.4)",
    )
    continued = tag_and_release_continued(sha)
    calls = run_by_hand(summary, tmp_path, bot.repo)
    assert [(call.argv, call.stdin) for call in calls] == [
        (["issue", "edit", str(issue.number), "--body-file", "-"], f"{named}\n"),
        (["issue", "comment", str(issue.number), "--body-file", "-"], f"{continued}\n"),
    ]
    apply(calls, bot.repo, "lead")

    rerun_once_github_takes_it(bot, sha)

    assert issue.body == f"{named}\n"
    assert [comment.body for comment in bot.repo.comments_on(issue.number)] == [f"{continued}\n"]
    assert already_held_row(issue, "2026-12-06 20:30 UTC") in release_report(bot, sha)


def test_a_report_opened_by_hand_for_an_author_github_will_not_assign_is_opened_unassigned(
    bot: Bot, tmp_path: Path
) -> None:
    pull = open_hotfix(bot, "P1")
    del bot.repo.collaborators["dev"]  # from a fork, say: GitHub takes them as no assignee
    refuse(bot, "POST", ISSUES)
    sha = merge(bot, pull)
    summary = release_report(bot, sha)
    body = finish_by_hand_giving(summary, *OPEN_THE_REPORT_BY_HAND)

    # Followed as written, as GitHub's `gh` does: the report's label is made (P1 is there
    # already, and stays as it is), the issue opened, and its assignee alone refused.
    calls = run_by_hand(summary, tmp_path, bot.repo, fails=True)
    assert [call.argv[:3] for call in calls] == [
        ["label", "create", "incident-report"],
        ["issue", "create", "--title"],
    ]
    apply(calls, bot.repo, "lead")
    rerun_once_github_takes_it(bot, sha)

    [issue] = reports(bot)
    assert as_opened(issue) == (
        "Incident report: Fix",
        f"{body}\n",  # a here-document ends in a newline
        ["incident-report", "P1"],
        [],
    )
    assert already_held_row(issue, "2026-12-06 20:30 UTC") in release_report(bot, sha)


def test_a_report_not_looked_for_has_no_command_and_the_notice_still_goes_out(bot: Bot) -> None:
    pull = open_hotfix(bot, "P1")
    # Whether the report was opened is not known: a command could open a second.
    refuse(bot, "GET", ISSUES)
    sha = merge(bot, pull)

    assert reports(bot) == []
    assert "resolution:acme/widgets#1" in notices(bot, pull)
    assert release_report(bot, sha).endswith(
        "| Resolution notice | ⏳ waiting | posted the resolution notice; it waits for the "
        "incident report to link it |   |\n"
        "\n## Finish by hand\n\n"
        "*Incident report* has no command: hotfix-bot writes it from what it recorded of the "
        "hotfix. Fix what its row names, then re-run the `hotfix-release` check."
    )


@pytest.mark.parametrize("by_hand", [True, False], ids=["posted-by-hand", "posted-by-the-rerun"])
def test_a_resolution_notice_github_refused_is_posted_whole_by_hand_or_by_the_rerun(
    bot: Bot, tmp_path: Path, by_hand: bool
) -> None:
    pull = open_hotfix(bot, "P1")
    # The run's first comment is the notice (its report comes last).
    refuse(bot, "POST", f"{ISSUES}/1/comments")
    sha = merge(bot, pull)

    assert notices(bot, pull) == {}
    summary = release_report(bot, sha)
    assert (
        "| Resolution notice | ❌ failed | GitHub answered 403 to POST "
        "/repos/acme/widgets/issues/1/comments: Resource not accessible by integration |   |\n"
        "\n## Finish by hand"
    ) in summary
    # The notice's whole text, as the step wrote it before GitHub refused it.
    text = finish_by_hand_giving(summary, "gh pr comment 1 --body-file -")
    [issue] = reports(bot)
    assert text == (
        "<!-- hotfix-bot notice resolution:acme/widgets#1 -->\n"
        "✅ RESOLVED - Production Restored\n"
        "\n"
        "Status: Resolved\n"
        "Resolution Time: 0s\n"
        "Fix: #1 Fix, merged 2026-12-04 20:30 UTC, tagged v1.2.4\n"
        "\n"
        "Timeline:\n"
        "2026-12-04 20:30 UTC - Opened by @dev\n"
        "2026-12-04 20:30 UTC - Became a P1 hotfix\n"
        f"{lines('20:30', *released(bot, sha))}"
        "\n"
        f"Incident report: {issue_link(issue)}, due "
        "2026-12-06 20:30 UTC\n"
        "Thank you for your patience."
    )
    text = finished(bot, sha, summary, tmp_path, text, by_hand=by_hand)

    # One notice, found again when people posted it.
    assert notice_comment(bot, pull).body == text
    posted = (
        "✅ already done | the resolution notice was posted before"
        if by_hand
        else "✅ done | posted the resolution notice on the pull request"
    )
    assert release_report(bot, sha).endswith(f"| Resolution notice | {posted} |   |")
