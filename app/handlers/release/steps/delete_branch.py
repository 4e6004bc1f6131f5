"""Delete branch: the hotfix branch, with `delete_branch: true` and only in this repository."""

from __future__ import annotations

import shlex

from githubkit.exception import RequestFailed

from app.github.client import error_message, path_part
from app.handlers.release.plan import ReleasePlan
from app.handlers.release.step import Step, StepOutcome, StepRun, StepStatus
from app.handlers.release.steps import back_merge
from app.handlers.release.steps import tag as tag_step
from policies.config import CONFIG_PATH

# How GitHub words a refusal for a branch protection rule or a ruleset.
_PROTECTION_WORDS = ("protected branch", "rule violation")


async def delete_branch(run: StepRun) -> StepOutcome:
    github, plan = run.github, run.plan
    head = plan.head_ref
    if not plan.config.delete_branch:
        return StepOutcome(StepStatus.SKIPPED, f"`delete_branch: false` in `{CONFIG_PATH}`")
    if not plan.head_in_repository:
        fork = f"the fork `{plan.head_repository}`" if plan.head_repository else "a deleted fork"
        return StepOutcome(
            StepStatus.SKIPPED, f"`{head}` is in {fork}; hotfix-bot never deletes a fork's branch"
        )
    if head in {plan.config.branches.production, plan.development, plan.default_branch}:
        return StepOutcome(StepStatus.SKIPPED, f"`{head}` is a long-lived branch")
    ref_path = f"/repos/{plan.repository}/git/ref/heads/{path_part(head)}"
    ref = await github.get_optional(ref_path)
    if ref is None:
        return StepOutcome(StepStatus.ALREADY_DONE, f"`{head}` was already deleted")
    if ref["object"]["sha"] != plan.head_sha:
        return StepOutcome(
            StepStatus.SKIPPED,
            f"`{head}` has moved to `{ref['object']['sha'][:7]}` since the merge; "
            "it is kept so its new commits are not lost",
        )
    try:
        await github.request("DELETE", f"/repos/{plan.repository}/git/refs/heads/{path_part(head)}")
    except RequestFailed as error:
        message = " ".join(error_message(error).split())  # a ruleset's spans lines
        if error.response.status_code != 422:
            raise
        # Deleted by someone else between the look and the delete.
        if "does not exist" in message:
            return StepOutcome(StepStatus.ALREADY_DONE, f"`{head}` was already deleted")
        # A branch protection rule or ruleset keeps it, as it keeps it from people and from
        # GitHub's own deletion of merged branches: the repository's choice, not a failure.
        if any(words in message.casefold() for words in _PROTECTION_WORDS):
            return StepOutcome(
                StepStatus.SKIPPED,
                f'`{head}` is protected against deletion (GitHub: "{message}"), so it is kept',
            )
        raise
    return StepOutcome(StepStatus.DONE, f"deleted `{head}`")


def delete_branch_commands(plan: ReleasePlan) -> list[str]:
    return [f"git push origin --delete {shlex.quote(plan.head_ref)}"]


STEP = Step(
    "delete-branch",
    "Delete branch",
    delete_branch,
    delete_branch_commands,
    # As gitflow finishes a hotfix: the branch goes once the tag and the back-merge have
    # ended, whatever their outcomes.
    needs=(tag_step.STEP, back_merge.STEP),
)
