"""The SQLite journal, with the standard library: `DATABASE_URL=sqlite:///...`.

`SqliteJournal` implements `app.journal.base.Journal`. Every write goes through one writer
thread that commits whatever arrived while the previous transaction was committing as a
single transaction (group commit): one fsync is shared by all deliveries of a burst, so
durability does not cost throughput.

Guarantees of the settings used (WAL): a transaction that records a delivery is synced to
disk before its caller hears of it, so a delivery answered `202` survives a crash of the
process, a loss of power and an OS crash: the write-ahead log is synced (`fdatasync`) after
the commit and before the outcome is reported. That sync happens once the write turn is
given up (below), so that another process commits while this one waits for the disk, and
one sync often covers both. The worker's own writes (claims, outcomes, retries, state) are
not synced: they survive a crash of the process, and a loss of power can undo the last of
them, so a delivery may run once more after a power cut. Handlers are idempotent for that
reason. The next sync makes every earlier commit durable too, since the log is written in
order.

Several processes write to one journal: `serve`'s intake and its worker process, and CLI
commands. They take turns through a lock file held for one transaction at a time, because
SQLite's own busy handler retries on a growing sleep and, against a stream of intake commits,
can keep the worker waiting without end.

The journal's files are created 0600 and the directories above them 0700: they hold the
payloads of private repositories.

A file of the journal (the database, its write-ahead log, the log's index) deleted or
replaced while the journal is open (an `rm` by mistake, a backup restored over it) would
take every later write with it, unseen until the next start, so the writer thread checks
before and after each group commit that the paths still name the files it opened, and
refuses the batch otherwise (`JournalReplaced`): a few `stat` calls a commit, none a
delivery.

Timers (see `app.journal.base`) have their own table; a claim fires those that came due in
its transaction, and moves a timer's delivery that waited in a queue of its own back to the
end of its timer's queue.

Payloads are stored compressed (see `app.journal.base`), so each group commit writes and
syncs a fraction of the bytes. They sit in their own table, written once: the worker's
status changes rewrite a row of a few dozen bytes, not a record with its payload's
overflow pages.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import queue
import sqlite3
import threading
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

import zstandard

from app.intake.delivery import Delivery
from app.journal.base import (
    BURST_LONGEST_WAIT,
    BURST_SETTLE_SECONDS,
    ENTRY_COLUMNS,
    ENTRY_COLUMNS_BUT_PAYLOAD,
    FIRE_PER_CLAIM,
    FIRED_DELIVERY_ID,
    HEARTBEAT_KEY,
    HELD_BY_INSTALLATION,
    LOCK_WAIT_SECONDS,
    MOVE_DELIVERY_ROWS,
    MOVE_STATE_ROWS,
    MOVE_TIMER_ROWS,
    MOVE_TIMERS_TO_INSTALLATION,
    NOTHING_ASIDE,
    PAST_PAGE,
    PAYLOAD_COMPRESSION_LEVEL,
    RELEASE_WAITING_TIMERS,
    ROOM_FOR,
    SCHEDULE_AGAIN_IF_FORGOTTEN,
    SEQ_ABOVE_ALL,
    SUPERSEDE_PER_CLAIM,
    TIMER_COLUMNS,
    TIMER_LISTING_ORDER,
    WAITED,
    WITH_PAYLOAD,
    Aside,
    CopyCounts,
    JournalContents,
    JournalEntry,
    JournalNotThere,
    JournalReplaced,
    JournalUnavailable,
    JournalUnopenable,
    LockTimeout,
    MovedRepository,
    MovesTimers,
    NoJournal,
    PastDeliveries,
    RecordOutcome,
    Redelivery,
    RepositoryMove,
    SettlesDeliveries,
    Status,
    TimerEntry,
    TimerStatus,
    burst_due,
    copied_status,
    decompressed,
    fired_timer_id,
    may_rejoin_its_queue,
    move_sql,
    released_timers,
    taken_by_turns,
    timer_entry,
    versions_to_apply,
    why_not_redelivered,
    write_heartbeat,
)
from app.journal.timers import TIMER_EVENT, Timer, fired_timer_body

T = TypeVar("T")

# How long a write waits for its turn (as SQLite's busy_timeout waits for its lock), and how
# often it asks: often enough that a process does not miss the gap between another's
# back-to-back transactions.
TURN_WAIT_SECONDS = 2.0
TURN_POLL_SECONDS = 0.0002

# The locks of `SqliteJournal.lock` held or waited for in this process, by journal file and
# name.
_LOCKS: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = weakref.WeakValueDictionary()

# Version 1 of the schema: deliveries, their payloads, the handlers' state. Its statements
# also bring a journal from before schema versions (user_version 0) to it: they find its
# tables, and add what it lacks.
_VERSION_1 = """
CREATE TABLE IF NOT EXISTS deliveries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    event TEXT NOT NULL,
    action TEXT,
    installation_id INTEGER,
    repository TEXT,
    pr_number INTEGER,
    ordering_key TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    received_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    next_attempt_at REAL NOT NULL,
    supersedable INTEGER NOT NULL DEFAULT 0
);
-- Each pull request's unfinished deliveries in order; with status, so that finding the
-- head of every queue (_QUEUE_HEADS) reads this index alone.
DROP INDEX IF EXISTS deliveries_unfinished;
CREATE INDEX IF NOT EXISTS deliveries_open
    ON deliveries (ordering_key, seq, status) WHERE status IN ('queued', 'running');
CREATE INDEX IF NOT EXISTS deliveries_by_status ON deliveries (status, seq);
-- next_due() reads the queues' heads instead (deliveries queued behind one cannot run).
DROP INDEX IF EXISTS deliveries_due;
-- The body of each delivery that will run, keyed by its row in deliveries.
CREATE TABLE IF NOT EXISTS payloads (
    seq INTEGER PRIMARY KEY,
    body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS app_state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at REAL NOT NULL
);
"""

# Version 2: the timers handlers schedule (app/journal/timers.py), `scheduled` until they
# come due, then `fired` (a delivery with the timer's id holds the rest), or `cancelled`.
# IF NOT EXISTS: a journal written by hotfix-bot before schema versions may hold the table
# already (user_version 0 with timers), and is brought to version 2 as it is.
_VERSION_2 = """
CREATE TABLE IF NOT EXISTS timers (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    installation_id INTEGER NOT NULL,
    repository TEXT NOT NULL,
    number INTEGER NOT NULL,
    ordering_key TEXT NOT NULL,
    due_at REAL NOT NULL,
    data TEXT NOT NULL,
    status TEXT NOT NULL,
    scheduled_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
-- The timers still waiting, soonest first: what next_due() and a claim read.
CREATE INDEX IF NOT EXISTS timers_due ON timers (due_at) WHERE status = 'scheduled';
"""

# Version 3: a fired timer may be forgotten (`forget_timer`: status `forgotten`) and scheduled
# again; `rearmed` counts how often, and names the delivery of each firing.
_VERSION_3 = "ALTER TABLE timers ADD COLUMN rearmed INTEGER NOT NULL DEFAULT 0"

# The first unfinished delivery of each pull request: `WHERE seq IN ({_QUEUE_HEADS})`, or
# `WITH heads AS ({_QUEUE_HEADS})`.
_QUEUE_HEADS = (
    "SELECT MIN(seq) AS seq FROM deliveries INDEXED BY deliveries_open "
    "WHERE status IN ('queued', 'running') GROUP BY ordering_key"
)


def _with_sqlite_parameters(statement: str) -> str:
    """A statement of `app.journal.base` with SQLite's named parameters."""
    return move_sql(statement, lambda name: f":{name}")


# The routes of a claim's `Aside` (its `aside` parameter), as the table `runs_aside` reads.
_ASIDE_ROUTES = (
    "aside (event, action) AS (SELECT json_extract(value, '$[0]'), "
    "json_extract(value, '$[1]') FROM json_each(:aside))"
)
# The due deliveries whose pull request has nothing earlier queued or running, taken by
# turns between installations (`taken_by_turns`; every running delivery is this journal's,
# whose one worker claims them).
_DUE_HEADS = (
    f"WITH {_ASIDE_ROUTES}, held AS ({HELD_BY_INSTALLATION.format(mine='')}), "  # noqa: S608
    f"heads AS ({_QUEUE_HEADS}), taken AS ("
    + taken_by_turns(
        "FROM heads JOIN deliveries AS d ON d.seq = heads.seq",
        "d.status = 'queued' AND d.next_attempt_at <= :now",
        limit=":limit",
        room=":room",
    )
    + f") SELECT {ENTRY_COLUMNS} FROM taken JOIN deliveries AS d ON d.seq = taken.seq "  # noqa: S608
    f"{WITH_PAYLOAD} ORDER BY d.seq"
)


# When the first head a claim may take may run (`next_due`).
_NEXT_DUE = (
    f"WITH {_ASIDE_ROUTES} SELECT MIN(d.next_attempt_at) FROM deliveries AS d "  # noqa: S608
    f"WHERE d.seq IN ({_QUEUE_HEADS}) AND d.status = 'queued' "
    f"AND {_with_sqlite_parameters(ROOM_FOR)}"
)


# The values of a timer's row, in the order of `TIMER_COLUMNS` (`_timer_values`).
_TIMER_VALUES = "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"


def _timer_values(entry: TimerEntry) -> tuple[object, ...]:
    timer = entry.timer
    return (
        timer.id,
        timer.kind,
        timer.installation_id,
        timer.repository,
        timer.number,
        timer.due_at,
        json.dumps(dict(timer.data)),
        entry.status,
        entry.scheduled_at,
        entry.updated_at,
        timer.ordering_key,
        entry.rearmed,
    )


@dataclass(frozen=True, slots=True)
class _Operation:
    apply: Callable[[sqlite3.Connection], object]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[object]
    durable: bool  # must survive a power loss before the caller hears of it


_Outcome = tuple[_Operation, object, BaseException | None]
_STOP = None
# What SQLite keeps a journal in: the database, its write-ahead log and the log's index.
_FILE_SUFFIXES = ("", "-wal", "-shm")


class SqliteJournal(SettlesDeliveries, MovesTimers):
    """SQLite journal; several processes may use one, each through its own instance."""

    BATCH_LIMIT = 1024

    def __init__(
        self,
        path: Path,
        clock: Callable[[], float] = time.time,
        *,
        create: bool = True,
        upgrade: bool = True,
    ) -> None:
        """The journal in `path`, made there (and its directories) unless `create` is False:
        then a `path` that does not exist is a FileNotFoundError, and nothing is made."""
        self._path = path
        self._clock = clock
        if create:
            _make_private_directories(path.parent)
            # Created here, 0600, rather than by SQLite (0644), which gives its -wal and -shm
            # the database's mode. Only a new file is opened: closing a descriptor of a file
            # that this process holds SQLite's locks on would drop them.
            with contextlib.suppress(FileExistsError):
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        else:
            path.stat()  # FileNotFoundError when there is no journal to open
        self._turns = os.open(f"{path}.write-lock", os.O_RDWR | os.O_CREAT, 0o600)
        writer = self._connect()
        try:
            with self._write_turn():
                _migrate(writer, upgrade=upgrade)
        except BaseException:  # a schema too new, a file that is no database
            writer.close()
            os.close(self._turns)
            raise
        # The files as opened: the log and its index exist from the first transaction on, and
        # stay while a connection is open.
        self._files = {
            name: _identity(name)
            for name in (f"{path.absolute()}{suffix}" for suffix in _FILE_SUFFIXES)
        }
        # Synced after each commit that records a delivery (see _write_loop); closed last, as
        # closing a descriptor of a file drops the process's locks on it.
        self._log = os.open(f"{path}-wal", os.O_RDONLY)
        self._reader = self._connect()
        self._reader_lock = threading.Lock()
        # Used on the writer thread alone (a compressor is not thread-safe); reusing its
        # context makes a 28 KB payload ~50 us to compress instead of ~80 us.
        self._compressor = zstandard.ZstdCompressor(level=PAYLOAD_COMPRESSION_LEVEL)
        self._operations: queue.SimpleQueue[_Operation | None] = queue.SimpleQueue()
        # Held to queue an operation and to close: nothing is queued behind the writer's stop,
        # where it would wait for good.
        self._closing = threading.Lock()
        self._closed = False
        self._writer_thread = threading.Thread(
            target=self._write_loop, args=(writer,), name="journal-writer", daemon=True
        )
        self._writer_thread.start()

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        # Short: writers of this journal take turns (the lock file), so waiting here means
        # something outside hotfix-bot holds it, and a delivery refused with 503 must be
        # refused before GitHub's 10 s timeout.
        connection.execute("PRAGMA busy_timeout = 2000")
        connection.execute("PRAGMA journal_mode = WAL")
        # The log is synced by _write_loop, after the turn; SQLite still syncs around its
        # checkpoints and when it starts the log anew.
        connection.execute("PRAGMA synchronous = NORMAL")
        return connection

    @contextlib.contextmanager
    def _write_turn(self) -> Iterator[None]:
        """This process's turn to write, held for one transaction. Asked for often rather
        than waited for, so that a writer that stalls holding it (a CLI command stopped
        with Ctrl-Z) costs a 503, as a locked database does, not a hung intake."""
        deadline = time.monotonic() + TURN_WAIT_SECONDS
        while True:
            try:
                fcntl.flock(self._turns, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise JournalUnavailable(
                        "journal write failed: another process held the journal for "
                        f"{TURN_WAIT_SECONDS:.0f} s"
                    ) from None
                time.sleep(TURN_POLL_SECONDS)
        try:
            yield
        finally:
            fcntl.flock(self._turns, fcntl.LOCK_UN)

    # -- the writer thread ------------------------------------------------------------

    def _write_loop(self, connection: sqlite3.Connection) -> None:
        while (first := self._operations.get()) is not _STOP:
            batch = [first]
            stop_after: bool | None = None  # until the turn is ours
            try:
                with self._write_turn():
                    # Gathered once the turn is ours: what arrived while another process
                    # wrote joins this commit instead of waiting for the next turn.
                    stop_after = self._gather(batch)
                    self._check_files()  # nothing is written into a file gone from its path,
                    outcomes = self._commit(connection, batch)
                # Synced with the turn given up: another process commits meanwhile.
                if any(operation.durable for operation in batch):
                    _sync(self._log)
                self._check_files()  # nor acknowledged if it went during the commit
            except JournalUnavailable as unavailable:
                if stop_after is None:  # no turn: what waits behind it would wait as long
                    stop_after = self._gather(batch)
                outcomes = [(operation, None, unavailable) for operation in batch]
            _report(outcomes)
            if stop_after:
                break
        connection.close()

    def _gather(self, batch: list[_Operation]) -> bool:
        """Add what is queued to `batch`, up to the limit; whether the journal closes next."""
        while len(batch) < self.BATCH_LIMIT:
            try:
                operation = self._operations.get_nowait()
            except queue.Empty:
                return False
            if operation is _STOP:
                return True
            batch.append(operation)
        return False

    def _check_files(self) -> None:
        for name, opened in self._files.items():
            if _identity(name) != opened:
                raise JournalReplaced(
                    f"journal write failed: {name} was deleted or replaced while open"
                )

    @staticmethod
    def _commit(connection: sqlite3.Connection, batch: list[_Operation]) -> list[_Outcome]:
        outcomes: list[_Outcome] = []
        try:
            connection.execute("BEGIN IMMEDIATE")
            for operation in batch:
                # A caller that gave up (cancelled at shutdown) gets nothing written.
                if operation.future.cancelled():
                    continue
                try:
                    outcomes.append((operation, operation.apply(connection), None))
                except sqlite3.DatabaseError:
                    raise
                except Exception as error:  # one bad operation must not lose the batch
                    outcomes.append((operation, None, error))
            connection.execute("COMMIT")
        except sqlite3.Error as error:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            unavailable = JournalUnavailable(f"journal write failed: {error}")
            outcomes = [(operation, None, unavailable) for operation in batch]
        return outcomes

    async def _write(self, apply: Callable[[sqlite3.Connection], T], *, durable: bool = False) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[object] = loop.create_future()
        with self._closing:
            if self._closed:
                raise JournalUnavailable("journal write failed: the journal is closed")
            self._operations.put(_Operation(apply, loop, future, durable))
        return await future  # type: ignore[return-value]

    # -- writes -----------------------------------------------------------------------

    async def record(
        self,
        delivery: Delivery,
        body: bytes | bytearray,
        *,
        handled: bool,
        supersedable: bool = False,
    ) -> RecordOutcome:
        """Store a delivery; a `supersedable` one is skipped when a later one of its pull
        request is queued, because that one reads the same, fresher, state."""
        now = self._clock()
        status: Literal["queued", "ignored"] = "queued" if handled else "ignored"

        def insert(connection: sqlite3.Connection) -> RecordOutcome:
            # Compressed below, on the writer thread (zstandard releases the GIL), not on
            # the loop.
            cursor = connection.execute(
                "INSERT INTO deliveries (id, event, action, installation_id, repository, "
                "pr_number, ordering_key, status, received_at, updated_at, next_attempt_at, "
                "supersedable) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO NOTHING",
                (
                    delivery.id,
                    delivery.event,
                    delivery.action,
                    delivery.installation_id,
                    delivery.repository,
                    delivery.pr_number,
                    delivery.ordering_key,
                    status,
                    now,
                    now,
                    now,
                    supersedable,
                ),
            )
            if cursor.rowcount != 1:
                return "duplicate"
            if handled:  # an ignored delivery is never run: its body is not kept
                connection.execute(
                    "INSERT INTO payloads (seq, body) VALUES (?, ?)",
                    (cursor.lastrowid, self._compressor.compress(body)),
                )
            return status

        return await self._write(insert, durable=True)

    async def claim_ready(self, limit: int, aside: Aside = NOTHING_ASIDE) -> list[JournalEntry]:
        """Mark as running the oldest due deliveries whose pull request has nothing earlier open,
        once the timers that came due are deliveries too (`_fire_due_timers`): `limit` of
        them at most, and besides `aside.room` of those `aside` names.

        A running delivery keeps later ones of its pull request back, so per-PR order holds
        without any bookkeeping outside the journal; one left queued for want of room keeps
        them back as well.
        """
        now = self._clock()

        def claim(connection: sqlite3.Connection) -> list[JournalEntry]:
            self._fire_due_timers(connection, now)
            claimed: list[JournalEntry] = []
            budget = SUPERSEDE_PER_CLAIM
            # Each pass claims heads of their pull requests' queues, or supersedes them (the
            # next pass then sees the later delivery as the head): bounded by the limit, and
            # by the budget, after which the next claim goes on.
            for _ in range(limit + aside.room + 1):
                wanted, room = aside.left(limit, claimed)
                heads = [_entry(row) for row in _due_heads(connection, now, wanted, room)]
                runnable = []
                moved_on = False
                for head in heads:
                    if _rejoin_queue(connection, head, now):
                        moved_on = True
                        continue
                    superseded = _supersede(connection, head, now, budget)
                    if superseded is None:
                        continue  # over budget: the next claim supersedes, this one claims on
                    if superseded:
                        budget -= superseded
                        moved_on = True
                    else:
                        runnable.append(head)
                connection.executemany(
                    "UPDATE deliveries SET status = 'running', attempts = attempts + 1, "
                    "updated_at = ? WHERE id = ?",
                    [(now, entry.id) for entry in runnable],
                )
                claimed += runnable
                if not moved_on:  # no head moved on: nothing new to look at
                    break
            return sorted(claimed, key=lambda entry: entry.seq)

        return await self._write(claim)

    def _fire_due_timers(self, connection: sqlite3.Connection, now: float) -> None:
        """Turn the timers due by `now` into queued deliveries, in the claim's transaction:
        each becomes a delivery of event `timer` with the timer's id, behind what its pull
        request has queued (`FIRED_DELIVERY_ID`: one scheduled again after it was forgotten
        has an id of its own each time). Should a delivery of that id exist already, the
        journal's unique key keeps it the only one: a timer fires once each time it is
        scheduled."""
        due = connection.execute(
            f"SELECT {TIMER_COLUMNS}, {FIRED_DELIVERY_ID} FROM timers "  # noqa: S608
            "INDEXED BY timers_due "
            "WHERE status = 'scheduled' AND due_at <= ? ORDER BY due_at, seq LIMIT ?",
            (now, FIRE_PER_CLAIM),
        ).fetchall()
        for *row, delivery_id in due:
            entry = timer_entry(tuple(row))
            timer = entry.timer
            cursor = connection.execute(
                "INSERT INTO deliveries (id, event, action, installation_id, repository, "
                "pr_number, ordering_key, status, received_at, updated_at, next_attempt_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                (
                    delivery_id,
                    TIMER_EVENT,
                    timer.kind,
                    timer.installation_id,
                    timer.repository,
                    timer.number,
                    timer.ordering_key,
                    now,
                    now,
                    now,
                ),
            )
            if cursor.rowcount == 1:
                body = fired_timer_body(timer, entry.scheduled_at, now)
                connection.execute(
                    "INSERT INTO payloads (seq, body) VALUES (?, ?)",
                    (cursor.lastrowid, self._compressor.compress(body)),
                )
        connection.executemany(
            "UPDATE timers SET status = 'fired', updated_at = ? WHERE id = ?",
            [(now, row[0]) for row in due],
        )

    async def schedule_timer(self, timer: Timer) -> bool:
        """Keep `timer` unless one of its id was scheduled before and not forgotten since
        (then False); a forgotten one is kept anew. Looked up without the write turn first:
        a handler schedules the same timers every time it runs, and only the first time
        writes."""
        if self._read("SELECT 1 FROM timers WHERE id = ? AND status != 'forgotten'", (timer.id,)):
            return False
        now = self._clock()
        values = _timer_values(TimerEntry(timer, "scheduled", now, now))
        cursor = await self._write(
            lambda connection: connection.execute(
                f"INSERT INTO timers ({TIMER_COLUMNS}) {_TIMER_VALUES} "
                f"{SCHEDULE_AGAIN_IF_FORGOTTEN}",
                values,
            )
        )
        return cursor.rowcount == 1

    async def _move_timer(self, timer_id: str, status: TimerStatus, to: TimerStatus) -> bool:
        now = self._clock()
        cursor = await self._write(
            lambda connection: connection.execute(
                "UPDATE timers SET status = ?, updated_at = ? WHERE id = ? AND status = ?",
                (to, now, timer_id, status),
            )
        )
        return cursor.rowcount == 1

    async def move_repository(self, move: RepositoryMove) -> MovedRepository:
        """Keep under `move.new` what is kept under `move.old` (`RepositoryMove`), all of it
        in one transaction of the writer, which also claims and fires timers: none of those
        runs in the middle."""
        now = self._clock()

        def move_all(connection: sqlite3.Connection) -> MovedRepository:
            connection.execute("SAVEPOINT move")
            try:
                state, timers, deliveries = (
                    connection.execute(_with_sqlite_parameters(read), move.reads).fetchall()
                    for read in (MOVE_STATE_ROWS, MOVE_TIMER_ROWS, MOVE_DELIVERY_ROWS)
                )
                writes = move.writes(state, timers, deliveries, self._compressor.compress, now)
                for statement, parameters in writes.statements:
                    connection.execute(_with_sqlite_parameters(statement), parameters)
            except BaseException:
                connection.execute("ROLLBACK TO move")
                raise
            connection.execute("RELEASE move")
            return writes.moved

        return await self._write(move_all, durable=True)

    async def release_waiting_timers(self, installation_id: int) -> int:
        """The timers' deliveries of an installation that wait for their next chance
        (`retry_timer_later`), made due now, their attempts counted anew; how many."""
        parameters = released_timers(installation_id, self._clock())
        cursor = await self._write(
            lambda connection: connection.execute(
                _with_sqlite_parameters(RELEASE_WAITING_TIMERS), parameters
            )
        )
        return cursor.rowcount

    async def move_timers(self, repository: str, installation_id: int) -> int:
        """The scheduled timers of `repository` made to run as installation
        `installation_id` (the one that covers it now); how many were of another."""
        parameters = {
            "installation": installation_id,
            "now": self._clock(),
            "repository": repository,
        }
        cursor = await self._write(
            lambda connection: connection.execute(
                _with_sqlite_parameters(MOVE_TIMERS_TO_INSTALLATION), parameters
            )
        )
        return cursor.rowcount

    async def _set_status(
        self,
        delivery_id: str,
        status: Status,
        *,
        error: str | None,
        delay: float = 0.0,
        queue: str | None = None,
    ) -> None:
        now = self._clock()
        await self._write(
            lambda connection: connection.execute(
                "UPDATE deliveries SET status = ?, last_error = ?, updated_at = ?, "
                "next_attempt_at = ?, ordering_key = COALESCE(?, ordering_key) WHERE id = ?",
                (status, error, now, now + delay, queue, delivery_id),
            )
        )

    async def resume_interrupted(self) -> int:
        """After a crash, work that was running is queued again."""
        now = self._clock()
        cursor = await self._write(
            lambda connection: connection.execute(
                "UPDATE deliveries SET status = 'queued', updated_at = ? WHERE status = 'running'",
                (now,),
            )
        )
        return cursor.rowcount

    async def redeliver(self, delivery_id: str) -> Redelivery:
        now = self._clock()

        def queue_again(connection: sqlite3.Connection) -> Redelivery:
            cursor = connection.execute(
                "UPDATE deliveries SET status = 'queued', attempts = 0, last_error = NULL, "
                "updated_at = ?, next_attempt_at = ? WHERE id = ? AND status != 'running' "
                "AND seq IN (SELECT seq FROM payloads)",
                (now, now, delivery_id),
            )
            if cursor.rowcount == 1:
                return "queued"
            return why_not_redelivered(
                connection.execute(
                    "SELECT d.status, p.seq IS NOT NULL FROM deliveries AS d "  # noqa: S608
                    f"{WITH_PAYLOAD} WHERE d.id = ?",
                    (delivery_id,),
                ).fetchone()
            )

        # Durable: the command says it is queued, so it must stay so.
        return await self._write(queue_again, durable=True)

    async def check_writable(self, room: int = 0) -> None:
        await write_heartbeat(self.set_state, self._clock(), room)

    async def get_state(self, key: str) -> str | None:
        row = self._read("SELECT value FROM app_state WHERE key = ?", (key,))
        return str(row[0][0]) if row else None

    async def set_state(self, key: str, value: str, *, durable: bool = False) -> None:
        """Keep `value` under `key`; `durable`: synced before it returns, so that it outlives
        a power loss too (the worker's writes are not, RELIABILITY.md)."""
        now = self._clock()
        await self._write(
            lambda connection: connection.execute(
                "INSERT INTO app_state (key, value, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
                "updated_at = excluded.updated_at",
                (key, value, now),
            ),
            durable=durable,
        )

    @contextlib.asynccontextmanager
    async def lock(self, name: str, wait: float = LOCK_WAIT_SECONDS) -> AsyncIterator[None]:
        """Hold the lock `name` of this journal while the block runs, waiting `wait` seconds
        at most for it (then `LockTimeout`). A lock of this process is enough: handlers run
        in the journal's one worker process (`app.journal.worker_process` holds the
        journal's worker lock; the intake processes only journal deliveries), so it is
        shared by whatever journal object of that file asks."""
        key = (str(self._path.absolute()), name)
        lock = _LOCKS.get(key)
        if lock is None:
            lock = _LOCKS[key] = asyncio.Lock()
        try:
            async with asyncio.timeout(wait):
                await lock.acquire()
        except TimeoutError:
            raise LockTimeout(name, wait) from None
        try:
            yield
        finally:
            lock.release()

    async def add_contents(self, contents: JournalContents) -> CopyCounts:
        """Add what this journal lacks of `contents` (by delivery id and state key) in one
        transaction, in their order; what it holds already stays as it is."""
        now = self._clock()

        def insert_all(connection: sqlite3.Connection) -> CopyCounts:
            """All of it or, should reading the source fail midway, nothing: the writer
            commits what the other operations of its batch wrote."""
            connection.execute("SAVEPOINT copy")
            try:
                counts = insert(connection)
            except BaseException:
                connection.execute("ROLLBACK TO copy")
                raise
            connection.execute("RELEASE copy")
            return counts

        def insert(connection: sqlite3.Connection) -> CopyCounts:
            deliveries = pending = past = 0
            for entry, of_the_past in contents.in_journal_order():
                status = copied_status(entry.status)
                cursor = connection.execute(
                    "INSERT INTO deliveries (id, event, action, installation_id, repository, "
                    "pr_number, ordering_key, status, attempts, last_error, received_at, "
                    "updated_at, next_attempt_at, supersedable) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                    (
                        entry.id,
                        entry.event,
                        entry.action,
                        entry.installation_id,
                        entry.repository,
                        entry.pr_number,
                        entry.ordering_key,
                        status,
                        entry.attempts,
                        entry.last_error,
                        entry.received_at,
                        entry.updated_at,
                        entry.next_attempt_at,
                        entry.supersedable,
                    ),
                )
                if cursor.rowcount != 1:
                    continue
                deliveries += 1
                pending += status == "queued"
                past += of_the_past
                if entry.payload is not None:
                    connection.execute(
                        "INSERT INTO payloads (seq, body) VALUES (?, ?)",
                        (cursor.lastrowid, self._compressor.compress(entry.payload)),
                    )
            state = sum(
                connection.execute(
                    "INSERT INTO app_state (key, value, updated_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (key) DO NOTHING",
                    (key, value, now),
                ).rowcount
                for key, value in contents.state
            )
            timers = waiting = 0
            for timer_entry_ in contents.timers:
                added = connection.execute(
                    f"INSERT INTO timers ({TIMER_COLUMNS}) {_TIMER_VALUES} "
                    "ON CONFLICT (id) DO NOTHING",
                    _timer_values(timer_entry_),
                ).rowcount
                timers += added
                waiting += added and timer_entry_.status == "scheduled"
            return CopyCounts(deliveries, pending, state, timers, waiting, past)

        return await self._write(insert_all, durable=True)

    def listen(self, wake: Callable[[], None]) -> None:
        """Nothing to listen to: one worker per journal, woken by its own server through a
        pipe (see app.journal.worker_process), and looking every second besides."""

    # -- reads ------------------------------------------------------------------------

    def _read(
        self, sql: str, parameters: tuple[object, ...] | dict[str, object] = ()
    ) -> list[tuple[object, ...]]:
        with self._reader_lock:
            try:
                return self._reader.execute(sql, parameters).fetchall()
            except sqlite3.Error as error:
                raise JournalUnavailable(f"journal read failed: {error}") from None

    def now(self) -> float:
        """The journal's clock, which due times are kept in: the worker measures waits on it."""
        return self._clock()

    def next_due(self, aside: Aside = NOTHING_ASIDE, *, github_work: bool = True) -> float | None:
        """When the first queue head a claim with `aside` may take may run, or the first
        timer comes due; `github_work`: whether the claim may take deliveries of GitHub's
        work (a slot of theirs is free). The deliveries behind a head wait for it, so a
        burst settling behind its head must not look due now (the worker would spin), nor
        a head whose kind of slot has no room. Every timer counts: a claim fires it,
        whichever slot its delivery then waits for. Read from the index of open deliveries
        and that of waiting timers alone, as a claim reads them."""
        rows = self._read(
            f"SELECT ({_NEXT_DUE}), "  # noqa: S608
            "(SELECT MIN(due_at) FROM timers WHERE status = 'scheduled')",
            aside.parameters | {"github_work": github_work},
        )
        due = [float(value) for value in rows[0] if isinstance(value, int | float)]
        return min(due, default=None)

    def timers(self, status: TimerStatus | None = None, limit: int = 50) -> list[TimerEntry]:
        """Timers in `TIMER_LISTING_ORDER`."""
        where, parameters = ("WHERE status = ?", (status, limit)) if status else ("", (limit,))
        rows = self._read(
            f"SELECT {TIMER_COLUMNS} FROM timers {where} {TIMER_LISTING_ORDER} "  # noqa: S608
            "LIMIT ?",
            parameters,
        )
        return [timer_entry(row) for row in rows]

    def recent(self, status: Status | None = None, limit: int = 50) -> list[JournalEntry]:
        where, parameters = ("WHERE d.status = ?", (status, limit)) if status else ("", (limit,))
        rows = self._read(
            f"SELECT {ENTRY_COLUMNS} FROM deliveries AS d {WITH_PAYLOAD} {where} "  # noqa: S608
            "ORDER BY d.seq DESC LIMIT ?",
            parameters,
        )
        return [_entry(row) for row in rows]

    def contents(self, history: int) -> JournalContents:
        """Every unfinished delivery, the `history` latest finished ones, the state and the
        timers; the older finished deliveries without their payloads."""
        unfinished = self._read(
            f"SELECT {ENTRY_COLUMNS} FROM deliveries AS d {WITH_PAYLOAD} "  # noqa: S608
            "WHERE d.status IN ('queued', 'running')"
        )
        finished = self._read(
            f"SELECT {ENTRY_COLUMNS} FROM deliveries AS d {WITH_PAYLOAD} "  # noqa: S608
            "WHERE d.status NOT IN ('queued', 'running') ORDER BY d.seq DESC LIMIT ?",
            (history,),
        )
        # The older ones: all when it takes none.
        before = finished[-1][0] if finished else SEQ_ABOVE_ALL
        [(past,)] = self._read(
            "SELECT COUNT(*) FROM deliveries WHERE status NOT IN ('queued', 'running') AND seq < ?",
            (before,),
        )

        def read_past(after: int) -> list[JournalEntry]:
            rows = self._read(
                f"SELECT {ENTRY_COLUMNS_BUT_PAYLOAD}, NULL FROM deliveries AS d "  # noqa: S608
                "WHERE d.status NOT IN ('queued', 'running') AND d.seq > ? AND d.seq < ? "
                "ORDER BY d.seq LIMIT ?",
                (after, before, PAST_PAGE),
            )
            return list(map(_entry, rows))

        state = self._read(
            "SELECT key, value FROM app_state WHERE key != ? ORDER BY key", (HEARTBEAT_KEY,)
        )
        timers = self._read(
            f"SELECT {TIMER_COLUMNS} FROM timers ORDER BY seq"  # noqa: S608
        )
        return JournalContents(
            tuple(sorted(map(_entry, unfinished + finished), key=lambda entry: entry.seq)),
            PastDeliveries(int(past), read_past),  # type: ignore[call-overload]
            tuple((str(key), str(value)) for key, value in state),
            tuple(map(timer_entry, timers)),
        )

    def count(self, statuses: Iterable[Status]) -> int:
        wanted = list(statuses)
        placeholders = ", ".join("?" for _ in wanted)
        rows = self._read(
            f"SELECT COUNT(*) FROM deliveries WHERE status IN ({placeholders})",  # noqa: S608
            tuple(wanted),
        )
        count = rows[0][0]
        return count if isinstance(count, int) else 0

    def close(self) -> None:
        """Finish what is queued, then close; once closed, a write is refused at once, and
        closing again does nothing."""
        with self._closing:
            if self._closed:
                return
            self._closed = True
            self._operations.put(_STOP)
        self._writer_thread.join()
        os.close(self._turns)
        with self._reader_lock:
            self._reader.close()
        os.close(self._log)


def _report(outcomes: list[_Outcome]) -> None:
    """Hand a batch's outcomes to their callers: one wake-up of each event loop per batch,
    not one per operation."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Outcome]] = {}
    for outcome in outcomes:
        by_loop.setdefault(outcome[0].loop, []).append(outcome)
    for loop, settled in by_loop.items():
        # A loop that has closed has nobody waiting any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_settle, settled)


def _settle(outcomes: list[_Outcome]) -> None:
    for operation, result, failure in outcomes:
        future = operation.future
        if future.done():
            continue  # cancelled while the batch was committing
        if failure is None:
            future.set_result(result)
        else:
            future.set_exception(failure)


def _sync(log: int) -> None:
    """Make what was written to the log so far durable, by this process or any other."""
    try:
        os.fdatasync(log)
    except OSError as error:
        raise JournalUnavailable(
            f"journal write failed: syncing the log: {error.strerror}"
        ) from None


def _identity(name: str) -> tuple[int, int] | None:
    """Which file `name` is (device and inode), or None when there is none."""
    try:
        status = os.stat(name)
    except OSError:  # gone, or out of this user's reach: not the file opened either way
        return None
    return status.st_dev, status.st_ino


def _make_private_directories(directory: Path) -> None:
    """Create `directory` and whatever is missing above it 0700 (`mkdir -p` gives 0755)."""
    if directory.is_dir():
        return
    _make_private_directories(directory.parent)
    with contextlib.suppress(FileExistsError):
        directory.mkdir(0o700)


def _due_heads(
    connection: sqlite3.Connection, now: float, limit: int, aside: Aside
) -> list[tuple[object, ...]]:
    """The due heads (`_DUE_HEADS`): `limit` of them at most, and besides `aside.room` of
    those `aside` names.

    The heads are found in the index of unfinished deliveries alone, one per pull request:
    a burst waiting to settle can queue thousands of rows behind a few heads, and looking
    at each of those rows made a claim take tens of milliseconds. The turns are worked out
    on the heads' rows without their payloads: only the heads taken are read with theirs."""
    return connection.execute(
        _DUE_HEADS, {"now": now, "limit": limit} | aside.parameters
    ).fetchall()


def _rejoin_queue(connection: sqlite3.Connection, head: JournalEntry, now: float) -> bool:
    """Put a timer's delivery that waited in a queue of its own (`retry_timer_later`) back
    at the end of its timer's queue, behind what that queued meanwhile: its row (and its
    payload's) takes the next sequence number. Whether it did."""
    if not may_rejoin_its_queue(head):
        return False
    home = connection.execute(
        "SELECT ordering_key FROM timers WHERE id = ? AND ordering_key != ?",
        (fired_timer_id(head), head.ordering_key),
    ).fetchone()
    if home is None:
        return False  # no timer of another queue to go back to: it runs where it waited
    # One above the largest: AUTOINCREMENT numbers the rows to come above it, so none takes it.
    [(moved,)] = connection.execute(
        "UPDATE deliveries SET seq = (SELECT MAX(seq) + 1 FROM deliveries), "
        "ordering_key = ?, updated_at = ? WHERE seq = ? RETURNING seq",
        (home[0], now, head.seq),
    ).fetchall()
    connection.execute("UPDATE payloads SET seq = ? WHERE seq = ?", (moved, head.seq))
    return True


# The deliveries of the run `_supersede` marks: the supersedable ones of the pull request
# from its head (:head) on, up to the first that is not supersedable, all but the last.
_RUN_BEHIND_HEAD = (
    "ordering_key = :key AND status IN ('queued', 'running') AND supersedable = 1 "
    "AND seq < (SELECT MAX(seq) FROM deliveries WHERE ordering_key = :key "
    "AND status IN ('queued', 'running') AND supersedable = 1 AND seq < COALESCE("
    "(SELECT MIN(seq) FROM deliveries WHERE ordering_key = :key "
    "AND status IN ('queued', 'running') AND supersedable = 0 AND seq > :head), "
    "9223372036854775807))"
)


# The due time `burst_due` names, of the delivery left at the head of its queue.
_BURST_DUE = {
    "settle": "MIN(received_at + :settle, :burst_began + :longest)",
    "go_on": f"received_at + {WAITED}, :now",
}


def _supersede(
    connection: sqlite3.Connection, head: JournalEntry, now: float, budget: int
) -> int | None:
    """Supersede the run of supersedable deliveries that starts at `head`, all but its last:
    that one reads the same, fresher state. A delivery that is not supersedable (a merge)
    ends the run, so nothing is ever skipped across it. Returns how many were superseded:
    the oldest `budget` of the run at most, so that a claim holds the journal only briefly
    (the rest goes to the next claims, at once); None when there are some but no budget.

    When this starts a burst, the last one then waits for what else the burst brings (see
    `app.journal.base`); when it comes due, whatever arrived meanwhile is superseded and
    the newest runs at once. A stream of events costs an evaluation about every second,
    not one per event, of the worker's time and of the installation's GitHub rate limit."""
    if not head.supersedable:
        return 0
    parameters = {"now": now, "key": head.ordering_key, "head": head.seq, "budget": budget}
    if budget == 0:
        behind = connection.execute(
            f"SELECT 1 FROM deliveries WHERE {_RUN_BEHIND_HEAD} LIMIT 1",  # noqa: S608
            parameters,
        ).fetchone()
        return None if behind else 0
    superseded = connection.execute(
        "UPDATE deliveries SET status = 'superseded', updated_at = :now WHERE seq IN ("  # noqa: S608
        f"SELECT seq FROM deliveries WHERE {_RUN_BEHIND_HEAD} ORDER BY seq LIMIT :budget)",
        parameters,
    ).rowcount
    rule = burst_due(head, superseded, budget)
    if rule is None:
        return superseded
    connection.execute(
        "UPDATE deliveries SET next_attempt_at = MAX(next_attempt_at, "  # noqa: S608
        f"{_BURST_DUE[rule]}) "
        "WHERE seq = (SELECT MIN(seq) FROM deliveries WHERE ordering_key = :key "
        "AND status = 'queued' AND seq > :head)",
        parameters
        | {
            "settle": BURST_SETTLE_SECONDS,
            "burst_began": head.received_at,
            "longest": BURST_LONGEST_WAIT,
        },
    )
    return superseded


def _migrate(connection: sqlite3.Connection, *, upgrade: bool) -> None:
    """Bring the schema (its version in `PRAGMA user_version`) to SCHEMA_VERSION in one
    transaction, holding SQLite's write lock (and the caller the journal's write turn), so
    that processes starting together migrate once; refuse a newer schema, and without
    `upgrade` an older one (or none: an empty file)."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        [found] = connection.execute("PRAGMA user_version").fetchone()
        migrations = versions_to_apply(found, SCHEMA_VERSION, upgrade=upgrade)
        for version in migrations:
            _MIGRATIONS[version - 1](connection)
        # A journal at the current version is not written: on a full disk that write fails,
        # and `hotfix-bot deliveries` is what the admin reads then.
        if migrations:
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        connection.execute("COMMIT")
    except BaseException:
        # A failed COMMIT (a full disk) may have ended the transaction already; its error is
        # the one to tell, not the ROLLBACK's "no transaction is active".
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise


def _version_1(connection: sqlite3.Connection) -> None:
    for statement in _VERSION_1.split(";\n"):
        if statement.strip():
            connection.execute(statement)
    _move_payloads_out(connection)


def _move_payloads_out(connection: sqlite3.Connection) -> None:
    """A journal written before payloads had their own table keeps them in `deliveries`:
    move them, in the migration's transaction, so nothing queued is lost by an upgrade."""
    columns = {row[1] for row in connection.execute("PRAGMA table_info(deliveries)")}
    if "payload" not in columns:
        return
    connection.execute(
        "INSERT INTO payloads (seq, body) SELECT seq, payload FROM deliveries "
        "WHERE payload IS NOT NULL"
    )
    connection.execute("ALTER TABLE deliveries DROP COLUMN payload")


def _version_2(connection: sqlite3.Connection) -> None:
    for statement in _VERSION_2.split(";\n"):
        if statement.strip():
            connection.execute(statement)


def _version_3(connection: sqlite3.Connection) -> None:
    connection.execute(_VERSION_3)


# The schema, one migration per version: _MIGRATIONS[n - 1] takes a journal from n - 1 to n.
_MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _version_1,
    _version_2,
    _version_3,
)
SCHEMA_VERSION = len(_MIGRATIONS)


def _entry(row: tuple[object, ...]) -> JournalEntry:
    *columns, supersedable, payload = row  # SQLite keeps a boolean as 0 or 1
    body = None if payload is None else decompressed(payload)  # type: ignore[arg-type]
    return JournalEntry(*columns, bool(supersedable), body)  # type: ignore[arg-type, call-arg]


def open_sqlite_journal(
    path: Path,
    clock: Callable[[], float] = time.time,
    *,
    create: bool = True,
    upgrade: bool = True,
) -> SqliteJournal:
    """The journal in `path` (made there unless `create` is False), or JournalUnopenable
    saying why there is none."""
    try:
        return SqliteJournal(path, clock, create=create, upgrade=upgrade)
    except (OSError, sqlite3.Error, NoJournal) as error:
        # Which file a relative path is depends on the working directory: said whole.
        problem = f"cannot open the journal {path.absolute()}: {_reason(error)}"
        if not create and isinstance(error, FileNotFoundError | NoJournal):
            raise JournalNotThere(problem) from None
        raise JournalUnopenable(problem) from None


# SQLite's errors in making the shared-memory file (`-shm`) it opens beside the journal: it
# is mapped, so a disk with no room left says only `disk I/O error`.
_NO_ROOM_FOR_SHM = ("SQLITE_IOERR_SHMOPEN", "SQLITE_IOERR_SHMSIZE")


def _reason(error: OSError | sqlite3.Error | NoJournal) -> str:
    """The error without the path, which the message gives once already."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    if isinstance(error, sqlite3.Error) and error.sqlite_errorname in _NO_ROOM_FOR_SHM:
        return f"{error} making its -shm file beside it: is that disk full?"
    return str(error)
