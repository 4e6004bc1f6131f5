"""Trunk-based hotfixes (`workflow: trunk`): a push to the production branch that raises the
version by one patch is tagged, released and reported, end to end against the fake GitHub.

Every test asserts the state GitHub is left in: refs, the tag object, releases, comments
and the `hotfix-release` check run of the pushed commit.
"""

from __future__ import annotations

from typing import Any

import pytest
from support.harness import REFUSAL, Bot

from sandbox import FakeCheckRun, FakePull
from sandbox.events import NO_COMMIT

TAG = "v1.2.4"
WEB = "https://github.com/acme/widgets"
BOT_LOGIN = "hotfix-bot[bot]"
TRUNK = "workflow: trunk\n"
# Trunk-based with a production branch that is not the default branch (main).
TRUNK_ON_STABLE = "workflow: trunk\nbranches: {production: stable}\n"


def work_trunk_based(bot: Bot, config: str = TRUNK) -> None:
    bot.repo.commit("main", {".github/hotfix.yml": config}, "Work trunk-based")


def pushed(
    bot: Bot, files: dict[str, str | None], message: str = "Fix login crash", branch: str = "main"
) -> dict[str, Any]:
    """Commit `files` on `branch` as dev's push, and the push's payload."""
    before = bot.repo.resolve(branch) or NO_COMMIT
    after = bot.repo.commit(branch, files, message, author="dev")
    return bot.fake.push_event(bot.repo, f"refs/heads/{branch}", before, after, sender="dev")


def release_run(bot: Bot, sha: str) -> FakeCheckRun:
    [run] = bot.repo.runs_named("hotfix-release", sha)
    return run


def row(step: str, outcome: str, details: str, link: str = " ") -> str:
    return f"| {step} | {outcome} | {details} | {link} |"


def report(
    sha: str, *rows: str, version: str = "1.2.4", tail: str = "", branch: str = "main"
) -> str:
    return (
        "\n".join(
            [
                f"[`{sha[:7]}`]({WEB}/commit/{sha}) (Fix login crash) was pushed to `{branch}` "
                f"and raises the version by one patch, to {version}: a hotfix.",
                "",
                "| Step | Outcome | Details | Link |",
                "| --- | --- | --- | --- |",
                *rows,
            ]
        )
        + tail
    )


def tag_done(sha: str, tag: str = TAG) -> str:
    return row(
        "Tag",
        "✅ done",
        f"annotated tag `{tag}` on the pushed commit `{sha[:7]}`",
        f"[{tag}]({WEB}/tree/{tag})",
    )


def release_done(tag: str = TAG) -> str:
    return row(
        "Release", "✅ done", f"published release `{tag}`", f"[{tag}]({WEB}/releases/tag/{tag})"
    )


def assert_released(bot: Bot, sha: str, tag: str = TAG) -> None:
    """An annotated tag of the configured message on the pushed commit, and its release."""
    tag_object = bot.repo.tag_object(tag)
    assert tag_object is not None
    assert bot.repo.tags == {tag: tag_object.sha}
    assert (tag_object.tag, tag_object.message) == (tag, "Hotfix: Fix login crash")
    assert (tag_object.object_sha, tag_object.object_type) == (sha, "commit")
    [release] = bot.repo.releases.values()
    assert (release.tag_name, release.name, release.body, release.author) == (
        tag,
        tag,
        f"Hotfix {sha[:7]}: Fix login crash",
        BOT_LOGIN,
    )
    assert release.target_commitish == sha


def assert_released_with_every_step_done(bot: Bot, sha: str, branch: str = "main") -> None:
    """The pushed hotfix tagged and released, its run completed and reporting both steps."""
    assert_released(bot, sha)
    run = release_run(bot, sha)
    assert (run.status, run.conclusion, run.details_url) == (
        "completed",
        "success",
        f"{WEB}/commit/{sha}",
    )
    assert run.output["title"] == f"All steps done for {TAG}"
    assert run.output["summary"] == report(sha, tag_done(sha), release_done(), branch=branch)


def test_a_push_raising_the_version_one_patch_is_tagged_released_and_reported(bot: Bot) -> None:
    work_trunk_based(bot)
    payload = pushed(bot, {"VERSION": "1.2.4\n", "app.py": "fixed\n"})
    after = payload["after"]

    bot.deliver("push", payload)

    assert_released_with_every_step_done(bot, after)
    assert bot.repo.comments == {}
    assert [entry.status for entry in bot.journal.recent()] == ["done"]


def test_a_redelivered_push_creates_nothing_twice(bot: Bot) -> None:
    work_trunk_based(bot)
    payload = pushed(bot, {"VERSION": "1.2.4\n"})

    bot.deliver("push", payload)
    with bot.counting() as requests:
        bot.deliver("push", payload)  # GitHub's "Redeliver", under a new delivery id

    assert_released(bot, payload["after"])
    assert not [request for request in requests if request.method == "POST"]
    run = release_run(bot, payload["after"])
    assert run.output["title"] == f"All steps done for {TAG}"
    assert len(run.history) == 2  # the one run, written by each


def test_a_pre_release_pushed_is_a_hotfix_when_pre_releases_are_allowed(bot: Bot) -> None:
    work_trunk_based(bot, TRUNK + "version: {allow_prerelease: true}\n")
    payload = pushed(bot, {"VERSION": "1.2.4-rc.1\n"})

    bot.deliver("push", payload)

    assert_released(bot, payload["after"], "v1.2.4-rc.1")
    assert release_run(bot, payload["after"]).output["title"] == "All steps done for v1.2.4-rc.1"


@pytest.mark.parametrize(
    ("files", "config"),
    [
        ({"app.py": "fixed\n"}, TRUNK),
        ({"VERSION": "1.3.0\n"}, TRUNK),
        ({"VERSION": "1.2.5\n"}, TRUNK),
        ({"VERSION": "1.2.4-rc.1\n"}, TRUNK),
        ({"VERSION": "1.2.4\n"}, TRUNK + "version: {files: [VERSION, package.json]}\n"),
        ({"VERSION": "1.2.4\n"}, "workflow: github-flow\n"),
        ({"VERSION": "1.2.4\n"}, None),
    ],
    ids=[
        "no version change",
        "minor",
        "two patches",
        "pre-release not allowed",
        "a listed file missing",
        "github-flow",
        "gitflow by default",
    ],
)
def test_any_other_push_to_main_costs_only_the_reads_of_config_and_versions(
    bot: Bot, files: dict[str, str | None], config: str | None
) -> None:
    if config is not None:
        work_trunk_based(bot, config)
    payload = pushed(bot, files)

    with bot.counting() as requests:
        response = bot.send("push", payload)
        bot.settle()

    assert response.json()["status"] == "queued"  # the workflow is in the config
    assert (bot.repo.tags, bot.repo.releases, bot.repo.check_runs) == ({}, {}, {})
    reads = (
        "/repos/acme/widgets/contents/.github/hotfix.yml",
        "/repos/acme/widgets/git/trees/",
        "/repos/acme/widgets/git/blobs/",
        "/repos/acme/.github/contents/.github/hotfix.yml",
    )
    assert [
        f"{request.method} {request.path}"
        for request in requests
        if request.method != "GET" or not request.path.startswith(reads)
    ] == [f"POST /app/installations/{bot.repo.installation_id}/access_tokens"]
    assert [entry.status for entry in bot.journal.recent()] == ["done"]


@pytest.mark.parametrize(
    ("ref", "change"),
    [
        ("refs/tags/v1.2.4", {}),
        ("refs/heads/main", {"deleted": True, "after": NO_COMMIT}),
        ("refs/heads/main", {"created": True, "before": NO_COMMIT}),
        ("refs/heads/main", {"forced": True}),
    ],
    ids=["a tag", "deleted", "created", "forced"],
)
def test_a_push_that_cannot_be_a_trunk_hotfix_is_ignored_at_the_intake(
    bot: Bot, ref: str, change: dict[str, Any]
) -> None:
    work_trunk_based(bot)
    bot.repo.create_branch("develop", "main")
    payload = pushed(bot, {"VERSION": "1.2.4\n"})

    with bot.counting() as requests:
        response = bot.send("push", {**payload, "ref": ref, **change}, delivery_id="push-1")
        bot.settle()

    assert response.json() == {"delivery": "push-1", "status": "ignored"}
    assert requests == []
    assert (bot.repo.tags, bot.repo.check_runs) == ({}, {})
    # The push as it was, moving main forward, is taken.
    assert bot.send("push", payload, delivery_id="push-2").json()["status"] == "queued"
    bot.settle()
    assert list(bot.repo.tags) == [TAG]


def test_a_push_to_a_production_branch_other_than_the_default_branch_is_a_hotfix(
    bot: Bot,
) -> None:
    work_trunk_based(bot, TRUNK_ON_STABLE)
    bot.repo.create_branch("stable", "main")
    payload = pushed(bot, {"VERSION": "1.2.4\n"}, branch="stable")
    after = payload["after"]

    bot.deliver("push", payload)

    assert_released_with_every_step_done(bot, after, branch="stable")


def test_a_hotfix_pull_request_into_that_production_branch_is_checked_not_refused(
    bot: Bot,
) -> None:
    work_trunk_based(bot, TRUNK_ON_STABLE)
    bot.repo.create_branch("stable", "main")
    bot.repo.create_branch("hotfix/fix-login", "stable")
    head = bot.repo.commit("hotfix/fix-login", {"VERSION": "1.2.4\n"}, "Fix")
    pull = bot.repo.open_pull(
        "hotfix/fix-login", "stable", title="Fix", author="dev", labels=["hotfix", "P1"]
    )

    bot.pull_request(pull.number, "opened")

    run = bot.policy_run(head)
    assert (run.status, run.conclusion, run.output["title"]) == (
        "in_progress",
        None,
        "Waiting for approval: Engineering Lead and Product Manager",
    )


@pytest.mark.parametrize(
    ("config", "branch"),
    [
        (TRUNK_ON_STABLE, "main"),
        (TRUNK_ON_STABLE, "feature/login"),
        (TRUNK, "feature/login"),
        ("workflow: github-flow\n", "feature/login"),
    ],
    ids=["the default branch", "a feature branch", "a trunk's feature branch", "github-flow"],
)
def test_a_push_to_a_branch_that_is_not_production_costs_only_the_config_reads(
    bot: Bot, config: str, branch: str
) -> None:
    work_trunk_based(bot, config)
    bot.repo.create_branch("stable", "main")
    bot.repo.create_branch("feature/login", "main")
    first = pushed(bot, {"VERSION": "1.2.4\n"}, branch=branch)
    bot.deliver("push", first)
    second = pushed(bot, {"app.py": "fixed\n"}, branch=branch)

    with bot.counting() as requests:
        response = bot.send("push", second, delivery_id="push-2")
        bot.settle()

    assert response.json() == {"delivery": "push-2", "status": "queued"}
    assert (bot.repo.tags, bot.repo.releases, bot.repo.check_runs) == ({}, {}, {})
    # The default branch's config, revalidated by ETag; the organization has no .github.
    assert sorted((request.method, request.path, request.status) for request in requests) == [
        ("GET", "/repos/acme/.github/contents/.github/hotfix.yml", 404),
        ("GET", "/repos/acme/widgets/contents/.github/hotfix.yml", 304),
    ]
    assert [entry.status for entry in bot.journal.recent()] == ["done", "done"]


def test_a_merged_hotfix_pull_request_is_reported_by_its_own_run_not_its_push(bot: Bot) -> None:
    work_trunk_based(bot)
    before = bot.repo.branches["main"].sha
    pull = bot.open_hotfix()
    merge = bot.repo.merge_pull(pull.number)

    bot.deliver("push", bot.fake.push_event(bot.repo, "refs/heads/main", before, merge))
    assert (bot.repo.tags, bot.repo.check_runs) == ({}, {})
    bot.pull_request(pull.number, "closed")

    tag_object = bot.repo.tag_object(TAG)
    assert tag_object is not None and tag_object.object_sha == merge
    run = release_run(bot, merge)
    assert (run.conclusion, run.output["title"]) == (
        "success",
        f"All steps done for {TAG} (1 skipped)",
    )
    assert (
        "| Back-merge | ➖ skipped | `workflow: trunk` has no development branch to merge into |"
        in run.output["summary"]
    )
    [comment] = [c for c in bot.repo.comments_on(pull.number) if "`hotfix-release`" in c.body]
    assert comment.body.endswith(run.output["summary"])
    assert "hotfix/fix-login" not in bot.repo.branches


def test_a_merged_pull_request_that_only_looks_like_a_rollback_is_released_by_its_push(
    bot: Bot,
) -> None:
    """Named like the Revert button's branch, it reverts no merged hotfix: its own run does
    nothing (it is no hotfix and no rollback), so the push that bumps the version is the
    hotfix."""
    work_trunk_based(bot)
    before = bot.repo.branches["main"].sha
    bot.repo.create_branch("revert-99-hotfix/x", "main")
    bot.repo.commit("revert-99-hotfix/x", {"VERSION": "1.2.4\n"}, "Fix")
    pull = bot.repo.open_pull("revert-99-hotfix/x", "main", title="Fix", author="dev")
    bot.pull_request(pull.number, "opened")
    assert bot.policy_run(pull.head_sha).output["title"] == "Not a hotfix pull request"
    merge = bot.repo.merge_pull(pull.number)

    bot.deliver("push", bot.fake.push_event(bot.repo, "refs/heads/main", before, merge))
    bot.pull_request(pull.number, "closed")

    tag_object = bot.repo.tag_object(TAG)
    assert tag_object is not None and tag_object.object_sha == merge
    run = release_run(bot, merge)
    assert (run.conclusion, run.output["title"]) == ("success", f"All steps done for {TAG}")
    assert bot.repo.comments_on(pull.number) == []


def test_a_merged_rollback_naming_two_pull_requests_is_reported_by_its_own_run_not_its_push(
    bot: Bot,
) -> None:
    """Its own run rolls back neither and says why: the push that bumps the version is not
    released on its own as a hotfix, under that report on the same commit."""
    work_trunk_based(bot)
    before = bot.repo.branches["main"].sha
    bot.repo.create_branch("undo-both", "main")
    bot.repo.commit("undo-both", {"VERSION": "1.2.4\n"}, "Undo both")
    pull = bot.repo.open_pull(
        "undo-both", "main", title="Undo both", author="dev", labels=["rollback"],
        body="Reverts acme/widgets#7\nReverts acme/widgets#9\n",
    )  # fmt: skip
    merge = bot.repo.merge_pull(pull.number)

    bot.deliver("push", bot.fake.push_event(bot.repo, "refs/heads/main", before, merge))
    assert (bot.repo.tags, bot.repo.runs_named("hotfix-release", merge)) == ({}, [])
    bot.pull_request(pull.number, "closed")

    run = release_run(bot, merge)
    assert (run.conclusion, run.output["title"]) == (
        "failure",
        "No post-merge step ran: a rollback reverts one hotfix, #1 names #7 and #9",
    )
    assert (bot.repo.tags, bot.repo.releases) == ({}, {})


def test_rerunning_the_release_check_of_a_pushed_hotfix_retries_what_failed(bot: Bot) -> None:
    work_trunk_based(bot)
    payload = pushed(bot, {"VERSION": "1.2.4\n"})
    after = payload["after"]
    refused = {"message": "Resource not accessible by integration"}
    bot.fake.inject("POST", r"/repos/acme/widgets/releases$", status=403, body=refused)

    bot.deliver("push", payload)

    run = release_run(bot, after)
    assert (run.conclusion, run.output["title"]) == ("failure", "1 of 2 steps failed: release")
    assert bot.repo.releases == {}
    failed = row(
        "Release",
        "❌ failed",
        "GitHub answered 403 to POST /repos/acme/widgets/releases: "
        "Resource not accessible by integration",
    )
    finish = (
        "\n\n## Finish by hand\n\n"
        "Run these in a clone of `acme/widgets`, then re-run the `hotfix-release` check to "
        "confirm:\n\n```sh\n"
        "git fetch origin\n"
        f"gh release create {TAG} --verify-tag --title {TAG} --notes "
        f"'Hotfix {after[:7]}: Fix login crash'\n```"
    )
    assert run.output["summary"] == report(after, tag_done(after), failed, tail=finish)

    bot.deliver("check_run", bot.fake.check_run_event(bot.repo, run.id))

    assert_released_with_every_step_done(bot, after)


def test_a_wait_over_15_minutes_on_a_pushed_hotfix_says_to_rerun_after_it(
    clocked_bot: Bot,
) -> None:
    """No pull request to keep a timer under: people re-run the check after GitHub's time."""
    bot = clocked_bot
    work_trunk_based(bot)
    payload = pushed(bot, {"VERSION": "1.2.4\n"})
    bot.fake.inject(
        "POST", r"/repos/acme/widgets/releases$", status=429, headers={"retry-after": "1200"}
    )

    bot.deliver("push", payload)  # at 20:30:30 UTC

    run = release_run(bot, payload["after"])
    assert (run.conclusion, run.output["title"]) == ("failure", "1 of 2 steps failed: release")
    assert run.output["summary"].split("## Finish by hand\n\n")[1].split("\n\n")[0] == (
        "GitHub asked hotfix-bot to wait until 2026-12-04 20:51 UTC: re-run the "
        "`hotfix-release` check after that time to run the steps not done again."
    )
    assert bot.journal.timers() == []


def merged_with_a_feature_in_one_push(bot: Bot) -> tuple[FakePull, str, str, dict[str, Any]]:
    """The hotfix pull request (VERSION 1.2.3 to 1.2.4) and a feature's, merged by the merge
    queue in one push to main, the hotfix first: the hotfix, its merge commit, the feature's
    (main's new head) and the push's payload."""
    work_trunk_based(bot)
    before = bot.repo.branches["main"].sha
    hotfix = bot.open_hotfix()
    bot.repo.create_branch("feature/search", "main")
    bot.repo.commit("feature/search", {"search.py": "print()\n"}, "Search")
    feature = bot.repo.open_pull("feature/search", "main", title="Search", author="dev")
    groups = [bot.repo.enqueue(pull.number) for pull in (hotfix, feature)]
    for group in groups:
        bot.repo.merge_group(group)
    after = groups[1].head_sha
    push = bot.fake.push_event(bot.repo, "refs/heads/main", before, after)
    return hotfix, groups[0].head_sha, after, push


def assert_released_by_the_pull_request(bot: Bot, merge: str) -> None:
    """v1.2.4 on the hotfix's merge commit, made by its own run; no run on any other commit."""
    tag_object = bot.repo.tag_object(TAG)
    assert tag_object is not None
    assert bot.repo.tags == {TAG: tag_object.sha}
    assert tag_object.object_sha == merge
    [release] = bot.repo.releases.values()
    assert (release.tag_name, release.body, release.target_commitish) == (
        TAG,
        "Hotfix #1: Fix",
        merge,
    )
    assert [
        (run.head_sha, run.conclusion, run.output["title"])
        for run in bot.repo.runs_named("hotfix-release")
    ] == [(merge, "success", f"All steps done for {TAG} (1 skipped)")]


@pytest.mark.parametrize("push_first", [True, False], ids=["push first", "pull requests first"])
def test_a_hotfix_merged_with_another_pull_request_in_one_push_is_released_by_its_own_run(
    bot: Bot, push_first: bool
) -> None:
    hotfix, merge, _, push = merged_with_a_feature_in_one_push(bot)

    if push_first:
        bot.deliver("push", push)
    for number in (hotfix.number, hotfix.number + 1):
        bot.pull_request(number, "closed")
    if not push_first:
        bot.deliver("push", push)

    assert_released_by_the_pull_request(bot, merge)
    assert [entry.status for entry in bot.journal.recent()] == ["done"] * 4


def test_a_push_of_several_commits_raising_the_version_is_tagged_on_its_last(bot: Bot) -> None:
    work_trunk_based(bot)
    before = bot.repo.branches["main"].sha
    bot.repo.commit("main", {"VERSION": "1.2.4\n"}, "Bump the version", author="dev")
    after = bot.repo.commit("main", {"app.py": "fixed\n"}, "Fix login crash", author="dev")

    bot.deliver("push", bot.fake.push_event(bot.repo, "refs/heads/main", before, after))

    assert_released(bot, after)
    assert release_run(bot, after).output["summary"] == report(
        after, tag_done(after), release_done()
    )


def could_not_tell(path: str) -> tuple[str, str, str]:
    """The conclusion, title and summary of a push's run when GitHub refused `path`."""
    return (
        "failure",
        "Could not tell whether this push is a hotfix",
        f"hotfix-bot could not finish: GitHub answered 403 to GET {path}: {REFUSAL}.\n\n"
        "Re-run this check once the cause is fixed; `hotfix-bot deliveries --status failed` "
        "lists what failed on the server.",
    )


def judged_with_a_read_refused(bot: Bot, push: dict[str, Any], after: str, path: str) -> None:
    """Deliver `push` while GitHub refuses `path`: its run at `after` cannot tell."""
    bot.refuse_tree_reads(f"{path}$")
    bot.deliver("push", push)
    assert shown(release_run(bot, after)) == could_not_tell(path)


def shown(run: FakeCheckRun) -> tuple[str | None, str, str]:
    return (run.conclusion, run.output["title"], run.output["summary"])


# The blob of VERSION holding 1.2.4, as git names it.
RAISED_VERSION_BLOB = "e8ea05db81420da0a67f51ada616e6aca2881745"


@pytest.mark.parametrize(
    "refused",
    [
        "/repos/acme/widgets/commits/{after}/pulls",
        "/repos/acme/widgets/git/trees/{after}",
        f"/repos/acme/widgets/git/blobs/{RAISED_VERSION_BLOB}",
    ],
    ids=["its pull requests", "its tree", "its version file"],
)
def test_a_refused_read_of_a_pushed_hotfix_fails_its_run_and_a_rerun_releases_it(
    bot: Bot, refused: str
) -> None:
    work_trunk_based(bot)
    payload = pushed(bot, {"VERSION": "1.2.4\n"})
    after = payload["after"]
    path = refused.format(after=after)
    bot.refuse_tree_reads(f"{path}$")

    bot.deliver("push", payload)

    assert (bot.repo.tags, bot.repo.releases) == ({}, {})
    run = release_run(bot, after)
    assert (run.status, *shown(run)) == ("completed", *could_not_tell(path))
    [entry] = bot.journal.recent()
    assert (entry.status, entry.last_error) == (
        "failed",
        f"GitHub answered 403 to GET {path}: {REFUSAL}",
    )

    bot.fake.faults.clear()
    bot.deliver("check_run", bot.fake.check_run_event(bot.repo, run.id))

    assert_released(bot, after)
    run = release_run(bot, after)
    assert shown(run) == (
        "success",
        f"All steps done for {TAG}",
        report(after, tag_done(after), release_done()),
    )


def test_a_push_that_could_not_be_judged_is_shown_as_no_hotfix_once_a_rerun_can(
    bot: Bot,
) -> None:
    work_trunk_based(bot)
    payload = pushed(bot, {"app.py": "fixed\n"})
    after = payload["after"]
    path = f"/repos/acme/widgets/git/trees/{after}"
    judged_with_a_read_refused(bot, payload, after, path)

    bot.fake.faults.clear()
    bot.deliver("check_run", bot.fake.check_run_event(bot.repo, release_run(bot, after).id))

    run = release_run(bot, after)
    assert (run.details_url, *shown(run)) == (
        f"{WEB}/commit/{after}",
        "neutral",
        "Not a hotfix push",
        f"[`{after[:7]}`]({WEB}/commit/{after}) (Fix login crash) was pushed to `main` and is "
        "not a hotfix of its own: it does not raise the version by one patch. Nothing to "
        "release here.",
    )
    assert (bot.repo.tags, bot.repo.releases) == ({}, {})


def test_a_push_that_could_not_be_judged_is_left_to_the_hotfix_merged_in_it_once_a_rerun_can(
    bot: Bot,
) -> None:
    hotfix, merge, after, push = merged_with_a_feature_in_one_push(bot)
    path = f"/repos/acme/widgets/commits/{after}/pulls"
    judged_with_a_read_refused(bot, push, after, path)

    bot.fake.faults.clear()
    for number in (hotfix.number, hotfix.number + 1):
        bot.pull_request(number, "closed")
    bot.deliver("check_run", bot.fake.check_run_event(bot.repo, release_run(bot, after).id))

    assert shown(release_run(bot, after)) == (
        "neutral",
        "Not a hotfix push",
        f"[`{after[:7]}`]({WEB}/commit/{after}) (Merge pull request #2 from acme/feature/search) "
        "was pushed to `main` and is not a hotfix of its own: its version, 1.2.4, was raised "
        f"by #1 (Fix), merged in this push as `{merge[:7]}`, whose own run releases it. "
        "Nothing to release here.",
    )
    tag_object = bot.repo.tag_object(TAG)
    assert tag_object is not None and tag_object.object_sha == merge


def test_a_push_whose_default_branch_config_is_refused_is_only_journaled(bot: Bot) -> None:
    """Until that config names the production branch, any push may be to another branch."""
    work_trunk_based(bot)
    payload = pushed(bot, {"VERSION": "1.2.4\n"})
    path = "/repos/acme/widgets/contents/.github/hotfix.yml"
    bot.refuse_tree_reads(f"{path}$")

    bot.deliver("push", payload)

    assert (bot.repo.tags, bot.repo.check_runs) == ({}, {})
    [entry] = bot.journal.recent()
    assert (entry.status, entry.last_error) == (
        "failed",
        f"GitHub answered 403 to GET {path}: {REFUSAL}",
    )


def test_github_failing_once_on_a_pushed_hotfix_is_retried_without_a_failed_run(
    bot: Bot,
) -> None:
    work_trunk_based(bot)
    payload = pushed(bot, {"VERSION": "1.2.4\n"})
    after = payload["after"]
    bot.fake.inject("GET", rf"/repos/acme/widgets/git/trees/{after}$", status=502, times=1)

    bot.deliver("push", payload)

    assert_released(bot, after)
    run = release_run(bot, after)
    assert [written["conclusion"] for written in run.history] == ["success"]
    [entry] = bot.journal.recent()
    assert (entry.status, entry.attempts) == ("done", 2)


def test_a_rerun_leaves_the_report_of_the_hotfix_merged_as_the_pushed_commit(bot: Bot) -> None:
    """The push of a hotfix's merge commit shares that commit's run with the pull request."""
    work_trunk_based(bot)
    before = bot.repo.branches["main"].sha
    pull = bot.open_hotfix()
    merge = bot.repo.merge_pull(pull.number)
    path = f"/repos/acme/widgets/commits/{merge}/pulls"
    push = bot.fake.push_event(bot.repo, "refs/heads/main", before, merge)
    judged_with_a_read_refused(bot, push, merge, path)
    bot.fake.faults.clear()
    bot.pull_request(pull.number, "closed")

    bot.deliver("check_run", bot.fake.check_run_event(bot.repo, release_run(bot, merge).id))

    assert_released_by_the_pull_request(bot, merge)


def history(run: FakeCheckRun) -> list[tuple[str | None, str]]:
    """The conclusion and title of each write of `run`, oldest first."""
    return [(written["conclusion"], written["output"]["title"]) for written in run.history]


# A refusal, and a wait longer than is taken in line: each ends the delivery at once.
FINAL_ANSWERS = [
    pytest.param({"status": 403, "body": {"message": REFUSAL}}, id="refused"),
    pytest.param({"status": 429, "headers": {"retry-after": "1200"}}, id="a wait over 15 min"),
]


def hotfix_merged_as_main(bot: Bot) -> tuple[FakePull, str, dict[str, Any]]:
    """A hotfix pull request merged into main on its own: it, its merge commit (main's new
    head) and the push's payload."""
    work_trunk_based(bot)
    before = bot.repo.branches["main"].sha
    pull = bot.open_hotfix()
    merge = bot.repo.merge_pull(pull.number)
    return pull, merge, bot.fake.push_event(bot.repo, "refs/heads/main", before, merge)


@pytest.mark.parametrize("answer", FINAL_ANSWERS)
def test_a_push_that_could_not_be_judged_leaves_the_report_of_the_hotfix_merged_as_it(
    bot: Bot, answer: dict[str, Any]
) -> None:
    pull, merge, push = hotfix_merged_as_main(bot)
    bot.pull_request(pull.number, "closed")
    path = f"/repos/acme/widgets/commits/{merge}/pulls"
    bot.fake.inject("GET", f"{path}$", times=None, **answer)

    bot.deliver("push", push)

    assert_released_by_the_pull_request(bot, merge)
    assert history(release_run(bot, merge)) == [
        ("success", f"All steps done for {TAG} (1 skipped)")
    ]
    latest = bot.journal.recent()[0]
    assert (latest.event, latest.status) == ("push", "failed")
    assert latest.last_error is not None
    assert latest.last_error.startswith(f"GitHub answered {answer['status']} to GET {path}: ")


def test_the_report_of_a_hotfix_merged_as_a_pushed_commit_stands_once_written(bot: Bot) -> None:
    """Its push judged first, then the pull request's run, then the push redelivered: only
    the pull request's run replaces what the other wrote."""
    pull, merge, push = hotfix_merged_as_main(bot)
    path = f"/repos/acme/widgets/commits/{merge}/pulls"
    bot.refuse_tree_reads(f"{path}$")
    bot.deliver("push", push)
    bot.pull_request(pull.number, "closed")

    bot.deliver("push", push)  # GitHub's "Redeliver", with the read still refused

    assert_released_by_the_pull_request(bot, merge)
    assert history(release_run(bot, merge)) == [
        ("failure", "Could not tell whether this push is a hotfix"),
        ("success", f"All steps done for {TAG} (1 skipped)"),
    ]


@pytest.mark.parametrize(
    ("config", "reason"),
    [
        pytest.param(
            "workflow: github-flow\n",
            "the config on `main` does not make `main` the production branch of a trunk",
            id="not a trunk",
        ),
        pytest.param(
            "workflow: [trunk\n",
            "the config on `main` cannot be used: invalid YAML at line 2, column 1: expected "
            "',' or ']', but got '<stream end>'",
            id="unusable",
        ),
    ],
)
def test_a_push_that_could_not_be_judged_is_no_hotfix_once_main_no_longer_works_trunk_based(
    bot: Bot, config: str, reason: str
) -> None:
    work_trunk_based(bot)
    payload = pushed(bot, {"VERSION": "1.2.4\n"})
    after = payload["after"]
    path = f"/repos/acme/widgets/git/trees/{after}"
    judged_with_a_read_refused(bot, payload, after, path)
    bot.repo.commit("main", {".github/hotfix.yml": config}, "Stop working trunk-based")

    bot.deliver("check_run", bot.fake.check_run_event(bot.repo, release_run(bot, after).id))

    assert shown(release_run(bot, after)) == (
        "neutral",
        "Not a hotfix push",
        f"[`{after[:7]}`]({WEB}/commit/{after}) (Fix login crash) was pushed to `main` and is "
        f"not a hotfix of its own: {reason}. Nothing to release here.",
    )
    assert (bot.repo.tags, bot.repo.releases) == ({}, {})
