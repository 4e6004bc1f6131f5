"""The merge groups a pull request waits in (docs/BEHAVIOUR.md, 'Merge queues').

A group's `hotfix-policy` run takes the result its pull request had when GitHub asked. What
changes on the pull request while it waits in the queue (an approval dismissed, a label
removed) changes its own run, which the queue no longer looks at: the group's run is made
to fail too, so that the queue takes it out instead of merging what no longer passes.
"""

from __future__ import annotations

from typing import Any

from app.github.client import path_part
from app.handlers.check_output import CHECK_NAME, CheckOutput, merge_group_output
from app.handlers.checks import refusal_shown, write_check_run
from app.handlers.routing import Context
from policies.evaluate import Conclusion, Verdict

# A group passes when the pull request it adds would pass a required check on its own.
PASSING = (Conclusion.SUCCESS, Conclusion.NEUTRAL)


def _key(context: Context, number: int) -> str:
    return f"merge-group:{context.repository}#{number}"


async def write_group_run(
    context: Context,
    head_sha: str,
    pull: dict[str, Any],
    verdict: Verdict,
    policy: CheckOutput,
    warning: str | None = None,
) -> None:
    """Write the `hotfix-policy` run of the merge group on `head_sha` from the result
    (`verdict`, `policy`) of the pull request it adds, and, when it passes, remember that
    pull request as queued."""
    conclusion = verdict.conclusion
    output = merge_group_output(
        pull["number"],
        pull["title"],
        pull["head"]["sha"],
        conclusion,
        policy,
        warning,
        broken_glass=verdict.break_glass is not None,
    )
    await write_check_run(
        context,
        CHECK_NAME,
        head_sha,
        output,
        conclusion="success" if conclusion in PASSING else "failure",
        details_url=pull["html_url"],
    )
    if conclusion in PASSING:  # a failing group leaves the queue: nothing to fail later
        await context.state.set_state(_key(context, pull["number"]), "queued")
    context.log.info("merge group %s: %s", head_sha, output.title)


async def fail_waiting_groups(
    context: Context, pull: dict[str, Any], verdict: Verdict, policy: CheckOutput
) -> None:
    """When open pull request `pull` no longer passes (`verdict`, `policy`), fail the runs of
    the merge groups that add it, if any: the queue then takes it out."""
    number = pull["number"]
    if (
        verdict.conclusion in PASSING
        or await context.state.get_state(_key(context, number)) is None
    ):
        return  # nothing to fail, or never queued: no request spent looking for its groups
    # The queue's branches are its live groups (GitHub deletes a group's as it goes), found
    # with one request; a group checked once may be gone, or its check delivered late.
    prefix = f"heads/gh-readonly-queue/{pull['base']['ref']}/pr-{number}-"
    try:
        refs = await context.github.get_all(
            f"/repos/{context.repository}/git/matching-refs/{path_part(prefix)}", page_size=None
        )
        for ref in refs:
            await write_group_run(context, ref["object"]["sha"], pull, verdict, policy)
    except Exception as error:
        # The pull request's own run, written already, shows its result; GitHub refusing
        # this, or still failing it on the last attempt, leaves its groups as they were. An
        # error that may pass is tried again with the delivery.
        refusal = refusal_shown(context, error)
        if refusal is None:
            raise
        context.log.warning(
            "pull request #%d: its merge groups not failed: %s", number, refusal.words
        )
