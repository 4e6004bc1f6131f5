"""The incident clock: the timers a hotfix pull request sets, whom it asks to review, whom
an escalation step mentions (docs/BEHAVIOUR.md, 'The incident clock')."""

from datetime import UTC, datetime, timedelta

from policy_factories import config, facts, review

from policies.clock import (
    ClockTimer,
    ReviewRequest,
    clock_timers,
    escalation_step,
    mentions,
    review_requests,
)
from policies.evaluate import evaluate
from policies.facts import PullRequestFacts

OPENED = datetime(2026, 12, 4, 20, 30, tzinfo=UTC)
USERS_GROUPS = """
severities:
  P1:
    approvals:
      - {name: Maintainers, users: [dev, alice, Bob, carol], count: 2}
      - {name: Engineering Lead, team: engineering-leads}
    escalation:
      - {after: 1h30m, notify: [approvers, author, '@acme/sre', '@ALICE', '@boss']}
"""


def waiting_p0(**changes: object) -> PullRequestFacts:
    """A P0 hotfix opened at OPENED, evaluated 10 minutes later, that nobody approved."""
    at = OPENED + timedelta(minutes=10)
    return facts(**{"opened_at": OPENED, "evaluated_at": at, "reviews": [], **changes})


def test_a_p0_hotfix_sets_a_timer_for_each_escalation_step_and_its_deadline() -> None:
    pull = waiting_p0()
    timers = clock_timers(config(), evaluate(config(), pull), pull)

    assert timers == [
        ClockTimer(
            "escalation", "P0:15m", OPENED + timedelta(minutes=15), {"severity": "P0", "after": 900}
        ),
        ClockTimer(
            "escalation", "P0:4h", OPENED + timedelta(hours=4), {"severity": "P0", "after": 14400}
        ),
        ClockTimer("overdue", "P0:2h", OPENED + timedelta(hours=2), {"severity": "P0"}),
    ]


def test_no_timer_without_a_hotfix_severity_or_an_opening_time() -> None:
    for pull in (
        waiting_p0(labels={"hotfix", "P2"}),  # P2 is no hotfix severity
        waiting_p0(labels={"hotfix"}),  # no severity
        waiting_p0(head_ref="feature/x", labels={"P0"}),  # no hotfix
        facts(reviews=[]),  # opening unknown
    ):
        assert clock_timers(config(), evaluate(config(), pull), pull) == []


def test_a_deadline_already_passed_sets_no_timer_the_evaluation_says_it() -> None:
    pull = facts(opened_at=OPENED, evaluated_at=OPENED + timedelta(hours=3), reviews=[])

    kinds = [timer.kind for timer in clock_timers(config(), evaluate(config(), pull), pull)]

    assert kinds == ["escalation", "escalation"]


def test_each_group_not_filled_is_asked_never_the_author_nor_who_approved() -> None:
    policy = config(USERS_GROUPS)
    pull = facts(labels={"hotfix", "P1"}, reviews=[review("alice")], author="Dev")

    asked = review_requests(policy, evaluate(policy, pull), pull)

    assert asked == [
        ReviewRequest("Maintainers", reviewers=("Bob", "carol")),
        ReviewRequest("Engineering Lead", team_reviewers=("engineering-leads",)),
    ]
    assert [request.who for request in asked or []] == ["Bob, carol", "team engineering-leads"]


def test_a_team_is_asked_even_with_the_author_in_it_and_a_filled_group_is_not() -> None:
    pull = waiting_p0(
        author="lead", reviews=[review("manager")], team_members={"on-call-managers": {"manager"}}
    )

    asked = review_requests(config(), evaluate(config(), pull), pull)

    assert asked == [ReviewRequest("Engineering Lead", team_reviewers=("engineering-leads",))]


def test_reviews_are_not_requested_when_switched_off_or_for_no_hotfix_severity() -> None:
    switched_off = config("severities: {P0: {request_reviews: false}}")
    pull = waiting_p0()
    p2 = waiting_p0(labels={"hotfix", "P2"})

    assert review_requests(switched_off, evaluate(switched_off, pull), pull) is None
    assert review_requests(config(), evaluate(config(), p2), p2) is None
    filled = facts()
    assert review_requests(config(), evaluate(config(), filled), filled) == []


def test_mentions_name_the_groups_not_filled_the_author_and_the_others_once_each() -> None:
    policy = config(USERS_GROUPS)
    pull = facts(labels={"hotfix", "P1"}, reviews=[], author="alice")
    [step] = policy.severities["P1"].escalation

    found = mentions(step, policy.severities["P1"], evaluate(policy, pull), pull, "acme")

    assert found == [
        "@dev",
        "@Bob",
        "@carol",
        "@acme/engineering-leads",
        "@alice",
        "@acme/sre",
        "@boss",
    ]


def test_someone_in_two_groups_leaves_both_asked_and_mentioned_either_would_complete_it() -> None:
    # pm is in both teams and approved: a lead's approval completes the pair, and so would
    # another product manager's.
    policy = config()
    shared = {"engineering-leads": frozenset({"lead", "pm"}), "product-managers": {"pm"}}
    pull = facts(labels={"hotfix", "P1"}, reviews=[review("pm")], team_members=shared)
    verdict = evaluate(policy, pull)
    first_step = policy.severities["P1"].escalation[0]

    assert review_requests(policy, verdict, pull) == [
        ReviewRequest("Engineering Lead", team_reviewers=("engineering-leads",)),
        ReviewRequest("Product Manager", team_reviewers=("product-managers",)),
    ]
    assert mentions(first_step, policy.severities["P1"], verdict, pull, "acme") == [
        "@acme/engineering-leads",
        "@acme/product-managers",
    ]


AUTHOR_ONLY_GROUP = """
severities:
  P1:
    approvals:
      - {name: Engineering Lead, team: engineering-leads}
      - {name: Owner, users: [Dev]}
      - {name: Maintainers, users: [dev, alice, bob]}
    escalation:
      - {after: 30m, notify: [approvers]}
"""


def test_a_group_only_the_author_could_fill_leaves_the_others_asked_and_mentioned() -> None:
    policy = config(AUTHOR_ONLY_GROUP)
    pull = facts(labels={"hotfix", "P1"}, reviews=[], author="dev")
    verdict = evaluate(policy, pull)
    [step] = policy.severities["P1"].escalation

    assert verdict.title == "1 of 6 rules fails: approvals"
    assert review_requests(policy, verdict, pull) == [
        ReviewRequest("Engineering Lead", team_reviewers=("engineering-leads",)),
        ReviewRequest("Maintainers", reviewers=("alice", "bob")),
    ]
    assert mentions(step, policy.severities["P1"], verdict, pull, "acme") == [
        "@acme/engineering-leads",
        "@alice",
        "@bob",
    ]


def test_an_escalation_step_is_found_by_its_time() -> None:
    assert escalation_step(config(), "P0", timedelta(minutes=15)) is not None
    assert escalation_step(config(), "P0", timedelta(minutes=16)) is None
    assert escalation_step(config(), "P9", timedelta(minutes=15)) is None
