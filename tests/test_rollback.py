"""Rollback pull requests, end to end against the fake GitHub (docs/BEHAVIOUR.md,
"Rollbacks"): how `hotfix-policy` judges one, and what happens once it merges.

Each test starts from hotfix #1 (`Fix login`, P1), merged into main and released by the app
as v1.2.4, as a repository would be when someone wants it undone.
"""

from __future__ import annotations

import pytest
from support.harness import Bot

from sandbox import FakePull

BRANCH = "hotfix/fix-login"
REVERT_BRANCH = f"revert-1-{BRANCH}"
WEB = "https://github.com/acme/widgets"
TEAMS = {"engineering-leads": ["lead"], "on-call-managers": ["oncall"], "product-managers": ["pm"]}
NOTICE_MARKER = "<!-- hotfix-bot:rollback-notice #{number} -->"


@pytest.fixture(autouse=True)
def teams(bot: Bot) -> None:
    for slug, members in TEAMS.items():
        bot.fake.add_team("acme", slug, members)


@pytest.fixture
def hotfix(bot: Bot) -> FakePull:
    """Hotfix #1, merged into main and released as v1.2.4 by the app."""
    repo = bot.repo
    repo.commit("main", {"app.py": "def login(): ...\n"}, "Base")
    repo.create_branch("develop", "main")
    repo.create_branch(BRANCH, "main")
    repo.commit(BRANCH, {"VERSION": "1.2.4\n", "app.py": "def login(): fixed\n"}, "Fix login")
    pull = repo.open_pull(BRANCH, "main", title="Fix login", author="dev", labels=["hotfix", "P1"])
    repo.merge_pull(pull.number)
    bot.pull_request(pull.number, "closed")
    assert repo.releases["v1.2.4"].body == "Hotfix #1: Fix login"
    return pull


def revert_button(bot: Bot, hotfix: FakePull, bump: bool = True) -> FakePull:
    """The Revert button on the hotfix, clicked by dana; with `bump`, dana then ships the
    rollback as the next patch release."""
    revert = bot.repo.revert_pull(hotfix.number, author="dana")
    if bump:
        bot.repo.commit(revert.head_ref, {"VERSION": "1.2.5\n"}, "Ship the rollback as 1.2.5")
    bot.pull_request(revert.number, "opened")
    return revert


def approve(bot: Bot, pull: FakePull, login: str) -> None:
    bot.repo.review(pull.number, login, "APPROVED")
    bot.deliver("pull_request_review", bot.fake.review_event(bot.repo, pull.number))


def rows(*cells: tuple[str, str, str, str]) -> str:
    return "\n".join(
        ["| Rule | Result | Found | Expected |", "| --- | --- | --- | --- |"]
        + [
            f"| `{rule}` | {result} | {found} | {expected} |"
            for rule, result, found, expected in cells
        ]
    )


TARGET_MAIN = ("target-branch", "✅ pass", "main", "main")
ANY_P1_APPROVER = (
    "Engineering Lead or Product Manager: 1 approval from team engineering-leads or team "
    "product-managers"
)


def version_bump(found_on_head: str, result: str = "✅ pass") -> tuple[str, str, str, str]:
    return (
        "version-bump",
        result,
        f"VERSION: 1.2.4 on main, {found_on_head} on {REVERT_BRANCH}",
        "1.2.5 (1.2.4 + 1 patch) in VERSION, and no tag v1.2.5 yet",
    )


def rollback_header(recognised_by: str) -> str:
    return (
        f"**Rollback of #1** (Fix login), a P1 hotfix: this pull request is a rollback "
        f"because {recognised_by}.\n\n"
        "`branch-name`, `labels` and `severity` do not apply to a rollback: it is recognised "
        "by its branch or label, and its approvals follow the hotfix it rolls back "
        "(`rollback.approvals`).\n\n"
    )


REVERT_BUTTON_HEADER = rollback_header(
    f"its head branch `{REVERT_BRANCH}` matches `rollback.pattern` (`^revert-[0-9]+-hotfix/`)"
)


# --- the hotfix-policy check ---------------------------------------------------------------


def test_a_revert_button_pull_request_is_judged_as_a_rollback_of_the_hotfix(
    bot: Bot, hotfix: FakePull
) -> None:
    revert = revert_button(bot, hotfix, bump=False)
    assert (revert.head_ref, revert.title, revert.body) == (
        REVERT_BRANCH,
        'Revert "Fix login"',
        "Reverts acme/widgets#1",
    )

    # The revert takes VERSION back to 1.2.3: the rollback must ship as 1.2.5.
    run = bot.policy_run(revert.head_sha)
    assert (run.status, run.conclusion) == ("completed", "failure")
    assert run.output["title"] == "1 of 3 rules fails: version-bump (rollback of #1)"
    assert run.output["summary"] == (
        REVERT_BUTTON_HEADER
        + rows(
            TARGET_MAIN,
            ("approvals", "⏳ waiting", "Engineering Lead or Product Manager: nobody yet",
             ANY_P1_APPROVER),
            version_bump("1.2.3", "❌ fail"),
        )
        + "\n\n## How to fix\n\n### `approvals`\n\n"
        "Waiting for approval: Engineering Lead or Product Manager\n\n"
        "Engineering Lead or Product Manager: ask someone from team engineering-leads or team "
        "product-managers to approve the latest commit\n\n### `version-bump`\n\n"
        f"VERSION is 1.2.3 on {REVERT_BRANCH}, expected 1.2.5\n\n"
        '`echo "1.2.5" > VERSION`'
    )  # fmt: skip

    bot.repo.commit(revert.head_ref, {"VERSION": "1.2.5\n"}, "Ship the rollback as 1.2.5")
    bot.pull_request(revert.number, "synchronize")
    run = bot.policy_run(revert.head_sha)
    assert (run.status, run.output["title"]) == (
        "in_progress",
        "Waiting for approval: Engineering Lead or Product Manager (rollback of #1)",
    )
    assert "| `version-bump` | ✅ pass |" in run.output["summary"]

    # One approval from either group of P1 is enough.
    approve(bot, revert, "pm")
    run = bot.policy_run(revert.head_sha)
    assert (run.status, run.conclusion) == ("completed", "success")
    assert run.output["title"] == "All 3 rules pass (rollback of #1)"
    assert run.output["summary"] == REVERT_BUTTON_HEADER + rows(
        TARGET_MAIN,
        ("approvals", "✅ pass", "Engineering Lead or Product Manager: pm", ANY_P1_APPROVER),
        version_bump("1.2.5"),
    )


def test_a_pull_request_labelled_rollback_is_one_and_takes_the_configured_approvals(
    bot: Bot, hotfix: FakePull
) -> None:
    bot.repo.commit(
        "main",
        {
            ".github/hotfix.yml": (
                "rollback:\n  approvals:\n    - {name: Release Owner, users: [rita, ravi]}\n"
            )
        },
        "Rollbacks are the release owners' call",
    )
    bot.repo.create_branch("undo-login-fix", "main")
    head = bot.repo.commit(
        "undo-login-fix", {"VERSION": "1.2.5\n", "app.py": "def login(): ...\n"}, "Undo"
    )
    pull = bot.repo.open_pull(
        "undo-login-fix",
        "main",
        title="Undo the login fix",
        author="dana",
        labels=["rollback"],
        body="The login fix locks out SSO users.\n\nReverts acme/widgets#1\n",
    )
    bot.pull_request(pull.number, "opened")

    run = bot.policy_run(head)
    assert run.output["title"] == "Waiting for approval: Release Owner (rollback of #1)"
    assert run.output["summary"].startswith(
        rollback_header("it carries the label `rollback`")
        + rows(
            TARGET_MAIN,
            ("approvals", "⏳ waiting", "Release Owner: nobody yet",
             "Release Owner: 1 approval from users rita, ravi"),
            (
                "version-bump", "✅ pass", "VERSION: 1.2.4 on main, 1.2.5 on undo-login-fix",
                "1.2.5 (1.2.4 + 1 patch) in VERSION, and no tag v1.2.5 yet",
            ),
        )
    )  # fmt: skip

    approve(bot, pull, "pm")  # a P1 approver: not enough here
    assert bot.policy_run(head).conclusion is None
    approve(bot, pull, "ravi")
    run = bot.policy_run(head)
    assert (run.conclusion, run.output["title"]) == (
        "success",
        "All 3 rules pass (rollback of #1)",
    )


def merged_feature(bot: Bot) -> FakePull:
    bot.repo.commit("feature/search", {"search.py": "x = 1\n"}, "Search")
    feature = bot.repo.open_pull("feature/search", "main", title="Search", author="dev")
    bot.repo.merge_pull(feature.number)
    return feature


@pytest.mark.parametrize(
    ("names", "problem"),
    [
        ("", "it names no pull request it reverts"),
        ("Reverts acme/widgets#99", "there is no pull request #99"),
        ("Reverts #2", "#2 is still open"),
        ("Reverts acme/widgets#3", "#3 is not a hotfix pull request"),
    ],
    ids=["nothing", "no-such-pull", "open", "not-a-hotfix"],
)
def test_a_rollback_of_anything_but_a_merged_hotfix_is_refused_saying_why(
    bot: Bot, hotfix: FakePull, names: str, problem: str
) -> None:
    bot.repo.commit("hotfix/other", {"VERSION": "1.2.5\n"}, "Another fix")
    still_open = bot.repo.open_pull("hotfix/other", "main", labels=["hotfix", "P1"])
    feature = merged_feature(bot)
    assert (still_open.number, feature.number) == (2, 3)
    bot.repo.create_branch("undo", "main")
    head = bot.repo.commit("undo", {"VERSION": "1.2.5\n"}, "Undo")
    pull = bot.repo.open_pull(
        "undo", "main", title="Undo", author="dana", labels=["rollback"], body=names
    )

    bot.pull_request(pull.number, "opened")

    run = bot.policy_run(head)
    assert (run.status, run.conclusion) == ("completed", "failure")
    assert run.output["title"] == f"Not a rollback of a merged hotfix: {problem}"
    assert run.output["summary"].startswith(
        "This pull request is a rollback because it carries the label `rollback`. A rollback "
        f"reverts a merged hotfix pull request, but {problem}, so no rule was checked.\n\n"
        "## How to fix\n\n"
    )


def test_a_revert_of_a_hotfix_that_was_closed_unmerged_says_there_is_nothing_to_roll_back(
    bot: Bot,
) -> None:
    bot.repo.commit("hotfix/abandoned", {"VERSION": "1.2.4\n"}, "Fix")
    abandoned = bot.repo.open_pull("hotfix/abandoned", "main", labels=["hotfix", "P1"])
    bot.repo.close_pull(abandoned.number)
    bot.repo.commit("revert-1-hotfix/abandoned", {"VERSION": "1.2.4\n"}, "Revert")
    pull = bot.repo.open_pull("revert-1-hotfix/abandoned", "main", title="Revert", author="dana")

    bot.pull_request(pull.number, "opened")

    run = bot.policy_run(pull.head_sha)
    assert (run.conclusion, run.output["title"]) == (
        "failure",
        "Not a rollback of a merged hotfix: #1 was closed without being merged",
    )
    assert run.output["summary"] == (
        "This pull request is a rollback because its head branch `revert-1-hotfix/abandoned` "
        "matches `rollback.pattern` (`^revert-[0-9]+-hotfix/`). A rollback reverts a merged "
        "hotfix pull request, but #1 was closed without being merged, so no rule was "
        "checked.\n\n## How to fix\n\n"
        "#1 never reached main, so there is nothing to roll back: close this pull request."
    )
