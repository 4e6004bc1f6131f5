"""`approvals`: every approval group of the severity is filled.

Each group needs `count` approvals from distinct people, a person fills at most one group,
the author never counts, and only each reviewer's latest review counts, and only when it
approves the current head commit (docs/BEHAVIOUR.md, 'Approval groups'). Unfilled
groups are PENDING, not a failure.

"Latest review" is taken literally: a comment submitted as a review after an approval
replaces the approval (GitHub's own badge would keep showing it), so the rule says
so by name and asks for a new approval.

Where the severity allows it, a verbal approval counts as an approving review submitted
when it was recorded, on the head commit of that time (docs/BEHAVIOUR.md, 'Comment commands').
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from policies.config import ApprovalGroup, HotfixConfig, SeverityPolicy
from policies.facts import PullRequestFacts, Review, ReviewState, VerbalApproval
from policies.result import RuleResult, Status
from policies.rule import Lookups, Rule
from policies.rules.common import single_severity
from policies.wording import join_words

NAME = "approvals"


@dataclass(frozen=True)
class _Approvals:
    current: list[str]  # logins approving the head commit, in review order
    stale: list[str]  # logins whose approval is on an older commit
    commented: list[str]  # logins who approved, then submitted a comment review
    # Login (as in `current`) -> the verbal approval that is their approval of the head.
    verbal: dict[str, VerbalApproval]


# Where undated reviews (none that are submitted) sort among dated ones.
_EARLIEST = datetime.min.replace(tzinfo=UTC)


def _history(
    reviews: Sequence[Review], verbal: Sequence[VerbalApproval]
) -> list[tuple[Review, VerbalApproval | None]]:
    """The reviews with the verbal approvals among them, each as an approving review
    submitted when it was recorded, in time order."""
    recorded = [
        (Review(v.approver, ReviewState.APPROVED, v.head_sha, v.recorded_at), v) for v in verbal
    ]
    history: list[tuple[Review, VerbalApproval | None]] = [(r, None) for r in reviews]
    return sorted([*history, *recorded], key=lambda item: item[0].submitted_at or _EARLIEST)


def _latest_approvals(
    reviews: Sequence[Review], verbal: Sequence[VerbalApproval], head_sha: str, author: str
) -> _Approvals:
    latest: dict[str, tuple[Review, VerbalApproval | None]] = {}
    approved_once: set[str] = set()
    for review, verbal_approval in _history(reviews, verbal):
        if review.state is ReviewState.PENDING:  # a draft its author has not submitted
            continue
        login = review.reviewer.casefold()  # logins are case-insensitive
        if login == author.casefold():
            continue
        if review.state is ReviewState.APPROVED:
            approved_once.add(login)
        # Re-inserting keeps the order of the latest reviews.
        latest.pop(login, None)
        latest[login] = (review, verbal_approval)
    approving = [item for item in latest.values() if item[0].state is ReviewState.APPROVED]
    current = [item for item in approving if item[0].commit_id == head_sha]
    return _Approvals(
        current=[review.reviewer for review, _ in current],
        stale=[
            f"{review.reviewer} (verbal)" if spoken else review.reviewer
            for review, spoken in approving
            if review.commit_id != head_sha
        ],
        commented=[
            review.reviewer
            for login, (review, _) in latest.items()
            if review.state is ReviewState.COMMENTED and login in approved_once
        ],
        verbal={review.reviewer: spoken for review, spoken in current if spoken is not None},
    )


def _counted_verbal(policy: SeverityPolicy, facts: PullRequestFacts) -> Sequence[VerbalApproval]:
    """The verbal approvals, where the severity allows them."""
    return facts.verbal_approvals if policy.verbal_approval else ()


def _shown(login: str, approvals: _Approvals) -> str:
    """An approver as the row names them: `lena (verbal, recorded by @dana at 14:32 UTC)`."""
    verbal = approvals.verbal.get(login)
    return login if verbal is None else str(verbal)


def current_approvers(policy: SeverityPolicy, facts: PullRequestFacts) -> list[str]:
    """Who approves the head commit, by their latest review or a verbal approval the
    severity allows, the author aside."""
    verbal = _counted_verbal(policy, facts)
    return _latest_approvals(facts.reviews, verbal, facts.head_sha, facts.author).current


@dataclass(frozen=True)
class CountedApproval:
    """An approval of the head commit that fills a seat of an approval group."""

    group: str  # the approval group's name
    approver: str  # login
    verbal: VerbalApproval | None  # the verbal approval it is, if it is one


def counted_approvals(policy: SeverityPolicy, facts: PullRequestFacts) -> list[CountedApproval]:
    """The approvals that count, group by group, each person placed as `check` places them."""
    approvals = _latest_approvals(
        facts.reviews, _counted_verbal(policy, facts), facts.head_sha, facts.author
    )
    groups = policy.approvals
    candidates = [_members(group, facts) - {facts.author.casefold()} for group in groups]
    return [
        CountedApproval(group.name, login, approvals.verbal.get(login))
        for group, people in zip(
            groups, _assign_approvers(groups, candidates, approvals.current), strict=True
        )
        for login in people
    ]


def _members(group: ApprovalGroup, facts: PullRequestFacts) -> frozenset[str]:
    """Casefolded logins that can fill `group`."""
    if group.users is not None:
        return frozenset(login.casefold() for login in group.users)
    assert group.team is not None  # a group names a team or users (ApprovalGroup checks)
    return frozenset(login.casefold() for login in facts.team_members.get(group.team, ()))


def _assign_approvers(
    groups: Sequence[ApprovalGroup], candidates: Sequence[frozenset[str]], approvers: list[str]
) -> list[list[str]]:
    """A largest assignment of approvers to group seats, each person to one seat.

    `candidates[i]` holds the casefolded logins that may fill `groups[i]`. Seats are filled
    in group order by augmenting paths (Kuhn's bipartite matching): a person already
    seated moves to another seat they qualify for when that frees a seat for someone else.
    """
    seat_groups = [index for index, group in enumerate(groups) for _ in range(group.count)]
    seat_of: dict[str, int] = {}

    def seat(seat_index: int, tried: set[str]) -> bool:
        for person in approvers:
            if person.casefold() not in candidates[seat_groups[seat_index]] or person in tried:
                continue
            tried.add(person)
            if person not in seat_of or seat(seat_of[person], tried):
                seat_of[person] = seat_index
                return True
        return False

    for seat_index in range(len(seat_groups)):
        seat(seat_index, set())
    filled: list[list[str]] = [[] for _ in groups]
    for person in approvers:
        if person in seat_of:
            filled[seat_groups[seat_of[person]]].append(person)
    return filled


def _describe_group(group: ApprovalGroup) -> str:
    approvals = "1 approval" if group.count == 1 else f"{group.count} approvals"
    return f"{group.name}: {approvals} from {group.source}"


def _ask(group: ApprovalGroup, missing: int) -> str:
    pool = f"team {group.team}" if group.team else ", ".join(group.users or [])
    who = f"someone from {pool}" if missing == 1 else f"{missing} more people from {pool}"
    return f"{group.name}: ask {who} to approve the latest commit"


def check(config: HotfixConfig, facts: PullRequestFacts) -> RuleResult:
    labelled = single_severity(config, facts.labels)
    if labelled is None or not labelled[1].hotfix_allowed:
        return RuleResult(
            NAME,
            Status.NOT_APPLICABLE,
            "no severity that allows a hotfix",
            "the approvals of the pull request's severity",
            "Not checked: the pull request needs one severity label that allows a hotfix",
        )
    severity, policy = labelled
    groups = policy.approvals
    expected = "; ".join(map(_describe_group, groups)) or f"no approvals for {severity}"
    approvals = _latest_approvals(
        facts.reviews, _counted_verbal(policy, facts), facts.head_sha, facts.author
    )
    candidates = [_members(group, facts) - {facts.author.casefold()} for group in groups]
    filled = _assign_approvers(groups, candidates, approvals.current)

    found_parts = [
        f"{group.name}: {', '.join(_shown(p, approvals) for p in people) or 'nobody yet'}"
        for group, people in zip(groups, filled, strict=True)
    ]
    notes = []
    if approvals.stale:
        stale = join_words(approvals.stale)
        notes.append(f"{stale} approved an older commit and must approve again")
    if approvals.commented:
        notes.append(
            f"{join_words(approvals.commented)} commented after approving; only the latest "
            "review counts, so they must approve again"
        )
    found = "; ".join(found_parts + notes) or "no approvals needed"

    # A `users:` group the author is needed for can never fill: say so instead of waiting.
    impossible = [
        group
        for group, members in zip(groups, candidates, strict=True)
        if group.users is not None and len(members) < group.count
    ]
    if impossible:
        names = [group.name for group in impossible]
        return RuleResult(
            NAME,
            Status.FAIL,
            found,
            expected,
            f"{join_words(names)} cannot be filled: the author cannot approve their own hotfix",
            f"List more users for {join_words(names)} under severities.{severity} in "
            f".github/hotfix.yml on {facts.base_ref}, or have someone else "
            "open the pull request",
        )
    waiting = [
        (group, group.count - len(people))
        for group, people in zip(groups, filled, strict=True)
        if len(people) < group.count
    ]
    if not waiting:
        return RuleResult(
            NAME, Status.PASS, found, expected, f"Every approval group of {severity} is filled"
        )
    waiting_names = tuple(group.name for group, _ in waiting)
    fixes = [_ask(group, missing) for group, missing in waiting] + notes
    return RuleResult(
        NAME,
        Status.PENDING,
        found,
        expected,
        f"Waiting for approval: {join_words(waiting_names)}",
        "; ".join(fixes),
        waiting_names,
    )


def needs(config: HotfixConfig, facts: PullRequestFacts) -> Lookups:
    """Which of the approvers on the head commit are in the severity's teams."""
    labelled = single_severity(config, facts.labels)
    if labelled is None:
        return Lookups()
    policy = labelled[1]
    approvers = current_approvers(policy, facts)
    if not approvers:
        return Lookups()  # nobody to look up
    return Lookups(teams=tuple(policy.approval_teams()), approvers=frozenset(approvers))


RULE = Rule(NAME, check, needs)
