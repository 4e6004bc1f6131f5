"""Tag: an annotated tag on the merge commit (or the pushed commit), named and worded as `tag`
in the config says.

A tag of that name already on that commit counts as done; one on another commit is a
failure, and hotfix-bot never moves it: that tag is most likely another hotfix's release, and
this hotfix's change needs the next version.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import Any

from githubkit.exception import RequestFailed

from app.github.client import InstallationClient, path_part
from app.github.files import start_reading_files
from app.github.objects import peeled
from app.github.pulls import merged_as
from app.github.reads import Look, Reads
from app.handlers.release.plan import ReleasePlan
from app.handlers.release.step import Link, Step, StepOutcome, StepRun, StepStatus
from policies.versions import next_patch, tag_name, version_files_to_read
from policies.wording import join_words


async def create_tag(run: StepRun) -> StepOutcome:
    github, plan = run.github, run.plan
    tag = plan.tag
    if tag is None:
        # Only a merged pull request can lack a version: a push without one is no hotfix.
        files = ", ".join(f"`{path}`" for path in version_files_to_read(plan.config))
        return StepOutcome(
            StepStatus.FAILED,
            f"no version file `{plan.config.branches.production}` had before the merge "
            f"declares a version at {plan.commit_words} `{plan.short_sha}` (looked at {files}; "
            "one the hotfix added does not count), so there is no tag name",
        )
    link = Link(tag, f"{plan.repository_url}/tree/{path_part(tag)}")
    existing = await run.look(_tag_ref(plan.repository, tag))
    if existing is not None:
        return await _found(run, tag, existing, link)
    if (released := await _released_as(run)) is not None:
        return released
    tag_object = await github.request(
        "POST",
        f"/repos/{plan.repository}/git/tags",
        body={"tag": tag, "message": plan.tag_message, "object": plan.merge_sha, "type": "commit"},
    )
    try:
        await github.request(
            "POST",
            f"/repos/{plan.repository}/git/refs",
            body={"ref": f"refs/tags/{tag}", "sha": tag_object.json()["sha"]},
        )
    except RequestFailed as error:
        if error.response.status_code != 422:
            raise
        # Made since it was looked up: by another hotfix of the same version merged at the
        # same time (their runs hold locks of their own), or by people.
        made = await github.get_optional(_tag_ref(plan.repository, tag).path)
        if made is None:
            raise
        return await _found(run, tag, made, link)
    return StepOutcome(
        StepStatus.DONE, f"annotated tag `{tag}` on {plan.commit_words} `{plan.short_sha}`", link
    )


async def _found(run: StepRun, tag: str, ref: dict[str, Any], link: Link) -> StepOutcome:
    """The outcome for `tag` found as `ref`: done when it names this merge, else taken."""
    plan = run.plan
    target = await peeled(run.github, plan.repository, ref["object"])
    if target == plan.merge_sha:
        return StepOutcome(
            StepStatus.ALREADY_DONE,
            f"`{tag}` was already on {plan.commit_words} `{plan.short_sha}`",
            link,
        )
    return await _taken(run, tag, target, link)


def _release_tag(plan: ReleasePlan) -> str | None:
    """The tag of the release the version is a pre-release or a build of (`v1.2.4` for
    1.2.4-rc.1 or 1.2.4+build.7); None for a version that is a release itself."""
    version = plan.version
    if version is None or str(version) == str(version.finalize_version()):
        return None
    return tag_name(plan.config, str(version.finalize_version()))


async def _released_as(run: StepRun) -> StepOutcome | None:
    """The failure when the version's release is out already: a pre-release of it is below
    it, a build of it the same version, as `version-bump` says of a pull request's
    (docs/BEHAVIOUR.md, 'Rules'). A push to the trunk reaches this step without that check."""
    plan = run.plan
    tag = _release_tag(plan)
    if tag is None or (ref := await run.look(_tag_ref(plan.repository, tag))) is None:
        return None
    assert plan.version is not None  # `_release_tag` names its release
    version, release = plan.version, plan.version.finalize_version()
    why = (
        f"{version} is a pre-release of {release}, below it"
        if version.prerelease is not None
        else f"{version} is {release} again (build metadata makes no other version)"
    )
    target = await peeled(run.github, plan.repository, ref["object"])
    if target == plan.merge_sha:
        return None  # released as this very commit (by hand): this change is out already
    link = Link(tag, f"{plan.repository_url}/tree/{path_part(tag)}")
    return await _taken(run, tag, target, link, why)


async def _taken(
    run: StepRun, tag: str, target: str, link: Link, why: str | None = None
) -> StepOutcome:
    """`tag` names commit `target`, not this hotfix's: most likely the release of another
    hotfix merged first, which stays as it is (hotfix-bot never moves a tag); or, said `why`,
    the release of the version this hotfix's is a pre-release or build of. This hotfix's
    change is released by a version of its own, the next patch of the one it holds."""
    plan = run.plan
    assert plan.version is not None  # the tag is named after it
    merged = await merged_as(run.github, plan.repository, target)
    named = f"`{target[:7]}`" + (f", the release of #{merged[0]['number']}" if merged else "")
    version = next_patch(plan.version)
    production = f"`{plan.config.branches.production}`"
    # The version files at the merge commit: those `version-bump` wants bumped next there.
    paths = version_files_to_read(plan.config)
    at_merge = await start_reading_files(
        run.reads, run.github, plan.repository, plan.merge_sha, paths
    )
    files = join_words([f"`{path}`" for path in paths if at_merge.get(path) is not None])
    bumping = f"bumping the version in {files} to {version}"
    bump = (
        f"push to {production} a commit {bumping}"
        if plan.config.workflow == "trunk"
        else f"open a hotfix pull request into {production} {bumping}"
    )
    taken = f": {why}" if why else f", not {plan.commit_words} `{plan.short_sha}`"
    return StepOutcome(
        StepStatus.FAILED,
        f"`{tag}` already names {named}{taken}, so this hotfix's change needs a version of "
        f"its own: {bump}",
        link,
        by_hand=(
            f"Leave `{tag}` as it is: it names {named}. To release this hotfix's change, "
            f"{bump}, which hotfix-bot tags `{tag_name(plan.config, str(version))}`."
        ),
    )


async def tagged_commit(
    github: InstallationClient, repository: str, tag: str, reads: Reads | None = None
) -> str | None:
    """The commit `tag` names (through annotated tag objects); None when there is no such tag.
    With `reads`, the look-up is the one of them the tag step makes too."""
    look = _tag_ref(repository, tag)
    ref = await (look.start(reads, github) if reads is not None else github.get_optional(look.path))
    return None if ref is None else await peeled(github, repository, ref["object"])


def _tag_ref(repository: str, tag: str) -> Look:
    return Look(f"/repos/{repository}/git/ref/tags/{path_part(tag)}")


def tag_looks(plan: ReleasePlan) -> Sequence[Look]:
    # The hotfix's tag is named after the version its merge commit declares: hotfix-bot,
    # holding the release lock, is who makes it.
    # The tag of the release it is a pre-release or build of is looked up too (`_released_as`).
    tags = [tag for tag in (plan.tag, _release_tag(plan)) if tag is not None]
    return [_tag_ref(plan.repository, tag) for tag in tags]


def tag_commands(plan: ReleasePlan) -> list[str]:
    # For a tag found on another commit, its outcome says what to do instead (`_taken`).
    tag = shlex.quote(plan.tag) if plan.tag else "<tag>"
    lines = (
        ["# No version file declares the version: replace <tag> with the hotfix's tag."]
        if plan.tag is None
        else []
    )
    return [
        *lines,
        f"git tag -a {tag} -m {shlex.quote(plan.tag_message)} {plan.merge_sha}",
        f"git push origin {tag}",
    ]


STEP = Step("tag", "Tag", create_tag, tag_commands, looks=tag_looks)
