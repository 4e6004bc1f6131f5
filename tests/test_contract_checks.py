"""The config, the `hotfix-policy` check and the `hotfix-release` run as their readers meet
them (docs/BEHAVIOUR.md, 'Repository configuration', 'The hotfix-policy check', 'Post-merge
steps'), shown from hotfix-bot's outside alone: deliveries in, GitHub's state out."""

from __future__ import annotations

import pytest
from support.harness import Bot
from support.titles import all_rules_pass, rules_fail

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
def test_the_default_prefix_in_any_case_makes_a_hotfix_pull_request(bot: Bot, branch: str) -> None:
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


def test_a_person_in_two_teams_fills_one_group_and_a_group_of_two_needs_two_people(
    bot: Bot,
) -> None:
    bot.fake.add_team("acme", "engineering-leads", ["lead", "lee"])
    bot.fake.add_team("acme", "on-call-managers", ["lead", "oncall"])
    policy = (
        "severities:\n  P0:\n    approvals:\n"
        "      - {name: Engineering Lead, team: engineering-leads, count: 2}\n"
        "      - {name: On-call Manager, team: on-call-managers, count: 1}\n"
    )
    bot.repo.commit("main", {".github/hotfix.yml": policy}, "Two leads for a P0")
    pull, head = opened(bot, "hotfix/fix-login", ("hotfix", "P0"))

    def approved_by(login: str) -> tuple[str, str | None, str]:
        bot.approve(pull.number, login)
        return shown(bot, head)

    # lead may sit in either group, not both: one more approval is still wanted from each.
    assert approved_by("lead") == (
        "in_progress",
        None,
        "Waiting for approval: Engineering Lead or On-call Manager",
    )
    assert approved_by("oncall") == (
        "in_progress",
        None,
        "Waiting for approval: Engineering Lead",
    )
    assert approved_by("lee")[1:] == ("success", all_rules_pass())


INVALID = "Invalid .github/hotfix.yml: "


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("relase: false\n", 'unknown key "relase" at top level (did you mean "release"?)'),
        ("release: maybe\n", 'release: must be true or false (got "maybe")'),
        ("branches: [main]\n", "branches: must be a mapping of keys (got a list)"),
        (
            "severities:\n  P1:\n    approvals:\n      - {name: Lead, team: leads, cnt: 1}\n",
            'unknown key "cnt" in severities.P1.approvals[0] (did you mean "count"?)',
        ),
        (
            "tag:\n  format: 'v{version}\n",
            "invalid YAML at line 2, column 11: the quoted value that begins here is not "
            "closed (found unexpected end of stream)",
        ),
    ],
    ids=["unknown-key", "wrong-type", "wrong-shape", "unknown-nested-key", "bad-yaml"],
)
def test_an_invalid_file_fails_the_check_naming_the_key_and_the_problem(
    bot: Bot, text: str, problem: str
) -> None:
    """Never the defaults in its place: P1's defaults would have the hotfix wait for
    approval."""
    bot.repo.commit("main", {".github/hotfix.yml": text}, "A broken policy")
    _, head = opened(bot, "hotfix/fix-login", ("hotfix", "P1"))

    assert shown(bot, head) == ("completed", "failure", INVALID + problem)


def test_an_invalid_file_fails_even_a_pull_request_the_defaults_would_call_no_hotfix(
    bot: Bot,
) -> None:
    """Which pull requests are hotfixes is the file's to say (its prefix and label)."""
    bot.repo.commit("main", {".github/hotfix.yml": "relase: false\n"}, "A broken policy")
    _, head = opened(bot, "feature/search", ())

    problem = 'unknown key "relase" at top level (did you mean "release"?)'
    assert shown(bot, head) == ("completed", "failure", INVALID + problem)


def test_every_rule_is_a_row_of_the_summary_with_its_result(bot: Bot) -> None:
    bot.fake.add_team("acme", "engineering-leads", ["lead"])
    bot.fake.add_team("acme", "product-managers", ["pm"])
    pull, head = opened(bot, "hotfix/fix-login", ("hotfix", "P1"))
    for login in ("lead", "pm"):
        bot.repo.review(pull.number, login, "APPROVED")
    bot.deliver("pull_request_review", bot.fake.review_event(bot.repo, pull.number))

    assert shown(bot, head) == ("completed", "success", all_rules_pass())
    table = bot.policy_run(head).output["summary"].split("\n\n| Rule |", 1)[1]
    assert table.splitlines() == [
        " Result | Found | Expected |",
        "| --- | --- | --- | --- |",
        "| `branch-name` | ✅ pass | hotfix/fix-login "
        "| a branch name that fully matches `^hotfix/[a-z0-9]+(-[a-z0-9]+)*$` |",
        "| `target-branch` | ✅ pass | main | main |",
        "| `labels` | ✅ pass | labels P1, hotfix | hotfix and exactly one of P0, P1, P2 |",
        "| `severity` | ✅ pass | P1 | a severity that allows a hotfix (P0, P1) |",
        "| `approvals` | ✅ pass | Engineering Lead: lead; Product Manager: pm "
        "| Engineering Lead: 1 approval from team engineering-leads; "
        "Product Manager: 1 approval from team product-managers |",
        "| `version-bump` | ✅ pass | VERSION: 1.2.3 on main, 1.2.4 on hotfix/fix-login "
        "| 1.2.4 (1.2.3 + 1 patch) in VERSION, and no tag v1.2.4 yet |",
    ]


def test_a_file_merges_over_the_defaults_key_by_key_and_its_list_replaces_the_default(
    bot: Bot,
) -> None:
    policy = (
        "labels:\n  severities: {P1: sev-1}\n"
        "severities:\n  P1:\n    approvals:\n      - {name: Owner, users: [alice]}\n"
    )
    bot.repo.commit("main", {".github/hotfix.yml": policy}, "Our own P1")
    pull, head = opened(bot, "hotfix/fix-login", ("hotfix", "sev-1"))

    assert shown(bot, head) == ("in_progress", None, "Waiting for approval: Owner")
    summary = bot.policy_run(head).output["summary"]
    # P1 keeps its default deadline; the other severities keep their default labels.
    assert summary.startswith("**Severity P1**: merge within 24h of opening, by ")
    assert "| hotfix and exactly one of P0, sev-1, P2 |" in summary

    bot.approve(pull.number, "alice")

    assert shown(bot, head) == ("completed", "success", all_rules_pass())
