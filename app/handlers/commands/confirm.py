"""`/hotfix confirm`, or an approving review, after the merge: the approver confirms the
verbal approval recorded for them, and the hotfix-release report and the incident report stop
listing it as unconfirmed.
"""

from __future__ import annotations

from app.github.client import timestamp
from app.handlers.commands.command import Command, Invocation, Refusal, shown, written_by
from app.handlers.records import Confirmation, PullRecords
from app.handlers.release.handler import release_pull_request
from app.handlers.routing import Context
from app.intake.delivery import Delivery
from policies.commands import Syntax


def read(text: str) -> None:
    """Nothing: what follows the command is for the people reading the comment."""


async def permitted(invocation: Invocation, _: None) -> None:
    """The approver a verbal approval names confirms it, whatever their access."""
    if invocation.records.verbal_of(invocation.commenter) is None:
        raise Refusal(f"there is no verbal approval by {invocation.commenter} here to confirm")


async def confirm(invocation: Invocation, _: None) -> None:
    # Judged as when written: one written before the merge and delivered after it was not.
    if not invocation.pull["merged"] or invocation.written_before_merge:
        raise Refusal(
            "a verbal approval is confirmed after the merge, and this pull request is not "
            "merged yet"
        )
    if await _confirmed(
        invocation.context,
        invocation.records,
        invocation.commenter,
        Confirmation("comment", invocation.written_at),
    ):
        await shown(release_pull_request(invocation.context, invocation.number))


def after_merge(delivery: Delivery) -> bool:
    """A review of a merged pull request: it may confirm a verbal approval."""
    return delivery.merged


async def on_review_after_merge(context: Context) -> None:
    """pull_request_review `submitted` on a merged pull request."""
    review = context.payload["review"]
    number = context.delivery.pr_number
    # Webhooks write the state in lower case, the REST API in upper case.
    if number is None or str(review.get("state")).casefold() != "approved":
        return
    at = timestamp(review.get("submitted_at")) or context.now()
    records = await PullRecords.load(context, number)
    approver = written_by(context, review)
    if await _confirmed(context, records, approver, Confirmation("review", at)):
        await release_pull_request(context, number)


async def _confirmed(
    context: Context, records: PullRecords, login: str, confirmation: Confirmation
) -> bool:
    """Keep the confirmation; whether there is one to report on the hotfix-release run (a
    re-run of it), also when it was kept before: a retry must still report it."""
    if records.verbal_of(login) is None:
        return False  # an approving review by someone without a verbal approval
    if records.confirm(login, confirmation):
        await records.save(context)
    return True


COMMAND = Command(Syntax("confirm", ("/hotfix confirm",), read), permitted, confirm)
