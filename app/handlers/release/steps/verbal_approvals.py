"""Verbal approvals: each one that counted for the merged head commit, under the severity it
merged with, waits for its approver to confirm it, with an approving review or `/hotfix
confirm`; until then the report lists it as unconfirmed, and `CONFIRMATION_REMINDER_AFTER`
the merge one comment reminds whoever has not confirmed (docs/BEHAVIOUR.md, 'Comment
commands'). A confirmation re-runs the steps, which finds it here.
"""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from app.github.client import timestamp
from app.github.pulls import labels_of
from app.handlers.config_files import base_config
from app.handlers.notices import Sent, send_timer_notice
from app.handlers.policy import read_rolled_back_hotfix, reviews_of
from app.handlers.records import Confirmation, PullRecords, VerbalRecord
from app.handlers.release.plan import ReleasePlan
from app.handlers.release.step import Step, StepOutcome, StepRun, StepStatus
from app.handlers.routing import Context
from app.journal.timers import FiredTimer
from policies.accounts import login_of
from policies.config import HotfixConfig, SeverityPolicy
from policies.facts import RevertedPull, Review
from policies.rules.approvals import (
    approval_need,
    confirming_review,
    standing_verbal_approvals,
    takes_verbal_approvals,
)
from policies.wording import duration_words, join_words

_CONFIRMED_BY = {"review": "an approving review", "comment": "`/hotfix confirm`"}

CONFIRMATION_REMINDER = "confirmation-reminder"  # the timer's kind
CONFIRMATION_REMINDER_AFTER = timedelta(hours=24)


def approvals_severity(
    config: HotfixConfig, pull: dict[str, Any], reverted: RevertedPull | None
) -> SeverityPolicy | None:
    """The severity merged pull request `pull` had its verbal approvals and break-glass
    counted under, as its `hotfix-policy` check did: its one severity label, when that
    allows a hotfix; for a rollback (of `reverted`), the rolled-back hotfix's."""
    need = approval_need(config, labels_of(pull), reverted)
    return need.policy if need is not None else None


async def counted_at_merge(
    context: Context,
    pull: dict[str, Any],
    records: Sequence[VerbalRecord],
    severity: SeverityPolicy | None,
) -> list[VerbalRecord]:
    """The verbal approvals of merged pull request `pull` that counted when it merged, under
    `severity` (`approvals_severity`): none where it takes none; else each its approver's
    latest approval of the merged head commit, as the `approvals` rule counts them. A later
    push voided the others, and a later review by the same person replaced them
    (docs/BEHAVIOUR.md, 'Approval groups'); a review after the merge changes nothing of what
    let it merge. Each is confirmed when its approver approved that commit in a review after
    it was recorded (`_confirmed_by_review`)."""
    merged_at = timestamp(pull.get("merged_at"))
    if not records or merged_at is None or not takes_verbal_approvals(severity):
        return []  # nothing to read the reviews for
    listed = await context.github.get_all(
        f"/repos/{context.repository}/pulls/{pull['number']}/reviews"
    )
    reviews = reviews_of(listed)
    standing = standing_verbal_approvals(
        _before_merge(reviews, records, merged_at),
        [record.approval for record in records],
        pull["head"]["sha"],
        login_of(pull["user"]),
    )
    return [
        _confirmed_by_review(record, reviews) for record in records if record.approval in standing
    ]


def _confirmed_by_review(record: VerbalRecord, reviews: Sequence[Review]) -> VerbalRecord:
    """`record`, confirmed by its approver's approving review of the commit it approved,
    submitted after it was recorded (`confirming_review`), when nothing confirmed it before."""
    if record.confirmation is not None:
        return record
    review = confirming_review(reviews, record.approval)
    if review is None or review.submitted_at is None:
        return record
    return replace(record, confirmation=Confirmation("review", review.submitted_at))


def _before_merge(
    reviews: Iterable[Review], records: Iterable[VerbalRecord], merged_at: datetime
) -> list[Review]:
    """The `reviews` submitted before the merge. GitHub's times are whole seconds, so the
    merge's own second counts as before it, except for a review taken as a confirmation:
    that one came after the merge."""
    confirming = {
        (record.approval.approver.casefold(), record.confirmation.at)
        for record in records
        if record.confirmation is not None and record.confirmation.by == "review"
    }
    return [
        review
        for review in reviews
        if review.submitted_at is not None
        and review.submitted_at <= merged_at
        and (review.reviewer.casefold(), review.submitted_at) not in confirming
    ]


def _unconfirmed(records: Iterable[VerbalRecord]) -> list[VerbalRecord]:
    return [record for record in records if record.confirmation is None]


def unconfirmed(plan: ReleasePlan) -> list[VerbalRecord]:
    """The verbal approvals that counted and wait for their approvers to confirm them."""
    return _unconfirmed(plan.verbal_approvals)


def confirmation_words(confirmation: Confirmation) -> str:
    """How the approver confirmed: `confirmed by `/hotfix confirm``."""
    return f"confirmed by {_CONFIRMED_BY[confirmation.by]}"


async def check_confirmations(run: StepRun) -> StepOutcome:
    plan = run.plan
    done = [
        f"{record.approval}: {confirmation_words(record.confirmation)}"
        for record in plan.verbal_approvals
        if record.confirmation is not None
    ]
    waiting = [
        f"{record.approval}: **unconfirmed**; @{record.approval.approver}, approve the pull "
        "request or comment `/hotfix confirm`"
        for record in unconfirmed(plan)
    ]
    status = StepStatus.WAITING if waiting else StepStatus.DONE
    return StepOutcome(status, "; ".join(waiting + done))


async def schedule_confirmation_reminder(
    context: Context, plan: ReleasePlan, merged_at: datetime
) -> None:
    """Keep the reminder in the journal, `CONFIRMATION_REMINDER_AFTER` the merge, when a verbal
    approval is unconfirmed; every later run of the steps finds it scheduled. It keeps whether
    the pull request is a rollback, for its words."""
    if plan.number is None or not unconfirmed(plan):
        return
    await context.timers.schedule(
        CONFIRMATION_REMINDER,
        duration_words(CONFIRMATION_REMINDER_AFTER),
        merged_at + CONFIRMATION_REMINDER_AFTER,
        {"rollback": plan.rolled_back is not None},
        number=plan.number,
    )


async def on_confirmation_reminder(context: Context) -> None:
    """The reminder came due: one comment mentioning whoever has still not confirmed a verbal
    approval that counted at the merge, as the post-merge steps count them."""
    timer = FiredTimer.of(context.delivery)
    github, repository = context.github, context.repository
    pull, records = await asyncio.gather(
        github.get_json(f"/repos/{repository}/pulls/{timer.number}"),
        PullRecords.load(context, timer.number),
    )
    config = await base_config(github, repository, pull)
    reverted = await read_rolled_back_hotfix(github, repository, config, pull)
    severity = approvals_severity(config, pull, reverted)
    waiting = _unconfirmed(await counted_at_merge(context, pull, records.verbal, severity))
    if not waiting:
        context.log.info(
            "%s: no verbal approval that counted is unconfirmed; nothing sent", timer.id
        )
        return
    # A reminder kept before it said whether it was of a rollback is of a hotfix.
    text = confirmation_reminder(timer.number, waiting, rollback=bool(timer.data.get("rollback")))
    if await send_timer_notice(context, timer, text, chat=config.notify.chat) is Sent.POSTED:
        approvers = ", ".join(record.approval.approver for record in waiting)
        context.log.info("%s: reminded %s", timer.id, approvers)


def confirmation_reminder(
    number: int, unconfirmed: Sequence[VerbalRecord], *, rollback: bool = False
) -> str:
    """The reminder comment on hotfix (or `rollback`) `number`, mentioning the `unconfirmed`
    approvers."""
    who = join_words([f"@{record.approval.approver}" for record in unconfirmed])
    merged = f"{'rollback' if rollback else 'hotfix'} #{number}"
    return (
        f"{who}: a verbal approval recorded for you let {merged} merge, and it is "
        "still unconfirmed. Please approve the pull request or comment `/hotfix confirm`."
    )


def confirm_commands(plan: ReleasePlan) -> list[str]:
    return [
        f"gh pr comment {plan.number} --body {shlex.quote('/hotfix confirm')}"
        f"  # as @{record.approval.approver}"
        for record in unconfirmed(plan)
    ]


def _after_a_verbal_approval(plan: ReleasePlan) -> bool:
    # Not an outcome kept for good: a verbal approval written before the merge and delivered
    # after it runs the step again, on a run that had none.
    return bool(plan.verbal_approvals)


STEP = Step(
    "verbal-approvals",
    "Verbal approvals",
    check_confirmations,
    confirm_commands,
    applies=_after_a_verbal_approval,
)
