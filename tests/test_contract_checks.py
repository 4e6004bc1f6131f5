"""What CONTRACT.md §3, §4.1, §4.2 and §9 fix about the checks, shown through the
contract's surfaces only: deliveries in, GitHub's state out."""

from __future__ import annotations

import pytest
from support.harness import Bot
from support.titles import rules_fail

from sandbox import FakePull

NOT_A_HOTFIX = ("completed", "neutral", "Not a hotfix pull request")


def opened(bot: Bot, branch: str, labels: tuple[str, ...]) -> tuple[FakePull, str]:
    """A pull request into main from `branch`, which bumps VERSION one patch, evaluated."""
    bot.repo.create_branch(branch, "main")
    head = bot.repo.commit(branch, {"VERSION": "1.2.4\n"}, "Fix the login")
    pull = bot.repo.open_pull(branch, "main", title="Fix login", author="dev", labels=labels)
    bot.pull_request(pull.number, "opened")
    return pull, head


def shown(bot: Bot, head: str) -> tuple[str, str | None, str]:
    run = bot.policy_run(head)
    return run.status, run.conclusion, run.output["title"]


def test_the_hotfix_label_alone_makes_a_hotfix_pull_request_until_it_is_removed(
    bot: Bot,
) -> None:
    pull, head = opened(bot, "fix-login", ("hotfix", "P1"))

    assert shown(bot, head) == ("completed", "failure", rules_fail("branch-name"))

    bot.repo.remove_label(pull.number, "hotfix")
    bot.pull_request(pull.number, "unlabeled", label="hotfix")

    assert shown(bot, head) == NOT_A_HOTFIX


@pytest.mark.parametrize("branch", ["HOTFIX/fix-login", "Hotfix/Fix-Login"])
def test_the_default_prefix_in_any_case_makes_a_hotfix_pull_request(
    bot: Bot, branch: str
) -> None:
    _, head = opened(bot, branch, ())

    assert shown(bot, head) == ("completed", "failure", rules_fail("branch-name", "labels"))


def test_two_severity_labels_fail_labels(bot: Bot) -> None:
    _, head = opened(bot, "hotfix/fix-login", ("hotfix", "P0", "P1"))

    assert shown(bot, head) == ("completed", "failure", rules_fail("labels"))
    assert "| `labels` | ❌ fail |" in bot.policy_run(head).output["summary"]


@pytest.mark.parametrize(
    ("branch", "labels"),
    [("fix-login", ("hotfix", "P1")), ("HOTFIX/fix-login", ("P1",))],
    ids=["by-label", "by-prefix-in-capitals"],
)
def test_a_hotfix_by_its_label_or_its_prefix_in_any_case_is_released_once_merged(
    bot: Bot, branch: str, labels: tuple[str, ...]
) -> None:
    bot.repo.create_branch("develop", "main")
    pull, _ = opened(bot, branch, labels)
    bot.repo.merge_pull(pull.number)

    bot.pull_request(pull.number, "closed")

    assert pull.merge_commit_sha is not None
    tag = bot.repo.tag_object("v1.2.4")
    assert tag is not None
    assert (tag.object_sha, tag.message) == (pull.merge_commit_sha, "Hotfix: Fix login")
    assert list(bot.repo.releases) == ["v1.2.4"]
    assert bot.repo.objects.is_ancestor(pull.merge_commit_sha, bot.repo.branches["develop"].sha)
    assert branch not in bot.repo.branches
    [run] = bot.repo.runs_named("hotfix-release", pull.merge_commit_sha)
    assert (run.status, run.conclusion, run.output["title"]) == (
        "completed",
        "success",
        "All steps done for v1.2.4",
    )
