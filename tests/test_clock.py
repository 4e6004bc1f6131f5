"""The incident clock against the fake GitHub, on a clock the test moves (docs/BEHAVIOUR.md,
'The incident clock'): review requests, escalation steps, the deadline, timers that came
due while hotfix-bot was down."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import pytest
from support.harness import (
    REFUSAL,
    Bot,
    Clock,
    first_attempt_failed,
    next_chance,
    tried_to_the_end,
)
from support.live_server import wait_for
from support.titles import all_rules_pass

from app.journal import JournalEntry
from sandbox import FakePull
from sandbox.webhooks import answered

TEAMS = {"engineering-leads": ["lead"], "on-call-managers": ["oncall"], "product-managers": ["pm"]}
MINUTE, HOUR, DAY = 60, 3600, 86_400
REQUESTS = "/repos/acme/widgets/pulls/1/requested_reviewers"
REFUSED = (
    "Reviews may only be requested from collaborators. One or more of the teams you "
    "specified is not a collaborator of the acme/widgets repository."
)


@pytest.fixture
def bot(clocked_bot: Bot) -> Bot:
    """Every test here moves the clock."""
    return clocked_bot


def add_teams(bot: Bot, *slugs: str) -> None:
    for slug in slugs:
        bot.fake.add_team("acme", slug, TEAMS[slug])


def open_p0(bot: Bot) -> FakePull:
    """A P0 hotfix by dev, opened now on the test's clock (2026-12-04 20:30:30 UTC)."""
    pull = bot.open_hotfix(labels=("hotfix", "P0"))
    bot.pull_request(pull.number, "opened")
    return pull


def staffed_p0(bot: Bot) -> FakePull:
    """`open_p0` with the teams of both its approval groups."""
    add_teams(bot, "engineering-leads", "on-call-managers")
    return open_p0(bot)


def config_on_main(bot: Bot, config: str, why: str) -> None:
    bot.repo.commit("main", {".github/hotfix.yml": config}, why)


def notices(bot: Bot, pull: FakePull, timer_id: str) -> list[str]:
    marker = f"<!-- hotfix-bot notice {timer_id} -->\n"
    return [
        comment.body.removeprefix(marker)
        for comment in bot.repo.comments_on(pull.number)
        if comment.body.startswith(marker)
    ]


def test_each_escalation_step_comments_once_at_its_time_and_never_after_the_merge(bot: Bot) -> None:
    pull = staffed_p0(bot)
    first, second = "escalation:acme/widgets#1:P0:15m", "escalation:acme/widgets#1:P0:4h"
    opened = bot.clock.now if bot.clock else 0
    assert [(entry.timer.id, entry.timer.due_at) for entry in bot.journal.timers()] == [
        (first, opened + 15 * MINUTE),
        ("overdue:acme/widgets#1:P0:2h", opened + 2 * HOUR),
        (second, opened + 4 * HOUR),
    ]

    bot.advance(15 * MINUTE - 1)
    assert notices(bot, pull, first) == []
    bot.advance(1)
    assert notices(bot, pull, first) == [
        "@acme/engineering-leads @acme/on-call-managers: this **P0** hotfix has been open "
        "for **15m**. Deadline 2026-12-04 22:30 UTC (2h after opening): **1h45m left**.\n\n"
        "`hotfix-policy`: Waiting for approval: Engineering Lead and On-call Manager"
    ]

    bot.advance(MINUTE)
    bot.pull_request(pull.number, "synchronize")  # evaluated again: scheduling nothing anew
    bot.repo.merge_pull(pull.number)
    bot.pull_request(pull.number, "closed")
    bot.advance(4 * HOUR)

    assert len(notices(bot, pull, first)) == 1
    assert notices(bot, pull, second) == []  # it fired after the merge, and said nothing
    fired = {entry.id: entry.status for entry in bot.journal.recent() if entry.event == "timer"}
    assert fired == {
        first: "done",
        "tagged:acme/widgets#1:v1.2.4": "done",  # the open hotfixes evaluated after the tag
        "overdue:acme/widgets#1:P0:2h": "done",
        second: "done",
    }
    # The waiting ones first, then the others latest due first.
    assert [(entry.timer.kind, entry.status) for entry in bot.journal.timers()] == [
        ("incident-report-due", "scheduled"),  # a day after the merge
        ("escalation", "fired"),
        ("overdue", "fired"),
        ("tagged", "fired"),
        ("escalation", "fired"),
    ]


def test_a_late_step_mentions_who_is_left_the_author_and_others_and_says_how_far_past(
    bot: Bot,
) -> None:
    add_teams(bot, "engineering-leads")
    config_on_main(
        bot,
        "severities:\n  P1:\n    deadline: 1h\n    approvals:\n"
        "      - {name: Engineering Lead, team: engineering-leads}\n"
        "      - {name: Maintainers, users: [dev, alice, bob]}\n"
        "    escalation:\n"
        "      - {after: 90m, notify: [approvers, author, '@acme/sre']}\n",
        "A P1 policy of our own",
    )
    pull = bot.open_hotfix()  # P1, by dev
    bot.pull_request(pull.number, "opened")
    bot.approve(pull.number, "lead")

    bot.advance(90 * MINUTE)

    assert notices(bot, pull, "escalation:acme/widgets#1:P1:1h30m") == [
        "@alice @bob @dev @acme/sre: this **P1** hotfix has been open for **1h30m**. "
        "Deadline 2026-12-04 21:30 UTC (1h after opening): **overdue by 30m**.\n\n"
        "`hotfix-policy`: Overdue: Waiting for approval: Maintainers"
    ]


def test_a_step_with_every_group_filled_and_no_deadline_mentions_nobody_and_says_so(
    bot: Bot,
) -> None:
    add_teams(bot, "engineering-leads", "product-managers")
    # P2 has no deadline unless it is given one.
    config_on_main(
        bot,
        "severities:\n  P2:\n    hotfix_allowed: true\n"
        "    approvals:\n"
        "      - {name: Engineering Lead, team: engineering-leads}\n"
        "      - {name: Product Manager, team: product-managers}\n"
        "    escalation: [{after: 30m, notify: [approvers]}]\n",
        "P2 hotfixes, with no deadline",
    )
    pull = bot.open_hotfix(labels=("hotfix", "P2"))
    bot.pull_request(pull.number, "opened")
    bot.approve(pull.number, "lead")
    bot.approve(pull.number, "pm")

    bot.advance(30 * MINUTE)

    assert notices(bot, pull, "escalation:acme/widgets#1:P2:30m") == [
        "This **P2** hotfix has been open for **30m**. P2 has no deadline.\n\n"
        f"`hotfix-policy`: {all_rules_pass()}"
    ]


def test_a_step_of_a_severity_the_pull_request_no_longer_has_sends_nothing(bot: Bot) -> None:
    add_teams(bot, "engineering-leads", "on-call-managers", "product-managers")
    pull = open_p0(bot)
    bot.repo.remove_label(pull.number, "P0")
    bot.repo.add_labels(pull.number, "P1")
    bot.pull_request(pull.number, "labeled", label="P1")

    bot.advance(30 * MINUTE)

    assert notices(bot, pull, "escalation:acme/widgets#1:P0:15m") == []
    assert notices(bot, pull, "escalation:acme/widgets#1:P1:30m") == [
        "@acme/engineering-leads @acme/product-managers: this **P1** hotfix has been open "
        "for **30m**. Deadline 2026-12-05 20:30 UTC (24h after opening): **23h30m left**.\n\n"
        "`hotfix-policy`: Waiting for approval: Engineering Lead and Product Manager"
    ]
    fired = {entry.id: entry.status for entry in bot.journal.recent() if entry.event == "timer"}
    assert fired == {
        "escalation:acme/widgets#1:P0:15m": "done",
        "escalation:acme/widgets#1:P1:30m": "done",
    }


def test_a_person_posting_a_reminders_marker_first_does_not_silence_it_nor_the_p0_alert(
    bot: Bot,
) -> None:
    """Only an App's comment is taken for a notice no person is ever asked to post."""
    add_teams(bot, "engineering-leads", "on-call-managers")
    pull = bot.open_hotfix(labels=("hotfix", "P0"))
    for notice in ("escalation:acme/widgets#1:P0:15m", "p0-alert:acme/widgets#1"):
        bot.repo.add_comment(pull.number, "dev", f"<!-- hotfix-bot notice {notice} -->\nnothing")
    bot.pull_request(pull.number, "opened")

    bot.advance(16 * MINUTE)

    alerts = [c for c in bot.repo.comments_on(pull.number) if "CRITICAL INCIDENT" in c.body]
    [step] = [c for c in bot.repo.comments_on(pull.number) if "has been open for" in c.body]
    assert [comment.author for comment in (*alerts, step)] == ["hotfix-bot[bot]", "hotfix-bot[bot]"]
    assert step.body == (
        "<!-- hotfix-bot notice escalation:acme/widgets#1:P0:15m -->\n"
        "@acme/engineering-leads @acme/on-call-managers: this **P0** hotfix has been open for "
        "**16m**. Deadline 2026-12-04 22:30 UTC (2h after opening): **1h44m left**.\n\n"
        "`hotfix-policy`: Waiting for approval: Engineering Lead and On-call Manager"
    )


P0_STEP = "escalation:acme/widgets#1:P0:15m"


def relabel(bot: Bot, pull: FakePull, old: str, new: str) -> None:
    bot.repo.remove_label(pull.number, old)
    bot.repo.add_labels(pull.number, new)
    bot.pull_request(pull.number, "labeled", label=new)


def p0_reminder(open_for: str, left: str) -> str:
    return (
        f"@acme/engineering-leads @acme/on-call-managers: this **P0** hotfix has been open for "
        f"**{open_for}**. Deadline 2026-12-04 22:30 UTC (2h after opening): **{left} left**."
        "\n\n`hotfix-policy`: Waiting for approval: Engineering Lead and On-call Manager"
    )


def timer_runs(bot: Bot) -> list[tuple[str, str]]:
    """Each run of a timer, first first: its delivery's id and status."""
    return [(e.id, e.status) for e in reversed(bot.journal.recent()) if e.event == "timer"]


def escalation_steps(bot: Bot) -> dict[str, tuple[str, int]]:
    """Each escalation step's timer: its status, and how often it was scheduled again."""
    return {
        e.timer.id: (e.status, e.rearmed)
        for e in bot.journal.timers()
        if e.timer.kind == "escalation"
    }


def test_a_step_that_came_while_the_pull_request_was_of_another_severity_is_sent_when_it_is_again(
    bot: Bot,
) -> None:
    """It is not spent by coming at the wrong time, as a severity labelled late is not; once
    sent, it is spent, however often the severity changes."""
    add_teams(bot, "engineering-leads", "on-call-managers", "product-managers")
    pull = open_p0(bot)
    bot.advance(10 * MINUTE)
    relabel(bot, pull, "P0", "P1")
    bot.advance(10 * MINUTE)  # the P0 step came at 15m, while it was a P1
    forgotten = escalation_steps(bot)[P0_STEP]

    relabel(bot, pull, "P1", "P0")  # at 20m
    bot.advance(MINUTE)
    sent = notices(bot, pull, P0_STEP)
    relabel(bot, pull, "P0", "P1")
    bot.advance(MINUTE)
    relabel(bot, pull, "P1", "P0")
    bot.advance(30 * MINUTE)  # the P1 step comes at 30m, while it is a P0

    assert sent == [p0_reminder("20m", "1h40m")]  # at once, and on time from its labelling
    assert forgotten == ("forgotten", 0)
    assert notices(bot, pull, P0_STEP) == sent
    assert notices(bot, pull, "escalation:acme/widgets#1:P1:30m") == []
    assert timer_runs(bot) == [
        (P0_STEP, "done"),
        (f"{P0_STEP}#2", "done"),
        ("escalation:acme/widgets#1:P1:30m", "done"),
    ]
    assert escalation_steps(bot) == {
        P0_STEP: ("fired", 1),
        "escalation:acme/widgets#1:P1:30m": ("forgotten", 0),
        "escalation:acme/widgets#1:P0:4h": ("scheduled", 0),
        "escalation:acme/widgets#1:P1:2h": ("scheduled", 0),
    }


P0_LAST_STEP = "escalation:acme/widgets#1:P0:4h"
P0_OVERDUE = "overdue:acme/widgets#1:P0:2h"


def close(bot: Bot, pull: FakePull) -> None:
    bot.repo.close_pull(pull.number)
    bot.pull_request(pull.number, "closed")


def reopen(bot: Bot, pull: FakePull) -> None:
    bot.repo.reopen_pull(pull.number)
    bot.pull_request(pull.number, "reopened")


def test_a_step_that_came_while_the_pull_request_was_closed_is_sent_at_the_reopening_once(
    bot: Bot,
) -> None:
    """Closed, it may be reopened: the step is not spent by coming then. Once sent it is
    spent, however often the pull request is closed and reopened, and the merge spends the
    steps still to come."""
    pull = staffed_p0(bot)
    bot.advance(10 * MINUTE)
    close(bot, pull)
    bot.advance(10 * MINUTE)  # the step came at 15m, while closed
    while_closed = notices(bot, pull, P0_STEP)
    steps_while_closed = escalation_steps(bot)

    reopen(bot, pull)  # at 20m
    sent = notices(bot, pull, P0_STEP)
    bot.advance(MINUTE)
    close(bot, pull)
    bot.advance(MINUTE)
    reopen(bot, pull)
    bot.advance(MINUTE)
    bot.repo.merge_pull(pull.number)
    bot.pull_request(pull.number, "closed")
    bot.advance(4 * HOUR)  # the 4h step comes after the merge

    assert while_closed == []
    # At once, and on time from the reopening: nothing says it is late.
    assert sent == [p0_reminder("20m", "1h40m")]
    assert notices(bot, pull, P0_STEP) == sent
    assert notices(bot, pull, P0_LAST_STEP) == []
    assert steps_while_closed == {P0_STEP: ("forgotten", 0), P0_LAST_STEP: ("scheduled", 0)}
    assert [run for run in timer_runs(bot) if run[0].startswith("escalation:")] == [
        (P0_STEP, "done"),
        (f"{P0_STEP}#2", "done"),
        (P0_LAST_STEP, "done"),
    ]
    assert escalation_steps(bot) == {P0_STEP: ("fired", 1), P0_LAST_STEP: ("fired", 0)}


def test_a_pull_request_closed_for_good_sends_nothing_and_its_steps_wait_for_a_reopening(
    bot: Bot,
) -> None:
    pull = staffed_p0(bot)
    bot.advance(10 * MINUTE)
    close(bot, pull)
    bot.advance(2 * DAY)  # every timer came, while closed
    bot.approve(pull.number, "lead")  # evaluated: closed, it schedules nothing
    bot.advance(2 * DAY)
    runs_while_closed = timer_runs(bot)
    steps_while_closed = escalation_steps(bot)
    comments_while_closed = len(bot.repo.comments_on(pull.number))

    reopen(bot, pull)  # 4 days and 10 minutes after the opening
    bot.advance(MINUTE)

    assert runs_while_closed == [(P0_STEP, "done"), (P0_OVERDUE, "done"), (P0_LAST_STEP, "done")]
    assert comments_while_closed == 1  # the P0 alert, at the opening
    overdue = (
        "this **P0** hotfix has been open for **4d10m**. Deadline 2026-12-04 22:30 UTC "
        "(2h after opening): **overdue by 3d22h10m**.\n\n"
        "`hotfix-policy`: Overdue: Waiting for approval: On-call Manager"
    )
    assert notices(bot, pull, P0_STEP) == [f"@acme/on-call-managers: {overdue}"]
    assert notices(bot, pull, P0_LAST_STEP) == [f"@acme/on-call-managers @dev: {overdue}"]
    assert timer_runs(bot)[3:] == [(f"{P0_STEP}#2", "done"), (f"{P0_LAST_STEP}#2", "done")]
    assert steps_while_closed == {P0_STEP: ("forgotten", 0), P0_LAST_STEP: ("forgotten", 0)}


RECHECK = "config-recheck"
BROKEN_CONFIG = {".github/hotfix.yml": "severities: {P0: {deadline: 2 hours}}\n"}
FIXED_CONFIG = {".github/hotfix.yml": "severities: {P0: {deadline: 2h}}\n"}


def test_a_step_that_came_while_the_config_could_not_be_used_is_sent_once_it_is_fixed(
    bot: Bot,
) -> None:
    """The fix on main brings no event of the pull request's: the clock looks again by itself,
    5 minutes after the step came."""
    pull = staffed_p0(bot)
    bot.advance(10 * MINUTE)
    bot.repo.commit("main", BROKEN_CONFIG, "A typo")
    bot.advance(5 * MINUTE)  # the step comes at 15m
    unsent = notices(bot, pull, P0_STEP)
    bot.repo.commit("main", FIXED_CONFIG, "The typo fixed")
    bot.advance(5 * MINUTE - 1)
    before_the_recheck = notices(bot, pull, P0_STEP)
    bot.advance(1)  # 20m: the pull request is evaluated again
    bot.advance(HOUR)

    assert (unsent, before_the_recheck) == ([], [])
    assert notices(bot, pull, P0_STEP) == [p0_reminder("20m", "1h40m")]
    rechecks = [(e.timer.id, e.status) for e in bot.journal.timers() if e.timer.kind == RECHECK]
    assert rechecks == [("config-recheck:acme/widgets#1:P0:15m:1", "fired")]


def test_a_config_that_stays_unusable_is_looked_at_again_for_an_hour_then_at_the_next_event(
    bot: Bot,
) -> None:
    pull = staffed_p0(bot)
    opened = bot.clock.now if bot.clock else 0
    bot.repo.commit("main", BROKEN_CONFIG, "A typo")
    bot.advance(15 * MINUTE)
    for _ in range(24):  # 2 hours: evaluated again every 5 minutes, 12 times, then no more
        bot.advance(5 * MINUTE)
    rechecks = sorted(
        (e.timer.due_at, e.status) for e in bot.journal.timers() if e.timer.kind == RECHECK
    )
    bot.repo.commit("main", FIXED_CONFIG, "The typo fixed")
    bot.advance(HOUR)
    unsent = notices(bot, pull, P0_STEP)
    bot.pull_request(pull.number, "synchronize")
    bot.advance(MINUTE)

    assert rechecks == [(opened + 15 * MINUTE + n * 5 * MINUTE, "fired") for n in range(1, 13)]
    assert unsent == []
    assert notices(bot, pull, P0_STEP) == [  # at the synchronize, 3h15m after opening
        "@acme/engineering-leads @acme/on-call-managers: this **P0** hotfix has been open for "
        "**3h15m**. Deadline 2026-12-04 22:30 UTC (2h after opening): **overdue by 1h15m**."
        "\n\n`hotfix-policy`: Overdue: Waiting for approval: Engineering Lead and On-call Manager"
    ]


def test_reviews_are_requested_once_from_each_group_never_from_the_author(bot: Bot) -> None:
    add_teams(bot, "engineering-leads")
    bot.fake.teams[("acme", "engineering-leads")].members.append("dev")  # the author is in it
    config_on_main(
        bot,
        "severities:\n  P1:\n    approvals:\n"
        "      - {name: Engineering Lead, team: engineering-leads}\n"
        "      - {name: Maintainers, users: [alice, dev, bob], count: 2}\n",
        "Maintainers approve P1 hotfixes",
    )
    pull = bot.open_hotfix()  # P1, by dev

    bot.pull_request(pull.number, "opened")
    bot.approve(pull.number, "alice")
    bot.pull_request(pull.number, "synchronize")

    asked = bot.fake.requests_to("POST", REQUESTS)
    assert [request.json for request in asked] == [
        {"reviewers": ["alice", "bob"], "team_reviewers": ["engineering-leads"]}
    ]
    assert (pull.requested_reviewers, pull.requested_teams) == (["bob"], ["engineering-leads"])
    summary = bot.policy_run(pull.head_sha).output["summary"]
    assert (
        "**Review requests** (made once for P1):\n"
        "- Engineering Lead: asked team engineering-leads\n"
        "- Maintainers: asked alice, bob\n\n"
        "Config: .github/hotfix.yml on main\n\n| Rule |"
    ) in summary


def test_with_request_reviews_false_nobody_is_asked_and_the_reminders_still_come(bot: Bot) -> None:
    add_teams(bot, "engineering-leads", "on-call-managers")
    config_on_main(bot, "severities: {P0: {request_reviews: false}}\n", "Quiet")

    pull = open_p0(bot)
    bot.advance(15 * MINUTE)

    assert bot.fake.requests_to("POST", REQUESTS) == []
    assert (pull.requested_reviewers, pull.requested_teams) == ([], [])
    summary = bot.policy_run(pull.head_sha).output["summary"]
    assert "Review requests" not in summary
    assert notices(bot, pull, "escalation:acme/widgets#1:P0:15m")[0].startswith(
        "@acme/engineering-leads @acme/on-call-managers: this **P0** hotfix has been open for "
        "**15m**."
    )


def test_a_group_only_the_author_could_fill_fails_but_the_other_groups_are_asked_and_reminded(
    bot: Bot,
) -> None:
    add_teams(bot, "engineering-leads")
    config_on_main(
        bot,
        "severities:\n  P1:\n    approvals:\n"
        "      - {name: Engineering Lead, team: engineering-leads}\n"
        "      - {name: Owner, users: [dev]}\n",
        "The owner approves P1 hotfixes",
    )
    pull = bot.open_hotfix()  # P1, by dev: the owner

    bot.pull_request(pull.number, "opened")

    asked = bot.fake.requests_to("POST", REQUESTS)
    assert [request.json for request in asked] == [{"team_reviewers": ["engineering-leads"]}]
    run = bot.policy_run(pull.head_sha)
    assert (run.conclusion, run.output["title"]) == ("failure", "1 of 6 rules fails: approvals")
    summary = run.output["summary"]
    assert (
        "**Review requests** (made once for P1):\n"
        "- Engineering Lead: asked team engineering-leads\n\n"
    ) in summary
    assert summary.endswith(
        "### `approvals`\n\nOwner cannot be filled: the author cannot approve their own "
        "hotfix\n\nList more users for Owner under severities.P1 in .github/hotfix.yml on main, "
        "then re-run this check; or have someone else open the pull request"
    )
    bot.advance(30 * MINUTE)
    assert notices(bot, pull, "escalation:acme/widgets#1:P1:30m") == [
        "@acme/engineering-leads: this **P1** hotfix has been open for **30m**. "
        "Deadline 2026-12-05 20:30 UTC (24h after opening): **23h30m left**.\n\n"
        "`hotfix-policy`: 1 of 6 rules fails: approvals"
    ]


def test_a_new_severity_asks_its_own_groups_and_a_filled_group_is_not_asked(bot: Bot) -> None:
    add_teams(bot, "engineering-leads", "on-call-managers", "product-managers")
    pull = bot.open_hotfix()  # P1
    bot.pull_request(pull.number, "opened")
    bot.approve(pull.number, "lead")

    bot.repo.remove_label(pull.number, "P1")
    bot.repo.add_labels(pull.number, "P0")
    bot.pull_request(pull.number, "labeled", label="P0")

    asked = [request.json for request in bot.fake.requests_to("POST", REQUESTS)]
    assert asked == [
        {"team_reviewers": ["engineering-leads", "product-managers"]},
        {"team_reviewers": ["on-call-managers"]},  # Engineering Lead is filled for P0
    ]


def test_a_team_github_refuses_is_shown_in_the_summary_and_the_others_are_asked(bot: Bot) -> None:
    add_teams(bot, "engineering-leads")  # on-call-managers has no access to the repository
    pull = open_p0(bot)
    bot.pull_request(pull.number, "synchronize")

    asked = [(request.json, request.status) for request in bot.fake.requests_to("POST", REQUESTS)]
    assert asked == [
        ({"team_reviewers": ["engineering-leads", "on-call-managers"]}, 422),
        ({"team_reviewers": ["engineering-leads"]}, 201),
        ({"team_reviewers": ["on-call-managers"]}, 422),
    ]
    run = bot.policy_run(pull.head_sha)
    assert (run.status, run.output["title"]) == (
        "in_progress",
        "Waiting for approval: Engineering Lead and On-call Manager",
    )
    assert (
        "**Review requests** (made once for P0):\n"
        "- Engineering Lead: asked team engineering-leads\n"
        "- On-call Manager: GitHub refused to ask team on-call-managers (GitHub answered 422 "
        f"to POST {REQUESTS}: {REFUSED}); ask them yourself\n\n"
    ) in run.output["summary"]
    assert {entry.status for entry in bot.journal.recent()} == {"done"}


WAITING = "Waiting for approval: Engineering Lead and On-call Manager"
ASKED_BOTH = (
    "**Review requests** (made once for P0):\n"
    "- Engineering Lead: asked team engineering-leads\n"
    "- On-call Manager: asked team on-call-managers\n\n"
)
BOTH_TEAMS = {"team_reviewers": ["engineering-leads", "on-call-managers"]}


def review_request_rows(bot: Bot, pull: FakePull) -> list[str]:
    """The review requests' rows of `pull`'s timeline, as the state store keeps them."""
    stored = asyncio.run(bot.journal.get_state(f"timeline:acme/widgets#{pull.number}"))
    return [row["text"] for row in json.loads(stored or "[]") if row["kind"] == "review-request"]


@pytest.mark.parametrize("asked", [False, True], ids=["not asked", "asked, answer lost"])
def test_a_review_request_github_fails_once_does_not_hold_the_run_back_and_is_made_by_the_retry(
    bot: Bot, clock: Clock, asked: bool
) -> None:
    add_teams(bot, "engineering-leads", "on-call-managers")
    # `asked`: GitHub made the request, but its answer was a 502.
    bot.fake.inject("POST", f"{REQUESTS}$", status=502, times=1, apply=asked)
    pull = bot.open_hotfix(labels=("hotfix", "P0"))
    bot.send("pull_request", bot.fake.pull_request_event(bot.repo, pull.number, "opened"))

    failed = first_attempt_failed(bot)

    # The run is written all the same, telling of no request yet: it may pass.
    run = bot.policy_run(pull.head_sha)
    assert (run.status, run.output["title"]) == ("in_progress", WAITING)
    assert "**Review requests**" not in run.output["summary"]
    assert (failed.status, failed.attempts, failed.last_error) == (
        "queued",
        1,
        f"GitHub answered 502 to POST {REQUESTS}: Bad Gateway",
    )

    entry = tried_to_the_end(bot, clock)

    assert (entry.status, entry.attempts) == ("done", 2)
    asked_for = [(r.json, r.status) for r in bot.fake.requests_to("POST", REQUESTS)]
    assert asked_for == [(BOTH_TEAMS, 502), (BOTH_TEAMS, 201)]
    assert_both_teams_asked(bot, pull)

    # Asked: later evaluations ask nothing more.
    bot.pull_request(pull.number, "synchronize")
    assert len(bot.fake.requests_to("POST", REQUESTS)) == 2


def assert_both_teams_asked(bot: Bot, pull: FakePull) -> None:
    """GitHub holds both teams' review requests, and the run and the timeline say so."""
    assert pull.requested_teams == ["engineering-leads", "on-call-managers"]
    assert ASKED_BOTH in bot.policy_run(pull.head_sha).output["summary"]
    assert review_request_rows(bot, pull) == [
        "Review requested for Engineering Lead: team engineering-leads",
        "Review requested for On-call Manager: team on-call-managers",
    ]


def test_a_review_request_github_fails_through_every_attempt_is_shown_then_made_next_time(
    bot: Bot, clock: Clock
) -> None:
    add_teams(bot, "engineering-leads", "on-call-managers")
    failing = bot.fake.inject("POST", f"{REQUESTS}$", status=502, times=None)
    pull = bot.open_hotfix(labels=("hotfix", "P0"))
    bot.send("pull_request", bot.fake.pull_request_event(bot.repo, pull.number, "opened"))

    entry = tried_to_the_end(bot, clock)

    # The last attempt shows it on the run, to be asked again, and the delivery is done.
    assert (entry.status, entry.attempts) == ("done", 8)
    # One request an attempt: a 5xx says nothing of one group, so the groups are not split.
    assert [r.json for r in bot.fake.requests_to("POST", REQUESTS)] == [BOTH_TEAMS] * 8
    failure = f"GitHub answered 502 to POST {REQUESTS}: Bad Gateway"
    run = bot.policy_run(pull.head_sha)
    assert (run.status, run.output["title"]) == ("in_progress", WAITING)
    assert (
        "**Review requests** (made once for P0):\n"
        "- Engineering Lead: GitHub did not take the review request for team engineering-leads "
        f"({failure}); hotfix-bot asks again at the pull request's next event\n"
        "- On-call Manager: GitHub did not take the review request for team on-call-managers "
        f"({failure}); hotfix-bot asks again at the pull request's next event\n\n"
    ) in run.output["summary"]
    assert review_request_rows(bot, pull) == []  # nothing asked, nor refused for good

    # GitHub is back: the pull request's next event asks, and the run says so.
    failing.times = failing.hits
    bot.pull_request(pull.number, "synchronize")

    assert bot.fake.requests_to("POST", REQUESTS)[8:][0].status == 201
    assert_both_teams_asked(bot, pull)

    # Asked: later evaluations ask nothing more.
    bot.pull_request(pull.number, "synchronize")
    assert len(bot.fake.requests_to("POST", REQUESTS)) == 9
    assert {entry.status for entry in bot.journal.recent()} == {"done"}


def first_line(bot: Bot, pull: FakePull) -> str:
    return str(bot.policy_run(pull.head_sha).output["summary"].splitlines()[0])


def test_the_summary_says_when_it_reckoned_the_time_left_and_past_the_deadline_is_overdue(
    bot: Bot,
) -> None:
    pull = staffed_p0(bot)
    deadline = "**Severity P0**: merge within 2h of opening, by 2026-12-04 22:30 UTC"
    assert first_line(bot, pull) == f"{deadline}: 2h left as of 20:30 UTC."

    bot.advance(15 * MINUTE)  # the first escalation step evaluates again
    assert first_line(bot, pull) == f"{deadline}: 1h45m left as of 20:45 UTC."

    # The deadline: the overdue timer evaluates again, unasked, and that stays up until the
    # next evaluation, two hours on.
    bot.advance(105 * MINUTE)
    run = bot.policy_run(pull.head_sha)
    assert (run.status, run.output["title"]) == (
        "in_progress",
        "Overdue: Waiting for approval: Engineering Lead and On-call Manager",
    )
    assert first_line(bot, pull) == f"{deadline}: **overdue by 1s** as of 22:30 UTC."

    bot.advance(2 * HOUR)  # the second step, on the next day
    assert first_line(bot, pull) == f"{deadline}: **overdue by 2h** as of 2026-12-05 00:30 UTC."
    bot.approve(pull.number, "lead")
    bot.approve(pull.number, "oncall")
    run = bot.policy_run(pull.head_sha)
    assert (run.conclusion, run.output["title"]) == ("success", f"Overdue: {all_rules_pass()}")


def test_timers_due_while_hotfix_bot_was_down_fire_at_start_up_once_saying_how_late(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    pull = staffed_p0(bot)
    step = "escalation:acme/widgets#1:P0:15m"

    with caplog.at_level(logging.INFO, logger="hotfix_bot"):
        bot.restart(down_for=3 * HOUR + 27 * MINUTE)
    bot.restart()

    assert notices(bot, pull, step) == [
        "@acme/engineering-leads @acme/on-call-managers: this **P0** hotfix has been open "
        "for **3h27m**. Deadline 2026-12-04 22:30 UTC (2h after opening): "
        "**overdue by 1h27m**.\n\n"
        "`hotfix-policy`: Overdue: Waiting for approval: Engineering Lead and On-call Manager"
        "\n\nThis reminder was due at 2026-12-04 20:45 UTC; hotfix-bot sends it 3h12m late."
    ]
    fired = [record.getMessage() for record in caplog.records if "fired" in record.getMessage()]
    assert fired == [
        f"timer {step} due 2026-12-04 20:45:30 UTC fired 3h12m late",
        "timer overdue:acme/widgets#1:P0:2h due 2026-12-04 22:30:30 UTC fired 1h27m late",
    ]
    assert [entry.id for entry in bot.journal.recent() if entry.event == "timer"] == [
        "overdue:acme/widgets#1:P0:2h",
        step,
    ]


def test_a_step_due_while_hotfix_bot_was_down_for_seconds_says_how_late_too(
    bot_on_each_journal: Bot,
) -> None:
    """However short the outage: the step fired at the start-up, not at its time."""
    bot = bot_on_each_journal
    pull = staffed_p0(bot)
    bot.advance(14 * MINUTE + 50)  # 10 s before the step, due at 20:45:30

    bot.restart(down_for=30)

    assert notices(bot, pull, P0_STEP) == [
        p0_reminder("15m", "1h44m")
        + "\n\nThis reminder was due at 2026-12-04 20:45 UTC; hotfix-bot sends it 20s late."
    ]


def test_a_step_a_day_on_and_a_day_late_says_how_long_to_the_minute(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    add_teams(bot, "engineering-leads", "product-managers")
    config_on_main(
        bot,
        "severities:\n  P1:\n    deadline: 4d\n"
        "    escalation: [{after: 1d2h30m, notify: [approvers]}]\n",
        "A slow P1",
    )
    pull = bot.open_hotfix()  # P1, by dev
    bot.pull_request(pull.number, "opened")
    step = "escalation:acme/widgets#1:P1:1d2h30m"

    with caplog.at_level(logging.INFO, logger="hotfix_bot"):
        bot.restart(down_for=2 * DAY + 3 * HOUR + 35 * MINUTE)

    assert notices(bot, pull, step) == [
        "@acme/engineering-leads @acme/product-managers: this **P1** hotfix has been open "
        "for **2d3h35m**. Deadline 2026-12-08 20:30 UTC (4d after opening): "
        "**1d20h25m left**.\n\n"
        "`hotfix-policy`: Waiting for approval: Engineering Lead and Product Manager"
        "\n\nThis reminder was due at 2026-12-05 23:00 UTC; hotfix-bot sends it 1d1h5m late."
    ]
    fired = [record.getMessage() for record in caplog.records if "fired" in record.getMessage()]
    assert fired == [f"timer {step} due 2026-12-05 23:00:30 UTC fired 1d1h5m late"]


def test_an_evaluation_with_nothing_due_makes_no_request_for_the_clock(bot: Bot) -> None:
    pull = staffed_p0(bot)
    bot.advance(10 * MINUTE)

    with bot.counting() as requests:
        bot.approve(pull.number, "lead")

    calls = [f"{request.method} {request.path}" for request in requests]
    run = bot.policy_run(pull.head_sha)
    assert [call for call in calls if not call.startswith("GET ")] == [
        f"PATCH /repos/acme/widgets/check-runs/{run.id}"
    ]
    assert len(calls) <= 8, calls
    assert len(bot.journal.timers("scheduled")) == 3


# --- after the merge: the verbal approvals' confirmation reminder ------------------------------

REMINDER = "confirmation-reminder:acme/widgets#1:1d"


def verbal_approval(bot: Bot, pull: FakePull, approver: str) -> None:
    """dana, a maintainer, records `approver`'s approval given on the incident bridge."""
    comment = bot.repo.add_comment(pull.number, "dana", f"/hotfix verbal-approval @{approver}")
    bot.deliver("issue_comment", bot.fake.issue_comment_event(bot.repo, comment.id))


def merge_with_verbal_approvals(bot: Bot, *approvers: str) -> FakePull:
    """A P0 hotfix merged an hour after opening on the verbal approvals of `approvers`; lena's
    was recorded before a push, so it let nothing merge."""
    add_teams(bot, "engineering-leads", "on-call-managers")
    bot.fake.teams[("acme", "on-call-managers")].members.append("lena")
    bot.repo.collaborators.update({login: "write" for login in ("dana", "lead", "oncall")})
    pull = open_p0(bot)
    verbal_approval(bot, pull, "lena")
    bot.repo.commit("hotfix/fix-login", {"NOTES": "typo\n"}, "Typo")
    bot.pull_request(pull.number, "synchronize")
    for approver in approvers:
        verbal_approval(bot, pull, approver)
    bot.advance(HOUR)
    bot.repo.merge_pull(pull.number)
    bot.pull_request(pull.number, "closed")
    return pull


def confirm(bot: Bot, pull: FakePull, login: str) -> None:
    comment = bot.repo.add_comment(pull.number, login, "/hotfix confirm")
    bot.deliver("issue_comment", bot.fake.issue_comment_event(bot.repo, comment.id))


def test_a_day_after_the_merge_one_reminder_names_whoever_has_not_confirmed(bot: Bot) -> None:
    pull = merge_with_verbal_approvals(bot, "lead", "oncall")
    merged_at = bot.clock.now if bot.clock else 0
    bot.pull_request(pull.number, "closed")  # delivered again: scheduling nothing anew
    confirm(bot, pull, "lead")

    reminders = [entry for entry in bot.journal.timers() if entry.timer.id == REMINDER]
    assert [(entry.timer.due_at, entry.status) for entry in reminders] == [
        (merged_at + 24 * HOUR, "scheduled")
    ]
    bot.advance(24 * HOUR - 1)
    assert notices(bot, pull, REMINDER) == []
    bot.advance(1)
    assert notices(bot, pull, REMINDER) == [
        "@oncall: a verbal approval recorded for you let hotfix #1 merge, and it is still "
        "unconfirmed. Please approve the pull request or comment `/hotfix confirm`."
    ]

    asyncio.run(bot.journal.redeliver(REMINDER))  # `hotfix-bot redeliver`
    bot.settle()
    assert len(notices(bot, pull, REMINDER)) == 1
    assert [entry.status for entry in bot.journal.timers() if entry.timer.id == REMINDER] == [
        "fired"
    ]


def test_a_reminder_due_while_hotfix_bot_was_down_says_how_late_it_is(bot: Bot) -> None:
    pull = merge_with_verbal_approvals(bot, "lead")

    bot.restart(down_for=26 * HOUR + 5 * MINUTE)  # merged at 21:30:30, due a day later

    assert notices(bot, pull, REMINDER) == [
        "@lead: a verbal approval recorded for you let hotfix #1 merge, and it is still "
        "unconfirmed. Please approve the pull request or comment `/hotfix confirm`.\n\n"
        "This reminder was due at 2026-12-05 21:30 UTC; hotfix-bot sends it 2h5m late."
    ]


def test_the_reminder_on_a_rollback_names_it_a_rollback(bot: Bot) -> None:
    add_teams(bot, "engineering-leads", "on-call-managers")
    bot.repo.collaborators.update({"dana": "write"})
    hotfix = open_p0(bot)
    bot.approve(hotfix.number, "lead")
    bot.approve(hotfix.number, "oncall")
    bot.repo.merge_pull(hotfix.number)
    bot.pull_request(hotfix.number, "closed")
    rollback = bot.repo.revert_pull(hotfix.number, author="dana")
    bot.repo.commit(rollback.head_ref, {"VERSION": "1.2.5\n"}, "Ship the rollback as 1.2.5")
    bot.pull_request(rollback.number, "opened")
    verbal_approval(bot, rollback, "oncall")  # enough for a rollback of a P0 hotfix
    bot.repo.merge_pull(rollback.number)
    bot.pull_request(rollback.number, "closed")

    bot.advance(24 * HOUR)

    reminder = f"confirmation-reminder:acme/widgets#{rollback.number}:1d"
    assert notices(bot, rollback, reminder) == [
        f"@oncall: a verbal approval recorded for you let rollback #{rollback.number} merge, "
        "and it is still unconfirmed. Please approve the pull request or comment "
        "`/hotfix confirm`."
    ]


def test_no_reminder_when_every_verbal_approval_is_confirmed_by_then(bot: Bot) -> None:
    pull = merge_with_verbal_approvals(bot, "lead", "oncall")
    confirm(bot, pull, "oncall")
    bot.repo.review(pull.number, "lead", "APPROVED")  # confirms too
    bot.deliver("pull_request_review", bot.fake.review_event(bot.repo, pull.number))

    bot.advance(24 * HOUR)

    assert notices(bot, pull, REMINDER) == []
    fired = {entry.id: entry.status for entry in bot.journal.recent() if entry.event == "timer"}
    assert fired[REMINDER] == "done"


# --- a timer whose run cannot finish: GitHub refuses, asks for a long wait, or keeps failing --

ESCALATION = "escalation:acme/widgets#1:P1:30m"  # due 2026-12-04 21:00:30 UTC
PULL = "/repos/acme/widgets/pulls/1"
P1_REMINDER = (
    "@acme/engineering-leads @acme/product-managers: this **P1** hotfix has been open for "
    "**{open_for}**. Deadline 2026-12-05 20:30 UTC (24h after opening): **{left} left**.\n\n"
    "`hotfix-policy`: Waiting for approval: Engineering Lead and Product Manager\n\n"
    "This reminder was due at 2026-12-04 21:00 UTC; hotfix-bot sends it {late} late."
)


def open_p1_almost_due(bot: Bot) -> FakePull:
    """A P1 hotfix opened at 20:30:30 UTC, a minute before its 30m escalation step."""
    add_teams(bot, "engineering-leads", "product-managers")
    pull = bot.open_hotfix()
    bot.pull_request(pull.number, "opened")
    bot.advance(29 * MINUTE)
    return pull


def finished(bot: Bot, delivery_id: str) -> JournalEntry:
    """The delivery's journal row once it is done or failed (`settle` waits for every one,
    a timer waiting for its next chance included)."""
    deadline = time.monotonic() + 20
    while True:
        entries = answered(bot.journal.recent, deadline - time.monotonic())
        [entry] = [entry for entry in entries if entry.id == delivery_id]
        if entry.status in ("done", "failed"):
            return entry
        assert time.monotonic() < deadline, f"the journal row stayed {entry}"
        time.sleep(0.01)


def rate_limit_until(bot: Bot, reset: float) -> None:
    """GitHub answers the next read of the pull request: rate limited until `reset`."""
    bot.fake.inject(
        "GET",
        rf"{PULL}$",
        status=403,
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(reset))},
        body={"message": "API rate limit exceeded for installation ID 1."},
    )


def test_a_step_github_rate_limits_for_20_minutes_is_sent_after_the_reset_saying_how_late(
    bot_on_each_journal: Bot, clock: Clock
) -> None:
    """The step does not fail, and does not hold the pull request's deliveries back while it
    waits: it runs again at the reset, after them."""
    bot = bot_on_each_journal
    pull = open_p1_almost_due(bot)
    reset = clock.now + 21 * MINUTE  # 21:20:30
    rate_limit_until(bot, reset)

    clock.now += MINUTE  # the step comes due
    waiting = next_chance(bot, clock, ESCALATION)

    assert (waiting.status, waiting.attempts, waiting.next_attempt_at, waiting.last_error) == (
        "queued",
        1,
        reset,
        f"GitHub answered 403 to GET {PULL}: API rate limit exceeded for installation ID 1; "
        "GitHub asked to wait until 2026-12-04 21:21 UTC (20m)",
    )
    pushed = bot.send(
        "pull_request", bot.fake.pull_request_event(bot.repo, pull.number, "synchronize")
    ).json()["delivery"]
    assert finished(bot, pushed).status == "done"  # not held back by the step
    assert notices(bot, pull, ESCALATION) == []

    clock.now = reset
    bot.settle()

    assert notices(bot, pull, ESCALATION) == [
        P1_REMINDER.format(open_for="50m", left="23h10m", late="20m")
    ]
    assert [(entry.id, entry.status, entry.attempts) for entry in bot.journal.recent()][:2] == [
        (ESCALATION, "done", 2),
        (pushed, "done", 1),
    ]


def test_a_step_that_fired_on_time_and_ran_after_a_short_wait_says_nothing_of_it(
    bot_on_each_journal: Bot, clock: Clock
) -> None:
    """hotfix-bot was up when the step came due: 40 s of GitHub's rate limit is no news."""
    bot = bot_on_each_journal
    pull = open_p1_almost_due(bot)
    reset = clock.now + MINUTE + 40
    rate_limit_until(bot, reset)

    clock.now += MINUTE  # the step comes due, and waits 40 s in line
    assert next_chance(bot, clock, ESCALATION).status == "done"

    assert notices(bot, pull, ESCALATION) == [
        P1_REMINDER.format(open_for="30m", left="23h29m", late="").split("\n\nThis")[0]
    ]
    assert [(entry.id, entry.attempts) for entry in bot.journal.recent()][:1] == [(ESCALATION, 2)]


def test_a_step_that_fired_on_time_and_ran_again_after_a_restart_says_nothing_of_it(
    bot_on_each_journal: Bot, clock: Clock, no_jitter: None
) -> None:
    """It came due while hotfix-bot was up (with several instances, another one may run its
    retry): a retry 5 s later, across a restart, is no news."""
    bot = bot_on_each_journal
    pull = open_p1_almost_due(bot)
    bot.fake.inject("GET", rf"{PULL}$", status=502)

    clock.now += MINUTE  # the step comes due, and its first attempt meets the 502
    wait_for(
        lambda: any(
            (e.id, e.status, e.attempts) == (ESCALATION, "queued", 1)
            for e in answered(bot.journal.recent, timeout=20)
        )
    )
    bot.restart(down_for=5)

    assert notices(bot, pull, ESCALATION) == [
        P1_REMINDER.format(open_for="30m", left="23h29m", late="").split("\n\nThis")[0]
    ]


def test_a_step_whose_attempts_ran_out_gets_another_chance_15_minutes_later(
    bot_on_each_journal: Bot, clock: Clock, no_jitter: None
) -> None:
    bot = bot_on_each_journal
    pull = open_p1_almost_due(bot)
    outage = bot.fake.inject("GET", rf"{PULL}$", status=502, times=None)

    clock.now += MINUTE  # the step comes due at 21:00:30, and fails 8 times in 127 s
    waiting = next_chance(bot, clock, ESCALATION)

    assert (waiting.status, waiting.attempts, waiting.next_attempt_at - clock.now) == (
        "queued",
        8,
        15 * MINUTE,
    )
    assert waiting.last_error == f"GitHub answered 502 to GET {PULL}: Bad Gateway"
    bot.fake.faults.remove(outage)  # GitHub is back
    clock.now = waiting.next_attempt_at  # 21:17:37
    bot.settle()

    assert notices(bot, pull, ESCALATION) == [
        P1_REMINDER.format(open_for="47m", left="23h12m", late="17m")
    ]


def test_a_step_that_keeps_failing_gets_chances_ever_further_apart_then_fails_after_a_day(
    bot_on_each_journal: Bot, clock: Clock, no_jitter: None
) -> None:
    bot = bot_on_each_journal
    config_on_main(
        bot,
        "severities:\n  P1:\n    escalation: [{after: 30m, notify: [author]}]\n",
        "One escalation step for P1",
    )
    open_p1_almost_due(bot)
    bot.fake.inject("GET", rf"{PULL}$", status=502, times=None)
    due = clock.now + MINUTE
    clock.now = due

    chances = []
    entry = next_chance(bot, clock, ESCALATION)
    while entry.status == "queued":
        chances.append(entry.next_attempt_at - due)
        clock.now = entry.next_attempt_at
        entry = next_chance(bot, clock, ESCALATION, entry.attempts)

    # 8 attempts in line (127 s), then each chance after as long again as it is late.
    assert chances == [127 + 900, 2 * 1027, 4 * 1027, 8 * 1027, 16 * 1027, 32 * 1027, 64 * 1027]
    assert (entry.status, entry.attempts, entry.last_error) == (
        "failed",
        15,
        f"GitHub answered 502 to GET {PULL}: Bad Gateway",
    )


def test_a_step_redelivered_by_hand_after_a_refusal_says_how_late_it_is_sent(
    bot_on_each_journal: Bot,
) -> None:
    bot = bot_on_each_journal
    pull = open_p1_almost_due(bot)
    bot.fake.inject("GET", rf"{PULL}$", status=403, body={"message": REFUSAL})

    bot.advance(MINUTE)  # the step comes due, and GitHub refuses: that will not pass

    [failed] = [entry for entry in bot.journal.recent() if entry.id == ESCALATION]
    assert (failed.status, failed.attempts, failed.last_error) == (
        "failed",
        1,
        f"GitHub answered 403 to GET {PULL}: {REFUSAL}",
    )
    bot.advance(26 * MINUTE)  # the App's permission is given back
    asyncio.run(bot.journal.redeliver(ESCALATION))  # `hotfix-bot redeliver`
    bot.settle()

    assert notices(bot, pull, ESCALATION) == [
        P1_REMINDER.format(open_for="56m", left="23h4m", late="26m")
    ]


def test_a_step_due_while_github_refuses_the_apps_credentials_is_sent_once_they_are_fixed(
    bot_on_each_journal: Bot, clock: Clock, no_jitter: None
) -> None:
    """A key rotated on GitHub before the new one is deployed: no retry in line helps, but
    the reminder is still owed once the admin deploys the key."""
    bot = bot_on_each_journal
    pull = open_p1_almost_due(bot)
    bot.fake.inject("GET", rf"{PULL}$", status=401, body={"message": "Bad credentials"})
    refusal = bot.fake.inject(
        "*", r"^/app(/|$)", status=401, times=None, body={"message": "Bad credentials"}
    )

    clock.now += MINUTE  # the step comes due: the token refused, then a new one
    waiting = next_chance(bot, clock, ESCALATION)

    assert (waiting.status, waiting.next_attempt_at - clock.now) == ("queued", 15 * MINUTE)
    assert waiting.last_error is not None
    assert waiting.last_error.startswith("GitHub refused the App's credentials (401")
    assert notices(bot, pull, ESCALATION) == []
    bot.fake.faults.remove(refusal)  # the new key deployed
    clock.now = waiting.next_attempt_at
    bot.settle()

    assert notices(bot, pull, ESCALATION) == [
        P1_REMINDER.format(open_for="45m", left="23h14m", late="15m")
    ]


SUSPENDED = "This installation has been suspended"  # GitHub's answer to a token request


def test_a_step_due_while_the_installation_is_suspended_is_held_then_sent_at_the_unsuspension(
    bot_on_each_journal: Bot, clock: Clock, no_jitter: None
) -> None:
    """Held, not retried: nothing is asked of GitHub for it while it waits, however long."""
    bot = bot_on_each_journal
    pull = open_p1_almost_due(bot)
    installation = bot.repo.installation_id
    bot.fake.suspend_installation(installation)  # the token in hand no longer works

    clock.now += MINUTE  # the step comes due at 21:00:30: 401, then the token is refused
    held = next_chance(bot, clock, ESCALATION)

    assert (held.status, held.attempts, held.next_attempt_at - clock.now, held.last_error) == (
        "queued",
        2,
        DAY,  # looked at again a day on, should the unsuspension never be delivered
        f"installation {installation} is suspended: GitHub answered 403 to POST "
        f"/app/installations/{installation}/access_tokens: {SUSPENDED}; "
        "held until it is unsuspended",
    )
    with bot.counting() as requests:
        clock.now += 6 * HOUR - 1
        time.sleep(1.5)  # the worker looks at the journal every second
    token = f"/app/installations/{installation}/access_tokens"
    # The 2h step came due meanwhile, and was held as well.
    assert [(request.path, request.status) for request in requests] == [(token, 403)]
    assert notices(bot, pull, ESCALATION) == []

    bot.fake.unsuspend_installation(installation)
    bot.deliver("installation", bot.fake.installation_event(installation, "unsuspend"))

    assert notices(bot, pull, ESCALATION) == [
        P1_REMINDER.format(open_for="6h30m", left="17h30m", late="6h")
    ]
    assert len(notices(bot, pull, "escalation:acme/widgets#1:P1:2h")) == 1
    assert (finished(bot, ESCALATION).status, finished(bot, ESCALATION).attempts) == ("done", 1)


def test_a_step_github_refuses_a_token_from_before_the_suspension_for_is_held_too(
    bot_on_each_journal: Bot, clock: Clock, no_jitter: None
) -> None:
    """GitHub may refuse the token in hand with `403` "suspended" rather than `401`: the step
    is held all the same, and sent at the unsuspension."""
    bot = bot_on_each_journal
    pull = open_p1_almost_due(bot)
    installation = bot.repo.installation_id
    bot.fake.inject("GET", rf"{PULL}$", status=403, body={"message": SUSPENDED})

    clock.now += MINUTE  # the step comes due at 21:00:30
    held = next_chance(bot, clock, ESCALATION)

    assert (held.status, held.attempts, held.next_attempt_at - clock.now, held.last_error) == (
        "queued",
        1,
        DAY,
        f"GitHub answered 403 to GET {PULL}: {SUSPENDED}; held until it is unsuspended",
    )
    clock.now += 10 * MINUTE
    bot.deliver("installation", bot.fake.installation_event(installation, "unsuspend"))

    assert notices(bot, pull, ESCALATION) == [
        P1_REMINDER.format(open_for="40m", left="23h20m", late="10m")
    ]


def test_a_delivery_queued_when_the_installation_was_suspended_fails_at_once_saying_so(
    bot: Bot, clock: Clock
) -> None:
    pull = open_p1_almost_due(bot)
    installation = bot.repo.installation_id
    bot.fake.suspend_installation(installation)

    pushed = bot.send(
        "pull_request", bot.fake.pull_request_event(bot.repo, pull.number, "synchronize")
    ).json()["delivery"]
    failed = next_chance(bot, clock, pushed)

    assert (failed.status, failed.attempts, failed.last_error) == (
        "failed",
        2,  # the token in hand refused (401), then a new one
        f"installation {installation} is suspended: GitHub answered 403 to POST "
        f"/app/installations/{installation}/access_tokens: {SUSPENDED}",
    )


def test_after_the_app_is_installed_again_the_clock_goes_on_under_the_new_installation(
    bot_on_each_journal: Bot, clock: Clock, no_jitter: None
) -> None:
    """The first timer to meet the old installation gone finds the new one and moves the
    repository's timers to it: the later ones ask nothing of the old one."""
    bot = bot_on_each_journal
    pull = open_p1_almost_due(bot)
    old = bot.repo.installation_id
    new = bot.fake.reinstall(old)

    clock.now += 3 * MINUTE  # the step came due 2 minutes ago: 401, then 404 for a token
    sent = next_chance(bot, clock, ESCALATION)

    assert (sent.status, sent.attempts) == ("done", 2)
    assert notices(bot, pull, ESCALATION) == [
        P1_REMINDER.format(open_for="32m", left="23h27m", late="2m")
    ]
    assert {entry.timer.installation_id for entry in bot.journal.timers("scheduled")} == {new}
    with bot.counting() as requests:
        bot.advance(HOUR + 30 * MINUTE)  # the 2h step
    assert len(notices(bot, pull, "escalation:acme/widgets#1:P1:2h")) == 1
    # The new installation's token is used again; the old one is neither asked nor looked for.
    assert [request.path for request in requests if "installation" in request.path] == []
