"""A team on `workflow: trunk` with pre-releases allowed and organization defaults, pushing
hotfixes straight to production (docs/BEHAVIOUR.md, "Trunk-based hotfixes"), end to end
against the fake GitHub."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from support.harness import REFUSAL, Bot

from sandbox import FakeCheckRun, FakeRepo
from sandbox.repo import MergeMethod

WEB = "https://github.com/acme/widgets"
ORG_TRUNK = "workflow: trunk\nversion: {allow_prerelease: true}\n"


def org_defaults(bot: Bot, text: str = ORG_TRUNK) -> FakeRepo:
    """The organization's `.github` repository, with `text` as its `.github/hotfix.yml`."""
    files = {".github/hotfix.yml": text}
    return bot.fake.add_repo("acme/.github", bot.repo.installation_id, files=files)


def pushed(
    bot: Bot, files: dict[str, str | None], message: str = "Fix login crash", sender: str = "dev"
) -> dict[str, Any]:
    before = bot.repo.branches["main"].sha
    after = bot.repo.commit("main", files, message, author=sender)
    return bot.fake.push_event(bot.repo, "refs/heads/main", before, after, sender=sender)


def release_runs(bot: Bot) -> list[FakeCheckRun]:
    return bot.repo.runs_named("hotfix-release")


PACKAGE = '{\n  "name": "widgets",\n  "version": "%s"\n}\n'
LOCK = '{\n  "name": "widgets",\n  "version": "%s",\n  "lockfileVersion": 3\n}\n'
PYPROJECT = '[project]\nname = "widgets"\nversion = "%s"\n'
CARGO = '[package]\nname = "widgets"\nversion = "%s"\n'


@pytest.mark.parametrize(
    "files",
    [
        {"package.json": PACKAGE, "package-lock.json": LOCK},
        {"pyproject.toml": PYPROJECT},
        {"Cargo.toml": CARGO},
        {"VERSION": "%s\n", "package.json": PACKAGE},
    ],
    ids=["package.json and its lockfile", "pyproject.toml", "Cargo.toml", "two version files"],
)
def test_each_kind_of_version_file_pushed_one_patch_up_is_released(
    bot: Bot, files: dict[str, str]
) -> None:
    org_defaults(bot)
    bot.repo.commit("main", {"VERSION": None, **{p: t % "1.2.3" for p, t in files.items()}})
    payload = pushed(bot, {p: t % "1.2.4" for p, t in files.items()})

    bot.deliver("push", payload)

    tag_object = bot.repo.tag_object("v1.2.4")
    assert tag_object is not None and tag_object.object_sha == payload["after"]
    assert list(bot.repo.releases) == ["v1.2.4"]
    [run] = release_runs(bot)
    assert (run.conclusion, run.output["title"]) == ("success", "All steps done for v1.2.4")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("1.2.3", "1.2.5"),
        ("1.2.3", "1.2.3+build.5"),
        ("1.2.4-rc.1", "1.2.4-rc.2"),
        ("1.2.4-rc.1", "1.2.4"),
    ],
    ids=["two patches", "build metadata only", "pre-release bumped", "pre-release finished"],
)
def test_a_push_not_one_patch_up_releases_nothing(bot: Bot, old: str, new: str) -> None:
    """As docs/ADMIN.md, "Pre-release versions", says: the patch number must go up by one,
    from a pre-release's too."""
    org_defaults(bot)
    bot.repo.commit("main", {"VERSION": f"{old}\n"})

    bot.deliver("push", pushed(bot, {"VERSION": f"{new}\n"}))

    assert (bot.repo.tags, bot.repo.releases, release_runs(bot)) == ({}, {}, [])


@pytest.mark.parametrize("method", ["merge", "squash"])
def test_a_pull_request_merged_as_the_pushed_hotfix_gives_it_its_title(
    bot: Bot, method: MergeMethod
) -> None:
    """Not named as a hotfix, the pull request leaves the release to its push: the tag and
    the release read the pull request's title, not the merge commit's first line."""
    org_defaults(bot)
    before = bot.repo.branches["main"].sha
    bot.repo.create_branch("fix/login", "main")
    bot.repo.commit("fix/login", {"VERSION": "1.2.4\n"}, "wip")
    pull = bot.repo.open_pull("fix/login", "main", title="Fix login crash", author="dev")
    merge = bot.repo.merge_pull(pull.number, method)

    bot.deliver("push", bot.fake.push_event(bot.repo, "refs/heads/main", before, merge))
    bot.pull_request(pull.number, "closed")

    tag_object = bot.repo.tag_object("v1.2.4")
    assert tag_object is not None
    assert (tag_object.object_sha, tag_object.message) == (merge, "Hotfix: Fix login crash")
    [release] = bot.repo.releases.values()
    assert release.body == f"Hotfix {merge[:7]}: Fix login crash"
    [run] = release_runs(bot)
    assert run.output["summary"].startswith(
        f"[`{merge[:7]}`]({WEB}/commit/{merge}) (Fix login crash) was pushed to `main` and "
        "raises the version by one patch, to 1.2.4: a hotfix."
    )


def test_a_pull_request_raising_the_version_in_a_merge_queue_push_gives_it_its_title(
    bot: Bot,
) -> None:
    """The merge queue merges the bumping pull request, then a feature's, in one push: the
    pushed commit is the feature's merge, but the hotfix is the first pull request."""
    org_defaults(bot)
    before = bot.repo.branches["main"].sha
    bot.repo.create_branch("fix/login", "main")
    bot.repo.commit("fix/login", {"VERSION": "1.2.4\n"}, "wip")
    fix = bot.repo.open_pull("fix/login", "main", title="Fix login crash", author="dev")
    bot.repo.create_branch("feature/search", "main")
    bot.repo.commit("feature/search", {"search.py": "print()\n"}, "Search")
    feature = bot.repo.open_pull("feature/search", "main", title="Search", author="dev")
    groups = [bot.repo.enqueue(pull.number) for pull in (fix, feature)]
    for group in groups:
        bot.repo.merge_group(group)
    after = groups[1].head_sha

    bot.deliver("push", bot.fake.push_event(bot.repo, "refs/heads/main", before, after))

    tag_object = bot.repo.tag_object("v1.2.4")
    assert tag_object is not None
    assert (tag_object.object_sha, tag_object.message) == (after, "Hotfix: Fix login crash")


@pytest.mark.parametrize(
    ("version", "why"),
    [
        ("1.2.4+build.7", "1.2.4+build.7 is 1.2.4 again (build metadata makes no other version)"),
        ("1.2.4-rc.1", "1.2.4-rc.1 is a pre-release of 1.2.4, below it"),
    ],
    ids=["build metadata", "pre-release"],
)
def test_a_pushed_build_or_pre_release_of_a_released_version_is_not_released_again(
    bot: Bot, version: str, why: str
) -> None:
    """`v1.2.4` is out (on a commit main has since reverted to 1.2.3): the push raises the
    version one patch, but to 1.2.4 again or below it. `version-bump` refuses such a pull
    request; the push fails its tag step the same way and says how to release the change."""
    org_defaults(bot)
    released = bot.repo.commit("main", {"VERSION": "1.2.4\n"}, "Fix")
    bot.repo.create_tag("v1.2.4", released)
    bot.repo.commit("main", {"VERSION": "1.2.3\n"}, "Revert the fix")
    payload = pushed(bot, {"VERSION": f"{version}\n"})

    bot.deliver("push", payload)

    assert list(bot.repo.tags) == ["v1.2.4"]
    assert bot.repo.releases == {}
    [run] = release_runs(bot)
    assert (run.conclusion, run.output["title"]) == ("failure", "1 of 2 steps failed: tag")
    bump = "push to `main` a commit bumping the version in `VERSION` to 1.2.5"
    assert (
        f"| Tag | ❌ failed | `v1.2.4` already names `{released[:7]}`: {why}, so this hotfix's "
        f"change needs a version of its own: {bump} | [v1.2.4]({WEB}/tree/v1.2.4) |"
    ) in run.output["summary"]
    assert run.output["summary"].endswith(
        f"## Finish by hand\n\nLeave `v1.2.4` as it is: it names `{released[:7]}`. To release "
        f"this hotfix's change, {bump}, which hotfix-bot tags `v1.2.5`."
    )

    # Followed literally, the advice releases the change.
    following = pushed(bot, {"VERSION": "1.2.5\n"})
    bot.deliver("push", following)
    assert sorted(bot.repo.tags) == ["v1.2.4", "v1.2.5"]
    assert list(bot.repo.releases) == ["v1.2.5"]


def test_a_pushed_build_of_a_version_released_on_the_same_commit_is_tagged(bot: Bot) -> None:
    """Someone tagged `v1.2.4` on the pushed commit by hand: the build is of that release."""
    org_defaults(bot)
    payload = pushed(bot, {"VERSION": "1.2.4+build.7\n"})
    bot.repo.create_tag("v1.2.4", payload["after"])

    bot.deliver("push", payload)

    assert sorted(bot.repo.tags) == ["v1.2.4", "v1.2.4+build.7"]
    [run] = release_runs(bot)
    assert (run.conclusion, run.output["title"]) == ("success", "All steps done for v1.2.4+build.7")


def test_a_push_judged_under_broken_organization_defaults_names_their_file(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    """The repository has no file of its own: the problem is in the organization's, and the
    run and the log say so rather than send people to `.github/hotfix.yml` on main."""
    org = org_defaults(bot)
    payload = pushed(bot, {"VERSION": "1.2.4\n"})
    after = payload["after"]
    tree = f"/repos/acme/widgets/git/trees/{after}"
    bot.fake.inject("GET", f"{tree}$", status=403, times=1, body={"message": REFUSAL})
    bot.deliver("push", payload)
    [run] = release_runs(bot)
    assert run.output["title"] == "Could not tell whether this push is a hotfix"
    org.commit(
        "main", {".github/hotfix.yml": "workflow: trunk\nversion: {allow_prerelase: true}\n"}
    )

    caplog.clear()  # the refused read, logged as the delivery failed
    with caplog.at_level(logging.WARNING, "hotfix_bot"):
        bot.deliver("check_run", bot.fake.check_run_event(bot.repo, run.id))

    reason = (
        '`acme/.github:.github/hotfix.yml` cannot be used: unknown key "allow_prerelase" in '
        'version (did you mean "allow_prerelease"?)'
    )
    [run] = release_runs(bot)
    assert (run.conclusion, run.output["title"], run.output["summary"]) == (
        "neutral",
        "Not a hotfix push",
        f"[`{after[:7]}`]({WEB}/commit/{after}) (Fix login crash) was pushed to `main` and is "
        f"not a hotfix of its own: {reason}. Nothing to release here.",
    )
    assert [record.getMessage() for record in caplog.records] == [
        f"push {after[:7]} to main: {reason}"
    ]


def version_bump_row(bot: Bot, head_sha: str) -> str:
    summary: str = bot.policy_run(head_sha).output["summary"]
    [line] = [line for line in summary.splitlines() if line.startswith("| `version-bump` |")]
    return line


def test_an_open_hotfix_bumping_to_the_version_a_push_released_is_evaluated_again(
    bot: Bot,
) -> None:
    """The pull request's `version-bump` passed while `v1.2.4` did not exist; a hotfix pushed
    straight to main takes that version, and nothing is delivered for the pull request."""
    org_defaults(bot)
    pull = bot.open_hotfix()
    bot.pull_request(pull.number, "opened")
    assert version_bump_row(bot, pull.head_sha) == (
        "| `version-bump` | ✅ pass | VERSION: 1.2.3 on main, 1.2.4 on hotfix/fix-login | "
        "1.2.4 or a pre-release of it (1.2.3 + 1 patch) in VERSION, and no tag v1.2.4 yet |"
    )
    payload = pushed(bot, {"VERSION": "1.2.4\n"})

    bot.deliver("push", payload)

    assert list(bot.repo.tags) == ["v1.2.4"]
    run = bot.policy_run(pull.head_sha)
    assert (run.status, run.conclusion) == ("completed", "failure")
    assert version_bump_row(bot, pull.head_sha) == (
        "| `version-bump` | ❌ fail | VERSION: 1.2.4 on main, 1.2.4 on hotfix/fix-login | "
        "1.2.5 or a pre-release of it (1.2.4 + 1 patch) in VERSION, and no tag v1.2.5 yet |"
    )
    # Once for the tag: a redelivery of the push evaluates nothing again.
    with bot.counting() as requests:
        bot.deliver("push", payload)
    assert not [r for r in requests if r.path.startswith("/repos/acme/widgets/pulls")]


def test_a_hotfix_pushed_by_a_bot_is_released_as_anyone_s(bot: Bot) -> None:
    """A release workflow bumping the version with GitHub Actions' token pushes as a bot."""
    org_defaults(bot)
    payload = pushed(bot, {"VERSION": "1.2.4\n"}, sender="github-actions[bot]")
    payload["sender"]["type"] = "Bot"

    assert bot.send("push", payload).json()["status"] == "queued"
    bot.settle()

    assert list(bot.repo.tags) == ["v1.2.4"]
    [run] = release_runs(bot)
    assert (run.conclusion, run.output["title"]) == ("success", "All steps done for v1.2.4")
