"""Trunk-based hotfixes (`workflow: trunk`, docs/BEHAVIOUR.md, "Trunk-based hotfixes"): a
push to the production branch whose version files move up by exactly one patch is a hotfix.

It gets the steps that act on its commit alone (`steps.PUSH_STEPS`: the tag and the release)
and the `hotfix-release` check run on that commit; there is no pull request to comment on.
Any other push costs only the reads of the config and the version files. The merge commit
of a hotfix pull request is left to that pull request's own run (`handler`), which also
comments on it and deletes its branch.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass

from app.github.files import read_files
from app.github.reads import reading_ahead
from app.handlers.checks import find_check_run
from app.handlers.config_files import ConfigFiles, read_org_file
from app.handlers.release import steps
from app.handlers.release.handler import (
    ReleaseState,
    is_production_hotfix,
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


def pushed_to_default_branch(delivery: Delivery) -> bool:
    """A push that moved the default branch forward: the only push that can be a trunk
    hotfix (any other is answered `ignored`); the config decides the rest."""
    return delivery.pushed_branch is not None and delivery.pushed_branch == delivery.default_branch


@dataclass(frozen=True, slots=True)
class Push:
    """What a re-run needs of the push, kept in the journal by the first run."""

    branch: str
    before: str
    title: str  # the pushed commit's first line
    pusher: str


async def on_push(context: Context) -> None:
    """`push` to the default branch (see `pushed_to_default_branch`)."""
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
    after_files, org_file = await asyncio.gather(
        read_files(github, repository, after, [CONFIG_PATH, *DEFAULT_VERSION_FILES]),
        read_org_file(github, repository),
    )
    config_files = ConfigFiles(repository, push.branch, org_file, after_files.get(CONFIG_PATH))
    try:
        config = config_files.config(default_branch)
    except ConfigError as error:
        # Whether the repository works trunk-based is in the config: without it, no push
        # can be told a hotfix. The hotfix-policy check of pull requests names the problems.
        context.log.warning(
            "push to %s not judged, the config cannot be used: %s", push.branch, error
        )
        return None
    pushed = f"push {after[:7]} to {push.branch}"
    if config.workflow != "trunk" or push.branch != config.branches.production:
        context.log.info("%s: not the production branch of a trunk", pushed)
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
    """Whether `after` is the merge commit of a hotfix (or rollback) pull request into
    production."""
    pulls = await context.github.get_json(f"/repos/{context.repository}/commits/{after}/pulls")
    return any(
        pull.get("merged_at")
        and pull.get("merge_commit_sha") == after
        and is_production_hotfix(config, pull)
        for pull in pulls
    )
