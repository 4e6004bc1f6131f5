"""Hotfix pull requests into the production branch: which merged ones get the post-merge steps
(`is_production_hotfix`), and how the open ones are evaluated again once one of them is
tagged (docs/BEHAVIOUR.md, "Triggers").

A hotfix pull request still open may bump to the version another has just been tagged with:
its `version-bump` passed while that tag did not exist, and nothing on the pull request
itself changed since. After a merged pull request's run, once its tag is on its merge commit,
that run keeps a timer (a journal write, no request: the report is not held up). The timer's
delivery lists the open pull requests into the production branch with one request, and keeps
one more timer for each hotfix among them, due at once, in that pull request's own queue: each
is evaluated there, after what its own deliveries queued, as one of them would be. A hotfix
pushed to the trunk has no pull request to keep the first timer under: its run lists them
itself, after its report (`recheck_open_hotfixes`).

A push that changes `.github/hotfix.yml` on the production branch has the open hotfixes into
it evaluated again the same way (`on_config_pushed`): their clock follows the new config, a deadline
shortened or a step added, without waiting for an event of their own (docs/BEHAVIOUR.md,
'The incident clock'); a file pushed broken has them fail now, naming the problem.

An installation unsuspended has both done for each of its repositories
(`catch_up_after_suspension`): GitHub sent nothing meanwhile, neither what happened to the
open hotfixes nor the merges. A hotfix merged since the suspension began gets a timer, due at
once in its own queue, that runs its post-merge steps as its merge's delivery would have.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

from app.github.client import timestamp
from app.github.pulls import labels_of
from app.github.reads import Reads
from app.handlers.config_files import base_config, config_at
from app.handlers.policy import conclude_merged_while_waiting, evaluate_pull_request
from app.handlers.release.plan import ReleasePlan
from app.handlers.release.report import StepOutcomes
from app.handlers.release.steps import tag as tag_step
from app.handlers.routing import Context
from app.journal.timers import FiredTimer
from policies.config import CONFIG_PATH, ConfigError, HotfixConfig
from policies.evaluate import is_hotfix
from policies.rollback import is_rollback

# The timers' kinds (their handlers: `on_tagged`, then `on_recheck`).
TAGGED = "tagged"
RECHECK = "recheck"
# A hotfix merged while its installation was suspended: its head's run concluded
# (`on_merged_while_suspended`), then its post-merge steps (run by `release.on_resume`, as a
# re-run of its `hotfix-release` check), both of which the merge's `closed` has done.
MERGED_WHILE_SUSPENDED = "merged-while-suspended"


def is_production_hotfix(config: HotfixConfig, pull: dict[str, Any]) -> bool:
    """A hotfix pull request into the production branch, or one there that looks like a
    rollback: the post-merge steps run for it, for the latter only when it is a rollback
    (the post-merge run reads what it reverts)."""
    head_ref, labels = pull["head"]["ref"], labels_of(pull)
    return pull["base"]["ref"] == config.branches.production and (
        is_hotfix(config, head_ref, labels) or is_rollback(config, head_ref, labels)
    )


def tagged(outcomes: StepOutcomes) -> bool:
    """Whether the run's tag is on its commit, made by it or found there."""
    return any(step is tag_step.STEP and outcome.status.finished for step, outcome in outcomes)


async def recheck_after_tag(context: Context, plan: ReleasePlan) -> None:
    """The timer that has the open hotfix pull requests into production evaluated again, now
    that `plan`'s tag is on its merge commit; kept once per tag, however often the run is
    repeated."""
    if plan.number is None or plan.tag is None:
        return
    branch = plan.config.branches.production
    data = {"branch": branch, "tag": plan.tag}
    await context.timers.schedule(TAGGED, plan.tag, context.now(), data, number=plan.number)


async def on_tagged(context: Context) -> None:
    """A tag was made on a merge into `branch`: the open hotfix pull requests into it, each
    evaluated again in its own queue (`on_recheck`)."""
    timer = FiredTimer.of(context.delivery)
    await recheck_open_hotfixes(context, timer.data["branch"], timer.data["tag"])


async def recheck_open_hotfixes(
    context: Context, branch: str, after: str, config: HotfixConfig | None = None
) -> None:
    """The open hotfix pull requests into `branch`, each evaluated again in its own queue
    (`on_recheck`), once per pull request and `after`: the tag made, or `config@` the commit
    that changed the config. `config`: the branch's, when the caller read it already."""
    path = f"/repos/{context.repository}/pulls?state=open&base={quote(branch, safe='')}"
    await _recheck(context, await context.github.get_all(path), after, config)


async def catch_up_after_suspension(
    context: Context, default_branch: str, after: str, since: datetime | None
) -> None:
    """What GitHub left unsaid while the repository's installation was suspended, each pull
    request in its own queue: the open hotfix pull requests evaluated again, and, `since`
    the suspension began (None: not known), the hotfixes merged meanwhile get their
    post-merge steps. The config of `default_branch` names the production branch, read only
    when there are pull requests to sort: a repository with none open and none merged
    since costs a request for each list."""
    opened = context.github.get_all(f"/repos/{context.repository}/pulls?state=open")
    merged: list[Any]
    if since is None:
        pulls, merged = await opened, []
    else:  # the two lists side by side
        pulls, merged = await asyncio.gather(opened, _merged_since(context, since))
    if not pulls and not merged:
        return
    reads = Reads()  # the organization's file read once for both branches
    try:
        config = await config_at(
            context.github, context.repository, default_branch, default_branch, reads
        )
    except ConfigError as error:
        context.log.warning(
            "after %s: the config on %s cannot be used: %s", after, default_branch, error
        )
        return
    production = config.branches.production
    # The production branch's own config decides which are hotfixes (None: read there).
    own = config if production == default_branch else None
    into_production = [pull for pull in pulls if pull["base"]["ref"] == production]
    await _recheck(context, into_production, after, own, reads)
    merged_into_production = [pull for pull in merged if pull["base"]["ref"] == production]
    for pull in await _hotfixes(context, merged_into_production, after, own, reads):
        # One per merge, however often the unsuspension is tried or comes again.
        await context.timers.schedule(
            MERGED_WHILE_SUSPENDED,
            pull["merge_commit_sha"],
            context.now(),
            {"head_sha": pull["head"]["sha"]},
            number=pull["number"],
        )


async def _merged_since(context: Context, since: datetime) -> list[Any]:
    """The repository's pull requests merged at `since` or later, into any branch: the
    closed ones listed by their last update, newest first, up to the first updated before
    `since` (one merged later was updated by its merge)."""
    path = f"/repos/{context.repository}/pulls?state=closed&sort=updated&direction=desc"
    merged: list[Any] = []
    async with contextlib.aclosing(context.github.pages(path)) as pages:
        async for page in pages:
            merged += [pull for pull in page if _at_or_after(pull.get("merged_at"), since)]
            if any(not _at_or_after(pull["updated_at"], since) for pull in page):
                break
    return merged


def _at_or_after(moment: object, since: datetime) -> bool:
    at = timestamp(moment)
    return at is not None and at >= since


async def _hotfixes(
    context: Context,
    pulls: list[Any],
    after: str,
    config: HotfixConfig | None,
    reads: Reads | None = None,
) -> list[Any]:
    """Those of `pulls` (into one branch) that are hotfixes by that branch's config
    (`config`, or read from the first's base, with `reads`)."""
    if not pulls:
        return []
    if config is None:
        try:
            config = await base_config(context.github, context.repository, pulls[0], reads)
        except ConfigError as error:
            # Their own runs name the problem, the next time they run.
            context.log.warning(
                "after %s: the config on %s cannot be used: %s",
                after,
                pulls[0]["base"]["ref"],
                error,
            )
            return []
    return [pull for pull in pulls if is_production_hotfix(config, pull)]


async def _recheck(
    context: Context,
    pulls: list[Any],
    after: str,
    config: HotfixConfig | None,
    reads: Reads | None = None,
) -> None:
    """`on_recheck` kept for each of `pulls` (open, into one branch) that is a hotfix by
    that branch's config (`config`, or read from the first's base, with `reads`)."""
    for pull in await _hotfixes(context, pulls, after, config, reads):
        await context.timers.schedule(
            RECHECK, after, context.now(), {"after": after}, number=pull["number"]
        )


def _changes_the_config(push: Mapping[str, Any]) -> bool:
    """Whether a commit of `push` added, changed or removed `.github/hotfix.yml` (as GitHub
    lists each pushed commit's paths)."""
    return any(
        CONFIG_PATH in (commit.get(paths) or [])
        for commit in push.get("commits") or []
        for paths in ("added", "modified", "removed")
    )


async def on_config_pushed(context: Context) -> None:
    """`push` to a branch: when it changed the config of the production branch, the open
    hotfixes into it evaluated again, so that their timers follow it (a shorter deadline
    comes due at its time, not at the old one's). The route takes every branch's push (the
    intake reads no commit list): a push that leaves the file alone costs nothing, and one to
    another branch (`develop`, where Git Flow changes it first) one read of the config."""
    branch, after = context.delivery.pushed_branch, context.payload["after"]
    if branch is None or not _changes_the_config(context.payload):
        return
    default_branch = context.delivery.default_branch or branch
    reads = Reads()  # the organization's file read once for both commits
    config: HotfixConfig | None
    try:
        config = await config_at(context.github, context.repository, after, default_branch, reads)
    except ConfigError as error:
        context.log.warning(
            "push %s to %s: the config cannot be used: %s", after[:7], branch, error
        )
        # The config it replaced says whether the branch is production and which pull
        # requests are hotfixes: they are evaluated again, and each shows the problem now,
        # before one merges under a config its post-merge steps cannot use.
        config = await _config_replaced(context, default_branch, reads)
        if config is None:
            return
    if config.branches.production == branch:
        await recheck_open_hotfixes(context, branch, f"config@{after}", config)


async def _config_replaced(
    context: Context, default_branch: str, reads: Reads
) -> HotfixConfig | None:
    """The config at the push's `before`; None for a new branch, or when it was no usable
    config either (the open hotfixes showed that already)."""
    before = context.payload.get("before")
    if not isinstance(before, str) or not before.strip("0"):
        return None
    try:
        return await config_at(context.github, context.repository, before, default_branch, reads)
    except ConfigError:
        return None


async def on_merged_while_suspended(context: Context) -> None:
    """A hotfix merged while its installation was suspended: the run of its head, when it
    still waits (for approvals given meanwhile, say), concluded as of the merge, as the
    `closed` GitHub did not send would have; before its post-merge run, which then has those
    approvals in its incident report's timeline (no delivery of theirs ever comes)."""
    timer = FiredTimer.of(context.delivery)
    await conclude_merged_while_waiting(context, timer.number, timer.data["head_sha"])


async def on_recheck(context: Context) -> None:
    """An open hotfix pull request's turn to be evaluated again after a tag (`on_tagged`) or
    a change of its config (`on_config_pushed`)."""
    await evaluate_pull_request(context, FiredTimer.of(context.delivery).number)
