"""The hotfix-policy check run, end to end against the fake GitHub (docs/BEHAVIOUR.md,
'The hotfix-policy check')."""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from githubkit.exception import RequestFailed
from support.harness import (
    Bot,
    pulls_of_the_commit_on_a_later_page,
    run_on_last_attempt,
    sequential_round_trips,
    services_of,
)
from support.titles import all_rules_pass, rules_fail
from support.version_bump import set_version_commands, up_to_date_first

from app.github.cache import Lru
from app.handlers.policy import on_pull_request
from sandbox import FakeCheckRun, FakePull
from sandbox.git import blob_sha

TEAMS = {"engineering-leads": ["lead"], "on-call-managers": ["oncall"], "product-managers": ["pm"]}


@pytest.fixture(autouse=True)
def teams(bot: Bot) -> None:
    for slug, members in TEAMS.items():
        bot.fake.add_team("acme", slug, members)


# A P1 hotfix's title until both its groups approve.
P1_WAITING = "Waiting for approval: Engineering Lead and Product Manager"


def open_hotfix(
    bot: Bot,
    branch: str = "hotfix/fix-login",
    labels: tuple[str, ...] = ("hotfix", "P1"),
    files: dict[str, str | None] | None = None,
    base: str = "main",
) -> tuple[FakePull, str]:
    bot.repo.create_branch(branch, base)
    head = bot.repo.commit(branch, files or {"VERSION": "1.2.4\n"}, "Fix the login")
    pull = bot.repo.open_pull(branch, base, title="Fix login", author="dev", labels=labels)
    bot.pull_request(pull.number, "opened")
    return pull, head


def assert_shows_no_hotfix(bot: Bot, head: str) -> None:
    run = bot.policy_run(head)
    assert (run.status, run.conclusion, run.output["title"]) == (
        "completed",
        "neutral",
        "Not a hotfix pull request",
    )


def approvals_on_main(bot: Bot, severity: str, why: str, *groups: str) -> None:
    """`.github/hotfix.yml` on main, committed for `why`, giving `severity` the approval
    `groups` (each a YAML flow mapping)."""
    listed = "".join(f"      - {group}\n" for group in groups)
    config = f"severities:\n  {severity}:\n    approvals:\n{listed}"
    bot.repo.commit("main", {".github/hotfix.yml": config}, why)


def failed_on(bot: Bot, head: str, *rules: str) -> str:
    """The summary of the run on `head`, which failed on `rules` alone."""
    run = bot.policy_run(head)
    assert (run.status, run.conclusion) == ("completed", "failure")
    assert run.output["title"] == rules_fail(*rules)
    return str(run.output["summary"])


def passing(bot: Bot, head: str) -> FakeCheckRun:
    """The run on `head`, completed: every rule passes."""
    run = bot.policy_run(head)
    assert (run.status, run.conclusion, run.output["title"]) == (
        "completed",
        "success",
        all_rules_pass(),
    )
    return run


def waiting_for(
    bot: Bot, head: str, groups: str = "Engineering Lead and Product Manager"
) -> FakeCheckRun:
    """The run on `head`, in progress: waiting for the approval of `groups` alone (by default
    a P1's)."""
    run = bot.policy_run(head)
    assert (run.status, run.output["title"]) == ("in_progress", f"Waiting for approval: {groups}")
    return run


def test_a_good_p1_hotfix_waits_for_approvals_one_by_one_then_passes(bot: Bot) -> None:
    pull, head = open_hotfix(bot)
    run = bot.policy_run(head)
    assert (run.status, run.conclusion) == ("in_progress", None)
    assert run.output["title"] == P1_WAITING
    assert run.output["summary"].endswith(
        "## How to fix\n\n### `approvals`\n\n"
        "Waiting for approval: Engineering Lead and Product Manager\n\n"
        "Engineering Lead: ask someone from team engineering-leads to approve the latest "
        "commit; Product Manager: ask someone from team product-managers to approve the "
        "latest commit"
    )

    bot.approve(pull.number, "lead")
    waiting_for(bot, head, "Product Manager")

    bot.approve(pull.number, "pm")
    run = passing(bot, head)
    due = (pull.created_at + timedelta(hours=24)).astimezone(UTC)
    # Evaluated on the day before the deadline, at a time of the real clock: less than a
    # second after the opening, what is left rounds up to the whole day.
    assert re.match(
        re.escape(f"**Severity P1**: merge within 24h of opening, by {due:%Y-%m-%d %H:%M} UTC: ")
        + r"(1d|23h59m) left as of \d{4}-\d\d-\d\d \d\d:\d\d UTC\.\n\n"
        + re.escape(
            "**Review requests** (made once for P1):\n"
            "- Engineering Lead: asked team engineering-leads\n"
            "- Product Manager: asked team product-managers\n\n"
            "Config: the defaults (no .github/hotfix.yml on main or in acme/.github)\n\n"
            "| Rule |"
        ),
        run.output["summary"],
    )
    assert (
        "| `version-bump` | ✅ pass | VERSION: 1.2.3 on main, 1.2.4 on hotfix/fix-login |"
        in (run.output["summary"])
    )
    # One run for the head commit, updated in place on every evaluation.
    assert len(run.history) == 3


@pytest.mark.parametrize(
    ("branch", "labels", "files", "base", "failing", "fix"),
    [
        (
            "hotfix/Fix_Login",
            ("hotfix", "P1"),
            None,
            "main",
            "branch-name",
            "git branch -m",
        ),
        ("hotfix/fix-login", ("hotfix", "P1"), None, "develop", "target-branch", "main"),
        ("hotfix/fix-login", (), None, "main", "labels", "Add the label `hotfix`"),
        ("hotfix/fix-login", ("hotfix", "P2"), None, "main", "severity", "P2"),
        (
            "hotfix/fix-login",
            ("hotfix", "P1"),
            {"VERSION": "1.3.0\n"},
            "main",
            "version-bump",
            "1.2.4",
        ),
        (
            "hotfix/fix-login",
            ("hotfix", "P1"),
            {"VERSION": "not a version\n"},
            "main",
            "version-bump",
            "VERSION",
        ),
    ],
    ids=["branch-name", "target-branch", "labels", "severity", "bump", "garbage-version"],
)
def test_each_rule_failing_fails_the_check_and_says_how_to_fix_it(
    bot: Bot,
    branch: str,
    labels: tuple[str, ...],
    files: dict[str, str | None] | None,
    base: str,
    failing: str,
    fix: str,
) -> None:
    if base != "main":
        bot.repo.create_branch(base, "main")
    _, head = open_hotfix(bot, branch, labels, files, base)

    summary = failed_on(bot, head, failing)
    assert f"| `{failing}` | ❌ fail |" in summary
    how_to_fix = summary.split(f"### `{failing}`", 1)[1]
    assert fix in how_to_fix


def test_a_released_next_patch_says_the_base_is_behind_and_a_re_run_follows_its_fix(
    bot: Bot,
) -> None:
    bot.repo.create_tag("v1.2.4", "main")  # released from elsewhere: main still says 1.2.3
    _, head = open_hotfix(bot, files={"VERSION": "1.2.5\n"})

    run = bot.policy_run(head)
    assert (run.status, run.conclusion) == ("completed", "failure")
    assert run.output["summary"].endswith(
        "### `version-bump`\n\n"
        "The tag v1.2.4 already exists, so main (1.2.3) is behind the latest release\n\n"
        "Set VERSION on main to 1.2.4, the version tagged v1.2.4, first (if a later version was "
        "released, use that one, and its next patch instead of 1.2.5); hotfix/fix-login holds "
        "1.2.5 already, but GitHub would then find VERSION conflicting with main's: merge main "
        "into hotfix/fix-login, keep 1.2.5 there, commit the merge and push it (the push runs "
        "this check again)"
    )
    looked_up = {r.path for r in bot.fake.requests_to("GET", "/repos/acme/widgets/git/ref/")}
    assert looked_up == {
        "/repos/acme/widgets/git/ref/tags/v1.2.5",
        "/repos/acme/widgets/git/ref/tags/v1.2.4",
    }

    bot.repo.commit("main", {"VERSION": "1.2.4\n"}, "Catch up with v1.2.4")
    bot.deliver("check_run", bot.fake.check_run_event(bot.repo, run.id))

    run = bot.policy_run(head)
    assert run.output["title"] == P1_WAITING
    assert (
        "| `version-bump` | ✅ pass | VERSION: 1.2.4 on main, 1.2.5 on hotfix/fix-login "
        "| 1.2.5 (1.2.4 + 1 patch) in VERSION, and no tag v1.2.5 yet |"
    ) in run.output["summary"]


def version_files(version: str) -> dict[str, str]:
    """The four files whose version is read when `version.files` is left out, at `version`."""
    return {
        "VERSION": f"{version}\n",
        "pyproject.toml": f'[project]\nname = "widgets"\nversion = "{version}"\n',
        "package.json": f'{{\n  "name": "widgets",\n  "version": "{version}"\n}}\n',
        "Cargo.toml": f'[package]\nname = "widgets"\nversion = "{version}"\n',
    }


def test_every_known_version_file_on_the_base_must_be_bumped_alike(bot: Bot) -> None:
    bot.repo.commit("main", version_files("1.2.3"), "Version files")
    behind = {"Cargo.toml": version_files("1.2.3")["Cargo.toml"]}
    pull, head = open_hotfix(bot, files={**version_files("1.2.4"), **behind})

    run = bot.policy_run(head)
    assert (run.conclusion, run.output["title"]) == ("failure", rules_fail("version-bump"))
    assert (
        "| `version-bump` | ❌ fail | VERSION: 1.2.3 on main, 1.2.4 on hotfix/fix-login; "
        "pyproject.toml: 1.2.3 on main, 1.2.4 on hotfix/fix-login; "
        "package.json: 1.2.3 on main, 1.2.4 on hotfix/fix-login; "
        "Cargo.toml: 1.2.3 on main, 1.2.3 on hotfix/fix-login "
        "| 1.2.4 (1.2.3 + 1 patch) in VERSION, pyproject.toml, package.json, Cargo.toml, "
        "and no tag v1.2.4 yet |"
    ) in run.output["summary"]

    head = bot.repo.commit("hotfix/fix-login", version_files("1.2.4"), "Cargo.toml too")
    bot.pull_request(pull.number, "synchronize")

    run = bot.policy_run(head)
    assert run.output["title"] == P1_WAITING


def test_an_existing_tag_for_the_new_version_fails_version_bump(bot: Bot) -> None:
    bot.repo.create_tag("v1.2.4", "main")
    _, head = open_hotfix(bot)

    run = bot.policy_run(head)
    assert run.output["title"] == rules_fail("version-bump")
    assert "v1.2.4" in run.output["summary"]


def test_a_tag_format_with_a_hash_looks_up_the_whole_tag_name(bot: Bot) -> None:
    """git allows `#` in a tag; in a URL path it would end the name."""
    bot.repo.commit("main", {".github/hotfix.yml": 'tag:\n  format: "rel#{version}"\n'}, "tags")
    bot.repo.create_tag("rel#1.2.4", "main")
    _, head = open_hotfix(bot)

    run = bot.policy_run(head)
    assert run.output["title"] == rules_fail("version-bump")
    assert "rel#1.2.4" in run.output["summary"]
    [look_up] = bot.fake.requests_to("GET", "/repos/acme/widgets/git/ref/tags/")
    assert look_up.path == "/repos/acme/widgets/git/ref/tags/rel%231.2.4"


def test_build_metadata_on_a_released_version_fails_version_bump(bot: Bot) -> None:
    bot.repo.create_tag("v1.2.4", "main")  # released from elsewhere: main still says 1.2.3
    _, head = open_hotfix(bot, files={"VERSION": "1.2.4+hotfix.1\n"})

    summary = failed_on(bot, head, "version-bump")
    assert (
        "| `version-bump` | ❌ fail | VERSION: 1.2.3 on main, 1.2.4+hotfix.1 on hotfix/fix-login "
        "| 1.2.4 (1.2.3 + 1 patch) in VERSION, and no tag v1.2.4+hotfix.1 or v1.2.4 yet |"
    ) in summary
    assert summary.endswith(
        "### `version-bump`\n\n"
        "The tag v1.2.4 already exists, so main (1.2.3) is behind the latest release "
        "(1.2.4+hotfix.1 is 1.2.4: build metadata does not make another version)\n\n"
        "Set VERSION on main to 1.2.4, the version tagged v1.2.4, first (if a later version was "
        "released, use that one, and its next patch instead of 1.2.5).\n\n"
        "Once main holds it, the commands bring hotfix/fix-login up to date with main first, "
        "so that the bump merges cleanly. If main then holds another version than "
        "hotfix/fix-login in VERSION (a later release, say), the merge stops on a conflict "
        "there: keep main's version "
        "(`git checkout --theirs -- VERSION && git add VERSION && git commit --no-edit`), "
        "and run the commands after the "
        "merge. Then set the version to 1.2.5 on hotfix/fix-login, commit it and push it:\n\n"
        + set_version_commands("1.2.5", "main")
    )
    looked_up = {r.path for r in bot.fake.requests_to("GET", "/repos/acme/widgets/git/ref/")}
    assert looked_up == {
        "/repos/acme/widgets/git/ref/tags/v1.2.4+hotfix.1",
        "/repos/acme/widgets/git/ref/tags/v1.2.4",
    }


PRE_RELEASES_ALLOWED = {".github/hotfix.yml": "version:\n  allow_prerelease: true\n"}


def test_a_pre_release_on_the_head_fails_version_bump_by_default(bot: Bot) -> None:
    _, head = open_hotfix(bot, files={"VERSION": "1.2.4-rc.1\n"})

    summary = failed_on(bot, head, "version-bump")
    assert (
        "| `version-bump` | ❌ fail | VERSION: 1.2.3 on main, 1.2.4-rc.1 on hotfix/fix-login "
        "| 1.2.4 (1.2.3 + 1 patch) in VERSION, and no tag v1.2.4 yet |"
    ) in summary
    assert summary.endswith(
        "### `version-bump`\n\nVERSION is 1.2.4-rc.1 on hotfix/fix-login, expected 1.2.4\n\n"
        "Set the version to 1.2.4 on hotfix/fix-login, commit it and push it:\n\n"
        + set_version_commands("1.2.4")
        + "\n\n"
        "To ship the pre-release 1.2.4-rc.1 instead, set "
        "`version.allow_prerelease: true` in `.github/hotfix.yml` on main"
    )


def opened_from_the_fork(bot: Bot, branch: str) -> FakePull:
    """A P1 hotfix from `branch` of the fork contributor/widgets, with no version bump."""
    bot.fake.add_repo("contributor/widgets", bot.repo.installation_id)
    bot.repo.create_branch(branch, "main")
    bot.repo.commit(branch, {"app.py": "fixed\n"}, "Fix the login")
    pull = bot.repo.open_pull(
        branch,
        title="Fix login",
        author="dev",
        labels=("hotfix", "P1"),
        from_fork="contributor/widgets",
    )
    bot.pull_request(pull.number, "opened")
    return pull


def test_the_version_bump_fix_of_a_pull_request_from_a_fork_checks_it_out_with_gh(
    bot: Bot,
) -> None:
    """The head branch is the fork's: the fix fetches it by the pull request's number and
    pushes to where gh points `git push`, never to a branch of the same name here. The base
    branch is fetched from this repository, which is not `origin` in a clone of the fork."""
    pull = opened_from_the_fork(bot, "hotfix/fix-login")
    run = bot.policy_run(pull.head_sha)
    assert run.output["summary"].endswith(
        "### `version-bump`\n\nVERSION is 1.2.3 on hotfix/fix-login, expected 1.2.4\n\n"
        + up_to_date_first("hotfix/fix-login", "main", "1.2.3")
        + "Set the version to 1.2.4 on hotfix/fix-login, commit it and push it to the fork "
        "contributor/widgets. In a clone of this repository, `gh pr checkout` has `git push` "
        "push there if the pull request allows edits by maintainers; the fork's owner can run "
        "these in a clone of the fork too:\n\n```sh\n"
        "git fetch origin &&\n"
        f"gh pr checkout {pull.number} &&\n"
        "git fetch https://github.com/acme/widgets.git main &&\n"
        "git merge --no-edit FETCH_HEAD &&\n"
        'echo "1.2.4" > VERSION &&\n'
        "git add VERSION &&\n"
        'git commit -m "Bump the version to 1.2.4" &&\n'
        "git push\n```"
    )


def test_a_wrongly_named_branch_that_lacks_the_bump_is_bumped_where_the_work_moves(
    bot: Bot,
) -> None:
    """`branch-name`'s fix moves the work to a new branch and pull request, leaving this one's
    branch behind: `version-bump`'s commands, followed next, bump the new branch."""
    _, head = open_hotfix(bot, "hotfix/Fix_Login", files={"app.py": "fixed\n"})

    run = bot.policy_run(head)
    assert run.output["title"] == rules_fail("branch-name", "version-bump")
    summary = run.output["summary"]
    assert (
        "### `branch-name`\n\n"
        "Branch hotfix/Fix_Login does not match `^hotfix/[a-z0-9]+(-[a-z0-9]+)*$`\n\n"
        "Rename the branch, push it, open a new pull request from hotfix/fix-login and close "
        "this one:\n\n```sh\n"
        "git branch -m hotfix/Fix_Login hotfix/fix-login\n"
        "git push origin -u hotfix/fix-login\n"
        "gh pr view 1 --json body --jq .body |\n"
        "  gh pr create --base main --head hotfix/fix-login --title 'Fix login' --label P1 "
        "--label hotfix --body-file -\n"
        "gh pr close 1\n```"
    ) in summary
    assert summary.endswith(
        "### `version-bump`\n\nVERSION is 1.2.3 on hotfix/Fix_Login, expected 1.2.4\n\n"
        + up_to_date_first("hotfix/fix-login", "main", "1.2.3")
        + "Set the version to 1.2.4 on hotfix/fix-login once `branch-name`'s fix has moved the "
        "work there, commit it and push it:\n\n" + set_version_commands("1.2.4", "main")
    )


def test_a_wrongly_named_fork_branch_is_bumped_in_the_clone_of_the_fork_it_is_renamed_in(
    bot: Bot,
) -> None:
    """The fork's branch is renamed and pushed in a clone of the fork: the bump follows it
    there, with no `gh pr checkout` of the pull request about to be closed. `origin` there
    is the fork: the base branch is fetched from this repository."""
    run = bot.policy_run(opened_from_the_fork(bot, "hotfix/Fix_Login").head_sha)
    assert run.output["summary"].endswith(
        "### `version-bump`\n\nVERSION is 1.2.3 on hotfix/Fix_Login, expected 1.2.4\n\n"
        + up_to_date_first("hotfix/fix-login", "main", "1.2.3")
        + "Set the version to 1.2.4 on hotfix/fix-login once `branch-name`'s fix has moved the "
        "work there, commit it and push it to the fork contributor/widgets, in the clone it "
        "was renamed in:\n\n"
        + set_version_commands("1.2.4", "main", "https://github.com/acme/widgets.git")
    )


def test_with_pre_releases_allowed_a_pre_release_passes_and_its_tags_are_looked_up(
    bot: Bot,
) -> None:
    bot.repo.commit("main", PRE_RELEASES_ALLOWED, "Allow pre-release hotfixes")
    pull, head = open_hotfix(bot, files={"VERSION": "1.2.4-rc.1\n"})
    bot.approve(pull.number, "lead", "pm")

    run = passing(bot, head)
    assert (
        "| `version-bump` | ✅ pass | VERSION: 1.2.3 on main, 1.2.4-rc.1 on hotfix/fix-login "
        "| 1.2.4 or a pre-release of it (1.2.3 + 1 patch) in VERSION, "
        "and no tag v1.2.4-rc.1 or v1.2.4 yet |"
    ) in run.output["summary"]
    looked_up = {r.path for r in bot.fake.requests_to("GET", "/repos/acme/widgets/git/ref/")}
    assert looked_up == {
        "/repos/acme/widgets/git/ref/tags/v1.2.4-rc.1",
        "/repos/acme/widgets/git/ref/tags/v1.2.4",  # the release it is a pre-release of
    }


def test_an_existing_tag_of_the_pre_release_fails_version_bump(bot: Bot) -> None:
    bot.repo.commit("main", PRE_RELEASES_ALLOWED, "Allow pre-release hotfixes")
    bot.repo.create_tag("v1.2.4-rc.1", "main")
    _, head = open_hotfix(bot, files={"VERSION": "1.2.4-rc.1\n"})

    assert failed_on(bot, head, "version-bump").endswith(
        "### `version-bump`\n\n"
        "The tag v1.2.4-rc.1 already exists, so 1.2.4-rc.1 was released before\n\n"
        "Bring the version files on main up to the latest release first, then bump its patch "
        "number here (if hotfix/fix-login holds that version already, then re-run this check)"
        "\n\nOr ship the next pre-release instead: set the version to 1.2.4-rc.2 on "
        "hotfix/fix-login, commit it and push it:\n\n" + set_version_commands("1.2.4-rc.2")
    )


def test_an_approval_group_only_the_author_could_fill_fails_approvals(bot: Bot) -> None:
    approvals_on_main(
        bot,
        "P1",
        "Only dev may approve P1 hotfixes",
        "{name: Release Owner, users: [dev], count: 1}",
    )
    _, head = open_hotfix(bot)

    run = bot.policy_run(head)
    assert run.output["title"] == rules_fail("approvals")


def test_groups_everyone_listed_has_approved_but_cannot_fill_fail_approvals(bot: Bot) -> None:
    approvals_on_main(
        bot,
        "P1",
        "Three seats for two people",
        "{name: Release Owner, users: [alice], count: 1}",
        "{name: Backup Owner, users: [alice, bob], count: 2}",
    )
    pull, head = open_hotfix(bot)
    bot.approve(pull.number, "alice", "bob")

    assert failed_on(bot, head, "approvals").endswith(
        "### `approvals`\n\nRelease Owner and Backup Owner need 3 different people, but only "
        "alice and bob can fill them\n\nList more users for Release Owner or Backup Owner under "
        "severities.P1 in .github/hotfix.yml on main, then re-run this check"
    )


def test_the_policy_is_read_from_the_base_branch_never_the_head(bot: Bot) -> None:
    relaxed = "severities:\n  P2:\n    hotfix_allowed: true\n"
    _, head = open_hotfix(
        bot,
        labels=("hotfix", "P2"),
        files={"VERSION": "1.2.4\n", ".github/hotfix.yml": relaxed},
    )

    run = bot.policy_run(head)
    assert run.output["title"] == rules_fail("severity")


def test_an_invalid_config_fails_the_check_naming_the_key(bot: Bot) -> None:
    approvals_on_main(
        bot, "P0", "A typo in the policy", "{name: Lead, team: engineering-leads, count: two}"
    )
    _, head = open_hotfix(bot)

    run = bot.policy_run(head)
    assert (run.status, run.conclusion) == ("completed", "failure")
    assert run.output["title"].startswith(
        "Invalid .github/hotfix.yml: severities.P0.approvals[0].count"
    )
    assert "no rule was checked" in run.output["summary"]


def test_a_config_nested_too_deep_fails_the_check_naming_the_key_and_the_delivery_is_done(
    bot: Bot,
) -> None:
    nested = "severities:\n  P0:\n    approvals: " + "[" * 900 + "]" * 900 + "\n"
    bot.repo.commit("main", {".github/hotfix.yml": nested}, "A policy nested 900 levels deep")
    _, head = open_hotfix(bot)

    run = bot.policy_run(head)
    assert (run.status, run.conclusion, run.output["title"]) == (
        "completed",
        "failure",
        "Invalid .github/hotfix.yml: severities.P0.approvals"
        + "[0]" * 47
        + ": is nested more than 50 levels deep",
    )
    [entry] = bot.journal.recent()
    assert (entry.status, entry.attempts, entry.last_error) == ("done", 1, None)


def test_a_pull_request_that_is_not_a_hotfix_is_neutral(bot: Bot) -> None:
    bot.repo.create_branch("feature/search", "main")
    head = bot.repo.commit("feature/search", {"search.py": "print()\n"}, "Search")
    pull = bot.repo.open_pull("feature/search", "main", title="Search", author="dev")

    bot.pull_request(pull.number, "opened")

    assert_shows_no_hotfix(bot, head)


def test_late_deliveries_still_end_in_the_result_for_the_current_state(bot: Bot) -> None:
    bot.repo.create_branch("hotfix/fix-login", "main")
    bot.repo.commit("hotfix/fix-login", {"VERSION": "1.2.4\n"}, "Fix")
    pull = bot.repo.open_pull("hotfix/fix-login", "main", title="Fix", author="dev")
    stale_opened = bot.fake.pull_request_event(bot.repo, pull.number, "opened")
    bot.repo.add_labels(pull.number, "hotfix", "P1")
    labeled = bot.fake.pull_request_event(bot.repo, pull.number, "labeled", label="P1")

    bot.deliver("pull_request", labeled)
    bot.deliver("pull_request", stale_opened)  # arrives last, without the labels

    run = bot.policy_run(pull.head_sha)
    assert run.output["title"] == P1_WAITING


def test_an_evaluation_for_an_old_head_does_not_touch_the_new_heads_run(bot: Bot) -> None:
    pull, first_head = open_hotfix(bot, labels=())
    old_synchronize = bot.fake.pull_request_event(bot.repo, pull.number, "opened")
    second_head = bot.repo.commit("hotfix/fix-login", {"NOTES": "more\n"}, "More")
    bot.repo.add_labels(pull.number, "hotfix", "P1")
    bot.pull_request(pull.number, "synchronize")
    first_run_writes = len(bot.policy_run(first_head).history)

    bot.deliver("pull_request", old_synchronize)

    assert len(bot.policy_run(first_head).history) == first_run_writes
    assert bot.policy_run(first_head).conclusion == "failure"
    assert bot.policy_run(second_head).output["title"].startswith("Waiting for approval")


def test_a_push_cancels_the_replaced_heads_run_that_waited_for_approval(bot: Bot) -> None:
    pull, first_head = open_hotfix(bot)
    second_head = bot.repo.commit("hotfix/fix-login", {"NOTES": "more\n"}, "More")

    bot.pull_request(pull.number, "synchronize")

    replaced = bot.policy_run(first_head)
    assert (replaced.status, replaced.conclusion, replaced.output["title"]) == (
        "completed",
        "cancelled",
        f"Replaced by a push: evaluated on {second_head[:7]}",
    )
    assert replaced.output["summary"] == (
        f"A push moved the head of #{pull.number} from {first_head[:7]} to {second_head[:7]} "
        f"while this check waited for approval. The hotfix-policy run of {second_head[:7]} "
        "is the one that counts now."
    )
    waiting_for(bot, second_head)


def test_the_replaced_heads_run_is_cancelled_though_the_push_s_delivery_never_runs(
    bot: Bot,
) -> None:
    """A later delivery supersedes the push's `synchronize` in the journal, or GitHub lost it:
    the next evaluation finds the head moved all the same."""
    pull, first_head = open_hotfix(bot)
    second_head = bot.repo.commit("hotfix/fix-login", {"NOTES": "more\n"}, "More")

    bot.pull_request(pull.number, "labeled")

    replaced = bot.policy_run(first_head)
    assert (replaced.conclusion, replaced.output["title"]) == (
        "cancelled",
        f"Replaced by a push: evaluated on {second_head[:7]}",
    )


def test_a_push_leaves_the_replaced_heads_concluded_run_alone_without_a_request(
    bot: Bot,
) -> None:
    pull, first_head = open_hotfix(bot, labels=("hotfix",))  # fails: no severity label
    concluded = dict(bot.policy_run(first_head).output)
    bot.repo.commit("hotfix/fix-login", {"NOTES": "more\n"}, "More")

    with bot.counting() as requests:
        bot.pull_request(pull.number, "synchronize")

    replaced = bot.policy_run(first_head)
    assert (replaced.conclusion, replaced.output) == ("failure", concluded)
    run_id = str(replaced.id)
    assert [r.path for r in requests if first_head in r.path or run_id in r.path] == []


def test_a_push_leaves_the_replaced_heads_run_waiting_while_another_pull_request_has_that_head(
    bot: Bot,
) -> None:
    pull, first_head = open_hotfix(bot)
    bot.repo.create_branch("hotfix/fix-login-copy", "hotfix/fix-login")
    bot.repo.open_pull("hotfix/fix-login-copy", "main", title="Copy", author="dev")
    bot.repo.commit("hotfix/fix-login", {"NOTES": "more\n"}, "More")

    bot.pull_request(pull.number, "synchronize")

    waiting_for(bot, first_head)


def test_a_replaced_head_github_lists_no_pull_requests_for_is_left_waiting_once(
    bot: Bot,
) -> None:
    """GitHub refuses to list the pull requests of the commit a push replaced (a force-push
    made it unknown: 422): whether another pull request has it as its head cannot be told,
    so its run is left as it is; the evaluation is done all the same, and the next one does
    not ask again."""
    pull, first_head = open_hotfix(bot)
    bot.repo.commit("hotfix/fix-login", {"NOTES": "more\n"}, "More")
    listing = rf"/commits/{first_head}/pulls$"
    refusal = {"message": f"No commit found for SHA: {first_head}"}
    bot.fake.inject("GET", listing, status=422, times=None, body=refusal)

    bot.pull_request(pull.number, "synchronize")
    with bot.counting() as requests:
        bot.pull_request(pull.number, "labeled")

    waiting_for(bot, first_head)
    assert [(entry.status, entry.last_error) for entry in bot.journal.recent()] == [
        ("done", None)
    ] * 3
    assert [r.path for r in requests if r.path.endswith(f"/commits/{first_head}/pulls")] == []


def test_approvals_on_an_older_commit_do_not_count(bot: Bot) -> None:
    pull, _ = open_hotfix(bot)
    bot.approve(pull.number, "lead", "pm")
    new_head = bot.repo.commit("hotfix/fix-login", {"NOTES": "typo\n"}, "Typo")

    bot.pull_request(pull.number, "synchronize")

    run = bot.policy_run(new_head)
    assert run.output["title"] == P1_WAITING


def test_only_each_reviewers_latest_review_counts_on_whichever_page_github_lists_it(
    bot: Bot,
) -> None:
    pull, head = open_hotfix(bot)
    bot.approve(pull.number, "lead", "pm")
    for number in range(120):  # GitHub lists reviews 100 a page at most
        bot.repo.review(pull.number, f"passer-by-{number}", "COMMENTED")

    bot.repo.review(pull.number, "lead", "CHANGES_REQUESTED")
    bot.deliver("pull_request_review", bot.fake.review_event(bot.repo, pull.number))

    waiting_for(bot, head, "Engineering Lead")

    bot.approve(pull.number, "lead")

    passing(bot, head)


@pytest.mark.parametrize("event", ["check_run", "check_suite"])
def test_a_rerequested_check_evaluates_the_pull_requests_of_that_head_again(
    bot: Bot, event: str
) -> None:
    pull, head = open_hotfix(bot, labels=("hotfix",))
    bot.repo.add_labels(pull.number, "P1")  # no delivery for this label

    if event == "check_run":
        payload = bot.fake.check_run_event(bot.repo, bot.policy_run(head).id)
    else:
        payload = bot.fake.check_suite_event(bot.repo, head)
    bot.deliver(event, payload)

    assert bot.policy_run(head).output["title"].startswith("Waiting for approval")


@pytest.mark.parametrize(
    ("event", "action"),
    [
        *(
            ("pull_request", action)
            for action in (
                "opened",
                "reopened",
                "synchronize",
                "edited",
                "labeled",
                "unlabeled",
                "ready_for_review",
            )
        ),
        ("pull_request_review", "submitted"),
        ("pull_request_review", "edited"),
    ],
)
def test_each_trigger_evaluates_the_pull_request_as_github_has_it_now(
    bot: Bot, event: str, action: str
) -> None:
    pull, head = open_hotfix(bot)
    for login in ("lead", "pm"):  # their deliveries are still on the way
        bot.repo.review(pull.number, login, "APPROVED")

    if event == "pull_request":
        label = "P1" if action in ("labeled", "unlabeled") else None
        payload = bot.fake.pull_request_event(bot.repo, pull.number, action, label=label)
    else:
        payload = bot.fake.review_event(bot.repo, pull.number, action=action)
    answer = bot.send(event, payload)
    bot.settle()

    assert answer.json()["status"] == "queued"
    run = passing(bot, head)
    assert len(run.history) == 2  # the one run of the head, updated


def test_a_dismissed_approval_no_longer_counts(bot: Bot) -> None:
    pull, head = open_hotfix(bot)
    bot.approve(pull.number, "lead", "pm")
    [_, by_pm] = bot.repo.pulls[pull.number].reviews
    bot.repo.dismiss_review(pull.number, by_pm.id)

    bot.deliver(
        "pull_request_review",
        bot.fake.review_event(bot.repo, pull.number, by_pm.id, "dismissed", sender="maintainer"),
    )

    run = bot.policy_run(head)
    assert (run.status, run.conclusion, run.output["title"]) == (
        "in_progress",
        None,
        "Waiting for approval: Product Manager",
    )


@pytest.mark.parametrize(
    ("event", "action"),
    [
        ("pull_request", "assigned"),
        ("pull_request", "review_requested"),
        ("pull_request", "converted_to_draft"),
        ("check_run", "completed"),
        ("check_suite", "completed"),
    ],
)
def test_actions_outside_the_triggers_are_ignored_and_leave_the_run(
    bot: Bot, event: str, action: str
) -> None:
    pull, head = open_hotfix(bot)
    bot.repo.add_labels(pull.number, "P0")  # would fail `labels`, were it evaluated
    if event == "pull_request":
        payload = bot.fake.pull_request_event(bot.repo, pull.number, action)
    elif event == "check_run":
        payload = bot.fake.check_run_event(bot.repo, bot.policy_run(head).id, action)
    else:
        payload = bot.fake.check_suite_event(bot.repo, head, action)

    answer = bot.send(event, payload, "not-a-trigger")

    assert answer.json() == {"delivery": "not-a-trigger", "status": "ignored"}
    bot.settle()
    run = bot.policy_run(head)
    assert (run.status, run.output["title"], len(run.history)) == (
        "in_progress",
        P1_WAITING,
        1,
    )


def test_a_rerun_naming_a_pull_request_of_the_parent_repository_evaluates_this_ones(
    bot: Bot,
) -> None:
    """A check suite in a fork also names the pull requests into the repository it was forked
    from: their numbers are another repository's, and are not looked up here."""
    pull, head = open_hotfix(bot)
    payload = bot.fake.check_suite_event(bot.repo, head)
    [named] = payload["check_suite"]["pull_requests"]
    parent = {"id": bot.repo.id + 1, "url": "https://api.github.com/repos/up/widgets", "name": "w"}
    named.update(number=pull.number + 1, base={**named["base"], "repo": parent})

    bot.deliver("check_suite", payload)

    assert [entry.status for entry in bot.journal.recent()] == ["done", "done"]
    run = bot.policy_run(head)
    assert run.output["title"] == P1_WAITING


def reads_of_every_evaluation(number: int) -> list[str]:
    """What an evaluation of pull request `number` reads at once, whatever it holds: the pull
    request, its reviews, the base's tree and the organization's file."""
    return [
        f"GET /repos/acme/widgets/pulls/{number}",
        f"GET /repos/acme/widgets/pulls/{number}/reviews",
        "GET /repos/acme/widgets/git/trees/main",
        "GET /repos/acme/.github/contents/.github/hotfix.yml",
    ]


def reads_of_a_new_head(head: str) -> list[str]:
    """What the first evaluation of `head` reads beside them: its tree, and its check run."""
    return [
        f"GET /repos/acme/widgets/git/trees/{head}",
        f"GET /repos/acme/widgets/commits/{head}/check-runs",
    ]


def test_one_evaluation_with_warm_caches_takes_8_requests_in_3_round_trips(bot: Bot) -> None:
    # Two approval groups, one version file, one approval in: the base's tree, the reviews
    # and the teams' members are revalidated by ETag.
    pull, head = open_hotfix(bot)
    bot.approve(pull.number, "lead")
    bot.repo.review(pull.number, "pm", "APPROVED")
    bot.fake.latency = 0.2  # makes concurrent requests overlap visibly, even on a busy machine
    bot.transport.spans.clear()

    bot.deliver("pull_request_review", bot.fake.review_event(bot.repo, pull.number))

    calls = [f"{span.method} {span.path}" for span in bot.transport.spans]
    rounds = sequential_round_trips(bot.transport.spans)
    assert bot.policy_run(head).conclusion == "success"
    # The pull request, its reviews, the base's tree and the organization's file the
    # delivery names at once; then the tag and the teams of the approvers; then the run.
    assert sorted(calls) == sorted(
        [
            *reads_of_every_evaluation(pull.number),
            "GET /repos/acme/widgets/git/ref/tags/v1.2.4",
            "GET /orgs/acme/teams/engineering-leads/members",
            "GET /orgs/acme/teams/product-managers/members",
            f"PATCH /repos/acme/widgets/check-runs/{bot.policy_run(head).id}",
        ]
    )
    assert rounds == 3, calls


def test_the_first_evaluation_of_a_pull_request_takes_11_requests_in_4_round_trips(
    bot: Bot,
) -> None:
    # Another pull request was evaluated before: the token and the base branch's files are
    # known. This one's head is new, with a VERSION never read before.
    open_hotfix(bot)
    bot.repo.create_branch("hotfix/fix-logout", "main")
    version = "1.2.5\n"
    head = bot.repo.commit("hotfix/fix-logout", {"VERSION": version}, "Fix the logout")
    pull = bot.repo.open_pull(
        "hotfix/fix-logout", "main", title="Fix logout", author="dev", labels=["hotfix", "P1"]
    )
    bot.fake.latency = 0.2  # makes concurrent requests overlap visibly, even on a busy machine
    bot.transport.spans.clear()

    bot.pull_request(pull.number, "opened")

    calls = [f"{span.method} {span.path}" for span in bot.transport.spans]
    rounds = sequential_round_trips(bot.transport.spans)
    assert bot.policy_run(head).output["title"] == rules_fail("version-bump")  # 1.2.3 to 1.2.5
    # The pull request and its reviews, and what the delivery names beside them: the base's
    # tree (revalidated), the organization's file, the head's tree and the look-up of its
    # check run; then the head's VERSION; then the tag it names and, as it is not 1.2.4, the
    # tag v1.2.4 the fix would ask for, beside the review requests (the approvals read no
    # version); then the run.
    assert sorted(calls) == sorted(
        [
            *reads_of_every_evaluation(pull.number),
            *reads_of_a_new_head(head),
            f"GET /repos/acme/widgets/git/blobs/{blob_sha(version)}",
            "GET /repos/acme/widgets/git/ref/tags/v1.2.5",
            "GET /repos/acme/widgets/git/ref/tags/v1.2.4",
            f"POST /repos/acme/widgets/pulls/{pull.number}/requested_reviewers",
            "POST /repos/acme/widgets/check-runs",
        ]
    )
    assert rounds == 4, calls


def test_a_head_holding_the_next_patch_as_the_base_writes_it_costs_no_blob_read(
    bot: Bot,
) -> None:
    # git names a blob by its bytes: the head tree's entry for VERSION says it holds the
    # base's text with the next patch, which is all the version-bump rule reads of it. The
    # reads of the first round trip, then the tag's look-up beside the review request, then
    # the run: 9 requests in 3 round trips.
    open_hotfix(bot, "hotfix/warm-up", files={"fix.txt": "fixed\n"})  # VERSION as on main
    bot.repo.create_branch("hotfix/fix-logout", "main")
    head = bot.repo.commit("hotfix/fix-logout", {"VERSION": "1.2.4\n"}, "Fix the logout")
    pull = bot.repo.open_pull(
        "hotfix/fix-logout", "main", title="Fix logout", author="dev", labels=["hotfix", "P1"]
    )
    bot.fake.latency = 0.2
    bot.transport.spans.clear()

    bot.pull_request(pull.number, "opened")

    calls = [f"{span.method} {span.path}" for span in bot.transport.spans]
    run = bot.policy_run(head)
    assert run.output["title"] == P1_WAITING
    assert "VERSION: 1.2.3 on main, 1.2.4 on hotfix/fix-logout" in run.output["summary"]
    assert sorted(calls) == sorted(
        [
            *reads_of_every_evaluation(pull.number),
            *reads_of_a_new_head(head),
            "GET /repos/acme/widgets/git/ref/tags/v1.2.4",
            f"POST /repos/acme/widgets/pulls/{pull.number}/requested_reviewers",
            "POST /repos/acme/widgets/check-runs",
        ]
    )
    assert sequential_round_trips(bot.transport.spans) == 3, calls


def test_a_pull_request_that_is_no_hotfix_has_no_file_of_its_head_read(bot: Bot) -> None:
    open_hotfix(bot, "hotfix/warm-up", files={"fix.txt": "fixed\n"})
    bot.repo.create_branch("feature/dark-mode", "main")
    files = {"VERSION": "1.3.0\n", "package.json": '{"name": "web", "version": "1.3.0"}\n'}
    head = bot.repo.commit("feature/dark-mode", files, "Dark mode")
    pull = bot.repo.open_pull("feature/dark-mode", "main", title="Dark mode", author="dev")
    bot.transport.spans.clear()

    bot.pull_request(pull.number, "opened")

    assert_shows_no_hotfix(bot, head)
    # Its head's tree is read ahead, beside the pull request, before it is known to be none.
    assert sorted(f"{span.method} {span.path}" for span in bot.transport.spans) == sorted(
        [
            *reads_of_every_evaluation(pull.number),
            *reads_of_a_new_head(head),
            "POST /repos/acme/widgets/check-runs",
        ]
    )


def test_someone_added_to_a_team_counts_at_once(bot: Bot) -> None:
    pull, head = open_hotfix(bot)
    bot.approve(pull.number, "pm", "newlead")
    assert bot.policy_run(head).output["title"] == "Waiting for approval: Engineering Lead"

    bot.fake.teams[("acme", "engineering-leads")].members.append("newlead")
    bot.deliver("check_run", bot.fake.check_run_event(bot.repo, bot.policy_run(head).id))

    passing(bot, head)
    members = bot.fake.requests_to("GET", "/orgs/acme/teams/engineering-leads/members")
    # Read for each approval, revalidated: unchanged for the second, changed for the re-run.
    assert [request.status for request in members] == [200, 304, 200]


def test_a_member_github_lists_on_a_later_page_of_a_large_team_counts(bot: Bot) -> None:
    leads = bot.fake.teams[("acme", "engineering-leads")].members
    leads[:0] = [f"lead-{number}" for number in range(150)]  # "lead" is the 151st
    pull, head = open_hotfix(bot)

    bot.approve(pull.number, "pm", "lead")

    run = passing(bot, head)
    assert "Engineering Lead: lead" in run.output["summary"]


@pytest.mark.parametrize("remembered", ["gone", "another commit's"])
def test_a_remembered_run_that_is_not_this_commits_gives_way_to_the_commits_own(
    bot: Bot, remembered: str
) -> None:
    """The journal remembers each commit's run id for the next process; one restored from
    a backup, or kept across a change of GitHub, may name a run that is gone or belongs to
    another commit, which must not be touched."""
    _, other_head = open_hotfix(bot, "hotfix/other", files={"VERSION": "1.2.4\n", "x.py": ""})
    pull, head = open_hotfix(bot)
    assert other_head != head
    other = bot.policy_run(other_head)
    other_before = (other.status, other.conclusion, dict(other.output))
    run_id = "999999" if remembered == "gone" else str(other.id)
    key = f"check-run:acme/widgets:hotfix-policy:{head}"
    asyncio.run(bot.journal.set_state(key, run_id))
    github = services_of(bot.client).github
    assert github is not None
    github.caches.check_runs = Lru(16)  # as after a restart

    bot.approve(pull.number, "lead")

    run = waiting_for(bot, head, "Product Manager")  # still the one run of the head commit
    assert (other.status, other.conclusion, dict(other.output)) == other_before
    # The run, the pull request whose result it shows, of rank 2: into production, and that
    # it waits.
    assert asyncio.run(bot.journal.get_state(key)) == f"{run.id} {pull.number} 2 waiting"


def test_without_the_git_trees_api_files_are_read_through_the_contents_api(bot: Bot) -> None:
    # Some GitHub-compatible servers and proxies serve no git trees: the config and the
    # version files must still come from the base branch and the head.
    bot.fake.inject("GET", r"/git/trees/", status=404, times=None)
    bot.repo.commit(
        "main", {".github/hotfix.yml": "severities:\n  P2:\n    hotfix_allowed: true\n"}, "P2 too"
    )
    _, head = open_hotfix(bot, labels=("hotfix", "P2"))

    run = passing(bot, head)
    assert "VERSION: 1.2.3 on main, 1.2.4 on hotfix/fix-login" in run.output["summary"]
    contents = bot.fake.requests_to("GET", "/repos/acme/widgets/contents/")
    assert {r.query.get("ref") for r in contents} == {"main", head}


def test_a_symbolic_link_the_contents_api_does_not_follow_is_named_as_unreadable(
    bot: Bot,
) -> None:
    """GitHub's contents API answers with the file a link points to inside the repository,
    else with the link itself (`type: symlink`): no file of that name is not what it says."""
    bot.fake.inject("GET", r"/git/trees/", status=404, times=None)
    bot.fake.inject(
        "GET",
        r"/contents/VERSION$",
        status=200,
        times=None,
        body={
            "type": "symlink",
            "target": "/etc/VERSION",
            "size": 12,
            "name": "VERSION",
            "path": "VERSION",
            "sha": blob_sha("/etc/VERSION"),
            "url": f"{bot.fake.api_url}/repos/acme/widgets/contents/VERSION",
            "git_url": None,
            "html_url": None,
            "download_url": None,
            "_links": {"git": None, "html": None, "self": "https://api.github.com"},
        },
    )
    _, head = open_hotfix(bot)

    run = bot.policy_run(head)
    assert (run.conclusion, run.output["title"]) == ("failure", rules_fail("version-bump"))
    assert run.output["summary"].endswith(
        "### `version-bump`\n\nOn main, VERSION is a symbolic link to /etc/VERSION, which is no "
        "file of the repository\n\nFix VERSION on main; then re-run this check"
    )


def test_github_still_failing_on_the_last_attempt_is_shown_in_the_check_run(
    bot: Bot, private_key_pem: str
) -> None:
    pull, head = open_hotfix(bot)
    bot.fake.inject("GET", r"/reviews$", status=502, times=None)
    payload = bot.fake.pull_request_event(bot.repo, pull.number, "synchronize")

    with pytest.raises(RequestFailed):
        asyncio.run(
            run_on_last_attempt(bot, private_key_pem, on_pull_request, "pull_request", payload)
        )

    run = bot.policy_run(head)
    assert (run.conclusion, run.output["title"]) == (
        "failure",
        "Could not evaluate the hotfix policy",
    )
    assert run.output["summary"].startswith(
        "hotfix-bot could not finish: GitHub answered 502 to GET "
        f"/repos/acme/widgets/pulls/{pull.number}/reviews: Bad Gateway."
    )


def test_without_the_team_members_list_each_approvers_membership_is_asked(bot: Bot) -> None:
    bot.fake.inject("GET", r"/teams/[^/]+/members$", status=404, times=None)
    pull, head = open_hotfix(bot)

    bot.approve(pull.number, "lead", "outsider")

    run = bot.policy_run(head)
    assert run.output["title"] == "Waiting for approval: Product Manager"
    asked = {r.path for r in bot.fake.requests_to("GET", "/orgs/acme/teams/")}
    assert "/orgs/acme/teams/engineering-leads/memberships/lead" in asked
    assert "/orgs/acme/teams/product-managers/memberships/outsider" in asked


def test_a_run_another_instance_started_since_is_the_one_updated(bot: Bot) -> None:
    """Instances on one journal each remember the runs they wrote; the journal names the run
    written last, by whichever instance, and that is the one updated."""
    pull = bot.open_hotfix()
    bot.pull_request(pull.number, "opened")
    [own] = bot.repo.runs_named("hotfix-policy", pull.head_sha)
    # Another instance started a newer run for the commit and named it in the journal.
    newer = FakeCheckRun(
        bot.fake.next_id(), "hotfix-policy", pull.head_sha, own.app_id, own.check_suite_id
    )
    bot.repo.check_runs[newer.id] = newer
    key = f"check-run:acme/widgets:hotfix-policy:{pull.head_sha}"
    asyncio.run(bot.journal.set_state(key, str(newer.id)))
    own_output = dict(own.output)

    bot.approve(pull.number, "lead")

    assert len(bot.repo.runs_named("hotfix-policy", pull.head_sha)) == 2  # none created
    assert own.output == own_output
    assert newer.status == "in_progress"
    assert newer.output["title"] == "Waiting for approval: Product Manager"


def test_another_apps_run_of_the_same_name_is_left_alone_and_one_of_its_own_is_made(
    bot: Bot,
) -> None:
    """A CI job, or a second installation of hotfix-bot, may have a `hotfix-policy` run on
    the commit: GitHub lets only the App that made a run update it."""
    pull = bot.open_hotfix()
    ci = bot.fake.create_app("ci", "CI", private_key_pem=bot.fake.apps[1000].private_key_pem)
    theirs = FakeCheckRun(bot.fake.next_id(), "hotfix-policy", pull.head_sha, ci.id, 1)
    theirs.status = "in_progress"
    bot.repo.check_runs[theirs.id] = theirs

    bot.pull_request(pull.number, "opened")

    assert (theirs.status, theirs.output) == ("in_progress", {})
    [ours] = [run for run in bot.repo.runs_named("hotfix-policy", pull.head_sha) if run != theirs]
    assert (ours.app_id, ours.status, ours.output["title"]) == (
        1000,
        "in_progress",
        P1_WAITING,
    )
    assert not bot.fake.requests_to("PATCH", f"/check-runs/{theirs.id}")


def test_a_run_of_its_own_listed_after_a_page_of_other_apps_runs_is_found_and_updated(
    bot: Bot,
) -> None:
    """The journal does not know the App's run on the commit (it was moved), and 100 runs of
    the same name by other Apps come before it in GitHub's list: it is on the second page."""
    pull = bot.open_hotfix()
    ours = FakeCheckRun(bot.fake.next_id(), "hotfix-policy", pull.head_sha, 1000, 1)
    bot.repo.check_runs[ours.id] = ours
    pem = bot.fake.apps[1000].private_key_pem
    for index in range(100):  # GitHub lists the newest first
        other = bot.fake.create_app(f"ci-{index}", f"CI {index}", private_key_pem=pem)
        theirs = FakeCheckRun(bot.fake.next_id(), "hotfix-policy", pull.head_sha, other.id, 2)
        bot.repo.check_runs[theirs.id] = theirs

    with bot.counting() as requests:
        bot.pull_request(pull.number, "opened")

    assert (ours.status, ours.output.get("title")) == (
        "in_progress",
        P1_WAITING,
    )
    assert len(bot.repo.runs_named("hotfix-policy", pull.head_sha)) == 101  # none created
    listings = [r.query for r in requests if r.path.endswith(f"/{pull.head_sha}/check-runs")]
    pages = [{"check_name": "hotfix-policy", "filter": "latest", "per_page": "100"}]
    assert listings == [pages[0], {**pages[0], "page": "2"}]


P0_WAITING = "Waiting for approval: Engineering Lead and On-call Manager"


def test_a_pull_request_that_is_no_hotfix_on_a_waiting_hotfixs_commit_leaves_its_run(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    """Anyone who can push a branch can open a pull request on a hotfix's commit: its
    `neutral` must not pass the hotfix's required check before the approvals."""
    hotfix, head = open_hotfix(bot, labels=("hotfix", "P0"))
    bot.repo.create_branch("docs-tweak", "hotfix/fix-login")
    other = bot.repo.open_pull("docs-tweak", "main", title="Docs", author="mallory")
    writes = len(bot.policy_run(head).history)

    with bot.counting() as requests, caplog.at_level(logging.INFO, logger="hotfix_bot"):
        bot.pull_request(other.number, "opened")

    run = bot.policy_run(head)
    assert (run.status, run.output["title"], len(run.history)) == (
        "in_progress",
        P0_WAITING,
        writes,
    )
    # The hotfix is asked about once: it is still open on the commit.
    assert [r.path for r in requests if r.path.endswith(f"/pulls/{hotfix.number}")] == [
        f"/repos/acme/widgets/pulls/{hotfix.number}"
    ]
    assert not [r for r in requests if "/check-runs" in r.path and r.method != "GET"]
    assert (
        f"pull request #{other.number}: Not a hotfix pull request; not written: the "
        f"hotfix-policy run of {head} shows #{hotfix.number}, a hotfix pull request into the "
        "production branch still open on it"
    ) in caplog.messages

    bot.repo.close_pull(hotfix.number)
    bot.pull_request(hotfix.number, "closed")
    bot.pull_request(other.number, "edited")

    assert_shows_no_hotfix(bot, head)


def test_a_hotfix_that_moved_to_another_commit_leaves_its_old_commits_run_to_the_other(
    bot: Bot,
) -> None:
    hotfix, head = open_hotfix(bot, labels=("hotfix", "P0"))
    bot.repo.create_branch("docs-tweak", "hotfix/fix-login")
    other = bot.repo.open_pull("docs-tweak", "main", title="Docs", author="mallory")
    bot.pull_request(other.number, "opened")
    assert bot.policy_run(head).output["title"] == P0_WAITING

    # Still open, but no longer on `head`: its result is not that commit's any more.
    bot.repo.commit("hotfix/fix-login", {"NOTES": "more\n"}, "Say more")
    bot.pull_request(hotfix.number, "synchronize")
    bot.pull_request(other.number, "edited")

    assert_shows_no_hotfix(bot, head)


def test_a_second_pull_request_of_a_hotfix_branch_into_develop_leaves_the_approved_run(
    bot: Bot,
) -> None:
    bot.repo.create_branch("develop", "main")
    hotfix, head = open_hotfix(bot)
    bot.approve(hotfix.number, "lead", "pm")
    assert bot.policy_run(head).conclusion == "success"
    into_develop = bot.repo.open_pull(
        "hotfix/fix-login", "develop", title="Fix login", author="dev", labels=["hotfix", "P1"]
    )

    bot.pull_request(into_develop.number, "opened")

    passing(bot, head)

    # Once the hotfix is closed, the other pull request's result is the commit's.
    bot.repo.close_pull(hotfix.number)
    bot.pull_request(hotfix.number, "closed")
    bot.pull_request(into_develop.number, "synchronize")

    run = bot.policy_run(head)
    assert (run.conclusion, run.output["title"]) == ("failure", rules_fail("target-branch"))


def test_of_two_hotfixes_into_production_on_one_commit_the_one_evaluated_last_is_shown(
    bot: Bot,
) -> None:
    hotfix, head = open_hotfix(bot)
    bot.approve(hotfix.number, "lead", "pm")
    assert bot.policy_run(head).conclusion == "success"
    bot.repo.create_branch("hotfix/fix-login-again", "hotfix/fix-login")
    again = bot.repo.open_pull(
        "hotfix/fix-login-again", "main", title="Fix login", author="dev", labels=["hotfix", "P0"]
    )

    bot.pull_request(again.number, "opened")

    run = bot.policy_run(head)
    assert (run.status, run.output["title"]) == ("in_progress", P0_WAITING)
    key = f"check-run:acme/widgets:hotfix-policy:{head}"
    assert asyncio.run(bot.journal.get_state(key)) == f"{run.id} {again.number} 2 waiting"


def test_a_re_run_of_a_shared_commit_ends_with_the_hotfixs_result_whatever_the_order(
    bot: Bot,
) -> None:
    hotfix, head = open_hotfix(bot, labels=("hotfix", "P0"))
    bot.repo.create_branch("docs-tweak", "hotfix/fix-login")
    other = bot.repo.open_pull("docs-tweak", "main", title="Docs", author="dev")
    payload = bot.fake.check_run_event(bot.repo, bot.policy_run(head).id)
    # The hotfix first, then the other one: the one evaluated last used to win.
    payload["check_run"]["pull_requests"] = [{"number": hotfix.number}, {"number": other.number}]

    bot.deliver("check_run", payload)

    run = bot.policy_run(head)
    assert (run.status, run.output["title"]) == ("in_progress", P0_WAITING)
    key = f"check-run:acme/widgets:hotfix-policy:{head}"
    assert asyncio.run(bot.journal.get_state(key)) == f"{run.id} {hotfix.number} 2 waiting"


# --- after the merge ---------------------------------------------------------------------------


def merge(bot: Bot, pull: FakePull) -> str:
    merge_sha = bot.repo.merge_pull(pull.number, merged_by="lead")
    bot.pull_request(pull.number, "closed")
    return merge_sha


def approved_by_pm_late(bot: Bot) -> tuple[FakePull, str, dict[str, Any]]:
    """A P1 hotfix approved by lead, then by pm, whose review GitHub has yet to deliver: the
    pull request, its head, and that delivery's payload."""
    pull, head = open_hotfix(bot)
    bot.approve(pull.number, "lead")
    bot.repo.review(pull.number, "pm", "APPROVED")
    return pull, head, bot.fake.review_event(bot.repo, pull.number)


def test_an_approval_given_before_the_merge_and_delivered_after_it_passes_the_merged_run(
    bot: Bot,
) -> None:
    pull, head, late_review = approved_by_pm_late(bot)
    merge_sha = merge(bot, pull)
    [release] = bot.repo.runs_named("hotfix-release", merge_sha)
    assert bot.repo.tags  # the release tagged the merge commit: v1.2.4, which the head ships
    # The merge found the run waiting and judged it as it stood then, the review's delivery
    # still to come.
    assert bot.policy_run(head).output["title"] == all_rules_pass()

    bot.deliver("pull_request_review", late_review)

    # As the pull request stood at the merge: main at 1.2.3, and v1.2.4 not made yet.
    run = passing(bot, head)
    assert (
        "| `version-bump` | ✅ pass | VERSION: 1.2.3 on main, 1.2.4 on hotfix/fix-login |"
        in run.output["summary"]
    )
    assert bot.repo.runs_named("hotfix-release", merge_sha) == [release]
    # Written once more by the merge's own delivery: the incident report, opened before the
    # judgement as of the merge counted pm's approval, was given its row. The late review's
    # delivery adds nothing.
    assert (release.conclusion, len(release.history)) == ("success", 2)
    [report] = [issue for issue in bot.repo.issues.values() if "incident-report" in issue.labels]
    assert (
        f"| Incident report | ✅ done | issue #{report.number} has the approvals given before "
        "the merge in its timeline now, due "
    ) in release.output["summary"]
    [rows] = bot.repo.comments_on(report.number)
    assert rows.body.endswith("| Approved by @pm for Product Manager |")


def test_an_approval_the_merge_found_late_reaches_the_report_when_the_run_write_is_retried(
    bot: Bot,
) -> None:
    pull, head, late_review = approved_by_pm_late(bot)
    # The merge's judgement counts pm's approval, then GitHub fails the write of its run
    # once: the delivery is tried again.
    bot.fake.inject("PATCH", rf"/check-runs/{bot.policy_run(head).id}$", status=502)
    merge_sha = merge(bot, pull)
    bot.deliver("pull_request_review", late_review)

    assert bot.policy_run(head).output["title"] == all_rules_pass()
    [release] = bot.repo.runs_named("hotfix-release", merge_sha)
    [report] = [issue for issue in bot.repo.issues.values() if "incident-report" in issue.labels]
    assert "Approved by @pm" not in report.body
    [rows] = bot.repo.comments_on(report.number)
    assert rows.body.endswith("| Approved by @pm for Product Manager |")
    assert (
        f"| Incident report | ✅ done | issue #{report.number} has the approvals given before "
        "the merge in its timeline now, due "
    ) in release.output["summary"]


@pytest.mark.parametrize("event", ["check_run", "check_suite"])
def test_a_re_run_after_the_merge_shows_the_pull_request_as_it_stood_at_the_merge(
    bot: Bot, event: str
) -> None:
    pull, head = open_hotfix(bot)
    bot.approve(pull.number, "lead")
    bot.repo.review(pull.number, "pm", "APPROVED")  # its delivery never comes
    merge(bot, pull)

    if event == "check_run":
        payload = bot.fake.check_run_event(bot.repo, bot.policy_run(head).id)
    else:
        payload = bot.fake.check_suite_event(bot.repo, head)
    bot.deliver(event, payload)

    passing(bot, head)


def test_a_re_run_after_the_merge_finds_the_pull_request_on_a_page_github_names(
    bot: Bot,
) -> None:
    """GitHub pages the pull requests of a commit: the one of a re-run's head, no longer
    named by the check run once merged, may come on a later page."""
    pull, head = open_hotfix(bot)
    bot.approve(pull.number, "lead")
    bot.repo.review(pull.number, "pm", "APPROVED")  # its delivery never comes
    merge(bot, pull)
    pulls_of_the_commit_on_a_later_page(bot, head)

    bot.deliver("check_run", bot.fake.check_run_event(bot.repo, bot.policy_run(head).id))

    passing(bot, head)


def assert_merged_waiting_for_the_product_manager(bot: Bot, head: str, merged_at: datetime) -> None:
    """The head's one run, concluded as of the merge: approved by lead alone."""
    run = bot.policy_run(head)
    assert (run.status, run.conclusion, run.output["title"]) == (
        "completed",
        "failure",
        "Merged while waiting for approval: Product Manager",
    )
    assert (
        "| `approvals` | ❌ fail | Engineering Lead: lead; Product Manager: nobody yet |"
        in run.output["summary"]
    )
    assert run.output["summary"].endswith(
        "## How to fix\n\n### `approvals`\n\n"
        "Merged while waiting for approval: Product Manager\n\n"
        f"Nothing can change this now: it merged on {merged_at:%Y-%m-%d %H:%M} UTC without "
        "that approval, and an approval given after the merge does not count"
    )


def test_an_approval_given_after_the_merge_does_not_count_and_the_run_says_it_merged_waiting(
    bot: Bot,
) -> None:
    pull, head = open_hotfix(bot)
    bot.approve(pull.number, "lead")
    merge(bot, pull)
    merged_at = bot.repo.pulls[pull.number].merged_at
    assert merged_at is not None
    bot.fake.clock = lambda: merged_at + timedelta(minutes=5)

    bot.approve(pull.number, "pm")

    assert_merged_waiting_for_the_product_manager(bot, head, merged_at)


def test_a_merged_hotfixs_late_delivery_leaves_the_run_to_a_pull_request_open_on_its_commit(
    bot: Bot,
) -> None:
    bot.repo.create_branch("develop", "main")
    hotfix, head = open_hotfix(bot)
    bot.approve(hotfix.number, "lead")
    bot.repo.review(hotfix.number, "pm", "APPROVED")
    late_review = bot.fake.review_event(bot.repo, hotfix.number)
    into_develop = bot.repo.open_pull(
        "hotfix/fix-login", "develop", title="Fix login", author="dev", labels=["hotfix", "P1"]
    )
    merge(bot, hotfix)
    bot.pull_request(into_develop.number, "opened")
    its_result = ("failure", rules_fail("target-branch", "version-bump"))
    assert (bot.policy_run(head).conclusion, bot.policy_run(head).output["title"]) == its_result
    writes = len(bot.policy_run(head).history)

    bot.deliver("pull_request_review", late_review)

    # The run gates the open pull request's merge: the merged one's result no longer counts.
    run = bot.policy_run(head)
    assert (run.conclusion, run.output["title"], len(run.history)) == (*its_result, writes)


# --- closed while waiting ----------------------------------------------------------------------


def test_a_merge_while_the_run_waits_concludes_it_as_of_the_merge(bot: Bot) -> None:
    pull, head = open_hotfix(bot)
    bot.approve(pull.number, "lead")
    assert bot.policy_run(head).status == "in_progress"

    merge_sha = merge(bot, pull)

    merged_at = bot.repo.pulls[pull.number].merged_at
    assert merged_at is not None
    assert_merged_waiting_for_the_product_manager(bot, head, merged_at)  # the one run
    # The post-merge steps ran as ever.
    [release] = bot.repo.runs_named("hotfix-release", merge_sha)
    assert (release.conclusion, release.output["title"]) == (
        "success",
        "All steps done for v1.2.4 (1 skipped)",
    )


def test_a_redelivered_merge_leaves_the_run_it_concluded(bot: Bot) -> None:
    pull, head = open_hotfix(bot)
    bot.approve(pull.number, "lead")
    merge(bot, pull)
    run = bot.policy_run(head)
    assert (run.conclusion, len(run.history)) == ("failure", 3)  # opened, approved, merged

    with bot.counting() as requests:
        bot.pull_request(pull.number, "closed")

    assert (run.conclusion, len(run.history)) == ("failure", 3)
    # Told by the journal: the pull request is not evaluated again.
    assert not [r for r in requests if r.path.endswith("/reviews") or str(run.id) in r.path]


def test_a_merge_after_the_run_passed_leaves_it_without_a_request(bot: Bot) -> None:
    pull, head = open_hotfix(bot)
    bot.approve(pull.number, "lead", "pm")
    run = bot.policy_run(head)
    writes = len(run.history)

    with bot.counting() as requests:
        merge(bot, pull)

    assert (run.conclusion, run.output["title"], len(run.history)) == (
        "success",
        all_rules_pass(),
        writes,
    )
    policy_requests = [
        r
        for r in requests
        if r.path.endswith("/reviews") or str(run.id) in r.path or f"/commits/{head}/" in r.path
    ]
    assert policy_requests == []


CLOSED_WAITING = "Closed without being merged while waiting for approval"


def test_a_hotfix_closed_unmerged_while_waiting_has_its_run_cancelled_until_reopened(
    bot: Bot,
) -> None:
    pull, head = open_hotfix(bot)
    bot.repo.close_pull(pull.number)
    late_close = bot.fake.pull_request_event(bot.repo, pull.number, "closed")
    bot.repo.reopen_pull(pull.number)
    bot.pull_request(pull.number, "reopened")

    # Delivered after the reopening: the pull request waits again.
    answer = bot.send("pull_request", late_close).json()
    bot.settle()

    assert answer["status"] == "queued"
    waiting = ("in_progress", None, P1_WAITING)
    run = bot.policy_run(head)
    assert (run.status, run.conclusion, run.output["title"]) == waiting

    bot.repo.close_pull(pull.number)
    bot.pull_request(pull.number, "closed")

    run = bot.policy_run(head)
    assert (run.status, run.conclusion, run.output) == (
        "completed",
        "cancelled",
        {
            "title": CLOSED_WAITING,
            "summary": f"#{pull.number} was closed without being merged while this check "
            "waited for approval, so nothing waits for that approval any more. Reopening the "
            "pull request evaluates it again.",
        },
    )

    bot.repo.reopen_pull(pull.number)
    bot.pull_request(pull.number, "reopened")

    run = bot.repo.runs_named("hotfix-policy", head)[-1]
    assert (run.status, run.conclusion, run.output["title"]) == waiting


def test_without_a_config_the_production_branch_is_the_repositorys_default_branch(
    bot: Bot,
) -> None:
    repo = bot.fake.add_repo(
        "acme/gadgets", bot.repo.installation_id, "trunk", files={"VERSION": "1.2.3\n"}
    )
    repo.create_branch("main", "trunk")  # a branch of that name, not the production branch
    heads = {}
    for base in ("trunk", "main"):
        branch = f"hotfix/into-{base}"
        repo.create_branch(branch, base)
        heads[base] = repo.commit(branch, {"VERSION": "1.2.4\n"}, f"Fix for {base}")
        pull = repo.open_pull(branch, base, title="Fix", author="dev", labels=["hotfix", "P1"])
        bot.deliver("pull_request", bot.fake.pull_request_event(repo, pull.number, "opened"))
    into_main_number = pull.number

    [into_trunk] = repo.runs_named("hotfix-policy", heads["trunk"])
    assert into_trunk.output["title"] == (P1_WAITING)
    [into_main] = repo.runs_named("hotfix-policy", heads["main"])
    assert (into_main.conclusion, into_main.output["title"]) == (
        "failure",
        rules_fail("target-branch"),
    )
    assert "| `target-branch` | ❌ fail | main | trunk |" in into_main.output["summary"]
    assert f"gh pr edit {into_main_number} --base trunk" in into_main.output["summary"]
