"""Back-merge (gitflow): the merge commit into `development`, or a pull request for people.

The merges API merges directly. When GitHub refuses (a conflict, or a protected branch),
the step pushes `backmerge/<tag>` at the merge commit and opens one pull request from it,
saying why and asking the hotfix author to review.
"""

from __future__ import annotations

import asyncio
import shlex
from enum import StrEnum

from githubkit.exception import RequestFailed

from app.github import InstallationClient, classify, error_message
from app.handlers.release.plan import ReleasePlan, path_part
from app.handlers.release.step import Link, Step, StepOutcome, StepRun, StepStatus


class Refusal(StrEnum):
    """Why the merges API did not merge; the back-merge pull request says it."""

    CONFLICT = "conflict"
    PROTECTED = "protected"


async def back_merge(run: StepRun) -> StepOutcome:
    github, plan = run.github, run.plan
    if plan.config.workflow == "github-flow":
        return StepOutcome(
            StepStatus.SKIPPED, "`workflow: github-flow` has no development branch to merge into"
        )
    development = plan.development
    ref_path = f"/repos/{plan.repository}/git/ref/heads/{path_part(development)}"
    if await github.get_optional(ref_path) is None:
        return StepOutcome(StepStatus.SKIPPED, f"there is no branch `{development}`")
    try:
        merged = await github.request(
            "POST",
            f"/repos/{plan.repository}/merges",
            body={
                "base": development,
                "head": plan.merge_sha,
                "commit_message": plan.backmerge_message,
            },
        )
    except RequestFailed as error:
        refusal = _refusal(error)
        if refusal is None:
            raise
        return await _back_merge_pull(run, refusal, error_message(error))
    if merged.status_code == 204:
        return StepOutcome(
            StepStatus.ALREADY_DONE,
            f"`{development}` already contains the merge commit `{plan.short_sha}`",
        )
    sha = merged.json()["sha"]
    return StepOutcome(
        StepStatus.DONE,
        f"merged into `{development}` as `{sha[:7]}`",
        Link(sha[:7], plan.commit_url(sha)),
    )


def _refusal(error: RequestFailed) -> Refusal | None:
    """Why GitHub did not merge, or None for an error the step reports as such.

    A conflict is a 409 "Merge conflict". A branch's protection or rules refuse with 409,
    403 or 422 in many words ("Required status check "ci" is expected.", "Changes must be
    made through a pull request.", "Protected branch update failed ..."), and the pull
    request they ask for quotes GitHub's own. A rate limit's 403 (and a 401) is retried
    like any passing error, not taken for a refusal.
    """
    status = error.response.status_code
    if classify(error).transient:
        return None
    if status == 409 and "conflict" in error_message(error).casefold():
        return Refusal.CONFLICT
    return Refusal.PROTECTED if status in (403, 409, 422) else None


async def _back_merge_pull(run: StepRun, refusal: Refusal, message: str) -> StepOutcome:
    """Branch `backmerge/<tag>` at the merge commit and one pull request from it."""
    github, plan = run.github, run.plan
    branch, development = plan.backmerge_branch, plan.development
    branch_ref = f"/repos/{plan.repository}/git/ref/heads/{path_part(branch)}"
    # An existing branch is kept as it is: people may have resolved the conflict on it.
    if await github.get_optional(branch_ref) is None:
        await github.request(
            "POST",
            f"/repos/{plan.repository}/git/refs",
            body={"ref": f"refs/heads/{branch}", "sha": plan.merge_sha},
        )
    owner = plan.repository.split("/")[0]
    open_pulls = await github.get_json(
        f"/repos/{plan.repository}/pulls",
        {"head": f"{owner}:{branch}", "base": development, "state": "open"},
    )
    if open_pulls:
        pull = open_pulls[0]
    else:
        body = await _back_merge_body(github, plan, refusal, message)
        created = await github.request(
            "POST",
            f"/repos/{plan.repository}/pulls",
            body={
                "title": f"Back-merge {plan.tag or f'hotfix #{plan.number}'} into {development}",
                "head": branch,
                "base": development,
                "body": body,
            },
        )
        pull = created.json()
    # Asked once per pull request: a redelivery or re-run while it waits does not ask again.
    previous = run.previous
    already_asked = (
        previous is not None
        and previous.status is StepStatus.WAITING
        and previous.link is not None
        and previous.link.url == pull["html_url"]
    )
    if not already_asked:
        await _ask_author_to_review(github, plan, pull["number"])
    why = (
        f"`{development}` is protected"
        if refusal is Refusal.PROTECTED
        else f"the hotfix conflicts with `{development}`"
    )
    return StepOutcome(
        StepStatus.WAITING,
        f"{why}: pull request #{pull['number']} from `{branch}` waits for @{plan.author}",
        Link(f"#{pull['number']}", pull["html_url"]),
    )


async def _ask_author_to_review(github: InstallationClient, plan: ReleasePlan, number: int) -> None:
    try:
        await github.request(
            "POST",
            f"/repos/{plan.repository}/pulls/{number}/requested_reviewers",
            body={"reviewers": [plan.author]},
        )
    except RequestFailed as error:
        # GitHub refuses some people as reviewers (422: not a collaborator, the pull
        # request's author; 403: not allowed to this App). The pull request is open and its
        # body names them, so the step still waits on it; a rate limit is retried.
        if error.response.status_code not in (403, 422) or classify(error).transient:
            raise


async def _back_merge_body(
    github: InstallationClient, plan: ReleasePlan, refusal: Refusal, message: str
) -> str:
    development, branch = plan.development, plan.backmerge_branch
    what = (
        f"This merges hotfix #{plan.number} ({plan.title}), merge commit `{plan.short_sha}`, "
        f"back into `{development}`."
    )
    if refusal is Refusal.PROTECTED:
        quoted = f' (GitHub: "{message}")' if message else ""
        return "\n\n".join(
            [
                what,
                f"**Why a pull request:** `{development}` is protected{quoted}, so hotfix-bot "
                "may not merge into it directly.",
                f"@{plan.author}, please review and merge it.",
            ]
        )
    files = await _files_changed_on_both_sides(github, plan)
    listing = (
        "Files changed on both sides since they diverged (the conflicts are in these):\n\n"
        + "\n".join(f"- `{path}`" for path in files)
        if files
        else "GitHub did not say which files conflict."
    )
    return "\n\n".join(
        [
            what,
            f"**Why a pull request:** the hotfix conflicts with `{development}`, so GitHub "
            "could not merge it automatically.",
            listing,
            f"@{plan.author}, please resolve the conflicts on `{branch}`, keeping both the "
            f"hotfix and the work on `{development}`, then merge:",
            "```sh\n"
            f"git fetch origin\ngit checkout {branch}\ngit merge origin/{development}\n"
            f"# resolve, commit\ngit push origin {branch}\n```",
        ]
    )


async def _files_changed_on_both_sides(github: InstallationClient, plan: ReleasePlan) -> list[str]:
    """Paths both the hotfix and development changed since their merge base (compare API)."""
    compare = f"/repos/{plan.repository}/compare"
    hotfix_side, development_side = await asyncio.gather(
        github.get_json(f"{compare}/{path_part(plan.development)}...{plan.merge_sha}"),
        github.get_json(f"{compare}/{plan.merge_sha}...{path_part(plan.development)}"),
    )
    development_paths = {entry["filename"] for entry in development_side.get("files") or []}
    return sorted(
        entry["filename"]
        for entry in hotfix_side.get("files") or []
        if entry["filename"] in development_paths
    )


def back_merge_commands(plan: ReleasePlan) -> list[str]:
    development = shlex.quote(plan.development)
    return [
        f"git checkout {development}",
        f"git pull origin {development}",
        f"git merge --no-ff {plan.merge_sha} -m {shlex.quote(plan.backmerge_message)}",
        f"git push origin {development}",
    ]


STEP = Step("back-merge", "Back-merge", back_merge, back_merge_commands)
