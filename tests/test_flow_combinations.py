"""Git Flow, GitHub Flow and trunk-based development as teams combine them, end to end
against the fake GitHub (docs/BEHAVIOUR.md, 'Merge queues', 'Post-merge steps' and
'Trunk-based hotfixes'): release branches with pre-releases, merge queues holding two
hotfixes, organization defaults under a repository's own file, retargeted and concurrent
hotfix pull requests, and each merge method.

Every test asserts the state GitHub is left in: refs, tags, releases and their flags,
branches, back-merge pull requests, comments and check runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pytest
from support.harness import Bot
from support.titles import all_rules_pass, rules_fail

from sandbox import Author, FakeCheckRun, FakeMergeGroup, FakePull, FakeRepo
from sandbox.repo import MergeMethod

WEB = "https://github.com/acme/widgets"
TEAMS = {"engineering-leads": ["lead"], "product-managers": ["pm"]}
PACKAGE = '{\n  "name": "widgets",\n  "version": "%s"\n}\n'
PYPROJECT = '[project]\nname = "widgets"\nversion = "%s"\n'
APP_PY = "def login(): ...\n"
FIXED = "def login(): fixed\n"
BOT_LOGIN = "hotfix-bot[bot]"
REPORT_MARKER = "<!-- hotfix-bot:hotfix-release -->"


@pytest.fixture(autouse=True)
def teams(bot: Bot) -> None:
    for slug, members in TEAMS.items():
        bot.fake.add_team("acme", slug, members)


P1_APPROVERS = ("lead", "pm")  # one of each approval group of a P1


def hotfix(
    bot: Bot, branch: str, files: Mapping[str, str | None], base: str = "main", into: str = ""
) -> FakePull:
    """A P1 hotfix pull request `Fix` by dev from `branch`, cut from `base`, committing
    `files`, into `base` (or `into`); dev may push, so that the incident report is assigned
    to them."""
    bot.repo.collaborators["dev"] = "write"
    bot.repo.create_branch(branch, base)
    bot.repo.commit(branch, files, "Fix", author="dev")
    labels = ["hotfix", "P1"]
    return bot.repo.open_pull(branch, into or base, title="Fix", author="dev", labels=labels)


def approved_hotfix(bot: Bot, branch: str, files: Mapping[str, str | None]) -> FakePull:
    """`hotfix`, evaluated and approved: its own check passes."""
    pull = hotfix(bot, branch, files)
    bot.pull_request(pull.number, "opened")
    bot.approve(pull.number, *P1_APPROVERS)
    assert bot.policy_run(pull.head_sha).output["title"] == all_rules_pass()
    return pull


def release_run(repo: FakeRepo, sha: str) -> FakeCheckRun:
    [run] = repo.runs_named("hotfix-release", sha)
    return run


def merge_sha(pull: FakePull) -> str:
    assert pull.merge_commit_sha is not None
    return pull.merge_commit_sha


def rule_row(run: FakeCheckRun, rule: str) -> str:
    summary: str = run.output["summary"]
    [line] = [line for line in summary.splitlines() if line.startswith(f"| `{rule}`")]
    return line


def assert_reported(repo: FakeRepo, pull: FakePull, title: str, *steps: str) -> None:
    """The `hotfix-release` run of `pull`'s merge, a success, and the report comment saying
    the same: the rows of `steps`, then those of the incident report and the resolution
    notice every P1 hotfix gets."""
    merge, web = merge_sha(pull), f"https://github.com/{repo.full_name}"
    [issue] = [issue for issue in repo.issues.values() if "incident-report" in issue.labels]
    assert pull.merged_at is not None
    due = f"{pull.merged_at + timedelta(hours=48):%Y-%m-%d %H:%M} UTC"  # a P1's report
    text = "\n".join(
        [
            f"Hotfix #{pull.number} (Fix) was merged into `{pull.base_ref}` as "
            f"[`{merge[:7]}`]({web}/commit/{merge}).",
            "",
            "| Step | Outcome | Details | Link |",
            "| --- | --- | --- | --- |",
            *steps,
            row(
                "Incident report",
                "✅ done",
                f"opened issue #{issue.number} (assigned to @dev), due {due}",
                f"[#{issue.number}]({web}/issues/{issue.number})",
            ),
            row("Resolution notice", "✅ done", "posted the resolution notice on the pull request"),
        ]
    )
    run = release_run(repo, merge)
    assert (run.status, run.conclusion, run.details_url) == (
        "completed",
        "success",
        f"{web}/pull/{pull.number}",
    )
    assert (run.output["title"], run.output["summary"]) == (title, text)
    [comment] = [c for c in repo.comments_on(pull.number) if c.body.startswith(REPORT_MARKER)]
    assert (comment.author, comment.body) == (
        BOT_LOGIN,
        f"{REPORT_MARKER}\n### `hotfix-release`: {title}\n\n{text}",
    )


def row(step: str, outcome: str, details: str, link: str = " ") -> str:
    return f"| {step} | {outcome} | {details} | {link} |"


def tag_row(tag: str, sha: str, web: str = WEB) -> str:
    return row(
        "Tag",
        "✅ done",
        f"annotated tag `{tag}` on the merge commit `{sha[:7]}`",
        f"[{tag}]({web}/tree/{tag})",
    )


def release_row(tag: str, web: str = WEB) -> str:
    return row(
        "Release", "✅ done", f"published release `{tag}`", f"[{tag}]({web}/releases/tag/{tag})"
    )


def assert_tag_on(repo: FakeRepo, tag: str, sha: str, message: str) -> None:
    """An annotated tag `tag` with `message` on commit `sha`."""
    tag_object = repo.tag_object(tag)
    assert tag_object is not None
    assert (tag_object.tag, tag_object.message) == (tag, message)
    assert (tag_object.object_sha, tag_object.object_type) == (sha, "commit")


# --- Git Flow: an open release branch, a pre-release, version files of two kinds -----------

GITFLOW_PRE_RELEASES = "version: {allow_prerelease: true}\n"


def gitflow_with_a_release_branch(bot: Bot) -> None:
    """main at 1.2.3 in package.json and pyproject.toml (no VERSION), pre-releases allowed;
    develop at 1.3.0-dev with a feature; release/1.3.0 cut from it at 1.3.0-rc.1."""
    repo = bot.repo
    repo.commit(
        "main",
        {
            "VERSION": None,
            "package.json": PACKAGE % "1.2.3",
            "pyproject.toml": PYPROJECT % "1.2.3",
            "app.py": APP_PY,
            ".github/hotfix.yml": GITFLOW_PRE_RELEASES,
        },
        "Base",
    )
    repo.create_branch("develop", "main")
    develop = {"package.json": PACKAGE % "1.3.0-dev", "pyproject.toml": PYPROJECT % "1.3.0-dev"}
    repo.commit("develop", {**develop, "feature.py": "x = 1\n"}, "Start 1.3.0")
    repo.create_branch("release/1.3.0", "develop")
    release = {"package.json": PACKAGE % "1.3.0-rc.1", "pyproject.toml": PYPROJECT % "1.3.0-rc.1"}
    repo.commit("release/1.3.0", release, "Release candidate 1.3.0-rc.1")


def test_a_pre_release_hotfix_goes_into_the_open_release_branch_keeping_its_two_versions(
    bot: Bot,
) -> None:
    gitflow_with_a_release_branch(bot)
    repo = bot.repo
    bumped = {"package.json": PACKAGE % "1.2.4-rc.1", "pyproject.toml": PYPROJECT % "1.2.4-rc.1"}
    pull = approved_hotfix(bot, "hotfix/fix-login", {**bumped, "app.py": FIXED})
    assert rule_row(bot.policy_run(pull.head_sha), "version-bump") == (
        "| `version-bump` | ✅ pass | pyproject.toml: 1.2.3 on main, 1.2.4-rc.1 on "
        "hotfix/fix-login; package.json: 1.2.3 on main, 1.2.4-rc.1 on hotfix/fix-login | "
        "1.2.4 or a pre-release of it (1.2.3 + 1 patch) in pyproject.toml, package.json, and "
        "no tag v1.2.4-rc.1 or v1.2.4 yet |"
    )
    develop, release_before = repo.branches["develop"].sha, repo.branches["release/1.3.0"].sha

    repo.merge_pull(pull.number)
    bot.pull_request(pull.number, "closed")

    merge = merge_sha(pull)
    assert repo.tags.keys() == {"v1.2.4-rc.1"}
    assert_tag_on(repo, "v1.2.4-rc.1", merge, "Hotfix: Fix")
    [published] = repo.releases.values()
    # A pre-release: never the repository's latest.
    assert (published.tag_name, published.body, published.prerelease) == (
        "v1.2.4-rc.1",
        f"Hotfix #{pull.number}: Fix",
        True,
    )
    assert repo.latest_release() is None
    # The back-merge went into the open release branch, not develop; the conflict was in the
    # two version files alone, so the release branch kept both of its versions.
    assert repo.branches["develop"].sha == develop
    merged_back = repo.get_commit("release/1.3.0")
    assert merged_back.message == "Merge hotfix v1.2.4-rc.1 back into release/1.3.0"
    assert merged_back.parents[0] == release_before
    resolution = repo.objects.commits[merged_back.parents[1]]
    assert resolution.parents == (merge,)
    assert resolution.message == "chore: keep release/1.3.0's version after v1.2.4-rc.1"
    assert dict(merged_back.tree) == {
        ".github/hotfix.yml": GITFLOW_PRE_RELEASES,
        "app.py": FIXED,
        "feature.py": "x = 1\n",
        "package.json": PACKAGE % "1.3.0-rc.1",
        "pyproject.toml": PYPROJECT % "1.3.0-rc.1",
    }
    assert set(repo.branches) == {"main", "develop", "release/1.3.0"}
    assert list(repo.pulls) == [pull.number]
    assert_reported(
        repo,
        pull,
        "All steps done for v1.2.4-rc.1",
        tag_row("v1.2.4-rc.1", merge),
        release_row("v1.2.4-rc.1"),
        row(
            "Back-merge",
            "✅ done",
            "merged into the release branch `release/1.3.0`; the version conflict was resolved "
            "by keeping `release/1.3.0`'s version in `package.json` and `pyproject.toml`",
            f"[{resolution.sha[:7]}]({WEB}/commit/{resolution.sha})",
        ),
        row("Delete branch", "✅ done", "deleted `hotfix/fix-login`"),
    )


def test_a_pre_release_conflicting_with_the_release_branch_beyond_its_versions_goes_to_people(
    bot: Bot,
) -> None:
    """The release branch changed the login code too: its back-merge pull request says to
    keep the release branch's version in both version files, not the hotfix's."""
    gitflow_with_a_release_branch(bot)
    repo = bot.repo
    repo.commit("release/1.3.0", {"app.py": "def login(): reworked\n"}, "Rework login")
    bumped = {"package.json": PACKAGE % "1.2.4-rc.1", "pyproject.toml": PYPROJECT % "1.2.4-rc.1"}
    pull = hotfix(bot, "hotfix/fix-login", {**bumped, "app.py": FIXED})
    release_before = repo.branches["release/1.3.0"].sha

    merge = repo.merge_pull(pull.number)
    bot.pull_request(pull.number, "closed")

    assert repo.branches["release/1.3.0"].sha == release_before
    assert repo.branches["backmerge/v1.2.4-rc.1"].sha == merge
    [backmerge] = [p for p in repo.pulls.values() if p.number != pull.number]
    assert (backmerge.title, backmerge.head_ref, backmerge.base_ref, backmerge.state) == (
        "Back-merge v1.2.4-rc.1 into release/1.3.0",
        "backmerge/v1.2.4-rc.1",
        "release/1.3.0",
        "open",
    )
    assert backmerge.requested_reviewers == ["dev"]
    assert backmerge.body == (
        f"This merges hotfix #{pull.number} (Fix), merge commit `{merge[:7]}`, back into "
        "`release/1.3.0`.\n\n"
        "**Why a pull request:** the hotfix conflicts with `release/1.3.0`, so GitHub could "
        "not merge it automatically.\n\n"
        "Files changed on both sides since they diverged (the conflicts are in these):\n\n"
        "- `app.py`\n- `package.json`\n- `pyproject.toml`\n\n"
        "@dev, please resolve the conflicts on `backmerge/v1.2.4-rc.1`, keeping both the hotfix "
        "and the work on `release/1.3.0` (but `release/1.3.0`'s own version in `package.json` "
        "and `pyproject.toml`, not the hotfix's 1.2.4-rc.1), then merge:\n\n"
        "```sh\ngit fetch origin\ngit checkout backmerge/v1.2.4-rc.1\n"
        "git merge origin/release/1.3.0\n# resolve, commit\n"
        "git push origin backmerge/v1.2.4-rc.1\n```"
    )
    run = release_run(repo, merge)
    backmerge_url = f"{WEB}/pull/{backmerge.number}"
    assert (run.conclusion, run.details_url) == ("action_required", backmerge_url)
    assert run.output["title"] == (
        f"Back-merge into release/1.3.0 waits for review in #{backmerge.number}"
    )
    assert (
        row(
            "Back-merge",
            "⏳ waiting",
            "the hotfix conflicts with the release branch `release/1.3.0`: pull request "
            f"#{backmerge.number} from `backmerge/v1.2.4-rc.1` waits for @dev",
            f"[#{backmerge.number}]({backmerge_url})",
        )
        in run.output["summary"].splitlines()
    )

    # dev resolves it as asked and merges it; a re-run of the report finds it done.
    versions = ("package.json", "pyproject.toml")
    release_versions = {path: repo.read_file("release/1.3.0", path) for path in versions}
    resolution = repo.objects.make_commit(
        {**repo.get_commit("release/1.3.0").tree, "app.py": "def login(): reworked, fixed\n"},
        (merge, repo.branches["release/1.3.0"].sha),
        "Merge release/1.3.0, keeping its version",
        Author.for_login("dev"),
        bot.fake.now(),
    )
    repo.set_branch("backmerge/v1.2.4-rc.1", resolution.sha)
    repo.merge_pull(backmerge.number, merged_by="dev")
    bot.deliver("check_run", bot.fake.check_run_event(repo, run.id))

    assert {path: repo.read_file("release/1.3.0", path) for path in versions} == release_versions
    run = release_run(repo, merge)
    assert (run.conclusion, run.output["title"]) == ("success", "All steps done for v1.2.4-rc.1")
    assert (
        row(
            "Back-merge",
            "✅ already done",
            f"pull request #{backmerge.number} merged into the release branch `release/1.3.0`",
            f"[#{backmerge.number}]({backmerge_url})",
        )
        in run.output["summary"].splitlines()
    )
    assert set(repo.branches) == {"main", "develop", "release/1.3.0"}


def test_after_a_pre_release_hotfix_the_next_one_wants_the_next_patch_not_the_final_release(
    bot: Bot,
) -> None:
    """SemVer puts 1.2.4 above 1.2.4-rc.1, but a hotfix raises the patch number: the final
    1.2.4 of a released 1.2.4-rc.1 is 1.2.5 (docs/BEHAVIOUR.md, 'Rules')."""
    gitflow_with_a_release_branch(bot)
    bumped = {"package.json": PACKAGE % "1.2.4-rc.1", "pyproject.toml": PYPROJECT % "1.2.4-rc.1"}
    first = approved_hotfix(bot, "hotfix/fix-login", bumped)
    bot.repo.merge_pull(first.number)
    bot.pull_request(first.number, "closed")

    final = {"package.json": PACKAGE % "1.2.4", "pyproject.toml": PYPROJECT % "1.2.4"}
    second = hotfix(bot, "hotfix/final", final)
    bot.pull_request(second.number, "opened")

    run = bot.policy_run(second.head_sha)
    assert (run.conclusion, run.output["title"]) == ("failure", rules_fail("version-bump"))
    assert rule_row(run, "version-bump") == (
        "| `version-bump` | ❌ fail | pyproject.toml: 1.2.4-rc.1 on main, 1.2.4 on hotfix/final; "
        "package.json: 1.2.4-rc.1 on main, 1.2.4 on hotfix/final | 1.2.5 or a pre-release of it "
        "(1.2.4-rc.1 + 1 patch) in pyproject.toml, package.json, and no tag v1.2.5 yet |"
    )
    assert run.output["summary"].endswith(
        "pyproject.toml is 1.2.4 on hotfix/final, expected 1.2.5 or a pre-release of it "
        "(and 1 more)\n\n"
        "Set the version to 1.2.5 on hotfix/final, commit it and push it:\n\n"
        "```sh\ngit fetch origin &&\ngit checkout hotfix/final &&\n"
        "git merge --ff-only origin/hotfix/final &&\nnpm version 1.2.5 --no-git-tag-version\n```"
        '\n\nThen set `version = "1.2.5"` under `[project]` in `pyproject.toml`, and:\n\n'
        '```sh\n{ [ -z "$(git ls-files uv.lock)" ] || uv lock; } &&\n'
        "git add pyproject.toml package.json $(git ls-files uv.lock package-lock.json "
        'npm-shrinkwrap.json) &&\ngit commit -m "Bump the version to 1.2.5" &&\n'
        "git push origin hotfix/final\n```"
    )


# --- organization defaults under a repository's own file ------------------------------------

ORG_GITHUB_FLOW = """\
workflow: github-flow
tag: {format: "release-{version}"}
severities:
  P1:
    approvals:
      - {name: Release Manager, users: [rm], count: 1}
"""
# A repository whose default branch is `trunk` releases from `stable`, under its own tags.
GADGETS_CONFIG = 'branches: {production: stable}\ntag: {format: "gadgets-v{version}"}\n'
GADGETS = "https://github.com/acme/gadgets"


def gadgets(bot: Bot) -> FakeRepo:
    """acme/gadgets, default branch `trunk` at 2.0.0 with its own file, `stable` and
    `develop` cut from it, under the organization's GitHub Flow defaults; the bot's repo."""
    bot.fake.add_repo(
        "acme/.github", bot.repo.installation_id, files={".github/hotfix.yml": ORG_GITHUB_FLOW}
    )
    files = {"VERSION": "2.0.0\n", ".github/hotfix.yml": GADGETS_CONFIG}
    repo = bot.fake.add_repo("acme/gadgets", bot.repo.installation_id, "trunk", files)
    for branch in ("stable", "develop"):
        repo.create_branch(branch, "trunk")
    bot.repo = repo
    return repo


def test_organization_github_flow_under_a_repositorys_production_branch_and_tag_format(
    bot: Bot,
) -> None:
    repo = gadgets(bot)
    pull = hotfix(bot, "hotfix/fix-login", {"VERSION": "2.0.1\n"}, base="stable")
    bot.pull_request(pull.number, "opened")
    repo.review(pull.number, "rm", "APPROVED")
    bot.deliver("pull_request_review", bot.fake.review_event(repo, pull.number))

    run = bot.policy_run(pull.head_sha)
    assert (run.conclusion, run.output["title"]) == ("success", all_rules_pass())
    assert (
        "\n\nConfig: acme/.github .github/hotfix.yml, then .github/hotfix.yml on stable\n\n"
    ) in run.output["summary"]
    assert rule_row(run, "target-branch") == "| `target-branch` | ✅ pass | stable | stable |"
    assert rule_row(run, "approvals") == (
        "| `approvals` | ✅ pass | Release Manager: rm | "
        "Release Manager: 1 approval from users rm |"
    )
    assert rule_row(run, "version-bump") == (
        "| `version-bump` | ✅ pass | VERSION: 2.0.0 on stable, 2.0.1 on hotfix/fix-login | "
        "2.0.1 (2.0.0 + 1 patch) in VERSION, and no tag gadgets-v2.0.1 yet |"
    )
    develop = repo.branches["develop"].sha

    merge = repo.merge_pull(pull.number)
    bot.pull_request(pull.number, "closed")

    assert repo.tags.keys() == {"gadgets-v2.0.1"}
    assert_tag_on(repo, "gadgets-v2.0.1", merge, "Hotfix: Fix")
    assert [(r.tag_name, r.prerelease) for r in repo.releases.values()] == [
        ("gadgets-v2.0.1", False)
    ]
    # GitHub Flow: the develop branch the repository happens to have is left alone.
    assert repo.branches["develop"].sha == develop
    assert set(repo.branches) == {"trunk", "stable", "develop"}
    assert bot.fake.repo("acme/widgets").tags == {}
    assert_reported(
        repo,
        pull,
        "All steps done for gadgets-v2.0.1 (1 skipped)",
        tag_row("gadgets-v2.0.1", merge, GADGETS),
        release_row("gadgets-v2.0.1", GADGETS),
        row(
            "Back-merge",
            "➖ skipped",
            "`workflow: github-flow` has no development branch to merge into",
        ),
        row("Delete branch", "✅ done", "deleted `hotfix/fix-login`"),
    )


def test_a_hotfix_into_the_default_branch_that_is_not_production_is_refused_and_not_released(
    bot: Bot,
) -> None:
    repo = gadgets(bot)
    pull = hotfix(bot, "hotfix/fix-login", {"VERSION": "2.0.1\n"}, base="trunk")
    bot.pull_request(pull.number, "opened")

    run = bot.policy_run(pull.head_sha)
    assert (run.conclusion, run.output["title"]) == ("failure", rules_fail("target-branch"))
    assert rule_row(run, "target-branch") == "| `target-branch` | ❌ fail | trunk | stable |"
    assert "gh pr edit 1 --base stable" in run.output["summary"]

    repo.merge_pull(pull.number)
    bot.pull_request(pull.number, "closed")

    assert (repo.tags, repo.releases, repo.runs_named("hotfix-release")) == ({}, {}, [])
    assert "hotfix/fix-login" in repo.branches


# --- trunk-based, from the organization's defaults ----------------------------------------


def trunk_from_the_organization(bot: Bot, org_config: str = "workflow: trunk\n") -> None:
    """acme works trunk-based by its defaults; widgets has no file of its own, and its
    version in VERSION and package.json, 1.2.3."""
    bot.fake.add_repo(
        "acme/.github", bot.repo.installation_id, files={".github/hotfix.yml": org_config}
    )
    bot.repo.commit("main", {"package.json": PACKAGE % "1.2.3"}, "Add package.json")


def push(bot: Bot, files: Mapping[str, str | None]) -> str:
    """dev pushes one commit with `files` to main; the push is delivered. Its commit."""
    before = bot.repo.branches["main"].sha
    after = bot.repo.commit("main", files, "Fix login crash", author="dev")
    bot.deliver("push", bot.fake.push_event(bot.repo, "refs/heads/main", before, after, "dev"))
    return after


@pytest.mark.parametrize(
    "files",
    [
        {"VERSION": "1.2.2\n", "package.json": PACKAGE % "1.2.2"},
        {"VERSION": "1.2.5\n", "package.json": PACKAGE % "1.2.5"},
        {"VERSION": "1.2.4-rc.1\n", "package.json": PACKAGE % "1.2.4-rc.1"},
        {"VERSION": "1.2.4\n", "package.json": PACKAGE % "1.2.5"},
        {"VERSION": "1.2.4\n"},
    ],
    ids=["goes down", "skips a patch", "a pre-release", "the files disagree", "one file of two"],
)
def test_a_trunk_push_that_does_not_raise_every_version_file_one_patch_is_no_hotfix(
    bot: Bot, files: dict[str, str | None]
) -> None:
    trunk_from_the_organization(bot)

    push(bot, {**files, "app.py": FIXED})

    assert (bot.repo.tags, bot.repo.releases, bot.repo.check_runs) == ({}, {}, {})
    assert bot.repo.comments == {}
    assert [entry.status for entry in bot.journal.recent()] == ["done"]


def test_a_trunk_pre_release_the_organization_allows_is_released_and_the_next_is_a_patch_up(
    bot: Bot,
) -> None:
    trunk_from_the_organization(bot, "workflow: trunk\nversion: {allow_prerelease: true}\n")
    candidate = {"VERSION": "1.2.4-rc.1\n", "package.json": PACKAGE % "1.2.4-rc.1"}

    pushed = push(bot, candidate)

    assert_tag_on(bot.repo, "v1.2.4-rc.1", pushed, "Hotfix: Fix login crash")
    [published] = bot.repo.releases.values()
    assert (published.tag_name, published.body, published.prerelease) == (
        "v1.2.4-rc.1",
        f"Hotfix {pushed[:7]}: Fix login crash",
        True,
    )
    run = release_run(bot.repo, pushed)
    assert (run.conclusion, run.output["title"]) == ("success", "All steps done for v1.2.4-rc.1")
    assert run.output["summary"].startswith(
        f"[`{pushed[:7]}`]({WEB}/commit/{pushed}) (Fix login crash) was pushed to `main` and "
        "raises the version by one patch, to 1.2.4-rc.1: a hotfix.\n\n"
    )

    # The final 1.2.4 of that candidate is no patch up from it; 1.2.5 is.
    push(bot, {"VERSION": "1.2.4\n", "package.json": PACKAGE % "1.2.4"})
    assert bot.repo.tags.keys() == {"v1.2.4-rc.1"}
    final = push(bot, {"VERSION": "1.2.5\n", "package.json": PACKAGE % "1.2.5"})
    assert bot.repo.tags.keys() == {"v1.2.4-rc.1", "v1.2.5"}
    assert_tag_on(bot.repo, "v1.2.5", final, "Hotfix: Fix login crash")
    assert bot.repo.latest_release() == bot.repo.releases["v1.2.5"]


# --- each merge method, under Git Flow --------------------------------------------------


@pytest.mark.parametrize("method", ["merge", "squash", "rebase"])
def test_each_merge_method_is_tagged_on_its_commit_and_merged_back_keeping_develops_versions(
    bot: Bot, method: MergeMethod
) -> None:
    """The hotfix fixes the code in one commit and bumps VERSION and package.json in another;
    develop moved both on to 1.3.0-dev, so the back-merge conflicts in them alone."""
    repo = bot.repo
    repo.commit("main", {"package.json": PACKAGE % "1.2.3", "app.py": APP_PY}, "Base")
    repo.create_branch("develop", "main")
    develop_versions = {"VERSION": "1.3.0-dev\n", "package.json": PACKAGE % "1.3.0-dev"}
    repo.commit("develop", {**develop_versions, "feature.py": "x = 1\n"}, "Start 1.3.0")
    pull = hotfix(bot, "hotfix/fix-login", {"app.py": FIXED})
    repo.commit("hotfix/fix-login", {"VERSION": "1.2.4\n", "package.json": PACKAGE % "1.2.4"})
    develop = repo.branches["develop"].sha

    merge = repo.merge_pull(pull.number, method)
    bot.pull_request(pull.number, "closed")

    assert len(repo.get_commit(merge).parents) == (2 if method == "merge" else 1)
    assert repo.tags.keys() == {"v1.2.4"}
    assert_tag_on(repo, "v1.2.4", merge, "Hotfix: Fix")
    merged_back = repo.get_commit("develop")
    assert merged_back.parents[0] == develop
    resolution = repo.objects.commits[merged_back.parents[1]]
    assert (resolution.parents, resolution.message) == (
        (merge,),
        "chore: keep develop's version after v1.2.4",
    )
    assert dict(merged_back.tree) == {
        **develop_versions,
        "app.py": FIXED,
        "feature.py": "x = 1\n",
    }
    assert set(repo.branches) == {"main", "develop"}
    assert_reported(
        repo,
        pull,
        "All steps done for v1.2.4",
        tag_row("v1.2.4", merge),
        release_row("v1.2.4"),
        row(
            "Back-merge",
            "✅ done",
            "merged into `develop`; the version conflict was resolved by keeping `develop`'s "
            "version in `VERSION` and `package.json`",
            f"[{resolution.sha[:7]}]({WEB}/commit/{resolution.sha})",
        ),
        row("Delete branch", "✅ done", "deleted `hotfix/fix-login`"),
    )


# --- a hotfix pull request retargeted to production ------------------------------------------


def test_a_hotfix_opened_into_develop_and_retargeted_to_main_is_judged_and_released_there(
    bot: Bot,
) -> None:
    repo = bot.repo
    repo.create_branch("develop", "main")
    repo.commit("develop", {"feature.py": "x = 1\n"}, "Feature")
    # Cut from main, but opened into develop, the repository's usual base, by mistake.
    pull = hotfix(bot, "hotfix/fix-login", {"VERSION": "1.2.4\n"}, into="develop")
    bot.pull_request(pull.number, "opened")
    run = bot.policy_run(pull.head_sha)
    assert (run.conclusion, run.output["title"]) == ("failure", rules_fail("target-branch"))
    assert rule_row(run, "target-branch") == "| `target-branch` | ❌ fail | develop | main |"
    assert f"gh pr edit {pull.number} --base main" in run.output["summary"]

    # `gh pr edit 1 --base main`, as the run says: GitHub sends `edited`, naming the old base.
    retargeted = repo.pulls[pull.number]
    retargeted.base_ref, retargeted.base_sha = "main", repo.branches["main"].sha
    payload: dict[str, Any] = bot.fake.pull_request_event(repo, pull.number, "edited")
    payload["changes"] = {
        "base": {"ref": {"from": "develop"}, "sha": {"from": repo.branches["develop"].sha}}
    }
    bot.deliver("pull_request", payload)

    run = bot.policy_run(pull.head_sha)
    assert (run.status, run.output["title"]) == (
        "in_progress",
        "Waiting for approval: Engineering Lead and Product Manager",
    )
    assert rule_row(run, "target-branch") == "| `target-branch` | ✅ pass | main | main |"
    bot.approve(pull.number, *P1_APPROVERS)
    assert bot.policy_run(pull.head_sha).output["title"] == all_rules_pass()

    merge = repo.merge_pull(pull.number)
    bot.pull_request(pull.number, "closed")

    assert_tag_on(repo, "v1.2.4", merge, "Hotfix: Fix")
    assert repo.get_commit("develop").parents[1] == merge
    assert release_run(repo, merge).output["title"] == "All steps done for v1.2.4"


# --- two hotfix pull requests of one version open at once -----------------------------------


def test_of_two_open_hotfixes_of_one_version_the_first_merged_is_released_the_other_moves_on(
    bot: Bot,
) -> None:
    first = approved_hotfix(bot, "hotfix/first", {"VERSION": "1.2.4\n", "first.py": "1\n"})
    second = approved_hotfix(bot, "hotfix/second", {"VERSION": "1.2.4\n", "second.py": "2\n"})

    merge = bot.repo.merge_pull(first.number)
    bot.pull_request(first.number, "closed")  # nothing is delivered for the second

    assert bot.repo.tags.keys() == {"v1.2.4"}
    assert_tag_on(bot.repo, "v1.2.4", merge, "Hotfix: Fix")
    run = bot.policy_run(second.head_sha)
    assert (run.conclusion, run.output["title"]) == ("failure", rules_fail("version-bump"))
    assert rule_row(run, "version-bump") == (
        "| `version-bump` | ❌ fail | VERSION: 1.2.4 on main, 1.2.4 on hotfix/second | 1.2.5 "
        "(1.2.4 + 1 patch) in VERSION, and no tag v1.2.5 yet |"
    )
    assert run.output["summary"].endswith(
        "### `version-bump`\n\nVERSION is 1.2.4 on hotfix/second, expected 1.2.5\n\n"
        "hotfix/second does not go past main's version, 1.2.4: the commands bring it up to date "
        "with main first, so that the bump merges cleanly. "
        "Set the version to 1.2.5 on hotfix/second, commit it and push it:\n\n"
        "```sh\ngit fetch origin &&\ngit checkout hotfix/second &&\n"
        "git merge --ff-only origin/hotfix/second &&\ngit merge --no-edit origin/main &&\n"
        'echo "1.2.5" > VERSION &&\ngit add VERSION &&\n'
        'git commit -m "Bump the version to 1.2.5" &&\ngit push origin hotfix/second\n```'
    )

    # Done as it says, main brought in first, and approved again: it passes and is released.
    bot.repo.merge_refs("hotfix/second", "main", "Merge main into hotfix/second", "dev")
    bot.repo.commit("hotfix/second", {"VERSION": "1.2.5\n"}, "Bump the version to 1.2.5", "dev")
    bot.pull_request(second.number, "synchronize")
    bot.approve(second.number, *P1_APPROVERS)
    assert bot.policy_run(second.head_sha).output["title"] == all_rules_pass()
    second_merge = bot.repo.merge_pull(second.number)
    bot.pull_request(second.number, "closed")

    assert bot.repo.tags.keys() == {"v1.2.4", "v1.2.5"}
    assert_tag_on(bot.repo, "v1.2.5", second_merge, "Hotfix: Fix")
    assert release_run(bot.repo, second_merge).output["title"] == (
        "All steps done for v1.2.5 (1 skipped)"
    )


# --- a merge queue holding two hotfixes ---------------------------------------------------


def checks_requested(bot: Bot, group: FakeMergeGroup) -> FakeCheckRun:
    """GitHub asks for the group's required checks; its hotfix-policy run."""
    bot.deliver("merge_group", bot.fake.merge_group_event(bot.repo, group))
    return bot.policy_run(group.head_sha)


def two_hotfixes_of_1_2_4_queued(bot: Bot) -> tuple[FakePull, FakePull, FakeMergeGroup]:
    """#1 and #2, each bumping VERSION from 1.2.3 to 1.2.4 and approved, queued in that
    order; #1's group passes. Returns them and #2's group, built on #1's."""
    first = approved_hotfix(bot, "hotfix/first", {"VERSION": "1.2.4\n", "first.py": "1\n"})
    second = approved_hotfix(bot, "hotfix/second", {"VERSION": "1.2.4\n", "second.py": "2\n"})
    ahead, behind = bot.repo.enqueue(first.number), bot.repo.enqueue(second.number)
    assert behind.base_sha == ahead.head_sha
    assert checks_requested(bot, ahead).output["title"] == f"Pull request #1: {all_rules_pass()}"
    return first, second, behind


def group_lead(pull: FakePull) -> str:
    """The first paragraph of the run of a merge group adding `pull`, a hotfix that passes."""
    return (
        f"Pull request #{pull.number} (Fix) passes the hotfix policy on its head commit "
        f"`{pull.head_sha[:7]}`, so this merge group may merge."
    )


def queue_holds_the_version_warning(pull: FakePull, group: FakeMergeGroup) -> str:
    """The summary's start of the run of `group`, which adds `pull`, a hotfix of 1.2.4 queued
    behind another: its first paragraph, then the warning."""
    return (
        f"{group_lead(pull)}\n\n"
        f"⚠️ **Warning:** this merge group is built on `{group.base_sha[:7]}`, which already "
        "holds version 1.2.4, raised by the pull requests queued ahead of it; "
        f"#{pull.number} ships 1.2.4. Merged after them, #{pull.number} would not raise the "
        "version: the tag its release needs, `v1.2.4`, would be theirs. Take "
        f"#{pull.number} out of the merge queue: once they have merged, bring "
        f"`{pull.head_ref}` up to date with `main` (`git merge origin/main`), set the version "
        "to 1.2.5, and once its own hotfix-policy check passes on that commit (approvals "
        "count for the head commit only), add it to the queue again.\n\n---\n\n"
    )


def unwarned(pull: FakePull) -> str:
    """The summary's start of the run of a merge group adding `pull`, a hotfix that passes,
    with nothing to warn of."""
    return f"{group_lead(pull)}\n\n---\n\n"


def test_a_hotfix_queued_behind_one_of_its_version_passes_its_group_with_a_warning(
    bot: Bot,
) -> None:
    first, second, group = two_hotfixes_of_1_2_4_queued(bot)
    own_run = bot.policy_run(second.head_sha)
    own_writes = len(own_run.history)

    run = checks_requested(bot, group)

    assert (run.status, run.conclusion) == ("completed", "success")
    assert run.output["title"] == f"Pull request #2: {all_rules_pass()}"
    summary = run.output["summary"]
    assert summary.startswith(queue_holds_the_version_warning(second, group))
    assert (
        "| `version-bump` | ✅ pass | VERSION: 1.2.3 on main, 1.2.4 on hotfix/second |" in summary
    )
    assert run.details_url == f"{WEB}/pull/{second.number}"
    assert len(own_run.history) == own_writes  # the pull request's own run is untouched
    # "Re-run" on the group's run finds the same: the commit it is built on is in its name.
    bot.deliver("check_run", bot.fake.check_run_event(bot.repo, run.id))
    assert bot.policy_run(group.head_sha).output == run.output

    # #2 is taken out of the queue, as the warning says; the queue merges #1, released as 1.2.4.
    bot.repo.dequeue(second.number)
    bot.repo.merge_group(bot.repo.merge_queues["main"][0])
    bot.pull_request(first.number, "closed")
    assert_tag_on(bot.repo, "v1.2.4", merge_sha(first), "Hotfix: Fix")
    assert bot.policy_run(second.head_sha).output["title"] == rules_fail("version-bump")

    # #2 does as the warning said, and is queued again: now on main, which holds 1.2.4.
    bot.repo.merge_refs("hotfix/second", "main", "Merge main into hotfix/second", "dev")
    bot.repo.commit("hotfix/second", {"VERSION": "1.2.5\n"}, "Bump the version to 1.2.5", "dev")
    bot.pull_request(second.number, "synchronize")
    bot.approve(second.number, *P1_APPROVERS)
    again = bot.repo.enqueue(second.number)
    run_again = checks_requested(bot, again)
    assert (run_again.conclusion, run_again.output["title"]) == (
        "success",
        f"Pull request #2: {all_rules_pass()}",
    )
    assert run_again.output["summary"].startswith(unwarned(bot.repo.pulls[second.number]))
    bot.repo.merge_group(again)
    bot.pull_request(second.number, "closed")

    assert bot.repo.tags.keys() == {"v1.2.4", "v1.2.5"}
    assert_tag_on(bot.repo, "v1.2.5", merge_sha(second), "Hotfix: Fix")
    assert [release.tag_name for release in bot.repo.releases.values()] == ["v1.2.4", "v1.2.5"]
    assert bot.repo.latest_release() == bot.repo.releases["v1.2.5"]
    assert release_run(bot.repo, merge_sha(second)).output["title"] == (
        "All steps done for v1.2.5 (1 skipped)"
    )


def test_a_hotfix_whose_group_ahead_left_the_queue_passes_unwarned_on_the_group_built_again(
    bot: Bot,
) -> None:
    first, second, group = two_hotfixes_of_1_2_4_queued(bot)
    warned = checks_requested(bot, group)
    assert (warned.conclusion, warned.output["title"]) == (
        "success",
        f"Pull request #2: {all_rules_pass()}",
    )
    assert warned.output["summary"].startswith(queue_holds_the_version_warning(second, group))

    # #1 is taken out of the queue: GitHub builds #2's group again, on main.
    [rebuilt] = bot.repo.dequeue(first.number)
    assert rebuilt.base_sha == bot.repo.branches["main"].sha
    run = checks_requested(bot, rebuilt)

    assert (run.conclusion, run.output["title"]) == (
        "success",
        f"Pull request #2: {all_rules_pass()}",
    )
    assert run.output["summary"].startswith(unwarned(second))
    bot.repo.merge_group(rebuilt)
    bot.pull_request(second.number, "closed")
    assert bot.repo.tags.keys() == {"v1.2.4"}
    assert_tag_on(bot.repo, "v1.2.4", merge_sha(second), "Hotfix: Fix")
    # #1, still open, is told to move on from the version #2 released.
    assert rule_row(bot.policy_run(first.head_sha), "version-bump") == (
        "| `version-bump` | ❌ fail | VERSION: 1.2.4 on main, 1.2.4 on hotfix/first | 1.2.5 "
        "(1.2.4 + 1 patch) in VERSION, and no tag v1.2.5 yet |"
    )


def test_a_hotfix_queued_behind_a_feature_passes_unwarned_on_its_group(bot: Bot) -> None:
    """The queue ahead changes other files: the group's base holds main's version still, and
    reading it there costs one tree and one blob."""
    bot.repo.create_branch("feature/search", "main")
    bot.repo.commit("feature/search", {"search.py": "print()\n"}, "Search")
    feature = bot.repo.open_pull("feature/search", "main", title="Search", author="dev")
    hotfix_pull = approved_hotfix(bot, "hotfix/first", {"VERSION": "1.2.4\n"})
    bot.repo.enqueue(feature.number)
    group = bot.repo.enqueue(hotfix_pull.number)

    with bot.counting() as requests:
        run = checks_requested(bot, group)

    assert (run.conclusion, run.output["title"]) == (
        "success",
        f"Pull request #2: {all_rules_pass()}",
    )
    assert run.output["summary"].startswith(unwarned(hotfix_pull))
    at_the_groups_base = [r.path for r in requests if group.base_sha in r.path]
    assert at_the_groups_base == [f"/repos/acme/widgets/git/trees/{group.base_sha}"]


def test_rerunning_all_checks_of_a_group_behind_one_of_its_version_warns_again(
    bot: Bot,
) -> None:
    """ "Re-run all checks" names the group's branch alone, whose name ends with the commit
    the group is built on."""
    _, second, group = two_hotfixes_of_1_2_4_queued(bot)
    first_run = checks_requested(bot, group)

    bot.deliver("check_suite", bot.fake.check_suite_event(bot.repo, group.head_sha))

    run = bot.policy_run(group.head_sha)
    assert (run.id, run.conclusion, run.output["title"]) == (
        first_run.id,
        "success",
        f"Pull request #2: {all_rules_pass()}",
    )
    assert run.output["summary"].startswith(queue_holds_the_version_warning(second, group))
    assert len(run.history) == 2


def test_a_group_whose_base_github_refuses_to_show_passes_unwarned(bot: Bot) -> None:
    """The look at the queue ahead only warns: GitHub refusing it leaves the group's run as
    its pull request's result makes it."""
    _, second, group = two_hotfixes_of_1_2_4_queued(bot)
    bot.refuse_tree_reads(rf"/git/trees/{group.base_sha}$")

    run = checks_requested(bot, group)

    assert (run.status, run.conclusion, run.output["title"]) == (
        "completed",
        "success",
        f"Pull request #2: {all_rules_pass()}",
    )
    assert run.output["summary"].startswith(unwarned(second))
