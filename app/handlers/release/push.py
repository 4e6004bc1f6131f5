"""Trunk-based hotfixes (`workflow: trunk`, docs/BEHAVIOUR.md, "Trunk-based hotfixes"): a
push to the production branch whose version files move up by exactly one patch is a hotfix.

It gets the steps that act on its commit alone (`steps.PUSH_STEPS`: the tag and the release)
and the `hotfix-release` check run on that commit; there is no pull request to comment on.
Only the config names the production branch, so every push that moves a branch forward is
queued: a push to any other branch costs the reads of the config files on the default branch,
revalidated by ETag; a push to production, the reads of the config and the version files at
the pushed commit too. The merge commit of a hotfix pull request is left to that pull
request's own run (`handler`), which also comments on it and deletes its branch.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass

from app.github.files import read_default_branch_file, read_files
from app.github.pulls import merged_as
from app.github.reads import reading_ahead
from app.handlers.checks import find_check_run
from app.handlers.config_files import ConfigFiles, read_org_file
from app.handlers.release import steps
from app.handlers.release.handler import (
    ReleaseState,
    has_post_merge_run,
    release_key,
    run_steps,
    write_report_run,
)
from app.handlers.release.plan import ReleasePlan
from app.handlers.release.report import CHECK_NAME, steps_report
from app.handlers.routing import Context
from app.intake.delivery import Delivery
from policies.config import CONFIG_PATH, ConfigError, HotfixConfig
from policies.files import FileText
from policies.rules.version_bump import bumped_version
from policies.versions import DEFAULT_VERSION_FILES, Version, version_files_to_read


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


async def release_push(context: Context, push: Push, after: str) -> None:
    """The post-merge run of the commit `after` pushed to the trunk, when it is a hotfix."""
    key = release_key(context.repository, after)
    # A re-run and a redelivery of the push are queued apart: they take turns here.
    async with context.locks.lock(key):
        plan = await _plan(context, push, after)
        if plan is None:
            return
        await context.state.set_state(
            _push_key(context.repository, after), json.dumps(asdict(push))
        )
        state = await ReleaseState.load(context, key)
        async with reading_ahead() as reads:
            find_check_run(reads, context, CHECK_NAME, after)  # looked up while the steps run
            outcomes = await run_steps(context, plan, state, steps.PUSH_STEPS, reads)
            report = steps_report(plan, outcomes)
            await write_report_run(context, after, report, reads)
    context.log.info("push %s to %s: %s", after[:7], push.branch, report.output.title)


async def _plan(context: Context, push: Push, after: str) -> ReleasePlan | None:
    """What the run will do; None when the push is not a trunk hotfix."""
    github, repository = context.github, context.repository
    default_branch = context.delivery.default_branch or push.branch
    pushed = f"push {after[:7]} to {push.branch}"
    # GitHub sends a push for every branch: the default branch's config, revalidated by ETag,
    # names the production branch before anything at the pushed commit is read.
    org_file, default_branch_file = await asyncio.gather(
        read_org_file(github, repository),
        read_default_branch_file(github, repository, CONFIG_PATH),
    )
    on_default_branch = ConfigFiles(repository, default_branch, org_file, default_branch_file)
    if _trunk_config(context, push, pushed, on_default_branch, default_branch) is None:
        return None
    # Post-merge work obeys the production branch's own config: the one of the pushed commit.
    after_files = await read_files(github, repository, after, [CONFIG_PATH, *DEFAULT_VERSION_FILES])
    at_after = ConfigFiles(repository, push.branch, org_file, after_files.get(CONFIG_PATH))
    config = _trunk_config(context, push, pushed, at_after, default_branch)
    if config is None:
        return None
    version = await _bumped_version(context, config, push.before, after, after_files)
    if version is None:
        context.log.info("%s: does not raise the version by one patch", pushed)
        return None
    if await _merges_a_hotfix_pull_request(context, config, after):
        context.log.info("%s: merges a hotfix pull request, whose own run reports", pushed)
        return None
    repository_url = context.payload["repository"]["html_url"]
    return ReleasePlan(
        repository=repository,
        repository_url=repository_url,
        number=None,
        title=push.title,
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
    context: Context, push: Push, pushed: str, config_files: ConfigFiles, default_branch: str
) -> HotfixConfig | None:
    """The config `config_files` make when it works trunk-based with the pushed branch as
    production; None, logged as `pushed`, otherwise."""
    try:
        config = config_files.config(default_branch)
    except ConfigError as error:
        # Whether the repository works trunk-based is in the config: without it, no push
        # can be told a hotfix. The hotfix-policy check of pull requests names the problems.
        context.log.warning(
            "%s not judged, the config on %s cannot be used: %s", pushed, config_files.ref, error
        )
        return None
    if config.workflow != "trunk" or config.branches.production != push.branch:
        context.log.info("%s: not the production branch of a trunk", pushed)
        return None
    return config


async def _bumped_version(
    context: Context,
    config: HotfixConfig,
    before: str,
    after: str,
    after_files: dict[str, FileText],
) -> Version | None:
    """The version `after` releases when it raises `before`'s by exactly one patch."""
    github, repository = context.github, context.repository
    paths = version_files_to_read(config)
    # Those version.files names beyond the usual ones; the tree of `after` is read already.
    missing = [path for path in paths if path not in after_files]
    before_files, more_after_files = await asyncio.gather(
        read_files(github, repository, before, paths),
        read_files(github, repository, after, missing),
    )
    return bumped_version(config, before_files, {**after_files, **more_after_files})


async def _merges_a_hotfix_pull_request(context: Context, config: HotfixConfig, after: str) -> bool:
    """Whether `after` is the merge commit of a pull request whose own post-merge run reports
    it: a hotfix, or a rollback of one, into production."""
    merged = await merged_as(context.github, context.repository, after)
    return any(
        await asyncio.gather(*(has_post_merge_run(context, config, pull) for pull in merged))
    )
