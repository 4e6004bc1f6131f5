"""When each installation's suspension began, as far as hotfix-bot knows, kept in the journal
(docs/RELIABILITY.md, "Suspended and reinstalled installations"): its unsuspension runs the
post-merge steps of the hotfixes merged since, of which GitHub sent no word.

The start is GitHub's: the `installation` delivery of action `suspend` names it. Should that
delivery not reach hotfix-bot (it was down), the first request GitHub refused for the
suspension stands in for it: a later time, so no merge from before the suspension is taken
for one made during it. A suspension hotfix-bot never learnt of has no start, and its
unsuspension runs no post-merge steps. The unsuspension ends the suspension kept: a later
refusal starts the next one, and a `suspend` GitHub delivers after it starts none. Should
GitHub's `unsuspend` not reach hotfix-bot either, the first token GitHub grants the
installation after the start stands for it, and the suspension it ends is kept as ended so
(`inferred`): the `unsuspend` coming late then finds nothing left to do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from app.handlers.routing import StateReader, StateStore


@dataclass(frozen=True, slots=True)
class Suspension:
    """The installation's latest suspension hotfix-bot learnt of; times are seconds since
    the epoch."""

    began: float
    ended: float | None = None  # when its unsuspension was handled
    # Its unsuspension was told by a token GitHub granted, not by GitHub's `unsuspend`.
    inferred: bool = False

    @property
    def ongoing_since(self) -> float | None:
        """When it began; None once it has ended."""
        return self.began if self.ended is None else None


def _key(installation_id: int) -> str:
    return f"suspension:{installation_id}"


async def kept(state: StateReader, installation_id: int) -> Suspension | None:
    """The installation's latest suspension hotfix-bot learnt of; None when it learnt of none."""
    stored = await state.get_state(_key(installation_id))
    if stored is None:
        return None
    data = json.loads(stored)
    # `inferred` is absent from what a hotfix-bot from before it kept.
    return Suspension(data["began"], data["ended"], data.get("inferred", False))


async def _keep(state: StateStore, installation_id: int, suspension: Suspension) -> None:
    data = {"began": suspension.began, "ended": suspension.ended, "inferred": suspension.inferred}
    await state.set_state(_key(installation_id), json.dumps(data), durable=True)


async def began(state: StateStore, installation_id: int, at: float) -> bool:
    """GitHub said that the installation was suspended at `at`: whether that is kept. The
    earliest start said of a suspension not yet ended is kept (an unsuspension hotfix-bot
    learnt of neither from GitHub's delivery nor from a token granted leaves the last one
    going: looking back too far only finds steps done); one said late, after the
    unsuspension that ended it was handled, starts nothing."""
    suspension = await kept(state, installation_id)
    earlier = suspension is not None and suspension.ended is None and at < suspension.began
    if not (_starts_another(suspension, at) or earlier):
        return False
    await _keep(state, installation_id, Suspension(at))
    return True


async def met(state: StateStore, installation_id: int, at: float) -> None:
    """GitHub refused a request at `at` for the installation's suspension: its start, unless
    one of this suspension is kept already. A refusal from before the last unsuspension was
    handled (recorded late) starts nothing."""
    if _starts_another(await kept(state, installation_id), at):
        await _keep(state, installation_id, Suspension(at))


def _starts_another(suspension: Suspension | None, at: float) -> bool:
    """Whether a suspension said to hold at `at` is one of its own: none is kept, or the one
    kept had ended before then (one said of a time before its end was said late)."""
    return suspension is None or (suspension.ended is not None and suspension.ended < at)


async def ongoing_since(state: StateReader, installation_id: int) -> float | None:
    """When the installation's suspension began; None when no suspension is known that has
    not ended."""
    suspension = await kept(state, installation_id)
    return None if suspension is None else suspension.ongoing_since


async def ended(
    state: StateStore, installation_id: int, at: float, *, inferred: bool = False
) -> None:
    """The installation's unsuspension was handled at `at` (`inferred`: told by a token
    GitHub granted): the suspension kept, if any, is over, so a later refusal starts
    another, and a `suspend` said late starts none."""
    suspension = await kept(state, installation_id)
    ongoing = suspension is not None and suspension.ended is None
    start = suspension.began if suspension is not None and ongoing else at
    await _keep(state, installation_id, Suspension(start, at, inferred))
