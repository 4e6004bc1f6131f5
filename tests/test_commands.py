"""Comment commands end to end against the fake GitHub (docs/BEHAVIOUR.md, 'Comment commands'):
verbal approval, break-glass and confirmation, each answered with a reaction or a reply."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from githubkit.exception import RequestFailed
from support.harness import Bot, approvals_row, run_on_last_attempt, running_bot, staff
from support.live_server import wait_for
from support.titles import all_rules_pass, rules_fail

from app.handlers.commands import dispatch, verbal_approval
from app.handlers.records import PullRecords, VerbalRecord
from app.handlers.release.steps import verbal_approvals
from app.handlers.routing import Context
from app.journal import JournalEntry, JournalUnavailable
from policies.commands import CommandError
from policies.facts import VerbalApproval
from sandbox import FakeComment, FakeIssue, FakePull, InjectedFault, RecordedRequest

# 2026-12-04 14:32:10 UTC: what the fake GitHub stamps everything with in these tests.
NOW = datetime(2026, 12, 4, 14, 32, 10, tzinfo=UTC)
BOT = "hotfix-bot[bot]"
WEB = "https://github.com/acme/widgets"
ACCEPTED_FORMS = (
    "Commands hotfix-bot takes, as the first line of a pull request comment:\n"
    "- `/hotfix verbal-approval @login [note]`\n"
    "- `/hotfix break-glass <reason>`\n"
    "- `/hotfix break-glass off`\n"
    "- `/hotfix confirm`"
)
APPROVALS_EXPECTED = (
    "Engineering Lead: 1 approval from team engineering-leads; "
    "On-call Manager: 1 approval from team on-call-managers"
)


class FakeTime:
    """The fake GitHub's clock, standing at `now` until a test moves it."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def github_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def bot(tmp_path: Path, private_key_pem: str, github_time: FakeTime) -> Iterator[Bot]:
    """hotfix-bot and the fake GitHub on one clock, so a P0 opened at `NOW` is not overdue."""
    with running_bot(tmp_path, private_key_pem, clock=lambda: github_time.now.timestamp()) as bot:
        bot.fake.clock = github_time
        yield bot


@pytest.fixture(autouse=True)
def organization(bot: Bot, github_time: FakeTime) -> None:
    staff(bot, {"dana": "write", "lead": "maintain", "lena": "write", "oncall": "write"})
    bot.repo.collaborators.update({"dev": "write", "maya": "admin", "eve": "read"})


def open_p0_hotfix(bot: Bot, labels: tuple[str, ...] = ("hotfix", "P0")) -> FakePull:
    pull = bot.open_hotfix(labels=labels)
    bot.pull_request(pull.number, "opened")
    return pull


def command(bot: Bot, number: int, author: str, body: str) -> FakeComment:
    """`author` comments `body` on the conversation of `number`, and GitHub says so."""
    comment = bot.repo.add_comment(number, author, body)
    deliver_comment(bot, comment)
    return comment


def deliver_comment(bot: Bot, comment: FakeComment) -> None:
    bot.deliver("issue_comment", bot.fake.issue_comment_event(bot.repo, comment.id))


def by_nobody(item: str, payload: dict[str, Any]) -> dict[str, Any]:
    """`payload` naming no author of its `item`: no user (an account deleted since) and no
    sender, who would otherwise be taken for the author."""
    payload[item]["user"] = None
    payload["sender"] = None
    return payload


def replies(bot: Bot, number: int) -> list[str]:
    """hotfix-bot's answers to commands: its comments but the notices (a P0's alert)."""
    return [
        c.body
        for c in bot.repo.comments_on(number)
        if c.author == BOT and not c.body.startswith("<!-- hotfix-bot notice ")
    ]


def retro_reviews(bot: Bot) -> list[FakeIssue]:
    return [i for i in bot.repo.issues.values() if "hotfix-retro-review" in i.labels]


def reactions(bot: Bot, comment: FakeComment) -> list[tuple[str, str]]:
    return [(r.content, r.user) for r in bot.repo.reactions_to(comment.id)]


def refusal(comment: FakeComment, line: str, commenter: str, reason: str) -> str:
    """The reply to `comment`: its hidden line, then the command quoted as code, which
    mentions nobody again."""
    return (
        f"<!-- hotfix-bot reply to comment {comment.id} -->\n"
        f"> `{line}`\n\n@{commenter}, hotfix-bot did not carry this out: {reason}.\n\n"
        + ACCEPTED_FORMS
    )


def refused(
    bot: Bot, pull: FakePull, commenter: str, line: str, reason: str, *, rest: str = ""
) -> None:
    """`commenter` comments `line` (and `rest` below it) on `pull`, and hotfix-bot refuses it
    for `reason`: the refusal its one reply, no reaction, and the check run as it was."""
    check_before = dict(bot.policy_run(pull.head_sha).output)
    comment = command(bot, pull.number, commenter, line + rest)
    assert replies(bot, pull.number) == [refusal(comment, line, commenter, reason)]
    assert reactions(bot, comment) == []
    assert bot.policy_run(pull.head_sha).output == check_before


# --- answers -----------------------------------------------------------------------------------


def test_a_verbal_approval_counts_for_the_approver_and_is_answered_with_a_reaction(
    bot: Bot,
) -> None:
    pull = open_p0_hotfix(bot)
    bot.approve(pull.number, "lead")

    line = "/hotfix verbal-approval @lena approved on the bridge call"
    recorded = command(bot, pull.number, "dana", f"{line}\nShe is driving.")

    run = bot.policy_run(pull.head_sha)
    assert (run.conclusion, run.output["title"]) == ("success", all_rules_pass())
    assert approvals_row(bot, pull) == (
        "| `approvals` | ✅ pass | Engineering Lead: lead; "
        "On-call Manager: lena (verbal, recorded by @dana at 14:32 UTC) | "
        f"{APPROVALS_EXPECTED} |"
    )
    assert reactions(bot, recorded) == [("+1", BOT)]
    assert replies(bot, pull.number) == []


def test_a_note_that_mentions_someone_after_its_first_word_is_taken_as_a_note(bot: Bot) -> None:
    pull = open_p0_hotfix(bot)

    recorded = command(
        bot, pull.number, "dana", "/hotfix verbal-approval @lena said ok on the bridge with @lead"
    )

    assert (reactions(bot, recorded), replies(bot, pull.number)) == ([("+1", BOT)], [])
    assert approvals_row(bot, pull) == (
        "| `approvals` | ⏳ waiting | Engineering Lead: nobody yet; "
        "On-call Manager: lena (verbal, recorded by @dana at 14:32 UTC) | "
        f"{APPROVALS_EXPECTED} |"
    )


@pytest.mark.parametrize("approver", ["@lena,", "@lena:"])
def test_punctuation_after_the_approver_is_no_part_of_the_login(bot: Bot, approver: str) -> None:
    pull = open_p0_hotfix(bot)

    recorded = command(
        bot, pull.number, "dana", f"/hotfix verbal-approval {approver} on the bridge call"
    )

    assert (reactions(bot, recorded), replies(bot, pull.number)) == ([("+1", BOT)], [])
    assert approvals_row(bot, pull).startswith(
        "| `approvals` | ⏳ waiting | Engineering Lead: nobody yet; "
        "On-call Manager: lena (verbal, recorded by @dana at 14:32 UTC) |"
    )


def test_a_verbal_approval_for_someone_whose_review_approves_the_head_is_refused(
    bot: Bot,
) -> None:
    pull = open_p0_hotfix(bot)
    bot.approve(pull.number, "lena")

    refused(
        bot,
        pull,
        "dana",
        "/hotfix verbal-approval @lena",
        "lena's review already approves this head commit, so there is nothing to record",
    )

    assert approvals_row(bot, pull).startswith(
        "| `approvals` | ⏳ waiting | Engineering Lead: nobody yet; On-call Manager: lena |"
    )


def test_a_comment_acts_once_however_often_it_is_delivered(bot: Bot, github_time: FakeTime) -> None:
    pull = open_p0_hotfix(bot)
    recorded = command(bot, pull.number, "dana", "/hotfix verbal-approval @lena")
    payload = bot.fake.issue_comment_event(bot.repo, recorded.id)
    github_time.now += timedelta(minutes=1)
    bot.repo.review(pull.number, "lena", "CHANGES_REQUESTED")
    bot.deliver("pull_request_review", bot.fake.review_event(bot.repo, pull.number))

    with bot.counting() as requests:
        bot.deliver("issue_comment", payload)  # GitHub delivers it again, with a new id

    # The changes lena asked for after it stay her latest word: the command did not act again.
    assert bot.policy_run(pull.head_sha).output["title"] == (
        "Waiting for approval: Engineering Lead and On-call Manager"
    )
    assert [f"{r.method} {r.path}" for r in requests if r.method != "GET"] == []
    assert reactions(bot, recorded) == [("+1", BOT)]


@pytest.mark.parametrize(
    ("severity", "commenter", "line", "reason"),
    [
        (
            "P0",
            "eve",
            "/hotfix verbal-approval @lena",
            "recording a verbal approval needs write access to acme/widgets, and eve has read "
            "access",
        ),
        (
            "P0",
            "mallory",
            "/hotfix verbal-approval @lena",
            "recording a verbal approval needs write access to acme/widgets, and mallory has no "
            "access",
        ),
        (
            "P0",
            "dana",
            "/hotfix verbal-approval @DEV",
            "DEV opened this pull request, and the author's approval never counts",
        ),
        (
            "P0",
            "dana",
            "/hotfix verbal-approval @ghost",
            "ghost is how GitHub shows a deleted account, which approves nothing",
        ),
        (
            "P0",
            "dana",
            "/hotfix verbal-approval @maya",
            "maya can fill no approval group of severity P0 (Engineering Lead: members of team "
            "engineering-leads; On-call Manager: members of team on-call-managers)",
        ),
        (
            "P1",
            "dana",
            "/hotfix verbal-approval @lead",
            "severity P1 does not take verbal approvals "
            "(`severities.P1.verbal_approval` in `.github/hotfix.yml`)",
        ),
        (
            "P0",
            "maya",
            "/hotfix break-glass checkout is down",
            "only members of team engineering-leads or members of team on-call-managers may "
            "break the glass for severity P0",
        ),
        (
            "P1",
            "lead",
            "/hotfix break-glass checkout is down",
            "severity P1 allows no break-glass "
            "(`severities.P1.break_glass` in `.github/hotfix.yml`)",
        ),
        (
            "P0",
            "lead",
            "/hotfix break-glass",
            "it needs a reason: `/hotfix break-glass <reason>`",
        ),
        (
            "P0",
            "dana",
            "/hotfix verbal-approval @lena @lead",
            "it takes one approver per command: post one command for each, "
            "`/hotfix verbal-approval @lena` and `/hotfix verbal-approval @lead`",
        ),
        (
            "P0",
            "dana",
            "/hotfix verbal-approval @lena, @lead",
            "it takes one approver per command: post one command for each, "
            "`/hotfix verbal-approval @lena` and `/hotfix verbal-approval @lead`",
        ),
        ("P0", "dana", "/hotfix approve @lena", "`approve` is not a hotfix-bot command"),
        ("P0", "dana", "/hotfix", "it names no command"),
    ],
    ids=[
        "no write access",
        "no access at all",
        "for the author",
        "for a deleted account",
        "for someone in no approval group",
        "a severity without verbal approvals",
        "break-glass by someone not allowed",
        "a severity without break-glass",
        "break-glass without a reason",
        "two approvers",
        "two approvers, a comma between",
        "unknown",
        "no command named",
    ],
)
def test_a_refused_command_is_answered_with_the_reason_and_the_accepted_forms(
    bot: Bot, severity: str, commenter: str, line: str, reason: str
) -> None:
    pull = open_p0_hotfix(bot, labels=("hotfix", severity))

    refused(bot, pull, commenter, line, reason, rest="\nThe rest is for people.")


@pytest.mark.parametrize(
    ("words", "reason"),
    [
        ("x" * 33_000, f"`{'x' * 99}…` is not a hotfix-bot command"),
        (
            "verbal-approval @" + "y" * 40_000,
            f"the approver must be a GitHub login after @, such as `@lena` (got `@{'y' * 98}…`)",
        ),
        (
            "verbal-approval " + " ".join(f"@approver{n}" for n in range(1, 3_000)),
            "it takes one approver per command: post one command for each, "
            + ", ".join(f"`/hotfix verbal-approval @approver{n}`" for n in range(1, 6))
            + " and so on",
        ),
    ],
    ids=["a long unknown command", "a long login", "thousands of approvers"],
)
def test_a_command_too_long_to_quote_whole_is_answered_quoting_its_start(
    bot: Bot, words: str, reason: str
) -> None:
    """GitHub takes a comment of up to 65,536 characters: a reply quoting all of it twice
    would be refused, and the command left unanswered."""
    pull = open_p0_hotfix(bot)

    refused = command(bot, pull.number, "dana", f"/hotfix {words}")

    quoted = f"/hotfix {words}"[:999] + "…"
    assert replies(bot, pull.number) == [refusal(refused, quoted, "dana", reason)]


@pytest.mark.parametrize(("approvers", "more"), [(5, ""), (6, " and so on")])
def test_a_refusal_of_several_approvers_quotes_five_commands_then_says_so_on(
    approvers: int, more: str
) -> None:
    logins = [f"@approver{n}" for n in range(1, approvers + 1)]
    with pytest.raises(CommandError) as refused:
        verbal_approval.read(" ".join(logins))
    commands = [f"`/hotfix verbal-approval {login}`" for login in logins[:5]]
    assert str(refused.value) == (
        "it takes one approver per command: post one command for each, "
        + ", ".join(commands[:4])
        + (", " if more else " and ")
        + commands[4]
        + more
    )


def test_who_may_break_the_glass_is_the_config_s_say_not_write_access(bot: Bot) -> None:
    bot.repo.commit(
        "main",
        {".github/hotfix.yml": "severities:\n  P0:\n    break_glass: {users: [eve]}\n"},
        "eve may break the glass",
    )
    pull = open_p0_hotfix(bot)

    broke = command(bot, pull.number, "eve", "/hotfix break-glass checkout is down")  # read access

    assert (reactions(bot, broke), replies(bot, pull.number)) == ([("+1", BOT)], [])
    run = bot.policy_run(pull.head_sha)
    assert (run.conclusion, run.output["title"]) == (
        "success",
        "Break-glass by @eve: checkout is down",
    )


UNUSABLE_CONFIG = "release: maybe\ntag:\n  format: 'v {version}'\n"
UNUSABLE_CONFIG_PROBLEMS = (
    'tag.format: would make tags such as "v 1.2.4", but a tag name cannot contain a space '
    '(got "v {version}"); release: must be true or false (got "maybe")'
)


@pytest.mark.parametrize(
    ("where", "named"),
    [
        ("acme/.github", "`acme/.github:.github/hotfix.yml`"),
        ("acme/widgets", "`.github/hotfix.yml` on `main`"),
    ],
    ids=["organization's file", "repository's file"],
)
def test_a_command_under_an_unusable_config_names_its_file_and_every_problem(
    bot: Bot, where: str, named: str
) -> None:
    if where == "acme/.github":
        bot.fake.add_repo(
            where, bot.repo.installation_id, files={".github/hotfix.yml": UNUSABLE_CONFIG}
        )
    else:
        bot.repo.commit("main", {".github/hotfix.yml": UNUSABLE_CONFIG}, "an unusable config")
    pull = open_p0_hotfix(bot)

    line = "/hotfix break-glass checkout is down"
    refused = command(bot, pull.number, "lead", line)

    reason = (
        f"{named} cannot be used: {UNUSABLE_CONFIG_PROBLEMS}; once it is fixed there, post "
        "the command again, in a new comment"
    )
    assert replies(bot, pull.number) == [refusal(refused, line, "lead", reason)]
    assert reactions(bot, refused) == []


def test_a_refusal_is_posted_once_though_the_run_before_stopped_after_posting_it(
    bot: Bot,
) -> None:
    pull = open_p0_hotfix(bot)
    line = "/hotfix approve @lena"
    refused = bot.repo.add_comment(pull.number, "dana", line)
    # That run replied, then stopped before it kept the comment as answered.
    earlier = refusal(refused, line, "dana", "`approve` is not a hotfix-bot command")
    bot.repo.add_comment(pull.number, BOT, earlier)

    bot.deliver("issue_comment", bot.fake.issue_comment_event(bot.repo, refused.id))

    assert replies(bot, pull.number) == [earlier]


def failure_reply(comment: FakeComment, line: str, commenter: str, reason: str, advice: str) -> str:
    """The reply to `comment` when an error stopped it: its own hidden line, then the command
    quoted as code, why, and what to do."""
    return (
        f"<!-- hotfix-bot failure reply to comment {comment.id} -->\n"
        f"> `{line}`\n\n@{commenter}, hotfix-bot could not carry this out: {reason}.\n\n{advice}"
    )


def command_delivery(bot: Bot) -> JournalEntry:
    [entry] = [entry for entry in bot.journal.recent() if entry.event == "issue_comment"]
    return entry


def command_tried_twice(
    bot: Bot, github_time: FakeTime, number: int, author: str, body: str
) -> FakeComment:
    """`command`, whose first attempt fails and is sent back to be tried again: the clock
    moves past the worker's backoff (a second at most) once it is."""
    comment = bot.repo.add_comment(number, author, body)
    bot.send("issue_comment", bot.fake.issue_comment_event(bot.repo, comment.id))
    wait_for(lambda: command_delivery(bot).last_error is not None, timeout=20)
    github_time.now += timedelta(seconds=1)
    bot.settle()
    return comment


def test_a_command_github_refuses_is_answered_once_and_carried_out_when_run_again(
    bot: Bot,
) -> None:
    pull = open_p0_hotfix(bot)
    check_before = dict(bot.policy_run(pull.head_sha).output)
    forbidden = bot.fake.inject(
        "GET",
        r"/teams/engineering-leads/members$",
        status=403,
        times=None,
        body={"message": "Resource not accessible by integration"},
    )
    line = "/hotfix break-glass checkout is down"

    stopped = command(bot, pull.number, "lead", line)

    github_said = (
        "GitHub answered 403 to GET /orgs/acme/teams/engineering-leads/members: "
        "Resource not accessible by integration"
    )
    reply = failure_reply(
        stopped,
        line,
        "lead",
        github_said,
        "Whoever administers hotfix-bot's GitHub App can check that it has the permissions and "
        "access this needs; then post the command again, in a new comment.",
    )
    assert (replies(bot, pull.number), reactions(bot, stopped)) == ([reply], [])
    entry = command_delivery(bot)
    assert (entry.status, entry.attempts, entry.last_error) == ("failed", 1, github_said)
    assert bot.policy_run(pull.head_sha).output == check_before

    # Not kept answered: GitHub delivering it again stops on the same refusal, and the one
    # reply stands.
    bot.deliver("issue_comment", bot.fake.issue_comment_event(bot.repo, stopped.id))
    assert replies(bot, pull.number) == [reply]

    forbidden.times = forbidden.hits  # the App may read the team now
    asyncio.run(bot.journal.redeliver(entry.id))  # `hotfix-bot redeliver`
    bot.settle()

    assert (replies(bot, pull.number), reactions(bot, stopped)) == ([reply], [("+1", BOT)])
    assert bot.policy_run(pull.head_sha).output["title"] == "Break-glass by @lead: checkout is down"


# What GitHub said to the last write of a check run when it refused every one, with 403.
CHECK_WRITE_REFUSED = (
    "GitHub answered 403 to POST /repos/acme/widgets/check-runs: "
    "Resource not accessible by integration"
)


def refuse_check_writes(bot: Bot) -> list[InjectedFault]:
    """GitHub refuses the App every write of a check run, as it does when the App lacks the
    checks permission: the update of a run, and the new run that would take its place."""
    refusal_body = {"message": "Resource not accessible by integration"}
    return [
        bot.fake.inject(method, path, status=403, times=None, body=refusal_body)
        for method, path in (("PATCH", r"/check-runs/[0-9]+$"), ("POST", r"/check-runs$"))
    ]


def checks_not_updated_reply(
    comment: FakeComment, line: str, commenter: str, github_said: str
) -> str:
    """The reply to `comment`, recorded, when GitHub refused to update the checks with it."""
    return (
        f"<!-- hotfix-bot carried-out reply to comment {comment.id} -->\n"
        f"> `{line}`\n\n@{commenter}, hotfix-bot recorded this, but could not update the pull "
        f"request's checks with it: {github_said}.\n\n"
        "They show it at the pull request's next event, or when the check is re-run."
    )


def test_a_command_carried_out_whose_check_cannot_be_updated_says_so_not_that_it_failed(
    bot: Bot,
) -> None:
    pull = open_p0_hotfix(bot)
    forbidden = refuse_check_writes(bot)
    line = "/hotfix verbal-approval @lena"

    recorded = command(bot, pull.number, "dana", line)

    reply = checks_not_updated_reply(recorded, line, "dana", CHECK_WRITE_REFUSED)
    assert (replies(bot, pull.number), reactions(bot, recorded)) == ([reply], [("+1", BOT)])
    entry = command_delivery(bot)
    assert (entry.status, entry.last_error) == ("failed", CHECK_WRITE_REFUSED)

    # Kept answered: GitHub delivering it again neither replies nor records it again.
    bot.deliver("issue_comment", bot.fake.issue_comment_event(bot.repo, recorded.id))
    assert replies(bot, pull.number) == [reply]

    for refusal in forbidden:
        refusal.times = refusal.hits
    bot.pull_request(pull.number, "labeled")  # the pull request's next event
    assert "lena (verbal, recorded by @dana at 14:32 UTC)" in approvals_row(bot, pull)


def carried_out_reply(comment: FakeComment, line: str, commenter: str, github_said: str) -> str:
    """The reply to `comment`, carried out, when GitHub refused its `+1` reaction."""
    return (
        f"<!-- hotfix-bot carried-out reply to comment {comment.id} -->\n"
        f"> `{line}`\n\n@{commenter}, hotfix-bot carried this out, but could not add the `+1` "
        f"reaction that says so: {github_said}.\n\nThere is no need to post the command again."
    )


def reaction_path(comment: FakeComment) -> str:
    return f"POST /repos/acme/widgets/issues/comments/{comment.id}/reactions"


def test_a_command_carried_out_whose_reaction_github_refuses_is_answered_by_a_reply(
    bot: Bot,
) -> None:
    """Not tried again for its answer: the refusal will not pass, and it is carried out."""
    pull = open_p0_hotfix(bot)
    refusal_body = {"message": "Resource not accessible by integration"}
    bot.fake.inject("POST", r"/reactions$", status=403, times=None, body=refusal_body)
    line = "/hotfix break-glass checkout is down"

    broke = command(bot, pull.number, "lead", line)

    github_said = f"GitHub answered 403 to {reaction_path(broke)}: {refusal_body['message']}"
    reply = carried_out_reply(broke, line, "lead", github_said)
    assert (replies(bot, pull.number), reactions(bot, broke)) == ([reply], [])
    assert bot.policy_run(pull.head_sha).output["title"] == "Break-glass by @lead: checkout is down"
    entry = command_delivery(bot)
    assert (entry.status, entry.attempts) == ("done", 1)

    # Kept answered: GitHub delivering it again neither carries it out nor replies again.
    with bot.counting() as requests:
        bot.deliver("issue_comment", bot.fake.issue_comment_event(bot.repo, broke.id))
    assert (replies(bot, pull.number), requests) == ([reply], [])


def first_attempt_failed(bot: Bot, number: int, author: str, body: str) -> FakeComment:
    """`author` comments `body` on `number`; returns once its delivery's first attempt
    failed and waits to be tried again."""
    comment = bot.repo.add_comment(number, author, body)
    bot.send("issue_comment", bot.fake.issue_comment_event(bot.repo, comment.id))
    wait_for(lambda: command_delivery(bot).last_error is not None, timeout=20)
    return comment


def tried_to_the_end(bot: Bot, github_time: FakeTime) -> JournalEntry:
    """The command's delivery once done or failed: the clock is moved past each of the
    worker's backoffs (127 s in all for its 8 attempts) meanwhile."""
    deadline = time.monotonic() + 25
    while (entry := command_delivery(bot)).status not in ("done", "failed"):
        if entry.status == "queued":
            # Whole seconds: the fake's clock keeps microseconds, the journal's more.
            retry_at = datetime.fromtimestamp(math.ceil(entry.next_attempt_at), UTC)
            github_time.now = max(github_time.now, retry_at)
        assert time.monotonic() < deadline, f"the delivery stayed {entry}"
        time.sleep(0.01)
    return entry


def requests_made(requests: list[RecordedRequest]) -> set[str]:
    return {f"{request.method} {request.path}" for request in requests}


def test_a_reaction_github_fails_once_is_given_by_the_next_attempt_alone(
    bot: Bot, github_time: FakeTime
) -> None:
    pull = open_p0_hotfix(bot)
    bot.fake.inject("POST", r"/reactions$", status=502, times=1)

    broke = first_attempt_failed(bot, pull.number, "lead", "/hotfix break-glass checkout is down")
    with bot.counting() as requests:
        entry = tried_to_the_end(bot, github_time)

    assert (replies(bot, pull.number), reactions(bot, broke)) == ([], [("+1", BOT)])
    assert (entry.status, entry.attempts) == ("done", 2)
    # The second attempt only answered it: the break-glass was carried out once.
    assert requests_made(requests) == {reaction_path(broke)}
    assert bot.policy_run(pull.head_sha).output["title"] == "Break-glass by @lead: checkout is down"


@pytest.mark.parametrize("reply_fails", [False, True], ids=["reply posted", "reply fails too"])
def test_a_reaction_github_fails_on_every_attempt_is_answered_at_the_last(
    bot: Bot, github_time: FakeTime, reply_fails: bool
) -> None:
    pull = open_p0_hotfix(bot)
    bot.fake.inject("POST", r"/reactions$", status=502, times=None)
    comments = f"/repos/acme/widgets/issues/{pull.number}/comments"
    if reply_fails:
        bot.fake.inject("POST", f"{comments}$", status=502, times=None)
    line = "/hotfix break-glass checkout is down"

    broke = first_attempt_failed(bot, pull.number, "lead", line)
    assert replies(bot, pull.number) == []  # it may pass: no reply yet
    with bot.counting() as requests:
        entry = tried_to_the_end(bot, github_time)

    reaction_failed = f"GitHub answered 502 to {reaction_path(broke)}: Bad Gateway"
    # Carried out once: the later attempts only tried to answer it.
    assert requests_made(requests) == {
        reaction_path(broke),
        f"GET {comments}",
        f"POST {comments}",
    }
    assert reactions(bot, broke) == []
    if reply_fails:
        assert replies(bot, pull.number) == []
        assert (entry.status, entry.attempts, entry.last_error) == (
            "failed",
            8,
            f"Unanswered: carried out, but GitHub refused both its +1 reaction ({reaction_failed})"
            f" and the reply saying so (GitHub answered 502 to POST {comments}: Bad Gateway)",
        )
    else:
        assert replies(bot, pull.number) == [
            carried_out_reply(broke, line, "lead", reaction_failed)
        ]
        assert (entry.status, entry.attempts) == ("done", 8)


def test_the_reply_to_a_refused_reaction_github_fails_once_is_posted_by_the_next_attempt(
    bot: Bot, github_time: FakeTime
) -> None:
    pull = open_p0_hotfix(bot)
    refusal_body = {"message": "Resource not accessible by integration"}
    bot.fake.inject("POST", r"/reactions$", status=403, times=None, body=refusal_body)
    bot.fake.inject("POST", r"/issues/[0-9]+/comments$", status=502, times=1)
    line = "/hotfix break-glass checkout is down"

    broke = first_attempt_failed(bot, pull.number, "lead", line)
    with bot.counting() as requests:
        entry = tried_to_the_end(bot, github_time)

    github_said = f"GitHub answered 403 to {reaction_path(broke)}: {refusal_body['message']}"
    assert replies(bot, pull.number) == [carried_out_reply(broke, line, "lead", github_said)]
    assert (entry.status, entry.attempts) == ("done", 2)
    assert requests_made(requests) == {
        reaction_path(broke),
        f"GET /repos/acme/widgets/issues/{pull.number}/comments",
        f"POST /repos/acme/widgets/issues/{pull.number}/comments",
    }


def test_a_command_whose_checks_github_refuses_and_reaction_fails_once_gets_both_answers(
    bot: Bot, github_time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    """The second attempt answers with what the first could not show, and fails as the
    first would have."""
    pull = open_p0_hotfix(bot)
    refuse_check_writes(bot)
    bot.fake.inject("POST", r"/reactions$", status=502, times=1)
    line = "/hotfix verbal-approval @lena"

    recorded = first_attempt_failed(bot, pull.number, "dana", line)
    assert replies(bot, pull.number) == []
    with bot.counting() as requests:
        entry = tried_to_the_end(bot, github_time)

    assert (replies(bot, pull.number), reactions(bot, recorded)) == (
        [checks_not_updated_reply(recorded, line, "dana", CHECK_WRITE_REFUSED)],
        [("+1", BOT)],
    )
    assert (entry.status, entry.attempts, entry.last_error) == (
        "failed",
        2,
        f"ChecksNotUpdated: {CHECK_WRITE_REFUSED}",
    )
    # Not carried out again.
    assert [r for r in requests if "/check-runs" in r.path and r.method != "GET"] == []
    # GitHub's refusal, told by the journal's line: the worker logs no traceback with it.
    failed = f"failed after 2 attempts: ChecksNotUpdated: {CHECK_WRITE_REFUSED}"
    wait_for(lambda: any(record.getMessage() == failed for record in caplog.records), timeout=5)
    assert [record.exc_info for record in caplog.records if record.exc_info] == []


def test_a_command_carried_out_when_run_again_after_its_failure_reply_is_answered_anew(
    bot: Bot,
) -> None:
    pull = open_p0_hotfix(bot)
    refusal_body = {"message": "Resource not accessible by integration"}
    forbidden = bot.fake.inject(
        "GET", r"/teams/engineering-leads/members$", status=403, times=None, body=refusal_body
    )
    line = "/hotfix break-glass checkout is down"
    broke = command(bot, pull.number, "lead", line)
    [failure] = replies(bot, pull.number)
    forbidden.times = forbidden.hits  # the App may read the team now, not react
    bot.fake.inject("POST", r"/reactions$", status=403, times=None, body=refusal_body)

    asyncio.run(bot.journal.redeliver(command_delivery(bot).id))  # `hotfix-bot redeliver`
    bot.settle()

    github_said = f"GitHub answered 403 to {reaction_path(broke)}: {refusal_body['message']}"
    assert replies(bot, pull.number) == [
        failure,
        carried_out_reply(broke, line, "lead", github_said),
    ]


def test_a_command_whose_comment_is_deleted_before_its_reaction_is_answered_on_the_pull_request(
    bot: Bot,
) -> None:
    pull = open_p0_hotfix(bot)
    line = "/hotfix verbal-approval @lena on the bridge call"
    deleted = bot.repo.add_comment(pull.number, "dana", line)
    event = bot.fake.issue_comment_event(bot.repo, deleted.id)
    del bot.repo.comments[deleted.id]

    bot.deliver("issue_comment", event)

    github_said = f"GitHub answered 404 to {reaction_path(deleted)}: Not Found"
    assert replies(bot, pull.number) == [carried_out_reply(deleted, line, "dana", github_said)]
    assert "lena (verbal, recorded by @dana at 14:32 UTC)" in approvals_row(bot, pull)
    assert command_delivery(bot).status == "done"


def test_a_command_github_lets_nobody_answer_is_answered_alone_when_run_again(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    pull = open_p0_hotfix(bot)
    refusal_body = {"message": "Resource not accessible by integration"}
    reacting = bot.fake.inject("POST", r"/reactions$", status=403, times=None, body=refusal_body)
    posting = bot.fake.inject(
        "POST", r"/issues/[0-9]+/comments$", status=403, times=None, body=refusal_body
    )
    line = "/hotfix break-glass checkout is down"

    broke = command(bot, pull.number, "lead", line)

    assert (replies(bot, pull.number), reactions(bot, broke)) == ([], [])
    assert bot.policy_run(pull.head_sha).output["title"] == "Break-glass by @lead: checkout is down"
    entry = command_delivery(bot)
    refused_both = (
        "GitHub refused both its +1 reaction (GitHub answered 403 "
        f"to {reaction_path(broke)}: Resource not accessible by integration) and the reply "
        f"saying so (GitHub answered 403 to POST /repos/acme/widgets/issues/{pull.number}/"
        "comments: Resource not accessible by integration)"
    )
    failure = f"Unanswered: carried out, but {refused_both}"
    assert (entry.status, entry.attempts, entry.last_error) == ("failed", 1, failure)
    # The worker logs the failure just after the journal holds it; GitHub's refusals are
    # told in one warning line, with no traceback: nothing in hotfix-bot went wrong.
    failed = f"failed after 1 attempt: {failure}"
    wait_for(lambda: any(record.getMessage() == failed for record in caplog.records), timeout=5)
    assert [record.getMessage() for record in caplog.records if record.levelname == "WARNING"] == [
        f"command {line!r} carried out, unanswered: {refused_both}; running its delivery "
        "again (`hotfix-bot redeliver`) answers it"
    ]
    assert [record.exc_info for record in caplog.records if record.exc_info] == []

    # GitHub takes answers again: running it again answers it alone, once.
    reacting.times, posting.times = reacting.hits, posting.hits
    with bot.counting() as requests:
        for _ in range(2):
            asyncio.run(bot.journal.redeliver(entry.id))
            bot.settle()
    assert (replies(bot, pull.number), reactions(bot, broke)) == ([], [("+1", BOT)])
    assert [f"{request.method} {request.path}" for request in requests] == [reaction_path(broke)]
    assert command_delivery(bot).status == "done"


def test_a_command_whose_check_and_reaction_github_refuses_is_answered_by_one_reply(
    bot: Bot,
) -> None:
    pull = open_p0_hotfix(bot)
    refuse_check_writes(bot)
    refusal_body = {"message": "Resource not accessible by integration"}
    bot.fake.inject("POST", r"/reactions$", status=403, times=None, body=refusal_body)
    line = "/hotfix verbal-approval @lena"

    recorded = command(bot, pull.number, "dana", line)

    assert (replies(bot, pull.number), reactions(bot, recorded)) == (
        [checks_not_updated_reply(recorded, line, "dana", CHECK_WRITE_REFUSED)],
        [],
    )
    entry = command_delivery(bot)
    assert (entry.status, entry.last_error) == ("failed", CHECK_WRITE_REFUSED)


def test_github_failing_is_retried_unanswered_and_answered_when_still_failing_at_the_last(
    bot: Bot, github_time: FakeTime, private_key_pem: str
) -> None:
    pull = open_p0_hotfix(bot)
    permission = r"/collaborators/dana/permission$"
    bot.fake.inject("GET", permission, status=502, times=1)
    line = "/hotfix verbal-approval @lena"

    recorded = command_tried_twice(bot, github_time, pull.number, "dana", line)

    assert (replies(bot, pull.number), reactions(bot, recorded)) == ([], [("+1", BOT)])
    assert (command_delivery(bot).status, command_delivery(bot).attempts) == ("done", 2)

    bot.fake.inject("GET", permission, status=502, times=None)
    stopped = bot.repo.add_comment(pull.number, "dana", line)
    payload = bot.fake.issue_comment_event(bot.repo, stopped.id)
    with pytest.raises(RequestFailed):
        asyncio.run(
            run_on_last_attempt(bot, private_key_pem, dispatch.on_command, "issue_comment", payload)
        )

    assert replies(bot, pull.number) == [
        failure_reply(
            stopped,
            line,
            "dana",
            "GitHub answered 502 to GET /repos/acme/widgets/collaborators/dana/permission: "
            "Bad Gateway",
            "This may pass: post the command again, in a new comment, later.",
        )
    ]
    assert reactions(bot, stopped) == []


def test_a_fault_of_hotfix_bots_own_is_answered_naming_its_kind_alone(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    pull = open_p0_hotfix(bot)

    class UnreadableRecords:
        @staticmethod
        async def load(context: Context, number: int) -> PullRecords:
            raise KeyError("verbal")  # what a record of an unknown shape would raise

    monkeypatch.setattr(dispatch, "PullRecords", UnreadableRecords)
    line = "/hotfix verbal-approval @lena"

    stopped = command(bot, pull.number, "dana", line)

    assert replies(bot, pull.number) == [
        failure_reply(
            stopped,
            line,
            "dana",
            "it ran into an error of its own (KeyError)",
            "Whoever runs hotfix-bot finds the error with `hotfix-bot deliveries --status "
            "failed`; post the command again, in a new comment, once it is fixed.",
        )
    ]
    entry = command_delivery(bot)
    assert (entry.status, entry.last_error) == ("failed", "KeyError: 'verbal'")


def test_the_journal_refusing_a_read_is_retried_unanswered(
    bot: Bot, github_time: FakeTime, monkeypatch: pytest.MonkeyPatch
) -> None:
    pull = open_p0_hotfix(bot)
    refusals = [JournalUnavailable("journal read failed: database is locked")]

    class RecordsLockedOnce:
        @staticmethod
        async def load(context: Context, number: int) -> PullRecords:
            if refusals:
                raise refusals.pop()
            return await PullRecords.load(context, number)

    monkeypatch.setattr(dispatch, "PullRecords", RecordsLockedOnce)

    recorded = command_tried_twice(
        bot, github_time, pull.number, "dana", "/hotfix verbal-approval @lena"
    )

    assert (replies(bot, pull.number), reactions(bot, recorded)) == ([], [("+1", BOT)])
    assert (command_delivery(bot).status, command_delivery(bot).attempts) == ("done", 2)


def test_a_quoted_command_with_backticks_stays_one_code_span(bot: Bot) -> None:
    pull = open_p0_hotfix(bot)

    refused = command(bot, pull.number, "dana", "/hotfix verbal-approval `@lena`")

    [reply] = replies(bot, pull.number)
    assert reply.splitlines()[:3] == [
        f"<!-- hotfix-bot reply to comment {refused.id} -->",
        "> `` /hotfix verbal-approval `@lena` ``",
        "",
    ]


def test_a_push_after_a_verbal_approval_asks_for_it_again(bot: Bot) -> None:
    pull = open_p0_hotfix(bot)
    command(bot, pull.number, "dana", "/hotfix verbal-approval @lena")
    assert "lena (verbal, recorded by @dana at 14:32 UTC)" in approvals_row(bot, pull)

    bot.repo.commit("hotfix/fix-login", {"NOTES": "typo\n"}, "Typo")
    bot.pull_request(pull.number, "synchronize")

    assert bot.policy_run(pull.head_sha).output["title"] == (
        "Waiting for approval: Engineering Lead and On-call Manager"
    )
    assert approvals_row(bot, pull) == (
        "| `approvals` | ⏳ waiting | Engineering Lead: nobody yet; On-call Manager: nobody yet; "
        f"lena (verbal) approved an older commit and must approve again | {APPROVALS_EXPECTED} |"
    )


def test_only_commands_by_people_on_pull_requests_are_taken(bot: Bot) -> None:
    """Other comments are answered `ignored` at the intake, and their text is not kept."""
    pull = open_p0_hotfix(bot)
    taken = bot.repo.add_comment(pull.number, "dana", "/hotfix verbal-approval @lena")
    issue: FakeIssue = bot.repo.open_issue("Flaky login", author="dev")
    edited = bot.repo.add_comment(pull.number, "dana", "Looks fine")
    created = bot.fake.issue_comment_event(bot.repo, edited.id)
    bot.repo.edit_comment(edited.id, "/hotfix verbal-approval @lena")
    comments = {
        "an ordinary comment": created,
        "an edit into a command": bot.fake.issue_comment_event(
            bot.repo, edited.id, "edited", previous_body="Looks fine"
        ),
        "a command on an issue": bot.fake.issue_comment_event(
            bot.repo, bot.repo.add_comment(issue.number, "dana", "/hotfix confirm").id
        ),
        "a command by a bot": bot.fake.issue_comment_event(
            bot.repo, bot.repo.add_comment(pull.number, "ci[bot]", "/hotfix confirm").id
        ),
        "a command by nobody": by_nobody(
            "comment",
            bot.fake.issue_comment_event(
                bot.repo, bot.repo.add_comment(pull.number, "gone", "/hotfix break-glass down").id
            ),
        ),
        "a command": bot.fake.issue_comment_event(bot.repo, taken.id),
    }

    answers = {
        what: bot.send("issue_comment", payload).json() for what, payload in comments.items()
    }
    bot.settle()

    assert {what: answer["status"] for what, answer in answers.items()} == {
        **dict.fromkeys(comments, "ignored"),
        "a command": "queued",
    }
    kept = {entry.id: entry for entry in bot.journal.recent()}
    assert [kept[answer["delivery"]].payload is None for answer in answers.values()] == [
        True,
        True,
        True,
        True,
        True,
        False,
    ]
    assert replies(bot, pull.number) == replies(bot, issue.number) == []
    assert [(r.comment_id, r.content) for r in bot.repo.reactions] == [(taken.id, "+1")]


# --- break-glass -------------------------------------------------------------------------------


def test_a_break_glass_passes_the_check_until_an_approver_withdraws_it(bot: Bot) -> None:
    pull = open_p0_hotfix(bot)

    broke = command(bot, pull.number, "lead", "/hotfix break-glass checkout is down for everyone")

    run = bot.policy_run(pull.head_sha)
    assert (run.status, run.conclusion, run.output["title"]) == (
        "completed",
        "success",
        "Break-glass by @lead: checkout is down for everyone",
    )
    summary = run.output["summary"]
    assert (
        "**Break-glass** by @lead at 2026-12-04 14:32 UTC: checkout is down for everyone. Every "
        "rule that fails or waits is waived; after the merge an issue asks for a retroactive "
        "review. `/hotfix break-glass off` withdraws it."
    ) in summary
    assert approvals_row(bot, pull).startswith(
        "| `approvals` | ⚠️ waived | Engineering Lead: nobody yet; On-call Manager: nobody yet |"
    )
    assert "## How to fix" not in summary
    assert reactions(bot, broke) == [("+1", BOT)]

    line = "/hotfix break-glass off"
    refused = command(bot, pull.number, "dana", line)  # neither who broke it nor an approver
    assert replies(bot, pull.number) == [
        refusal(
            refused,
            line,
            "dana",
            "only lead, who broke the glass, or an approver of severity P0 (Engineering Lead "
            "and On-call Manager) may withdraw it",
        )
    ]
    withdrew = command(bot, pull.number, "oncall", line)

    run = bot.policy_run(pull.head_sha)
    assert (run.status, run.output["title"]) == (
        "in_progress",
        "Waiting for approval: Engineering Lead and On-call Manager",
    )
    assert reactions(bot, withdrew) == [("+1", BOT)]


def test_punctuation_after_the_command_s_name_is_no_part_of_it(bot: Bot) -> None:
    pull = open_p0_hotfix(bot)

    broke = command(bot, pull.number, "lead", "/hotfix break-glass: checkout is down")

    assert (reactions(bot, broke), replies(bot, pull.number)) == ([("+1", BOT)], [])
    title = bot.policy_run(pull.head_sha).output["title"]
    assert title == "Break-glass by @lead: checkout is down"


def test_a_break_glass_is_not_in_force_once_the_severity_allows_none_and_is_withdrawn_anyway(
    bot: Bot,
) -> None:
    pull = open_p0_hotfix(bot)
    command(bot, pull.number, "lead", "/hotfix break-glass checkout is down")
    bot.repo.remove_label(pull.number, "P0")
    bot.repo.add_labels(pull.number, "P2")

    bot.pull_request(pull.number, "labeled", label="P2")

    run = bot.policy_run(pull.head_sha)
    assert (run.conclusion, run.output["title"]) == ("failure", rules_fail("severity"))
    assert (
        "**Break-glass** by @lead at 2026-12-04 14:32 UTC: checkout is down. It is **not in "
        "force**: a break-glass waives the rules only while the pull request's one severity "
        "label allows a hotfix and a break-glass. `/hotfix break-glass off` withdraws it.\n"
    ) in run.output["summary"]
    assert "| `severity` | ❌ fail |" in run.output["summary"]
    assert "waived" not in run.output["summary"]

    bot.repo.remove_label(pull.number, "P2")
    bot.pull_request(pull.number, "unlabeled", label="P2")
    assert bot.policy_run(pull.head_sha).output["title"] == rules_fail("labels")

    withdrew = command(bot, pull.number, "oncall", "/hotfix break-glass off")  # a P0 approver

    assert (reactions(bot, withdrew), replies(bot, pull.number)) == ([("+1", BOT)], [])
    assert "Break-glass" not in bot.policy_run(pull.head_sha).output["summary"]
    bot.repo.add_labels(pull.number, "P0")
    bot.pull_request(pull.number, "labeled", label="P0")
    assert bot.policy_run(pull.head_sha).output["title"] == (
        "Waiting for approval: Engineering Lead and On-call Manager"
    )


@pytest.mark.parametrize("line", ["/hotfix break-glass off.", "/hotfix break-glass OFF!"])
def test_off_in_any_case_with_trailing_punctuation_withdraws_the_break_glass(
    bot: Bot, line: str
) -> None:
    pull = open_p0_hotfix(bot)
    command(bot, pull.number, "lead", "/hotfix break-glass checkout is down")

    withdrew = command(bot, pull.number, "lead", line)

    assert (reactions(bot, withdrew), replies(bot, pull.number)) == ([("+1", BOT)], [])
    run = bot.policy_run(pull.head_sha)
    assert run.output["title"] == "Waiting for approval: Engineering Lead and On-call Manager"
    assert "Break-glass" not in run.output["summary"]


def test_a_reason_beginning_with_the_word_off_is_refused_and_the_glass_stays_as_it_was(
    bot: Bot,
) -> None:
    pull = open_p0_hotfix(bot)
    command(bot, pull.number, "lead", "/hotfix break-glass checkout is down")

    refused(
        bot,
        pull,
        "oncall",
        "/hotfix break-glass off now, lead approved",
        "`off` withdraws the break-glass and takes nothing after it, so a reason cannot "
        "begin with the word `off`",
    )
    assert bot.policy_run(pull.head_sha).output["title"] == "Break-glass by @lead: checkout is down"


def taken_though_delivered_in_reverse(
    bot: Bot, github_time: FakeTime, first: tuple[str, str], then: tuple[str, str]
) -> FakePull:
    """A P0 on which `first` is commented (author, body), a minute later `then`; GitHub
    delivers `then` first, and each is taken: answered with a 👍, and no reply."""
    pull = open_p0_hotfix(bot)
    earlier = bot.repo.add_comment(pull.number, *first)
    github_time.now += timedelta(minutes=1)
    later = bot.repo.add_comment(pull.number, *then)
    for comment in (later, earlier):
        deliver_comment(bot, comment)
    assert (reactions(bot, earlier), reactions(bot, later)) == ([("+1", BOT)], [("+1", BOT)])
    assert replies(bot, pull.number) == []
    return pull


def glass_timeline(bot: Bot, pull: FakePull) -> list[tuple[str, str]]:
    stored = asyncio.run(bot.journal.get_state(f"timeline:acme/widgets#{pull.number}"))
    rows = json.loads(stored or "[]")
    return sorted((row["at"], row["text"]) for row in rows if row["kind"] == "break-glass")


@pytest.mark.parametrize(
    ("before", "timeline"),
    [
        ([], []),
        (
            ["/hotfix break-glass checkout is down", "/hotfix break-glass off"],
            [
                ("2026-12-04T14:32:10+00:00", "Break-glass by @lead: checkout is down"),
                ("2026-12-04T14:32:10+00:00", "Break-glass withdrawn by @lead"),
            ],
        ),
    ],
    ids=["never broken", "withdrawn already"],
)
def test_a_withdrawal_with_no_break_glass_to_withdraw_says_so_and_leaves_no_trace(
    bot: Bot, github_time: FakeTime, before: list[str], timeline: list[tuple[str, str]]
) -> None:
    pull = open_p0_hotfix(bot)
    for body in before:
        command(bot, pull.number, "lead", body)
    github_time.now += timedelta(minutes=1)
    records_before = asyncio.run(bot.journal.get_state(f"commands:acme/widgets#{pull.number}"))

    refused(
        bot,
        pull,
        "oncall",
        "/hotfix break-glass off",
        "no break-glass is in force on this pull request, so there is nothing to withdraw",
    )

    assert glass_timeline(bot, pull) == timeline
    records = asyncio.run(bot.journal.get_state(f"commands:acme/widgets#{pull.number}"))
    assert records == records_before


def test_a_withdrawal_delivered_before_the_break_glass_it_withdraws_still_withdraws_it(
    bot: Bot, github_time: FakeTime
) -> None:
    pull = taken_though_delivered_in_reverse(
        bot,
        github_time,
        ("lead", "/hotfix break-glass checkout is down"),
        ("lead", "/hotfix break-glass off"),
    )

    run = bot.policy_run(pull.head_sha)
    assert run.output["title"] == "Waiting for approval: Engineering Lead and On-call Manager"
    assert "Break-glass" not in run.output["summary"]
    assert glass_timeline(bot, pull) == [
        ("2026-12-04T14:32:10+00:00", "Break-glass by @lead: checkout is down"),
        ("2026-12-04T14:33:10+00:00", "Break-glass withdrawn by @lead"),
    ]

    merge(bot, pull)

    assert retro_reviews(bot) == []


def test_of_two_break_glasses_delivered_in_reverse_the_later_written_one_is_in_force(
    bot: Bot, github_time: FakeTime
) -> None:
    pull = taken_though_delivered_in_reverse(
        bot,
        github_time,
        ("lead", "/hotfix break-glass checkout is down"),
        ("oncall", "/hotfix break-glass payments are failing too"),
    )

    assert bot.policy_run(pull.head_sha).output["title"] == (
        "Break-glass by @oncall: payments are failing too"
    )
    assert glass_timeline(bot, pull) == [
        ("2026-12-04T14:32:10+00:00", "Break-glass by @lead: checkout is down"),
        ("2026-12-04T14:33:10+00:00", "Break-glass by @oncall: payments are failing too"),
    ]


def test_of_two_verbal_approvals_delivered_in_reverse_the_later_written_one_is_recorded(
    bot: Bot, github_time: FakeTime
) -> None:
    pull = taken_though_delivered_in_reverse(
        bot,
        github_time,
        ("dana", "/hotfix verbal-approval @lena on the bridge"),
        ("oncall", "/hotfix verbal-approval @lena again after the rollout plan"),
    )

    assert approvals_row(bot, pull) == (
        "| `approvals` | ⏳ waiting | Engineering Lead: nobody yet; "
        "On-call Manager: lena (verbal, recorded by @oncall at 14:33 UTC) | "
        f"{APPROVALS_EXPECTED} |"
    )


# --- after the merge ---------------------------------------------------------------------------


def release_run_text(bot: Bot, pull: FakePull) -> str:
    assert pull.merge_commit_sha is not None
    [run] = bot.repo.runs_named("hotfix-release", pull.merge_commit_sha)
    return str(run.output["summary"])


def merge(bot: Bot, pull: FakePull) -> None:
    bot.repo.merge_pull(pull.number)
    bot.pull_request(pull.number, "closed")


def test_a_break_glass_opens_one_retroactive_review_issue_after_the_merge(bot: Bot) -> None:
    pull = open_p0_hotfix(bot)
    bot.approve(pull.number, "lead")
    command(bot, pull.number, "oncall", "/hotfix break-glass payments are failing")

    merge(bot, pull)
    bot.pull_request(pull.number, "closed")  # delivered again
    assert pull.merge_commit_sha is not None
    [run] = bot.repo.runs_named("hotfix-release", pull.merge_commit_sha)
    bot.deliver("check_run", bot.fake.check_run_event(bot.repo, run.id))  # "Re-run"

    [issue] = retro_reviews(bot)
    assert (issue.title, issue.labels, issue.assignees, issue.author) == (
        "Retroactive review: Fix",
        ["hotfix-retro-review"],
        ["oncall"],
        BOT,
    )
    sha = pull.merge_commit_sha
    assert issue.body == (
        f"<!-- hotfix-bot:retro-review acme/widgets#{pull.number} -->\n\n"
        f"@oncall broke the glass on [#{pull.number}]({WEB}/pull/{pull.number}) (Fix) at "
        "2026-12-04 14:32 UTC, so it merged without the usual checks. The reason given: "
        "payments are failing\n\n"
        "What the break-glass waived:\n"
        "- `approvals`: On-call Manager (@acme/on-call-managers)\n\n"
        f"Please review the change as it merged, [`{sha[:7]}`]({WEB}/commit/{sha}), and close "
        "this issue once it is reviewed."
    )
    assert (
        f"| Retroactive review | ✅ done | opened issue #{issue.number} for the break-glass by "
        f"@oncall, assigned to them | [#{issue.number}]({WEB}/issues/{issue.number}) |"
    ) in release_run_text(bot, pull)
    opened = [
        r.json["title"]
        for r in bot.fake.requests
        if (r.method, r.path) == ("POST", "/repos/acme/widgets/issues")
    ]
    assert opened == ["Retroactive review: Fix", "Incident report: Fix"]


def test_a_reason_as_long_as_a_comment_takes_is_cut_so_every_issue_and_notice_is_posted(
    bot: Bot,
) -> None:
    """GitHub takes 65,536 characters in a comment, and no more in an issue: the reason, shown
    in the retroactive review, the incident report (twice) and the resolution notice, is cut."""
    line = "/hotfix break-glass checkout is down: "
    reason_start = line.removeprefix("/hotfix break-glass ")
    pull = open_p0_hotfix(bot)
    command(bot, pull.number, "lead", line + "x" * (65_536 - len(line)))
    reason = reason_start + "x" * (499 - len(reason_start)) + "…"

    run = bot.policy_run(pull.head_sha)
    assert (run.conclusion, run.output["title"]) == ("success", f"Break-glass by @lead: {reason}")
    merge(bot, pull)

    assert pull.merge_commit_sha is not None
    [release] = bot.repo.runs_named("hotfix-release", pull.merge_commit_sha)
    assert (release.conclusion, release.output["title"]) == (
        "success",
        "All steps done for v1.2.4 (1 skipped)",
    )
    [retro_review] = retro_reviews(bot)
    assert f"The reason given: {reason}\n\n" in retro_review.body
    [report] = [i for i in bot.repo.issues.values() if "incident-report" in i.labels]
    assert f"- **Break-glass:** by @lead: {reason}; retroactive review in" in report.body
    assert f"| 2026-12-04 14:32 UTC | Break-glass by @lead: {reason} |" in report.body
    [notice] = [c.body for c in bot.repo.comments_on(pull.number) if "resolution:" in c.body]
    assert f"\n2026-12-04 14:32 UTC - Break-glass by @lead: {reason}\n" in notice


def test_a_title_too_long_for_the_check_run_is_cut_on_its_one_line(bot: Bot) -> None:
    """A title is cut to 1,000 bytes: 500 characters of three bytes each are more."""
    pull = open_p0_hotfix(bot)

    command(bot, pull.number, "lead", "/hotfix break-glass " + "障" * 600)

    title = bot.policy_run(pull.head_sha).output["title"]
    assert title == "Break-glass by @lead: " + "障" * 325 + "…"


def test_a_retroactive_review_names_one_group_of_those_an_approver_counts_for_as_waived(
    bot: Bot,
) -> None:
    """lena leads engineering as well as managing on-call: her verbal approval fills one of
    the two groups, either, so the break-glass waived the other, not both."""
    bot.fake.teams[("acme", "engineering-leads")].members.append("lena")
    pull = open_p0_hotfix(bot)
    command(bot, pull.number, "dana", "/hotfix verbal-approval @lena on the bridge")
    assert bot.policy_run(pull.head_sha).output["title"] == (
        "Waiting for approval: Engineering Lead or On-call Manager"
    )
    command(bot, pull.number, "oncall", "/hotfix break-glass payments are failing")

    merge(bot, pull)

    [issue] = retro_reviews(bot)
    assert (
        "What the break-glass waived:\n"
        "- `approvals`: Engineering Lead (@acme/engineering-leads) or On-call Manager "
        "(@acme/on-call-managers)\n\n"
    ) in issue.body


def test_what_an_earlier_version_kept_as_waived_is_named_by_the_retroactive_review(
    bot: Bot,
) -> None:
    """An earlier version kept each waived group as a name of its own."""
    pull = open_p0_hotfix(bot)
    bot.approve(pull.number, "lead")
    glass = command(bot, pull.number, "oncall", "/hotfix break-glass payments are failing")
    kept = {"severity": "P0", "rules": ["approvals"], "groups": ["On-call Manager"]}
    key = f"break-glass-waived:acme/widgets#{pull.number}:{glass.id}"
    assert asyncio.run(bot.journal.get_state(key)) is not None
    asyncio.run(bot.journal.set_state(key, json.dumps(kept)))

    merge(bot, pull)

    [issue] = retro_reviews(bot)
    assert "- `approvals`: On-call Manager (@acme/on-call-managers)\n\n" in issue.body


def test_a_retroactive_review_with_nothing_waived_does_not_say_the_checks_were_skipped(
    bot: Bot,
) -> None:
    pull = open_p0_hotfix(bot)
    command(bot, pull.number, "lead", "/hotfix break-glass checkout is down")
    for approver in ("lead", "oncall"):  # every rule passes before the merge
        bot.repo.review(pull.number, approver, "APPROVED")
        bot.deliver("pull_request_review", bot.fake.review_event(bot.repo, pull.number))

    merge(bot, pull)

    [issue] = retro_reviews(bot)
    sha = pull.merge_commit_sha
    assert sha is not None
    assert issue.body == (
        f"<!-- hotfix-bot:retro-review acme/widgets#{pull.number} -->\n\n"
        f"@lead broke the glass on [#{pull.number}]({WEB}/pull/{pull.number}) (Fix) at "
        "2026-12-04 14:32 UTC, and it merged while the break-glass was in force. The reason "
        "given: checkout is down\n\n"
        "What the break-glass waived:\n"
        "- nothing: every rule passed when it was last checked\n\n"
        f"Please review the change as it merged, [`{sha[:7]}`]({WEB}/commit/{sha}), and close "
        "this issue once it is reviewed."
    )


def test_a_break_glass_by_someone_github_will_not_assign_still_opens_the_review_unassigned(
    bot: Bot,
) -> None:
    # `break_glass` names teams, whose members need no access to the repository.
    bot.fake.add_team("acme", "engineering-leads", ["lead", "sam"])
    pull = open_p0_hotfix(bot)
    command(bot, pull.number, "sam", "/hotfix break-glass payments are failing")

    merge(bot, pull)

    [issue] = retro_reviews(bot)
    assert (issue.title, issue.labels, issue.assignees) == (
        "Retroactive review: Fix",
        ["hotfix-retro-review"],
        [],
    )
    assert issue.body.startswith(
        f"<!-- hotfix-bot:retro-review acme/widgets#{pull.number} -->\n\n"
        f"@sam broke the glass on [#{pull.number}]({WEB}/pull/{pull.number}) (Fix) at "
        "2026-12-04 14:32 UTC,"
    )
    assert pull.merge_commit_sha is not None
    [run] = bot.repo.runs_named("hotfix-release", pull.merge_commit_sha)
    assert run.conclusion == "success"
    assert (
        f"| Retroactive review | ✅ done | opened issue #{issue.number} for the break-glass by "
        "@sam, unassigned (GitHub would not assign it to them) "
        f"| [#{issue.number}]({WEB}/issues/{issue.number}) |"
    ) in release_run_text(bot, pull)
    asked = [
        (r.json["title"], r.json.get("assignees"))
        for r in bot.fake.requests
        if (r.method, r.path) == ("POST", "/repos/acme/widgets/issues")
    ]
    assert asked == [
        ("Retroactive review: Fix", ["sam"]),  # refused: 422, field `assignees`
        ("Retroactive review: Fix", None),
        ("Incident report: Fix", ["dev"]),
    ]


def test_the_retroactive_review_issue_is_found_again_when_the_journal_lost_its_outcome(
    bot: Bot,
) -> None:
    """As after a crash between opening the issue and keeping the step's outcome."""
    pull = open_p0_hotfix(bot)
    command(bot, pull.number, "lead", "/hotfix break-glass payments are failing")
    merge(bot, pull)
    bot.forget_post_merge_step(pull.number, "retro-review")

    bot.pull_request(pull.number, "closed")

    [issue] = retro_reviews(bot)
    assert (
        f"| Retroactive review | ✅ already done | issue #{issue.number} already asks for a "
        f"review of the break-glass by @lead | [#{issue.number}]({WEB}/issues/{issue.number}) |"
    ) in release_run_text(bot, pull)


def written_then_merged(
    bot: Bot, github_time: FakeTime, pull: FakePull, author: str, body: str
) -> FakeComment:
    """`author` comments `body` on `pull`, which merges a minute later, before GitHub delivers
    the comment."""
    comment = bot.repo.add_comment(pull.number, author, body)
    github_time.now = NOW + timedelta(minutes=1)
    merge(bot, pull)
    return comment


def test_a_break_glass_written_before_the_merge_and_delivered_after_it_opens_the_review(
    bot: Bot, github_time: FakeTime
) -> None:
    pull = open_p0_hotfix(bot)
    glass = written_then_merged(
        bot, github_time, pull, "oncall", "/hotfix break-glass payments are failing"
    )
    assert retro_reviews(bot) == []

    deliver_comment(bot, glass)

    assert reactions(bot, glass) == [("+1", BOT)]
    # The merged head's run, as it would have been with the comment delivered before the merge.
    run = bot.policy_run(pull.head_sha)
    assert (run.status, run.conclusion, run.output["title"]) == (
        "completed",
        "success",
        "Break-glass by @oncall: payments are failing",
    )
    [issue] = retro_reviews(bot)
    assert (issue.title, issue.labels, issue.assignees) == (
        "Retroactive review: Fix",
        ["hotfix-retro-review"],
        ["oncall"],
    )
    # What it waived as the pull request stood at the merge: nobody had approved.
    assert (
        "What the break-glass waived:\n- `approvals`: Engineering Lead "
        "(@acme/engineering-leads), On-call Manager (@acme/on-call-managers)\n\n"
    ) in issue.body
    assert (
        f"| Retroactive review | ✅ done | opened issue #{issue.number} for the break-glass by "
        f"@oncall, assigned to them | [#{issue.number}]({WEB}/issues/{issue.number}) |"
    ) in release_run_text(bot, pull)

    github_time.now = NOW + timedelta(minutes=2)
    line = "/hotfix break-glass off"
    late = command(bot, pull.number, "oncall", line)  # written after the merge
    assert refusal(late, line, "oncall", "the pull request is already merged") in replies(
        bot, pull.number
    )
    assert len(retro_reviews(bot)) == 1


def test_a_verbal_approval_written_before_the_merge_and_delivered_after_it_passes_the_run(
    bot: Bot, github_time: FakeTime
) -> None:
    pull = open_p0_hotfix(bot)
    bot.approve(pull.number, "lead")
    verbal = written_then_merged(bot, github_time, pull, "dana", "/hotfix verbal-approval @lena")
    # The merge concluded the run waiting, the command not recorded yet.
    run = bot.policy_run(pull.head_sha)
    assert (run.status, run.conclusion, run.output["title"]) == (
        "completed",
        "failure",
        "Merged while waiting for approval: On-call Manager",
    )

    deliver_comment(bot, verbal)

    run = bot.policy_run(pull.head_sha)
    assert (run.status, run.conclusion, run.output["title"]) == (
        "completed",
        "success",
        all_rules_pass(),
    )


def test_a_verbal_approval_written_before_the_merge_and_delivered_after_it_is_unconfirmed(
    bot: Bot, github_time: FakeTime
) -> None:
    pull = open_p0_hotfix(bot)
    verbal = written_then_merged(bot, github_time, pull, "dana", "/hotfix verbal-approval @lena")
    assert "| Verbal approvals |" not in release_run_text(bot, pull)

    deliver_comment(bot, verbal)

    assert reactions(bot, verbal) == [("+1", BOT)]
    assert (
        "| Verbal approvals | ⏳ waiting | lena (verbal, recorded by @dana at 14:32 UTC): "
        "**unconfirmed**; @lena, approve the pull request or comment `/hotfix confirm` |   |"
    ) in release_run_text(bot, pull)


def test_a_confirmation_written_before_the_merge_and_delivered_after_it_is_refused(
    bot: Bot, github_time: FakeTime
) -> None:
    pull = open_p0_hotfix(bot)
    command(bot, pull.number, "dana", "/hotfix verbal-approval @lena")
    line = "/hotfix confirm"
    early = written_then_merged(bot, github_time, pull, "lena", line)

    deliver_comment(bot, early)

    assert reactions(bot, early) == []
    assert refusal(
        early,
        line,
        "lena",
        "a verbal approval is confirmed after the merge, and this pull request is not merged yet",
    ) in replies(bot, pull.number)
    assert (
        "| Verbal approvals | ⏳ waiting | lena (verbal, recorded by @dana at 14:32 UTC): "
        "**unconfirmed**; @lena, approve the pull request or comment `/hotfix confirm` |   |"
    ) in release_run_text(bot, pull)


def test_a_verbal_approval_is_unconfirmed_until_its_approver_confirms_it(bot: Bot) -> None:
    pull = open_p0_hotfix(bot)
    command(bot, pull.number, "dana", "/hotfix verbal-approval @lead")
    command(bot, pull.number, "dana", "/hotfix verbal-approval @lena")
    line = "/hotfix confirm"
    refused = command(bot, pull.number, "lena", line)  # not merged yet
    assert replies(bot, pull.number) == [
        refusal(
            refused,
            line,
            "lena",
            "a verbal approval is confirmed after the merge, and this pull request is not "
            "merged yet",
        )
    ]

    merge(bot, pull)

    lead = "lead (verbal, recorded by @dana at 14:32 UTC)"
    lena = "lena (verbal, recorded by @dana at 14:32 UTC)"
    assert (
        f"| Verbal approvals | ⏳ waiting | {lead}: **unconfirmed**; @lead, approve "
        f"the pull request or comment `/hotfix confirm`; {lena}: **unconfirmed**; @lena, "
        "approve the pull request or comment `/hotfix confirm` |   |"
    ) in release_run_text(bot, pull)

    confirmed = command(bot, pull.number, "lena", "/hotfix confirm")
    bot.approve(pull.number, "lead")

    assert reactions(bot, confirmed) == [("+1", BOT)]
    assert (
        f"| Verbal approvals | ✅ done | {lead}: confirmed by an approving review; "
        f"{lena}: confirmed by `/hotfix confirm` |   |"
    ) in release_run_text(bot, pull)


def test_the_approver_confirms_with_read_access(bot: Bot) -> None:
    bot.fake.teams[("acme", "on-call-managers")].members.append("eve")
    pull = open_p0_hotfix(bot)
    command(bot, pull.number, "dana", "/hotfix verbal-approval @eve")
    merge(bot, pull)
    answers_before = len(replies(bot, pull.number))  # the release report

    confirmed = command(bot, pull.number, "eve", "/hotfix confirm")

    assert reactions(bot, confirmed) == [("+1", BOT)]
    assert len(replies(bot, pull.number)) == answers_before  # no refusal
    assert (
        "| Verbal approvals | ✅ done | eve (verbal, recorded by @dana at 14:32 UTC): confirmed "
        "by `/hotfix confirm` |   |"
    ) in release_run_text(bot, pull)


def test_the_confirmation_reminder_mentions_each_approver_it_names() -> None:
    """The text the durable timer posts `CONFIRMATION_REMINDER_AFTER` the merge (whom it names:
    tests/test_clock.py)."""

    def unconfirmed(approver: str) -> VerbalRecord:
        return VerbalRecord(VerbalApproval(approver, "dana", NOW, "a" * 40), 1)

    assert verbal_approvals.CONFIRMATION_REMINDER_AFTER.total_seconds() == 24 * 3600
    reminder = verbal_approvals.confirmation_reminder(7, [unconfirmed("lena"), unconfirmed("lead")])
    assert reminder == (
        "@lena and @lead: a verbal approval recorded for you let hotfix #7 merge, and it is still "
        "unconfirmed. Please approve the pull request or comment `/hotfix confirm`."
    )


def test_an_approving_review_naming_nobody_after_the_merge_confirms_nothing(bot: Bot) -> None:
    pull = open_p0_hotfix(bot)
    command(bot, pull.number, "dana", "/hotfix verbal-approval @lena")
    merge(bot, pull)
    report_before = release_run_text(bot, pull)
    bot.repo.review(pull.number, "lena", "APPROVED")

    delivered = bot.send(
        "pull_request_review", by_nobody("review", bot.fake.review_event(bot.repo, pull.number))
    )
    bot.settle()

    [entry] = [entry for entry in bot.journal.recent() if entry.id == delivered.json()["delivery"]]
    assert (entry.status, entry.last_error) == ("done", None)
    assert release_run_text(bot, pull) == report_before


def test_a_command_and_a_review_whose_user_github_gives_as_null_are_the_senders(
    bot: Bot,
) -> None:
    """GitHub's description lets a delivery's comment and review say `user: null` (an account
    deleted since): whoever the delivery names as its sender wrote them."""
    pull = open_p0_hotfix(bot)
    bot.approve(pull.number, "lead")
    recorded = bot.repo.add_comment(pull.number, "dana", "/hotfix verbal-approval @lena")
    comment_payload = bot.fake.issue_comment_event(bot.repo, recorded.id)
    comment_payload["comment"]["user"] = None

    bot.deliver("issue_comment", comment_payload)

    assert reactions(bot, recorded) == [("+1", BOT)]
    assert approvals_row(bot, pull) == (
        "| `approvals` | ✅ pass | Engineering Lead: lead; "
        "On-call Manager: lena (verbal, recorded by @dana at 14:32 UTC) | "
        f"{APPROVALS_EXPECTED} |"
    )

    merge(bot, pull)
    bot.repo.review(pull.number, "lena", "APPROVED")
    review_payload = bot.fake.review_event(bot.repo, pull.number)
    review_payload["review"]["user"] = None
    bot.deliver("pull_request_review", review_payload)

    assert (
        "| Verbal approvals | ✅ done | lena (verbal, recorded by @dana at 14:32 UTC): "
        "confirmed by an approving review |   |"
    ) in release_run_text(bot, pull)
