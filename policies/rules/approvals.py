"""`approvals`: every approval group of the severity is filled.

Each group needs `count` approvals from distinct people, a person fills at most one group,
the author never counts, and only each reviewer's latest review counts, and only when it
approves the current head commit (docs/BEHAVIOUR.md, 'Approval groups'). Unfilled
groups are PENDING, not a failure, unless they are `users:` groups too few people can ever
fill. People are seated as `policies.seating` seats them: the most groups filled; someone
who counts for either of two groups is named so, and the rule waits for, and asks, every
group one more approval from would fill one more group.

A hotfix needs the groups of its severity; a rollback those of `rollback.approvals`, by
default one approval from anyone in a group of the rolled-back hotfix's severity
(docs/BEHAVIOUR.md, "Rollbacks").

"Latest review" is taken literally: a comment submitted as a review after an approval
replaces the approval (GitHub's own badge would keep showing it), so the rule says
so by name and asks for a new approval.

Where the severity allows it (for a rollback, the rolled-back hotfix's severity), a verbal
approval counts as an approving review submitted when it was recorded, on the head commit of
that time (docs/BEHAVIOUR.md, 'Comment commands'); where it does not, the row says why.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from policies.config import ApprovalGroup, HotfixConfig, SeverityPolicy
from policies.facts import PullRequestFacts, RevertedPull, Review, ReviewState, VerbalApproval
from policies.result import RuleResult, Status
from policies.rule import Lookups, Rule
from policies.rules.common import single_severity
from policies.seating import Seating, Shortfall, seat, unfillable
from policies.wording import join_words, waiting_words

NAME = "approvals"


@dataclass(frozen=True)
class Seats:
    """`count` approvals from distinct people, each in any of `groups`: one approval group,
    or a rollback's default of one approval from any group of a severity."""

    name: str
    count: int
    groups: tuple[ApprovalGroup, ...]

    @classmethod
    def of(cls, group: ApprovalGroup) -> Seats:
        return cls(group.name, group.count, (group,))

    @classmethod
    def any_of(cls, groups: Sequence[ApprovalGroup]) -> Seats:
        return cls(join_words([group.name for group in groups], "or"), 1, tuple(groups))

    @property
    def source(self) -> str:
        """Who can fill them, in words."""
        return join_words([group.source for group in self.groups], "or")


@dataclass(frozen=True)
class ApprovalNeed:
    """The approvals a pull request needs."""

    of: str  # whose they are, in words: "P1"
    config_key: str  # where `.github/hotfix.yml` sets them
    seats: tuple[Seats, ...]
    # The severity whose `verbal_approval` says whether verbal approvals count: the hotfix's,
    # or the rolled-back hotfix's; None (they never count) when a rollback's hotfix has none.
    severity: str | None = None
    policy: SeverityPolicy | None = None

    def teams(self) -> tuple[str, ...]:
        """The slug of every team named, once each: the app looks these up."""
        groups = [group for seats in self.seats for group in seats.groups]
        return tuple(dict.fromkeys(group.team for group in groups if group.team))


def approval_need(
    config: HotfixConfig, labels: Iterable[str], reverted: RevertedPull | None
) -> ApprovalNeed | None:
    """The approvals a pull request labelled `labels` needs; for a rollback, `reverted` is the
    hotfix it rolls back. None when no group applies: a hotfix without one severity label that
    allows a hotfix, a rollback of a hotfix without one severity label (unless
    `rollback.approvals` is set). The post-merge steps ask it of the merged pull request, to
    count its verbal approvals and break-glass as its check did."""
    if reverted is not None:  # a rollback
        labelled = single_severity(config, reverted.labels)
        return rollback_need(config, labelled[0] if labelled else None)
    labelled = single_severity(config, labels)
    if labelled is None or not labelled[1].hotfix_allowed:
        return None
    severity, policy = labelled
    seats = tuple(map(Seats.of, policy.approvals))
    return ApprovalNeed(severity, f"severities.{severity}", seats, severity, policy)


def rollback_need(config: HotfixConfig, severity: str | None) -> ApprovalNeed | None:
    """The approvals a rollback of a hotfix of `severity` (None: without one severity label)
    needs; None when no group applies. Verbal approvals count where that severity takes them."""
    policy = config.severities.get(severity) if severity is not None else None
    if config.rollback.approvals is not None:
        seats = tuple(map(Seats.of, config.rollback.approvals))
        return ApprovalNeed("a rollback", "rollback.approvals", seats, severity, policy)
    if severity is None or policy is None:
        return None
    any_group = (Seats.any_of(policy.approvals),) if policy.approvals else ()
    of = f"a rollback of a {severity} hotfix"
    return ApprovalNeed(of, "rollback.approvals", any_group, severity, policy)


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


def standing_verbal_approvals(
    reviews: Sequence[Review], verbal: Sequence[VerbalApproval], head_sha: str, author: str
) -> list[VerbalApproval]:
    """The verbal approvals among `verbal` that are their approver's latest approval of
    `head_sha`, as this rule counts them: a later push voided the others, and a later review by
    the same person, approving or not, replaced them."""
    return list(_latest_approvals(reviews, verbal, head_sha, author).verbal.values())


def review_approves(reviews: Sequence[Review], login: str, head_sha: str, author: str) -> bool:
    """Whether `login`'s latest review approves `head_sha`, as this rule counts reviews: a
    verbal approval recorded for them would add nothing."""
    current = _latest_approvals(reviews, (), head_sha, author).current
    return login.casefold() in {approver.casefold() for approver in current}


def confirming_review(reviews: Sequence[Review], approval: VerbalApproval) -> Review | None:
    """The first approving review of the head commit `approval` was recorded on by its
    approver, submitted after the verbal approval was recorded: the confirmation it asks for
    (docs/BEHAVIOUR.md, 'Comment commands'). An approval before it is none: the verbal
    approval was only taken because a later review of theirs (a comment, changes requested)
    had replaced it, and one still standing refuses the command."""
    approver = approval.approver.casefold()
    approving = [
        review
        for review in reviews
        if review.reviewer.casefold() == approver
        and review.state is ReviewState.APPROVED
        and review.commit_id == approval.head_sha
        and review.submitted_at is not None
        and review.submitted_at >= approval.recorded_at
    ]
    return min(approving, key=lambda review: review.submitted_at or _EARLIEST, default=None)


def takes_verbal_approvals(policy: SeverityPolicy | None) -> bool:
    """Whether verbal approvals count under `policy`, an `ApprovalNeed`'s severity (for a
    rollback, the rolled-back hotfix's; None: none). The post-merge steps ask it of the
    merged pull request's."""
    return policy is not None and policy.verbal_approval


def _counted_verbal(
    policy: SeverityPolicy | None, facts: PullRequestFacts
) -> Sequence[VerbalApproval]:
    """The verbal approvals, where the severity allows them (for a rollback, the rolled-back
    hotfix's severity); none without a severity."""
    return facts.verbal_approvals if takes_verbal_approvals(policy) else ()


def _uncounted_verbal(need: ApprovalNeed, facts: PullRequestFacts) -> str | None:
    """Why the verbal approvals recorded on the pull request do not count, if they do not."""
    if not facts.verbal_approvals or _counted_verbal(need.policy, facts):
        return None
    approvers = dict.fromkeys(approval.approver for approval in facts.verbal_approvals)
    if need.severity is None:
        why = "the rolled-back hotfix has no single severity label that could allow them"
    else:
        rolled_back = " (of the rolled-back hotfix)" if facts.reverted is not None else ""
        why = (
            f"severity {need.severity}{rolled_back} does not take verbal approvals "
            f"(`severities.{need.severity}.verbal_approval`)"
        )
    if len(approvers) == 1:
        return f"the verbal approval of {next(iter(approvers))} does not count: {why}"
    return f"the verbal approvals of {join_words(list(approvers))} do not count: {why}"


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

    # The approval group's name; groups joined by "or" while it counts for either of them.
    group: str
    approver: str  # login
    verbal: VerbalApproval | None  # the verbal approval it is, if it is one


def counted_approvals(policy: SeverityPolicy, facts: PullRequestFacts) -> list[CountedApproval]:
    """The approvals that count, group by group, each person placed as `check` places them."""
    approvals = _latest_approvals(
        facts.reviews, _counted_verbal(policy, facts), facts.head_sha, facts.author
    )
    groups = tuple(Seats.of(group) for group in policy.approvals)
    seating = _seat(groups, facts, approvals.current)
    return [
        CountedApproval(
            _either(groups, seating.unsettled.get(login, (index,))),
            login,
            approvals.verbal.get(login),
        )
        for index, people in enumerate(seating.seated)
        for login in people
    ]


def _members(seats: Seats, facts: PullRequestFacts) -> frozenset[str]:
    """Casefolded logins that can fill `seats`."""
    members: set[str] = set()
    for group in seats.groups:
        if group.users is not None:
            members.update(login.casefold() for login in group.users)
        else:
            assert group.team is not None  # a group names a team or users (ApprovalGroup checks)
            members.update(login.casefold() for login in facts.team_members.get(group.team, ()))
    return frozenset(members)


def _candidates(groups: Sequence[Seats], facts: PullRequestFacts) -> list[frozenset[str]]:
    """Per group, the casefolded logins whose approval counts for it: never the author's."""
    return [_members(group, facts) - {facts.author.casefold()} for group in groups]


def _outsiders(
    groups: Sequence[Seats], facts: PullRequestFacts, approvers: Sequence[str]
) -> list[str]:
    """Those of `approvers` who may fill none of `groups` (a reviewer outside the teams, one
    who left a team since): none while a team's members cannot be known (GitHub refused
    them, or a person's account has no teams: the rule's failure says so)."""
    teams = {group.team for seats in groups for group in seats.groups if group.team}
    if teams and (facts.personal_account or not teams.isdisjoint(facts.unreadable_teams)):
        return []
    anyone = frozenset().union(*_candidates(groups, facts))
    return [login for login in approvers if login.casefold() not in anyone]


def _seat(groups: Sequence[Seats], facts: PullRequestFacts, approvers: Sequence[str]) -> Seating:
    return seat([group.count for group in groups], _candidates(groups, facts), approvers)


def _either(groups: Sequence[Seats], indices: Sequence[int]) -> str:
    """The groups at `indices` as alternatives: `Engineering Lead or Product Manager`."""
    return join_words([groups[index].name for index in indices], "or")


def _describe_group(group: Seats) -> str:
    approvals = "1 approval" if group.count == 1 else f"{group.count} approvals"
    return f"{group.name}: {approvals} from {group.source}"


def _ask(groups: Sequence[Seats], short: Shortfall, unhelpful: frozenset[str]) -> str:
    """Whom to ask for the approvals `short` misses: a team as a whole (who else joins it is
    not known), the people of a `users:` group but for `unhelpful` (casefolded logins), those
    whose approval would add nothing (the author's, those given already)."""
    teams: list[str] = []
    people: dict[str, str] = {}
    for index in short.groups:
        for group in groups[index].groups:
            if group.team is not None:
                teams.append(f"team {group.team}")
            for login in group.users or []:
                if login.casefold() not in unhelpful:
                    people.setdefault(login.casefold(), login)
    missing = short.missing
    then = ""
    if missing == 1 or len(short.groups) > 1:  # `ask carol or dave`, `ask someone from ...`
        anyone = [f"someone from {join_words(teams, 'or')}"] if teams else []
        who = join_words([*anyone, *people.values()], "or")
        # Which groups the later ones must come from depends on who gives the next: two
        # more from one group may leave the other's seat empty.
        if missing > 1:
            then = f", then whom this check names next ({missing} more approvals are needed)"
    else:
        listed = [", ".join(people.values())] if people else []
        who = f"{missing} more people from {join_words([*teams, *listed], 'or')}"
    return f"{_either(groups, short.groups)}: ask {who} to approve the latest commit{then}"


def _listed(groups: Iterable[Seats]) -> list[str]:
    """The logins the `users:` of `groups` list, once each (as first written)."""
    listed: dict[str, str] = {}
    for seats in groups:
        for group in seats.groups:
            for login in group.users or []:
                listed.setdefault(login.casefold(), login)
    return list(listed.values())


def _unfillable(groups: Sequence[Seats], facts: PullRequestFacts) -> list[list[Seats]]:
    """The `users:` groups that cannot all be filled by different people, the author aside,
    whoever approves: sets of them with more seats than people. A team can gain members, so a
    group with a team can always wait."""
    listed = [seats for seats in groups if all(group.users is not None for group in seats.groups)]
    short = unfillable([seats.count for seats in listed], _candidates(listed, facts))
    return [[listed[index] for index in part] for part in short]


def _teams_only(groups: Sequence[Seats]) -> list[Seats]:
    """The seats that only members of a team can fill."""
    return [seats for seats in groups if all(group.team is not None for group in seats.groups)]


def _cannot_fill(part: Sequence[Seats], author: str) -> str:
    """Why the groups of `part` cannot all be filled. One group alone can only be for want of
    its author (a group lists as many people as its count, or the config is refused); several
    are only ever joined through someone who may fill them, so they always have people."""
    names = join_words([seats.name for seats in part])
    listed = _listed(part)
    people = [login for login in listed if login.casefold() != author.casefold()]
    author_cannot = "the author cannot approve their own hotfix"
    if len(part) == 1:
        return f"{names} cannot be filled: {author_cannot}"
    needed = sum(seats.count for seats in part)
    why = f"{names} need {needed} different people, but only {join_words(people)} can fill them"
    return why + (f", and {author_cannot}" if len(people) < len(listed) else "")


def _unlisted(need: ApprovalNeed, facts: PullRequestFacts) -> list[str]:
    """A note for each team GitHub lists no members of and no approver was found in: most
    likely no such team, whose people could never be asked. (A person's account has no teams,
    and its own refusal says so.)"""
    if facts.personal_account:
        return []
    return [
        f"GitHub lists no team {slug} in {facts.owner}: if that slug is wrong, correct it under "
        f"{need.config_key} in .github/hotfix.yml on {facts.base_ref}, then re-run this check"
        for slug in need.teams()
        if slug in facts.unlisted_teams and not facts.team_members.get(slug)
    ]


def check(config: HotfixConfig, facts: PullRequestFacts) -> RuleResult:
    need = approval_need(config, facts.labels, facts.reverted)
    if need is None and facts.reverted is not None:
        number = facts.reverted.number
        return RuleResult(
            NAME,
            Status.FAIL,
            f"no single severity label on #{number}",
            "the approvals of rollback.approvals, or of the rolled-back hotfix's severity",
            f"#{number} has no single severity label, so no approval group applies to its rollback",
            f"Label #{number} with its severity, or set `rollback.approvals` in "
            f"`.github/hotfix.yml` on {facts.base_ref}; then re-run this check",
        )
    if need is None:
        return RuleResult(
            NAME,
            Status.NOT_APPLICABLE,
            "no severity that allows a hotfix",
            "the approvals of the pull request's severity",
            "Not checked: the pull request needs one severity label that allows a hotfix",
        )
    groups = need.seats
    expected = "; ".join(map(_describe_group, groups)) or f"no approvals for {need.of}"
    approvals = _latest_approvals(
        facts.reviews, _counted_verbal(need.policy, facts), facts.head_sha, facts.author
    )
    seating = _seat(groups, facts, approvals.current)
    found_parts = [
        f"{group.name}: {', '.join(_shown(p, approvals) for p in people) or 'nobody yet'}"
        for group, people in zip(groups, map(seating.settled, range(len(groups))), strict=True)
    ] + [
        f"{_shown(login, approvals)} (counts for either {_either(groups, indices)})"
        for login, indices in seating.unsettled.items()
    ]
    outsiders = _outsiders(groups, facts, approvals.current)
    if outsiders:  # the page shows their approval: say why it counts for nothing
        are = "is" if len(outsiders) == 1 else "are"
        found_parts.append(
            f"{join_words(outsiders)} approved, but {are} in none of the approval groups"
        )
    notes = []
    if approvals.stale:
        stale = join_words(approvals.stale)
        notes.append(f"{stale} approved an older commit and must approve again")
    if approvals.commented:
        notes.append(
            f"{join_words(approvals.commented)} commented after approving; only the latest "
            "review counts, so they must approve again"
        )
    uncounted = _uncounted_verbal(need, facts)
    if uncounted is not None:
        notes.append(uncounted)
    notes.extend(_unlisted(need, facts))
    found = "; ".join(found_parts + notes) or "no approvals needed"

    waiting = tuple(
        tuple(groups[index].name for index in short.groups) for short in seating.shortfalls
    )
    # A person's account has no teams: the groups only a team could fill never fill.
    teamless = _teams_only(groups) if facts.personal_account else []
    if teamless:
        names = join_words([seats.name for seats in teamless])
        return RuleResult(
            NAME,
            Status.FAIL,
            found,
            expected,
            f"{names} cannot be filled: {facts.repository} belongs to the personal account "
            f"{facts.owner}, which has no teams",
            f"Name the people who approve for {names} with `users: [login, ...]` instead of "
            f"`team:` under {need.config_key} in .github/hotfix.yml on {facts.base_ref}, then "
            "re-run this check",
            waiting,
        )
    # Who in a team approved is not known while GitHub refuses its members: say what to grant
    # rather than wait for approvals already given.
    unreadable = [slug for slug in need.teams() if slug in facts.unreadable_teams]
    if unreadable:
        teams = f"team{'s' if len(unreadable) > 1 else ''} {join_words(unreadable)}"
        return RuleResult(
            NAME,
            Status.FAIL,
            found,
            expected,
            f"hotfix-bot may not read the members of {teams}: "
            f"{facts.unreadable_teams[unreadable[0]]}",
            "Give hotfix-bot's GitHub App the organization permission Members (read), and have "
            f"an owner of {facts.owner} accept it; then re-run this check",
            waiting,
        )
    # `users:` groups too few people can fill never fill: say so instead of waiting. The
    # groups waited for are still named, so that their people are asked and reminded.
    impossible = _unfillable(groups, facts)
    if impossible:
        names = waiting_words([[seats.name for seats in part] for part in impossible])
        listed = _listed(seats for part in impossible for seats in part)
        author_listed = facts.author.casefold() in {login.casefold() for login in listed}
        return RuleResult(
            NAME,
            Status.FAIL,
            found,
            expected,
            "; ".join(_cannot_fill(part, facts.author) for part in impossible),
            # Changing the base branch sends no pull request event to evaluate it again.
            f"List more users for {names} under {need.config_key} in .github/hotfix.yml on "
            f"{facts.base_ref}, then re-run this check"
            + ("; or have someone else open the pull request" if author_listed else ""),
            waiting,
        )
    if not waiting:
        return RuleResult(
            NAME, Status.PASS, found, expected, f"Every approval group of {need.of} is filled"
        )
    unhelpful = frozenset(login.casefold() for login in [facts.author, *approvals.current])
    fixes = [_ask(groups, short, unhelpful) for short in seating.shortfalls] + notes
    return RuleResult(
        NAME,
        Status.PENDING,
        found,
        expected,
        f"Waiting for approval: {waiting_words(waiting)}",
        "; ".join(fixes),
        waiting,
    )


def needs(config: HotfixConfig, facts: PullRequestFacts) -> Lookups:
    """Which of the approvers on the head commit are in the teams of the groups it needs."""
    need = approval_need(config, facts.labels, facts.reverted)
    if need is None:
        return Lookups()
    verbal = _counted_verbal(need.policy, facts)
    approvers = _latest_approvals(facts.reviews, verbal, facts.head_sha, facts.author).current
    if not approvers:
        return Lookups()  # nobody to look up
    return Lookups(teams=need.teams(), approvers=frozenset(approvers))


RULE = Rule(NAME, check, needs)
