"""The `hotfix-policy` check on a merge queue's merge groups (docs/BEHAVIOUR.md, 'Merge
queues').

A branch that requires `hotfix-policy` and has a merge queue requires it on the head commit
of each merge group too. A group adds one pull request to those queued ahead of it, whose
own groups are checked already, so the group takes that pull request's result, evaluated
now as its own check is, on its own head commit. A hotfix that passes so passes its group
too, but when the queue ahead of it already holds its version, the group's summary warns
that merged after them it would raise none, and its release would fail.
"""

from __future__ import annotations

from datetime import UTC, datetime

from app.github.files import read_files
from app.handlers.check_output import (
    CHECK_NAME,
    QueuedVersions,
    unnamed_merge_group_output,
    version_taken_in_queue_warning,
)
from app.handlers.checks import refusal_shown, report_failure, write_check_run
from app.handlers.policy import (
    Evaluation,
    policy_evaluation,
    read_pull_request,
    rerun_check,
)
from app.handlers.queued_group import write_group_run
from app.handlers.routing import Context
from app.intake.delivery import Delivery, queued_group_base
from policies.evaluate import Conclusion
from policies.result import Status
from policies.rules.version_bump import NAME as VERSION_BUMP
from policies.versions import declared_version, head_version, tag_name

MERGE_GROUP_ACTIONS = ("checks_requested",)


def on_a_merge_group(delivery: Delivery) -> bool:
    """A check run's or suite's delivery on a merge group's commit."""
    return delivery.on_merge_group


def not_on_a_merge_group(delivery: Delivery) -> bool:
    return not delivery.on_merge_group


async def on_checks_requested(context: Context) -> None:
    """merge_group `checks_requested`: write `hotfix-policy` on the group's head commit."""
    group = context.payload["merge_group"]
    head_sha = group["head_sha"]
    number = context.delivery.pr_number  # read from the group's head_ref
    if number is None:
        # Unknown content is not let through: failing removes it from the queue, which then
        # goes on with the next group.
        output = unnamed_merge_group_output(group.get("head_ref"))
        await write_check_run(context, CHECK_NAME, head_sha, output, conclusion="failure")
        context.log.warning("merge group %s names no pull request", group.get("head_ref"))
        return
    # GitHub names the commit the group is built on; the group's branch name holds it too.
    group_base = group.get("base_sha") or queued_group_base(group.get("head_ref"))
    await _check_group(context, head_sha, number, group_base)


async def on_rerequest(context: Context) -> None:
    """check_run / check_suite `rerequested` on a merge group's commit: the group is checked
    again, as when GitHub first asked."""
    check = rerun_check(context.payload)
    number = context.delivery.pr_number  # read from the group's branch
    if check is not None and number is not None:
        suite = check.get("check_suite") or check  # a re-run run's suite, or the suite itself
        group_base = queued_group_base(suite.get("head_branch"))
        await _check_group(context, check["head_sha"], number, group_base)


async def _check_group(
    context: Context, head_sha: str, number: int, group_base: str | None
) -> None:
    """Write `hotfix-policy` on `head_sha`, the commit of a merge group adding pull request
    `number`, built on `group_base` (when known)."""
    github, repository = context.github, context.repository
    try:
        pull, reviews, records = await read_pull_request(context, number)
        if pull["state"] != "open":
            # Closing a pull request takes it out of the queue: no group waits for this one.
            context.log.info("pull request #%d is %s; nothing to check", number, pull["state"])
            return
        now = datetime.fromtimestamp(context.clock(), UTC)
        evaluation = await policy_evaluation(github, repository, pull, reviews, records, now)
        policy, conclusion = evaluation.output(()), evaluation.verdict.conclusion
        # Built on the base branch itself, the group holds nothing the evaluation did not see.
        queued = (
            await _version_taken_ahead(context, evaluation, group_base)
            if conclusion is Conclusion.SUCCESS and group_base not in (None, pull["base"]["sha"])
            else None
        )
    except Exception as error:
        await report_failure(
            context, CHECK_NAME, head_sha, error, f"Could not evaluate pull request #{number}"
        )
        raise
    warning = None if queued is None else version_taken_in_queue_warning(pull, queued)
    await write_group_run(context, head_sha, pull, evaluation.verdict, policy, warning)


async def _version_taken_ahead(
    context: Context, evaluation: Evaluation, group_base: str
) -> QueuedVersions | None:
    """The versions, when the hotfix `evaluation` passed ships one that the commit its group
    is built on, `group_base`, already holds or passed: the pull requests queued ahead of it
    raise the version too. None for a pull request whose version bump was not judged to pass
    (no hotfix, or the glass broken over it)."""
    config, facts = evaluation.config, evaluation.facts
    bump_passed = any(
        result.rule == VERSION_BUMP and result.status is Status.PASS
        for result in evaluation.verdict.results
    )
    if config is None or facts is None or not bump_passed:
        return None
    shipped = head_version(config, facts.base_version_files, facts.head_version_files)
    paths = [path for path, text in facts.base_version_files.items() if text is not None]
    try:
        at_group_base = await read_files(context.github, context.repository, group_base, paths)
    except Exception as error:
        # The warning only advises: GitHub refusing this read, or still failing it on the last
        # attempt, leaves the group's run as its pull request's result makes it, unwarned. An
        # error that may pass is tried again with the delivery.
        refusal = refusal_shown(context, error)
        if refusal is None:
            raise
        context.log.warning(
            "merge group base %s: version not read, so not compared: %s",
            group_base[:7],
            refusal.words,
        )
        return None
    ahead = declared_version(config, at_group_base)
    if shipped is None or ahead is None or ahead < shipped:
        return None
    return QueuedVersions(group_base, shipped, ahead, tag_name(config, str(ahead)))
