"""Verbal approvals: each one that counted for the merged head commit waits for its approver
to confirm it, with an approving review or `/hotfix confirm`; until then the report lists it
as unconfirmed, and `CONFIRMATION_REMINDER_AFTER` the merge one comment reminds whoever has
not confirmed (docs/BEHAVIOUR.md, 'Comment commands'). A confirmation re-runs the steps,
which finds it here.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from app.handlers.notices import send_timer_notice
from app.handlers.records import PullRecords, VerbalRecord
from app.handlers.release.plan import ReleasePlan
from app.handlers.release.step import Step, StepOutcome, StepRun, StepStatus
from app.handlers.routing import Context
from app.journal.timers import FiredTimer
from policies.wording import duration_words, join_words

_CONFIRMED_BY = {"review": "an approving review", "comment": "`/hotfix confirm`"}

CONFIRMATION_REMINDER = "confirmation-reminder"  # the timer's kind
CONFIRMATION_REMINDER_AFTER = timedelta(hours=24)


def _counted(records: Iterable[VerbalRecord], head_sha: str) -> list[VerbalRecord]:
    """The verbal approvals of the head commit that merged (a later push voided the others)."""
    return [record for record in records if record.approval.head_sha == head_sha]


def _unconfirmed(records: Iterable[VerbalRecord], head_sha: str) -> list[VerbalRecord]:
    return [record for record in _counted(records, head_sha) if record.confirmation is None]


def unconfirmed(plan: ReleasePlan) -> list[VerbalRecord]:
    """The verbal approvals that counted and wait for their approvers to confirm them."""
    return _unconfirmed(plan.verbal_approvals, plan.head_sha)


async def check_confirmations(run: StepRun) -> StepOutcome:
    plan = run.plan
    counted = _counted(plan.verbal_approvals, plan.head_sha)
    if not counted:
        return StepOutcome(StepStatus.NOT_NEEDED, "no verbal approval counted")
    confirmed = [
        f"{record.approval}: confirmed by {_CONFIRMED_BY[record.confirmation.by]}"
        for record in counted
        if record.confirmation is not None
    ]
    waiting = [
        f"{record.approval}: **unconfirmed**; @{record.approval.approver}, approve the pull "
        "request or comment `/hotfix confirm`"
        for record in _unconfirmed(plan.verbal_approvals, plan.head_sha)
    ]
    status = StepStatus.WAITING if waiting else StepStatus.DONE
    return StepOutcome(status, "; ".join(waiting + confirmed))


async def schedule_confirmation_reminder(
    context: Context, plan: ReleasePlan, merged_at: datetime
) -> None:
    """Keep the reminder in the journal, `CONFIRMATION_REMINDER_AFTER` the merge, when a verbal
    approval is unconfirmed; every later run of the steps finds it scheduled."""
    if plan.number is None or not _unconfirmed(plan.verbal_approvals, plan.head_sha):
        return
    await context.timers.schedule(
        CONFIRMATION_REMINDER,
        duration_words(CONFIRMATION_REMINDER_AFTER),
        merged_at + CONFIRMATION_REMINDER_AFTER,
        {"head_sha": plan.head_sha},
        number=plan.number,
    )


async def on_confirmation_reminder(context: Context) -> None:
    """The reminder came due: one comment mentioning whoever has still not confirmed. The
    pull request is merged for good; what may have changed is in the records alone."""
    timer = FiredTimer.of(context.delivery)
    records = await PullRecords.load(context, timer.number)
    waiting = _unconfirmed(records.verbal, timer.data["head_sha"])
    if not waiting:
        context.log.info("%s: every verbal approval is confirmed; nothing sent", timer.id)
        return
    text = confirmation_reminder(timer.number, waiting)
    if await send_timer_notice(context, timer, text):
        approvers = ", ".join(record.approval.approver for record in waiting)
        context.log.info("%s: reminded %s", timer.id, approvers)


def confirmation_reminder(number: int, unconfirmed: Sequence[VerbalRecord]) -> str:
    """The reminder comment on hotfix `number`, mentioning the `unconfirmed` approvers."""
    who = join_words([f"@{record.approval.approver}" for record in unconfirmed])
    return (
        f"{who}: a verbal approval recorded for you let hotfix #{number} merge, and it is "
        "still unconfirmed. Please approve the pull request or comment `/hotfix confirm`."
    )


def confirm_commands(plan: ReleasePlan) -> list[str]:
    return [
        f"gh pr comment {plan.number} --body {shlex.quote('/hotfix confirm')}"
        f"  # as @{record.approval.approver}"
        for record in _unconfirmed(plan.verbal_approvals, plan.head_sha)
    ]


STEP = Step("verbal-approvals", "Verbal approvals", check_confirmations, confirm_commands)
