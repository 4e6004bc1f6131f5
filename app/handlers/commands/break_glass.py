"""`/hotfix break-glass <reason>` and `/hotfix break-glass off`.

While the glass is broken, and the severity labelled allows a break-glass, the hotfix-policy
check passes with every rule that fails or waits shown as waived; after the merge a
retroactive review issue is opened (the `retro-review` post-merge step). Who may break it is
`severities.<S>.break_glass`; the one who broke it, or anyone who may fill an approval group
of the severity it was broken under, withdraws it, whatever the labels are now. On a rollback
the severity is the rolled-back hotfix's, and its approvers are the rollback's. Commands end
as they were written, whatever order they are delivered in: a break-glass written before the
latest withdrawal, or before the break-glass in force, is not in force; but the same command
posted again is one break-glass, broken when the first was written.
"""

from __future__ import annotations

import string
from dataclasses import replace
from datetime import datetime
from typing import Any

from app.github.client import timestamp
from app.handlers import timeline
from app.handlers.commands.command import (
    Command,
    Invocation,
    Refusal,
    answered_key,
    rollback_groups,
    who,
)
from app.handlers.notices import send_to_chat
from app.handlers.records import BreakGlassRecord, Withdrawal, written_order
from policies.commands import CommandError, Parsed, Syntax, parse
from policies.config import CONFIG_PATH, ApprovalGroup
from policies.facts import BreakGlass
from policies.incident import glass_broken_message, glass_mended_message
from policies.timeline import TimelineEvent, glass_broken, glass_mended
from policies.wording import REASON_LIMIT, join_words, shortened


def read(text: str) -> str | None:
    """The reason, cut to `REASON_LIMIT` characters; None for `off` (any case, trailing
    punctuation aside: `Off.`). A reason that begins with the word `off` is refused: read as
    a reason it would break the glass again when the commenter meant to withdraw it."""
    if not text:
        raise CommandError("it needs a reason: `/hotfix break-glass <reason>`")
    if text.rstrip(string.punctuation + string.whitespace).casefold() == "off":
        return None
    if text.split()[0].rstrip(string.punctuation).casefold() == "off":
        raise CommandError(
            "`off` withdraws the break-glass and takes nothing after it, so a reason cannot "
            "begin with the word `off`"
        )
    return shortened(text, REASON_LIMIT)


async def permitted(invocation: Invocation, reason: str | None) -> None:
    if reason is None:
        await _may_withdraw(invocation)
    else:
        await _may_break(invocation)


async def break_glass(invocation: Invocation, reason: str | None) -> None:
    """Each command takes effect at its place in the order the commands were written, so
    that whatever order GitHub delivers them in, they end as they would in order."""
    context, number = invocation.context, invocation.number
    events = _withdraw(invocation) if reason is None else await _break(invocation, reason)
    # The rows before the record: a retry after a crash between them finds the glass as the
    # command left it and words no event, so a row recorded later would be lost.
    if events:
        await timeline.record(context, number, events)
    await invocation.records.save(context)
    if invocation.config.notify.chat:
        await _tell_chat(invocation, reason)
    await invocation.show()


async def _tell_chat(invocation: Invocation, reason: str | None) -> None:
    """Chat hears of a break-glass this command put in force, and of this command
    withdrawing one in force (which chat heard of): a channel told that the rules are waived
    must hear when they are not any more. A command that ended nothing in force, or one a
    command written after it ended first, is no news. Both are found again on a retry (the
    records, the timeline's row), and a message is sent once."""
    context, number, comment_id = invocation.context, invocation.number, invocation.comment_id
    title = str(invocation.pull["title"])
    if reason is None:
        mended = glass_mended(invocation.commenter, invocation.written_at, comment_id)
        if all(event.key != mended.key for event in await timeline.load(context, number)):
            return
        notice, text = (
            f"break-glass-off:{comment_id}",
            glass_mended_message(invocation.commenter, number, title),
        )
    else:
        glass_record = invocation.records.break_glass
        if glass_record is None or glass_record.comment_id != comment_id:
            return
        notice, text = (
            f"break-glass:{glass_record.told_by}",
            glass_broken_message(glass_record.glass, number, title),
        )
    await send_to_chat(context, number, notice, text, context.payload["comment"].get("html_url"))


def _withdraw(invocation: Invocation) -> list[TimelineEvent]:
    """Withdraws the break-glass written before this command, whatever the labels are now (a
    break-glass not in force may come back into force), and keeps this withdrawal for one
    written before it that is delivered after it."""
    invocation.require_open()
    records = invocation.records
    withdrawal = Withdrawal(invocation.commenter, invocation.written_at, invocation.comment_id)
    if records.glass_withdrawn is None or records.glass_withdrawn.written < withdrawal.written:
        records.glass_withdrawn = withdrawal
    current = records.break_glass
    if current is None or withdrawal.written < current.written:
        # Nothing to withdraw (or this very command withdrew it before a retry), or a
        # break-glass written after this command, which it does not withdraw.
        return []
    records.break_glass = None
    return [glass_mended(withdrawal.by, withdrawal.at, withdrawal.comment_id)]


async def _break(invocation: Invocation, reason: str) -> list[TimelineEvent]:
    """Breaks the glass, unless a withdrawal or a break-glass written after this command was
    delivered before it: then it is recorded as broken and ended, as it would be in order."""
    severity = (await invocation.open_severity()).severity
    glass = BreakGlass(invocation.commenter, reason, invocation.written_at)
    record = BreakGlassRecord(glass, invocation.comment_id, severity)
    events = [glass_broken(glass, invocation.comment_id)]
    records = invocation.records
    current = records.break_glass
    if current is not None and await _posted_again(invocation, current, record):
        return []  # the glass stays as it was broken: no second row, no second alert
    withdrawal = records.glass_withdrawn
    if (
        withdrawal is not None
        and record.written < withdrawal.written
        and await _withdrawal_refused(invocation, record, withdrawal.by) is None
    ):
        return [*events, glass_mended(withdrawal.by, withdrawal.at, withdrawal.comment_id)]
    if current is not None and await _posted_again(invocation, record, current):
        # Posted again and delivered first: the glass was broken when this one was written, as
        # in order. Its row and record move here; chat heard of it from the other.
        records.break_glass = replace(record, told=current.told_by)
        moved = glass_broken(current.glass, current.comment_id).key
        await timeline.replace(invocation.context, invocation.number, moved, events[0])
        return []
    if current is None or current.written < record.written:
        records.break_glass = record  # replaces one written before it; on a retry, it is kept
    return events


async def _posted_again(
    invocation: Invocation, first: BreakGlassRecord, again: BreakGlassRecord
) -> bool:
    """Whether `again` is `first` posted again (a double submit, or no patience while the
    check catches up): by the same person, for the same reason and severity, written after
    it, and with nothing written between them that ends or replaces `first` in order: no
    withdrawal still to be delivered (one delivered is in the records), no other break-glass."""
    if not (
        first.written < again.written
        and first.glass.by.casefold() == again.glass.by.casefold()
        and (first.glass.reason, first.severity) == (again.glass.reason, again.severity)
    ):
        return False
    for comment, reason in await _commands_between(invocation, first.written, again.written):
        if reason is None:
            if not await _answered(invocation, comment):
                return False
        elif (_login(comment), reason) != (first.glass.by.casefold(), first.glass.reason):
            return False
    return True


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
        refusal = (
            f"only {who(allowed.teams, allowed.users)} may break the glass for {governing.words}"
        )
        if allowed.teams and invocation.personal_account:
            repository = invocation.context.repository
            refusal += (
                f"; {repository} belongs to the personal account {invocation.context.owner}, "
                f"which has no teams: name people under `severities.{severity}.break_glass.users`"
                f" in `{CONFIG_PATH}`"
            )
        raise Refusal(refusal)


async def _may_withdraw(invocation: Invocation) -> None:
    current = invocation.records.break_glass
    written = written_order(invocation.written_at, invocation.comment_id)
    if current is None:
        await _require_something_to_withdraw(invocation)
        return
    if written < current.written:
        return  # a break-glass written after this command, which it does not withdraw
    refusal = await _withdrawal_refused(invocation, current, invocation.commenter)
    if refusal is not None:
        raise refusal


async def _require_something_to_withdraw(invocation: Invocation) -> None:
    """A refusal when no break-glass is in force and none written before this command is
    still to be delivered: there is nothing to withdraw, and nothing is recorded. One on its
    way (GitHub delivers comments in any order) is withdrawn by this command when it comes."""
    invocation.require_open()
    withdrawn = invocation.records.glass_withdrawn
    if withdrawn is not None and withdrawn.comment_id == invocation.comment_id:
        return  # this command withdrew it before a retry
    written = written_order(invocation.written_at, invocation.comment_id)
    on_its_way = [
        comment
        for comment, reason in await _commands_between(invocation, None, written)
        if reason is not None and not await _answered(invocation, comment)
    ]
    if not on_its_way:
        raise Refusal(
            "no break-glass is in force on this pull request, so there is nothing to withdraw"
        )


async def _commands_between(
    invocation: Invocation, after: tuple[datetime, int] | None, before: tuple[datetime, int]
) -> list[tuple[dict[str, Any], str | None]]:
    """The break-glass commands written between `after` (None: the opening) and `before`, as
    the comments of the pull request say, each with its reason (None: a withdrawal)."""
    context = invocation.context
    comments = await context.github.get_all(
        f"/repos/{context.repository}/issues/{invocation.number}/comments"
    )
    found: list[tuple[dict[str, Any], str | None]] = []
    for comment in comments:
        created_at = timestamp(comment.get("created_at"))
        if created_at is None:
            continue
        order = written_order(created_at, comment["id"])
        if order >= before or (after is not None and order <= after):
            continue
        if (comment.get("user") or {}).get("type") == "Bot":
            continue  # bots' comments are never commands
        parsed = parse(comment.get("body") or "", [COMMAND.syntax])
        if isinstance(parsed, Parsed):
            found.append((comment, parsed.arguments))
    return found


async def _answered(invocation: Invocation, comment: dict[str, Any]) -> bool:
    """Whether the command `comment` was answered: not still to be delivered (GitHub delivers
    comments in any order)."""
    key = answered_key(invocation.context, comment["id"])
    return await invocation.context.state.get_state(key) is not None


def _login(comment: dict[str, Any]) -> str:
    return str((comment.get("user") or {}).get("login", "")).casefold()


async def _withdrawal_refused(
    invocation: Invocation, glass: BreakGlassRecord, login: str
) -> Refusal | None:
    """Why `login` may not withdraw `glass`; None when they may: the one who broke it, or an
    approver of the severity it was broken under (of a rollback: an approver of the
    rollback)."""
    if glass.glass.by.casefold() == login.casefold():
        return None
    severity = glass.severity
    approvers: list[ApprovalGroup] | tuple[ApprovalGroup, ...]
    if await invocation.rolled_back() is not None:
        approvers, whose = rollback_groups(invocation.config, severity), "this rollback"
    else:
        policy = invocation.config.severities.get(severity)  # gone when the config dropped it
        approvers, whose = (policy.approvals if policy is not None else []), f"severity {severity}"
    if await invocation.may_fill_a_group(login, approvers):
        return None
    groups = join_words([group.name for group in approvers]) or "none"
    return Refusal(
        f"only {glass.glass.by}, who broke the glass, or an approver of {whose} "
        f"({groups}) may withdraw it"
    )


COMMAND = Command(
    Syntax("break-glass", ("/hotfix break-glass <reason>", "/hotfix break-glass off"), read),
    permitted,
    break_glass,
)
