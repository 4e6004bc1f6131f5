"""The incident clock as people move a hotfix pull request around, on the fake GitHub and a
clock the test moves (docs/BEHAVIOUR.md, 'The incident clock'): relabelled, unlabelled,
its config changed on the production branch, hotfix-bot down while steps come due, merged
just before its deadline."""

from __future__ import annotations

from support.harness import Bot

from sandbox import FakePull

MINUTE, HOUR = 60, 3600
TEAMS = {"engineering-leads": ["lead"], "on-call-managers": ["oncall"], "product-managers": ["pm"]}
WAITING_P0 = "Waiting for approval: Engineering Lead and On-call Manager"


def open_hotfix(bot: Bot, severity: str, branch: str = "hotfix/fix-login") -> FakePull:
    """A hotfix by dev, opened now on the test's clock (2026-12-04 20:30:30 UTC)."""
    for slug, people in TEAMS.items():
        bot.fake.add_team("acme", slug, people)
    pull = bot.open_hotfix(branch=branch, labels=("hotfix", severity))
    bot.pull_request(pull.number, "opened")
    return pull


def minutes(bot: Bot, count: int) -> None:
    """Let `count` minutes pass one at a time, as they do, each timer firing in its minute."""
    for _ in range(count):
        bot.advance(MINUTE)


def relabel(bot: Bot, pull: FakePull, old: str, new: str) -> None:
    bot.repo.remove_label(pull.number, old)
    bot.repo.add_labels(pull.number, new)
    bot.pull_request(pull.number, "labeled", label=new)


def reminders(bot: Bot, pull: FakePull) -> dict[str, str]:
    """The escalation comments posted, by the step their marker names."""
    found = {}
    for comment in bot.repo.comments_on(pull.number):
        first, _, rest = comment.body.partition("\n")
        if first.startswith("<!-- hotfix-bot notice escalation:"):
            step = first.removeprefix("<!-- hotfix-bot notice ").removesuffix(" -->")
            assert step not in found, f"{step} posted twice"
            found[step] = rest
    return found


def summary_deadline(bot: Bot, pull: FakePull) -> str:
    return str(bot.policy_run(pull.head_sha).output["summary"]).splitlines()[0]


def timer_states(bot: Bot) -> dict[str, str]:
    return {entry.timer.id: entry.status for entry in bot.journal.timers()}


def push_to_main(bot: Bot, path: str, text: str) -> None:
    """A change to `path` merged on main, and GitHub's push of it."""
    before = bot.repo.branches["main"].sha
    bot.repo.commit("main", {path: text}, f"Change {path}", author="sre")
    bot.deliver("push", bot.fake.push_event(bot.repo, "refs/heads/main", before, sender="sre"))


def open_pulls_listed(bot: Bot) -> int:
    """How often hotfix-bot listed the open pull requests into main."""
    return sum(
        request.path == "/repos/acme/widgets/pulls" and request.query.get("base") == "main"
        for request in bot.fake.requests_to("GET", "/repos/acme/widgets/pulls")
    )


def test_a_config_changed_on_develop_lists_no_pull_requests(clocked_bot: Bot) -> None:
    """Git Flow changes the file on `develop` first: the file there names `main` as the
    production branch, so nothing is listed, whatever pull requests `develop` has."""
    bot = clocked_bot
    open_hotfix(bot, "P0")
    before = bot.repo.resolve("develop") or bot.repo.create_branch("develop", "main")
    bot.repo.commit(
        "develop", {".github/hotfix.yml": "severities:\n  P0:\n    deadline: 1h\n"}, "P0 1h"
    )

    with bot.counting() as requests:
        bot.deliver("push", bot.fake.push_event(bot.repo, "refs/heads/develop", before))

    assert not [r for r in requests if r.path == "/repos/acme/widgets/pulls"]


def test_a_deadline_shortened_on_main_makes_the_open_p0_overdue_at_the_new_deadline(
    clocked_bot: Bot,
) -> None:
    """The incident lead tightens P0 while a P0 is open: the open hotfix's clock follows the
    config at once, not at its next event, which may be its old deadline an hour later."""
    bot = clocked_bot
    pull = open_hotfix(bot, "P0")
    minutes(bot, 20)  # the 15m step is sent
    push_to_main(bot, "README.md", "Runbook\n")  # no config change: nothing to look at
    assert open_pulls_listed(bot) == 0
    push_to_main(
        bot,
        ".github/hotfix.yml",
        "severities:\n  P0:\n    deadline: 1h\n    escalation:\n"
        "      - {after: 15m, notify: [approvers]}\n"
        "      - {after: 45m, notify: ['@acme/sre']}\n",
    )
    assert open_pulls_listed(bot) == 1
    assert summary_deadline(bot, pull) == (
        "**Severity P0**: merge within 1h of opening, by 2026-12-04 21:30 UTC: "
        "40m left as of 20:50 UTC."
    )

    minutes(bot, 25)  # the step added, at 45m
    sent_at_45m = reminders(bot, pull).get("escalation:acme/widgets#1:P0:45m")
    minutes(bot, 15)  # the new deadline, at 1h

    assert sent_at_45m == (
        "@acme/sre: this **P0** hotfix has been open for **45m**. Deadline 2026-12-04 21:30 "
        "UTC (1h after opening): **15m left**.\n\n"
        f"`hotfix-policy`: {WAITING_P0}"
    )
    run = bot.policy_run(pull.head_sha)
    assert run.output["title"] == f"Overdue: {WAITING_P0}"
    assert summary_deadline(bot, pull) == (
        "**Severity P0**: merge within 1h of opening, by 2026-12-04 21:30 UTC: "
        "**overdue by 1s** as of 21:30 UTC."
    )
    assert list(reminders(bot, pull)) == [
        "escalation:acme/widgets#1:P0:15m",
        "escalation:acme/widgets#1:P0:45m",
    ]


def test_a_p1_made_a_p0_half_way_counts_the_p0_clock_from_the_opening(clocked_bot: Bot) -> None:
    """Severity changes; the opening does not: P0's steps and deadline count from it, the
    P1 steps still to come say nothing, and nothing is sent twice."""
    bot = clocked_bot
    pull = open_hotfix(bot, "P1")
    minutes(bot, 31)  # P1's 30m step is sent
    minutes(bot, 29)
    relabel(bot, pull, "P1", "P0")  # at 1h: P0's 15m step is due already
    at_relabel = dict(reminders(bot, pull))
    minutes(bot, 60)  # P0's deadline at 2h; P1's 2h step comes then too

    assert at_relabel["escalation:acme/widgets#1:P0:15m"] == (
        "@acme/engineering-leads @acme/on-call-managers: this **P0** hotfix has been open for "
        "**1h**. Deadline 2026-12-04 22:30 UTC (2h after opening): **1h left**.\n\n"
        f"`hotfix-policy`: {WAITING_P0}"
    )  # at once, and not late: it was scheduled only now
    assert list(reminders(bot, pull)) == [
        "escalation:acme/widgets#1:P1:30m",
        "escalation:acme/widgets#1:P0:15m",
    ]
    assert bot.policy_run(pull.head_sha).output["title"] == f"Overdue: {WAITING_P0}"
    assert timer_states(bot)["escalation:acme/widgets#1:P1:2h"] == "forgotten"


def test_a_p0_relabelled_p2_or_no_longer_a_hotfix_gets_no_reminder_and_no_overdue(
    clocked_bot: Bot,
) -> None:
    bot = clocked_bot
    relabelled = open_hotfix(bot, "P0")
    # Its own commit: pull requests on one commit share its run.
    unlabelled = bot.open_hotfix("fix-cache", {"cache.py": "\n"}, labels=("hotfix", "P0"))
    bot.pull_request(unlabelled.number, "opened")
    minutes(bot, 5)
    relabel(bot, relabelled, "P0", "P2")
    bot.repo.remove_label(unlabelled.number, "hotfix")
    bot.pull_request(unlabelled.number, "unlabeled", label="hotfix")

    bot.advance(5 * HOUR)  # every P0 step and deadline has come

    assert reminders(bot, relabelled) == {} and reminders(bot, unlabelled) == {}
    titles = [bot.policy_run(pull.head_sha).output["title"] for pull in (relabelled, unlabelled)]
    assert titles == ["1 of 6 rules fails: severity", "Not a hotfix pull request"]


def test_both_steps_due_while_hotfix_bot_was_down_are_each_posted_once_saying_how_late(
    clocked_bot: Bot,
) -> None:
    bot = clocked_bot
    pull = open_hotfix(bot, "P0")
    bot.restart(down_for=5 * HOUR)
    bot.restart()

    sent = reminders(bot, pull)
    assert [text.rsplit("\n\n", 1)[1] for text in sent.values()] == [
        "This reminder was due at 2026-12-04 20:45 UTC; hotfix-bot sends it 4h45m late.",
        "This reminder was due at 2026-12-05 00:30 UTC; hotfix-bot sends it 1h late.",
    ]
    assert list(sent) == ["escalation:acme/widgets#1:P0:15m", "escalation:acme/widgets#1:P0:4h"]
    assert bot.policy_run(pull.head_sha).output["title"] == f"Overdue: {WAITING_P0}"


def test_a_p0_merged_a_second_before_its_deadline_is_not_made_overdue_by_the_timer(
    clocked_bot: Bot,
) -> None:
    bot = clocked_bot
    pull = open_hotfix(bot, "P0")
    minutes(bot, 119)
    bot.advance(MINUTE - 1)
    bot.repo.merge_pull(pull.number)
    bot.pull_request(pull.number, "closed")
    bot.advance(5 * HOUR)

    run = bot.policy_run(pull.head_sha)
    assert run.output["title"] == f"Merged while {WAITING_P0[0].lower()}{WAITING_P0[1:]}"
    assert summary_deadline(bot, pull).endswith(": 1s left as of 22:30 UTC.")
    assert list(reminders(bot, pull)) == ["escalation:acme/widgets#1:P0:15m"]


def test_an_approval_that_came_while_a_step_waited_to_fire_is_left_out_of_its_mentions(
    clocked_bot: Bot,
) -> None:
    """hotfix-bot was down when the 15m step came due, and the lead approved meanwhile: the
    step reads the pull request as it is when it runs, so it reminds only the group left."""
    bot = clocked_bot
    pull = open_hotfix(bot, "P0")
    minutes(bot, 14)
    bot.repo.review(pull.number, "lead", "APPROVED")
    bot.restart(down_for=2 * MINUTE)
    bot.deliver("pull_request_review", bot.fake.review_event(bot.repo, pull.number))

    assert reminders(bot, pull) == {
        "escalation:acme/widgets#1:P0:15m": (
            "@acme/on-call-managers: this **P0** hotfix has been open for **16m**. Deadline "
            "2026-12-04 22:30 UTC (2h after opening): **1h44m left**.\n\n"
            "`hotfix-policy`: Waiting for approval: On-call Manager\n\n"
            "This reminder was due at 2026-12-04 20:45 UTC; hotfix-bot sends it 1m late."
        )
    }


def test_a_hotfix_made_a_draft_and_ready_again_keeps_its_clock_and_asks_nobody_twice(
    clocked_bot: Bot,
) -> None:
    bot = clocked_bot
    pull = open_hotfix(bot, "P0")
    minutes(bot, 10)
    bot.repo.pulls[pull.number].draft = True  # "Convert to draft": hotfix-bot is not told
    minutes(bot, 10)
    bot.repo.pulls[pull.number].draft = False
    bot.pull_request(pull.number, "ready_for_review")
    minutes(bot, 1)

    assert list(reminders(bot, pull)) == ["escalation:acme/widgets#1:P0:15m"]
    assert len(bot.fake.requests_to("POST", "/repos/acme/widgets/pulls/1/requested_reviewers")) == 1


def test_a_config_broken_on_main_fails_the_open_hotfixes_at_once(clocked_bot: Bot) -> None:
    """A typo pushed to main's `.github/hotfix.yml`: the open hotfix says so now, before it
    merges under a config its post-merge steps cannot use, not at its next event."""
    bot = clocked_bot
    pull = open_hotfix(bot, "P0")
    minutes(bot, 5)

    with bot.counting() as requests:
        push_to_main(bot, ".github/hotfix.yml", "severities:\n  P0:\n    deadline: 1 hour\n")

    run = bot.policy_run(pull.head_sha)
    problem = 'severities.P0.deadline: must be a duration such as 2h, 30m, 1d or 90s (got "1 hour"'
    assert (run.conclusion, run.output["title"]) == (
        "failure",
        f"Invalid .github/hotfix.yml: {problem}; write 1h)",
    )
    assert run.output["summary"].startswith(
        "`.github/hotfix.yml` on the base branch `main` cannot be used, so no rule was "
        f"checked:\n\n- {problem}; write 1h)\n\n"
    )
    assert open_pulls_listed(bot) == 1
    # acme's own file: read by the push's trunk check (is it a hotfix pushed?), once for both
    # the commit pushed and the one it replaced, and by the pull request's evaluation.
    org_file = "/repos/acme/.github/contents/.github/hotfix.yml"
    assert [r.path for r in requests].count(org_file) == 3
