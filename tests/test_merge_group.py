"""The hotfix-policy check on merge queue groups, end to end against the fake GitHub
(docs/BEHAVIOUR.md, 'Merge queues')."""

from __future__ import annotations

import pytest
from support.harness import Bot
from support.titles import all_rules_pass, rules_fail

from sandbox import FakeCheckRun, FakeMergeGroup, FakePull

TEAMS = {"engineering-leads": ["lead"], "product-managers": ["pm"]}
WEB = "https://github.com/acme/widgets"


@pytest.fixture(autouse=True)
def teams(bot: Bot) -> None:
    for slug, members in TEAMS.items():
        bot.fake.add_team("acme", slug, members)


def approved_hotfix(bot: Bot) -> FakePull:
    """A P1 hotfix bumping VERSION to 1.2.4, approved by both groups: its check passes."""
    pull = bot.open_hotfix()
    for login in ("lead", "pm"):
        bot.repo.review(pull.number, login, "APPROVED")
    bot.pull_request(pull.number, "opened")
    assert bot.policy_run(pull.head_sha).conclusion == "success"
    return pull


def checks_requested(bot: Bot, group: FakeMergeGroup, head_ref: str | None = None) -> FakeCheckRun:
    """GitHub asks for the required checks of `group`, its ref written as `head_ref` when
    given; the group's hotfix-policy run."""
    payload = bot.fake.merge_group_event(bot.repo, group)
    if head_ref is not None:
        payload["merge_group"]["head_ref"] = head_ref
    bot.deliver("merge_group", payload)
    return bot.policy_run(group.head_sha)


def lead(pull: FakePull, found: str, then: str) -> str:
    """The first paragraph of a group's summary: what the pull request it adds is."""
    return (
        f"Pull request #{pull.number} (Fix) {found} on its head commit `{pull.head_sha[:7]}`"
        f"{then}\n\n---\n\n"
    )


MAY_MERGE = ", so this merge group may merge."
# How a group's summary ends its first paragraph when its pull request waits for approvals.
DROPPED_TILL_APPROVED = (
    ". A merge group cannot wait, so the merge queue removes it: add it to the queue again "
    "once the approvals below are in."
)


def assert_group_passes(run: FakeCheckRun, pull: FakePull) -> None:
    """The group's run succeeded as the hotfix it adds passes, and links to that hotfix."""
    assert (run.status, run.conclusion) == ("completed", "success")
    assert run.output["title"] == f"Pull request #{pull.number}: {all_rules_pass()}"
    assert run.output["summary"].startswith(lead(pull, "passes the hotfix policy", MAY_MERGE))
    assert run.details_url == f"{WEB}/pull/{pull.number}"


@pytest.mark.parametrize(
    "ref_form", ["refs/heads/gh-readonly-queue/...", "gh-readonly-queue/...", "upper-case sha"]
)
def test_a_group_adding_a_hotfix_that_passes_succeeds_on_the_groups_commit(
    bot: Bot, ref_form: str
) -> None:
    pull = approved_hotfix(bot)
    pull_run = bot.policy_run(pull.head_sha)
    pull_run_writes = len(pull_run.history)
    group = bot.repo.enqueue(pull.number)
    name, _, sha = group.branch.rpartition("-")
    head_ref = {
        "refs/heads/gh-readonly-queue/...": f"refs/heads/{group.branch}",
        "gh-readonly-queue/...": group.branch,
        "upper-case sha": f"refs/heads/{name}-{sha.upper()}",
    }[ref_form]

    run = checks_requested(bot, group, head_ref)

    assert_group_passes(run, pull)
    # The pull request's own table. The lines above it say the time left as of each
    # evaluation, which the real clock may have moved on by a second between the two.
    own = str(pull_run.output["summary"])
    assert run.output["summary"].endswith(own[own.index("| Rule |") :])
    assert len(pull_run.history) == pull_run_writes  # the pull request's own run is untouched


def test_a_group_adding_a_hotfix_that_no_longer_passes_fails_naming_it_and_the_rule(
    bot: Bot,
) -> None:
    pull = approved_hotfix(bot)
    group = bot.repo.enqueue(pull.number)
    # Queued while it passed; another hotfix has released 1.2.4 since, with no delivery
    # to this pull request.
    bot.repo.create_tag("v1.2.4", "main")

    run = checks_requested(bot, group)

    assert (run.status, run.conclusion) == ("completed", "failure")
    assert run.output["title"] == f"Pull request #{pull.number}: {rules_fail('version-bump')}"
    summary = run.output["summary"]
    assert summary.startswith(
        lead(
            pull,
            "does not pass the hotfix policy",
            ". The merge queue removes it: fix what is shown below, then add it to the queue "
            "again.",
        )
    )
    assert "| `version-bump` | ❌ fail |" in summary
    assert "v1.2.4" in summary.split("### `version-bump`", 1)[1]


def test_a_group_adding_a_hotfix_that_waits_for_approval_fails_naming_whom(bot: Bot) -> None:
    pull = approved_hotfix(bot)
    group = bot.repo.enqueue(pull.number)
    [_, pm_review] = bot.repo.pulls[pull.number].reviews
    bot.repo.dismiss_review(pull.number, pm_review.id)

    run = checks_requested(bot, group)

    assert (run.status, run.conclusion) == ("completed", "failure")
    assert run.output["title"] == (
        f"Pull request #{pull.number}: Waiting for approval: Product Manager"
    )
    assert run.output["summary"].startswith(
        lead(
            pull,
            "still waits for approval",
            DROPPED_TILL_APPROVED,
        )
    )
    assert "Product Manager: ask someone from team product-managers" in run.output["summary"]


@pytest.mark.parametrize("rerun", ["check_run", "check_suite"])
def test_a_rerun_once_the_approvals_are_in_turns_the_groups_run_to_success(
    bot: Bot, rerun: str
) -> None:
    pull = approved_hotfix(bot)
    pull_run = bot.policy_run(pull.head_sha)
    pull_run_writes = len(pull_run.history)
    group = bot.repo.enqueue(pull.number)
    [_, pm_review] = bot.repo.pulls[pull.number].reviews
    bot.repo.dismiss_review(pull.number, pm_review.id)
    failed = checks_requested(bot, group)
    assert failed.output["title"] == (
        f"Pull request #{pull.number}: Waiting for approval: Product Manager"
    )
    # The approval comes in; a review reaches the pull request's own run, not its group's.
    bot.repo.review(pull.number, "pm", "APPROVED")

    if rerun == "check_run":  # "Re-run" on the group's run
        bot.deliver("check_run", bot.fake.check_run_event(bot.repo, failed.id))
    else:  # "Re-run all checks" on the group's commit
        bot.deliver("check_suite", bot.fake.check_suite_event(bot.repo, group.head_sha))

    run = bot.policy_run(group.head_sha)
    assert run.id == failed.id
    assert_group_passes(run, pull)
    assert len(pull_run.history) == pull_run_writes  # the pull request's own run is untouched


def test_a_group_adding_a_pull_request_that_is_not_a_hotfix_succeeds(bot: Bot) -> None:
    bot.repo.create_branch("feature/search", "main")
    bot.repo.commit("feature/search", {"search.py": "print()\n"}, "Search")
    pull = bot.repo.open_pull("feature/search", "main", title="Fix", author="dev")
    group = bot.repo.enqueue(pull.number)

    run = checks_requested(bot, group)

    assert (run.status, run.conclusion) == ("completed", "success")
    assert run.output["title"] == f"Pull request #{pull.number}: Not a hotfix pull request"
    assert run.output["summary"].startswith(lead(pull, "is not a hotfix pull request", MAY_MERGE))


def test_each_group_of_a_queue_is_judged_by_the_pull_request_it_adds(bot: Bot) -> None:
    bot.repo.create_branch("feature/search", "main")
    bot.repo.commit("feature/search", {"search.py": "print()\n"}, "Search")
    feature = bot.repo.open_pull("feature/search", "main", title="Fix", author="dev")
    hotfix = bot.open_hotfix(labels=("hotfix", "P2"))  # P2 may not ship as a hotfix
    first, second = bot.repo.enqueue(feature.number), bot.repo.enqueue(hotfix.number)
    assert second.base_sha == first.head_sha

    assert checks_requested(bot, first).conclusion == "success"
    run = checks_requested(bot, second)

    assert (run.conclusion, run.output["title"]) == (
        "failure",
        f"Pull request #{hotfix.number}: {rules_fail('severity')}",
    )


def test_a_group_whose_ref_names_no_pull_request_fails_saying_so(bot: Bot) -> None:
    pull = approved_hotfix(bot)
    group = bot.repo.enqueue(pull.number)
    payload = bot.fake.merge_group_event(bot.repo, group)
    payload["merge_group"]["head_ref"] = "refs/heads/gh-readonly-queue/main/unknown"

    with bot.counting() as requests:
        bot.deliver("merge_group", payload)

    run = bot.policy_run(group.head_sha)
    assert (run.status, run.conclusion) == ("completed", "failure")
    assert run.output["title"] == "No pull request named by this merge group"
    assert run.output["summary"] == (
        "The merge group's ref `refs/heads/gh-readonly-queue/main/unknown` is not of the form "
        "`refs/heads/gh-readonly-queue/<base>/pr-<number>-<sha>`, so hotfix-bot cannot tell "
        "which pull request it adds, nor whether that one is a hotfix that passes the policy. "
        "Rather than let an unchecked change into the branch, the group fails: the merge "
        "queue removes it and goes on with the next."
    )
    # No pull request was read: there is none to read.
    assert not [request for request in requests if "/pulls" in request.path]


def test_a_destroyed_group_is_ignored_at_the_intake(bot: Bot) -> None:
    pull = approved_hotfix(bot)
    group = bot.repo.enqueue(pull.number)
    payload = bot.fake.merge_group_event(bot.repo, group, "destroyed", reason="dequeued")

    with bot.counting() as requests:
        response = bot.send("merge_group", payload, delivery_id="destroyed-1")
        bot.settle()

    assert response.json() == {"delivery": "destroyed-1", "status": "ignored"}
    assert bot.repo.runs_named("hotfix-policy", group.head_sha) == []
    assert requests == []
