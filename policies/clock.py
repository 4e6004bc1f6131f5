"""The incident clock of a hotfix pull request (docs/BEHAVIOUR.md, 'The incident clock'):
the timers it sets, whom it asks to review and whom an escalation step mentions.

The clock starts when the pull request is opened. Each escalation step and the deadline
become a timer the app keeps in its journal; a timer's key names its severity and time, so
that a step fires once per pull request, and a severity or a time changed by a new label
or a new `.github/hotfix.yml` is a timer of its own.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from policies.accounts import is_deleted
from policies.config import EscalationStep, HotfixConfig, SeverityPolicy
from policies.evaluate import Verdict
from policies.facts import PullRequestFacts
from policies.rules.approvals import current_approvers
from policies.wording import duration_words

ESCALATION = "escalation"  # a reminder: one comment mentioning the step's notify list
OVERDUE = "overdue"  # the deadline: evaluate again, so that the check run says it passed


@dataclass(frozen=True)
class ClockTimer:
    kind: str  # ESCALATION or OVERDUE
    key: str  # tells it from the pull request's other timers of its kind
    due: datetime
    data: Mapping[str, str | int] = field(default_factory=dict)


@dataclass(frozen=True)
class ReviewRequest:
    """What to ask GitHub for one approval group: its team, or its people."""

    group: str  # the approval group's name
    reviewers: tuple[str, ...] = ()  # logins, for a `users` group; never the author
    team_reviewers: tuple[str, ...] = ()  # the slug, for a `team` group

    @property
    def who(self) -> str:
        """Whom it asks, in words."""
        if self.team_reviewers:
            return "team " + ", ".join(self.team_reviewers)
        return ", ".join(self.reviewers)


@dataclass(frozen=True)
class RequestOutcome:
    """A review request made: whom it asked, and GitHub's answer when it refused; when that
    answer is an error that may pass (a 5xx, a rate limit), `asked_again`: the pull request's
    next evaluation asks again."""

    group: str  # the approval group's name
    who: str  # `ReviewRequest.who`
    refused: str | None = None
    asked_again: bool = False


def hotfix_policy(config: HotfixConfig, verdict: Verdict) -> SeverityPolicy | None:
    """The policy of the severity a hotfix pull request is labelled with, when that
    severity allows a hotfix: only then does the clock run."""
    if verdict.severity is None:
        return None
    policy = config.severities[verdict.severity]
    return policy if policy.hotfix_allowed else None


def clock_timers(
    config: HotfixConfig, verdict: Verdict, facts: PullRequestFacts
) -> list[ClockTimer]:
    """Each escalation step at opening + `after`, and the deadline unless it has passed
    already (this evaluation then says so itself)."""
    policy = hotfix_policy(config, verdict)
    if policy is None or verdict.severity is None or facts.opened_at is None:
        return []
    severity = verdict.severity
    timers = [
        ClockTimer(
            ESCALATION,
            f"{severity}:{duration_words(step.after.value, to_the_second=True)}",
            facts.opened_at + step.after.value,
            {"severity": severity, "after": int(step.after.value.total_seconds())},
        )
        for step in policy.escalation
    ]
    if verdict.due is not None and verdict.deadline is not None and not verdict.overdue:
        deadline = duration_words(verdict.deadline.value, to_the_second=True)
        timers.append(
            ClockTimer(OVERDUE, f"{severity}:{deadline}", verdict.due, {"severity": severity})
        )
    return timers


def escalation_step(config: HotfixConfig, severity: str, after: timedelta) -> EscalationStep | None:
    """The step of `severity` that comes `after` the opening, if the config still has it."""
    policy = config.severities.get(severity)
    steps = policy.escalation if policy is not None else []
    return next((step for step in steps if step.after.value == after), None)


def review_requests(
    config: HotfixConfig, verdict: Verdict, facts: PullRequestFacts
) -> list[ReviewRequest] | None:
    """For each approval group waited for (`Verdict.waiting_for`): its team, or its people
    other than the author and those already approving. A team is asked even when the author
    is in it: GitHub asks its other members. None when reviews are not requested for this
    pull request at all (no severity that allows a hotfix, or `request_reviews: false`)."""
    policy = hotfix_policy(config, verdict)
    if policy is None or not policy.request_reviews:
        return None
    approving = {login.casefold() for login in current_approvers(policy, facts)}
    requests = []
    for group in policy.approvals:
        if group.name not in verdict.waiting_for:
            continue
        if group.team is not None:
            requests.append(ReviewRequest(group.name, team_reviewers=(group.team,)))
            continue
        people = tuple(
            login
            for login in group.users or []
            if login.casefold() not in approving and login.casefold() != facts.author.casefold()
        )
        if people:
            requests.append(ReviewRequest(group.name, reviewers=people))
    return requests


def mentions(
    step: EscalationStep,
    policy: SeverityPolicy,
    verdict: Verdict,
    facts: PullRequestFacts,
    organization: str,
) -> list[str]:
    """The step's notify list as `@` mentions: `approvers` are the teams and people of the
    groups waited for (never the author), `author` the pull request's author unless their
    account was deleted."""
    found: list[str] = []
    for mention in step.notify:
        if mention == "author":
            if not is_deleted(facts.author):
                found.append(f"@{facts.author}")
        elif mention == "approvers":
            for group in policy.approvals:
                if group.name not in verdict.waiting_for:
                    continue
                if group.team is not None:
                    found.append(f"@{organization}/{group.team}")
                else:
                    found += [
                        f"@{login}"
                        for login in group.users or []
                        if login.casefold() != facts.author.casefold()
                    ]
        else:
            found.append(mention)
    # Once each; logins and slugs are compared without regard to case, as GitHub does.
    unique: dict[str, str] = {}
    for mention in found:
        unique.setdefault(mention.casefold(), mention)
    return list(unique.values())
