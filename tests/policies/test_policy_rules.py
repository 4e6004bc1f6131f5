"""Each rule on its own: pass, fail and edge cases, table-driven."""

from typing import Any

import pytest
from policy_factories import config, facts

from policies.config import HotfixConfig
from policies.result import Status
from policies.rule import Lookups
from policies.rules import (
    RULES,
    branch_name,
    labels,
    severity,
    target_branch,
    version_bump,
)


def test_rules_are_listed_once_in_the_documented_order() -> None:
    names = [rule.check(config(), facts()).rule for rule in RULES]
    assert names == [
        "branch-name",
        "target-branch",
        "labels",
        "severity",
        "approvals",
        "version-bump",
    ]


@pytest.mark.parametrize(
    ("branch", "status", "how_to_fix"),
    [
        ("hotfix/fix-login", Status.PASS, ""),
        ("hotfix/cve-2024-1", Status.PASS, ""),
        (
            "Hotfix/Fix_Login",
            Status.FAIL,
            "Rename the branch, push it, open a new pull request from hotfix/fix-login and "
            "close this one:\n\n```sh\ngit branch -m Hotfix/Fix_Login hotfix/fix-login\n"
            "git push origin -u hotfix/fix-login\n"
            "gh pr view 7 --json body --jq .body |\n"
            "  gh pr create --base main --head hotfix/fix-login --title 'Fix login' --label P0 "
            "--label hotfix --body-file -\n"
            "gh pr close 7\n```",
        ),
        (
            "fix login",
            Status.FAIL,
            "Rename the branch, push it, open a new pull request from hotfix/fix-login and "
            "close this one:\n\n```sh\ngit branch -m 'fix login' hotfix/fix-login\n"
            "git push origin -u hotfix/fix-login\n",
        ),
        ("hotfix/", Status.FAIL, "Rename the branch, push it, open a new pull request"),
    ],
)
def test_branch_name(branch: str, status: Status, how_to_fix: str) -> None:
    result = branch_name.check(config(), facts(head_ref=branch))
    assert result.status is status
    assert result.how_to_fix.startswith(how_to_fix)
    assert result.found == branch


def test_branch_name_fix_carries_every_label_in_one_order_and_quoted() -> None:
    # Enough labels that a set's own order is all but never the sorted one.
    labelled = {"hotfix", "P0", "needs qa", "backend", "customer-facing", "api"}
    result = branch_name.check(config(), facts(head_ref="Hotfix/Fix_Login", labels=labelled))
    assert (
        "--title 'Fix login' --label P0 --label api --label backend --label customer-facing "
        "--label hotfix --label 'needs qa' --body-file -\n"
    ) in result.how_to_fix


@pytest.mark.parametrize(
    ("fork", "clone", "new_pull"),
    [
        (
            "octo/shop",
            "octo/shop",
            "octo:hotfix/fix-login into acme/shop and close this one:\n\n```sh\n"
            "git branch -m 'fix login' hotfix/fix-login\n"
            "git push origin -u hotfix/fix-login\n"
            "gh pr create --repo acme/shop --base 'stable&lts'\n```",
        ),
        (
            "",
            "the fork",
            "hotfix/fix-login into acme/shop and close this one:\n\n```sh\n"
            "git branch -m 'fix login' hotfix/fix-login\n"
            "git push origin -u hotfix/fix-login\n"
            "gh pr create --repo acme/shop --base 'stable&lts'\n```",
        ),
    ],
)
def test_branch_name_fix_of_a_pull_request_from_a_fork_pushes_to_the_fork(
    fork: str, clone: str, new_pull: str
) -> None:
    """The branch is in the fork, whose clone has it as `origin`: the renamed branch goes
    there, and the new pull request goes from it into the base repository's production
    branch, found by gh from the branch pushed. A fork that was deleted has no name."""
    result = branch_name.check(
        config("branches: {production: 'stable&lts'}"),
        facts(
            head_ref="fix login",
            head_is_same_repo=False,
            head_repo_full_name=fork,
            repository="acme/shop",
        ),
    )
    assert result.how_to_fix == (
        f"In your clone of {clone}, where `origin` is the fork, rename the branch, push it, "
        f"then open a new pull request from {new_pull}"
    )


def test_branch_name_without_a_fitting_suggestion_explains_the_pattern() -> None:
    strict = config("branches: {hotfix_pattern: '^hotfix/JIRA-[0-9]+$'}")
    result = branch_name.check(strict, facts(head_ref="hotfix/login", labels={"P1", "hotfix"}))
    assert result.status is Status.FAIL
    assert result.how_to_fix == (
        "Push the work to a branch whose name fully matches `^hotfix/JIRA-[0-9]+$`, open a new "
        "pull request from it into main with this one's labels (`P1`, `hotfix`) and close "
        "this one"
    )


def test_branch_name_that_no_branch_with_the_prefix_can_pass_says_to_set_the_pattern() -> None:
    renamed = config('branches: {hotfix_prefix: "fix/"}')
    result = branch_name.check(renamed, facts(head_ref="fix/login", labels={"P1", "hotfix"}))
    assert (result.status, result.how_to_fix) == (
        Status.FAIL,
        "No branch starting with `fix/` can match `^hotfix/[a-z0-9]+(-[a-z0-9]+)*$`: set "
        "`branches.hotfix_pattern` in .github/hotfix.yml on main to one that can, such as "
        "`^fix/[a-z0-9]+(-[a-z0-9]+)*$`",
    )


def test_branch_name_is_a_full_match_even_without_anchors() -> None:
    unanchored = config("branches: {hotfix_pattern: 'hotfix/[a-z]+'}")
    assert branch_name.check(unanchored, facts(head_ref="hotfix/abc")).status is Status.PASS
    assert branch_name.check(unanchored, facts(head_ref="hotfix/abc-1")).status is Status.FAIL


@pytest.mark.parametrize(
    ("base", "production", "status"),
    [("main", None, Status.PASS), ("develop", None, Status.FAIL), ("prod", "prod", Status.PASS)],
)
def test_target_branch(base: str, production: str | None, status: Status) -> None:
    text = f"branches: {{production: {production}}}" if production else None
    result = target_branch.check(config(text), facts(base_ref=base))
    assert result.status is status
    if status is Status.FAIL:
        assert result.how_to_fix == "gh pr edit 7 --base main"
        assert result.summary == (
            "Targets develop, but a hotfix must target the production branch main"
        )


def test_target_branch_fix_quotes_the_production_branch_for_the_shell() -> None:
    # A branch name may hold characters the shell reads: `&` would split the command.
    result = target_branch.check(
        config("branches: {production: 'stable&lts'}"), facts(base_ref="main")
    )
    assert result.how_to_fix == "gh pr edit 7 --base 'stable&lts'"


@pytest.mark.parametrize(
    ("pr_labels", "status", "summary", "how_to_fix"),
    [
        ({"hotfix", "P1"}, Status.PASS, "Labelled hotfix and P1", ""),
        ({"HotFix", "p0", "bug"}, Status.PASS, "Labelled hotfix and P0", ""),
        (
            {"P1"},
            Status.FAIL,
            "The label hotfix is missing",
            "Add the label `hotfix`",
        ),
        (
            {"hotfix"},
            Status.FAIL,
            "No severity label (P0, P1, P2)",
            "Add one severity label: `P0` or `P1`",
        ),
        (
            {"hotfix", "P0", "P2"},
            Status.FAIL,
            "Several severity labels (P0, P2)",
            "Keep one of the labels `P0`, `P2` and remove the others",
        ),
        (
            set(),
            Status.FAIL,
            "The label hotfix is missing; no severity label (P0, P1, P2)",
            "Add the label `hotfix`; add one severity label: `P0` or `P1`",
        ),
    ],
)
def test_labels(pr_labels: set[str], status: Status, summary: str, how_to_fix: str) -> None:
    result = labels.check(config(), facts(labels=pr_labels))
    assert (result.status, result.summary, result.how_to_fix) == (status, summary, how_to_fix)


def test_labels_use_the_configured_names() -> None:
    renamed = config("labels: {hotfix: emergency, severities: {P0: sev0}}")
    assert labels.check(renamed, facts(labels={"emergency", "sev0"})).status is Status.PASS
    result = labels.check(renamed, facts(labels={"hotfix", "P0"}))
    assert result.how_to_fix == (
        "Add the label `emergency`; add one severity label: `sev0` or `P1`"
    )


def test_labels_with_no_severity_allowing_a_hotfix_still_name_the_severity_labels() -> None:
    none_allowed = config("severities: {P0: {hotfix_allowed: false}, P1: {hotfix_allowed: false}}")
    result = labels.check(none_allowed, facts(labels={"hotfix"}))
    assert result.how_to_fix == "Add one severity label: `P0`, `P1` or `P2`"


@pytest.mark.parametrize(
    ("pr_labels", "status", "summary"),
    [
        (
            {"hotfix", "P0"},
            Status.PASS,
            "P0 may be fixed by a hotfix; deadline 2h from opening to merge",
        ),
        ({"P1"}, Status.PASS, "P1 may be fixed by a hotfix; deadline 24h from opening to merge"),
        (
            {"hotfix", "P2"},
            Status.FAIL,
            "P2 is not allowed as a hotfix; it goes into the next regular release",
        ),
        ({"hotfix"}, Status.NOT_APPLICABLE, None),
        ({"hotfix", "P0", "P1"}, Status.NOT_APPLICABLE, None),
    ],
)
def test_severity(pr_labels: set[str], status: Status, summary: str | None) -> None:
    result = severity.check(config(), facts(labels=pr_labels))
    assert result.status is status
    if summary:
        assert result.summary == summary


def test_severity_found_names_the_label_as_expected_does() -> None:
    renamed = config("labels: {severities: {P0: sev0}}")
    result = severity.check(renamed, facts(labels={"hotfix", "sev0"}))
    assert (result.found, result.expected) == (
        "sev0 (severity P0)",
        "a severity that allows a hotfix (sev0, P1)",
    )
    assert severity.check(config(), facts(labels={"hotfix", "P1"})).found == "P1"


AS_REGULAR = (
    "as a regular change, from a branch that does not start with `hotfix/` and without the "
    "`hotfix` label"
)


@pytest.mark.parametrize(
    ("workflow", "route"),
    [
        (
            "gitflow",
            f"open the change again into develop {AS_REGULAR}, to ship in the next release",
        ),
        ("github-flow", f"open the change again {AS_REGULAR}, to ship through the regular release"),
    ],
)
def test_severity_fix_follows_the_workflow(workflow: str, route: str) -> None:
    result = severity.check(config(f"workflow: {workflow}"), facts(labels={"hotfix", "P2"}))
    assert result.how_to_fix == (
        f"Close this pull request and {route}; if the issue is more severe, "
        "replace the label P2 with P0 or P1"
    )


def test_severity_fix_with_no_severity_allowing_a_hotfix_offers_no_other_label() -> None:
    none_allowed = config("severities: {P0: {hotfix_allowed: false}, P1: {hotfix_allowed: false}}")
    result = severity.check(none_allowed, facts(labels={"hotfix", "P2"}))
    assert (result.expected, result.how_to_fix) == (
        "a severity that allows a hotfix (none does)",
        f"Close this pull request and open the change again into develop {AS_REGULAR}, to "
        "ship in the next release",
    )


V = {"VERSION": "1.2.3\n"}
# The base behind the release v1.2.4: it is brought up to 1.2.4 by hand, then the head to 1.2.5.
BEHIND = (
    "Set VERSION on main to 1.2.4, the version tagged v1.2.4, first (if a later version was "
    "released, use that one, and its next patch instead of 1.2.5)"
)
CARGO_WORKSPACE = '[workspace]\nmembers = ["cli"]\n\n[workspace.package]\nversion = "{}"\n'


# The head branch checked out as it is on GitHub.
CHECKOUT = (
    "git fetch origin &&\ngit checkout hotfix/fix-login &&\n"
    "git merge --ff-only origin/hotfix/fix-login"
)
# npm sets the version in the lockfile beside package.json too, which git may track.
ROOT_NPM_FILES = "package.json $(git ls-files package-lock.json npm-shrinkwrap.json)"


def pushed(version: str, *commands: str, paths: str = "VERSION") -> str:
    """The fix that runs `commands` on hotfix/fix-login and commits and pushes `paths`."""
    return (
        f"Set the version to {version} on hotfix/fix-login, commit it and push it:\n\n"
        f"```sh\n{CHECKOUT} &&\n"
        + "".join(f"{command} &&\n" for command in commands)
        + f'git add {paths} &&\ngit commit -m "Bump the version to {version}" &&\n'
        "git push origin hotfix/fix-login\n```"
    )


def echo(version: str) -> str:
    """The fix that writes `version` into VERSION on hotfix/fix-login, commits and pushes it."""
    return pushed(version, f'echo "{version}" > VERSION')


def behind_then_bumped(changed: bool = True) -> str:
    """BEHIND, then the head branch brought up to date with main and set to 1.2.5, and
    pushed; and the conflict that merge meets when main holds another version than the head,
    where the head changed its VERSION (`changed`)."""
    fast_forward = "git merge --ff-only origin/hotfix/fix-login"
    bumped = echo("1.2.5").replace(
        fast_forward, f"{fast_forward} &&\ngit merge --no-edit origin/main", 1
    )
    conflict = (
        " If main then holds another version than hotfix/fix-login in VERSION (a later "
        "release, say), the merge stops on a conflict there: keep main's version "
        "(`git checkout --theirs -- VERSION && git add VERSION && git commit --no-edit`), "
        "and run the commands after the merge."
    )
    return (
        f"{BEHIND}.\n\nOnce main holds it, the commands bring hotfix/fix-login up to date with "
        f"main first, so that the bump merges cleanly.{conflict if changed else ''} "
        f"Then s{bumped[1:]}"
    )


def by_hand(version: str, what: str, path: str, then: str = "") -> str:
    """The fix that has `what` changed in `path` by hand on hotfix/fix-login, then runs the
    commands `then` (each ending in ` &&` and a newline), commits and pushes it."""
    return (
        f"Set the version to {version} on hotfix/fix-login, commit it and push it:\n\n"
        f"```sh\n{CHECKOUT}\n```\n\n"
        f"Then {what}, and:\n\n"
        f"```sh\n{then}"
        f'git add {path} &&\ngit commit -m "Bump the version to {version}" &&\n'
        "git push origin hotfix/fix-login\n```"
    )


# A pyproject.toml's [project] may be uv's, whose uv.lock records its version: `uv lock`
# brings it up to the new one where git tracks it, and it is committed with the file.
UV_LOCKED = (
    "pyproject.toml $(git ls-files uv.lock)",
    '{ [ -z "$(git ls-files uv.lock)" ] || uv lock; } &&\n',
)
BOTH_TABLES = '[project]\nversion = "%s"\n\n[tool.poetry]\nversion = "%s"\n'
SET_BOTH_TABLES = (
    'set `version = "1.2.4"` under `[project]` and `[tool.poetry]` in `pyproject.toml`'
)


def up_to_date_first(fix: str) -> str:
    """`fix` for a head whose version does not go past main's 1.2.3: its commands merge main
    into hotfix/fix-login, brought up to where GitHub has it, before they set the version."""
    fast_forward = "git merge --ff-only origin/hotfix/fix-login"
    assert fast_forward in fix
    return (
        "hotfix/fix-login does not go past main's version, 1.2.3: the commands bring it up to "
        "date with main first, so that the bump merges cleanly. "
        + fix.replace(fast_forward, f"{fast_forward} &&\ngit merge --no-edit origin/main", 1)
    )


@pytest.mark.parametrize(
    ("changes", "status", "summary", "how_to_fix"),
    [
        ({}, Status.PASS, "Version 1.2.3 becomes 1.2.4 in VERSION; tag v1.2.4 is free", ""),
        (
            {"head_version_files": {"VERSION": "1.2.3\n"}},
            Status.FAIL,
            "VERSION is 1.2.3 on hotfix/fix-login, expected 1.2.4",
            up_to_date_first(echo("1.2.4")),
        ),
        (
            {"head_version_files": {"VERSION": "1.3.0\n"}},
            Status.FAIL,
            "VERSION is 1.3.0 on hotfix/fix-login, expected 1.2.4",
            echo("1.2.4"),
        ),
        (  # a pre-release of the next patch needs version.allow_prerelease
            {"head_version_files": {"VERSION": "v1.2.4-hotfix.1\n"}},
            Status.FAIL,
            "VERSION is 1.2.4-hotfix.1 on hotfix/fix-login, expected 1.2.4",
            echo("1.2.4") + "\n\nTo ship the pre-release 1.2.4-hotfix.1 instead, set "
            "`version.allow_prerelease: true` in `.github/hotfix.yml` on main",
        ),
        (  # build metadata is no pre-release; the tag keeps it as written
            {"head_version_files": {"VERSION": "1.2.4+build.7\n"}},
            Status.PASS,
            "Version 1.2.3 becomes 1.2.4+build.7 in VERSION; tag v1.2.4+build.7 is free",
            "",
        ),
        (  # the hotfix of a pre-release raises its patch number too
            {
                "base_version_files": {"VERSION": "1.2.4-rc.1"},
                "head_version_files": {"VERSION": "1.2.5"},
            },
            Status.PASS,
            "Version 1.2.4-rc.1 becomes 1.2.5 in VERSION; tag v1.2.5 is free",
            "",
        ),
        (  # ... not only its pre-release part
            {
                "base_version_files": {"VERSION": "1.2.4-rc.1"},
                "head_version_files": {"VERSION": "1.2.4"},
            },
            Status.FAIL,
            "VERSION is 1.2.4 on hotfix/fix-login, expected 1.2.5",
            echo("1.2.5"),
        ),
        (
            {
                "base_version_files": {"VERSION": "1.2.3-rc.1"},
                "head_version_files": {"VERSION": "1.2.3"},
            },
            Status.FAIL,
            "VERSION is 1.2.3 on hotfix/fix-login, expected 1.2.4",
            echo("1.2.4"),
        ),
        (
            {"head_version_files": {}},
            Status.FAIL,
            "VERSION is missing on hotfix/fix-login",
            echo("1.2.4"),
        ),
        (  # a workspace's shared version is set where it is read from
            {
                "base_version_files": {"Cargo.toml": CARGO_WORKSPACE.format("1.2.3")},
                "head_version_files": {"Cargo.toml": CARGO_WORKSPACE.format("1.2.5")},
            },
            Status.FAIL,
            "Cargo.toml is 1.2.5 on hotfix/fix-login, expected 1.2.4",
            by_hand(
                "1.2.4",
                'set `version = "1.2.4"` under `[workspace.package]` in `Cargo.toml`',
                "Cargo.toml $(git ls-files Cargo.lock)",
                '{ [ -z "$(git ls-files Cargo.lock)" ] || cargo update --workspace; } &&\n',
            ),
        ),
        (
            {
                "base_version_files": {"pyproject.toml": '[tool.poetry]\nversion = "1.2.3"\n'},
                "head_version_files": {"pyproject.toml": '[tool.poetry]\nversion = "1.2.3"\n'},
            },
            Status.FAIL,
            "pyproject.toml is 1.2.3 on hotfix/fix-login, expected 1.2.4",
            up_to_date_first(
                by_hand(
                    "1.2.4",
                    'set `version = "1.2.4"` under `[tool.poetry]` in `pyproject.toml`',
                    "pyproject.toml",
                )
            ),
        ),
        (
            {"existing_tags": frozenset({"v1.2.4"})},
            Status.FAIL,
            "The tag v1.2.4 already exists, so main (1.2.3) is behind the latest release",
            behind_then_bumped(),
        ),
        (  # the fix would ask for 1.2.4, which was released: the base is behind
            {"head_version_files": {"VERSION": "1.2.5"}, "existing_tags": frozenset({"v1.2.4"})},
            Status.FAIL,
            "The tag v1.2.4 already exists, so main (1.2.3) is behind the latest release",
            f"{BEHIND}; hotfix/fix-login holds 1.2.5 already, but GitHub would then find "
            "VERSION conflicting with main's: merge main into hotfix/fix-login, keep 1.2.5 "
            "there, commit the merge and push it (the push runs this check again)",
        ),
        (
            {"head_version_files": {}, "existing_tags": frozenset({"v1.2.4"})},
            Status.FAIL,
            "The tag v1.2.4 already exists, so main (1.2.3) is behind the latest release",
            behind_then_bumped(changed=False),
        ),
        (  # build metadata does not make another version: 1.2.4 would be released twice
            {
                "head_version_files": {"VERSION": "1.2.4+hotfix.1\n"},
                "existing_tags": frozenset({"v1.2.4"}),
            },
            Status.FAIL,
            "The tag v1.2.4 already exists, so main (1.2.3) is behind the latest release "
            "(1.2.4+hotfix.1 is 1.2.4: build metadata does not make another version)",
            behind_then_bumped(),
        ),
        (  # with no version to go by, the current one is not made up
            {"base_version_files": {}, "head_version_files": {}},
            Status.FAIL,
            "No version file on main (looked for VERSION, pyproject.toml, package.json, "
            "Cargo.toml)",
            "Add a `VERSION` file holding the current version to main "
            '(`echo "<current version>" > VERSION`), or set `version.files` in '
            "`.github/hotfix.yml` to the file that holds it; then re-run this check",
        ),
        (  # the head's version, that the hotfix adds, tells what it should be
            {"base_version_files": {}, "head_version_files": {"VERSION": "1.2.4-rc.1"}},
            Status.FAIL,
            "No version file on main (looked for VERSION, pyproject.toml, package.json, "
            "Cargo.toml)",
            "Add a `VERSION` file holding the current version to main "
            '(`echo "1.2.3" > VERSION` if 1.2.4-rc.1, on hotfix/fix-login, is its next patch), '
            "or set `version.files` in `.github/hotfix.yml` to the file that holds it; "
            "then re-run this check",
        ),
        (  # ... unless it has no patch number to go back from
            {"base_version_files": {}, "head_version_files": {"VERSION": "1.3.0"}},
            Status.FAIL,
            "No version file on main (looked for VERSION, pyproject.toml, package.json, "
            "Cargo.toml)",
            "Add a `VERSION` file holding the current version to main "
            '(`echo "<current version>" > VERSION`), or set `version.files` in '
            "`.github/hotfix.yml` to the file that holds it; then re-run this check",
        ),
        (
            {
                "base_version_files": {**V, "package.json": '{"version": "1.2.3"}'},
                "head_version_files": {"VERSION": "1.2.4", "package.json": '{"version": "1.2.5"}'},
            },
            Status.FAIL,
            "package.json is 1.2.5 on hotfix/fix-login, expected 1.2.4",
            pushed("1.2.4", "npm version 1.2.4 --no-git-tag-version", paths=ROOT_NPM_FILES),
        ),
        (
            {
                "base_version_files": {**V, "Cargo.toml": '[package]\nversion = "1.2.2"\n'},
                "head_version_files": {
                    "VERSION": "1.2.4",
                    "Cargo.toml": '[package]\nversion = "1.2.4"\n',
                },
            },
            Status.FAIL,
            "The version files on main disagree: VERSION 1.2.3 and Cargo.toml 1.2.2",
            "Make them agree on main; then re-run this check",
        ),
        (
            {
                "base_version_files": {
                    "VERSION": "1.2.3-rc.1",
                    "package.json": '{"version": "1.2.3"}',
                },
                "head_version_files": {"VERSION": "1.2.4", "package.json": '{"version": "1.2.4"}'},
            },
            Status.FAIL,
            "The version files on main disagree: VERSION 1.2.3-rc.1 and package.json 1.2.3",
            "Make them agree on main; then re-run this check",
        ),
        (  # the tag is made from the head's version as written, so it must be one text
            {
                "base_version_files": {**V, "package.json": '{"version": "1.2.3"}'},
                "head_version_files": {
                    "VERSION": "1.2.4",
                    "package.json": '{"version": "1.2.4+b.1"}',
                },
            },
            Status.FAIL,
            "The version files on hotfix/fix-login disagree: "
            "VERSION 1.2.4 and package.json 1.2.4+b.1",
            "Write the same version in each: the tag is made from it",
        ),
        (  # a file the hotfix adds is not a version file: those are the base's
            {"head_version_files": {"VERSION": "1.2.4", "package.json": '{"name": "new"}'}},
            Status.PASS,
            "Version 1.2.3 becomes 1.2.4 in VERSION; tag v1.2.4 is free",
            "",
        ),
        (
            {
                "base_version_files": {"VERSION": "1.2.3", "package.json": '{"version": "1.2.3"}'},
                "head_version_files": {"VERSION": "1.2.4", "package.json": '{"version": "9.9.9"}'},
            },
            Status.FAIL,
            "package.json is 9.9.9 on hotfix/fix-login, expected 1.2.4",
            pushed("1.2.4", "npm version 1.2.4 --no-git-tag-version", paths=ROOT_NPM_FILES),
        ),
        (
            {"base_version_files": {"VERSION": "one"}},
            Status.FAIL,
            'On main, VERSION: the version "one" is not of the form X.Y.Z, e.g. 1.2.3',
            "Fix VERSION on main; then re-run this check",
        ),
        (
            {
                "base_version_files": {"pyproject.toml": '[project]\nversion = "2.0.0"\n'},
                "head_version_files": {"pyproject.toml": '[project]\ndynamic = ["version"]\n'},
            },
            Status.FAIL,
            "pyproject.toml: the version is dynamic (project.dynamic lists it), so it is not in "
            "the file; set version.files in .github/hotfix.yml to the file(s) that hold the "
            "version, e.g. files: [VERSION]",
            by_hand(
                "2.0.1",
                'set `version = "2.0.1"` under `[project]` in `pyproject.toml`',
                *UV_LOCKED,
            ),
        ),
        (  # uv.lock records a [project]'s version too
            {
                "base_version_files": {"pyproject.toml": '[project]\nversion = "1.2.3"\n'},
                "head_version_files": {"pyproject.toml": '[project]\nversion = "1.3.0"\n'},
            },
            Status.FAIL,
            "pyproject.toml is 1.3.0 on hotfix/fix-login, expected 1.2.4",
            by_hand(
                "1.2.4", 'set `version = "1.2.4"` under `[project]` in `pyproject.toml`', *UV_LOCKED
            ),
        ),
        (  # a Poetry 2 project moving to [project]: both tables are set
            {
                "base_version_files": {"pyproject.toml": BOTH_TABLES % ("1.2.3", "1.2.3")},
                "head_version_files": {"pyproject.toml": BOTH_TABLES % ("1.3.0", "1.3.0")},
            },
            Status.FAIL,
            "pyproject.toml is 1.3.0 on hotfix/fix-login, expected 1.2.4",
            by_hand("1.2.4", SET_BOTH_TABLES, *UV_LOCKED),
        ),
        (  # ... and both are read: the one left behind is named
            {
                "base_version_files": {"pyproject.toml": BOTH_TABLES % ("1.2.3", "1.2.3")},
                "head_version_files": {"pyproject.toml": BOTH_TABLES % ("1.2.4", "1.2.3")},
            },
            Status.FAIL,
            'pyproject.toml: the tables that hold the version disagree: [project] "1.2.4" and '
            '[tool.poetry] "1.2.3"; both must hold the same version',
            by_hand("1.2.4", SET_BOTH_TABLES, *UV_LOCKED),
        ),
        (
            {
                "base_version_files": {"pyproject.toml": BOTH_TABLES % ("1.2.3", "1.2.2")},
                "head_version_files": {"pyproject.toml": BOTH_TABLES % ("1.2.4", "1.2.4")},
            },
            Status.FAIL,
            "On main, pyproject.toml: the tables that hold the version disagree: [project] "
            '"1.2.3" and [tool.poetry] "1.2.2"; both must hold the same version',
            "Fix pyproject.toml on main; then re-run this check",
        ),
    ],
)
def test_version_bump(
    changes: dict[str, Any], status: Status, summary: str, how_to_fix: str
) -> None:
    result = version_bump.check(config(), facts(**changes))
    assert result.status is status
    assert result.summary == summary
    assert result.how_to_fix == how_to_fix


def test_the_version_bump_fix_commits_on_the_head_branch_as_github_has_it_and_pushes_it() -> None:
    """Pasted as given, the fix changes the pull request on GitHub: the version set on the
    head branch, brought up to where GitHub has it first (a colleague may have pushed to it
    since it was checked out, or GitHub's "Update branch" merged the base into it),
    committed and pushed; each command runs only if the one before succeeded."""
    result = version_bump.check(
        config(),
        facts(head_ref="hotfix/Fix_Login", head_version_files={"VERSION": "1.2.3\n"}),
    )
    assert result.how_to_fix == (
        "hotfix/Fix_Login does not go past main's version, 1.2.3: the commands bring it up to "
        "date with main first, so that the bump merges cleanly. "
        "Set the version to 1.2.4 on hotfix/Fix_Login, commit it and push it:\n"
        "\n"
        "```sh\n"
        "git fetch origin &&\n"
        "git checkout hotfix/Fix_Login &&\n"
        "git merge --ff-only origin/hotfix/Fix_Login &&\n"
        "git merge --no-edit origin/main &&\n"
        'echo "1.2.4" > VERSION &&\n'
        "git add VERSION &&\n"
        'git commit -m "Bump the version to 1.2.4" &&\n'
        "git push origin hotfix/Fix_Login\n"
        "```"
    )


def test_the_version_bump_fix_never_merges_a_base_that_is_not_the_production_branch() -> None:
    """A hotfix opened against develop by mistake (`target-branch` fails): merging develop
    into the hotfix branch would ship its unreleased work with the fix once the pull request
    targets main. The commands set the version on the branch as it is."""
    result = version_bump.check_hotfix(
        config(),
        facts(
            base_ref="develop",
            base_version_files={"VERSION": "1.3.0\n"},
            head_version_files={"VERSION": "1.2.3\n"},
        ),
    )
    assert result.how_to_fix == (
        "Set the version to 1.3.1 on hotfix/fix-login, commit it and push it:\n"
        "\n"
        "```sh\n"
        "git fetch origin &&\n"
        "git checkout hotfix/fix-login &&\n"
        "git merge --ff-only origin/hotfix/fix-login &&\n"
        'echo "1.3.1" > VERSION &&\n'
        "git add VERSION &&\n"
        'git commit -m "Bump the version to 1.3.1" &&\n'
        "git push origin hotfix/fix-login\n"
        "```"
    )


@pytest.mark.parametrize(
    ("fork", "pushed_to"), [("octo/shop", "the fork octo/shop"), ("", "the fork")]
)
def test_the_version_bump_fix_of_a_pull_request_from_a_fork_pushes_to_the_fork(
    fork: str, pushed_to: str
) -> None:
    """A clone of the repository has no branch of the fork to check out, and its `origin`
    is not where the branch is: `gh pr checkout` fetches it from the pull request and has
    `git push` push it to the fork. A fork that was deleted has no name."""
    result = version_bump.check(
        config(),
        facts(
            number=12,
            head_is_same_repo=False,
            head_repo_full_name=fork,
            base_version_files={**V, "package.json": '{"version": "1.2.3"}'},
            head_version_files={"VERSION": "1.2.3", "package.json": '{"version": "1.2.3"}'},
        ),
    )
    assert result.how_to_fix == (
        "hotfix/fix-login does not go past main's version, 1.2.3: the commands bring it up to "
        "date with main first, so that the bump merges cleanly. "
        f"Set the version to 1.2.4 on hotfix/fix-login, commit it and push it to {pushed_to}. "
        "In a clone of this repository, `gh pr checkout` has `git push` push there if the pull "
        "request allows edits by maintainers; the fork's owner can run these in a clone of the "
        "fork too:\n"
        "\n"
        "```sh\n"
        "git fetch origin &&\n"
        "gh pr checkout 12 &&\n"
        "git fetch https://github.com/acme/shop.git main &&\n"
        "git merge --no-edit FETCH_HEAD &&\n"
        'echo "1.2.4" > VERSION &&\n'
        "npm version 1.2.4 --no-git-tag-version &&\n"
        f"git add VERSION {ROOT_NPM_FILES} &&\n"
        'git commit -m "Bump the version to 1.2.4" &&\n'
        "git push\n"
        "```"
    )


def test_the_version_bump_fix_sets_every_file_in_one_commit_on_a_quoted_branch() -> None:
    result = version_bump.check(
        config(),
        facts(
            head_ref="hotfix/it's-$HOME",
            base_version_files={**V, "package.json": '{"version": "1.2.3"}'},
            head_version_files={"VERSION": "1.2.3", "package.json": '{"version": "1.2.3"}'},
        ),
    )
    assert result.how_to_fix == (
        "hotfix/it's-$HOME does not go past main's version, 1.2.3: the commands bring it up to "
        "date with main first, so that the bump merges cleanly. "
        "Set the version to 1.2.4 on hotfix/it's-$HOME, commit it and push it:\n"
        "\n"
        "```sh\n"
        "git fetch origin &&\n"
        "git checkout 'hotfix/it'\"'\"'s-$HOME' &&\n"
        "git merge --ff-only 'origin/hotfix/it'\"'\"'s-$HOME' &&\n"
        "git merge --no-edit origin/main &&\n"
        'echo "1.2.4" > VERSION &&\n'
        "npm version 1.2.4 --no-git-tag-version &&\n"
        f"git add VERSION {ROOT_NPM_FILES} &&\n"
        'git commit -m "Bump the version to 1.2.4" &&\n'
        "git push origin 'hotfix/it'\"'\"'s-$HOME'\n"
        "```"
    )


def test_the_version_bump_fix_commits_what_is_set_by_hand_once_it_is() -> None:
    """No command sets a TOML table's version: the commands stop for it, and the commit
    that follows takes every file."""
    result = version_bump.check(
        config(),
        facts(
            base_version_files={**V, "Cargo.toml": '[package]\nversion = "1.2.3"\n'},
            head_version_files={},
        ),
    )
    assert result.how_to_fix == (
        "Set the version to 1.2.4 on hotfix/fix-login, commit it and push it:\n"
        "\n"
        "```sh\n"
        "git fetch origin &&\n"
        "git checkout hotfix/fix-login &&\n"
        "git merge --ff-only origin/hotfix/fix-login &&\n"
        'echo "1.2.4" > VERSION &&\n'
        "git checkout origin/main -- Cargo.toml\n"
        "```\n"
        "\n"
        'Then set `version = "1.2.4"` under `[package]` in `Cargo.toml`, and:\n'
        "\n"
        "```sh\n"
        '{ [ -z "$(git ls-files Cargo.lock)" ] || cargo update --workspace; } &&\n'
        "git add VERSION Cargo.toml $(git ls-files Cargo.lock) &&\n"
        'git commit -m "Bump the version to 1.2.4" &&\n'
        "git push origin hotfix/fix-login\n"
        "```"
    )


@pytest.mark.parametrize(
    ("path", "text", "table", "lockfiles", "relock"),
    [
        (
            "api/pyproject.toml",
            '[project]\nversion = "1.2.3"\n',
            "project",
            "api/uv.lock uv.lock",
            "uv lock --project api",
        ),
        (
            "crates/api/Cargo.toml",
            '[package]\nversion = "1.2.3"\n',
            "package",
            "crates/api/Cargo.lock crates/Cargo.lock Cargo.lock",
            "cargo update --workspace --manifest-path crates/api/Cargo.toml",
        ),
    ],
    ids=["uv", "cargo"],
)
def test_a_project_below_the_root_has_its_lockfile_brought_up_from_there_or_above(
    path: str, text: str, table: str, lockfiles: str, relock: str
) -> None:
    """The lockfile is beside the version file or at the root of its workspace, above it:
    each is named, and the command is pointed at the project from the repository's root."""
    files = {path: text}
    result = version_bump.check(
        config(f"version: {{files: [{path}]}}"),
        facts(base_version_files=files, head_version_files={}),
    )
    assert result.how_to_fix == (
        "Set the version to 1.2.4 on hotfix/fix-login, commit it and push it:\n"
        "\n"
        "```sh\n"
        "git fetch origin &&\n"
        "git checkout hotfix/fix-login &&\n"
        "git merge --ff-only origin/hotfix/fix-login &&\n"
        f"git checkout origin/main -- {path}\n"
        "```\n"
        "\n"
        f'Then set `version = "1.2.4"` under `[{table}]` in `{path}`, and:\n'
        "\n"
        "```sh\n"
        f'{{ [ -z "$(git ls-files {lockfiles})" ] || {relock}; }} &&\n'
        f"git add {path} $(git ls-files {lockfiles}) &&\n"
        'git commit -m "Bump the version to 1.2.4" &&\n'
        "git push origin hotfix/fix-login\n"
        "```"
    )


def test_version_bump_reports_every_file_found() -> None:
    result = version_bump.check(
        config(),
        facts(
            base_version_files={**V, "package.json": '{"version": "1.2.3"}'},
            head_version_files={"VERSION": "1.2.3", "package.json": "{"},
        ),
    )
    assert result.found == (
        "VERSION: 1.2.3 on main, 1.2.3 on hotfix/fix-login; "
        "package.json: 1.2.3 on main, unreadable on hotfix/fix-login"
    )
    assert result.summary == "VERSION is 1.2.3 on hotfix/fix-login, expected 1.2.4 (and 1 more)"
    assert (
        result.expected == "1.2.4 (1.2.3 + 1 patch) in VERSION, package.json, and no tag v1.2.4 yet"
    )


def test_version_bump_with_configured_files() -> None:
    configured = config(
        "version: {files: [app/VERSION, VERSION]}\ntag: {format: 'release-{version}'}"
    )
    ok = facts(
        base_version_files={"app/VERSION": "0.9.9", "VERSION": "0.9.9"},
        head_version_files={"app/VERSION": "0.9.10", "VERSION": "0.9.10"},
    )
    assert version_bump.check(configured, ok).summary == (
        "Version 0.9.9 becomes 0.9.10 in app/VERSION and VERSION; tag release-0.9.10 is free"
    )
    missing = version_bump.check(configured, facts(base_version_files={"VERSION": "0.9.9"}))
    assert missing.status is Status.FAIL
    assert missing.summary == "app/VERSION is listed in version.files but is not on main"
    assert missing.how_to_fix == (
        "Add app/VERSION to main or remove it from version.files; then re-run this check"
    )
    none = version_bump.check(configured, facts(base_version_files={}))
    assert none.how_to_fix == (
        "Add app/VERSION and VERSION to main, holding the current version, or set "
        "`version.files` in `.github/hotfix.yml` to the files that hold it; then re-run this check"
    )


WEB_PACKAGE = '{"name": "web", "version": "1.2.3"}'
WEB_NPM_FILES = "web/package.json $(git ls-files web/package-lock.json web/npm-shrinkwrap.json)"


@pytest.mark.parametrize(
    ("head_files", "summary", "how_to_fix"),
    [
        (  # npm is told the file's directory: run at the root it would edit another file
            {"web/package.json": WEB_PACKAGE},
            "web/package.json is 1.2.3 on hotfix/fix-login, expected 1.2.4",
            up_to_date_first(
                pushed(
                    "1.2.4",
                    "npm --prefix web version 1.2.4 --no-git-tag-version",
                    paths=WEB_NPM_FILES,
                )
            ),
        ),
        (  # npm cannot bring back a deleted package.json: git can, from the base
            {},
            "web/package.json is missing on hotfix/fix-login",
            pushed(
                "1.2.4",
                "git checkout origin/main -- web/package.json",
                "npm --prefix web version 1.2.4 --no-git-tag-version",
                paths=WEB_NPM_FILES,
            ),
        ),
    ],
)
def test_version_bump_fixes_a_package_json_in_a_directory_from_the_root(
    head_files: dict[str, str], summary: str, how_to_fix: str
) -> None:
    result = version_bump.check(
        config("version: {files: [web/package.json]}"),
        facts(base_version_files={"web/package.json": WEB_PACKAGE}, head_version_files=head_files),
    )
    assert (result.status, result.summary, result.how_to_fix) == (Status.FAIL, summary, how_to_fix)


PRERELEASES = config("version: {allow_prerelease: true}")


@pytest.mark.parametrize(
    ("base_version", "head_version", "status", "summary", "expected"),
    [
        (
            "1.2.3",
            "1.2.4-rc.1",
            Status.PASS,
            "Version 1.2.3 becomes 1.2.4-rc.1 in VERSION; tag v1.2.4-rc.1 is free",
            "1.2.4 or a pre-release of it (1.2.3 + 1 patch) in VERSION, "
            "and no tag v1.2.4-rc.1 or v1.2.4 yet",
        ),
        (
            "1.2.3",
            "1.2.4",
            Status.PASS,
            "Version 1.2.3 becomes 1.2.4 in VERSION; tag v1.2.4 is free",
            "1.2.4 or a pre-release of it (1.2.3 + 1 patch) in VERSION, and no tag v1.2.4 yet",
        ),
        (
            "1.2.3",
            "1.2.5-rc.1",
            Status.FAIL,
            "VERSION is 1.2.5-rc.1 on hotfix/fix-login, expected 1.2.4 or a pre-release of it",
            "1.2.4 or a pre-release of it (1.2.3 + 1 patch) in VERSION, and no tag v1.2.4 yet",
        ),
        (  # from a pre-release base, the patch number goes up: 1.2.4-rc.1 wants 1.2.5
            "1.2.4-rc.1",
            "1.2.5-rc.1",
            Status.PASS,
            "Version 1.2.4-rc.1 becomes 1.2.5-rc.1 in VERSION; tag v1.2.5-rc.1 is free",
            "1.2.5 or a pre-release of it (1.2.4-rc.1 + 1 patch) in VERSION, and no tag "
            "v1.2.5-rc.1 or v1.2.5 yet",
        ),
        (
            "1.2.4-rc.1",
            "1.2.4-rc.2",
            Status.FAIL,
            "VERSION is 1.2.4-rc.2 on hotfix/fix-login, expected 1.2.5 or a pre-release of it",
            "1.2.5 or a pre-release of it (1.2.4-rc.1 + 1 patch) in VERSION, and no tag v1.2.5 yet",
        ),
        (
            "1.2.4-rc.1",
            "1.2.4",
            Status.FAIL,
            "VERSION is 1.2.4 on hotfix/fix-login, expected 1.2.5 or a pre-release of it",
            "1.2.5 or a pre-release of it (1.2.4-rc.1 + 1 patch) in VERSION, and no tag v1.2.5 yet",
        ),
    ],
)
def test_version_bump_with_pre_releases_allowed(
    base_version: str, head_version: str, status: Status, summary: str, expected: str
) -> None:
    result = version_bump.check(
        PRERELEASES,
        facts(
            base_version_files={"VERSION": base_version},
            head_version_files={"VERSION": head_version},
        ),
    )
    assert (result.status, result.summary, result.expected) == (status, summary, expected)
    assert result.found == f"VERSION: {base_version} on main, {head_version} on hotfix/fix-login"
    target = {"1.2.3": "1.2.4", "1.2.4-rc.1": "1.2.5"}[base_version]
    assert result.how_to_fix == ("" if status is Status.PASS else echo(target))


def test_an_existing_tag_of_the_pre_release_fails_version_bump_offering_the_next_one() -> None:
    result = version_bump.check(
        PRERELEASES,
        facts(
            base_version_files={**V, "package.json": '{"version": "1.2.3"}'},
            head_version_files={
                "VERSION": "1.2.4-rc.1",
                "package.json": '{"version": "1.2.4-rc.1"}',
            },
            existing_tags=frozenset({"v1.2.4-rc.1"}),
        ),
    )
    assert result.status is Status.FAIL
    assert result.summary == "The tag v1.2.4-rc.1 already exists, so 1.2.4-rc.1 was released before"
    assert result.how_to_fix == (
        "Bring the version files on main up to the latest release first, then bump its patch "
        "number here (if hotfix/fix-login holds that version already, then re-run this check)"
        "\n\nOr ship the next pre-release instead: set the version to 1.2.4-rc.2 on "
        f"hotfix/fix-login, commit it and push it:\n\n```sh\n{CHECKOUT} &&\n"
        'echo "1.2.4-rc.2" > VERSION &&\n'
        "npm version 1.2.4-rc.2 --no-git-tag-version &&\n"
        f"git add VERSION {ROOT_NPM_FILES} &&\n"
        'git commit -m "Bump the version to 1.2.4-rc.2" &&\n'
        "git push origin hotfix/fix-login\n```"
    )


def test_a_pre_release_of_a_released_version_fails_version_bump_as_the_base_being_behind() -> None:
    result = version_bump.check(
        PRERELEASES,
        facts(
            head_version_files={"VERSION": "1.2.4-rc.1"},
            existing_tags=frozenset({"v1.2.4"}),
        ),
    )
    assert result.status is Status.FAIL
    assert result.summary == (
        "The tag v1.2.4 already exists, so main (1.2.3) is behind the latest release "
        "(1.2.4-rc.1 is a pre-release of 1.2.4, so below it)"
    )
    assert result.how_to_fix == behind_then_bumped()
    assert result.expected == (
        "1.2.4 or a pre-release of it (1.2.3 + 1 patch) in VERSION, "
        "and no tag v1.2.4-rc.1 or v1.2.4 yet"
    )


FILES = ("VERSION", "pyproject.toml", "package.json", "Cargo.toml")


def test_version_bump_asks_for_the_tag_of_the_heads_version_once_the_files_are_read() -> None:
    unread = facts(base_version_files={}, head_version_files={})
    assert version_bump.needs(PRERELEASES, unread) == Lookups(version_files=FILES)
    read = facts(head_version_files={"VERSION": "1.2.4-rc.1+build.5"})
    assert version_bump.needs(PRERELEASES, read) == Lookups(
        version_files=FILES, tags=("v1.2.4-rc.1+build.5", "v1.2.4")
    )


@pytest.mark.parametrize(
    ("head_files", "tags"),
    [
        ({"VERSION": "1.2.5"}, ("v1.2.5", "v1.2.4")),
        ({"VERSION": None}, ("v1.2.4",)),
        ({"VERSION": "1.2.4"}, ("v1.2.4",)),  # one tag for both: no request more
        ({"VERSION": "v1.2.4\n"}, ("v1.2.4",)),
        # 1.2.4 with a pre-release part or build metadata is no newer than 1.2.4
        ({"VERSION": "1.2.4-rc.1"}, ("v1.2.4-rc.1", "v1.2.4")),
        ({"VERSION": "1.2.4+hotfix.1"}, ("v1.2.4+hotfix.1", "v1.2.4")),
        ({"VERSION": "1.2.4-rc.1+b.2"}, ("v1.2.4-rc.1+b.2", "v1.2.4")),
    ],
)
@pytest.mark.parametrize("hotfix_config", [config(), PRERELEASES], ids=["defaults", "pre-releases"])
def test_version_bump_asks_for_the_next_patchs_tag_when_the_head_holds_another_version(
    head_files: dict[str, str | None], tags: tuple[str, ...], hotfix_config: HotfixConfig
) -> None:
    # The fixes would ask for 1.2.4, and a head holding it with a suffix ships 1.2.4 or less:
    # whether it was released decides what the check says, pre-releases allowed or not.
    needs = version_bump.needs(hotfix_config, facts(head_version_files=head_files))
    assert needs == Lookups(version_files=FILES, tags=tags)


@pytest.mark.parametrize(
    ("before", "after", "config_text", "version"),
    [
        (V, {"VERSION": "1.2.4\n"}, None, "1.2.4"),
        (V, {"VERSION": "1.2.4+build.7\n"}, None, "1.2.4+build.7"),
        (V, {"VERSION": "1.2.3\n"}, None, None),
        (V, {"VERSION": "1.3.0\n"}, None, None),
        (V, {"VERSION": "1.2.4-rc.1\n"}, None, None),
        (V, {"VERSION": "1.2.4-rc.1\n"}, "version: {allow_prerelease: true}", "1.2.4-rc.1"),
        (V, {}, None, None),
        ({}, {"VERSION": "1.2.4\n"}, None, None),
        (
            {**V, "package.json": '{"version": "1.2.3"}'},
            {"VERSION": "1.2.4\n", "package.json": '{"version": "1.2.3"}'},
            None,
            None,
        ),
        (
            {**V, "package.json": '{"version": "1.2.3"}'},
            {"VERSION": "1.2.4\n", "package.json": '{"version": "1.2.4"}'},
            None,
            "1.2.4",
        ),
    ],
    ids=[
        "one patch",
        "with build metadata",
        "unchanged",
        "minor",
        "pre-release",
        "pre-release allowed",
        "file removed",
        "file added",
        "one file left behind",
        "all files",
    ],
)
def test_bumped_version_is_the_version_bump_rule_without_the_tag(
    before: dict[str, str], after: dict[str, str], config_text: str | None, version: str | None
) -> None:
    found = version_bump.bumped_version(config(config_text), before, after)

    assert (None if found is None else str(found)) == version
