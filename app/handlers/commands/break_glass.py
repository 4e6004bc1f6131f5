"""`/hotfix break-glass <reason>` and `/hotfix break-glass off`.

While the glass is broken, the hotfix-policy check passes with every rule that fails or
waits shown as waived; after the merge a retroactive review issue is opened (the
`retro-review` post-merge step). Who may break it is `severities.<S>.break_glass`; the one
who broke it, or anyone who may fill an approval group of the severity, withdraws it.
"""

from __future__ import annotations

from app.handlers import timeline
from app.handlers.commands.command import Command, Invocation, Refusal
from app.handlers.notices import send_to_chat
from app.handlers.policy import evaluate_pull_request
from app.handlers.records import BreakGlassRecord
from policies.commands import CommandError, Syntax
from policies.config import CONFIG_PATH, BreakGlassConfig, SeverityPolicy
from policies.facts import BreakGlass
from policies.incident import glass_broken_message
from policies.timeline import TimelineEvent, glass_broken, glass_mended
from policies.wording import join_words


def read(text: str) -> str | None:
    """The reason; None for `off`."""
    if not text:
        raise CommandError("it needs a reason: `/hotfix break-glass <reason>`")
    return None if text.casefold() == "off" else text


async def break_glass(invocation: Invocation, reason: str | None) -> None:
    severity, policy = invocation.open_hotfix_severity()
    context, number = invocation.context, invocation.number
    if reason is None:
        event = await _withdraw(invocation, severity, policy)
    else:
        event = await _break(invocation, severity, policy.break_glass, reason)
    await invocation.records.save(context)
    if event is not None:
        await timeline.record(context, number, [event])
    glass = invocation.records.break_glass
    if reason is not None and glass is not None and invocation.config.notify.chat:
        text = glass_broken_message(glass.glass, number, str(invocation.pull["title"]))
        link = context.payload["comment"].get("html_url")
        await send_to_chat(context, number, f"break-glass:{glass.comment_id}", text, link)
    await evaluate_pull_request(context, number)


async def _break(
    invocation: Invocation, severity: str, allowed: BreakGlassConfig | None, reason: str
) -> TimelineEvent:
    if allowed is None:
        raise Refusal(
            f"severity {severity} allows no break-glass "
            f"(`severities.{severity}.break_glass` in `{CONFIG_PATH}`)"
        )
    if not await invocation.commenter_in(allowed.teams, allowed.users):
        raise Refusal(f"only {_who(allowed)} may break the glass for severity {severity}")
    glass = BreakGlass(invocation.commenter, reason, invocation.written_at)
    invocation.records.break_glass = BreakGlassRecord(glass, invocation.comment_id)
    return glass_broken(glass, invocation.comment_id)


async def _withdraw(
    invocation: Invocation, severity: str, policy: SeverityPolicy
) -> TimelineEvent | None:
    current = invocation.records.break_glass
    if current is None:
        return None  # nothing to withdraw (or this very command withdrew it before a retry)
    approvers = policy.approvals
    broke_it = current.glass.by.casefold() == invocation.commenter.casefold()
    if not broke_it and not await invocation.commenter_in(
        [group.team for group in approvers if group.team],
        [user for group in approvers for user in group.users or ()],
    ):
        groups = join_words([group.name for group in approvers]) or "none"
        raise Refusal(
            f"only {current.glass.by}, who broke the glass, or an approver of severity "
            f"{severity} ({groups}) may withdraw it"
        )
    invocation.records.break_glass = None
    return glass_mended(invocation.commenter, invocation.written_at, invocation.comment_id)


def _who(allowed: BreakGlassConfig) -> str:
    # Named, not mentioned: a refusal need not notify them.
    teams = [f"members of team {team}" for team in allowed.teams]
    return join_words(teams + allowed.users, "or")


COMMAND = Command(
    Syntax("break-glass", ("/hotfix break-glass <reason>", "/hotfix break-glass off"), read),
    break_glass,
)
