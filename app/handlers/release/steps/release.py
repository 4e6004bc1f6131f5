"""Release: a GitHub release for the tag (with `release: true`), unless one exists; a
pre-release version (1.2.4-rc.1) is published as a pre-release. When a rollback of the hotfix
merged before its release existed, the notes end with the rollback's `Rolled back in <tag>`
(`old_release`)."""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from app.github.client import path_part
from app.github.reads import Look
from app.handlers.release.plan import ReleasePlan
from app.handlers.release.step import Link, Step, StepOutcome, StepRun, StepStatus
from app.handlers.release.steps import old_release
from app.handlers.release.steps import tag as tag_step
from policies.config import CONFIG_PATH


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
        rolled_back_in = await old_release.recorded_rollback(run.context, tag)
        if rolled_back_in is not None:
            line = old_release.rolled_back_line(rolled_back_in)
            if await old_release.add_line(github, plan.repository, existing, line):
                detail = f"a release for `{tag}` already existed; added `{line}` to its notes"
                return StepOutcome(StepStatus.DONE, detail, link)
        return StepOutcome(StepStatus.ALREADY_DONE, f"a release for `{tag}` already existed", link)
    notes, published = release_notes(plan), f"published release `{tag}`"
    # Read and published under the rollback's lock: one merged before the release exists
    # either recorded its tag by now, or will find the release published.
    async with old_release.rollback_lock(run.context, tag):
        rolled_back_in = await old_release.recorded_rollback(run.context, tag)
        if rolled_back_in is not None:
            line = old_release.rolled_back_line(rolled_back_in)
            notes, published = old_release.notes_with(notes, line), f"{published} saying `{line}`"
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
            },
        )
    return StepOutcome(StepStatus.DONE, published, Link(tag, created.json()["html_url"]))


def _release_of(repository: str, tag: str) -> Look:
    return Look(f"/repos/{repository}/releases/tags/{path_part(tag)}")


def release_looks(plan: ReleasePlan) -> Sequence[Look]:
    # The release of the hotfix's tag is hotfix-bot's to make, under the release lock.
    if not plan.config.release or plan.tag is None:
        return ()
    return (_release_of(plan.repository, plan.tag),)


def release_notes(plan: ReleasePlan) -> str:
    rolled_back = plan.rolled_back
    if rolled_back is None:
        return f"Hotfix {plan.reference}: {plan.title}"
    return (
        f"Rollback {plan.reference}: {plan.title}\n\nThis release rolls back "
        f"{rolled_back.tag_or_number} (hotfix #{rolled_back.number}: {rolled_back.title})."
    )


def _is_prerelease(plan: ReleasePlan) -> bool:
    return plan.version is not None and plan.version.prerelease is not None


def release_commands(plan: ReleasePlan) -> list[str]:
    tag = shlex.quote(plan.tag) if plan.tag else "<tag>"
    notes = shlex.quote(release_notes(plan))
    prerelease = " --prerelease" if _is_prerelease(plan) else ""
    return [f"gh release create {tag} --verify-tag --title {tag} --notes {notes}{prerelease}"]


STEP = Step(
    "release",
    "Release",
    create_release,
    release_commands,
    needs=(tag_step.STEP,),
    looks=release_looks,
)
