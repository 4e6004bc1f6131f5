"""The post-merge steps of CONTRACT §4.2, in order: tag, release, back-merge, delete branch.

Each step looks before it acts, so running it again finds its own earlier work and calls it
done. A step returns its outcome; a GitHub answer it does not expect propagates, and the
caller retries what may pass and records the rest as the step's failure.
"""

from __future__ import annotations

from typing import Any

from githubkit.exception import RequestFailed

from app.github import InstallationClient, error_message
from app.handlers.release.plan import (
    Link,
    ReleasePlan,
    Step,
    StepOutcome,
    StepRun,
    StepStatus,
    path_part,
)
from app.handlers.release.steps.back_merge import back_merge
from policies.config import CONFIG_PATH
from policies.versions import version_files_to_read

# --- tag -----------------------------------------------------------------------------------


async def create_tag(run: StepRun) -> StepOutcome:
    github, plan = run.github, run.plan
    tag = plan.tag
    if tag is None:
        files = ", ".join(f"`{path}`" for path in version_files_to_read(plan.config))
        return StepOutcome(
            StepStatus.FAILED,
            f"no version file at the merge commit `{plan.short_sha}` declares a version "
            f"(looked at {files}), so there is no tag name",
        )
    link = Link(tag, f"{plan.repository_url}/tree/{path_part(tag)}")
    existing = await github.get_optional(f"/repos/{plan.repository}/git/ref/tags/{path_part(tag)}")
    if existing is not None:
        target = await _peeled(github, plan.repository, existing["object"])
        if target == plan.merge_sha:
            return StepOutcome(
                StepStatus.ALREADY_DONE,
                f"`{tag}` was already on the merge commit `{plan.short_sha}`",
                link,
            )
        return StepOutcome(
            StepStatus.FAILED,
            f"`{tag}` already exists on `{target[:7]}`, not on the merge commit "
            f"`{plan.short_sha}`; hotfix-bot never moves a tag",
            link,
        )
    tag_object = await github.request(
        "POST",
        f"/repos/{plan.repository}/git/tags",
        body={"tag": tag, "message": plan.tag_message, "object": plan.merge_sha, "type": "commit"},
    )
    await github.request(
        "POST",
        f"/repos/{plan.repository}/git/refs",
        body={"ref": f"refs/tags/{tag}", "sha": tag_object.json()["sha"]},
    )
    return StepOutcome(
        StepStatus.DONE, f"annotated tag `{tag}` on the merge commit `{plan.short_sha}`", link
    )


# Tags of tags are legal but rare; a longer chain is treated as pointing nowhere useful.
_MAX_TAG_DEPTH = 8


async def _peeled(github: InstallationClient, repository: str, target: dict[str, Any]) -> str:
    """The commit a ref's object finally names, following annotated tag objects."""
    for _ in range(_MAX_TAG_DEPTH):
        if target["type"] != "tag":
            break
        tag_object = await github.get_immutable(f"/repos/{repository}/git/tags/{target['sha']}")
        target = tag_object["object"]
    return str(target["sha"])


# --- release -------------------------------------------------------------------------------


async def create_release(run: StepRun) -> StepOutcome:
    github, plan = run.github, run.plan
    if not plan.config.release:
        return StepOutcome(StepStatus.SKIPPED, f"`release: false` in `{CONFIG_PATH}`")
    tag = plan.tag
    if tag is None or not run.earlier[TAG.key].status.finished:
        return StepOutcome(StepStatus.BLOCKED, "needs the tag, which failed")
    existing = await github.get_optional(f"/repos/{plan.repository}/releases/tags/{path_part(tag)}")
    if existing is not None:
        link = Link(existing.get("name") or tag, existing["html_url"])
        return StepOutcome(StepStatus.ALREADY_DONE, f"a release for `{tag}` already existed", link)
    created = await github.request(
        "POST",
        f"/repos/{plan.repository}/releases",
        body={
            "tag_name": tag,
            "target_commitish": plan.merge_sha,
            "name": tag,
            "body": release_notes(plan),
        },
    )
    return StepOutcome(
        StepStatus.DONE, f"published release `{tag}`", Link(tag, created.json()["html_url"])
    )


def release_notes(plan: ReleasePlan) -> str:
    return f"Hotfix #{plan.number}: {plan.title}"


# --- delete branch -------------------------------------------------------------------------


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
        # Deleted by someone else between the look and the delete.
        if error.response.status_code == 422 and "does not exist" in error_message(error):
            return StepOutcome(StepStatus.ALREADY_DONE, f"`{head}` was already deleted")
        raise
    return StepOutcome(StepStatus.DONE, f"deleted `{head}`")


TAG = Step("tag", "Tag", create_tag)
RELEASE = Step("release", "Release", create_release)
BACK_MERGE = Step("back-merge", "Back-merge", back_merge)
DELETE_BRANCH = Step("delete-branch", "Delete branch", delete_branch)
# CONTRACT §4.2's order.
STEPS = (TAG, RELEASE, BACK_MERGE, DELETE_BRANCH)
