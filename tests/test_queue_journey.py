"""A team whose production branch has a merge queue that requires `hotfix-policy`, end to
end against the fake GitHub (docs/BEHAVIOUR.md, 'Merge queues'): what the
queue's groups show while their pull requests change, merge, or break the glass."""

from __future__ import annotations

import logging

import pytest
from support.harness import Bot
from support.titles import all_rules_pass, rules_fail
from test_merge_group import DROPPED_TILL_APPROVED, MAY_MERGE, checks_requested, lead

from sandbox import FakeMergeGroup, FakePull

TEAMS = {
    "engineering-leads": ["lead"],
    "product-managers": ["pm"],
    "on-call-managers": ["oncall"],
}
REPORT = "<!-- hotfix-bot:hotfix-release -->"


@pytest.fixture(autouse=True)
def teams(bot: Bot) -> None:
    for slug, members in TEAMS.items():
        bot.fake.add_team("acme", slug, members)
    bot.repo.collaborators.update({"lead": "write", "oncall": "write", "dev": "write"})


def approved_hotfix(bot: Bot, branch: str = "hotfix/fix-login", **files: str) -> FakePull:
    """A P1 hotfix bumping VERSION to 1.2.4, approved by both of its groups, each approval
    delivered: its own check passes."""
    pull = bot.open_hotfix(branch, files=files)
    for login in ("lead", "pm"):
        bot.repo.review(pull.number, login, "APPROVED")
        bot.deliver("pull_request_review", bot.fake.review_event(bot.repo, pull.number))
    assert bot.policy_run(pull.head_sha).conclusion == "success"
    return pull


def queued_and_passing(bot: Bot) -> tuple[FakePull, FakeMergeGroup]:
    """`approved_hotfix` added to the merge queue: its group's run passes."""
    pull = approved_hotfix(bot)
    group = bot.repo.enqueue(pull.number)
    assert checks_requested(bot, group).conclusion == "success"
    return pull, group


def comment(bot: Bot, pull: FakePull, author: str, body: str) -> None:
    posted = bot.repo.add_comment(pull.number, author, body)
    bot.deliver("issue_comment", bot.fake.issue_comment_event(bot.repo, posted.id))


def group_runs(bot: Bot, group: FakeMergeGroup) -> list[tuple[str, str | None, str]]:
    return [
        (run.status, run.conclusion, run.output["title"])
        for run in bot.repo.runs_named("hotfix-policy", group.head_sha)
    ]


def test_an_approval_dismissed_while_queued_fails_the_group_so_the_queue_takes_it_out(
    bot: Bot,
) -> None:
    pull, group = queued_and_passing(bot)

    review = bot.repo.pulls[pull.number].reviews[0]  # the lead's
    bot.repo.dismiss_review(pull.number, review.id)
    bot.deliver(
        "pull_request_review",
        bot.fake.review_event(bot.repo, pull.number, review.id, action="dismissed"),
    )

    # Its own run waits again; the queue looks at the group's, which must not let it merge.
    assert bot.policy_run(pull.head_sha).status == "in_progress"
    run = bot.policy_run(group.head_sha)
    assert (run.status, run.conclusion, run.output["title"]) == (
        "completed",
        "failure",
        f"Pull request #{pull.number}: Waiting for approval: Engineering Lead",
    )
    assert run.output["summary"].startswith(
        lead(
            pull,
            "still waits for approval",
            DROPPED_TILL_APPROVED,
        )
    )


def test_a_severity_label_removed_while_queued_fails_the_group_naming_the_rule(
    bot: Bot,
) -> None:
    pull, group = queued_and_passing(bot)

    bot.repo.remove_label(pull.number, "P1")
    bot.pull_request(pull.number, "unlabeled", label="P1")

    assert group_runs(bot, group) == [
        ("completed", "failure", f"Pull request #{pull.number}: {rules_fail('labels')}")
    ]
    # Asked again, late or twice, GitHub gets the same one run.
    checks_requested(bot, group)
    checks_requested(bot, group)
    assert group_runs(bot, group) == [
        ("completed", "failure", f"Pull request #{pull.number}: {rules_fail('labels')}")
    ]


def test_a_change_that_keeps_the_pull_request_passing_leaves_its_group_as_it_was(
    bot: Bot,
) -> None:
    pull, group = queued_and_passing(bot)
    bot.repo.add_labels(pull.number, "customer-facing")

    with bot.counting() as requests:
        bot.pull_request(pull.number, "labeled", label="customer-facing")

    assert group_runs(bot, group) == [
        ("completed", "success", f"Pull request #{pull.number}: {all_rules_pass()}")
    ]
    own_run = bot.policy_run(pull.head_sha).id
    assert not [r for r in requests if "/git/matching-refs/" in r.path]
    assert {
        r.path for r in requests if r.method in ("POST", "PATCH") and "/check-runs" in r.path
    } <= {f"/repos/acme/widgets/check-runs/{own_run}"}


def test_a_group_that_failed_is_not_looked_for_again(bot: Bot) -> None:
    """Queued before its approvals, the hotfix's group fails and the queue drops it: its
    later evaluations have no group to fail, and spend no request looking for one."""
    pull = bot.open_hotfix("hotfix/fix-login")
    group = bot.repo.enqueue(pull.number)
    assert checks_requested(bot, group).conclusion == "failure"
    bot.repo.add_labels(pull.number, "customer-facing")

    with bot.counting() as requests:
        bot.pull_request(pull.number, "labeled", label="customer-facing")

    assert not [r for r in requests if "/git/matching-refs/" in r.path]


def test_github_refusing_the_groups_listing_leaves_them_and_the_delivery_done(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    """The pull request's own run shows its result; a refusal to list its groups is logged,
    not a failed delivery."""
    pull, group = queued_and_passing(bot)
    bot.fake.inject(
        "GET",
        r"/git/matching-refs/",
        status=403,
        times=None,
        body={"message": "Resource not accessible by integration"},
    )
    bot.repo.remove_label(pull.number, "P1")

    with caplog.at_level(logging.WARNING):
        bot.pull_request(pull.number, "unlabeled", label="P1")

    assert bot.policy_run(pull.head_sha).output["title"] == rules_fail("labels")
    assert group_runs(bot, group) == [
        ("completed", "success", f"Pull request #{pull.number}: {all_rules_pass()}")
    ]
    assert (
        f"pull request #{pull.number}: its merge groups not failed: GitHub answered 403 to GET "
        "/repos/acme/widgets/git/matching-refs/heads/gh-readonly-queue/main/"
        f"pr-{pull.number}-: Resource not accessible by integration"
    ) in caplog.messages
    assert "failed" not in {entry.status for entry in bot.journal.recent()}


def test_the_second_hotfix_to_the_same_version_fails_its_group_once_the_first_is_tagged(
    bot: Bot,
) -> None:
    first = approved_hotfix(bot, "hotfix/fix-login")
    second = approved_hotfix(bot, "hotfix/fix-search", **{"search.py": "print()\n"})
    ahead, behind = bot.repo.enqueue(first.number), bot.repo.enqueue(second.number)
    assert checks_requested(bot, ahead).conclusion == "success"
    warned = checks_requested(bot, behind)
    assert warned.conclusion == "success"
    assert "already holds version 1.2.4" in warned.output["summary"]

    # The queue merges the first group: main moves on to its commit, the pull request closes.
    bot.repo.merge_group(ahead)
    bot.deliver("push", bot.fake.push_event(bot.repo, "refs/heads/main", ahead.base_sha))
    bot.pull_request(first.number, "closed")
    bot.pull_request(first.number, "closed")  # delivered twice

    assert bot.repo.objects.peel(bot.repo.tags["v1.2.4"]) == ahead.head_sha
    # The post-merge steps ran once, keyed on the merged pull request.
    [release] = bot.repo.runs_named("hotfix-release", ahead.head_sha)
    assert release.conclusion == "success"
    assert [r.tag_name for r in bot.repo.releases.values()] == ["v1.2.4"]
    reports = [c for c in bot.repo.comments_on(first.number) if c.body.startswith(REPORT)]
    assert len(reports) == 1
    # 1.2.4 is the first's release now: the second's group must not merge as it is.
    assert group_runs(bot, behind) == [
        ("completed", "failure", f"Pull request #{second.number}: {rules_fail('version-bump')}")
    ]


def test_a_group_let_through_by_a_break_glass_says_so(bot: Bot) -> None:
    pull = bot.open_hotfix(labels=("hotfix", "P0"))
    comment(bot, pull, "lead", "/hotfix break-glass the database is down")
    group = bot.repo.enqueue(pull.number)

    run = checks_requested(bot, group)

    assert (run.conclusion, run.output["title"]) == (
        "success",
        f"Pull request #{pull.number}: Break-glass by @lead: the database is down",
    )
    assert run.output["summary"].startswith(
        lead(pull, "is let through by a break-glass, which waives what fails or waits,", MAY_MERGE)
    )


def test_the_warnings_advice_followed_literally_gets_the_second_hotfix_merged(bot: Bot) -> None:
    first = approved_hotfix(bot, "hotfix/fix-login")
    second = approved_hotfix(bot, "hotfix/fix-search", **{"search.py": "print()\n"})
    ahead, behind = bot.repo.enqueue(first.number), bot.repo.enqueue(second.number)
    checks_requested(bot, ahead)
    warned = checks_requested(bot, behind).output["summary"]
    assert warned.split("\n\n---\n\n")[0].endswith(
        f"Take #{second.number} out of the merge queue: once they have merged, bring "
        "`hotfix/fix-search` up to date with `main` (`git merge origin/main`), set the version "
        "to 1.2.5, and once its own hotfix-policy check passes on that commit (approvals count "
        "for the head commit only), add it to the queue again."
    )

    # Taken out; the first merges; the branch is brought up to date and set to 1.2.5.
    bot.repo.dequeue(second.number)
    bot.repo.merge_group(ahead)
    bot.pull_request(first.number, "closed")
    bot.repo.merge_refs("hotfix/fix-search", "main", "Merge origin/main", "dev")
    bot.repo.commit("hotfix/fix-search", {"VERSION": "1.2.5\n"}, "1.2.5")
    bot.pull_request(second.number, "synchronize")
    head = bot.repo.pulls[second.number].head_sha
    assert bot.policy_run(head).output["title"] == (
        "Waiting for approval: Engineering Lead and Product Manager"
    )
    for login in ("lead", "pm"):
        bot.repo.review(second.number, login, "APPROVED")
        bot.deliver("pull_request_review", bot.fake.review_event(bot.repo, second.number))
    assert bot.policy_run(head).conclusion == "success"

    again = bot.repo.enqueue(second.number)
    run = checks_requested(bot, again)
    assert (run.conclusion, run.output["title"]) == (
        "success",
        f"Pull request #{second.number}: {all_rules_pass()}",
    )
    bot.repo.merge_group(again)
    bot.pull_request(second.number, "closed")
    assert sorted(bot.repo.tags) == ["v1.2.4", "v1.2.5"]


def test_a_break_glass_withdrawn_while_queued_fails_the_group_it_let_through(bot: Bot) -> None:
    pull = bot.open_hotfix(labels=("hotfix", "P0"))
    comment(bot, pull, "lead", "/hotfix break-glass the database is down")
    group = bot.repo.enqueue(pull.number)
    assert checks_requested(bot, group).conclusion == "success"

    comment(bot, pull, "lead", "/hotfix break-glass off")

    assert group_runs(bot, group) == [
        (
            "completed",
            "failure",
            f"Pull request #{pull.number}: Waiting for approval: Engineering Lead and "
            "On-call Manager",
        )
    ]


def test_a_late_check_of_an_older_group_does_not_hide_the_one_the_pull_request_waits_in(
    bot: Bot,
) -> None:
    bot.repo.create_branch("feature/search", "main")
    bot.repo.commit("feature/search", {"search.py": "print()\n"}, "Search")
    feature = bot.repo.open_pull("feature/search", "main", title="Search", author="dev")
    pull = approved_hotfix(bot)
    bot.repo.enqueue(feature.number)
    older = bot.repo.enqueue(pull.number)
    late = bot.fake.merge_group_event(bot.repo, older)
    # The feature taken out of the queue, the hotfix's group is built again on main alone.
    [group] = bot.repo.dequeue(feature.number)
    assert group.head_sha != older.head_sha
    assert checks_requested(bot, group).conclusion == "success"
    bot.deliver("merge_group", late)  # the older group's request, delivered only now

    review = bot.repo.pulls[pull.number].reviews[0]
    bot.repo.dismiss_review(pull.number, review.id)
    bot.deliver(
        "pull_request_review",
        bot.fake.review_event(bot.repo, pull.number, review.id, action="dismissed"),
    )

    assert group_runs(bot, group) == [
        (
            "completed",
            "failure",
            f"Pull request #{pull.number}: Waiting for approval: Engineering Lead",
        )
    ]
