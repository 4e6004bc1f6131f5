"""`/hotfix break-glass <reason>` and `/hotfix break-glass off`.

While the glass is broken, and the severity labelled allows a break-glass, the hotfix-policy
check passes with every rule that fails or waits shown as waived; after the merge a
retroactive review issue is opened (the `retro-review` post-merge step). Who may break it is
`severities.<S>.break_glass`; the one who broke it, or anyone who may fill an approval group
of the severity it was broken under, withdraws it, whatever the labels are now. On a rollback
the severity is the rolled-back hotfix's, and its approvers are the rollback's.
"""

from __future__ import annotations

import string

from app.handlers import timeline
from app.handlers.commands.command import (
    Command,
    Invocation,
    Refusal,
    rollback_groups,
    shown,
    who,
)
from app.handlers.notices import send_to_chat
from app.handlers.policy import evaluate_pull_request
from app.handlers.records import BreakGlassRecord
from policies.commands import CommandError, Syntax
from policies.config import CONFIG_PATH, ApprovalGroup
from policies.facts import BreakGlass
from policies.incident import glass_broken_message
from policies.timeline import glass_broken, glass_mended
from policies.wording import join_words


def read(text: str) -> str | None:
    """The reason; None for `off` (any case, trailing punctuation aside: `Off.`). A reason
    that begins with the word `off` is refused: read as a reason it would break the glass
    again when the commenter meant to withdraw it."""
    if not text:
        raise CommandError("it needs a reason: `/hotfix break-glass <reason>`")
    if text.rstrip(string.punctuation + string.whitespace).casefold() == "off":
        return None
    if text.split()[0].rstrip(string.punctuation).casefold() == "off":
        raise CommandError(
            "`off` withdraws the break-glass and takes nothing after it, so a reason cannot "
            "begin with the word `off`"
        )
    return text


async def permitted(invocation: Invocation, reason: str | None) -> None:
    if reason is None:
        await _may_withdraw(invocation)
    else:
        await _may_break(invocation)


async def break_glass(invocation: Invocation, reason: str | None) -> None:
    context, number = invocation.context, invocation.number
    event = None
    if reason is None:
        # Whatever the labels are now: a break-glass not in force may come back into force.
        invocation.require_open()
        if invocation.records.break_glass is not None:
            # None: nothing to withdraw (or this very command withdrew it before a retry)
            event = glass_mended(invocation.commenter, invocation.written_at, invocation.comment_id)
        invocation.records.break_glass = None
    else:
        severity = (await invocation.open_severity()).severity
        glass = BreakGlass(invocation.commenter, reason, invocation.written_at)
        invocation.records.break_glass = BreakGlassRecord(glass, invocation.comment_id, severity)
        event = glass_broken(glass, invocation.comment_id)
    # The row before the record: a retry after a crash between them finds the glass as the
    # command left it and words no event, so a row recorded later would be lost.
    if event is not None:
        await timeline.record(context, number, [event])
    await invocation.records.save(context)
    glass_record = invocation.records.break_glass
    if reason is not None and glass_record is not None and invocation.config.notify.chat:
        text = glass_broken_message(glass_record.glass, number, str(invocation.pull["title"]))
        link = context.payload["comment"].get("html_url")
        await send_to_chat(context, number, f"break-glass:{glass_record.comment_id}", text, link)
    await shown(evaluate_pull_request(context, number))


async def _may_break(invocation: Invocation) -> None:
    """The severity's `break_glass` teams and users may, whatever their access."""
    governing = await invocation.open_severity()
    severity, allowed = governing.severity, governing.policy.break_glass
    if allowed is None:
        raise Refusal(
            f"{governing.words} allows no break-glass "
            f"(`severities.{severity}.break_glass` in `{CONFIG_PATH}`)"
        )
    if not await invocation.is_among(invocation.commenter, allowed.teams, allowed.users):
        raise Refusal(
            f"only {who(allowed.teams, allowed.users)} may break the glass for {governing.words}"
        )


async def _may_withdraw(invocation: Invocation) -> None:
    """The one who broke it, or an approver of the severity it was broken under (of a
    rollback: an approver of the rollback)."""
    current = invocation.records.break_glass
    if current is None:
        return  # nothing to withdraw (or this very command withdrew it before a retry)
    if current.glass.by.casefold() == invocation.commenter.casefold():
        return
    severity = current.severity
    approvers: list[ApprovalGroup] | tuple[ApprovalGroup, ...]
    if await invocation.rolled_back() is not None:
        approvers, whose = rollback_groups(invocation.config, severity), "this rollback"
    else:
        policy = invocation.config.severities.get(severity)  # gone when the config dropped it
        approvers, whose = (policy.approvals if policy is not None else []), f"severity {severity}"
    if not await invocation.may_fill_a_group(invocation.commenter, approvers):
        groups = join_words([group.name for group in approvers]) or "none"
        raise Refusal(
            f"only {current.glass.by}, who broke the glass, or an approver of {whose} "
            f"({groups}) may withdraw it"
        )


COMMAND = Command(
    Syntax("break-glass", ("/hotfix break-glass <reason>", "/hotfix break-glass off"), read),
    permitted,
    break_glass,
)
