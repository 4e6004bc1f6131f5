"""The one table that routes deliveries to the handlers, and the router's hooks to theirs.

Adding a handler: a module in app/handlers/ with `async def on_x(context: Context) -> None`,
and one `router.add` line below (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

from app.handlers import (
    clock,
    incident,
    installation,
    merge_group,
    notices,
    policy,
    release,
    repository,
    suspensions,
)
from app.handlers.commands import confirm, dispatch
from app.handlers.release import production
from app.handlers.release.steps import incident_report, verbal_approvals
from app.handlers.routing import INSTALLATION_EVENT, Router
from app.journal.timers import TIMER_EVENT
from policies.clock import ESCALATION, OVERDUE


def build_router() -> Router:
    router = Router()
    # A delivery's evaluation of a pull request adds the approvals the report has not seen to
    # its incident report. A timer's does not: one whose reason went with the merge does
    # nothing, and the approval's own delivery, after it, adds it.
    evaluated = incident.with_late_approvals(policy.on_pull_request)
    router.add("pull_request", policy.PULL_REQUEST_ACTIONS, evaluated, supersedable=True)
    router.add("pull_request_review", policy.REVIEW_ACTIONS, evaluated, supersedable=True)
    router.add(
        "pull_request",
        release.PULL_REQUEST_ACTIONS,
        release.on_pull_request_closed,
        when=release.merged,
    )
    # After the post-merge steps, which a failure here must not hold back.
    closed = incident.with_late_approvals(policy.on_pull_request_closed)
    router.add("pull_request", policy.CLOSED_ACTIONS, closed)
    # A re-run on a merge group's commit checks the group; on any other, its pull requests.
    not_on_a_group, on_a_group = merge_group.not_on_a_merge_group, merge_group.on_a_merge_group
    router.add("check_run", ["rerequested"], policy.on_rerequest, when=not_on_a_group)
    router.add("check_run", ["rerequested"], merge_group.on_rerequest, when=on_a_group)
    router.add("push", None, release.push.on_push, when=release.push.pushed_a_branch)
    router.add("push", None, production.on_config_pushed, when=release.push.pushed_a_branch)
    router.add("check_run", ["rerequested"], release.on_rerequest)
    router.add("check_run", ["rerequested"], release.push.on_rerequest)
    router.add("check_suite", ["rerequested"], policy.on_rerequest, when=not_on_a_group)
    router.add("check_suite", ["rerequested"], merge_group.on_rerequest, when=on_a_group)
    router.add("check_suite", ["rerequested"], release.on_rerequest)
    router.add("check_suite", ["rerequested"], release.push.on_rerequest)
    router.add("merge_group", merge_group.MERGE_GROUP_ACTIONS, merge_group.on_checks_requested)
    router.add("issue_comment", dispatch.ACTIONS, dispatch.on_command, when=dispatch.is_command)
    router.add(
        "pull_request_review",
        ["submitted"],
        confirm.on_review_after_merge,
        when=confirm.after_merge,
    )
    router.add("repository", repository.ACTIONS, repository.on_repository_moved)
    router.add(
        INSTALLATION_EVENT,
        installation.SUSPEND_ACTIONS,
        installation.on_suspend,
        without_github=True,
    )
    router.add(INSTALLATION_EVENT, installation.UNSUSPEND_ACTIONS, installation.on_unsuspend)
    router.add(
        INSTALLATION_EVENT,
        [installation.INFERRED_UNSUSPEND],
        installation.on_unsuspend_inferred,
        internal=True,
    )
    # A delivery GitHub refused for the suspension: its start, should the `suspend` not come.
    router.on_suspended(suspensions.met)
    # A token GitHub granted after that start: its end, should the `unsuspend` not come.
    router.on_granted(installation.on_token_granted)
    # Timers the journal fired (app/timers.py), by kind.
    router.add(TIMER_EVENT, [ESCALATION], clock.on_escalation)
    router.add(TIMER_EVENT, [OVERDUE], clock.on_overdue)
    router.add(TIMER_EVENT, [clock.CONFIG_RECHECK], clock.on_config_recheck)
    router.add(TIMER_EVENT, [incident_report.REMINDER], incident.on_report_due)
    router.add(TIMER_EVENT, [notices.CHAT], notices.on_chat, aside=True)
    router.add(
        TIMER_EVENT,
        [verbal_approvals.CONFIRMATION_REMINDER],
        verbal_approvals.on_confirmation_reminder,
    )
    # Its head's run concluded before its post-merge steps (`release.on_resume`), so that the
    # approvals given meanwhile, of which no delivery comes, are in the record they write.
    router.add(
        TIMER_EVENT, [production.MERGED_WHILE_SUSPENDED], production.on_merged_while_suspended
    )
    router.add(TIMER_EVENT, [release.RESUME, production.MERGED_WHILE_SUSPENDED], release.on_resume)
    router.add(TIMER_EVENT, [production.TAGGED], production.on_tagged)
    router.add(TIMER_EVENT, [production.RECHECK], production.on_recheck)
    return router
