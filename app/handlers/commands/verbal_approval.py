"""`/hotfix verbal-approval @login [note]`: record an approval given outside GitHub.

It counts as @login's approving review of the current head commit (the approvals rule), so
a later push asks for a new one; after the merge @login confirms it (`confirm`). On a rollback
the rolled-back hotfix's severity says whether it is taken.
"""

from __future__ import annotations

import re

from app.handlers.commands.command import Command, Invocation, Refusal, who
from app.handlers.policy import reviews_of
from app.handlers.records import VerbalRecord
from policies.accounts import is_deleted
from policies.commands import QUOTED_WORD, CommandError, Syntax, login_of
from policies.config import CONFIG_PATH
from policies.facts import VerbalApproval
from policies.rules.approvals import review_approves
from policies.wording import join_words, shortened

WRITE_ACCESS = frozenset({"admin", "write"})  # GitHub says `write` for the maintain role too


# A mention as written in a note: `@lead` of `@lead,`.
_MENTION = re.compile(r"@[A-Za-z0-9][A-Za-z0-9/-]*")
QUOTED_MENTIONS = 5  # the commands a refusal of several approvers spells out


def read(text: str) -> str:
    """The approver's login; the note after it is for the people reading the comment. Mentions
    right after the approver are more approvers, not a note, and are refused: taken as a note
    they would be recorded for nobody without a word."""
    if not text:
        raise CommandError("it needs the approver: `/hotfix verbal-approval @login`")
    first, *rest = text.split()
    approver = login_of(first, "the approver")
    mentions: list[str] = []
    for word in rest:
        mention = _MENTION.match(word)
        if mention is None:
            break
        mentions.append(mention.group())
    if mentions:
        commands = [
            f"`/hotfix verbal-approval {shortened(mention, QUOTED_WORD)}`"
            for mention in [f"@{approver}", *mentions][:QUOTED_MENTIONS]
        ]
        if len(mentions) + 1 > QUOTED_MENTIONS:
            commands.append("so on")
        raise CommandError(
            f"it takes one approver per command: post one command for each, {join_words(commands)}"
        )
    return approver


async def permitted(invocation: Invocation, _: str) -> None:
    """Anyone with write access to the repository may record one."""
    context, commenter = invocation.context, invocation.commenter
    answer = await context.github.get_optional(
        f"/repos/{context.repository}/collaborators/{commenter}/permission"
    )
    access = str(answer["permission"]) if answer is not None else "none"
    if access not in WRITE_ACCESS:
        # GitHub says `none` for someone who is no collaborator.
        has = "no" if access == "none" else access
        raise Refusal(
            f"recording a verbal approval needs write access to {context.repository}, and "
            f"{commenter} has {has} access"
        )


async def record(invocation: Invocation, approver: str) -> None:
    governing = await invocation.open_severity()
    severity = governing.severity
    if not governing.policy.verbal_approval:
        raise Refusal(
            f"{governing.words} does not take verbal approvals "
            f"(`severities.{severity}.verbal_approval` in `{CONFIG_PATH}`)"
        )
    if is_deleted(approver):  # the author too, when their account was deleted
        raise Refusal(f"{approver} is how GitHub shows a deleted account, which approves nothing")
    if approver.casefold() == invocation.author.casefold():
        raise Refusal(
            f"{approver} opened this pull request, and the author's approval never counts"
        )
    groups = governing.approvals
    if not await invocation.may_fill_a_group(approver, groups):
        named = "; ".join(
            f"{group.name}: {who([group.team] if group.team else [], group.users or [])}"
            for group in groups
        )
        whose = f"severity {severity}" if governing.rolled_back is None else "this rollback"
        raise Refusal(
            f"{approver} can fill no approval group of {whose} ({named or 'it has none'})"
        )
    context = invocation.context
    listed = await context.github.get_all(
        f"/repos/{context.repository}/pulls/{invocation.number}/reviews"
    )
    if review_approves(reviews_of(listed), approver, invocation.head_sha, invocation.author):
        raise Refusal(
            f"{approver}'s review already approves this head commit, so there is nothing to record"
        )
    approval = VerbalApproval(
        approver, invocation.commenter, invocation.written_at, invocation.head_sha
    )
    invocation.records.record_verbal(VerbalRecord(approval, invocation.comment_id))
    await invocation.records.save(invocation.context)
    await invocation.show()


COMMAND = Command(
    Syntax("verbal-approval", ("/hotfix verbal-approval @login [note]",), read), permitted, record
)
