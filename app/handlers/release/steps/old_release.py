"""Old release (rollbacks): the notes of the rolled-back hotfix's release gain the line
`Rolled back in <tag>`, naming the rollback's tag.

The notes are read first and the line is added only when they do not hold it yet, so the
step never adds it twice.
"""

from __future__ import annotations

import shlex

from app.github.client import path_part
from app.handlers.release.plan import ReleasePlan
from app.handlers.release.step import Link, Step, StepOutcome, StepRun, StepStatus, rollbacks_only
from app.handlers.release.steps import tag as tag_step


def rolled_back_line(plan: ReleasePlan) -> str:
    return f"Rolled back in {plan.tag}"


async def mark_rolled_back(run: StepRun) -> StepOutcome:
    github, plan = run.github, run.plan
    assert plan.rolled_back is not None  # the step applies to rollbacks only
    old_tag = plan.rolled_back.tag
    if plan.tag is None or run.outstanding_needs:
        return StepOutcome(StepStatus.BLOCKED, "needs the tag, which failed")
    if old_tag is None:
        return StepOutcome(
            StepStatus.SKIPPED,
            f"hotfix #{plan.rolled_back.number} has no tag: no version file at its merge "
            "commit declares a version",
        )
    release = await github.get_optional(
        f"/repos/{plan.repository}/releases/tags/{path_part(old_tag)}"
    )
    if release is None:
        return StepOutcome(StepStatus.SKIPPED, f"there is no release for `{old_tag}`")
    line = rolled_back_line(plan)
    link = Link(release.get("name") or old_tag, release["html_url"])
    notes = (release.get("body") or "").rstrip()
    if line in notes.splitlines():
        return StepOutcome(
            StepStatus.ALREADY_DONE, f"the notes of `{old_tag}` already said `{line}`", link
        )
    await github.request(
        "PATCH",
        f"/repos/{plan.repository}/releases/{release['id']}",
        body={"body": f"{notes}\n\n{line}" if notes else line},
    )
    return StepOutcome(StepStatus.DONE, f"added `{line}` to the notes of `{old_tag}`", link)


def old_release_commands(plan: ReleasePlan) -> list[str]:
    assert plan.rolled_back is not None  # the step applies to rollbacks only
    old_tag = shlex.quote(plan.rolled_back.tag or "<tag of the rolled-back hotfix>")
    return [
        f"gh release view {old_tag} --json body --jq .body > notes.md",
        f"printf '\\n%s\\n' {shlex.quote(rolled_back_line(plan))} >> notes.md",
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
