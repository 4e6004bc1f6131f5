"""The `hotfix-policy` check on a merge queue's merge groups (docs/BEHAVIOUR.md, 'Merge
queues').

A branch that requires `hotfix-policy` and has a merge queue requires it on the head commit
of each merge group too. A group adds one pull request to those queued ahead of it, whose
own groups are checked already, so the group takes that pull request's result, evaluated
now as its own check is, on its own head commit.
"""

from __future__ import annotations

from datetime import UTC, datetime

from app.handlers.check_output import merge_group_output, unnamed_merge_group_output
from app.handlers.checks import report_failure, write_check_run
from app.handlers.policy import CHECK_NAME, policy_evaluation, read_pull_request, rerun_check
from app.handlers.routing import Context
from app.intake.delivery import Delivery
from policies.evaluate import Conclusion

MERGE_GROUP_ACTIONS = ("checks_requested",)

# A group passes when the pull request it adds would pass a required check on its own.
_PASSING = (Conclusion.SUCCESS, Conclusion.NEUTRAL)


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
    await _check_group(context, head_sha, number)


async def on_rerequest(context: Context) -> None:
    """check_run / check_suite `rerequested` on a merge group's commit: the group is checked
    again, as when GitHub first asked."""
    check = rerun_check(context.payload)
    number = context.delivery.pr_number  # read from the group's branch
    if check is not None and number is not None:
        await _check_group(context, check["head_sha"], number)


async def _check_group(context: Context, head_sha: str, number: int) -> None:
    """Write `hotfix-policy` on `head_sha`, the commit of a merge group adding pull request
    `number`."""
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
    except Exception as error:
        await report_failure(
            context, CHECK_NAME, head_sha, error, f"Could not evaluate pull request #{number}"
        )
        raise
    output = merge_group_output(number, pull["title"], pull["head"]["sha"], conclusion, policy)
    await write_check_run(
        context,
        CHECK_NAME,
        head_sha,
        output,
        conclusion="success" if conclusion in _PASSING else "failure",
        details_url=pull["html_url"],
    )
    context.log.info("merge group %s: %s", head_sha, output.title)
