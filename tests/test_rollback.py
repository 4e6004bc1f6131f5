"""Rollback pull requests, end to end against the fake GitHub (docs/BEHAVIOUR.md,
"Rollbacks"): how `hotfix-policy` judges one, and what happens once it merges.

Each test starts from hotfix #1 (`Fix login`, P1), merged into main and released by the app
as v1.2.4, as a repository would be when someone wants it undone.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from support.by_hand import apply, run_by_hand
from support.harness import Bot

from sandbox import FakeCheckRun, FakePull

BRANCH = "hotfix/fix-login"
REVERT_BRANCH = f"revert-1-{BRANCH}"
WEB = "https://github.com/acme/widgets"
TEAMS = {"engineering-leads": ["lead"], "on-call-managers": ["oncall"], "product-managers": ["pm"]}
NOTICE_MARKER = "<!-- hotfix-bot:rollback-notice #{number} -->"
CONFIG = ".github/hotfix.yml"


@pytest.fixture(autouse=True)
def teams(bot: Bot) -> None:
    for slug, members in TEAMS.items():
        bot.fake.add_team("acme", slug, members)


@pytest.fixture
def hotfix(bot: Bot) -> FakePull:
    """Hotfix #1, merged into main and released as v1.2.4 by the app."""
    return merged_hotfix(bot, "P1")


def merged_hotfix(bot: Bot, severity: str, config: str | None = None) -> FakePull:
    """Hotfix #1 of `severity`, merged into main and released as v1.2.4 by the app (only
    tagged, when `config`, the repository's `.github/hotfix.yml`, says `release: false`)."""
    pull = merge_hotfix(bot, severity, config)
    bot.pull_request(pull.number, "closed")
    repo = bot.repo
    assert repo.tag_object("v1.2.4") is not None
    if config is None:
        assert repo.releases["v1.2.4"].body == "Hotfix #1: Fix login"
    return pull


def merge_hotfix(bot: Bot, severity: str = "P1", config: str | None = None) -> FakePull:
    """Hotfix #1 of `severity`, bumping VERSION to 1.2.4, merged into main; the app has not
    seen the merge yet."""
    repo = bot.repo
    base = {"app.py": "def login(): ...\n"}
    repo.commit("main", base if config is None else {**base, CONFIG: config}, "Base")
    repo.create_branch("develop", "main")
    repo.create_branch(BRANCH, "main")
    repo.commit(BRANCH, {"VERSION": "1.2.4\n", "app.py": "def login(): fixed\n"}, "Fix login")
    labels = ["hotfix", severity]
    pull = repo.open_pull(BRANCH, "main", title="Fix login", author="dev", labels=labels)
    repo.merge_pull(pull.number)
    return pull


def revert_button(bot: Bot, hotfix: FakePull, bump: bool = True) -> FakePull:
    """The Revert button on the hotfix, clicked by dana; with `bump`, dana then ships the
    rollback as the next patch release."""
    revert = bot.repo.revert_pull(hotfix.number, author="dana")
    if bump:
        bot.repo.commit(revert.head_ref, {"VERSION": "1.2.5\n"}, "Ship the rollback as 1.2.5")
    bot.pull_request(revert.number, "opened")
    return revert


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


DEFAULTS_USED = "Config: the defaults (no .github/hotfix.yml on main or in acme/.github)"
P1_TAKES_NO_VERBAL = (
    "A verbal approval does not count: P1 does not take them (`severities.P1.verbal_approval`)."
)


def rollback_header(recognised_by: str, config_used: str = DEFAULTS_USED) -> str:
    return (
        f"**Rollback of #1** (Fix login), a P1 hotfix: this pull request is a rollback "
        f"because {recognised_by}.\n\n"
        "`branch-name`, `labels` and `severity` do not apply to a rollback: it is recognised "
        "by its branch or label, and its approvals are those of `rollback.approvals`, by "
        f"default one from any approval group of the rolled-back hotfix's severity. "
        f"{P1_TAKES_NO_VERBAL}\n\n{config_used}\n\n"
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
        f"{REVERT_BRANCH} does not go past main's version, 1.2.4: the commands bring it up to "
        "date with main first, so that the bump merges cleanly. "
        f"Set the version to 1.2.5 on {REVERT_BRANCH}, commit it and push it:\n\n```sh\n"
        "git fetch origin &&\n"
        f"git checkout {REVERT_BRANCH} &&\n"
        f"git merge --ff-only origin/{REVERT_BRANCH} &&\n"
        "git merge --no-edit origin/main &&\n"
        'echo "1.2.5" > VERSION &&\n'
        "git add VERSION &&\n"
        'git commit -m "Bump the version to 1.2.5" &&\n'
        f"git push origin {REVERT_BRANCH}\n```"
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
    bot.approve(revert.number, "pm")
    run = bot.policy_run(revert.head_sha)
    assert (run.status, run.conclusion) == ("completed", "success")
    assert run.output["title"] == "All 3 rules pass (rollback of #1)"
    assert run.output["summary"] == REVERT_BUTTON_HEADER + rows(
        TARGET_MAIN,
        ("approvals", "✅ pass", "Engineering Lead or Product Manager: pm", ANY_P1_APPROVER),
        version_bump("1.2.5"),
    )


def test_a_repositorys_rollback_pattern_and_label_replace_the_revert_buttons(
    bot: Bot, hotfix: FakePull
) -> None:
    bot.repo.commit(
        "main", {CONFIG: "rollback: {pattern: '^undo/', label: undo}\n"}, "Our own rollbacks"
    )
    revert = revert_button(bot, hotfix)  # its branch matches the default pattern alone
    by_branch, by_label = "undo/fix-login", "put-login-back"
    for branch in (by_branch, by_label):  # each a commit of its own, so a run of its own
        bot.repo.create_branch(branch, revert.head_ref)
        bot.repo.commit(branch, {"WHY.md": f"{branch}\n"}, "Say why")
    undo = bot.repo.open_pull(by_branch, "main", title="Undo", author="dana")
    labelled = bot.repo.open_pull(by_label, "main", title="Undo", author="dana", labels=["undo"])
    for pull in (undo, labelled):
        bot.repo.edit_pull(pull.number, pull.title, "Reverts acme/widgets#1")
        bot.pull_request(pull.number, "opened")

    assert bot.policy_run(revert.head_sha).output["title"] == "Not a hotfix pull request"
    assert [bot.policy_run(pull.head_sha).output["title"] for pull in (undo, labelled)] == [
        "Waiting for approval: Engineering Lead or Product Manager (rollback of #1)"
    ] * 2
    [undo_run] = bot.repo.runs_named("hotfix-policy", undo.head_sha)
    assert undo_run.output["summary"].startswith(
        rollback_header(
            f"its head branch `{by_branch}` matches `rollback.pattern` (`^undo/`)",
            "Config: .github/hotfix.yml on main",
        )
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
        rollback_header("it carries the label `rollback`", "Config: .github/hotfix.yml on main")
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

    bot.approve(pull.number, "pm")  # a P1 approver: not enough here
    assert bot.policy_run(head).conclusion is None
    bot.approve(pull.number, "ravi")
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


NOT_A_HOTFIX = (
    "This pull request is not a hotfix: its head branch does not start with `hotfix/` and it "
    "has no `hotfix` label, so `.github/hotfix.yml` does not apply.\n\n"
)
NAME_THE_HOTFIX = (
    "Add the line `Reverts acme/widgets#N` to this pull request's description, in place of any "
    "other `Reverts` line, N being the number of the merged hotfix pull request it reverts "
    "(that line names it, whatever the branch is called); or close it and use the **Revert** "
    "button of that pull request, which names it"
)


def not_a_rollback(recognised_by: str, problem: str) -> str:
    return (
        f"It is not taken as a rollback, though {recognised_by}: a rollback goes into the "
        f"production branch and reverts a merged hotfix pull request, but {problem}."
    )


def meant_as_a_rollback(fix: str) -> str:
    return f"\n\n## If it is meant as a rollback\n\n{fix}."


@pytest.mark.parametrize(
    ("names", "problem", "fix"),
    [
        ("", "it names no pull request it reverts", NAME_THE_HOTFIX),
        ("Reverts acme/widgets#99", "there is no pull request #99", NAME_THE_HOTFIX),
        (
            "Reverts #3",
            "#3 is still open",
            "Nothing of #3 is in main yet: close #3 instead of rolling it back, and close this "
            "pull request",
        ),
        (
            "Reverts acme/widgets#4",
            "#4 is not a hotfix pull request",
            "Only a hotfix is rolled back; any other change is reverted through the regular "
            "release process. If this pull request reverts a hotfix, name it instead: "
            + NAME_THE_HOTFIX[0].lower()
            + NAME_THE_HOTFIX[1:],
        ),
    ],
    ids=["nothing", "no-such-pull", "open", "not-a-hotfix"],
)
def test_a_rollback_label_on_anything_but_a_rollback_of_a_merged_hotfix_is_neutral_saying_why(
    bot: Bot, hotfix: FakePull, names: str, problem: str, fix: str
) -> None:
    bot.repo.commit("hotfix/other", {"VERSION": "1.2.5\n"}, "Another fix")
    still_open = bot.repo.open_pull("hotfix/other", "main", labels=["hotfix", "P1"])
    feature = merged_feature(bot)
    # #2 is the hotfix's incident report.
    assert (still_open.number, feature.number) == (3, 4)
    bot.repo.create_branch("undo", "main")
    head = bot.repo.commit("undo", {"VERSION": "1.2.5\n"}, "Undo")
    pull = bot.repo.open_pull(
        "undo", "main", title="Undo", author="dana", labels=["rollback"], body=names
    )

    bot.pull_request(pull.number, "opened")

    run = bot.policy_run(head)
    assert (run.status, run.conclusion) == ("completed", "neutral")
    assert run.output["title"] == "Not a hotfix pull request"
    assert run.output["summary"] == (
        NOT_A_HOTFIX
        + not_a_rollback("it carries the label `rollback`", problem)
        + f"\n\n{DEFAULTS_USED}"
        + meant_as_a_rollback(fix)
    )

    # Merged, it is no hotfix and no rollback: nothing is released, nothing rolled back.
    bot.repo.merge_pull(pull.number, merged_by="dana")
    bot.pull_request(pull.number, "closed")
    assert bot.repo.runs_named("hotfix-release", pull.merge_commit_sha) == []
    assert (bot.repo.tag_object("v1.2.5"), sorted(bot.repo.releases)) == (None, ["v1.2.4"])
    assert bot.repo.releases["v1.2.4"].body == "Hotfix #1: Fix login"


def test_a_reverts_line_names_the_hotfix_whatever_the_branch_is_called(
    bot: Bot, hotfix: FakePull
) -> None:
    # dana's branch carries the number of the hotfix's incident report, #2: no pull request.
    bot.repo.create_branch("revert-2-login-fix", "main")
    head = bot.repo.commit(
        "revert-2-login-fix", {"VERSION": "1.2.5\n", "app.py": "def login(): ...\n"}, "Undo"
    )
    pull = bot.repo.open_pull(
        "revert-2-login-fix", "main", title="Undo the login fix", author="dana",
        labels=["rollback"], body="SSO users are locked out.\n",
    )  # fmt: skip
    bot.pull_request(pull.number, "opened")
    run = bot.policy_run(head)
    assert (run.conclusion, run.output["title"]) == ("neutral", "Not a hotfix pull request")
    assert run.output["summary"] == (
        NOT_A_HOTFIX
        + not_a_rollback("it carries the label `rollback`", "there is no pull request #2")
        + f"\n\n{DEFAULTS_USED}"
        + meant_as_a_rollback(NAME_THE_HOTFIX)
    )

    # She does as it says: the line names the hotfix, whatever the branch says.
    bot.repo.edit_pull(
        pull.number, "Undo the login fix", "SSO users are locked out.\n\nReverts acme/widgets#1\n"
    )
    bot.pull_request(pull.number, "edited")
    bot.approve(pull.number, "pm")
    run = bot.policy_run(head)
    assert (run.conclusion, run.output["title"]) == ("success", "All 3 rules pass (rollback of #1)")
    assert run.output["summary"].startswith(rollback_header("it carries the label `rollback`"))

    # Its merge rolls back #1.
    bot.repo.merge_pull(pull.number, merged_by="dana")
    bot.pull_request(pull.number, "closed")
    tag = bot.repo.tag_object("v1.2.5")
    assert tag is not None and tag.message == "Rollback of v1.2.4: Undo the login fix"
    assert bot.repo.releases["v1.2.4"].body == "Hotfix #1: Fix login\n\nRolled back in v1.2.5"


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
    assert (run.conclusion, run.output["title"]) == ("neutral", "Not a hotfix pull request")
    assert run.output["summary"] == (
        NOT_A_HOTFIX
        + not_a_rollback(
            "its head branch `revert-1-hotfix/abandoned` matches `rollback.pattern` "
            "(`^revert-[0-9]+-hotfix/`)",
            "#1 was closed without being merged",
        )
        + f"\n\n{DEFAULTS_USED}"
        + meant_as_a_rollback(
            "#1 never reached main, so there is nothing to roll back: close this pull request"
        )
    )


def revert_into_develop(bot: Bot, files: dict[str, str]) -> FakePull:
    """GitHub's revert of hotfix #1, opened by dana into `develop` with `files` changed."""
    bot.repo.create_branch(REVERT_BRANCH, "develop")
    bot.repo.commit(REVERT_BRANCH, files, 'Revert "Fix login"')
    pull = bot.repo.open_pull(
        REVERT_BRANCH, "develop", title='Revert "Fix login"', author="dana",
        body="Reverts acme/widgets#1",
    )  # fmt: skip
    bot.pull_request(pull.number, "opened")
    return pull


# How the run of `revert_into_develop`'s pull request begins, as far as its `Config:` line,
# and how it ends: no rollback, for the branch it is into.
INTO_DEVELOP = (
    NOT_A_HOTFIX
    + not_a_rollback(
        f"its head branch `{REVERT_BRANCH}` matches `rollback.pattern` (`^revert-[0-9]+-hotfix/`)",
        "it is into develop, not the production branch main",
    )
    + "\n\nConfig: the defaults (no .github/hotfix.yml on develop or in acme/.github)"
)
INTO_MAIN_INSTEAD = meant_as_a_rollback(
    "A hotfix is rolled back where it shipped: change the base branch to main"
)


def test_a_revert_of_a_merged_hotfix_into_another_branch_than_production_is_no_rollback(
    bot: Bot, hotfix: FakePull
) -> None:
    pull = revert_into_develop(bot, {"app.py": "def login(): ...\n"})

    run = bot.policy_run(pull.head_sha)
    assert (run.status, run.conclusion) == ("completed", "neutral")
    assert run.output["title"] == "Not a hotfix pull request"
    assert run.output["summary"] == f"{INTO_DEVELOP}{INTO_MAIN_INSTEAD}"

    bot.repo.merge_pull(pull.number, merged_by="dana")
    bot.pull_request(pull.number, "closed")
    assert bot.repo.runs_named("hotfix-release", pull.merge_commit_sha) == []
    assert [c for c in bot.repo.comments_on(hotfix.number) if "ROLLBACK" in c.body] == []


def test_a_revert_into_another_branch_than_production_is_told_what_its_file_change_does(
    bot: Bot, hotfix: FakePull
) -> None:
    """No rollback, it is told like any pull request what its change of the file does."""
    pull = revert_into_develop(bot, {CONFIG: "release: maybe\n"})

    run = bot.policy_run(pull.head_sha)
    assert (run.conclusion, run.output["title"]) == ("neutral", "Not a hotfix pull request")
    assert run.output["summary"] == (
        f"{INTO_DEVELOP}\n\nThis pull request changes `{CONFIG}`, but is judged by the file "
        "on `develop`: a pull request cannot change its own policy. As it leaves the file, the "
        "file cannot be used, and every pull request into `develop` after its merge would fail "
        "on it:\n\n"
        '- release: must be true or false (got "maybe")\n\n'
        f"Fix it on `{REVERT_BRANCH}` before the merge; `hotfix-bot config validate` checks it "
        f"offline.{INTO_MAIN_INSTEAD}"
    )


def test_a_hotfix_with_the_rollback_label_that_reverts_no_merged_hotfix_is_judged_as_a_hotfix(
    bot: Bot, hotfix: FakePull
) -> None:
    bot.repo.create_branch("hotfix/undo-login", "main")
    bot.repo.commit("hotfix/undo-login", {"VERSION": "1.2.5\n"}, "Undo the login fix")
    pull = bot.repo.open_pull(
        "hotfix/undo-login", "main", title="Undo the login fix", author="dev",
        labels=["hotfix", "P0", "rollback"],
    )  # fmt: skip
    bot.pull_request(pull.number, "opened")

    run = bot.policy_run(pull.head_sha)
    assert (run.status, run.output["title"]) == (
        "in_progress",
        "Waiting for approval: Engineering Lead and On-call Manager",
    )
    summary = run.output["summary"]
    assert summary.startswith(
        not_a_rollback("it carries the label `rollback`", "it names no pull request it reverts")
        + "\n\n**Severity P0**: merge within 2h of opening, by "
    )
    assert summary.endswith(meant_as_a_rollback(NAME_THE_HOTFIX))

    # The commands follow its own severity, P0, which takes verbal approvals.
    command(bot, pull.number, "dana", "/hotfix verbal-approval @oncall on the bridge call")
    bot.approve(pull.number, "lead")
    run = bot.policy_run(pull.head_sha)
    assert (run.conclusion, run.output["title"]) == ("success", "All 6 rules pass")
    assert (
        "| `approvals` | ✅ pass | Engineering Lead: lead; On-call Manager: oncall (verbal, "
        "recorded by @dana at "
    ) in run.output["summary"]

    # Merged, it is released as a hotfix, and rolls nothing back.
    bot.repo.merge_pull(pull.number, merged_by="dana")
    bot.pull_request(pull.number, "closed")
    [release_run] = bot.repo.runs_named("hotfix-release", pull.merge_commit_sha)
    assert release_run.output["title"] == "All steps done for v1.2.5"
    tag = bot.repo.tag_object("v1.2.5")
    assert tag is not None and tag.message == "Hotfix: Undo the login fix"
    assert bot.repo.releases["v1.2.5"].body == f"Hotfix #{pull.number}: Undo the login fix"
    assert bot.repo.releases["v1.2.4"].body == "Hotfix #1: Fix login"
    assert [c for c in bot.repo.comments_on(hotfix.number) if "ROLLBACK" in c.body] == []


def merged_second_hotfix(bot: Bot) -> FakePull:
    """Hotfix #3 (`Fix logout`, P1), merged after #1 and released by the app as v1.2.5; its
    incident report is #4."""
    repo = bot.repo
    repo.commit("hotfix/fix-logout", {"VERSION": "1.2.5\n", "b.py": "fixed\n"}, "Fix logout")
    pull = repo.open_pull(
        "hotfix/fix-logout", "main", title="Fix logout", author="dev", labels=["hotfix", "P1"]
    )
    repo.merge_pull(pull.number)
    bot.pull_request(pull.number, "closed")
    assert repo.releases["v1.2.5"].body == "Hotfix #3: Fix logout"
    return pull


def test_a_rollback_naming_two_hotfixes_fails_and_once_merged_rolls_back_neither(
    bot: Bot, hotfix: FakePull
) -> None:
    logout = merged_second_hotfix(bot)
    repo = bot.repo
    head = repo.commit("undo-both", {"VERSION": "1.2.6\n", "app.py": "def login(): ...\n"}, "Undo")
    pull = repo.open_pull(
        "undo-both", "main", title="Undo both fixes", author="dana", labels=["rollback"],
        body="Both broke SSO.\n\nReverts acme/widgets#1\nReverts acme/widgets#3\n",
    )  # fmt: skip
    assert (logout.number, pull.number) == (3, 5)
    bot.pull_request(pull.number, "opened")
    bot.approve(pull.number, "lead")

    run = bot.policy_run(head)
    assert (run.status, run.conclusion, run.output["title"]) == (
        "completed",
        "failure",
        "A rollback reverts one hotfix: this one names #1 and #3",
    )
    assert run.output["summary"] == (
        "**Rollback of more than one pull request**: this pull request is a rollback because "
        "it carries the label `rollback`, and its description names #1 and #3 as the pull "
        "requests it reverts. A rollback reverts one hotfix, whose severity its approvals "
        f"follow: its rules judge it once it names one.\n\n{DEFAULTS_USED}\n\n"
        + rows(("rollback", "❌ fail", "#1 and #3", "one merged hotfix pull request"))
        + "\n\n## How to fix\n\n### `rollback`\n\n"
        "It names more than one pull request it reverts: #1 and #3\n\n"
        "A rollback reverts one hotfix: open one rollback pull request for each of #1 and #3, "
        "or keep one `Reverts` line in this pull request's description"
    )

    # The commands follow the severity of the one hotfix a rollback reverts.
    command(bot, pull.number, "dana", "/hotfix break-glass SSO is down")
    [reply] = bot_replies(bot, pull.number)
    assert (
        "\n> `/hotfix break-glass SSO is down`\n\n@dana, hotfix-bot did not carry this out: a "
        "rollback follows the severity of the one hotfix it reverts, and this one names #1 and "
        "#3: keep one `Reverts` line in its description.\n\n"
    ) in reply

    # Merged anyway: nothing is released or marked, and its report says why.
    repo.merge_pull(pull.number, merged_by="dana")
    bot.pull_request(pull.number, "closed")
    sha = pull.merge_commit_sha
    assert sha is not None
    [run] = repo.runs_named("hotfix-release", sha)
    title = "No post-merge step ran: a rollback reverts one hotfix, #5 names #1 and #3"
    assert (run.conclusion, run.output["title"]) == ("failure", title)
    summary = (
        f"Rollback #5 (Undo both fixes) was merged into `main` as [`{sha[:7]}`]({WEB}/commit/"
        f"{sha}), but its description names more than one pull request it reverts: #1 and #3. "
        "A rollback reverts one hotfix, so no post-merge step ran: nothing was tagged or "
        "released, no release is marked rolled back and no hotfix is told.\n\n"
        "To run the steps of a rollback of one of them, keep only that one's `Reverts` line in "
        "this pull request's description, then re-run this check. Record any other by hand: "
        "`Rolled back in <tag>` at the end of its release's notes, and a comment on its pull "
        "request."
    )
    assert run.output["summary"] == summary
    assert bot_replies(bot, pull.number)[1:] == [
        f"<!-- hotfix-bot:hotfix-release -->\n### `hotfix-release`: {title}\n\n{summary}"
    ]
    assert (repo.tag_object("v1.2.6"), sorted(repo.releases)) == (None, ["v1.2.4", "v1.2.5"])
    assert repo.releases["v1.2.4"].body == "Hotfix #1: Fix login"
    assert repo.releases["v1.2.5"].body == "Hotfix #3: Fix logout"
    assert [c for n in (1, 2, 3, 4) for c in repo.comments_on(n) if "ollback" in c.body] == []

    # Kept to one line, a re-run rolls that one back.
    repo.edit_pull(pull.number, "Undo both fixes", "Both broke SSO.\n\nReverts acme/widgets#1\n")
    bot.deliver("check_run", bot.fake.check_run_event(repo, run.id))
    [run] = repo.runs_named("hotfix-release", sha)
    assert (run.conclusion, run.output["title"]) == ("success", "All steps done for v1.2.6")
    tag = repo.tag_object("v1.2.6")
    assert tag is not None and tag.message == "Rollback of v1.2.4: Undo both fixes"
    assert repo.releases["v1.2.4"].body == "Hotfix #1: Fix login\n\nRolled back in v1.2.6"
    assert repo.releases["v1.2.5"].body == "Hotfix #3: Fix logout"


# --- after the merge -------------------------------------------------------------------------


def merged_rollback(bot: Bot, hotfix: FakePull) -> FakePull:
    revert = revert_button(bot, hotfix)
    bot.approve(revert.number, "lead")
    bot.repo.merge_pull(revert.number, merged_by="dana")
    return revert


def merged_rollback_refused(bot: Bot, hotfix: FakePull, path: str) -> tuple[FakePull, FakeCheckRun]:
    """A rollback of `hotfix` merged while GitHub refuses every POST to `path`: the rollback,
    and the post-merge run its close gave."""
    revert = merged_rollback(bot, hotfix)
    bot.fake.inject("POST", path, status=422, times=None, body={"message": "refused"})
    bot.pull_request(revert.number, "closed")
    [run] = bot.repo.runs_named("hotfix-release", revert.merge_commit_sha)
    return revert, run


def rerun_unrefused(bot: Bot, run: FakeCheckRun) -> None:
    """GitHub takes every request again, and someone re-runs `run`."""
    bot.fake.faults.clear()
    bot.deliver("check_run", bot.fake.check_run_event(bot.repo, run.id))


NOTICE = (
    "🔄 ROLLBACK COMPLETE\n\n"
    "The hotfix has been rolled back due to a problem found after its release (see #3).\n"
    "System is now stable on previous version.\n"
    "We are investigating the issue and will provide updates.\n\n"
    'Rolled back by #3 (Revert "Fix login"), released as v1.2.5.'
)


def assert_rolled_back(bot: Bot, hotfix: FakePull, revert: FakePull) -> None:
    """GitHub's state once the rollback's post-merge steps are done, whatever ran how often."""
    repo = bot.repo
    tag = repo.tag_object("v1.2.5")
    assert tag is not None
    assert (tag.message, tag.object_sha) == (
        'Rollback of v1.2.4: Revert "Fix login"',
        revert.merge_commit_sha,
    )
    new_release = repo.releases["v1.2.5"]
    assert (new_release.name, new_release.body) == (
        "v1.2.5",
        'Rollback #3: Revert "Fix login"\n\nThis release rolls back v1.2.4 (hotfix #1: Fix login).',
    )
    assert repo.releases["v1.2.4"].body == "Hotfix #1: Fix login\n\nRolled back in v1.2.5"
    # It ships the patch above the rolled-back release, which was the latest: it is now.
    [made] = [
        request
        for request in bot.fake.requests_to("POST", "/repos/acme/widgets/releases")
        if request.status == 201 and request.json["tag_name"] == "v1.2.5"
    ]
    assert made.json.get("make_latest") == "true"
    latest = repo.latest_release()
    assert latest is not None and latest.tag_name == "v1.2.5"
    notices = [c for c in repo.comments_on(hotfix.number) if "ROLLBACK" in c.body]
    assert [c.body for c in notices] == [f"{NOTICE_MARKER.format(number=revert.number)}\n{NOTICE}"]
    assert repo.get_commit("main").tree["app.py"] == "def login(): ...\n"
    assert REVERT_BRANCH not in repo.branches
    # The hotfix's incident report (#2) gains the rollback in its timeline, once.
    [report] = [issue for issue in repo.issues.values() if "incident-report" in issue.labels]
    merged_at = revert.merged_at
    assert report.number == 2 and merged_at is not None
    assert revert.merge_commit_sha is not None
    assert [c.body for c in repo.comments_on(report.number)] == [
        f"<!-- hotfix-bot:incident-timeline rollback #{revert.number} -->\n"
        "**Timeline, continued**\n\n| Time | Event |\n|------|-------|\n"
        f'| {merged_at:%Y-%m-%d %H:%M} UTC | Rolled back by #3 (Revert "Fix login"): merged '
        f"into `main` by @dana as `{revert.merge_commit_sha[:7]}`, released as `v1.2.5` |"
    ]


def rollback_report(bot: Bot, hotfix: FakePull, revert: FakePull, *outcomes: str) -> str:
    """The `hotfix-release` summary of the rollback; `outcomes` of its seven steps in order."""
    sha = revert.merge_commit_sha
    assert sha is not None
    develop = bot.repo.branches["develop"].sha
    [notice] = [c for c in bot.repo.comments_on(hotfix.number) if "ROLLBACK" in c.body]
    [timeline] = bot.repo.comments_on(2)
    tag, release, old_release, back_merge, delete, notice_outcome, timeline_outcome = outcomes
    return "\n".join(
        [
            f'Rollback #{revert.number} (Revert "Fix login") of hotfix #1 was merged into '
            f"`main` as "
            f"[`{sha[:7]}`]({WEB}/commit/{sha}).",
            "",
            "| Step | Outcome | Details | Link |",
            "| --- | --- | --- | --- |",
            f"| Tag | {tag} | annotated tag `v1.2.5` on the merge commit `{sha[:7]}` "
            f"| [v1.2.5]({WEB}/tree/v1.2.5) |",
            f"| Release | {release} | published release `v1.2.5` "
            f"| [v1.2.5]({WEB}/releases/tag/v1.2.5) |",
            f"| Old release | {old_release} | added `Rolled back in v1.2.5` to the notes of "
            f"`v1.2.4` | [v1.2.4]({WEB}/releases/tag/v1.2.4) |",
            f"| Back-merge | {back_merge} | merged into `develop` as `{develop[:7]}` "
            f"| [{develop[:7]}]({WEB}/commit/{develop}) |",
            f"| Delete branch | {delete} | deleted `{REVERT_BRANCH}` |   |",
            f"| Rollback notice | {notice_outcome} | posted the rollback notice on #1 "
            f"| [#1]({WEB}/pull/1#issuecomment-{notice.id}) |",
            f"| Report timeline | {timeline_outcome} | added the rollback to the timeline of the "
            f"incident report #2 | [#2]({WEB}/issues/2#issuecomment-{timeline.id}) |",
        ]
    )


def step_titles(summary: str) -> list[str]:
    """The steps a `hotfix-release` summary has a row for, in its order."""
    return [row.split(" | ")[0].removeprefix("| ") for row in summary.splitlines()[4:]]


# A rollback's post-merge steps when its hotfix has no incident report to add a row to.
STEPS_WITHOUT_A_REPORT = [
    "Tag",
    "Release",
    "Old release",
    "Back-merge",
    "Delete branch",
    "Rollback notice",
]


def test_a_merged_rollback_is_released_marks_the_old_release_and_tells_the_hotfix_once(
    bot: Bot, hotfix: FakePull
) -> None:
    revert = merged_rollback(bot, hotfix)

    bot.pull_request(revert.number, "closed")

    assert_rolled_back(bot, hotfix, revert)
    [run] = bot.repo.runs_named("hotfix-release", revert.merge_commit_sha)
    done = "✅ done"
    assert (run.conclusion, run.output["title"]) == ("success", "All steps done for v1.2.5")
    assert run.output["summary"] == rollback_report(bot, hotfix, revert, *[done] * 7)

    # A redelivery and a re-run add nothing: only the report is written again.
    with bot.counting() as requests:
        bot.pull_request(revert.number, "closed")
        bot.deliver("check_run", bot.fake.check_run_event(bot.repo, run.id))
    assert_rolled_back(bot, hotfix, revert)
    [report] = bot.repo.comments_on(revert.number)
    assert {f"{r.method} {r.path}" for r in requests if r.method != "GET"} == {
        f"PATCH /repos/acme/widgets/issues/comments/{report.id}",
        f"PATCH /repos/acme/widgets/check-runs/{run.id}",
    }


def test_a_reason_as_long_as_a_description_takes_is_cut_so_the_notice_is_posted(
    bot: Bot, hotfix: FakePull
) -> None:
    """GitHub takes 65,536 characters in a pull request's description and in a comment: the
    rollback notice quoting the description's first paragraph would be longer."""
    revert = revert_button(bot, hotfix)
    reverts_line = "Reverts acme/widgets#1\n\n"
    reason_start = "Logins failed after v1.2.4: "
    filler = "x" * (65_536 - len(reverts_line) - len(reason_start))
    bot.repo.edit_pull(revert.number, revert.title, reverts_line + reason_start + filler)
    bot.approve(revert.number, "lead")
    bot.repo.merge_pull(revert.number, merged_by="dana")

    bot.pull_request(revert.number, "closed")

    [run] = bot.repo.runs_named("hotfix-release", revert.merge_commit_sha)
    assert (run.conclusion, run.output["title"]) == ("success", "All steps done for v1.2.5")
    reason = reason_start + "x" * (499 - len(reason_start)) + "…"
    [notice] = [c.body for c in bot.repo.comments_on(hotfix.number) if "ROLLBACK" in c.body]
    assert f"\nThe hotfix has been rolled back due to {reason}.\n" in notice


def test_the_rolled_back_hotfix_is_named_by_the_tag_its_own_run_made(bot: Bot) -> None:
    """main's one version file is package.json; the hotfix bumped it and added VERSION 2.0.0,
    which is no version file, so the hotfix was released as v1.2.4, not v2.0.0."""
    repo = bot.repo
    repo.commit("main", {"VERSION": None, "package.json": '{"version": "1.2.3"}\n'}, "Base")
    repo.create_branch("develop", "main")
    repo.create_branch(BRANCH, "main")
    bumped = {"package.json": '{"version": "1.2.4"}\n', "VERSION": "2.0.0\n"}
    repo.commit(BRANCH, bumped, "Fix login")
    hotfix = repo.open_pull(BRANCH, "main", title="Fix login", author="dev", labels=["hotfix"])
    repo.merge_pull(hotfix.number)
    bot.pull_request(hotfix.number, "closed")
    assert set(repo.tags) == {"v1.2.4"}
    revert = repo.revert_pull(hotfix.number, author="dana")
    repo.commit(revert.head_ref, {"package.json": '{"version": "1.2.5"}\n'}, "Ship as 1.2.5")
    repo.merge_pull(revert.number, merged_by="dana")

    bot.pull_request(revert.number, "closed")

    tag = repo.tag_object("v1.2.5")
    assert tag is not None
    assert tag.message == 'Rollback of v1.2.4: Revert "Fix login"'
    assert repo.releases["v1.2.4"].body == "Hotfix #1: Fix login\n\nRolled back in v1.2.5"


def test_a_rollback_run_that_lost_its_journal_finds_its_own_work_and_adds_nothing(
    bot: Bot, hotfix: FakePull
) -> None:
    revert = merged_rollback(bot, hotfix)
    bot.pull_request(revert.number, "closed")
    # As if the journal had been restored from a backup older than the run.
    forgotten = json.dumps({"steps": {}, "comment_id": None})
    asyncio.run(bot.journal.set_state(f"release:acme/widgets#{revert.number}", forgotten))

    bot.pull_request(revert.number, "closed")

    assert_rolled_back(bot, hotfix, revert)
    [run] = bot.repo.runs_named("hotfix-release", revert.merge_commit_sha)
    assert (run.conclusion, run.output["title"]) == ("success", "All steps done for v1.2.5")
    [notice] = [c for c in bot.repo.comments_on(hotfix.number) if "ROLLBACK" in c.body]
    step_rows = {
        row.split(" | ")[0].removeprefix("| "): row
        for row in run.output["summary"].splitlines()[4:]
    }
    assert step_rows["Old release"] == (
        "| Old release | ✅ already done | the notes of `v1.2.4` already said "
        f"`Rolled back in v1.2.5` | [v1.2.4]({WEB}/releases/tag/v1.2.4) |"
    )
    assert step_rows["Rollback notice"] == (
        "| Rollback notice | ✅ already done | the rollback notice was already on #1 "
        f"| [#1]({WEB}/pull/1#issuecomment-{notice.id}) |"
    )
    [timeline] = bot.repo.comments_on(2)
    assert step_rows["Report timeline"] == (
        "| Report timeline | ✅ already done | the incident report #2 already had the rollback "
        f"in its timeline | [#2]({WEB}/issues/2#issuecomment-{timeline.id}) |"
    )


def test_the_rollback_joins_the_report_people_took_the_label_off_found_by_its_number(
    bot: Bot, hotfix: FakePull
) -> None:
    bot.repo.remove_label(2, "incident-report")  # the hotfix's report, triaged
    revert = merged_rollback(bot, hotfix)

    bot.pull_request(revert.number, "closed")

    assert len(bot.repo.comments_on(2)) == 1
    summary = rollback_report(bot, hotfix, revert, *["✅ done"] * 7)
    [run] = bot.repo.runs_named("hotfix-release", revert.merge_commit_sha)
    assert run.output["summary"] == summary
    assert bot.repo.issues[2].labels == ["P1"]


def test_the_rollback_joins_the_report_people_rewrote_without_its_marker_found_by_its_number(
    bot: Bot, hotfix: FakePull
) -> None:
    report = bot.repo.issues[2]  # the hotfix's report, filled in without its hidden first line
    marker, _, rest = report.body.partition("\n")
    assert marker == "<!-- hotfix-bot:incident-report acme/widgets#1 -->"
    bot.repo.edit_issue(2, report.title, rest.replace("\n", "\r\n"))
    revert = merged_rollback(bot, hotfix)

    bot.pull_request(revert.number, "closed")

    assert list(bot.repo.issues) == [2]
    assert_rolled_back(bot, hotfix, revert)  # its one comment on #2 among them
    [run] = bot.repo.runs_named("hotfix-release", revert.merge_commit_sha)
    assert run.output["summary"] == rollback_report(bot, hotfix, revert, *["✅ done"] * 7)
    assert report.body == rest.replace("\n", "\r\n")  # a comment: the body is left alone


def test_the_rollback_of_a_hotfix_without_an_incident_report_reports_no_timeline_step(
    bot: Bot,
) -> None:
    hotfix = merged_hotfix(bot, "P2")
    assert not bot.repo.issues
    revert = merged_rollback(bot, hotfix)

    bot.pull_request(revert.number, "closed")

    [run] = bot.repo.runs_named("hotfix-release", revert.merge_commit_sha)
    assert (run.conclusion, run.output["title"]) == ("success", "All steps done for v1.2.5")
    assert step_titles(run.output["summary"]) == STEPS_WITHOUT_A_REPORT
    assert not bot.repo.issues


# --- comment commands on a rollback ----------------------------------------------------------


def command(bot: Bot, number: int, author: str, body: str) -> None:
    bot.repo.collaborators.update({author: "write"})
    comment = bot.repo.add_comment(number, author, body)
    bot.deliver("issue_comment", bot.fake.issue_comment_event(bot.repo, comment.id))


def bot_replies(bot: Bot, number: int) -> list[str]:
    return [c.body for c in bot.repo.comments_on(number) if c.author == "hotfix-bot[bot]"]


def command_on_a_p0_rollback(bot: Bot, author: str, body: str) -> tuple[FakePull, FakeCheckRun]:
    """The revert button's rollback of a merged P0 hotfix, then one command on it: the
    rollback, and its policy run judged since."""
    revert = revert_button(bot, merged_hotfix(bot, "P0"))
    command(bot, revert.number, author, body)
    return revert, bot.policy_run(revert.head_sha)


def test_a_verbal_approval_counts_on_the_rollback_of_a_hotfix_whose_severity_takes_them(
    bot: Bot,
) -> None:
    revert, run = command_on_a_p0_rollback(
        bot, "dana", "/hotfix verbal-approval @oncall on the bridge call"
    )

    assert (run.conclusion, run.output["title"]) == ("success", "All 3 rules pass (rollback of #1)")
    assert (
        "A verbal approval (`/hotfix verbal-approval`) counts, as P0 takes them."
        in (run.output["summary"])
    )
    assert (
        "| `approvals` | ✅ pass | Engineering Lead or On-call Manager: oncall (verbal, "
        in (run.output["summary"])
    )
    assert bot_replies(bot, revert.number) == []

    # After the merge the rollback's report waits for oncall to confirm, as a hotfix's would.
    bot.repo.merge_pull(revert.number, merged_by="dana")
    bot.pull_request(revert.number, "closed")
    [release_run] = bot.repo.runs_named("hotfix-release", revert.merge_commit_sha)
    [row] = [
        line
        for line in release_run.output["summary"].splitlines()
        if line.startswith("| Verbal approvals |")
    ]
    assert "oncall (verbal, recorded by @dana at " in row and "**unconfirmed**" in row


def test_a_verbal_approval_on_the_rollback_of_a_severity_without_them_is_refused_saying_why(
    bot: Bot, hotfix: FakePull
) -> None:
    revert = revert_button(bot, hotfix)

    command(bot, revert.number, "dana", "/hotfix verbal-approval @pm")

    [reply] = bot_replies(bot, revert.number)
    assert (
        "\n> `/hotfix verbal-approval @pm`\n\n@dana, hotfix-bot did not carry this out: "
        "severity P1 (of hotfix #1, which this rolls back) does not take verbal approvals "
        "(`severities.P1.verbal_approval` in `.github/hotfix.yml`).\n\n"
    ) in reply
    assert bot.policy_run(revert.head_sha).conclusion is None  # still waiting for approval


def test_a_break_glass_on_a_rollback_waives_its_rules_and_asks_for_a_retroactive_review(
    bot: Bot,
) -> None:
    revert, run = command_on_a_p0_rollback(
        bot, "lead", "/hotfix break-glass SSO is down for everyone"
    )

    assert (run.conclusion, run.output["title"]) == (
        "success",
        "Break-glass by @lead: SSO is down for everyone (rollback of #1)",
    )
    assert "| `approvals` | ⚠️ waived |" in run.output["summary"]

    bot.repo.merge_pull(revert.number, merged_by="dana")
    bot.pull_request(revert.number, "closed")
    [issue] = [i for i in bot.repo.issues.values() if i.title.startswith("Retroactive")]
    assert (issue.title, issue.assignees) == ('Retroactive review: Revert "Fix login"', ["lead"])
    assert (
        "- `approvals`: Engineering Lead (@acme/engineering-leads) or On-call Manager "
        "(@acme/on-call-managers)"
    ) in issue.body


def test_a_rollback_labelled_with_a_severity_adds_to_the_hotfix_record_and_opens_none_itself(
    bot: Bot, hotfix: FakePull
) -> None:
    revert = revert_button(bot, hotfix)
    bot.repo.pulls[revert.number].labels.append("P0")
    bot.approve(revert.number, "lead")
    bot.repo.merge_pull(revert.number, merged_by="dana")

    bot.pull_request(revert.number, "closed")

    assert [issue.number for issue in bot.repo.issues.values()] == [2]  # the hotfix's report
    assert [c.body.split("\n")[0] for c in bot.repo.comments_on(revert.number)] == [
        "<!-- hotfix-bot:hotfix-release -->"
    ]
    [run] = bot.repo.runs_named("hotfix-release", revert.merge_commit_sha)
    assert step_titles(run.output["summary"]) == [*STEPS_WITHOUT_A_REPORT, "Report timeline"]


def test_a_rollback_whose_tag_failed_tells_nobody_until_a_rerun_releases_it(
    bot: Bot, hotfix: FakePull
) -> None:
    revert, run = merged_rollback_refused(bot, hotfix, r"/git/tags$")

    rows = run.output["summary"]
    assert (
        "| Rollback notice | ➖ skipped | needs the tag, which failed: the notice names it |"
    ) in rows
    assert (
        "| Report timeline | ➖ skipped | needs the tag, which failed: the row names it |" in rows
    )
    assert not [c for c in bot.repo.comments_on(hotfix.number) if "ROLLBACK" in c.body]
    assert bot.repo.comments_on(2) == []  # the hotfix's incident report

    rerun_unrefused(bot, run)

    assert_rolled_back(bot, hotfix, revert)  # the notice names v1.2.5, and the report's row


def test_a_rollback_whose_release_failed_tells_nobody_until_a_rerun_releases_it(
    bot: Bot, hotfix: FakePull
) -> None:
    revert, run = merged_rollback_refused(bot, hotfix, r"/releases$")

    assert (run.conclusion, run.output["title"]) == ("failure", "1 of 7 steps failed: release")
    assert (
        "| Rollback notice | ➖ skipped | needs the release, which failed: the notice names it |"
    ) in run.output["summary"]
    assert not [c for c in bot.repo.comments_on(hotfix.number) if "ROLLBACK" in c.body]

    rerun_unrefused(bot, run)

    assert_rolled_back(bot, hotfix, revert)


def step_row(summary: str, title: str) -> str:
    """The row of the step `title` in a `hotfix-release` summary."""
    [row] = [row for row in summary.splitlines() if row.startswith(f"| {title} |")]
    return row


OLD_RELEASE_NOT_PUBLISHED_YET = (
    "| Old release | ➖ skipped | there is no release for `v1.2.4` yet: when hotfix #1's run "
    "publishes it, its notes will say `Rolled back in v1.2.5` |   |"
)
PUBLISHED_ROLLED_BACK = (
    "| Release | ✅ done | published release `v1.2.4` saying `Rolled back in v1.2.5` "
    f"| [v1.2.4]({WEB}/releases/tag/v1.2.4) |"
)


def test_a_rollback_merged_while_the_hotfix_release_failed_is_in_the_notes_its_rerun_publishes(
    bot: Bot,
) -> None:
    hotfix = merge_hotfix(bot)
    refused = {"message": "Resource not accessible by integration"}
    bot.fake.inject("POST", r"/releases$", status=403, times=1, body=refused)
    bot.pull_request(hotfix.number, "closed")
    [hotfix_run] = bot.repo.runs_named("hotfix-release", hotfix.merge_commit_sha)
    assert hotfix_run.output["title"] == "1 of 6 steps failed: release"
    revert = merged_rollback(bot, hotfix)

    bot.pull_request(revert.number, "closed")

    [run] = bot.repo.runs_named("hotfix-release", revert.merge_commit_sha)
    assert (run.conclusion, run.output["title"]) == (
        "success",
        "All steps done for v1.2.5 (1 skipped)",
    )
    assert step_row(run.output["summary"], "Old release") == OLD_RELEASE_NOT_PUBLISHED_YET
    assert "v1.2.4" not in bot.repo.releases

    # Nothing re-runs the rollback: the hotfix's re-run publishes its release, saying so.
    bot.deliver("check_run", bot.fake.check_run_event(bot.repo, hotfix_run.id))

    assert bot.repo.releases["v1.2.4"].body == "Hotfix #1: Fix login\n\nRolled back in v1.2.5"
    [hotfix_run] = bot.repo.runs_named("hotfix-release", hotfix.merge_commit_sha)
    assert (hotfix_run.conclusion, hotfix_run.output["title"]) == (
        "success",
        "All steps done for v1.2.4",
    )
    assert step_row(hotfix_run.output["summary"], "Release") == PUBLISHED_ROLLED_BACK

    # A re-run of the rollback finds the line there, and adds it no second time.
    bot.deliver("check_run", bot.fake.check_run_event(bot.repo, run.id))

    assert bot.repo.releases["v1.2.4"].body == "Hotfix #1: Fix login\n\nRolled back in v1.2.5"
    [run] = bot.repo.runs_named("hotfix-release", revert.merge_commit_sha)
    assert (run.conclusion, run.output["title"]) == ("success", "All steps done for v1.2.5")
    assert step_row(run.output["summary"], "Old release") == (
        "| Old release | ✅ already done | the notes of `v1.2.4` already said "
        f"`Rolled back in v1.2.5` | [v1.2.4]({WEB}/releases/tag/v1.2.4) |"
    )


def test_a_rollback_whose_run_comes_before_its_hotfix_run_is_in_the_release_it_publishes(
    bot: Bot,
) -> None:
    hotfix = merge_hotfix(bot)
    revert = merged_rollback(bot, hotfix)  # #2: the hotfix's run has opened no report yet
    bot.pull_request(revert.number, "closed")
    [run] = bot.repo.runs_named("hotfix-release", revert.merge_commit_sha)
    assert step_row(run.output["summary"], "Old release") == OLD_RELEASE_NOT_PUBLISHED_YET

    bot.pull_request(hotfix.number, "closed")

    assert bot.repo.releases["v1.2.4"].body == "Hotfix #1: Fix login\n\nRolled back in v1.2.5"
    [hotfix_run] = bot.repo.runs_named("hotfix-release", hotfix.merge_commit_sha)
    assert (hotfix_run.conclusion, hotfix_run.output["title"]) == (
        "success",
        "All steps done for v1.2.4 (1 skipped)",
    )
    summary = hotfix_run.output["summary"]
    assert step_row(summary, "Release") == PUBLISHED_ROLLED_BACK
    # Posted now, the resolution notice would say the hotfix restored production, below the
    # rollback notice saying it was rolled back.
    assert step_row(summary, "Resolution notice") == (
        "| Resolution notice | ➖ skipped | not posted: rollback #2 undid the hotfix before it, "
        "so the hotfix did not restore production |   |"
    )
    notice = NOTICE.replace("#3", f"#{revert.number}")
    assert [c.body.split("\n", 1)[0] for c in bot.repo.comments_on(hotfix.number)] == [
        NOTICE_MARKER.format(number=revert.number),
        "<!-- hotfix-bot:hotfix-release -->",
    ]
    assert bot.repo.comments_on(hotfix.number)[0].body.endswith(notice)


def test_a_rerun_after_the_rollback_links_the_report_in_the_notice_posted_before_it(
    bot: Bot,
) -> None:
    """The notice went out before the rollback, waiting for the report GitHub refused to
    open: the re-run that opens the report links it there, rollback or not."""
    hotfix = merge_hotfix(bot)
    refused = {"message": "refused"}
    bot.fake.inject("POST", r"/repos/acme/widgets/issues$", status=422, body=refused)
    bot.pull_request(hotfix.number, "closed")
    [run] = bot.repo.runs_named("hotfix-release", hotfix.merge_commit_sha)
    assert step_row(run.output["summary"], "Resolution notice") == (
        "| Resolution notice | ⏳ waiting | posted the resolution notice; it waits for the "
        "incident report to link it |   |"
    )
    revert = merged_rollback(bot, hotfix)
    bot.pull_request(revert.number, "closed")

    bot.deliver("check_run", bot.fake.check_run_event(bot.repo, run.id))

    [run] = bot.repo.runs_named("hotfix-release", hotfix.merge_commit_sha)
    assert step_row(run.output["summary"], "Resolution notice") == (
        "| Resolution notice | ✅ done | the resolution notice links the incident report #3 now "
        "|   |"
    )


# --- the rolled-back hotfix's tag ------------------------------------------------------------

OTHER_BRANCH = "hotfix/fix-logout"


def hotfix_of_the_same_version(bot: Bot, released: FakePull, seen: bool) -> FakePull:
    """Hotfix `Fix logout` (P1), branched beside `released` (#1) and bumping VERSION to 1.2.4
    as it did, merged after it; with `seen`, hotfix-bot ran on the merge, and its tag failed:
    `v1.2.4` is #1's release."""
    repo = bot.repo
    assert released.merge_commit_sha is not None
    repo.create_branch(OTHER_BRANCH, repo.get_commit(released.merge_commit_sha).parents[0])
    repo.commit(OTHER_BRANCH, {"VERSION": "1.2.4\n", "logout.py": "fixed\n"}, "Fix logout")
    labels = ["hotfix", "P1"]
    pull = repo.open_pull(OTHER_BRANCH, "main", title="Fix logout", author="dev", labels=labels)
    repo.merge_pull(pull.number)
    if seen:
        bot.pull_request(pull.number, "closed")
        [run] = repo.runs_named("hotfix-release", pull.merge_commit_sha)
        assert run.output["title"] == "1 of 6 steps failed: tag"
    return pull


@pytest.mark.parametrize("seen", [True, False], ids=["its-run-failed", "no-run-of-its-own"])
def test_the_rollback_of_a_hotfix_never_released_names_its_pull_request_and_marks_no_release(
    bot: Bot, hotfix: FakePull, seen: bool
) -> None:
    """#1 was released as v1.2.4; the other hotfix of that version never was, whether its run
    failed on the tag or hotfix-bot never ran on it (nothing in the journal)."""
    repo = bot.repo
    unreleased = hotfix_of_the_same_version(bot, hotfix, seen)
    revert = merged_rollback(bot, unreleased)

    bot.pull_request(revert.number, "closed")

    # #1's release is left as it was: it was not rolled back.
    assert repo.releases["v1.2.4"].body == "Hotfix #1: Fix login"
    assert bot.fake.requests_to("PATCH", "/repos/acme/widgets/releases") == []
    tag = repo.tag_object("v1.2.5")
    assert tag is not None
    assert (tag.message, tag.object_sha) == (
        f'Rollback of #{unreleased.number}: Revert "Fix logout"',
        revert.merge_commit_sha,
    )
    assert repo.releases["v1.2.5"].body == (
        f'Rollback #{revert.number}: Revert "Fix logout"\n\n'
        f"This release rolls back hotfix #{unreleased.number}: Fix logout, which was never "
        "released."
    )
    [run] = repo.runs_named("hotfix-release", revert.merge_commit_sha)
    assert (run.conclusion, run.output["title"]) == (
        "success",
        "All steps done for v1.2.5 (1 skipped)",
    )
    assert unreleased.merge_commit_sha is not None and hotfix.merge_commit_sha is not None
    assert step_row(run.output["summary"], "Old release") == (
        f"| Old release | ➖ skipped | hotfix #{unreleased.number} was never released: "
        f"`v1.2.4`, the tag of its version, names `{hotfix.merge_commit_sha[:7]}`, not its "
        f"merge commit `{unreleased.merge_commit_sha[:7]}`, so no release is marked rolled "
        "back |   |"
    )
    # The notice tells of a problem found after its merge: there was no release.
    [notice] = [c for c in repo.comments_on(unreleased.number) if "ROLLBACK" in c.body]
    assert notice.body == (
        f"{NOTICE_MARKER.format(number=revert.number)}\n🔄 ROLLBACK COMPLETE\n\n"
        "The hotfix has been rolled back due to a problem found after its merge "
        f"(see #{revert.number}).\n"
        "System is now stable on previous version.\n"
        "We are investigating the issue and will provide updates.\n\n"
        f'Rolled back by #{revert.number} (Revert "Fix logout"), released as v1.2.5.'
    )


def test_a_rollback_run_before_both_hotfix_runs_of_its_version_marks_only_the_reverted_release(
    bot: Bot,
) -> None:
    """Neither hotfix of 1.2.4 is tagged when the rollback of the second runs: it expects the
    second to be released as v1.2.4, and the first's run, tagging it first, is not told."""
    repo = bot.repo
    first = merge_hotfix(bot)
    second = hotfix_of_the_same_version(bot, first, seen=False)
    revert = merged_rollback(bot, second)
    bot.pull_request(revert.number, "closed")
    [run] = repo.runs_named("hotfix-release", revert.merge_commit_sha)
    assert step_row(run.output["summary"], "Old release") == (
        "| Old release | ➖ skipped | there is no release for `v1.2.4` yet: when hotfix "
        f"#{second.number}'s run publishes it, its notes will say `Rolled back in v1.2.5` |   |"
    )

    bot.pull_request(first.number, "closed")
    bot.pull_request(second.number, "closed")

    assert repo.releases["v1.2.4"].body == "Hotfix #1: Fix login"
    [second_run] = repo.runs_named("hotfix-release", second.merge_commit_sha)
    assert second_run.output["title"] == "1 of 6 steps failed: tag"


def test_a_rollback_recorded_by_an_older_hotfix_bot_under_the_tag_alone_is_in_the_release(
    bot: Bot,
) -> None:
    hotfix = merge_hotfix(bot)
    # What an older hotfix-bot kept of a rollback merged before the hotfix's run.
    asyncio.run(bot.journal.set_state("rolled-back-in:acme/widgets@v1.2.4", "v1.2.5"))

    bot.pull_request(hotfix.number, "closed")

    assert bot.repo.releases["v1.2.4"].body == "Hotfix #1: Fix login\n\nRolled back in v1.2.5"


def test_a_hotfix_released_by_hand_before_hotfix_bot_ran_is_rolled_back_as_its_tag_says(
    bot: Bot,
) -> None:
    """No run of its own is in the journal: its tag, on its merge commit, is its release."""
    repo = bot.repo
    hotfix = merge_hotfix(bot)
    assert hotfix.merge_commit_sha is not None
    repo.create_tag("v1.2.4", hotfix.merge_commit_sha, message="Hotfix 1.2.4")
    repo.create_release("v1.2.4", hotfix.merge_commit_sha, body="Login fixed")
    revert = merged_rollback(bot, hotfix)

    bot.pull_request(revert.number, "closed")

    tag = repo.tag_object("v1.2.5")
    assert tag is not None and tag.message == 'Rollback of v1.2.4: Revert "Fix login"'
    assert repo.releases["v1.2.5"].body == (
        f'Rollback #{revert.number}: Revert "Fix login"\n\n'
        "This release rolls back v1.2.4 (hotfix #1: Fix login)."
    )
    assert repo.releases["v1.2.4"].body == "Login fixed\n\nRolled back in v1.2.5"
    [run] = repo.runs_named("hotfix-release", revert.merge_commit_sha)
    assert (run.conclusion, run.output["title"]) == ("success", "All steps done for v1.2.5")


# The report issue in the rollback's *Finish by hand*: the number the hotfix's run recorded,
# else (the journal holds no run of the hotfix) the one `gh` lists under the report's label.
RECORDED_REPORT = "2"
LISTED_REPORT = (
    '"$(gh issue list --label incident-report --state all --search '
    "'Incident report: Fix login in:title' --json number --jq '.[0].number')\""
)


@pytest.mark.parametrize(
    "journal_forgot_the_hotfix", [False, True], ids=["report recorded", "none recorded"]
)
def test_a_rollback_notice_and_report_row_made_by_hand_as_the_report_says_are_found_again(
    bot: Bot, hotfix: FakePull, tmp_path: Path, journal_forgot_the_hotfix: bool
) -> None:
    if journal_forgot_the_hotfix:
        # As if the journal had been restored from a backup older than the hotfix's run.
        forgotten = json.dumps({"steps": {}, "comment_id": None})
        asyncio.run(bot.journal.set_state(f"release:acme/widgets#{hotfix.number}", forgotten))
    revert = merged_rollback(bot, hotfix)
    # GitHub refuses the rollback's comments on the hotfix (#1) and on its incident report (#2).
    refused = {"message": "Resource not accessible by integration"}
    bot.fake.inject("POST", r"/issues/[12]/comments$", status=403, times=None, body=refused)

    bot.pull_request(revert.number, "closed")

    [run] = bot.repo.runs_named("hotfix-release", revert.merge_commit_sha)
    assert run.output["title"] == "2 of 7 steps failed: rollback-notice and rollback-in-report"
    merged_at = revert.merged_at
    assert merged_at is not None and revert.merge_commit_sha is not None
    notice = f"{NOTICE_MARKER.format(number=revert.number)}\n{NOTICE}"
    row = (
        f"<!-- hotfix-bot:incident-timeline rollback #{revert.number} -->\n"
        "**Timeline, continued**\n\n| Time | Event |\n|------|-------|\n"
        f'| {merged_at:%Y-%m-%d %H:%M} UTC | Rolled back by #3 (Revert "Fix login"): merged '
        f"into `main` by @dana as `{revert.merge_commit_sha[:7]}`, released as `v1.2.5` |"
    )
    assert run.output["summary"].endswith(
        "\n\n## Finish by hand\n\n"
        "Run these in a clone of `acme/widgets`, then re-run the `hotfix-release` check to "
        "confirm:\n\n```sh\n"
        "git fetch origin\n"
        f"gh pr comment 1 --body-file - <<'EOF'\n{notice}\nEOF\n"
        f"gh issue comment {LISTED_REPORT if journal_forgot_the_hotfix else RECORDED_REPORT} "
        f"--body-file - <<'EOF'\n{row}\nEOF\n```"
    )

    # dana follows them; when asked, `gh issue list` finds the report's number.
    calls = run_by_hand(run.output["summary"], tmp_path, bot.repo, issue_list="2")
    bot.fake.faults.clear()
    apply(calls, bot.repo, "dana")
    bot.deliver("check_run", bot.fake.check_run_event(bot.repo, run.id))

    # Each found again, once; a here-document ends in a newline.
    assert [c.body for c in bot.repo.comments_on(hotfix.number) if "ROLLBACK" in c.body] == [
        f"{notice}\n"
    ]
    assert [c.body for c in bot.repo.comments_on(2)] == [f"{row}\n"]
    [run] = bot.repo.runs_named("hotfix-release", revert.merge_commit_sha)
    assert (run.conclusion, run.output["title"]) == ("success", "All steps done for v1.2.5")
    summary = run.output["summary"]
    assert (
        "| Rollback notice | ✅ already done | the rollback notice was already on #1 |" in summary
    )
    assert (
        "| Report timeline | ✅ already done | the incident report #2 already had the rollback "
        "in its timeline |"
    ) in summary


# With `release: false` the rollback is tagged and nothing is released: the notice says so.
TAGGED_NOTICE = NOTICE.replace("released as v1.2.5", "tagged v1.2.5")


def test_with_release_false_the_rollback_notice_names_the_tag_alone(bot: Bot) -> None:
    hotfix = merged_hotfix(bot, "P1", config="release: false\n")
    revert = merged_rollback(bot, hotfix)

    bot.pull_request(revert.number, "closed")
    bot.pull_request(revert.number, "closed")  # delivered again: nothing posted twice

    repo = bot.repo
    assert repo.releases == {}
    notices = [c for c in repo.comments_on(hotfix.number) if "ROLLBACK" in c.body]
    marker = NOTICE_MARKER.format(number=revert.number)
    assert [c.body for c in notices] == [f"{marker}\n{TAGGED_NOTICE}"]
    [run] = repo.runs_named("hotfix-release", revert.merge_commit_sha)
    assert (run.conclusion, run.output["title"]) == (
        "success",
        "All steps done for v1.2.5 (2 skipped)",
    )
    step_rows = run.output["summary"].splitlines()[4:]
    assert step_rows[1:3] == [
        "| Release | ➖ skipped | `release: false` in `.github/hotfix.yml` |   |",
        "| Old release | ➖ skipped | there is no release for `v1.2.4` |   |",
    ]
    assert step_rows[5] == (
        "| Rollback notice | ✅ done | posted the rollback notice on #1 "
        f"| [#1]({WEB}/pull/1#issuecomment-{notices[0].id}) |"
    )


def test_with_release_false_the_rollback_notice_waits_for_the_tag_alone(bot: Bot) -> None:
    hotfix = merged_hotfix(bot, "P1", config="release: false\n")
    revert, run = merged_rollback_refused(bot, hotfix, r"/git/tags$")

    assert (
        "| Rollback notice | ➖ skipped | needs the tag, which failed: the notice names it |"
    ) in run.output["summary"]
    assert not [c for c in bot.repo.comments_on(hotfix.number) if "ROLLBACK" in c.body]

    rerun_unrefused(bot, run)

    notices = [c for c in bot.repo.comments_on(hotfix.number) if "ROLLBACK" in c.body]
    marker = NOTICE_MARKER.format(number=revert.number)
    assert [c.body for c in notices] == [f"{marker}\n{TAGGED_NOTICE}"]
    assert bot.repo.releases == {}
