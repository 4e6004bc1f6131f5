"""What every journal is: the `Journal` protocol, its entries, statuses and errors, and the
rules both implementations (`app.journal.sqlite`, `app.journal.postgres`) follow alike.

Ordering: deliveries with the same ordering key (a pull request) run one at a time, in the
order they were journaled; `claim_ready` claims only the head of each key's queue, and only
while nothing of that key runs.

Supersession: when the head of a key's queue is about to run and is supersedable, the run
of supersedable deliveries that starts with it is marked `superseded`, all but its last,
which reads the same, fresher state. A delivery that is not supersedable (a merge) ends the
run, so nothing is ever skipped across it. When this starts a burst, the last one waits
`BURST_SETTLE_SECONDS` from its arrival, and at most until `BURST_LONGEST_WAIT` after the
burst's first one, for what else the burst brings. A claim supersedes at most
`SUPERSEDE_PER_CLAIM` deliveries; the rest of a long burst goes to the next claims at once.

Fair share: the worker runs a few deliveries at once (its slots), and an installation whose
GitHub hangs holds each slot it gets for as long as a request may wait. So a claim takes the
due heads of the queues by turns between installations (`taken_by_turns`): first those of
the installations with the fewest deliveries running from this journal's claims, counting
the heads the claim takes before; the oldest first among equals. An installation gets a
slot only when no other one with due work holds fewer: while others have due work, a claim
never leaves it holding every slot; alone, it may take them all.

Slots set aside: the worker runs the deliveries whose handlers wait on something other than
GitHub (a message to chat) on slots of their own, and a claim takes those only while one of
them is free (`Aside`): the rest stay queued, in order, rather than wait in the worker,
claimed, for a slot. Each kind of slot is shared by turns on its own: what an installation
runs on the slots set aside costs it no turn of the others, nor the other way round.

Timers (app/journal/timers.py) are kept in the journal too, in their own table: a handler
schedules one for a later time, and a claim first turns every timer that has come due into
a delivery, in the same transaction, so that it then runs as deliveries do, in its pull
request's order. The delivery takes the timer's id, and the journal's unique key on
delivery ids makes a timer fire at most once, whichever instance fires it. A handler whose
timer's work could not be done then may have the journal forget that it fired
(`forget_timer`): scheduled again, it fires once more, as a delivery of its own
(`FIRED_DELIVERY_ID`). A timer's delivery that is to wait long for its next chance
(`retry_timer_later`) waits in a queue of its own, holding back nothing of its pull
request's, and a claim moves it to the end of its timer's queue when it is due.

Locks (`Journal.lock`): a critical section that deliveries of different ordering keys may
both enter (a re-run of a post-merge run is keyed by its merge commit, the merge by its pull
request) is entered by one of them at a time, in whichever process of the journal they run.
A lock is waited for `LOCK_WAIT_SECONDS` at most; then `LockTimeout`, a TimeoutError, sends
the delivery back to be tried again later, as a timeout of GitHub's does.

Payloads are stored compressed with Zstandard at level 1 (~50 us for a 28 KB
`pull_request` delivery, about 8 times smaller; zlib took ~160-230 us for a larger result);
`JournalEntry.payload` is always the delivery's body as received.
"""

from __future__ import annotations

import asyncio
import heapq
import json
import re
import secrets
import zlib
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar, cast

import zstandard

from app.intake.delivery import Delivery
from app.journal.timers import TIMER_EVENT, Timer

RecordOutcome = Literal["queued", "duplicate", "ignored"]
# What `redeliver` did: queued the delivery to run again, or why it did not.
Redelivery = Literal["queued", "unknown", "running", "ignored", "no payload"]
Status = Literal["queued", "running", "done", "superseded", "failed", "ignored"]
STATUSES: tuple[Status, ...] = ("queued", "running", "done", "superseded", "failed", "ignored")
TimerStatus = Literal["scheduled", "fired", "cancelled", "forgotten"]
TIMER_STATUSES: tuple[TimerStatus, ...] = ("scheduled", "fired", "cancelled", "forgotten")

# The last delivery of a burst for one pull request runs this long after it arrived, and at
# the latest this long after the burst's first one.
BURST_SETTLE_SECONDS = 1.0
BURST_LONGEST_WAIT = 5.0
# A claim supersedes at most this many deliveries (a few ms of the journal): a stream of a
# hundred a second for each of many pull requests otherwise made one claim take 100 ms and
# more, and every delivery arriving meanwhile waited for it.
SUPERSEDE_PER_CLAIM = 100
# A claim fires at most this many timers that came due (a few ms of the write turn); the
# rest are due still, so the next claim follows at once.
FIRE_PER_CLAIM = 100
# A delivery whose due time is past its arrival has waited (for its burst, or a retry).
WAITED = 1e-6
# `journal copy` reads the deliveries it copies without their payloads this many at a time.
PAST_PAGE = 10_000
# Above every delivery's sequence number (64-bit in both journals).
SEQ_ABOVE_ALL = 2**63 - 1
PAYLOAD_COMPRESSION_LEVEL = 1  # the fastest: the sync, not the ratio, is what costs
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"  # every Zstandard frame starts so
ZLIB_HEADER = b"\x78"  # the first byte of every zlib stream with the default window
# The state key `check_writable` writes: this journal's, never copied to another.
HEARTBEAT_KEY = "journal.heartbeat"
# The most `check_writable` writes to show that the journal has room for a delivery: a
# `pull_request` delivery's row is a few KB (its body compressed, above), so one that fits
# tells that nearly every delivery does, and it costs little to hold and to write again on
# each /readyz until it fits, however large the body the journal refused (up to 25 MiB).
ROOM_PROBE_BYTES = 1024 * 1024
# How long `Journal.lock` waits for a lock held elsewhere: its holder runs one delivery's
# handlers, whose GitHub requests are bounded (30 s each) and never wait in line, so one
# still held after this is stuck, and the delivery waiting for it is better tried later.
LOCK_WAIT_SECONDS = 60.0
# How long /metrics and the status page wait for what they read of the journal: a scrape is
# answered well within Prometheus's default 10 s scrape_timeout, and a person is not kept
# waiting on a database that is down, locked or slow.
PAGE_READ_SECONDS = 2.0

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class JournalEntry:
    seq: int
    id: str
    event: str
    action: str | None
    installation_id: int | None
    repository: str | None
    pr_number: int | None
    ordering_key: str
    status: Status
    attempts: int
    last_error: str | None
    received_at: float
    updated_at: float
    next_attempt_at: float
    supersedable: bool
    payload: bytes | None


@dataclass(frozen=True, slots=True)
class Aside:
    """The deliveries the worker runs on its slots set aside (`Router.add`'s `aside`), and how
    many of them a claim may take now: those whose (event, action) is one of `routes`, where
    an action of None stands for every action of its event; `room` of them at most, beside
    the claim's `limit` of the others. Claimed only when a slot is free, they run at once:
    none waits in the worker holding its installation's turn or, with PostgreSQL, a lease
    that may run out while its instance is cut off from the database."""

    routes: frozenset[tuple[str, str | None]] = frozenset()
    room: int = 0

    def holds(self, event: str, action: str | None) -> bool:
        return (event, action) in self.routes or (event, None) in self.routes

    def left(self, limit: int, claimed: Iterable[JournalEntry]) -> tuple[int, Aside]:
        """What a claim of `limit` may take still once it took `claimed`: how many of the
        other deliveries, and how many of these."""
        claimed = list(claimed)
        taken = sum(1 for entry in claimed if self.holds(entry.event, entry.action))
        return limit - (len(claimed) - taken), Aside(self.routes, self.room - taken)

    @property
    def parameters(self) -> dict[str, object]:
        """The parameters of the SQL that tells these deliveries from the others
        (`runs_aside`): `aside`, the routes as a JSON list of [event, action] pairs, each
        journal's table `aside` (event, action); `room`."""
        return {"aside": json.dumps([list(route) for route in self.routes]), "room": self.room}


# A claim of a worker that sets no slots aside: every delivery counts in its limit.
NOTHING_ASIDE = Aside()


@dataclass(frozen=True, slots=True)
class TimerEntry:
    """A timer as the journal lists it."""

    timer: Timer
    status: TimerStatus
    scheduled_at: float
    updated_at: float
    rearmed: int = 0  # how often it was scheduled again after it was forgotten


@dataclass(frozen=True, slots=True)
class PastDeliveries:
    """The finished deliveries of a journal older than those `journal copy` takes with their
    payloads, without theirs: `count` of them, read page by page as they are copied, since
    a journal keeps every delivery and may hold millions. `read_page(after)`: those after
    the sequence number `after`, in order, `PAST_PAGE` at most; none after the last."""

    count: int
    read_page: Callable[[int], list[JournalEntry]]

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[JournalEntry]:
        after = 0  # below every sequence number
        while page := self.read_page(after):
            yield from page
            after = page[-1].seq


@dataclass(frozen=True, slots=True)
class JournalContents:
    """What `hotfix-bot journal copy` moves from one journal to another: deliveries (their
    payloads included) in the order they were journaled, the finished deliveries older than
    those (`past`) without their payloads, the handlers' state, and the timers (those still
    waiting, and the fired or cancelled ones, so that none is scheduled again or fires
    twice). The past ones keep their ids known: GitHub redelivering one of them is answered
    `duplicate` by the journal copied into, as by this one, and nothing runs it again."""

    deliveries: tuple[JournalEntry, ...]
    past: PastDeliveries
    state: tuple[tuple[str, str], ...]
    timers: tuple[TimerEntry, ...] = ()

    def in_journal_order(self) -> Iterator[tuple[JournalEntry, bool]]:
        """Every delivery, of `deliveries` and of `past`, in the order they were journaled,
        each with whether it is of the `past`."""
        return heapq.merge(
            ((entry, False) for entry in self.deliveries),
            ((entry, True) for entry in self.past),
            key=lambda delivery: delivery[0].seq,
        )


@dataclass(frozen=True, slots=True)
class CopyCounts:
    """What a journal took of some `JournalContents`: what it held already is not counted."""

    deliveries: int
    pending: int  # of those, queued to run
    state: int
    timers: int = 0
    waiting: int = 0  # of those, scheduled still
    past: int = 0  # of the deliveries, those of `JournalContents.past`: without payloads


def why_not_redelivered(found: tuple[object, ...] | None) -> Redelivery:
    """Why `redeliver` queued nothing: `found` is the delivery's status and whether the
    journal holds its payload, None when there is no delivery of that id. An ignored one
    never had a payload; another without one was copied without it (`JournalContents.past`)."""
    if found is None:
        return "unknown"
    status, has_payload = found
    if not has_payload:
        return "ignored" if status == "ignored" else "no payload"
    return "running"


def copied_status(status: Status) -> Status:
    """A delivery's status in the journal it is copied into: what was running there runs
    again here (nothing runs it here yet)."""
    return "queued" if status == "running" else status


class JournalUnavailable(Exception):
    """The journal cannot take a write or be read (disk full, database locked, unwritable or
    corrupt file, database server unreachable)."""


# What /readyz and the status page say of such a journal; the log says why.
JOURNAL_UNUSABLE = "the journal is not writable"


async def read_aside(read: Callable[[], T], wait: float = PAGE_READ_SECONDS) -> T:
    """`read`, one of a journal's blocking reads, run on a thread: the event loop answers
    other requests (deliveries, /healthz) while the journal takes its time. JournalUnavailable
    once it took `wait` seconds; the thread finishes on its own, within the journal's own
    bounds (SQLite's busy timeout, PostgreSQL's statement timeout)."""
    try:
        return await asyncio.wait_for(asyncio.to_thread(read), wait)
    except TimeoutError:
        raise JournalUnavailable(f"journal read took longer than {wait:g} s") from None


class LockTimeout(TimeoutError):
    """A lock stayed held elsewhere for as long as `Journal.lock` waits. A TimeoutError: the
    worker tries the delivery again later, with backoff, as it does after a timeout of
    GitHub's."""

    def __init__(self, name: str, waited: float, why: str = "stayed held elsewhere") -> None:
        super().__init__(f"the lock {name} {why} for {waited:g} s")


class JournalUnopenable(JournalUnavailable):
    """The journal DATABASE_URL names cannot be created, opened or reached: nothing can
    start."""


class JournalNotThere(JournalUnopenable):
    """A command that only looks into the journal found none where DATABASE_URL points: no
    file, an empty one, or a database without the journal's tables."""


class JournalReplaced(JournalUnavailable):
    """A file of the journal was deleted, or another put in its place, since this process
    opened it: what is written into the one still open is gone at the next start. Writes are
    refused until the file is back at its path, or a restart opens the one there."""


class SettlesDeliveries(ABC):
    """How a delivery's run ends, the same for every journal: each writes its status its own
    way (`_set_status`)."""

    @abstractmethod
    async def _set_status(
        self,
        delivery_id: str,
        status: Status,
        *,
        error: str | None,
        delay: float = 0.0,
        queue: str | None = None,
    ) -> None:
        """Write the delivery's outcome; `queue`: its ordering key from now on (None: kept)."""

    async def finish(self, delivery_id: str) -> None:
        await self._set_status(delivery_id, "done", error=None)

    async def fail(self, delivery_id: str, error: str) -> None:
        await self._set_status(delivery_id, "failed", error=error)

    async def retry_later(self, delivery_id: str, error: str, delay: float) -> None:
        await self._set_status(delivery_id, "queued", error=error, delay=delay)

    async def retry_timer_later(self, delivery_id: str, error: str, delay: float) -> None:
        """Queue a timer's delivery again for `delay` from now, waiting in a queue of its own
        (`waiting_queue`): a wait that long in its pull request's queue would hold back every later
        delivery of the pull request. When it is due, a claim puts it back at the end of its
        timer's queue (`may_rejoin_its_queue`), so it runs after what the pull request queued
        meanwhile, and never beside it."""
        queue = waiting_queue(delivery_id)
        await self._set_status(delivery_id, "queued", error=error, delay=delay, queue=queue)


class MovesTimers(ABC):
    """What cancelling and forgetting a timer are, the same for every journal: each moves a
    timer from one status to another its own way (`_move_timer`)."""

    @abstractmethod
    async def _move_timer(self, timer_id: str, status: TimerStatus, to: TimerStatus) -> bool:
        """Timer `timer_id`, when of `status`, made of status `to`; False when it was not."""

    async def cancel_timer(self, timer_id: str) -> bool:
        """Stop a timer still waiting; False when there is none of that id waiting."""
        return await self._move_timer(timer_id, "scheduled", "cancelled")

    async def forget_timer(self, timer_id: str) -> bool:
        """Forget that a timer fired, so that scheduling it again keeps it anew; False when
        none of that id is fired."""
        return await self._move_timer(timer_id, "fired", "forgotten")


class Journal(Protocol):
    async def record(
        self,
        delivery: Delivery,
        body: bytes | bytearray,
        *,
        handled: bool,
        supersedable: bool = False,
    ) -> RecordOutcome: ...
    # `limit` bounds the deliveries claimed but those `aside` names, which it bounds itself.
    async def claim_ready(self, limit: int, aside: Aside = NOTHING_ASIDE) -> list[JournalEntry]: ...
    async def finish(self, delivery_id: str) -> None: ...
    async def retry_later(self, delivery_id: str, error: str, delay: float) -> None: ...
    async def retry_timer_later(self, delivery_id: str, error: str, delay: float) -> None: ...
    async def fail(self, delivery_id: str, error: str) -> None: ...
    async def resume_interrupted(self) -> int: ...
    async def redeliver(self, delivery_id: str) -> Redelivery: ...
    async def check_writable(self, room: int = 0) -> None: ...
    async def get_state(self, key: str) -> str | None: ...
    async def set_state(self, key: str, value: str, *, durable: bool = False) -> None: ...
    async def add_contents(self, contents: JournalContents) -> CopyCounts: ...
    async def schedule_timer(self, timer: Timer) -> bool: ...
    async def cancel_timer(self, timer_id: str) -> bool: ...
    async def forget_timer(self, timer_id: str) -> bool: ...
    async def move_repository(self, move: RepositoryMove) -> MovedRepository: ...
    async def release_waiting_timers(self, installation_id: int) -> int: ...
    async def move_timers(self, repository: str, installation_id: int) -> int: ...
    def lock(
        self, name: str, wait: float = LOCK_WAIT_SECONDS
    ) -> AbstractAsyncContextManager[None]: ...
    def timers(self, status: TimerStatus | None = None, limit: int = 50) -> list[TimerEntry]: ...
    def listen(self, wake: Callable[[], None]) -> None: ...
    def contents(self, history: int) -> JournalContents: ...
    def next_due(
        self, aside: Aside = NOTHING_ASIDE, *, github_work: bool = True
    ) -> float | None: ...
    def now(self) -> float: ...
    def recent(self, status: Status | None = None, limit: int = 50) -> list[JournalEntry]: ...
    def count(self, statuses: Iterable[Status]) -> int: ...
    def close(self) -> None: ...


def waiting_queue(delivery_id: str) -> str:
    """The queue a timer's delivery waits in for its next chance (`retry_timer_later`): named
    apart from every pull request's, and from a timer's own (a message to chat has one)."""
    return f"waiting:{delivery_id}"


# Every `waiting_queue` name is this followed by its delivery's id: how both journals' SQL
# finds the timers' deliveries that wait (`release_waiting_timers`).
WAITING_PREFIX = waiting_queue("")
# In both journals' SQL, each naming the parameters its own way (`move_sql`): the timers'
# deliveries of an installation that wait for their next chance, made due now, their
# attempts counted anew (`release_waiting_timers`); the scheduled timers of a repository
# made to run as the installation that covers it now (`move_timers`).
RELEASE_WAITING_TIMERS = (
    "UPDATE deliveries SET attempts = 0, next_attempt_at = {now}, updated_at = {now} "
    "WHERE status = 'queued' AND event = {timer} AND installation_id = {installation} "
    "AND ordering_key = {waiting} || id"
)
MOVE_TIMERS_TO_INSTALLATION = (
    "UPDATE timers SET installation_id = {installation}, updated_at = {now} "
    "WHERE repository = {repository} AND status = 'scheduled' "
    "AND installation_id != {installation}"
)


def released_timers(installation_id: int, now: float) -> dict[str, object]:
    """The parameters of `RELEASE_WAITING_TIMERS`."""
    return {
        "now": now,
        "timer": TIMER_EVENT,
        "installation": installation_id,
        "waiting": WAITING_PREFIX,
    }


def may_rejoin_its_queue(head: JournalEntry) -> bool:
    """Whether the head of a queue is a timer's delivery that waited in a queue of its own
    (`retry_timer_later`) and, now due, goes back to the end of its timer's queue rather than
    run; told by the queue's name, without reading its timer."""
    return head.event == TIMER_EVENT and head.ordering_key == waiting_queue(head.id)


BurstDue = Literal["settle", "go_on"]


def burst_due(head: JournalEntry, superseded: int, budget: int) -> BurstDue | None:
    """When the delivery left at the head after superseding `superseded` of its run (with
    `budget` to spend) runs: "settle", a burst begins and its last one waits for the rest;
    "go_on", more of a settled burst is left for the next claim, at once; None, as it is."""
    if superseded == 0:
        return None
    if head.next_attempt_at <= head.received_at:
        return "settle"
    return "go_on" if superseded == budget else None


class SchemaTooNew(JournalUnopenable):
    """The journal was migrated by a newer hotfix-bot: this one would misread it."""

    def __init__(self, found: int, known: int) -> None:
        super().__init__(
            f"the journal's schema is version {found}, newer than this hotfix-bot's {known}: "
            "upgrade hotfix-bot"
        )


class NoJournal(JournalUnopenable):
    """A command that only looks into the journal found none there (an empty file)."""

    def __init__(self) -> None:
        super().__init__("it holds no journal")


class SchemaTooOld(JournalUnopenable):
    """A command that only looks into the journal found it written by an older hotfix-bot:
    migrating it would leave that one unable to start on it again."""

    def __init__(self, found: int, known: int) -> None:
        super().__init__(
            f"the journal's schema is version {found}, older than this hotfix-bot's {known}: "
            "`hotfix-bot serve` of this version migrates it when it starts; until then, use "
            "the hotfix-bot that wrote it"
        )


def versions_to_apply(found: int, known: int, *, upgrade: bool = True) -> range:
    """The migrations that bring a schema at version `found` to `known`; refuses a newer one,
    and without `upgrade` (a command that only looks) an older one too."""
    if found > known:
        raise SchemaTooNew(found, known)
    if not upgrade and found < known:
        if found == 0:
            raise NoJournal()
        raise SchemaTooOld(found, known)
    return range(found + 1, known + 1)


def timer_entry(row: tuple[object, ...]) -> TimerEntry:
    """A row of `TIMER_COLUMNS`."""
    columns = cast(
        tuple[str, str, int, str, int, float, str, TimerStatus, float, float, str, int], row
    )
    timer_id, kind, installation, repository, number, due_at, data, status = columns[:8]
    scheduled_at, updated_at, queue, rearmed = columns[8:]
    timer = Timer(
        timer_id, kind, installation, repository, number, float(due_at), json.loads(data), queue
    )
    return TimerEntry(timer, status, float(scheduled_at), float(updated_at), int(rearmed))


def runs_aside(row: str) -> str:
    """SQL: 1 when the delivery `row` (a table or its alias) runs on the slots set aside, one
    of the routes of the table `aside` (event, action) that each journal reads from
    `Aside.parameters` its own way, else 0; in both journals' SQL."""
    return (
        f"(CASE WHEN EXISTS (SELECT 1 FROM aside WHERE aside.event = {row}.event "  # noqa: S608
        f"AND (aside.action IS NULL OR aside.action = {row}.action)) THEN 1 ELSE 0 END)"
    )


# Whether a due head `d` may be claimed now, or waits for a later claim: one set aside
# (`runs_aside`) while `{room}` (`Aside`) is above 0, any other while `{github_work}` (a
# slot of GitHub's work is free); what `next_due` reads, in both journals' SQL (`move_sql`).
ROOM_FOR = f"(CASE {runs_aside('d')} WHEN 1 THEN {{room}} > 0 ELSE {{github_work}} END)"

# How many deliveries this journal's claims run, by installation and by kind of slot
# (`aside`, 1 on the slots set aside), in both journals' SQL: `held` of `taken_by_turns`, a
# row for each with any; `{mine}` narrows them to this journal's claims where several
# journals claim from one database.
HELD_BY_INSTALLATION = (
    "SELECT installation_id, aside, COUNT(*) AS running FROM ("  # noqa: S608
    f"SELECT installation_id, {runs_aside('deliveries')} AS aside FROM deliveries "
    "WHERE status = 'running' {mine}) AS r GROUP BY installation_id, aside"
)
# The order in which a claim takes the due heads of the queues (`d`) of one kind of slot
# (see "Fair share" above): the slots of that kind its installation would hold once the
# head runs, as many as this journal's claims of that installation run on them (`held`)
# and, before it, that installation's older due heads of that kind; the oldest first among
# equals.
FAIR_SHARE_ORDER = (
    "ORDER BY COALESCE(held.running, 0) "
    "+ ROW_NUMBER() OVER (PARTITION BY d.installation_id ORDER BY d.seq), d.seq"
)


def taken_by_turns(heads: str, due: str, *, limit: str, room: str) -> str:
    """SQL, in both journals: the sequence numbers of the due heads of the queues a claim
    takes, `limit` of those of GitHub's work and `room` of those set aside (`Aside`), each
    kind by turns on its own (`FAIR_SHARE_ORDER`): two sorts that each keep their first few
    only (ranking every head within its kind, then picking, took half as long again at
    10,000 heads).
    `heads`: a journal's FROM of its queue heads `d`; `due`: which of them may run now;
    `limit` and `room`: its markers of those parameters; `held` is `HELD_BY_INSTALLATION`."""

    def of_kind(aside: int, most: str) -> str:
        return (
            f"SELECT seq FROM (SELECT d.seq {heads} "  # noqa: S608
            f"LEFT JOIN held ON held.installation_id = d.installation_id AND held.aside = {aside} "
            f"WHERE {due} AND {runs_aside('d')} = {aside} {FAIR_SHARE_ORDER} LIMIT {most}) "
            f"AS kind_{aside}"
        )

    return f"{of_kind(0, limit)} UNION ALL {of_kind(1, room)}"


# A delivery and its payload (NULL for an ignored one), in both journals' SQL:
# `SELECT {ENTRY_COLUMNS} FROM deliveries AS d {WITH_PAYLOAD}`, each row a `JournalEntry`.
ENTRY_COLUMNS_BUT_PAYLOAD = (
    "d.seq, d.id, d.event, d.action, d.installation_id, d.repository, d.pr_number, "
    "d.ordering_key, d.status, d.attempts, d.last_error, d.received_at, d.updated_at, "
    "d.next_attempt_at, d.supersedable"
)
ENTRY_COLUMNS = f"{ENTRY_COLUMNS_BUT_PAYLOAD}, p.body"
WITH_PAYLOAD = "LEFT JOIN payloads AS p ON p.seq = d.seq"

# A timer's columns, as `timer_entry` reads them (both journals name them alike). The
# ordering key is the timer's queue (`Timer.queue`): its pull request's, or its own.
TIMER_COLUMNS = (
    "id, kind, installation_id, repository, number, due_at, data, status, scheduled_at, "
    "updated_at, ordering_key, rearmed"
)

# How `timers()` lists them, in both journals: the waiting ones soonest due first, then the
# others latest due first. Timers are kept for good, so in due order alone the listing would
# soon be the oldest fired and cancelled ones, and the waiting ones past its limit.
TIMER_LISTING_ORDER = (
    "ORDER BY status <> 'scheduled', "
    "CASE WHEN status = 'scheduled' THEN due_at ELSE -due_at END, "
    "CASE WHEN status = 'scheduled' THEN seq ELSE -seq END"
)


# What scheduling a timer's id again does: nothing, unless the timer was forgotten
# (`forget_timer`); then it is kept anew, and counted in `rearmed`. Both journals' SQL.
SCHEDULE_AGAIN_IF_FORGOTTEN = (
    "ON CONFLICT (id) DO UPDATE SET installation_id = excluded.installation_id, "
    "ordering_key = excluded.ordering_key, due_at = excluded.due_at, data = excluded.data, "
    "status = excluded.status, scheduled_at = excluded.scheduled_at, "
    "updated_at = excluded.updated_at, rearmed = timers.rearmed + 1 "
    "WHERE timers.status = 'forgotten'"
)


# The id of the delivery a timer becomes when it fires, in both journals' SQL: its own id the
# first time, and `<id>#2`, `<id>#3`, ... once it was forgotten and scheduled again, so that
# each firing is a delivery of its own, and none fires twice.
FIRED_DELIVERY_ID = "CASE WHEN rearmed = 0 THEN id ELSE id || '#' || (rearmed + 1) END"


def fired_timer_id(entry: JournalEntry) -> str:
    """The id of the timer a timer's delivery came from, as its payload names it (the
    delivery's own id says which firing it is: `FIRED_DELIVERY_ID`)."""
    return str(json.loads(entry.payload or b"{}")["timer"]["id"])


async def write_heartbeat(
    set_state: Callable[[str, str], Awaitable[None]], now: float, room: int
) -> None:
    """`check_writable`, the same for every journal: the time under `HEARTBEAT_KEY`. With
    `room`, first the time followed by that many characters (at most `ROOM_PROBE_BYTES`), to
    show that a write that large fits now, then the time alone, so that the long value is
    not kept. The characters are random, as PostgreSQL compresses a long value and a
    repeated one would shrink to nothing, and drawn off the event loop."""
    if room:
        padding = await asyncio.to_thread(_random_characters, min(room, ROOM_PROBE_BYTES))
        await set_state(HEARTBEAT_KEY, f"{now} {padding}")
    await set_state(HEARTBEAT_KEY, str(now))


def _random_characters(count: int) -> str:
    return secrets.token_hex((count + 1) // 2)[:count]


def decompressed(stored: bytes) -> bytes:
    """The body as received. A JSON object starts with neither a Zstandard frame's magic
    number nor "x", with which a zlib stream always starts: SQLite journals written before
    hold zlib streams, or, before that, plain JSON."""
    if stored.startswith(ZSTD_MAGIC):
        return zstandard.decompress(stored)
    return zlib.decompress(stored) if stored.startswith(ZLIB_HEADER) else stored


# -- a repository renamed or transferred (app/handlers/repository.py) ---------------------

# A full name as it stands in a state key, a timer's id or an ordering key: not part of a
# longer name (`acme/widgets` is not in `acme/widgets-v2`, nor in `fork/acme/widgets`).
_NAME_CHARACTERS = "A-Za-z0-9._/-"


def former_names_key(repository: str) -> str:
    """The state key of the names `repository` had before, newest first (a JSON list): the
    issues hotfix-bot opened under one of them carry it in their hidden markers."""
    return f"former-names:{repository}"


class RepositoryBusy(TimeoutError):
    """A delivery of the repository's old name is running: what it writes is kept under that
    name, so the move waits for it to end. A TimeoutError: the worker tries the move again
    later, as after a lock held elsewhere."""

    def __init__(self, old: str) -> None:
        super().__init__(f"a delivery of {old} is running; its state is moved once it ends")


@dataclass(frozen=True, slots=True)
class RepositoryMove:
    """What hotfix-bot keeps under the full name `old` (state keys, timers, queued
    deliveries) kept under `new` from now on, run by installation `installation_id` (a
    transfer may bring the repository to another installation of the App). Both journals
    read the rows that name either name, and write what `moved_state`, `moved_timers` and
    `moved_delivery` make of them in one transaction."""

    old: str
    new: str
    installation_id: int
    # Whether a delivery of the old name that runs makes the move wait (`RepositoryBusy`);
    # without, what it writes from then on stays under the old name.
    waits_for_running: bool = True
    # A key both names hold (a delivery of the new name ran before the move): given the key
    # under the new name, the old name's value and the new name's, the value to keep; None
    # keeps the new name's.
    combine: Callable[[str, str, str], str | None] | None = None

    @property
    def reads(self) -> dict[str, object]:
        """The parameters of the statements that read the rows to move (`MOVE_QUEUES`,
        `MOVE_STATE_ROWS`, `MOVE_TIMER_ROWS`, `MOVE_DELIVERY_ROWS`)."""
        return {
            "old": self.old,
            "new": self.new,
            "old_anywhere": f"%{self.old}%",
            "new_anywhere": f"%{self.new}%",
        }

    def _pattern(self, name: str) -> re.Pattern[str]:
        return re.compile(f"(?<![{_NAME_CHARACTERS}]){re.escape(name)}(?![{_NAME_CHARACTERS}])")

    def names_old(self, text: str) -> bool:
        return self._pattern(self.old).search(text) is not None

    def renamed(self, text: str) -> str:
        """`text` (a key, an id) with the new name wherever it names the old one."""
        return self._pattern(self.old).sub(lambda _: self.new, text)

    def moved_state(self, rows: Iterable[tuple[str, str]]) -> StateMove:
        """`rows`: every state key naming either name, with its value. A key of the old name
        moves to the new one, unless the new name holds that key already: a delivery of the
        new name that ran before the move wrote it, later, and it stays, or what `combine`
        makes of the two. The old keys go either way, so that nothing of this repository
        stays under a name another repository may take. The new name's former names gain
        the old one and its own."""
        held = dict(rows)
        deleted = tuple(key for key in held if self.names_old(key))
        written: dict[str, str] = {}
        for key in deleted:
            value, target = held[key], self.renamed(key)
            if target not in held:
                written[target] = value
            elif self.combine and (combined := self.combine(target, value, held[target])):
                written[target] = combined
        former = [self.old]
        for name in (self.old, self.new):
            former += json.loads(held.get(former_names_key(name), "[]"))
        names = [name for name in dict.fromkeys(former) if name != self.new]
        written[former_names_key(self.new)] = json.dumps(names)
        return StateMove(deleted, tuple(written.items()))

    def moved_timers(self, rows: Iterable[tuple[str, str, TimerStatus, str]]) -> TimerMove:
        """`rows`: every timer of either name, as (id, repository, status, queue). A timer of
        the old name takes the new name, its id and queue renamed; when the new name has a
        timer of that id already (scheduled by a delivery of the new name that ran first),
        the one that fired, or was cancelled, stays, so that no reminder is sent twice; of
        two still waiting, the new name's."""
        rows = list(rows)
        statuses = {timer_id: status for timer_id, _, status, _ in rows}
        deleted: list[str] = []
        renamed: list[tuple[str, str, str]] = []
        for timer_id, repository, status, queue in rows:
            if repository != self.old:
                continue
            target = self.renamed(timer_id)
            if target in statuses and (statuses[target] != "scheduled" or status == "scheduled"):
                deleted.append(timer_id)
                continue
            if target in statuses:
                deleted.append(target)
            renamed.append((timer_id, target, self.renamed(queue)))
        return TimerMove(tuple(deleted), tuple(renamed))

    def moved_delivery(self, delivery_id: str, ordering_key: str, body: bytes) -> tuple[str, bytes]:
        """A queued or failed delivery of the old name: its ordering key and body (as
        received, its JSON) under the new name, so that it runs in the new name's queue, as
        the new name's (a failed one once `hotfix-bot redeliver` runs it again: under the old
        name GitHub would answer 404).
        A timer's delivery waiting in a queue of its own keeps it (`waiting_queue`), and
        names the timer by its new id, to go back to its new queue when due."""
        payload = json.loads(body)
        repository = payload.get("repository")
        if isinstance(repository, dict):
            owner, name = self.new.split("/", 1)
            repository.update(full_name=self.new, name=name)
            if isinstance(repository.get("owner"), dict):
                repository["owner"]["login"] = owner
        installation = payload.get("installation")
        if isinstance(installation, dict):
            installation["id"] = self.installation_id
        timer = payload.get("timer")
        if isinstance(timer, dict) and isinstance(timer.get("id"), str):
            timer["id"] = self.renamed(timer["id"])
        if ordering_key != waiting_queue(delivery_id):
            ordering_key = self.renamed(ordering_key)
        return ordering_key, json.dumps(payload).encode()

    def writes(
        self,
        state: Iterable[tuple[str, str]],
        timers: Iterable[tuple[str, str, TimerStatus, str]],
        deliveries: Iterable[tuple[int, str, str, Status, bytes | None]],
        compress: Callable[[bytes], bytes],
        now: float,
    ) -> MoveWrites:
        """What the move writes, from the rows of `MOVE_STATE_ROWS`, `MOVE_TIMER_ROWS` and
        `MOVE_DELIVERY_ROWS` read in its transaction: the statements, in order, with their
        parameters. `RepositoryBusy` while a delivery of the old name runs, unless the move
        does not wait for it: it is then left as it is, in its queue."""
        deliveries = list(deliveries)
        running = any(status == "running" for _, _, _, status, _ in deliveries)
        if running and self.waits_for_running:
            raise RepositoryBusy(self.old)
        deliveries = [row for row in deliveries if row[3] in ("queued", "failed")]
        names: dict[str, object] = {
            "old": self.old,
            "new": self.new,
            "installation": self.installation_id,
            "now": now,
        }
        timer_move = self.moved_timers(timers)
        state_move = self.moved_state(state)
        statements: list[tuple[str, dict[str, object]]] = []
        statements += [
            ("DELETE FROM timers WHERE id = {id}", {"id": timer_id})
            for timer_id in timer_move.deleted
        ]
        statements += [
            (MOVE_TIMER, names | {"id": timer_id, "new_id": new_id, "queue": queue})
            for timer_id, new_id, queue in timer_move.renamed
        ]
        for seq, delivery_id, ordering_key, _, body in deliveries:
            received = decompressed(body or b"{}")
            queue, moved_body = self.moved_delivery(delivery_id, ordering_key, received)
            statements.append((MOVE_DELIVERY, names | {"queue": queue, "seq": seq}))
            statements.append((MOVE_PAYLOAD, {"body": compress(moved_body), "seq": seq}))
        statements += [
            ("DELETE FROM app_state WHERE key = {key}", {"key": key}) for key in state_move.deleted
        ]
        statements += [
            (MOVE_STATE, {"key": key, "value": value, "now": now})
            for key, value in state_move.written
        ]
        failed = sum(1 for row in deliveries if row[3] == "failed")
        moved = MovedRepository(
            len(state_move.deleted), len(timer_move.renamed), len(deliveries) - failed, failed
        )
        return MoveWrites(tuple(statements), moved)


@dataclass(frozen=True, slots=True)
class StateMove:
    deleted: tuple[str, ...]  # deleted first
    written: tuple[tuple[str, str], ...]  # then written, over what a key holds


@dataclass(frozen=True, slots=True)
class TimerMove:
    deleted: tuple[str, ...]  # deleted first
    renamed: tuple[tuple[str, str, str], ...]  # then (id, new id, new queue)


@dataclass(frozen=True, slots=True)
class MoveWrites:
    statements: tuple[tuple[str, dict[str, object]], ...]  # each formatted by `move_sql`
    moved: MovedRepository


@dataclass(frozen=True, slots=True)
class MovedRepository:
    """What `move_repository` moved to the new name."""

    state: int
    timers: int
    deliveries: int  # queued
    failed: int = 0  # failed deliveries, for a redelivery to run under the new name


# What moving a repository reads and writes, in both journals' SQL: each names its
# parameters its own way (`move_sql`). The state keys that may name either name (LIKE
# finds them, and more; `RepositoryMove` tells exactly), the timers of either, the
# unfinished and the failed deliveries of the old name.
MOVE_STATE_ROWS = (
    "SELECT key, value FROM app_state WHERE key LIKE {old_anywhere} OR key LIKE {new_anywhere}"
)
MOVE_TIMER_ROWS = (
    "SELECT id, repository, status, ordering_key FROM timers WHERE repository IN ({old}, {new})"
)
# A timer of the old name renamed (`TimerMove.renamed`), and a queued delivery moved
# (`RepositoryMove.moved_delivery`; its payload is written apart, compressed).
MOVE_TIMER = (
    "UPDATE timers SET id = {new_id}, repository = {new}, installation_id = {installation}, "
    "ordering_key = {queue}, updated_at = {now} WHERE id = {id}"
)
MOVE_DELIVERY = (
    "UPDATE deliveries SET repository = {new}, installation_id = {installation}, "
    "ordering_key = {queue}, updated_at = {now} WHERE seq = {seq}"
)
MOVE_PAYLOAD = "UPDATE payloads SET body = {body} WHERE seq = {seq}"
MOVE_STATE = (
    "INSERT INTO app_state (key, value, updated_at) VALUES ({key}, {value}, {now}) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at"
)
# The queues of the old name, ordered so that two moves take their locks in one order.
MOVE_QUEUES = (
    "SELECT ordering_key FROM deliveries "
    "WHERE repository = {old} AND status IN ('queued', 'running') "
    "UNION SELECT ordering_key FROM timers WHERE repository = {old} AND status = 'scheduled' "
    "ORDER BY 1"
)
MOVE_DELIVERY_ROWS = (
    "SELECT d.seq, d.id, d.ordering_key, d.status, p.body FROM deliveries AS d "  # noqa: S608
    f"{WITH_PAYLOAD} WHERE d.repository = {{old}} "
    "AND d.status IN ('queued', 'running', 'failed') "
    "ORDER BY d.seq"
)


class _Markers(dict[str, str]):
    def __init__(self, marker: Callable[[str], str]) -> None:
        super().__init__()
        self._marker = marker

    def __missing__(self, name: str) -> str:
        return self._marker(name)


def move_sql(sql: str, marker: Callable[[str], str]) -> str:
    """One of the statements above (`MOVE_`, `ROOM_FOR`, ...) with a journal's marker
    of each named parameter: `:name` in SQLite, `%(name)s` in PostgreSQL."""
    return sql.format_map(_Markers(marker))
