"""Approvers seated in approval groups: the most seats filled, who is not settled in a group,
and which groups one more approval would help (docs/BEHAVIOUR.md, 'Approval groups')."""

from collections.abc import Sequence
from itertools import product

from hypothesis import given
from hypothesis import strategies as st

from policies.seating import Seating, Shortfall, seat, unfillable

LEAD, MANAGER = 0, 1  # P1's groups: Engineering Lead, Product Manager


def test_someone_in_two_groups_is_not_settled_and_either_group_completes_it() -> None:
    # pm is a lead and the only product manager: one more lead, or another product manager,
    # fills both groups.
    seating = seat([1, 1], [{"lead", "pm"}, {"pm"}], ["pm"])

    assert seating == Seating(
        seated=(("pm",), ()), unsettled={"pm": (LEAD, MANAGER)}, shortfalls=(Shortfall((0, 1), 1),)
    )
    assert (seating.settled(LEAD), seating.settled(MANAGER)) == ((), ())
    assert seating.waiting_for == (LEAD, MANAGER)


def test_a_later_approval_moves_someone_in_two_groups_to_the_one_it_cannot_fill() -> None:
    seating = seat([1, 1], [{"lead", "pm"}, {"pm"}], ["pm", "lead"])

    assert seating == Seating(seated=(("lead",), ("pm",)), unsettled={}, shortfalls=())


def test_one_group_per_person_waits_for_each_group_on_its_own() -> None:
    seating = seat([2, 1, 1], [{"alice", "bob"}, {"carol"}, {"dave"}], ["dave", "stranger"])

    assert seating == Seating(
        seated=((), (), ("dave",)),
        unsettled={},
        shortfalls=(Shortfall((0,), 2), Shortfall((1,), 1)),
    )


def test_a_group_nobody_can_move_into_is_waited_for_apart_from_the_linked_ones() -> None:
    seating = seat([1, 1, 1], [{"x", "a"}, {"x", "b"}, {"c"}], ["x"])

    assert seating.unsettled == {"x": (0, 1)}
    assert seating.shortfalls == (Shortfall((0, 1), 1), Shortfall((2,), 1))


def test_people_move_along_a_chain_to_let_a_later_approver_in() -> None:
    # q takes the first seat and r the second; p fits the first group only, so q moves on to
    # the second and r to the third.
    seating = seat([1, 1, 1], [{"p", "q"}, {"q", "r"}, {"r"}], ["q", "r", "p"])

    assert seating == Seating(seated=(("p",), ("q",), ("r",)), unsettled={}, shortfalls=())


def test_an_approver_takes_an_empty_seat_rather_than_move_an_earlier_one() -> None:
    seating = seat([1, 1], [{"x", "y"}, {"x", "y"}], ["x", "y"])

    # Either seating fills both groups: nobody is unsettled, and x keeps the first seat.
    assert seating == Seating(seated=(("x",), ("y",)), unsettled={}, shortfalls=())


def test_logins_are_matched_without_regard_to_case_and_kept_as_given() -> None:
    assert seat([1], [{"lead"}], ["Lead"]).seated == (("Lead",),)


def test_groups_that_share_too_few_people_cannot_all_be_filled() -> None:
    # Three seats, two people: whichever group alice fills, the other stays short. The third
    # group has people enough of its own.
    counts, candidates = [1, 2, 1], [{"alice"}, {"alice", "bob"}, {"carol"}]

    assert unfillable(counts, candidates) == ((0, 1),)
    assert unfillable([1, 1, 1], candidates) == ()


# --- against every possible seating of small cases ---------------------------------------------

PEOPLE = ("p", "q", "r", "s", "t")


def _seatings(
    counts: Sequence[int], candidates: Sequence[set[str]], approvers: Sequence[str]
) -> list[tuple[int | None, ...]]:
    """Every way of seating `approvers` (each in a group they fit, or nowhere) within the
    counts."""
    choices = [
        [None, *(group for group, fit in enumerate(candidates) if login in fit)]
        for login in approvers
    ]
    return [
        chosen
        for chosen in product(*choices)
        if all(chosen.count(group) <= count for group, count in enumerate(counts))
    ]


def _most(counts: Sequence[int], candidates: Sequence[set[str]], approvers: Sequence[str]) -> int:
    return max(
        sum(group is not None for group in chosen)
        for chosen in _seatings(counts, candidates, approvers)
    )


cases = st.integers(min_value=1, max_value=3).flatmap(
    lambda groups: st.tuples(
        st.lists(st.integers(min_value=1, max_value=2), min_size=groups, max_size=groups),
        st.lists(st.sets(st.sampled_from(PEOPLE), max_size=4), min_size=groups, max_size=groups),
        st.lists(st.sampled_from(PEOPLE), max_size=4, unique=True).map(tuple),
    )
)


@given(cases)
def test_the_seating_is_a_largest_one_and_says_truly_what_would_fill_more(
    case: tuple[list[int], list[set[str]], tuple[str, ...]],
) -> None:
    counts, candidates, approvers = case
    seating = seat(counts, candidates, approvers)
    most = _most(counts, candidates, approvers)

    seated = [login for people in seating.seated for login in people]
    assert len(seated) == len(set(seated)) == most
    for group, people in enumerate(seating.seated):
        assert len(people) <= counts[group]
        assert all(login in candidates[group] for login in people)
    # A group is waited for exactly when one more approval from someone new in it fills more.
    newcomer = "newcomer"
    more = [
        group
        for group in range(len(counts))
        if _most(
            counts,
            [fit | {newcomer} if other == group else fit for other, fit in enumerate(candidates)],
            [*approvers, newcomer],
        )
        > most
    ]
    assert list(seating.waiting_for) == more
    assert sum(short.missing for short in seating.shortfalls) == sum(counts) - most
    # Someone is unsettled exactly when they fill either of two groups waited for, each in
    # some largest seating; and then every such group is named.
    largest = [
        chosen
        for chosen in _seatings(counts, candidates, approvers)
        if sum(group is not None for group in chosen) == most
    ]
    for index, login in enumerate(approvers):
        could = sorted(set(more).intersection(chosen[index] for chosen in largest))
        if len(could) > 1:
            assert seating.unsettled[login] == tuple(could)
        else:
            assert login not in seating.unsettled


@given(cases)
def test_nobody_loses_their_seat_to_a_later_approval(
    case: tuple[list[int], list[set[str]], tuple[str, ...]],
) -> None:
    counts, candidates, approvers = case
    for earlier in range(len(approvers)):
        before = seat(counts, candidates, approvers[:earlier]).seated
        after = seat(counts, candidates, approvers).seated
        assert {login for people in before for login in people} <= {
            login for people in after for login in people
        }


@given(cases)
def test_unfillable_names_exactly_groups_short_of_people_whenever_seats_cannot_all_fill(
    case: tuple[list[int], list[set[str]], tuple[str, ...]],
) -> None:
    counts, candidates, _ = case
    everyone = sorted(set().union(*candidates))
    parts = unfillable(counts, candidates)

    assert bool(parts) == (_most(counts, candidates, everyone) < sum(counts))
    named = [group for part in parts for group in part]
    assert len(named) == len(set(named))
    for part in parts:
        assert sum(counts[group] for group in part) > len(
            set().union(*(candidates[g] for g in part))
        )
