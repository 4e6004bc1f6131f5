"""The approvals rule: who counts, latest review wins, one person per group."""

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from policy_factories import HEAD_SHA, OLD_SHA, config, facts, review

from policies.facts import Review, ReviewState, VerbalApproval
from policies.result import RuleResult, Status
from policies.rules import approvals

TEAMS = {
    "engineering-leads": frozenset({"lead", "both"}),
    "on-call-managers": frozenset({"manager", "both"}),
}


def run(
    reviews: Sequence[Review],
    team_members: dict[str, frozenset[str]] = TEAMS,
    config_text: str | None = None,
    **changes: object,
) -> RuleResult:
    return approvals.check(
        config(config_text), facts(reviews=reviews, team_members=team_members, **changes)
    )


@pytest.mark.parametrize(
    ("reviews", "status", "waiting_for"),
    [
        ([review("lead"), review("manager")], Status.PASS, ()),
        ([review("LEAD"), review("Manager")], Status.PASS, ()),
        ([], Status.PENDING, ("Engineering Lead", "On-call Manager")),
        ([review("lead")], Status.PENDING, ("On-call Manager",)),
        # One person in both groups fills only one of them, either one: someone new in
        # either group completes the pair.
        ([review("both")], Status.PENDING, ("Engineering Lead", "On-call Manager")),
        # ...and moves to the other group when that lets both groups fill.
        ([review("both"), review("lead")], Status.PASS, ()),
        ([review("both"), review("manager")], Status.PASS, ()),
        # Only approvals of the current head commit count.
        (
            [review("lead"), review("manager", commit_id=OLD_SHA)],
            Status.PENDING,
            ("On-call Manager",),
        ),
        # The latest decisive review wins.
        (
            [review("lead"), review("manager"), review("manager", "CHANGES_REQUESTED")],
            Status.PENDING,
            ("On-call Manager",),
        ),
        (
            [review("lead"), review("manager", "CHANGES_REQUESTED"), review("manager")],
            Status.PASS,
            (),
        ),
        (
            [review("lead"), review("manager"), review("manager", "DISMISSED")],
            Status.PENDING,
            ("On-call Manager",),
        ),
        # Only the latest review counts (docs/BEHAVIOUR.md, 'Approval groups'): a comment
        # after an approval replaces it.
        (
            [review("lead"), review("manager"), review("manager", "COMMENTED")],
            Status.PENDING,
            ("On-call Manager",),
        ),
        ([review("lead"), review("manager", "COMMENTED"), review("manager")], Status.PASS, ()),
        # A draft review its author has not submitted is no review yet.
        ([review("lead"), review("manager"), review("manager", "PENDING")], Status.PASS, ()),
        # Approvals from people in no group count for nothing.
        ([review("lead"), review("stranger")], Status.PENDING, ("On-call Manager",)),
    ],
)
def test_team_groups(reviews: list[Review], status: Status, waiting_for: tuple[str, ...]) -> None:
    result = run(reviews)
    assert (result.status, result.waiting_for) == (status, waiting_for)


def test_the_author_never_counts() -> None:
    result = run([review("lead"), review("manager")], author="manager")
    assert result.status is Status.PENDING
    assert result.waiting_for == ("On-call Manager",)
    assert result.found == "Engineering Lead: lead; On-call Manager: nobody yet"


def test_a_comment_after_an_approval_is_named_in_found_and_fix() -> None:
    result = run([review("lead"), review("manager"), review("manager", "COMMENTED")])
    note = (
        "manager commented after approving; only the latest review counts, "
        "so they must approve again"
    )
    assert result.found == f"Engineering Lead: lead; On-call Manager: nobody yet; {note}"
    assert result.summary == "Waiting for approval: On-call Manager"
    assert result.how_to_fix == (
        "On-call Manager: ask someone from team on-call-managers to approve the latest commit; "
        + note
    )


def test_a_comment_from_someone_who_never_approved_asks_nothing_of_them() -> None:
    result = run([review("lead"), review("manager", "COMMENTED")])
    assert result.found == "Engineering Lead: lead; On-call Manager: nobody yet"
    assert result.how_to_fix == (
        "On-call Manager: ask someone from team on-call-managers to approve the latest commit"
    )


def test_a_stale_approval_is_named_in_found_and_fix() -> None:
    result = run([review("lead"), review("manager", commit_id=OLD_SHA)])
    assert result.found == (
        "Engineering Lead: lead; On-call Manager: nobody yet; "
        "manager approved an older commit and must approve again"
    )
    assert result.summary == "Waiting for approval: On-call Manager"
    assert result.how_to_fix == (
        "On-call Manager: ask someone from team on-call-managers to approve the latest commit; "
        "manager approved an older commit and must approve again"
    )


P1_SHARED = {"engineering-leads": frozenset({"lead", "pm"}), "product-managers": frozenset({"pm"})}


def test_someone_in_two_groups_counts_for_either_until_the_next_approval_settles_them() -> None:
    # pm leads engineering too, and is the only product manager: a lead's approval completes
    # the pair (pm then fills Product Manager), as another product manager's would.
    result = run([review("pm")], P1_SHARED, labels={"hotfix", "P1"})

    assert (result.status, result.waiting, result.waiting_for) == (
        Status.PENDING,
        (("Engineering Lead", "Product Manager"),),
        ("Engineering Lead", "Product Manager"),
    )
    assert result.found == (
        "Engineering Lead: nobody yet; Product Manager: nobody yet; "
        "pm (counts for either Engineering Lead or Product Manager)"
    )
    assert result.summary == "Waiting for approval: Engineering Lead or Product Manager"
    assert result.how_to_fix == (
        "Engineering Lead or Product Manager: ask someone from team engineering-leads or team "
        "product-managers to approve the latest commit"
    )

    result = run([review("pm"), review("lead")], P1_SHARED, labels={"hotfix", "P1"})

    assert (result.status, result.found) == (
        Status.PASS,
        "Engineering Lead: lead; Product Manager: pm",
    )


def test_alternatives_and_a_group_apart_are_asked_for_each_on_their_own() -> None:
    p0_shared = {"engineering-leads": frozenset({"both"}), "on-call-managers": frozenset({"both"})}
    text = (
        "severities: {P0: {approvals: [{name: Engineering Lead, team: engineering-leads}, "
        "{name: On-call Manager, team: on-call-managers}, {name: Owners, users: [ann, bo], "
        "count: 2}]}}"
    )
    result = run([review("both")], p0_shared, text)

    assert result.waiting == (("Engineering Lead", "On-call Manager"), ("Owners",))
    assert result.summary == "Waiting for approval: Engineering Lead or On-call Manager and Owners"
    assert result.how_to_fix == (
        "Engineering Lead or On-call Manager: ask someone from team engineering-leads or team "
        "on-call-managers to approve the latest commit; "
        "Owners: ask 2 more people from ann, bo to approve the latest commit"
    )


def test_the_approvals_counted_name_the_group_filled_or_both_while_either_would_do() -> None:
    p1 = config().severities["P1"]
    waiting = facts(reviews=[review("pm")], team_members=P1_SHARED, labels={"hotfix", "P1"})
    filled = replace(waiting, reviews=[review("pm"), review("lead")])

    assert approvals.counted_approvals(p1, waiting) == [
        approvals.CountedApproval("Engineering Lead or Product Manager", "pm", None)
    ]
    assert approvals.counted_approvals(p1, filled) == [
        approvals.CountedApproval("Engineering Lead", "lead", None),
        approvals.CountedApproval("Product Manager", "pm", None),
    ]


def test_team_groups_without_known_members_wait() -> None:
    result = run([review("lead"), review("manager")], team_members={})
    assert result.waiting_for == ("Engineering Lead", "On-call Manager")


USERS = """
severities:
  P0:
    approvals:
      - {name: Leads, users: [alice, bob, carol], count: 2}
      - {name: Security, users: [carol, dave]}
"""


@pytest.mark.parametrize(
    ("reviews", "status", "waiting_for", "found"),
    [
        (
            [review("alice"), review("bob"), review("dave")],
            Status.PASS,
            (),
            "Leads: alice, bob; Security: dave",
        ),
        # Both largest seatings leave one group short: carol counts for either.
        (
            [review("alice"), review("carol")],
            Status.PENDING,
            ("Leads", "Security"),
            "Leads: alice; Security: nobody yet; carol (counts for either Leads or Security)",
        ),
        (
            [review("carol"), review("alice"), review("bob")],
            Status.PASS,
            (),
            "Leads: alice, bob; Security: carol",
        ),
        (
            [review("alice")],
            Status.PENDING,
            ("Leads", "Security"),
            "Leads: alice; Security: nobody yet",
        ),
    ],
)
def test_users_groups_and_counts(
    reviews: list[Review], status: Status, waiting_for: tuple[str, ...], found: str
) -> None:
    # `users:` groups come from the config alone, whatever the app reports.
    result = run(reviews, team_members={"leads": frozenset({"mallory"})}, config_text=USERS)
    assert (result.status, result.waiting_for, result.found) == (status, waiting_for, found)


def test_count_two_asks_for_more_people() -> None:
    result = run([], config_text=USERS)
    assert result.how_to_fix == (
        "Leads: ask 2 more people from alice, bob, carol to approve the latest commit; "
        "Security: ask carol or dave to approve the latest commit"
    )
    assert result.expected == (
        "Leads: 2 approvals from users alice, bob, carol; "
        "Security: 1 approval from users carol, dave"
    )


def test_a_group_of_one_person_asks_that_person() -> None:
    text = "severities: {P0: {approvals: [{name: Release Owner, users: [rob]}]}}"
    result = run([], config_text=text)
    assert result.how_to_fix == "Release Owner: ask rob to approve the latest commit"


def test_a_users_group_that_needs_the_author_fails() -> None:
    text = "severities: {P0: {approvals: [{name: Pair, users: [dev, ann], count: 2}]}}"
    result = run([review("ann")], config_text=text)
    assert result.status is Status.FAIL
    assert result.summary == "Pair cannot be filled: the author cannot approve their own hotfix"


def test_a_group_only_the_author_could_fill_still_names_every_group_not_filled() -> None:
    # Whom the clock asks and reminds: the other groups go on waiting for their people.
    text = (
        "severities: {P0: {approvals: [{name: Engineering Lead, team: engineering-leads}, "
        "{name: Owner, users: [dev]}, {name: On-call Manager, team: on-call-managers}]}}"
    )
    result = run([review("manager")], config_text=text)
    assert (result.status, result.waiting_for) == (Status.FAIL, ("Engineering Lead", "Owner"))
    assert result.summary == "Owner cannot be filled: the author cannot approve their own hotfix"
    # A new .github/hotfix.yml on the base branch sends no event to evaluate the pull request.
    assert result.how_to_fix == (
        "List more users for Owner under severities.P0 in .github/hotfix.yml on main, then "
        "re-run this check; or have someone else open the pull request"
    )


OVERLAPPING = """
severities:
  P0:
    approvals:
      - {name: Release Owner, users: [alice]}
      - {name: Backup Owner, users: [alice, bob], count: 2}
"""


@pytest.mark.parametrize("reviews", [[], [review("alice"), review("bob")]])
def test_users_groups_with_more_seats_than_their_people_fail_however_they_approve(
    reviews: list[Review],
) -> None:
    result = run(reviews, config_text=OVERLAPPING)

    assert result.status is Status.FAIL
    assert result.summary == (
        "Release Owner and Backup Owner need 3 different people, but only alice and bob can "
        "fill them"
    )
    # Another listed user for either group would do; the author plays no part here.
    assert result.how_to_fix == (
        "List more users for Release Owner or Backup Owner under severities.P0 in "
        ".github/hotfix.yml on main, then re-run this check"
    )


def test_users_groups_that_need_the_author_together_fail_naming_the_author() -> None:
    text = (
        "severities: {P0: {approvals: [{name: Engineering Lead, users: [alice, dev]}, "
        "{name: Manager, users: [alice]}]}}"
    )
    result = run([review("alice")], config_text=text)

    assert (result.status, result.waiting_for) == (Status.FAIL, ("Engineering Lead", "Manager"))
    assert result.summary == (
        "Engineering Lead and Manager need 2 different people, but only alice can fill them, "
        "and the author cannot approve their own hotfix"
    )
    assert result.how_to_fix == (
        "List more users for Engineering Lead or Manager under severities.P0 in "
        ".github/hotfix.yml on main, then re-run this check; or have someone else open the "
        "pull request"
    )


def test_each_set_of_groups_that_cannot_fill_is_told_apart() -> None:
    text = (
        "severities: {P0: {approvals: [{name: Owner, users: [dev]}, "
        "{name: Release Owner, users: [alice]}, "
        "{name: Backup Owner, users: [alice, bob], count: 2}]}}"
    )
    result = run([], config_text=text)

    assert result.summary == (
        "Owner cannot be filled: the author cannot approve their own hotfix; Release Owner and "
        "Backup Owner need 3 different people, but only alice and bob can fill them"
    )


def test_a_team_group_sharing_its_only_known_member_with_a_users_group_waits() -> None:
    # The team may gain members; its known one is asked no more, having approved already.
    text = (
        "severities: {P0: {approvals: [{name: Engineering Lead, team: engineering-leads}, "
        "{name: Owner, users: [lead]}]}}"
    )
    result = run([review("lead")], {"engineering-leads": frozenset({"lead"})}, text)

    assert (result.status, result.waiting_for) == (
        Status.PENDING,
        ("Engineering Lead", "Owner"),
    )
    assert result.how_to_fix == (
        "Engineering Lead or Owner: ask someone from team engineering-leads to approve the "
        "latest commit"
    )


MIXED = """
severities:
  P0:
    approvals:
      - {name: Leads, team: engineering-leads}
      - {name: Owners, users: [lead, Bob, dev, carol], count: 2}
"""


@pytest.mark.parametrize(
    ("reviews", "how_to_fix"),
    [
        (
            [],
            "Leads: ask someone from team engineering-leads to approve the latest commit; "
            "Owners: ask 2 more people from lead, Bob, carol to approve the latest commit",
        ),
        # Neither the author nor those approving already are asked; a team is asked as a
        # whole, its members not all known. Two more leads would leave an owner's seat empty,
        # so only the next approval is asked for.
        (
            [review("lead")],
            "Leads or Owners: ask someone from team engineering-leads, Bob or carol to approve "
            "the latest commit, then whom this check names next (2 more approvals are needed)",
        ),
        # An approval of an older commit is given no more: its reviewer is asked again.
        (
            [review("lead"), review("bob"), review("carol", commit_id=OLD_SHA)],
            "Leads or Owners: ask someone from team engineering-leads or carol to approve the "
            "latest commit; carol approved an older commit and must approve again",
        ),
    ],
)
def test_only_people_whose_approval_would_count_are_asked(
    reviews: list[Review], how_to_fix: str
) -> None:
    result = run(reviews, {"engineering-leads": frozenset({"lead", "lead2"})}, MIXED)

    assert (result.status, result.how_to_fix) == (Status.PENDING, how_to_fix)


@pytest.mark.parametrize("labels", [{"hotfix"}, {"hotfix", "P2"}, {"hotfix", "P0", "P1"}])
def test_not_applicable_without_an_allowed_severity(labels: set[str]) -> None:
    assert run([review("lead")], labels=labels).status is Status.NOT_APPLICABLE


def test_a_severity_without_groups_passes() -> None:
    result = run([], config_text="severities: {P0: {approvals: []}}")
    assert result.status is Status.PASS
    assert result.expected == "no approvals for P0"


def test_head_sha_is_compared_exactly() -> None:
    assert (
        run([review("lead"), review("manager", commit_id=HEAD_SHA.upper())]).status
        is Status.PENDING
    )


def test_a_users_group_named_like_a_team_group_of_another_severity_counts_its_users() -> None:
    p1_by_users = (
        "severities: {P1: {approvals: [{name: Engineering Lead, users: [alice]}, "
        "{name: Product Manager, users: [bob]}]}}"
    )
    labels = frozenset({"hotfix", "P1"})
    by_users = run([review("alice"), review("bob")], config_text=p1_by_users, labels=labels)
    by_team = run([review("lead"), review("bob")], config_text=p1_by_users, labels=labels)
    assert (by_users.status, by_users.found) == (
        Status.PASS,
        "Engineering Lead: alice; Product Manager: bob",
    )
    assert (by_team.status, by_team.waiting_for) == (Status.PENDING, ("Engineering Lead",))


# --- verbal approvals (docs/BEHAVIOUR.md, 'Comment commands') ----------------------------------

RECORDED_AT = datetime(2026, 12, 4, 14, 32, 10, tzinfo=UTC)


def verbal(approver: str, commit_id: str = HEAD_SHA, recorder: str = "dana") -> VerbalApproval:
    return VerbalApproval(approver, recorder, RECORDED_AT, commit_id)


def test_a_verbal_approval_counts_as_an_approval_of_the_head_and_names_its_recorder() -> None:
    result = run([review("lead")], verbal_approvals=[verbal("manager")])

    assert result.status is Status.PASS
    assert result.found == (
        "Engineering Lead: lead; On-call Manager: manager (verbal, recorded by @dana at 14:32 UTC)"
    )


def test_a_verbal_approval_for_an_older_head_asks_again() -> None:
    result = run([review("lead")], verbal_approvals=[verbal("manager", OLD_SHA)])

    assert result.waiting_for == ("On-call Manager",)
    assert result.found == (
        "Engineering Lead: lead; On-call Manager: nobody yet; "
        "manager (verbal) approved an older commit and must approve again"
    )


def test_a_verbal_approval_counts_only_as_a_review_would() -> None:
    # The author never counts; one person fills one group; someone in no group fills none.
    assert run([], verbal_approvals=[verbal("dev")], author="dev").waiting_for == (
        "Engineering Lead",
        "On-call Manager",
    )
    assert run([], verbal_approvals=[verbal("both")]).waiting_for == (
        "Engineering Lead",
        "On-call Manager",
    )
    assert run([review("lead")], verbal_approvals=[verbal("stranger")]).waiting_for == (
        "On-call Manager",
    )


def test_a_later_review_replaces_a_verbal_approval_and_a_later_verbal_approval_a_review() -> None:
    before = RECORDED_AT - timedelta(minutes=5)
    after = RECORDED_AT + timedelta(minutes=5)
    asked_changes = Review("manager", ReviewState.CHANGES_REQUESTED, HEAD_SHA, after)
    assert run([review("lead"), asked_changes], verbal_approvals=[verbal("manager")]).status is (
        Status.PENDING
    )
    asked_earlier = Review("manager", ReviewState.CHANGES_REQUESTED, HEAD_SHA, before)
    assert run([review("lead"), asked_earlier], verbal_approvals=[verbal("manager")]).status is (
        Status.PASS
    )


def test_verbal_approvals_count_only_where_the_severity_takes_them() -> None:
    result = run(
        [review("lead")],
        config_text="severities: {P0: {verbal_approval: false}}",
        verbal_approvals=[verbal("manager")],
    )
    assert result.waiting_for == ("On-call Manager",)


def test_the_teams_of_verbal_approvers_are_looked_up() -> None:
    needs = approvals.needs(config(), facts(reviews=[], verbal_approvals=[verbal("manager")]))
    assert needs.approvers == frozenset({"manager"})
    assert needs.teams == ("engineering-leads", "on-call-managers")


def test_a_verbal_approval_stands_until_a_push_or_a_later_review_by_its_approver() -> None:
    after = RECORDED_AT + timedelta(minutes=5)
    reviews = [
        Review("manager", ReviewState.APPROVED, HEAD_SHA, after),
        Review("both", ReviewState.COMMENTED, HEAD_SHA, after),
        Review("lead", ReviewState.APPROVED, HEAD_SHA, RECORDED_AT - timedelta(minutes=5)),
    ]
    recorded = [verbal("manager"), verbal("both"), verbal("lead"), verbal("other", OLD_SHA)]

    standing = approvals.standing_verbal_approvals(reviews, recorded, HEAD_SHA, "dev")

    # manager's and both's later reviews, approving or not, replaced theirs; other's is of a
    # commit a push replaced.
    assert standing == [verbal("lead")]


def test_whether_someone_s_review_approves_the_head_is_their_latest_review_s_say() -> None:
    before = RECORDED_AT - timedelta(minutes=5)
    reviews = [
        Review("lead", ReviewState.APPROVED, HEAD_SHA, before),
        Review("manager", ReviewState.APPROVED, HEAD_SHA, before),
        Review("manager", ReviewState.COMMENTED, HEAD_SHA, RECORDED_AT),
        Review("both", ReviewState.APPROVED, OLD_SHA, before),
        Review("dev", ReviewState.APPROVED, HEAD_SHA, before),  # the author
    ]

    approving = [
        login
        for login in ("LEAD", "manager", "both", "dev")
        if approvals.review_approves(reviews, login, HEAD_SHA, "dev")
    ]

    assert approving == ["LEAD"]


def test_an_approving_review_of_its_commit_after_a_verbal_approval_confirms_it() -> None:
    later = Review("MANAGER", ReviewState.APPROVED, HEAD_SHA, RECORDED_AT + timedelta(hours=1))
    reviews = [
        Review("manager", ReviewState.APPROVED, OLD_SHA, RECORDED_AT - timedelta(minutes=9)),
        # Replaced by a later review of theirs before the verbal approval was taken.
        Review("manager", ReviewState.APPROVED, HEAD_SHA, RECORDED_AT - timedelta(minutes=5)),
        later,
        Review("manager", ReviewState.APPROVED, HEAD_SHA, RECORDED_AT + timedelta(hours=2)),
        Review("both", ReviewState.COMMENTED, HEAD_SHA, RECORDED_AT + timedelta(hours=1)),
        Review("lead", ReviewState.APPROVED, OLD_SHA, RECORDED_AT + timedelta(hours=1)),
    ]

    assert approvals.confirming_review(reviews, verbal("manager")) == later
    # An approval before the verbal approval, a comment review, or an approval of another
    # commit, is no confirmation.
    assert approvals.confirming_review(reviews[:2], verbal("manager")) is None
    assert approvals.confirming_review(reviews, verbal("both")) is None
    assert approvals.confirming_review(reviews, verbal("lead")) is None


def test_a_team_group_in_a_personal_accounts_repository_fails_naming_why() -> None:
    # Only the first group names a team; the second can be filled by its users.
    text = (
        "severities: {P0: {approvals: [{name: Engineering Lead, team: engineering-leads}, "
        "{name: Manager, users: [manager]}]}}"
    )
    result = run(
        [review("manager")],
        team_members={},
        config_text=text,
        repository="dana/shop",
        personal_account=True,
    )

    assert (result.status, result.waiting_for) == (Status.FAIL, ("Engineering Lead",))
    assert result.summary == (
        "Engineering Lead cannot be filled: dana/shop belongs to the personal account dana, "
        "which has no teams"
    )
    assert result.how_to_fix == (
        "Name the people who approve for Engineering Lead with `users: [login, ...]` instead "
        "of `team:` under severities.P0 in .github/hotfix.yml on main, then re-run this check"
    )


def test_an_approving_review_in_the_second_the_verbal_approval_was_recorded_confirms_it() -> None:
    # GitHub's times are to the second: a review in that second came after the command.
    same_second = Review("manager", ReviewState.APPROVED, HEAD_SHA, RECORDED_AT)

    assert approvals.confirming_review([same_second], verbal("manager")) == same_second
