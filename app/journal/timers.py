"""Durable timers: work a handler asks for at a later time (docs/RELIABILITY.md, 'Timers').

A handler schedules one through its context, for the pull request (or issue) it works on:

    await context.timers.schedule("escalation", "P0:15m", due, {"severity": "P0"})

The journal keeps it. When it comes due, the worker turns it, in one transaction, into a
delivery of event `timer` whose action is the timer's kind and whose id is the timer's: from
there it runs as any delivery does, after the earlier deliveries of its pull request, with
retries, resumed after a crash, listed by `hotfix-bot deliveries`. The router sends it to
the handler of its kind, `router.add(TIMER_EVENT, [kind], handler)`, which reads it with
`FiredTimer.of(context.delivery)`. A timer fires once: scheduling an id again does nothing,
and the delivery's id is unique in the journal. Its handler must check that its reason
still holds (the pull request may have merged meanwhile). A handler that could not do its
work for a reason that may pass (an escalation step of a severity the pull request
has not now) has the journal forget the timer, `await context.timers.forget(timer)`: the
next schedule of its kind and key keeps it anew, and it fires once more.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from app.intake.delivery import Delivery
from policies.wording import duration_words

TIMER_EVENT = "timer"  # not one of GitHub's events: a delivery of a timer that came due


@dataclass(frozen=True, slots=True)
class Timer:
    """A timer as the journal keeps it."""

    id: str
    kind: str  # names the handler: the action of the delivery it becomes
    installation_id: int
    repository: str
    number: int  # the pull request or issue (they share numbers): it runs in that one's order
    due_at: float  # seconds since the epoch, on the journal's clock
    data: Mapping[str, Any] = field(default_factory=dict)  # JSON, for the handler
    # The queue its delivery runs in; None: its pull request's, after what that has queued.
    queue: str | None = None

    @property
    def ordering_key(self) -> str:
        """Its queue, by default that of its pull request's deliveries
        (`Delivery.ordering_key`)."""
        return self.queue or f"{self.repository}#{self.number}"


def timer_id(kind: str, repository: str, number: int, key: str) -> str:
    """`escalation:acme/widgets#7:P0:15m`: unique across repositories and kinds."""
    return f"{kind}:{repository}#{number}:{key}"


class TimerStore(Protocol):
    """Where timers are kept: the journal."""

    async def schedule_timer(self, timer: Timer) -> bool: ...
    async def cancel_timer(self, timer_id: str) -> bool: ...
    async def forget_timer(self, timer_id: str) -> bool: ...
    async def release_waiting_timers(self, installation_id: int) -> int: ...


class Timers:
    """What a handler schedules with: the timers of its repository, by default for the
    pull request of its delivery."""

    def __init__(
        self,
        store: TimerStore,
        installation_id: int,
        repository: str,
        number: int | None,
        *,
        kept: Callable[[float], None] | None = None,
    ) -> None:
        """`kept` is told the due time of each timer `schedule` keeps: the worker, whose
        next look at the journal a timer due sooner brings forward."""
        self._store = store
        self._installation_id = installation_id
        self._repository = repository
        self._number = number
        self._kept = kept

    async def schedule(
        self,
        kind: str,
        key: str,
        due: datetime,
        data: Mapping[str, Any] | None = None,
        *,
        number: int | None = None,
        own_queue: bool = False,
    ) -> bool:
        """Keep a timer `kind` (a route's action) for `due`; `key` tells it from the other
        timers of that kind and pull request. Written to the journal before this returns.
        False when a timer of that kind and key was scheduled before (whether it is still
        waiting, fired or cancelled): it is left as it is. One that fired and was forgotten
        since (`forget`) is kept anew, for `due` and with `data`, as if never scheduled.

        `own_queue`: its delivery runs in a queue of its own, neither waiting for its pull
        request's deliveries nor holding them up (a message to chat, which may be slow)."""
        subject = self._subject(number)
        identity = timer_id(kind, self._repository, subject, key)
        timer = Timer(
            identity,
            kind,
            self._installation_id,
            self._repository,
            subject,
            due.timestamp(),
            dict(data or {}),
            queue=identity if own_queue else None,
        )
        if not await self._store.schedule_timer(timer):
            return False
        if self._kept is not None:
            self._kept(timer.due_at)
        return True

    async def cancel(self, kind: str, key: str, *, number: int | None = None) -> bool:
        """Stop a timer that has not fired yet; False when there is none waiting."""
        return await self._store.cancel_timer(
            timer_id(kind, self._repository, self._subject(number), key)
        )

    async def forget(self, fired: FiredTimer) -> bool:
        """Forget that `fired` fired, from its handler, whose work it could not do: the next
        `schedule` of its kind and key keeps it anew. False when it is not fired (forgotten
        already)."""
        return await self._store.forget_timer(fired.id)

    def for_repository(self, repository: str) -> Timers:
        """The timers of another repository of the same installation, for a delivery about
        the whole installation (its unsuspension) that schedules work in each."""
        return Timers(self._store, self._installation_id, repository, None, kept=self._kept)

    async def release_waiting(self) -> int:
        """Run now the timers of this installation whose delivery waits for its next chance
        (its installation was suspended, GitHub asked for a long wait); how many."""
        return await self._store.release_waiting_timers(self._installation_id)

    def _subject(self, number: int | None) -> int:
        subject = self._number if number is None else number
        if subject is None:
            raise ValueError("this delivery names no pull request: give the timer's number")
        return subject


# A timer fired this much later than expected came due with no worker there to fire it. Not
# always: every instance's slots all busy (no claim, so no firing) or clocks apart by more
# than this would look the same.
FIRED_LATE = timedelta(seconds=2)


@dataclass(frozen=True, slots=True)
class FiredTimer:
    """A timer that came due, as its handler reads it from the delivery it became."""

    id: str
    kind: str
    number: int
    due_at: datetime
    scheduled_at: datetime
    fired_at: datetime  # when a claim turned it into its delivery
    data: Mapping[str, Any]

    @classmethod
    def of(cls, delivery: Delivery) -> FiredTimer:
        timer = delivery.payload["timer"]
        return cls(
            timer["id"],
            timer["kind"],
            timer["number"],
            due_at=datetime.fromtimestamp(timer["due_at"], UTC),
            scheduled_at=datetime.fromtimestamp(timer["scheduled_at"], UTC),
            fired_at=datetime.fromtimestamp(timer["fired_at"], UTC),
            data=timer["data"],
        )

    @property
    def expected_at(self) -> datetime:
        """When it was to fire: when due, or when scheduled if that was later (a timer
        scheduled for a time already past is not late for that)."""
        return max(self.due_at, self.scheduled_at)

    @property
    def fired_late(self) -> bool:
        """Whether no worker fired it when it came due: a running one does within about a
        second (it sleeps until the next timer's time, looking at least once a second)."""
        return self.fired_at - self.expected_at > FIRED_LATE

    def late_by(self, now: datetime) -> timedelta:
        """How much later than expected its work runs at `now`: the service was down or busy
        when it came due, or its first run could not finish (GitHub asked for a long wait,
        a redelivery by hand). Measured to now, not to when it fired: that was its first run."""
        return max(now - self.expected_at, timedelta(0))

    def lateness(self, now: datetime) -> str:
        """`on time`, or `3h12m late`, at `now`."""
        late_by = self.late_by(now)
        return "on time" if late_by < timedelta(seconds=1) else f"{duration_words(late_by)} late"


def fired_timer_body(timer: Timer, scheduled_at: float, fired_at: float) -> bytes:
    """The body of the delivery a timer becomes when it fires: shaped like GitHub's, so
    that routing and the worker read it as any other (`FiredTimer.of` reads the rest).
    `fired_at` tells whether it fired late (`FiredTimer.fired_late`)."""
    return json.dumps(
        {
            "action": timer.kind,
            "timer": {
                "id": timer.id,
                "kind": timer.kind,
                "number": timer.number,
                "due_at": timer.due_at,
                "scheduled_at": scheduled_at,
                "fired_at": fired_at,
                "data": dict(timer.data),
            },
            "installation": {"id": timer.installation_id},
            "repository": {"full_name": timer.repository},
        }
    ).encode()
