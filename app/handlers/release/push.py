"""Trunk-based hotfixes (`workflow: trunk`, docs/BEHAVIOUR.md, "Trunk-based hotfixes"): a
push to the production branch whose version files move up by exactly one patch is a hotfix.

It gets the steps that act on its commit alone (`steps.PUSH_STEPS`: the tag and the release)
and the `hotfix-release` check run on that commit; there is no pull request to comment on.
Only the config names the production branch, so every push that moves a branch forward is
queued: a push to any other branch costs the reads of the config files on the default branch,
revalidated by ETag; a push to production, the reads of the config and the version files at
the pushed commit too. A push whose version change a hotfix pull request merged within it
made (its merge commit, or one before it on the branch, holds the raised version: a merge
queue merges several pull requests in one push) is left to that pull request's own run
(`handler`), which also comments on it and deletes its branch.

Once the default branch's config says the push went to a trunk's production branch, GitHub
refusing a read needed to tell whether it is a hotfix is shown on its `hotfix-release` run,
whose re-run judges the push again; a report that run shows already (that of the pull request
merged as the pushed commit, or of an earlier run of the push) stands.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import asdict, dataclass
from typing import Any

from app.github.files import read_default_branch_file, read_files
from app.github.pulls import merged_as
from app.github.reads import reading_ahead
from app.handlers.checks import find_check_run, is_final, report_failure
from app.handlers.config_files import ConfigFiles, OrgFileText, read_org_file
from app.handlers.release import steps
from app.handlers.release.handler import (
    ReleaseState,
    has_post_merge_run,
    release_key,
    run_steps,
    write_report_run,
)
from app.handlers.release.plan import CHECK_NAME, ReleasePlan
from app.handlers.release.production import recheck_open_hotfixes, tagged
from app.handlers.release.report import not_a_hotfix_push_report, steps_report
from app.handlers.routing import Context
from app.intake.delivery import Delivery
from policies.config import CONFIG_PATH, ConfigError, HotfixConfig
from policies.files import FileText
from policies.rules.version_bump import bumped_version
from policies.versions import DEFAULT_VERSION_FILES, Version, version_files_to_read

# The run's title when GitHub refused a read needed to tell whether the push is a hotfix.
UNJUDGED_TITLE = "Could not tell whether this push is a hotfix"


def pushed_a_branch(delivery: Delivery) -> bool:
    """A push that moved a branch forward: any such push may be to the production branch,
    which only the config names (a tag, or a branch created, deleted or forced, is answered
    `ignored`)."""
    return delivery.pushed_branch is not None


@dataclass(frozen=True, slots=True)
class Push:
    """What a re-run needs of the push, kept in the journal by the first run."""

    branch: str
    before: str
    title: str  # the pushed commit's first line
    pusher: str


@dataclass(frozen=True, slots=True)
class NotAHotfix:
    """Why a push to the production branch of a trunk is no hotfix of its own: a clause."""

    reason: str
    # A config that cannot be used is a problem to fix, not a verdict.
    log_level: int = logging.INFO

    def log(self, context: Context, push: Push, after: str) -> None:
        context.log.log(self.log_level, "push %s to %s: %s", after[:7], push.branch, self.reason)


async def on_push(context: Context) -> None:
    """`push` that moved a branch forward (see `pushed_a_branch`)."""
    payload = context.payload
    head_commit = payload.get("head_commit") or {}
    after: str = payload["after"]
    push = Push(
        branch=context.delivery.pushed_branch or "",
        before=payload["before"],
        title=str(head_commit.get("message") or after[:7]).splitlines()[0],
        pusher=(payload.get("pusher") or {}).get("name") or "",
    )
    await release_push(context, push, after)


async def on_rerequest(context: Context) -> None:
    """A re-run of `hotfix-release` on a commit pushed to the trunk (check_run or check_suite
    `rerequested`): the commits of other runs have no push kept."""
    check = context.payload.get("check_run")
    if isinstance(check, dict) and check.get("name") != CHECK_NAME:
        return
    after = (check or context.payload.get("check_suite") or {}).get("head_sha")
    if not isinstance(after, str):
        return
    stored = await context.state.get_state(_push_key(context.repository, after))
    if stored is not None:
        await release_push(context, Push(**json.loads(stored)), after)


def _push_key(repository: str, after: str) -> str:
    return f"trunk-push:{repository}@{after}"


async def _keep(context: Context, push: Push, after: str) -> None:
    """Keep the push for a re-run of the run written on `after`."""
    await context.state.set_state(_push_key(context.repository, after), json.dumps(asdict(push)))


async def release_push(context: Context, push: Push, after: str) -> None:
    """The post-merge run of the commit `after` pushed to the trunk, when it is a hotfix."""
    key = release_key(context.repository, after)
    # A re-run and a redelivery of the push are queued apart: they take turns here.
    async with context.locks.lock(key):
        plan = await _plan(context, push, after)
        if isinstance(plan, NotAHotfix):
            plan.log(context, push, after)
            await _withdraw_unjudged_report(context, push, after, plan)
            return
        await _keep(context, push, after)
        state = await ReleaseState.load(context, key)
        async with reading_ahead() as reads:
            find_check_run(reads, context, CHECK_NAME, after)  # looked up while the steps run
            outcomes = await run_steps(context, plan, state, steps.PUSH_STEPS, reads)
            report = steps_report(plan, outcomes)
            await write_report_run(context, after, report, reads)
        if tagged(outcomes):
            await _recheck_once(context, plan)
    context.log.info("push %s to %s: %s", after[:7], push.branch, report.output.title)


async def _recheck_once(context: Context, plan: ReleasePlan) -> None:
    """The open hotfix pull requests evaluated again now that the pushed hotfix's tag is made
    (one may bump to that version), once per tag: a redelivery or re-run lists none again."""
    assert plan.tag is not None  # the tag step finished
    key = f"trunk-tagged:{context.repository}:{plan.tag}"
    if await context.state.get_state(key) is None:
        await recheck_open_hotfixes(context, plan.config.branches.production, plan.tag)
        await context.state.set_state(key, plan.merge_sha)


async def _plan(context: Context, push: Push, after: str) -> ReleasePlan | NotAHotfix:
    """What the run will do, or why the push is no hotfix (the default branch's config may
    say it did not go to the production branch of a trunk)."""
    github, repository = context.github, context.repository
    default_branch = context.delivery.default_branch or push.branch
    # GitHub sends a push for every branch: the default branch's config, revalidated by ETag,
    # names the production branch before anything at the pushed commit is read.
    org_file, default_branch_file = await asyncio.gather(
        read_org_file(github, repository),
        read_default_branch_file(github, repository, CONFIG_PATH),
    )
    on_default_branch = ConfigFiles(repository, default_branch, org_file, default_branch_file)
    config = _trunk_config(push, on_default_branch, default_branch)
    if isinstance(config, NotAHotfix):
        return config
    try:
        return await _judge(context, push, after, org_file, default_branch)
    except Exception as error:
        # A refusal here could hide a hotfix: it is shown on the run, which a re-run judges
        # again once the cause is fixed. One that may pass is left to the next attempt. A
        # report the run shows already stands: the pull request merged as `after` wrote it
        # (so the push is no hotfix of its own), or an earlier run of this push did.
        if is_final(context, error):
            await _keep(context, push, after)
            await report_failure(
                context, CHECK_NAME, after, error, UNJUDGED_TITLE, only_over=_none_or_unjudged
            )
        raise


async def _judge(
    context: Context, push: Push, after: str, org_file: OrgFileText, default_branch: str
) -> ReleasePlan | NotAHotfix:
    """The plan of the push to the production branch of a trunk (as the default branch's
    config says), or why it is no hotfix of its own."""
    github, repository = context.github, context.repository
    # Post-merge work obeys the production branch's own config: the one of the pushed commit.
    after_files = await read_files(github, repository, after, [CONFIG_PATH, *DEFAULT_VERSION_FILES])
    at_after = ConfigFiles(repository, push.branch, org_file, after_files.get(CONFIG_PATH))
    config = _trunk_config(push, at_after, default_branch)
    if isinstance(config, NotAHotfix):
        return config
    raised = await _raised_version(context, config, push.before, after, after_files)
    if raised is None:
        return NotAHotfix("it does not raise the version by one patch")
    version, before_files = raised
    within = await _merged_within(context, config, after, version, before_files)
    if (merged_hotfix := within.releasing) is not None:
        number, title = merged_hotfix["number"], merged_hotfix["title"]
        merge = merged_hotfix["merge_commit_sha"][:7]
        return NotAHotfix(
            f"its version, {version}, was raised by #{number} ({title}), merged in this push "
            f"as `{merge}`, whose own run releases it"
        )
    repository_url = context.payload["repository"]["html_url"]
    return ReleasePlan(
        repository=repository,
        repository_url=repository_url,
        number=None,
        # Raised by a pull request merged in the push, the pushed commit's first line is
        # GitHub's ("Merge pull request #12 from ...") or another's: the hotfix is the one
        # the pull request's title says.
        title=push.title if within.raised_by is None else within.raised_by["title"],
        author=push.pusher,
        hotfix_url=f"{repository_url}/commit/{after}",
        merge_sha=after,
        # The pushed branch stands for a pull request's head: no step here reads it.
        head_ref=push.branch,
        head_sha=after,
        head_repository=repository,
        head_in_repository=True,
        default_branch=default_branch,
        config=config,
        version=version,
        back_merge_target=config.branches.development,
    )


def _trunk_config(
    push: Push, config_files: ConfigFiles, default_branch: str
) -> HotfixConfig | NotAHotfix:
    """The config `config_files` make when it works trunk-based with the pushed branch as
    production; why the push is no hotfix otherwise."""
    try:
        config = config_files.config(default_branch)
    except ConfigError as error:
        # Whether the repository works trunk-based is in the config: without it, no push
        # can be told a hotfix. The hotfix-policy check of pull requests names the problems.
        # They may be in the organization's file, which is then the one to fix.
        where = f"the config on `{config_files.ref}`" if error.file is None else f"`{error.file}`"
        return NotAHotfix(f"{where} cannot be used: {error}", logging.WARNING)
    if config.workflow != "trunk" or config.branches.production != push.branch:
        return NotAHotfix(
            f"the config on `{config_files.ref}` does not make `{push.branch}` "
            "the production branch of a trunk"
        )
    return config


async def _raised_version(
    context: Context,
    config: HotfixConfig,
    before: str,
    after: str,
    after_files: dict[str, FileText],
) -> tuple[Version, dict[str, FileText]] | None:
    """The version `after` releases when it raises `before`'s by exactly one patch, with the
    version files at `before`."""
    github, repository = context.github, context.repository
    paths = version_files_to_read(config)
    # Those version.files names beyond the usual ones; the tree of `after` is read already.
    missing = [path for path in paths if path not in after_files]
    before_files, more_after_files = await asyncio.gather(
        read_files(github, repository, before, paths),
        read_files(github, repository, after, missing),
    )
    version = bumped_version(config, before_files, {**after_files, **more_after_files})
    return None if version is None else (version, before_files)


@dataclass(frozen=True, slots=True)
class _MergedWithin:
    """The pull requests, as GitHub gives them, merged within the push."""

    # The one with a post-merge run of its own (a hotfix, or a rollback of one) that raised
    # the version; None when the push raised it itself.
    releasing: dict[str, Any] | None
    # The one merged as the commit that raised the version (the last the walk reached),
    # when that commit is a pull request's merge.
    raised_by: dict[str, Any] | None


async def _merged_within(
    context: Context,
    config: HotfixConfig,
    after: str,
    version: Version,
    before_files: dict[str, FileText],
) -> _MergedWithin:
    """The pull request with a post-merge run of its own that raised the version to `version`
    within the push: the one merged as `after`, or as one of its first parents back that
    still holds `version` (a merge queue merges several pull requests in one push); and the
    one merged as the earliest of those commits. The walk ends at the first commit that does
    not hold `version`, `before` at the latest when it is on the branch's line (its files are
    read already)."""
    github, repository = context.github, context.repository
    paths = version_files_to_read(config)
    commit = after
    while True:
        merged = await merged_as(github, repository, commit)
        raised_by = next(iter(merged), None)  # so far, the earliest commit holding `version`
        own_runs = await asyncio.gather(
            *(has_post_merge_run(context, config, pull) for pull in merged)
        )
        if pull := next((pull for pull, own in zip(merged, own_runs, strict=True) if own), None):
            return _MergedWithin(pull, raised_by)
        parents = (await github.get_immutable(f"/repos/{repository}/git/commits/{commit}"))[
            "parents"
        ]
        if parents:
            commit = parents[0]["sha"]
            files = await read_files(github, repository, commit, paths)
            if bumped_version(config, before_files, files) == version:
                continue
        # The version was raised after `commit`, by no such pull request.
        return _MergedWithin(None, raised_by)


def _none_or_unjudged(title: str | None) -> bool:
    """Whether the run of a pushed commit shows no report, or that it could not tell."""
    return title in (None, UNJUDGED_TITLE)


def _unjudged(title: str | None) -> bool:
    """Whether the run of a pushed commit still says it could not tell."""
    return title == UNJUDGED_TITLE


async def _withdraw_unjudged_report(
    context: Context, push: Push, after: str, not_a_hotfix: NotAHotfix
) -> None:
    """Once a push GitHub kept from being judged turns out to be no hotfix of its own (the
    default branch's config may no longer make its branch a trunk's production branch), its
    run says so, `neutral`, while it still says it could not tell (`UNJUDGED_TITLE`): any
    other report there (a hotfix's, or that of the pull request merged as `after`) stands.
    Only a push kept in the journal can have had such a run: no other costs a request here."""
    if await context.state.get_state(_push_key(context.repository, after)) is None:
        return
    report = not_a_hotfix_push_report(
        context.payload["repository"]["html_url"],
        after,
        push.title,
        push.branch,
        not_a_hotfix.reason,
    )
    await write_report_run(context, after, report, only_over=_unjudged)
