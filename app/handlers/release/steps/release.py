"""Release: a GitHub release for the tag (with `release: true`), unless one exists; a
pre-release version (1.2.4-rc.1) is published as a pre-release. When a rollback of the hotfix
merged before its release existed, the notes end with the rollback's `Rolled back in <tag>`
(`old_release`).

The release is made the repository's latest unless the latest is of a higher version: a
hotfix released after a newer one (their runs ended out of order, or its own was re-run)
leaves the newer one latest, which GitHub would otherwise replace.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import Any

from app.github.client import path_part
from app.github.reads import Look
from app.handlers.release.plan import ReleasePlan
from app.handlers.release.step import (
    Link,
    Step,
    StepOutcome,
    StepRun,
    StepStatus,
    commands_if_it_fails,
)
from app.handlers.release.steps import old_release
from app.handlers.release.steps import tag as tag_step
from policies.config import CONFIG_PATH
from policies.versions import tag_version


async def create_release(run: StepRun) -> StepOutcome:
    github, plan = run.github, run.plan
    if not plan.config.release:
        return StepOutcome(StepStatus.SKIPPED, f"`release: false` in `{CONFIG_PATH}`")
    tag = plan.tag
    if tag is None or run.outstanding_needs:
        return StepOutcome(StepStatus.BLOCKED, "needs the tag, which failed")
    existing = await run.look(_release_of(plan.repository, tag))
    if existing is not None:
        link = Link(existing.get("name") or tag, existing["html_url"])
        # Made by hand after a rollback merged, which recorded its own tag.
        rolled_back_in = await old_release.recorded_rollback(run.context, tag, plan.number)
        if rolled_back_in is not None:
            line = old_release.rolled_back_line(rolled_back_in)
            if await old_release.add_line(github, plan.repository, existing, line):
                detail = f"a release for `{tag}` already existed; added `{line}` to its notes"
                return StepOutcome(StepStatus.DONE, detail, link)
        return StepOutcome(StepStatus.ALREADY_DONE, f"a release for `{tag}` already existed", link)
    latest = None if _is_prerelease(plan) else await run.look(_latest_release(plan.repository))
    make_latest = _becomes_latest(plan, latest)
    notes, published = release_notes(plan), f"published release `{tag}`"
    # Read and published under the rollback's lock: one merged before the release exists
    # either recorded its tag by now, or will find the release published.
    async with old_release.rollback_lock(run.context, tag):
        rolled_back_in = await old_release.recorded_rollback(run.context, tag, plan.number)
        if rolled_back_in is not None:
            line = old_release.rolled_back_line(rolled_back_in)
            notes, published = old_release.notes_with(notes, line), f"{published} saying `{line}`"
        with commands_if_it_fails(_create_commands(plan, make_latest)):
            created = await github.request(
                "POST",
                f"/repos/{plan.repository}/releases",
                body={
                    "tag_name": tag,
                    "target_commitish": plan.merge_sha,
                    "name": tag,
                    "body": notes,
                    # A pre-release is never the repository's latest release on GitHub.
                    "prerelease": _is_prerelease(plan),
                    # Said either way: by default GitHub makes any new full release latest.
                    "make_latest": "true" if make_latest else "false",
                },
            )
    return StepOutcome(StepStatus.DONE, published, Link(tag, created.json()["html_url"]))


def _release_of(repository: str, tag: str) -> Look:
    return Look(f"/repos/{repository}/releases/tags/{path_part(tag)}")


def _latest_release(repository: str) -> Look:
    return Look(f"/repos/{repository}/releases/latest")


def _becomes_latest(plan: ReleasePlan, latest: dict[str, Any] | None) -> bool:
    """Whether the hotfix's release is made the repository's latest: unless it is a
    pre-release or the `latest` release is of a higher version. A latest release whose tag
    `tag.format` does not make (made by hand, under another format) is not compared: the
    new release becomes latest, as GitHub's default has it."""
    if _is_prerelease(plan):
        return False
    if latest is None:
        return True
    assert plan.version is not None  # the tag is named after it
    latest_version = tag_version(plan.config, latest["tag_name"])
    return latest_version is None or latest_version <= plan.version


def release_looks(plan: ReleasePlan) -> Sequence[Look]:
    # The release of the hotfix's tag is hotfix-bot's to make, under the release lock.
    if not plan.config.release or plan.tag is None:
        return ()
    if _is_prerelease(plan):
        return (_release_of(plan.repository, plan.tag),)
    # The latest release may also be published meanwhile by another hotfix's run, which
    # holds a lock of its own: looked at when the step acts, it could change as soon, so it
    # is looked at with the others.
    return (_release_of(plan.repository, plan.tag), _latest_release(plan.repository))


def release_notes(plan: ReleasePlan) -> str:
    rolled_back = plan.rolled_back
    if rolled_back is None:
        return f"Hotfix {plan.reference}: {plan.title}"
    hotfix = f"hotfix #{rolled_back.number}: {rolled_back.title}"
    if rolled_back.tag is not None:
        what = f"{rolled_back.tag} ({hotfix})"
    elif rolled_back.tag_of_another is not None:
        what = f"{hotfix}, which was never released"
    else:
        what = hotfix
    already = "" if rolled_back.already is None else f" {rolled_back.already}."
    return f"Rollback {plan.reference}: {plan.title}\n\nThis release rolls back {what}.{already}"


def _is_prerelease(plan: ReleasePlan) -> bool:
    return plan.version is not None and plan.version.prerelease is not None


def _create_commands(plan: ReleasePlan, make_latest: bool) -> list[str]:
    """The command that makes the release the step would have made, latest or not."""
    tag = shlex.quote(plan.tag) if plan.tag else "<tag>"
    notes = shlex.quote(release_notes(plan))
    prerelease = " --prerelease" if _is_prerelease(plan) else ""
    latest = "" if make_latest else " --latest=false"
    return [
        f"gh release create {tag} --verify-tag --title {tag} --notes {notes}{prerelease}{latest}"
    ]


def release_commands(plan: ReleasePlan) -> list[str]:
    # For a step stopped before it saw the repository's latest release; one that saw it gives
    # the commands with its outcome.
    if _is_prerelease(plan):
        return _create_commands(plan, make_latest=False)
    return [
        "# With a release of a higher version the repository's latest, add --latest=false.",
        *_create_commands(plan, make_latest=True),
    ]


STEP = Step(
    "release",
    "Release",
    create_release,
    release_commands,
    needs=(tag_step.STEP,),
    looks=release_looks,
)
