"""Release: a GitHub release for the tag (with `release: true`), unless one exists; a
pre-release version (1.2.4-rc.1) is published as a pre-release."""

from __future__ import annotations

import shlex

from app.handlers.release.plan import ReleasePlan, path_part
from app.handlers.release.step import Link, Step, StepOutcome, StepRun, StepStatus
from app.handlers.release.steps import tag as tag_step
from policies.config import CONFIG_PATH


async def create_release(run: StepRun) -> StepOutcome:
    github, plan = run.github, run.plan
    if not plan.config.release:
        return StepOutcome(StepStatus.SKIPPED, f"`release: false` in `{CONFIG_PATH}`")
    tag = plan.tag
    if tag is None or run.unfinished_needs:
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
            # A pre-release is never the repository's latest release on GitHub.
            "prerelease": _is_prerelease(plan),
        },
    )
    return StepOutcome(
        StepStatus.DONE, f"published release `{tag}`", Link(tag, created.json()["html_url"])
    )


def release_notes(plan: ReleasePlan) -> str:
    return f"Hotfix {plan.reference}: {plan.title}"


def _is_prerelease(plan: ReleasePlan) -> bool:
    return plan.version is not None and plan.version.prerelease is not None


def release_commands(plan: ReleasePlan) -> list[str]:
    tag = shlex.quote(plan.tag) if plan.tag else "<tag>"
    notes = shlex.quote(release_notes(plan))
    prerelease = " --prerelease" if _is_prerelease(plan) else ""
    return [f"gh release create {tag} --verify-tag --title {tag} --notes {notes}{prerelease}"]


STEP = Step("release", "Release", create_release, release_commands, needs=(tag_step.STEP,))
