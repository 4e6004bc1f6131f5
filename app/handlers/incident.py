"""The incident report's reminder (docs/BEHAVIOUR.md, 'The record and the notices'): when the
report is due and its issue is still open, one comment on it mentions its assignees.

The `incident-report` post-merge step opens the issue and schedules this timer on it.
"""

from __future__ import annotations

from app.handlers.notices import Sent, send_timer_notice
from app.handlers.routing import Context
from app.journal.timers import FiredTimer
from policies.incident import report_reminder


async def on_report_due(context: Context) -> None:
    """The report came due: remind whoever it is assigned to, unless it was closed."""
    timer = FiredTimer.of(context.delivery)
    issue = await context.github.get_optional(f"/repos/{context.repository}/issues/{timer.number}")
    if issue is None or issue["state"] != "open":
        context.log.info("%s: the report is closed or gone; no reminder", timer.id)
        return
    # Whoever it is assigned to now; the hotfix's author when nobody is.
    assignees = [assignee["login"] for assignee in issue.get("assignees") or []]
    mentions = [f"@{login}" for login in assignees or [timer.data["author"]]]
    text = report_reminder(mentions, timer.data["hotfix"], timer.due_at)
    if await send_timer_notice(context, timer, text, chat=timer.data["chat"]) is Sent.POSTED:
        context.log.info("%s: reminded %s", timer.id, " ".join(mentions))
