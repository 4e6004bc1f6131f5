"""Notices: what hotfix-bot tells the people of a pull request, once each (docs/BEHAVIOUR.md,
'The record and the notices').

A notice is a comment on the pull request (or issue), marked with its id, so that running its
handler again (a retry, a restart, `hotfix-bot redeliver`) finds it and does not post it
twice; once it is posted, the state store remembers it, so that a handler that may send it
at every evaluation (the P0 alert) asks GitHub nothing more. This is the one way notices
leave hotfix-bot: sending them to chat as well belongs here.
"""

from __future__ import annotations

from app.handlers.routing import Context
from policies.clock import hotfix_policy
from policies.config import HotfixConfig
from policies.evaluate import Verdict
from policies.facts import PullRequestFacts
from policies.incident import P0, p0_alert_values
from policies.notices import DEFAULT_TEMPLATES, P0_ALERT, fill


def marker(notice_id: str) -> str:
    """The hidden line that marks a notice's comment."""
    return f"<!-- hotfix-bot notice {notice_id} -->"


async def send_notice(context: Context, number: int, notice_id: str, text: str) -> bool:
    """Post `text` on pull request (or issue) `number` unless the notice `notice_id` is
    there already; False when it was."""
    sent_key = f"notice:{context.repository}:{notice_id}"
    if await context.state.get_state(sent_key) is not None:
        return False
    path = f"/repos/{context.repository}/issues/{number}/comments"
    found = marker(notice_id)
    comments = await context.github.get_all(path)
    posted = not any(found in (comment.get("body") or "") for comment in comments)
    if posted:
        await context.github.request("POST", path, body={"body": f"{found}\n{text}"})
    else:
        context.log.info("notice %s was posted before; not again", notice_id)
    await context.state.set_state(sent_key, "sent")
    return posted


async def alert_p0(
    context: Context,
    config: HotfixConfig | None,
    verdict: Verdict,
    facts: PullRequestFacts | None,
) -> None:
    """The P0 Initial Alert, once, when the evaluation finds a P0 hotfix pull request."""
    if config is None or facts is None or verdict.severity != P0:
        return
    if hotfix_policy(config, verdict) is None or facts.opened_at is None:
        return  # P0 allows no hotfix here: the clock does not run, and there is no alert
    template = config.notices.template(P0_ALERT) or DEFAULT_TEMPLATES[P0_ALERT]
    text = fill(template, p0_alert_values(context.repository, verdict, facts))
    notice_id = f"p0-alert:{context.repository}#{facts.number}"
    if await send_notice(context, facts.number, notice_id, text):
        context.log.info("pull request #%d: posted the P0 alert", facts.number)
