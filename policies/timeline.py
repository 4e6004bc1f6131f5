"""The timeline of a hotfix pull request (docs/BEHAVIOUR.md, 'The record and the notices'):
what happened to it, each event worded and timed when the app saw it happen.

The app keeps the events in its state store, one list per pull request, and adds each once
(by its key); the incident report and the resolution notice read them back. The wording is
here, so that every event reads alike wherever it is shown.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from policies.accounts import AUTHOR_DELETED, NOT_THE_DELETED_AUTHOR, named
from policies.clock import RequestOutcome, hotfix_policy
from policies.config import HotfixConfig
from policies.evaluate import Verdict
from policies.facts import BreakGlass, PullRequestFacts, ReviewState
from policies.rules.approvals import CountedApproval, counted_approvals
from policies.wording import join_words, when


class Kind(StrEnum):
    OPENED = "opened"
    SEVERITY = "severity"  # became a hotfix of a severity, or changed to another
    REVIEW_REQUEST = "review-request"
    ESCALATION = "escalation"
    APPROVAL = "approval"
    PUSHED = "pushed"  # a push voided approvals: they are needed again on the new head
    BREAK_GLASS = "break-glass"
    MERGED = "merged"
    STEP = "step"  # a post-merge step: the tag, the release, the back-merge
    ROLLBACK = "rollback"  # a rollback of the hotfix merged


# The rows the resolution notice repeats: how the incident went, in brief.
KEY_KINDS = frozenset(
    {Kind.OPENED, Kind.SEVERITY, Kind.BREAK_GLASS, Kind.MERGED, Kind.STEP, Kind.ROLLBACK}
)


# The rows a later evaluation rewords, keeping their time: an approval names the group its
# approver fills as the approvals stand at the latest evaluation (one who could fill either
# of two groups may end up in the other), so that at the merge each names the group filled.
REWORDED_KINDS = frozenset({Kind.APPROVAL})


@dataclass(frozen=True)
class TimelineEvent:
    key: str  # unique among the pull request's events: recording it again changes nothing
    at: datetime
    kind: Kind
    text: str  # Markdown, one line


def key_rows(events: Sequence[TimelineEvent]) -> list[TimelineEvent]:
    """The events that tell the incident in brief."""
    return [event for event in events if event.kind in KEY_KINDS]


def in_order(events: Sequence[TimelineEvent]) -> list[TimelineEvent]:
    """By time; events of the same time in the order they were recorded."""
    return sorted(events, key=lambda event: event.at)


def opened(at: datetime, author: str) -> TimelineEvent:
    return TimelineEvent("opened", at, Kind.OPENED, f"Opened by {named(author)}")


def severity_labelled(severity: str, at: datetime, before: Sequence[str]) -> TimelineEvent:
    """The pull request became a hotfix of `severity`, or changed to it from the severities
    `before` (in time order). A severity labelled again (P1, then P0, then P1) is a row of
    its own: the last severity row is the one the incident ended with."""
    key = f"severity:{severity}" + (f":{len(before) + 1}" if severity in before else "")
    text = f"Severity changed to {severity}" if before else f"Became a {severity} hotfix"
    return TimelineEvent(key, at, Kind.SEVERITY, text)


_APPROVED_BY = "Approved by @"


def approval_key(approver: str, head_sha: str, *, verbal: bool) -> str:
    """The key of the row of `approver`'s approval of the head commit `head_sha`."""
    return f"approval:{approver.casefold()}:{head_sha}:{'verbal' if verbal else 'review'}"


def approved(approval: CountedApproval, at: datetime, head_sha: str) -> TimelineEvent:
    """An approval that counts for a group (or either of two), on the head commit
    `head_sha`."""
    verbal = approval.verbal
    key = approval_key(approval.approver, head_sha, verbal=verbal is not None)
    text = f"{_APPROVED_BY}{approval.approver} for {approval.group}"
    if verbal is not None:
        text += f" (verbal, recorded by @{verbal.recorder})"
    return TimelineEvent(key, at, Kind.APPROVAL, text)


def pushed(head_sha: str, voided: Sequence[str], at: datetime) -> TimelineEvent:
    """A push made `head_sha` the head, voiding the approvals of `voided` (logins), given on
    an older commit: the approval rows that follow are those given again."""
    approvers = join_words([f"@{login}" for login in voided])
    return TimelineEvent(
        f"pushed:{head_sha}",
        at,
        Kind.PUSHED,
        f"Pushed `{head_sha[:7]}`: approvals needed again ({approvers} approved an older commit)",
    )


def evaluated(
    config: HotfixConfig,
    verdict: Verdict,
    facts: PullRequestFacts,
    now: datetime,
    earlier: Sequence[TimelineEvent],
) -> list[TimelineEvent]:
    """What an evaluation of a hotfix pull request with one severity label sees happened,
    given the `earlier` events of its timeline (in time order): its opening, its severity, a
    push that voided approvals, the approvals that count. Nothing for any other pull
    request."""
    if verdict.severity is None or not verdict.results:
        return []
    events = [] if facts.opened_at is None else [opened(facts.opened_at, facts.author)]
    severities_before = [e.key.split(":")[1] for e in earlier if e.kind is Kind.SEVERITY]
    if verdict.severity != (severities_before[-1] if severities_before else None):
        events.append(severity_labelled(verdict.severity, now, severities_before))
    policy = hotfix_policy(config, verdict)
    counted = [] if policy is None else counted_approvals(policy, facts)
    approvals = [
        approved(approval, _approved_at(approval, facts) or now, facts.head_sha)
        for approval in counted
    ]
    voided = _voided_approvers(earlier, facts.head_sha)
    if voided:
        # Before the approvals given again, should their delivery have come first.
        at = min([now, *(event.at for event in approvals)])
        events.append(pushed(facts.head_sha, voided, at))
    return events + approvals


def _voided_approvers(earlier: Sequence[TimelineEvent], head_sha: str) -> list[str]:
    """Who approved, since the last push the timeline has a row of, a commit other than
    `head_sha`: a push voided their approvals, and no row says so yet. Since by place, not
    time: a push row is recorded before the approvals given again at its evaluation, and may
    share their time."""
    last_push = max((i for i, e in enumerate(earlier) if e.kind is Kind.PUSHED), default=-1)
    return list(
        dict.fromkeys(
            event.text.removeprefix(_APPROVED_BY).split(" ", 1)[0]
            for event in earlier[last_push + 1 :]
            if event.kind is Kind.APPROVAL and event.key.split(":")[2] != head_sha
        )
    )


def _approved_at(approval: CountedApproval, facts: PullRequestFacts) -> datetime | None:
    """When the approval was given: recorded, or its review submitted."""
    if approval.verbal is not None:
        return approval.verbal.recorded_at
    login = approval.approver.casefold()
    times = [
        review.submitted_at
        for review in facts.reviews
        if review.reviewer.casefold() == login
        and review.state is ReviewState.APPROVED
        and review.commit_id == facts.head_sha
        and review.submitted_at is not None
    ]
    return max(times, default=None)


def review_requested(severity: str, outcome: RequestOutcome, at: datetime) -> TimelineEvent:
    text = (
        f"Review requested for {outcome.group}: {outcome.who}"
        if outcome.refused is None
        else f"GitHub refused the review request for {outcome.group} ({outcome.who})"
    )
    return TimelineEvent(
        f"review-request:{severity}:{outcome.group}", at, Kind.REVIEW_REQUEST, text
    )


def escalated(
    severity: str,
    after: str,
    mentions: Sequence[str],
    at: datetime,
    *,
    refused: bool = False,
    author_deleted: bool = False,
) -> TimelineEvent:
    """An escalation step `after` the opening reminded `mentions`, or GitHub `refused` its
    comment; `author_deleted`: the step notifies the author, whose account was deleted. They
    are shown as code, as the P0 alert shows them: the incident report holds the row, and
    opening it must not notify again everyone the step reminded."""
    if author_deleted:
        others = join_words([f"`{mention}`" for mention in mentions])
        # "(...)" after the names would read as if it were theirs.
        reminded = f"{others}; {NOT_THE_DELETED_AUTHOR}" if others else f"nobody ({AUTHOR_DELETED})"
    elif mentions:
        reminded = join_words([f"`{mention}`" for mention in mentions])
    else:
        reminded = "nobody (every group was filled)"
    text = f"GitHub refused the comment reminding {reminded}" if refused else f"reminded {reminded}"
    return TimelineEvent(
        f"escalation:{severity}:{after}", at, Kind.ESCALATION, f"Escalation after {after}: {text}"
    )


def glass_broken(glass: BreakGlass, comment_id: int) -> TimelineEvent:
    return TimelineEvent(
        f"break-glass:{comment_id}",
        glass.at,
        Kind.BREAK_GLASS,
        f"Break-glass by @{glass.by}: {glass.reason}",
    )


def glass_mended(by: str, at: datetime, comment_id: int) -> TimelineEvent:
    return TimelineEvent(
        f"break-glass-off:{comment_id}", at, Kind.BREAK_GLASS, f"Break-glass withdrawn by @{by}"
    )


def glass_not_in_force(glass: BreakGlass, comment_id: int, merged_at: datetime) -> TimelineEvent:
    """The break-glass broken by comment `comment_id` was not in force when the pull request
    merged: the severity it merged with allows none, so the rules decided."""
    return TimelineEvent(
        f"break-glass-not-in-force:{comment_id}",
        merged_at,
        Kind.BREAK_GLASS,
        f"Break-glass by @{glass.by} was not in force at the merge: it waived nothing",
    )


def merged_into(base: str, by: str | None, short_sha: str, at: datetime) -> TimelineEvent:
    by_whom = f" by @{by}" if by else ""
    return TimelineEvent(
        "merged", at, Kind.MERGED, f"Merged into `{base}`{by_whom} as `{short_sha}`"
    )


def step_finished(key: str, title: str, status: str, detail: str, at: datetime) -> TimelineEvent:
    """A post-merge step's outcome (done, already done, waiting for people)."""
    return TimelineEvent(step_key(key, status), at, Kind.STEP, f"{title}: {detail}")


def step_key(key: str, status: str) -> str:
    """The key of the row of step `key`'s outcome of that status: one row per status."""
    return f"step:{key}:{status}"


_ROLLED_BACK_KEY = "rolled-back:"


def rolled_back(
    number: int,
    title: str,
    base: str,
    by: str | None,
    short_sha: str,
    tag: str | None,
    at: datetime,
    already: str | None,
) -> TimelineEvent:
    """Rollback `number` of the hotfix merged into `base`, released as `tag` if tagged;
    `already` says that another rollback of the hotfix came first."""
    by_whom = f" by @{by}" if by else ""
    released = f", released as `{tag}`" if tag else ""
    second = f"; {already}" if already else ""
    return TimelineEvent(
        f"{_ROLLED_BACK_KEY}{number}",
        at,
        Kind.ROLLBACK,
        f"Rolled back by #{number} ({title}): merged into `{base}`{by_whom} as `{short_sha}`"
        f"{released}{second}",
    )


@dataclass(frozen=True)
class EarlierRollback:
    """A rollback of a hotfix merged before another rollback of it."""

    number: int
    merged_at: datetime

    def words(self, hotfix: int, *, strong: bool = False) -> str:
        """`#1 was rolled back already, by #3, merged 2026-12-05 09:12 UTC`, what a later
        rollback of hotfix `hotfix` says of this one wherever it tells of itself; `strong`
        sets the first words in bold."""
        already = f"#{hotfix} was rolled back already"
        already = f"**{already}**" if strong else already
        return f"{already}, by #{self.number}, merged {when(self.merged_at)}"


def rolled_back_before(
    events: Sequence[TimelineEvent], rollback: int, merged_at: datetime | None
) -> EarlierRollback | None:
    """The first rollback other than `rollback` that `events`, a hotfix's timeline, hold
    (`rolled_back`), merged before `rollback` was at `merged_at` (None: not merged yet);
    None when there is none."""
    return next(
        (
            EarlierRollback(number, event.at)
            for event in events
            if event.kind is Kind.ROLLBACK
            and (number := int(event.key.removeprefix(_ROLLED_BACK_KEY))) != rollback
            and (merged_at is None or (event.at, number) < (merged_at, rollback))
        ),
        None,
    )


def rolled_back_by(events: Sequence[TimelineEvent]) -> int | None:
    """The number of the first rollback that `events`, a hotfix's timeline, hold (`rolled_back`);
    None when none merged."""
    return next(
        (
            int(event.key.removeprefix(_ROLLED_BACK_KEY))
            for event in events
            if event.kind is Kind.ROLLBACK
        ),
        None,
    )
