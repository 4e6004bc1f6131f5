"""Old release (rollbacks): the notes of the rolled-back hotfix's release gain the line
`Rolled back in <tag>`, naming the rollback's tag.

The notes are read first and the line is added only when they do not hold it yet, so the
step never adds it twice. A rollback may merge before the hotfix's release exists (GitHub
refused it, or the hotfix's run has not run yet): the state store then keeps which tag
rolled that hotfix back, and the hotfix's own release step writes the line when it
publishes that release (`recorded_rollback`), not the release step of another hotfix of the
same version that is tagged first. A hotfix never released under a tag (its version's tag
names another hotfix's release) has no release to mark: the step leaves every release as it
is, saying why.
"""

from __future__ import annotations

import shlex
from contextlib import AbstractAsyncContextManager
from typing import Any

from app.github.client import InstallationClient, path_part
from app.handlers.release.plan import ReleasePlan
from app.handlers.release.step import Link, Step, StepOutcome, StepRun, StepStatus, rollbacks_only
from app.handlers.release.steps import tag as tag_step
from app.handlers.routing import Context


def rolled_back_line(new_tag: str) -> str:
    return f"Rolled back in {new_tag}"


def notes_with(notes: str, line: str) -> str:
    """Release notes `notes` ending with `line`."""
    notes = notes.rstrip()
    return f"{notes}\n\n{line}" if notes else line


def _rollback_key(repository: str, old_tag: str) -> str:
    return f"rolled-back-in:{repository}@{old_tag}"


def _hotfix_rollback_key(repository: str, old_tag: str, hotfix: int) -> str:
    # Per hotfix: two hotfixes of one version may each be rolled back before either's run
    # has tagged it, and only the one whose run makes the tag is released under it.
    return f"{_rollback_key(repository, old_tag)}#{hotfix}"


def rollback_lock(context: Context, old_tag: str) -> AbstractAsyncContextManager[None]:
    """Held while a rollback's run looks for the release of `old_tag` and, finding none,
    records its own tag, and while the hotfix's run reads that record and publishes the
    release: one after the other, so the line is never lost between the two."""
    return context.locks.lock(_rollback_key(context.repository, old_tag))


async def record_rollback(context: Context, old_tag: str, hotfix: int, new_tag: str) -> None:
    """Keep that hotfix #`hotfix`, to be released as `old_tag`, was rolled back in `new_tag`."""
    await context.state.set_state(
        _hotfix_rollback_key(context.repository, old_tag, hotfix), new_tag
    )


async def recorded_rollback(context: Context, old_tag: str, hotfix: int | None) -> str | None:
    """The tag of the rollback recorded as rolling hotfix #`hotfix` back before its release
    as `old_tag` existed; None when none was, or `hotfix` is None (a push to the trunk, which
    no rollback reverts)."""
    if hotfix is None:
        return None
    state, repository = context.state, context.repository
    recorded = await state.get_state(_hotfix_rollback_key(repository, old_tag, hotfix))
    # An older hotfix-bot kept it under the tag alone.
    return recorded or await state.get_state(_rollback_key(repository, old_tag))


async def add_line(
    github: InstallationClient, repository: str, release: dict[str, Any], line: str
) -> bool:
    """Add `line` at the end of the notes of `release` (as GitHub gave it); False when they
    held it already."""
    notes = (release.get("body") or "").rstrip()
    if line in notes.splitlines():
        return False
    path = f"/repos/{repository}/releases/{release['id']}"
    await github.request("PATCH", path, body={"body": notes_with(notes, line)})
    return True


async def mark_rolled_back(run: StepRun) -> StepOutcome:
    github, plan, hotfix = run.github, run.plan, run.plan.rolled_back
    assert hotfix is not None  # the step applies to rollbacks only
    old_tag = hotfix.tag
    # Whatever became of the rollback's own tag, a hotfix without one has no release to mark.
    taken = hotfix.tag_of_another
    if taken is not None:
        return StepOutcome(
            StepStatus.SKIPPED,
            f"hotfix #{hotfix.number} was never released: `{taken.tag}`, the tag of its "
            f"version, names `{taken.commit[:7]}`, not its merge commit "
            f"`{hotfix.merge_sha[:7]}`, so no release is marked rolled back",
        )
    if old_tag is None:
        return StepOutcome(
            StepStatus.SKIPPED,
            f"hotfix #{hotfix.number} has no tag: no version file at its merge "
            "commit declares a version",
        )
    if plan.tag is None or run.outstanding_needs:
        return StepOutcome(StepStatus.BLOCKED, "needs the tag, which failed")
    line = rolled_back_line(plan.tag)
    async with rollback_lock(run.context, old_tag):
        release = await github.get_optional(
            f"/repos/{plan.repository}/releases/tags/{path_part(old_tag)}"
        )
        if release is None:
            await record_rollback(run.context, old_tag, hotfix.number, plan.tag)
    if release is None:
        if not plan.config.release:
            return StepOutcome(StepStatus.SKIPPED, f"there is no release for `{old_tag}`")
        return StepOutcome(
            StepStatus.SKIPPED,
            f"there is no release for `{old_tag}` yet: when hotfix "
            f"#{hotfix.number}'s run publishes it, its notes will say `{line}`",
        )
    link = Link(release.get("name") or old_tag, release["html_url"])
    if not await add_line(github, plan.repository, release, line):
        return StepOutcome(
            StepStatus.ALREADY_DONE, f"the notes of `{old_tag}` already said `{line}`", link
        )
    return StepOutcome(StepStatus.DONE, f"added `{line}` to the notes of `{old_tag}`", link)


def old_release_commands(plan: ReleasePlan) -> list[str]:
    # A rollback's step only fails or waits for its tag when the rolled-back hotfix has one.
    assert plan.rolled_back is not None and plan.rolled_back.tag is not None
    old_tag = shlex.quote(plan.rolled_back.tag)
    line = rolled_back_line(plan.tag or "<tag>")
    return [
        f"gh release view {old_tag} --json body --jq .body > notes.md",
        f"printf '\\n%s\\n' {shlex.quote(line)} >> notes.md",
        f"gh release edit {old_tag} --notes-file notes.md",
    ]


STEP = Step(
    "old-release",
    "Old release",
    mark_rolled_back,
    old_release_commands,
    needs=(tag_step.STEP,),
    applies=rollbacks_only,
)
