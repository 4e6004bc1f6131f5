"""Notices: what hotfix-bot tells the people of a pull request, once each.

A notice is a comment on the pull request, marked with its id, so that running its handler
again (a retry, a restart, `hotfix-bot redeliver`) finds it and does not post it twice.
This is the one way notices leave hotfix-bot: sending them to chat as well belongs here.
"""

from __future__ import annotations

from datetime import timedelta

from app.handlers.check_output import when
from app.handlers.routing import Context
from app.journal.timers import FiredTimer
from policies.wording import duration_words

# A timer's notice later than this says when it was due: people read it as news otherwise.
LATE_NOTICE = timedelta(minutes=1)


def marker(notice_id: str) -> str:
    """The hidden line that marks a notice's comment."""
    return f"<!-- hotfix-bot notice {notice_id} -->"


async def send_notice(context: Context, number: int, notice_id: str, text: str) -> bool:
    """Post `text` on pull request (or issue) `number` unless the notice `notice_id` is
    there already; False when it was."""
    return await comment_once(context, number, marker(notice_id), text)


async def comment_once(context: Context, number: int, hidden_line: str, text: str) -> bool:
    """Post `text` on pull request (or issue) `number`, headed by `hidden_line` (an HTML
    comment), unless a comment there has that line already; False when one had. A command's
    reply is posted so too: it is no notice, and goes nowhere else."""
    path = f"/repos/{context.repository}/issues/{number}/comments"
    comments = await context.github.get_all(path)
    if any(hidden_line in (comment.get("body") or "") for comment in comments):
        context.log.info("%s was posted before; not again", hidden_line)
        return False
    await context.github.request("POST", path, body={"body": f"{hidden_line}\n{text}"})
    return True


async def send_timer_notice(context: Context, timer: FiredTimer, text: str) -> bool:
    """`send_notice` for the timer `timer`, on its pull request; when it fired more than
    `LATE_NOTICE` late (the service was down), the comment ends saying so."""
    if timer.late_by > LATE_NOTICE:
        text += (
            f"\n\nThis reminder was due at {when(timer.expected_at)}; hotfix-bot sends it "
            f"{duration_words(timer.late_by)} late."
        )
    return await send_notice(context, timer.number, timer.id, text)
