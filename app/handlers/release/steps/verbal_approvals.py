"""Verbal approvals: each one that counted for the merged head commit waits for its approver
to confirm it, with an approving review or `/hotfix confirm`; until then the report lists it
as unconfirmed (docs/BEHAVIOUR.md, 'Comment commands'). A confirmation re-runs the steps,
which finds it here.
"""

from __future__ import annotations

import shlex
from datetime import timedelta

from app.handlers.records import VerbalRecord
from app.handlers.release.plan import ReleasePlan
from app.handlers.release.step import Step, StepOutcome, StepRun, StepStatus
from policies.wording import join_words

_CONFIRMED_BY = {"review": "an approving review", "comment": "`/hotfix confirm`"}

# One reminder comment mentions whoever has not confirmed this long after the merge. The
# durable timers post `confirmation_reminder` then; hotfix-bot does not schedule it yet.
CONFIRMATION_REMINDER_AFTER = timedelta(hours=24)


def _counted(plan: ReleasePlan) -> list[VerbalRecord]:
    """The verbal approvals of the head commit that merged (a later push voided the others)."""
    return [r for r in plan.verbal_approvals if r.approval.head_sha == plan.head_sha]


def unconfirmed(plan: ReleasePlan) -> list[VerbalRecord]:
    """The verbal approvals that counted and wait for their approvers to confirm them."""
    return [record for record in _counted(plan) if record.confirmation is None]


async def check_confirmations(run: StepRun) -> StepOutcome:
    counted = _counted(run.plan)
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
        for record in unconfirmed(run.plan)
    ]
    status = StepStatus.WAITING if waiting else StepStatus.DONE
    return StepOutcome(status, "; ".join(waiting + confirmed))


def confirmation_reminder(plan: ReleasePlan) -> str | None:
    """The reminder comment, `CONFIRMATION_REMINDER_AFTER` the merge; None when every verbal
    approval is confirmed."""
    waiting = unconfirmed(plan)
    if not waiting:
        return None
    who = join_words([f"@{record.approval.approver}" for record in waiting])
    return (
        f"{who}: a verbal approval recorded for you let hotfix #{plan.number} merge, and it is "
        "still unconfirmed. Please approve the pull request or comment `/hotfix confirm`."
    )


def confirm_commands(plan: ReleasePlan) -> list[str]:
    return [
        f"gh pr comment {plan.number} --body {shlex.quote('/hotfix confirm')}"
        f"  # as @{record.approval.approver}"
        for record in unconfirmed(plan)
    ]


STEP = Step("verbal-approvals", "Verbal approvals", check_confirmations, confirm_commands)
