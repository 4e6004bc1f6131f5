"""The merge group a pull request waits in (docs/BEHAVIOUR.md, 'Merge queues').

A group's `hotfix-policy` run takes the result its pull request had when GitHub asked. What
changes on the pull request while it waits in the queue (an approval dismissed, a label
removed) changes its own run, which the queue no longer looks at: the group's run is made
to fail too, so that the queue takes it out instead of merging what no longer passes.
"""

from __future__ import annotations

import json
from typing import Any

from app.handlers.check_output import CheckOutput, merge_group_output
from app.handlers.checks import write_check_run
from app.handlers.routing import Context
from policies.evaluate import Conclusion, Verdict

CHECK_NAME = "hotfix-policy"

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
    (`verdict`, `policy`) of the pull request it adds, and remember the group as the one that
    pull request waits in."""
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
    await context.state.set_state(_key(context, pull["number"]), json.dumps(head_sha))
    context.log.info("merge group %s: %s", head_sha, output.title)


async def fail_waiting_group(
    context: Context, pull: dict[str, Any], verdict: Verdict, policy: CheckOutput
) -> None:
    """When open pull request `pull` no longer passes (`verdict`, `policy`), fail the run of
    the merge group it was last checked in, if any: the queue then takes it out."""
    if verdict.conclusion in PASSING:
        return
    stored = await context.state.get_state(_key(context, pull["number"]))
    if stored is not None:
        await write_group_run(context, json.loads(stored), pull, verdict, policy)
