"""Approvers seated in approval groups (docs/BEHAVIOUR.md, 'Approval groups'): each person
fills at most one seat, a group has `count` seats, and as many seats as possible are filled.

A person who may fill two groups is the only hard case: where either seat leaves the same
number filled, naming one of them would tell the other group's people that they are still
needed when the group they are asked for is not the one that waits. So the seating says
which approvers are not settled in a group yet, and what would fill more seats: one more
approval from any group that can pass its seat on, along approvers who can move, to an empty
one.
"""

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Shortfall:
    """Seats still empty that one more approval from any of `groups` would fill, one each."""

    groups: tuple[int, ...]  # indices of the groups, in group order
    missing: int  # how many more approvals, at the least


@dataclass(frozen=True)
class Seating:
    # Per group, the approvers in its seats, in approval order.
    seated: tuple[tuple[str, ...], ...]
    # Approver -> every group they count for in some largest seating (indices, in group
    # order): only those whose group is not settled.
    unsettled: Mapping[str, tuple[int, ...]]
    shortfalls: tuple[Shortfall, ...]  # in group order; none once every seat is filled

    def settled(self, group: int) -> tuple[str, ...]:
        """The approvers of `group` who count for it in every largest seating."""
        return tuple(login for login in self.seated[group] if login not in self.unsettled)

    @property
    def waiting_for(self) -> tuple[int, ...]:
        """The groups one more approval from would fill one more seat."""
        return tuple(sorted(group for short in self.shortfalls for group in short.groups))


def seat(
    counts: Sequence[int], candidates: Sequence[Collection[str]], approvers: Sequence[str]
) -> Seating:
    """The most seats `approvers` can fill: `counts[i]` seats for group `i`, which the
    casefolded logins in `candidates[i]` may fill.

    Approvers (distinct logins) are seated in approval order, each in the first of their
    groups with an empty seat; when all of those are full, someone in one of them moves to
    another group they may fill, if that lets the approver in (augmenting paths). So an
    approver who fits one group only is seated there or nowhere, and nobody loses their seat
    to a later approval.
    """
    groups = range(len(counts))
    fits = {
        login: [group for group in groups if login.casefold() in candidates[group]]
        for login in approvers
    }
    holders: list[list[str]] = [[] for _ in groups]

    def place(login: str, tried: set[int]) -> bool:
        untried = [group for group in fits[login] if group not in tried]
        for group in untried:
            if len(holders[group]) < counts[group]:
                holders[group].append(login)
                return True
        for group in untried:  # each full: someone in it moves on, if they can
            if group in tried:
                continue
            tried.add(group)
            for holder in holders[group]:
                if place(holder, tried):
                    holders[group].remove(holder)
                    holders[group].append(login)
                    return True
        return False

    for login in approvers:
        place(login, set())
    order = {login: index for index, login in enumerate(approvers)}
    seated = tuple(tuple(sorted(people, key=order.__getitem__)) for people in holders)

    def frees_a_seat(group: int, passed: set[int]) -> bool:
        """Whether a newcomer to `group` fills a seat: an empty one of it, or one its approvers
        move to, passing theirs on."""
        if len(seated[group]) < counts[group]:
            return True
        passed.add(group)
        return any(
            other not in passed and frees_a_seat(other, passed)
            for login in seated[group]
            for other in fits[login]
        )

    waiting = [group for group in groups if frees_a_seat(group, set())]
    unsettled = {
        login: tuple(group for group in fits[login] if group in waiting)
        for group in waiting
        for login in seated[group]
        if any(other in waiting for other in fits[login] if other != group)
    }
    return Seating(seated, unsettled, _shortfalls(counts, seated, waiting, unsettled))


def unfillable(
    counts: Sequence[int], candidates: Sequence[Collection[str]]
) -> tuple[tuple[int, ...], ...]:
    """The groups that cannot all be filled even were every one of `candidates` to approve:
    sets of groups (indices, in group order) with more seats than people who may fill them;
    none when every seat can be filled."""
    everyone = sorted({login for people in candidates for login in people})
    seated = seat(counts, candidates, everyone).seated
    holder = {login: group for group, people in enumerate(seated) for login in people}
    parts = []
    for short in (group for group, count in enumerate(counts) if len(seated[group]) < count):
        # Everyone who may fill a group reached holds a seat of one (else the seating would
        # be larger), so the groups reached have more seats than people for them.
        reached, todo = {short}, [short]
        while todo:
            for login in candidates[todo.pop()]:
                if holder[login] not in reached:
                    reached.add(holder[login])
                    todo.append(holder[login])
        parts.append(reached)
    return _joined(parts)


def _joined(parts: Iterable[Collection[int]]) -> tuple[tuple[int, ...], ...]:
    """`parts`, those that share a group joined into one, in group order."""
    together: list[set[int]] = []
    for part in parts:
        linked = [one for one in together if not one.isdisjoint(part)]
        together = [one for one in together if one.isdisjoint(part)]
        together.append(set(part).union(*linked))
    return tuple(sorted(tuple(sorted(one)) for one in together))


def _shortfalls(
    counts: Sequence[int],
    seated: Sequence[Sequence[str]],
    waiting: Sequence[int],
    unsettled: Mapping[str, Sequence[int]],
) -> tuple[Shortfall, ...]:
    """The groups waited for, those an unsettled approver links taken together: an approval
    from any of them fills one of their empty seats."""
    together = _joined([*([group] for group in waiting), *unsettled.values()])
    return tuple(
        Shortfall(groups, sum(counts[group] - len(seated[group]) for group in groups))
        for groups in together
    )
