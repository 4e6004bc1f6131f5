"""The incident report after it is opened (docs/BEHAVIOUR.md, 'The record and the notices'):
approvals told of after it was opened join its timeline; when it is due and its issue is
still open, one comment on it mentions its assignees.

The `incident-report` post-merge step opens the issue and schedules this timer on it.
"""

from __future__ import annotations

from app.handlers.notices import Sent, send_timer_notice
from app.handlers.release.handler import ReleaseState, release_key, release_pull_request
from app.handlers.release.steps import incident_report
from app.handlers.routing import Context, Handler
from app.journal.timers import FiredTimer
from policies.accounts import is_deleted
from policies.incident import report_reminder


def with_late_approvals(evaluate: Handler) -> Handler:
    """`evaluate`, a handler that evaluates a pull request on a delivery of its own, followed
    by adding to the incident report the approvals the report step has not looked at."""

    async def evaluating(context: Context) -> None:
        await _with_late_approvals(context, evaluate)

    return evaluating


async def _with_late_approvals(context: Context, evaluate: Handler) -> None:
    """Run `evaluate`. GitHub may deliver the reviews that let a hotfix merge after its
    merge, once the post-merge run opened the incident report: an approval the evaluation
    (as of the merge) adds to the timeline then is added to the report by running the
    post-merge steps again, as a re-run of the `hotfix-release` check would. Which approvals
    are new to the report the report step keeps, so an approval an attempt recorded before
    failing, or a command or timer recorded, is found by the next delivery all the same."""
    await evaluate(context)
    number = context.delivery.pr_number
    if number is None:
        return
    # The report first: most pull requests evaluated have none, and need no timeline read.
    state = await ReleaseState.load(context, release_key(context.repository, number))
    report = state.steps.get(incident_report.STEP.key)
    if report is None or report.link is None:
        return
    if await incident_report.approvals_unseen(context, number):
        await release_pull_request(context, number, look_again=incident_report.STEP)


async def on_report_due(context: Context) -> None:
    """The report came due: remind whoever it is assigned to, unless it was closed."""
    timer = FiredTimer.of(context.delivery)
    issue = await context.github.get_optional(f"/repos/{context.repository}/issues/{timer.number}")
    if issue is None or issue["state"] != "open":
        context.log.info("%s: the report is closed or gone; no reminder", timer.id)
        return
    # Whoever it is assigned to now; the hotfix's author when nobody is, unless their account
    # was deleted: then nobody is mentioned.
    assignees = [assignee["login"] for assignee in issue.get("assignees") or []]
    logins = assignees or [timer.data["author"]]
    mentions = [f"@{login}" for login in logins if not is_deleted(login)]
    text = report_reminder(mentions, timer.data["hotfix"], timer.due_at)
    if await send_timer_notice(context, timer, text, chat=timer.data["chat"]) is Sent.POSTED:
        context.log.info("%s: reminded %s", timer.id, " ".join(mentions) or "nobody")
