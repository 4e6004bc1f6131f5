"""The PostgreSQL journal: `DATABASE_URL=postgresql://user:password@host:port/database`.

Any number of `hotfix-bot serve` processes, on any number of machines, share one database,
with the guarantees of the SQLite journal (`app.journal.base` says what they are):

- **`202` only after commit.** The deliveries a process records at once are gathered into
  one statement (group commit: up to `RECORD_BATCH_LIMIT` of them, or `RECORD_BATCH_BYTES`
  of bodies), committed when it returns, and every connection runs with
  `synchronous_commit = on` whatever the server's default: the commit has reached the
  server's disk (and its synchronous standbys) first. Each caller is answered once its
  batch has committed; a batch that fails stores none of its deliveries and fails each of
  its callers. While one batch commits, the next gathers: one round trip and one flush of
  the log for many deliveries.
- **Duplicates.** The delivery id is a unique key; `INSERT ... ON CONFLICT DO NOTHING`
  inserts nothing for a second delivery of an id, which is then answered `duplicate`; so is
  the second of one batch, which is never sent.
- **One delivery of a pull request at a time, in order.** A claim takes, for each pull
  request (ordering key) it would claim for, a lock for its transaction
  (`pg_try_advisory_xact_lock`; a key another claim holds is skipped, not waited for), and,
  holding it, reads that key's queue afresh: only its first delivery runs, and only while
  nothing of the key runs (a delivery whose commit was slower may be journaled behind one
  that already runs). Rows are claimed and superseded under these locks alone, so two
  claims never touch one key's rows together. A unique index on the running row of each
  key turns any other outcome into an error instead of a second run.
- **Leases.** A claimed delivery is `running`, `claimed_by` this journal, until
  `lease_until` (on the database's clock: machines' clocks may disagree). The journal that
  claims renews its leases every `LEASE_SECONDS / 3`, and takes back (queues again) every
  lease that ran out, its holder having died with the machine, at the same pace and when
  the worker starts (`resume_interrupted`). A journal closed normally hands its running
  deliveries back at once, its work under way cancelled first (a claim not yet committed
  is rolled back, its deliveries queued still). Outcomes are written only by the holder of
  the claim: a worker whose lease ran out (cut off from the database for longer) changes
  nothing of the one that took over.
- **Timers** (app/journal/timers.py) fire once across instances: every claim first fires
  the timers that came due, with one statement (`_FIRE_DUE_TIMERS`) that selects them `FOR
  UPDATE SKIP LOCKED` (two claims never take the same timer, nor wait for each other),
  inserts them as deliveries `ON CONFLICT (id) DO NOTHING` with their payloads, marks them
  `fired` and sends `NOTIFY`, in the claim's transaction. A timer's delivery that waited in
  a queue of its own goes back to the end of its timer's queue under the claim's lock of
  its own (`_REJOIN_QUEUES`).
- **Locks** (`lock`) hold across instances: a session-level advisory lock, taken on a
  connection of its own from a pool kept for them, and released by handing the connection
  back; the server releases it too when the session ends, so a holder that dies with its
  process or machine leaves nothing held.
- **Wake-ups.** Recording a delivery sends `NOTIFY` in the same transaction (PostgreSQL
  sends it on commit); a worker's journal `LISTEN`s on a connection of its own and wakes
  the worker. The worker still looks at the journal every second, which covers a lost
  connection, and retries coming due.
- **The database restarted or failed over.** Every connection drops at once. The first
  that breaks (a statement's, or the listening one's) starts an outage, said once in the
  log: the pools, whose connections are all dead, are thrown away whole rather than one
  dead connection per caller, and a single connection is tried every `RECONNECT_SECONDS`.
  Meanwhile each call waits for the database up to `POOL_WAIT_SECONDS`, then fails
  (JournalUnavailable: the intake answers 503). The first connection that succeeds ends
  the outage, said once too: new pools, the claims of this journal renewed at once, and
  listening again. No lease is taken back within one lease of the server's start: its
  holder, cut off while it was down, renews it first.

psycopg's asynchronous connections belong to the event loop they were made on, and callers
come from several loops (the server's, a test's, `asyncio.run` in a CLI command) and, for
reads, from plain threads. So the journal keeps its connection pool on an event loop of its
own, in a thread, and hands each call over to it (~50 us).
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import dataclasses
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Iterator
from typing import Any, Literal, TypeVar

import psycopg
import zstandard
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool, PoolTimeout

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
    MOVE_QUEUES,
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
    JournalUnavailable,
    JournalUnopenable,
    LockTimeout,
    MovedRepository,
    MovesTimers,
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
from app.journal.postgres_url import describe_url, error_reason
from app.journal.timers import TIMER_EVENT, Timer
from policies.wording import plural

log = logging.getLogger("hotfix_bot.journal")
# psycopg's pools log each dead connection and each failed reconnection; the journal says
# once what an outage is (see above), and its pools make no connection while it lasts.
logging.getLogger("psycopg.pool").setLevel(logging.ERROR)

T = TypeVar("T")

# How long a claim stays with a journal that stopped renewing it (its machine died): the
# longest a dead instance's work waits before another takes it.
LEASE_SECONDS = 15.0
APPLICATION_NAME = "hotfix-bot"  # what the database shows of each connection's program
CHANNEL = "hotfix_bot_journal"  # NOTIFY'd when there is something new to run
POOL_SIZE = 4  # connections per journal: the intake's records share them
# A batch of records (group commit) stops at this many deliveries, or once its compressed
# bodies reach this many bytes: a bound on the statement, and on what one failure refuses.
RECORD_BATCH_LIMIT = 64
RECORD_BATCH_BYTES = 4 * 1024 * 1024
# `journal copy` inserts deliveries this many to a statement (or up to `RECORD_BATCH_BYTES`
# of payloads): one round trip each took 29 s for 100,000.
COPY_BATCH_LIMIT = 1000
CONNECT_SECONDS = 5.0  # to reach the database, at start-up and for a connection of the pool
# A delivery refused with 503 must be refused before GitHub's 10 s timeout.
POOL_WAIT_SECONDS = 2.0
STATEMENT_TIMEOUT_MS = 5000
LISTEN_RETRY_SECONDS = 0.5  # at least, between two connections for listening
# How long closing waits for the journal's work under way to end once cancelled: psycopg
# waits up to 5 s for the server to end a cancelled statement, then the transaction is
# rolled back.
SETTLE_SECONDS = 10.0
# While the database is gone (restarted, failing over), how often one connection to it is
# tried: the first that succeeds ends the outage, with a new pool.
RECONNECT_SECONDS = 0.5
# Advisory lock keys: the schema's migrations (one bigint), the claims of ordering keys and
# the handlers' locks (two ints each: its space, the key's or name's hash), which do not
# overlap.
MIGRATION_LOCK = 0x686F74666978  # "hotfix"
CLAIM_LOCKS = 0x68626A63  # "hbjc"
HANDLER_LOCKS = 0x68626C6B  # "hblk"
# Connections for `lock`, one per lock held or waited for. A delivery holds two or three at
# once (a post-merge run's, and inside it a check run's, a notice's or its steps' timeline
# rows, side by side); when the worker's 8 deliveries want more, the next waits for a
# connection as for the lock itself, within its bound, and is retried after it. Opened as
# locks are taken, closed once idle.
LOCK_POOL_SIZE = 16
# How often a lock held elsewhere is asked for again.
LOCK_POLL_SECONDS = 0.05
# How the server finds a lock's holder gone when its machine died or was cut off, sending no
# FIN: it probes the idle connection after 5 s of silence, every 2 s, and ends the session,
# releasing the lock, after 3 probes unanswered (~11 s, as a lease runs out in 15 s). The
# operating system's default is hours.
LOCK_KEEPALIVES = (
    "SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 2; SET tcp_keepalives_count = 3"
)

# The schema, one script per version: _MIGRATIONS[n - 1] takes a schema at version n - 1 to n.
_MIGRATIONS: tuple[str, ...] = (
    # 1: deliveries, their payloads, the handlers' state.
    """
    CREATE TABLE deliveries (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        event TEXT NOT NULL,
        action TEXT,
        installation_id BIGINT,
        repository TEXT,
        pr_number BIGINT,
        ordering_key TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        received_at DOUBLE PRECISION NOT NULL,
        updated_at DOUBLE PRECISION NOT NULL,
        next_attempt_at DOUBLE PRECISION NOT NULL,
        supersedable BOOLEAN NOT NULL DEFAULT FALSE,
        claimed_by TEXT,
        lease_until TIMESTAMPTZ
    );
    -- Each pull request's unfinished deliveries in order: the heads of the queues are read
    -- from this index alone.
    CREATE INDEX deliveries_open ON deliveries (ordering_key, seq)
        INCLUDE (status, next_attempt_at) WHERE status IN ('queued', 'running');
    CREATE INDEX deliveries_by_status ON deliveries (status, seq);
    -- Never two running deliveries of one pull request, whatever a claim does.
    CREATE UNIQUE INDEX deliveries_one_running ON deliveries (ordering_key)
        WHERE status = 'running';
    CREATE TABLE payloads (
        seq BIGINT PRIMARY KEY,
        body BYTEA NOT NULL
    );
    CREATE TABLE app_state (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at DOUBLE PRECISION NOT NULL
    );
    """,
    # 2: the timers handlers schedule (app/journal/timers.py): `scheduled` until they come
    # due, then `fired` (a delivery with the timer's id holds the rest), or `cancelled`.
    """
    CREATE TABLE timers (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        installation_id BIGINT NOT NULL,
        repository TEXT NOT NULL,
        number BIGINT NOT NULL,
        ordering_key TEXT NOT NULL,
        due_at DOUBLE PRECISION NOT NULL,
        data TEXT NOT NULL,
        status TEXT NOT NULL,
        scheduled_at DOUBLE PRECISION NOT NULL,
        updated_at DOUBLE PRECISION NOT NULL
    );
    -- The timers still waiting, soonest first: what next_due() and a claim read.
    CREATE INDEX timers_due ON timers (due_at, seq) WHERE status = 'scheduled';
    """,
    # 3: a fired timer may be forgotten (`forget_timer`: status `forgotten`) and scheduled
    # again; `rearmed` counts how often, and names the delivery of each firing.
    "ALTER TABLE timers ADD COLUMN rearmed INTEGER NOT NULL DEFAULT 0",
)
SCHEMA_VERSION = len(_MIGRATIONS)

# A batch of deliveries, one statement, so one round trip and one transaction: the
# deliveries in the order they arrived, the payloads of those handled (ignored ones are
# never run: their body is not kept), and the wake-up, sent when it commits. Returns the
# ids inserted: the others were journaled before.
_RECORD_BATCH = (
    "WITH arrived AS (SELECT * FROM unnest(%(id)s::text[], %(event)s::text[], "
    "%(action)s::text[], %(installation_id)s::bigint[], %(repository)s::text[], "
    "%(pr_number)s::bigint[], %(ordering_key)s::text[], %(status)s::text[], "
    "%(now)s::float8[], %(supersedable)s::boolean[], %(body)b::bytea[]) WITH ORDINALITY "
    "AS a(id, event, action, installation_id, repository, pr_number, ordering_key, status, "
    "now, supersedable, body, arrival)), "
    "inserted AS (INSERT INTO deliveries (id, event, action, installation_id, repository, "
    "pr_number, ordering_key, status, received_at, updated_at, next_attempt_at, "
    "supersedable) SELECT id, event, action, installation_id, repository, pr_number, "
    "ordering_key, status, now, now, now, supersedable FROM arrived ORDER BY arrival "
    "ON CONFLICT (id) DO NOTHING RETURNING seq, id, status), "
    "stored AS (INSERT INTO payloads (seq, body) SELECT inserted.seq, arrived.body "
    "FROM inserted JOIN arrived USING (id) WHERE arrived.body IS NOT NULL) "
    "SELECT id, CASE WHEN status = 'queued' THEN pg_notify(%(channel)s, '') END FROM inserted"
)
# Deliveries copied from another journal, as they were there (`journal copy`), in the order
# given, with their payloads (if any); returns the ids inserted: the others were there.
_COPY_DELIVERIES = (
    "WITH copied AS (SELECT * FROM unnest(%(id)s::text[], %(event)s::text[], "
    "%(action)s::text[], %(installation_id)s::bigint[], %(repository)s::text[], "
    "%(pr_number)s::bigint[], %(ordering_key)s::text[], %(status)s::text[], "
    "%(attempts)s::integer[], %(last_error)s::text[], %(received_at)s::float8[], "
    "%(updated_at)s::float8[], %(next_attempt_at)s::float8[], %(supersedable)s::boolean[], "
    "%(body)b::bytea[]) WITH ORDINALITY AS c(id, event, action, installation_id, repository, "
    "pr_number, ordering_key, status, attempts, last_error, received_at, updated_at, "
    "next_attempt_at, supersedable, body, position)), "
    "inserted AS (INSERT INTO deliveries (id, event, action, installation_id, repository, "
    "pr_number, ordering_key, status, attempts, last_error, received_at, updated_at, "
    "next_attempt_at, supersedable) SELECT id, event, action, installation_id, repository, "
    "pr_number, ordering_key, status, attempts, last_error, received_at, updated_at, "
    "next_attempt_at, supersedable FROM copied ORDER BY position "
    "ON CONFLICT (id) DO NOTHING RETURNING seq, id), "
    "stored AS (INSERT INTO payloads (seq, body) SELECT inserted.seq, copied.body "
    "FROM inserted JOIN copied USING (id) WHERE copied.body IS NOT NULL) "
    "SELECT id FROM inserted"
)
# The columns of `_COPY_DELIVERIES` a `JournalEntry` gives as it is (its status is
# `copied_status`, its payload compressed).
_COPIED_COLUMNS = tuple(
    field.name
    for field in dataclasses.fields(JournalEntry)
    if field.name not in ("seq", "status", "payload")
)


def _with_psycopg_parameters(statement: str) -> str:
    """A statement of `app.journal.base` with psycopg's named parameters."""
    return move_sql(statement, lambda name: f"%({name})s")


# The routes of a claim's `Aside` (its `aside` parameter), as the table `runs_aside` reads.
_ASIDE_ROUTES = (
    "aside (event, action) AS (SELECT value ->> 0, value ->> 1 "
    "FROM jsonb_array_elements(%(aside)s::jsonb))"
)
# The first unfinished delivery of each pull request, when it may run now: queued, due,
# and nothing of its pull request running; taken by turns between installations
# (`taken_by_turns`, counting the deliveries this journal's claims, %(me)s, run).
# `{columns}` of `d`; `{keys}` narrows them.
_DUE_HEADS = (
    f"WITH {_ASIDE_ROUTES}, "  # noqa: S608
    f"held AS ({HELD_BY_INSTALLATION.format(mine='AND claimed_by = %(me)s')}), "
    "heads AS (SELECT DISTINCT ON (ordering_key) seq, status, next_attempt_at FROM deliveries "
    "WHERE status IN ('queued', 'running') ORDER BY ordering_key, seq), taken AS ("
    + taken_by_turns(
        "FROM heads JOIN deliveries AS d ON d.seq = heads.seq",
        "heads.status = 'queued' AND heads.next_attempt_at <= %(now)s {keys} "
        "AND NOT EXISTS (SELECT 1 FROM deliveries AS r "
        "WHERE r.ordering_key = d.ordering_key AND r.status = 'running')",
        limit="%(limit)s",
        room="%(room)s",
    )
    + ") SELECT {columns} FROM taken JOIN deliveries AS d ON d.seq = taken.seq "  # noqa: S608
    f"{WITH_PAYLOAD} ORDER BY d.seq"
)
# When the first head a claim may take may run (`next_due`).
_NEXT_DUE = (
    f"WITH {_ASIDE_ROUTES} SELECT MIN(d.next_attempt_at) FROM ("  # noqa: S608
    "SELECT DISTINCT ON (ordering_key) ordering_key, status, next_attempt_at, event, action "
    "FROM deliveries WHERE status IN ('queued', 'running') ORDER BY ordering_key, seq) AS d "
    "WHERE d.status = 'queued' AND NOT EXISTS (SELECT 1 FROM deliveries AS r "
    "WHERE r.ordering_key = d.ordering_key AND r.status = 'running') "
    f"AND {_with_psycopg_parameters(ROOM_FOR)}"
)
# The timers due by %(now)s, fired in one statement (so one round trip of the claim's
# transaction): each becomes a queued delivery of event `timer` with the timer's id (one
# scheduled again after it was forgotten: an id of its own each time), its
# payload the body `app.journal.timers.fired_timer_body` makes (plain JSON, which
# `decompressed` reads as it is: a timer's body is small), and is marked `fired`; the
# workers are woken when it commits. SKIP LOCKED: a timer another claim is firing is left
# to it, and once that commits it is no longer `scheduled`. ON CONFLICT: should a delivery
# of that id exist already (its `fired` mark lost), it stays the only one. Returns a row
# when some fired.
_FIRE_DUE_TIMERS = (
    "WITH due AS (SELECT seq, id, kind, installation_id, repository, number, ordering_key, "  # noqa: S608
    f"due_at, data, scheduled_at, {FIRED_DELIVERY_ID} AS delivery_id FROM timers "
    "WHERE status = 'scheduled' AND due_at <= %(now)s "
    "ORDER BY due_at, seq LIMIT %(limit)s FOR UPDATE SKIP LOCKED), "
    "fired AS (UPDATE timers AS t SET status = 'fired', updated_at = %(now)s FROM due "
    "WHERE t.seq = due.seq), "
    "inserted AS (INSERT INTO deliveries (id, event, action, installation_id, repository, "
    "pr_number, ordering_key, status, received_at, updated_at, next_attempt_at) "
    "SELECT delivery_id, %(event)s, kind, installation_id, repository, number, ordering_key, "
    "'queued', %(now)s, %(now)s, %(now)s FROM due ORDER BY due_at, seq "
    "ON CONFLICT (id) DO NOTHING RETURNING seq, id), "
    "stored AS (INSERT INTO payloads (seq, body) SELECT inserted.seq, convert_to("
    "json_build_object('action', due.kind, 'timer', json_build_object('id', due.id, "
    "'kind', due.kind, 'number', due.number, 'due_at', due.due_at, "
    "'scheduled_at', due.scheduled_at, 'fired_at', %(now)s::float8, "
    "'data', due.data::json), 'installation', json_build_object('id', due.installation_id), "
    "'repository', json_build_object('full_name', due.repository))::text, 'UTF8') "
    "FROM inserted JOIN due ON due.delivery_id = inserted.id) "
    "SELECT pg_notify(%(channel)s, '') FROM (SELECT 1 FROM inserted LIMIT 1) AS fired_any"
)
# Timers' deliveries that waited in a queue of their own (ids, sequence numbers and their
# timers' ids given), moved to the end of their timers' queues: a new sequence number for
# the row and its payload. A timer whose queue is its own (a message to chat) is left where
# it is, to run.
_REJOIN_QUEUES = (
    "WITH waited AS (SELECT * FROM unnest(%(ids)s::text[], %(seqs)s::bigint[], "
    "%(timers)s::text[]) AS w(id, seq, timer_id)), "
    "moved AS (UPDATE deliveries AS d SET seq = DEFAULT, ordering_key = t.ordering_key, "
    "updated_at = %(now)s FROM waited, timers AS t WHERE d.seq = waited.seq "
    "AND t.id = waited.timer_id AND t.ordering_key <> d.ordering_key RETURNING d.id, d.seq), "
    "repointed AS (UPDATE payloads AS p SET seq = moved.seq FROM moved "
    "JOIN waited USING (id) WHERE p.seq = waited.seq) "
    "SELECT id FROM moved"
)
# A timer's row (`_timer_row`): scheduled, or copied as it was (`journal copy`).
_INSERT_TIMER = (
    f"INSERT INTO timers ({TIMER_COLUMNS}) VALUES (%(id)s, %(kind)s, "  # noqa: S608
    "%(installation_id)s, %(repository)s, %(number)s, %(due_at)s, %(data)s, %(status)s, "
    "%(scheduled_at)s, %(updated_at)s, %(ordering_key)s, %(rearmed)s) "
)
_SCHEDULE_TIMER = _INSERT_TIMER + SCHEDULE_AGAIN_IF_FORGOTTEN
_COPY_TIMER = _INSERT_TIMER + "ON CONFLICT (id) DO NOTHING"
# The deliveries of the run `_supersede` marks: the supersedable ones of the pull request
# from its head on, up to the first that is not supersedable, all but the last.
_RUN_BEHIND_HEAD = (
    "ordering_key = %(key)s AND status IN ('queued', 'running') AND supersedable "
    "AND seq < (SELECT MAX(seq) FROM deliveries WHERE ordering_key = %(key)s "
    "AND status IN ('queued', 'running') AND supersedable AND seq < COALESCE("
    "(SELECT MIN(seq) FROM deliveries WHERE ordering_key = %(key)s "
    "AND status IN ('queued', 'running') AND NOT supersedable AND seq > %(head)s), "
    "9223372036854775807))"
)
# The due time `burst_due` names, of the delivery left at the head of its queue.
_BURST_DUE = {
    "settle": "LEAST(received_at + %(settle)s, %(burst_began)s + %(longest)s)",
    "go_on": f"received_at + {WAITED}, %(now)s",
}


@dataclasses.dataclass
class _RecordRow:
    """One delivery of a batch: the delivery's columns of `_RECORD_BATCH` (`_DELIVERY_COLUMNS`)
    and these, one array each."""

    delivery: Delivery
    status: Literal["queued", "ignored"]
    now: float
    supersedable: bool
    body: bytes | None

    @property
    def id(self) -> str:
        return self.delivery.id


_DELIVERY_COLUMNS = (
    "id",
    "event",
    "action",
    "installation_id",
    "repository",
    "pr_number",
    "ordering_key",
)
_ROW_COLUMNS = ("status", "now", "supersedable", "body")


@dataclasses.dataclass
class _CopyBatch:
    """Deliveries `journal copy` inserts with one statement (`_COPY_DELIVERIES`), each with
    whether it is of `JournalContents.past`, and their compressed payloads."""

    entries: list[tuple[JournalEntry, bool]] = dataclasses.field(default_factory=list)
    bodies: list[bytes | None] = dataclasses.field(default_factory=list)
    size: int = 0  # of the bodies

    def add(self, entry: JournalEntry, of_the_past: bool, body: bytes | None) -> None:
        self.entries.append((entry, of_the_past))
        self.bodies.append(body)
        self.size += len(body or b"")

    def columns(self) -> dict[str, list[Any]]:
        """The parameters of `_COPY_DELIVERIES`: one array a column."""
        entries = [entry for entry, _ in self.entries]
        return {
            **{name: [getattr(entry, name) for entry in entries] for name in _COPIED_COLUMNS},
            "status": [copied_status(entry.status) for entry in entries],
            "body": self.bodies,
        }


@dataclasses.dataclass
class _PendingRecord:
    row: _RecordRow
    answer: asyncio.Future[RecordOutcome]  # set once its batch has committed, or failed


class _LoopThread:
    """An event loop of the journal's own, in a daemon thread, and the journal's tasks on
    it, which `settle` ends."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        # The journal's tasks not yet done (this loop alone): the calls handed over and the
        # tasks they start. The pools' own tasks are not among them: closing a pool ends them.
        self._tasks: set[asyncio.Task[Any]] = set()
        # Held to hand a call over and to take the last one: none is handed over behind the
        # close, where it would wait for good on a loop that has stopped.
        self._handing_over = threading.Lock()
        self.closing = False  # the last call was handed over: the journal is closing
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="journal-postgres", daemon=True
        )
        self._thread.start()

    def submit(
        self, operation: Coroutine[Any, Any, T], *, last: bool = False
    ) -> concurrent.futures.Future[T]:
        """Run `operation` on the loop; `last`: refuse every call after it."""
        with self._handing_over:
            if self.closing:
                operation.close()
                raise JournalUnavailable("the journal is closed")
            self.closing = last
            return asyncio.run_coroutine_threadsafe(self._tracked(operation), self.loop)

    def start(self, operation: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """A task of the journal's running `operation` (on this loop alone)."""
        task = self.loop.create_task(operation)
        self._track(task)
        return task

    def _track(self, task: asyncio.Task[Any]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _tracked(self, operation: Coroutine[Any, Any, T]) -> T:
        # Starts before any cancellation reaches its task (a caller's comes from another
        # thread, queued behind the task's first step): `operation` is always awaited.
        task = asyncio.current_task()
        assert task is not None  # a coroutine of this loop's runs in a task
        self._track(task)
        return await operation

    async def settle(self) -> None:
        """Cancel the journal's tasks but the one calling, and wait for them to end (their
        transactions rolled back, their connections back in their pools), `SETTLE_SECONDS`
        at most: a task the loop stops with would be destroyed pending, unfinished."""
        others = self._tasks - {asyncio.current_task()}
        for task in others:
            # Once is enough: cancelled again, psycopg stops cancelling the statement and
            # closes its connection.
            if not task.cancelling():
                task.cancel()
        if not others:
            return
        _, unfinished = await asyncio.wait(others, timeout=SETTLE_SECONDS)
        if unfinished:
            log.error(
                "closing the journal: %s still unfinished after %g s, abandoned",
                plural(len(unfinished), "task", "tasks"),
                SETTLE_SECONDS,
            )

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


class _ConnectionLost(JournalUnavailable):
    """The statement's connection broke: the server ended it, restarted or went away."""


class _Refused(JournalUnavailable):
    """The database refused what a statement wrote (a value beyond its column's type, a
    constraint): the data's fault, not the database's, so trying again with less of it may
    pass."""


class PostgresJournal(SettlesDeliveries, MovesTimers):
    """PostgreSQL journal; each process (and each instance) has its own."""

    def __init__(
        self,
        database_url: str,
        clock: Callable[[], float] = time.time,
        *,
        lease_seconds: float = LEASE_SECONDS,
        create: bool = True,
        upgrade: bool = True,
    ) -> None:
        """The journal in the database `database_url` names; its tables are made there unless
        `create` is False: then a database without them is JournalUnopenable, and nothing is
        made."""
        self._url = database_url
        self._clock = clock
        self._lease = lease_seconds
        # Names this journal's claims: which machine and process, for whoever reads them.
        self.claimer = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        # Used on the journal's thread alone (a compressor is not thread-safe).
        self._compressor = zstandard.ZstdCompressor(level=PAYLOAD_COMPRESSION_LEVEL)
        self._keeping_leases = False
        # The deliveries this journal's claims answered with, still running as far as it
        # knows (journal's loop alone): those whose leases it renews.
        self._held: set[int] = set()
        # Records waiting for the next batch, and the task committing them (journal's loop).
        self._arrived: collections.deque[_PendingRecord] = collections.deque()
        self._recording: asyncio.Task[None] | None = None
        # The connections of `lock`, made on the first (the worker's journal alone takes locks).
        self._lock_pool: AsyncConnectionPool[AsyncConnection[tuple[Any, ...]]] | None = None
        # Set while the database answers; cleared for an outage (journal's loop alone).
        self._reachable = asyncio.Event()
        self._reachable.set()
        self._thread = _LoopThread()
        try:
            self._pool = self._thread.submit(self._open(create, upgrade)).result()
        except BaseException:
            self._thread.stop()
            raise

    # -- the journal's own loop ---------------------------------------------------------

    async def _open(
        self, create: bool, upgrade: bool
    ) -> AsyncConnectionPool[AsyncConnection[tuple[Any, ...]]]:
        try:
            async with await self._connect() as connection:
                if not create and not await _has_journal(connection):
                    raise JournalNotThere(
                        f"cannot open the journal at {describe_url(self._url)}: "
                        "that database holds no journal"
                    )
                await _migrate(connection, upgrade=upgrade)
        except psycopg.Error as error:
            raise _unopenable(error, self._url) from None
        return await self._new_pool()

    async def _new_pool(self) -> AsyncConnectionPool[AsyncConnection[tuple[Any, ...]]]:
        pool: AsyncConnectionPool[AsyncConnection[tuple[Any, ...]]] = AsyncConnectionPool(
            self._url,
            min_size=1,
            max_size=POOL_SIZE,
            kwargs=_connection_options(),
            configure=_configure,
            timeout=POOL_WAIT_SECONDS,
            open=False,
            name="hotfix-bot-journal",
        )
        await pool.open()
        return pool

    async def _connect(self) -> AsyncConnection[tuple[Any, ...]]:
        connection = await AsyncConnection.connect(self._url, **_connection_options())
        await _configure(connection)
        return connection

    @contextlib.asynccontextmanager
    async def _connection(
        self, purpose: Literal["read", "write"]
    ) -> AsyncIterator[AsyncConnection[tuple[Any, ...]]]:
        await self._until_reachable(purpose)
        pool = self._pool
        connection = None
        try:
            async with pool.connection() as connection:
                yield connection
        except (psycopg.DataError, psycopg.IntegrityError) as error:
            raise _Refused(f"journal {purpose} failed: {error_reason(error, self._url)}") from None
        except (psycopg.Error, PoolTimeout) as error:
            reason = f"journal {purpose} failed: {error_reason(error, self._url)}"
            if connection is not None and connection.broken:
                self._lost(error, pool)
                raise _ConnectionLost(reason) from None
            raise JournalUnavailable(reason) from None

    async def _until_reachable(self, purpose: str) -> None:
        """Wait for the database to be back, if it is gone, as long as a connection of the
        pool is waited for; then JournalUnavailable."""
        if self._reachable.is_set():
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(POOL_WAIT_SECONDS):
                await self._reachable.wait()
                return
        raise JournalUnavailable(f"journal {purpose} failed: the database is unreachable")

    def _lost(
        self, error: psycopg.Error, pool: AsyncConnectionPool[AsyncConnection[tuple[Any, ...]]]
    ) -> None:
        """A connection of `pool` broke: the database restarted, failed over or was cut off.
        The first of an outage starts it; those of pools already thrown away, or of the same
        outage, change nothing."""
        if pool not in (self._pool, self._lock_pool) or not self._reachable.is_set():
            return
        self._reachable.clear()
        log.warning(
            "lost the database at %s (%s): deliveries are answered 503 until it is back, "
            "tried every %g s",
            describe_url(self._url),
            error_reason(error, self._url),
            RECONNECT_SECONDS,
        )
        self._thread.start(self._reconnect(time.monotonic()))

    async def _reconnect(self, lost_at: float) -> None:
        """Throw the pools away (every connection of theirs is dead), try one connection
        every `RECONNECT_SECONDS` until one succeeds, then go on with new pools."""
        dead = [self._pool, *([self._lock_pool] if self._lock_pool is not None else [])]
        self._lock_pool = None  # made again by the next lock
        for pool in dead:
            # Its connections in use are closed as they come back; callers waiting for one
            # are failed (PoolClosed): both are errors of the outage.
            await pool.close(timeout=0)
        while True:
            try:
                connection = await self._connect()
            except psycopg.Error:
                await asyncio.sleep(RECONNECT_SECONDS)
                continue
            await connection.close()
            try:
                self._pool = await self._new_pool()
            except psycopg.Error:
                continue  # gone again before the pool opened
            break
        self._reachable.set()
        log.warning(
            "the database at %s is back after %.1f s: deliveries are taken again",
            describe_url(self._url),
            time.monotonic() - lost_at,
        )
        if self._keeping_leases:  # at once, not at the next turn of `_keep_leases`
            with contextlib.suppress(JournalUnavailable):  # that turn tries again
                await self._renew_leases()

    async def _call(self, operation: Coroutine[Any, Any, T]) -> T:
        try:
            return await asyncio.wrap_future(self._thread.submit(operation))
        except asyncio.CancelledError:
            caller = asyncio.current_task()
            if caller is not None and caller.cancelling():
                raise  # the caller's own cancellation
            raise _closed() from None

    def _wait(self, operation: Coroutine[Any, Any, T], *, last: bool = False) -> T:
        try:
            return self._thread.submit(operation, last=last).result()
        except concurrent.futures.CancelledError:
            raise _closed() from None

    async def _rows(
        self,
        sql: str,
        parameters: dict[str, Any] | tuple[Any, ...] = (),
        purpose: Literal["read", "write"] = "read",
    ) -> list[tuple[Any, ...]]:
        async with self._connection(purpose) as connection:
            cursor = await connection.execute(sql, parameters)
            return await cursor.fetchall()

    async def _change(self, sql: str, parameters: dict[str, Any] | tuple[Any, ...]) -> int:
        async with self._connection("write") as connection:
            cursor = await connection.execute(sql, parameters)
            return cursor.rowcount

    # -- writes -------------------------------------------------------------------------

    async def record(
        self,
        delivery: Delivery,
        body: bytes | bytearray,
        *,
        handled: bool,
        supersedable: bool = False,
    ) -> RecordOutcome:
        """Store a delivery; see `SqliteJournal.record`. Answered once the batch it joins on
        the journal's loop has committed."""
        status: Literal["queued", "ignored"] = "queued" if handled else "ignored"
        row = _RecordRow(delivery, status, self._clock(), supersedable, body=None)

        async def join_batch() -> RecordOutcome:
            if handled:  # an ignored delivery is never run: its body is not kept
                row.body = self._compressor.compress(body)
            answer: asyncio.Future[RecordOutcome] = self._thread.loop.create_future()
            self._arrived.append(_PendingRecord(row, answer))
            if self._recording is None or self._recording.done():
                self._recording = self._thread.start(self._record_arrived())
            return await answer

        return await self._call(join_batch())

    async def _record_arrived(self) -> None:
        """Commit what has arrived, batch after batch, until nothing is left: what arrives
        while a batch commits waits for the next."""
        while self._arrived:
            await self._commit(self._next_batch())

    async def _commit(self, batch: list[_PendingRecord]) -> None:
        """Insert `batch` and answer each of its callers. A batch whose data the database
        refuses is tried again a delivery at a time, in order: one it cannot store (a number
        beyond its column's range) fails alone, not the deliveries that arrived with it. A
        database that is down or slow fails the batch at once, and those gathered behind it
        too (they would wait for it, then for their own): their senders hear 503 within
        GitHub's patience."""
        try:
            inserted = await self._insert(batch)
        except Exception as error:  # JournalUnavailable; anything else must not hang them
            if len(batch) > 1 and isinstance(error, _Refused):
                for pending in batch:
                    await self._commit([pending])
                return
            failed = list(batch)
            if not isinstance(error, _Refused):
                failed += self._arrived
                self._arrived.clear()
            for pending in failed:
                if not pending.answer.done():
                    pending.answer.set_exception(error)
            return
        for pending in batch:
            # The first arrival of an id inserted is answered with its status; any later one,
            # in this batch or after, is a duplicate of it.
            outcome = pending.row.status if pending.row.id in inserted else "duplicate"
            inserted.discard(pending.row.id)
            if not pending.answer.done():  # its caller may have given up meanwhile
                pending.answer.set_result(outcome)

    def _next_batch(self) -> list[_PendingRecord]:
        """The oldest arrivals, up to `RECORD_BATCH_LIMIT` or `RECORD_BATCH_BYTES`."""
        batch = [self._arrived.popleft()]
        size = len(batch[0].row.body or b"")
        while self._arrived and len(batch) < RECORD_BATCH_LIMIT:
            size += len(self._arrived[0].row.body or b"")
            if size > RECORD_BATCH_BYTES:
                break
            batch.append(self._arrived.popleft())
        return batch

    async def _insert(self, batch: list[_PendingRecord]) -> set[str]:
        """Insert `batch` in one statement; the ids it inserted. An id twice in the batch is
        sent once, its first arrival: the second is a duplicate of it."""
        first_arrivals: dict[str, _RecordRow] = {}
        for pending in batch:
            first_arrivals.setdefault(pending.row.id, pending.row)
        rows = first_arrivals.values()
        columns = {
            **{name: [getattr(row.delivery, name) for row in rows] for name in _DELIVERY_COLUMNS},
            **{name: [getattr(row, name) for row in rows] for name in _ROW_COLUMNS},
        }
        parameters = columns | {"channel": CHANNEL}
        try:
            found = await self._rows(_RECORD_BATCH, parameters, "write")
        except _ConnectionLost:
            # Most often the connection died idle in the pool (the server ended it, or
            # restarted) and the statement never ran: once more on a new connection, waited
            # for as any is. Had it committed before the connection went, its deliveries are
            # there already and are answered `duplicate`: journaled once either way.
            found = await self._rows(_RECORD_BATCH, parameters, "write")
        return {str(found_row[0]) for found_row in found}

    async def claim_ready(self, limit: int, aside: Aside = NOTHING_ASIDE) -> list[JournalEntry]:
        """Mark as running the oldest due deliveries whose pull request has nothing earlier
        open and nothing running, superseding as the SQLite journal does: `limit` of them
        at most, and besides `aside.room` of those `aside` names."""
        return await self._call(self._claim(limit, aside, self._clock()))

    async def _claim(self, limit: int, aside: Aside, now: float) -> list[JournalEntry]:
        if not self._keeping_leases:  # this journal claims: its claims must be renewed
            self._keeping_leases = True
            self._thread.start(self._keep_leases())
        claimed: list[JournalEntry] = []
        budget = SUPERSEDE_PER_CLAIM
        async with self._connection("write") as connection, connection.transaction():
            await connection.execute(
                _FIRE_DUE_TIMERS,
                {"now": now, "limit": FIRE_PER_CLAIM, "event": TIMER_EVENT, "channel": CHANNEL},
            )
            # Each pass claims heads of their pull requests' queues, or supersedes them (the
            # next pass then sees the later delivery as the head), as SqliteJournal does.
            for _ in range(limit + aside.room + 1):
                wanted, room = aside.left(limit, claimed)
                heads = await _locked_due_heads(connection, now, wanted, room, self.claimer)
                rejoined = await _rejoin_queues(connection, heads, now)
                runnable = []
                moved_on = bool(rejoined)
                for head in heads:
                    if head.id in rejoined:
                        continue
                    superseded = await _supersede(connection, head, now, budget)
                    if superseded is None:
                        continue  # over budget: the next claim supersedes, this one claims on
                    if superseded:
                        budget -= superseded
                        moved_on = True
                    else:
                        runnable.append(head)
                if runnable:
                    await connection.execute(
                        "UPDATE deliveries SET status = 'running', attempts = attempts + 1, "
                        "updated_at = %(now)s, claimed_by = %(me)s, "
                        "lease_until = clock_timestamp() + make_interval(secs => %(lease)s) "
                        "WHERE seq = ANY(%(seqs)s)",
                        {
                            "now": now,
                            "me": self.claimer,
                            "lease": self._lease,
                            "seqs": [entry.seq for entry in runnable],
                        },
                    )
                claimed += runnable
                if not moved_on:  # no head moved on: nothing new to look at
                    break
        # Only now, committed and answered: a claim whose answer the connection lost runs
        # nowhere, and its lease, not renewed, runs out for another claim to take it back.
        self._held.update(entry.seq for entry in claimed)
        return sorted(claimed, key=lambda entry: entry.seq)

    async def schedule_timer(self, timer: Timer) -> bool:
        """Keep `timer` unless one of its id was scheduled before and not forgotten since
        (then False); a forgotten one is kept anew."""
        now = self._clock()
        inserted = await self._call(
            self._change(_SCHEDULE_TIMER, _timer_row(TimerEntry(timer, "scheduled", now, now)))
        )
        return inserted == 1

    async def _move_timer(self, timer_id: str, status: TimerStatus, to: TimerStatus) -> bool:
        """A claim firing the timer meanwhile holds its row: this waits for it, and finds the
        timer fired (a cancel then changes nothing)."""
        changed = await self._call(
            self._change(
                "UPDATE timers SET status = %s, updated_at = %s WHERE id = %s AND status = %s",
                (to, self._clock(), timer_id, status),
            )
        )
        return changed == 1

    async def move_repository(self, move: RepositoryMove) -> MovedRepository:
        """Keep under `move.new` what is kept under `move.old` (`RepositoryMove`), in one
        transaction. It first takes the claim lock of each queue of the old name, as a claim
        does: no claim of any instance takes a delivery of those queues until it commits. A
        claim firing a timer of the old name meanwhile holds its row: the move waits for it
        to commit, and then reads the timer fired, and its delivery with it."""
        return await self._call(self._move_repository(move, self._clock()))

    async def _move_repository(self, move: RepositoryMove, now: float) -> MovedRepository:
        async with self._connection("write") as connection, connection.transaction():
            await connection.execute(
                f"SELECT pg_advisory_xact_lock(%(space)s, hashtext(ordering_key)) "  # noqa: S608
                f"FROM ({_with_psycopg_parameters(MOVE_QUEUES)}) AS queues",
                move.reads | {"space": CLAIM_LOCKS},
            )
            # A plain read does not wait for a row another transaction changes: it would read
            # the timer as scheduled and miss the delivery that claim is inserting. Read after
            # that wait, the deliveries hold it.
            rows = []
            for read in (f"{MOVE_TIMER_ROWS} FOR UPDATE", MOVE_STATE_ROWS, MOVE_DELIVERY_ROWS):
                cursor = await connection.execute(_with_psycopg_parameters(read), move.reads)
                rows.append(await cursor.fetchall())
            timers, state, deliveries = rows
            writes = move.writes(state, timers, deliveries, self._compressor.compress, now)
            for statement, parameters in writes.statements:
                await connection.execute(_with_psycopg_parameters(statement), parameters)
        return writes.moved

    async def release_waiting_timers(self, installation_id: int) -> int:
        """See `SqliteJournal.release_waiting_timers`; the workers of every instance are
        woken."""
        released = await self._call(
            self._rows(
                f"WITH released AS ({_with_psycopg_parameters(RELEASE_WAITING_TIMERS)} "  # noqa: S608
                "RETURNING seq) SELECT COUNT(*), pg_notify(%(channel)s, '') FROM released",
                released_timers(installation_id, self._clock()) | {"channel": CHANNEL},
                "write",
            )
        )
        return int(released[0][0])

    async def move_timers(self, repository: str, installation_id: int) -> int:
        """See `SqliteJournal.move_timers`."""
        return await self._call(
            self._change(
                _with_psycopg_parameters(MOVE_TIMERS_TO_INSTALLATION),
                {"installation": installation_id, "now": self._clock(), "repository": repository},
            )
        )

    @contextlib.asynccontextmanager
    async def lock(self, name: str, wait: float = LOCK_WAIT_SECONDS) -> AsyncIterator[None]:
        """Hold the lock `name`, for every instance of this database, while the block runs;
        waiting `wait` seconds at most for it (then `LockTimeout`).

        The lock's connection is taken, locked and handed back by one call on the journal's
        loop (`_hold`), which this one tells when to let go: however the block ends (a
        cancellation while waiting included), the connection goes back to the pool, and
        the lock with it."""
        loop = asyncio.get_running_loop()
        held: asyncio.Future[None] = loop.create_future()
        release = asyncio.Event()  # set on the journal's loop alone

        def on_held() -> None:
            with contextlib.suppress(RuntimeError):  # that loop has closed: nobody waits
                loop.call_soon_threadsafe(held.set_result, None)

        holding = asyncio.wrap_future(self._thread.submit(self._hold(name, wait, on_held, release)))
        try:
            try:
                await asyncio.wait((held, holding), return_when=asyncio.FIRST_COMPLETED)
            except asyncio.CancelledError:
                holding.cancel()
                raise
            if not held.done():
                if holding.cancelled():
                    raise _closed()
                holding.result()  # LockTimeout, JournalUnavailable
            yield
        finally:
            with contextlib.suppress(RuntimeError):  # that loop has closed: nothing is held
                self._thread.loop.call_soon_threadsafe(release.set)
            await asyncio.wait((holding,))

    async def _hold(
        self, name: str, wait: float, on_held: Callable[[], None], release: asyncio.Event
    ) -> None:
        """Take the lock `name`, call `on_held`, and keep it until `release` is set (or stop
        waiting for it then)."""
        deadline = time.monotonic() + wait
        await self._until_reachable("lock")
        pool, connection = await self._locks(), None
        try:
            async with pool.connection() as connection:
                while not await _try_lock(connection, name):
                    if release.is_set():
                        return  # the caller stopped waiting
                    if time.monotonic() >= deadline:
                        raise LockTimeout(name, wait)
                    await asyncio.sleep(LOCK_POLL_SECONDS)
                on_held()
                await release.wait()
        except PoolTimeout:
            # Every lock connection is taken, by locks held or waited for: a busy moment,
            # which the worker rides out as a lock held elsewhere, trying again later.
            raise LockTimeout(name, POOL_WAIT_SECONDS, "had no connection free") from None
        except psycopg.Error as error:
            if connection is not None and connection.broken:
                self._lost(error, pool)
            reason = error_reason(error, self._url)
            raise JournalUnavailable(f"journal lock failed: {reason}") from None

    async def _locks(self) -> AsyncConnectionPool[AsyncConnection[tuple[Any, ...]]]:
        if self._lock_pool is None:
            self._lock_pool = AsyncConnectionPool(
                self._url,
                min_size=0,
                max_size=LOCK_POOL_SIZE,
                kwargs=_connection_options(),
                configure=_configure_for_locks,
                # A connection comes back holding no lock, whichever way its holder ended.
                reset=_unlock_all,
                timeout=POOL_WAIT_SECONDS,
                open=False,
                name="hotfix-bot-journal-locks",
            )
        await self._lock_pool.open()  # at once when open already
        return self._lock_pool

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
        changed = await self._call(
            self._change(
                "UPDATE deliveries SET status = %(status)s, last_error = %(error)s, "
                "updated_at = %(now)s, next_attempt_at = %(due)s, claimed_by = NULL, "
                "lease_until = NULL, ordering_key = COALESCE(%(queue)s, ordering_key) "
                "WHERE id = %(id)s AND claimed_by = %(me)s",
                {
                    "status": status,
                    "error": error,
                    "now": now,
                    "due": now + delay,
                    "queue": queue,
                    "id": delivery_id,
                    "me": self.claimer,
                },
            )
        )
        if not changed:
            log.warning(
                "delivery %s: its lease ran out and it was taken back, so this outcome (%s) "
                "is not recorded; it runs again",
                delivery_id,
                status,
            )

    async def resume_interrupted(self) -> int:
        """Queue again the deliveries whose claims ran out: their worker died."""
        return await self._call(self._take_back_expired())

    async def _take_back_expired(self) -> int:
        """Queue again the deliveries whose leases ran out. One that ran out before the
        server (re)started lasts until a lease after its start: it ran out while the server
        was down, when its holder could not renew it, and the holder renews it once it
        reaches the server again (`_reconnect`)."""
        async with self._connection("write") as connection:
            cursor = await connection.execute(
                "WITH taken AS (UPDATE deliveries SET status = 'queued', claimed_by = NULL, "
                "lease_until = NULL, updated_at = %(now)s "
                "WHERE status = 'running' AND lease_until < clock_timestamp() "
                "AND (lease_until >= pg_postmaster_start_time() OR clock_timestamp() > "
                "pg_postmaster_start_time() + make_interval(secs => %(lease)s)) RETURNING seq) "
                "SELECT COUNT(*) FROM taken",
                {"now": self._clock(), "lease": self._lease},
            )
            row = await cursor.fetchone()
            taken = int(row[0]) if row else 0
            if taken:
                await connection.execute("SELECT pg_notify(%s, '')", (CHANNEL,))
        return taken

    async def _keep_leases(self) -> None:
        """Renew this journal's claims, and take back those whose holder stopped renewing."""
        while True:
            await asyncio.sleep(self._lease / 3)
            await self._reachable.wait()  # an outage is logged once, and renews as it ends
            try:
                await self._renew_leases()
                taken = await self._take_back_expired()
            except JournalUnavailable as error:
                log.error("could not renew the claims of running deliveries: %s", error)
                continue
            if taken:
                log.warning(
                    "took back %s whose worker stopped renewing them",
                    plural(taken, "delivery", "deliveries"),
                )

    async def _renew_leases(self) -> None:
        """Renew the leases of the deliveries this journal's claims answered with that still
        run; those that no longer do are forgotten."""
        renewing = set(self._held)
        if not renewing:
            return
        running = await self._rows(
            "UPDATE deliveries "
            "SET lease_until = clock_timestamp() + make_interval(secs => %(lease)s) "
            "WHERE claimed_by = %(me)s AND status = 'running' AND seq = ANY(%(seqs)s) "
            "RETURNING seq",
            {"lease": self._lease, "me": self.claimer, "seqs": list(renewing)},
            "write",
        )
        self._held -= renewing - {seq for (seq,) in running}

    async def redeliver(self, delivery_id: str) -> Redelivery:
        now = self._clock()
        changed = await self._call(
            self._rows(
                "WITH queued AS (UPDATE deliveries AS d SET status = 'queued', attempts = 0, "
                "last_error = NULL, updated_at = %(now)s, next_attempt_at = %(now)s, "
                "claimed_by = NULL, lease_until = NULL WHERE id = %(id)s "
                "AND status != 'running' AND EXISTS (SELECT 1 FROM payloads AS p "
                "WHERE p.seq = d.seq) RETURNING seq) "
                "SELECT pg_notify(%(channel)s, '') FROM queued",
                {"now": now, "id": delivery_id, "channel": CHANNEL},
                "write",
            )
        )
        if changed:
            return "queued"
        found = await self._call(
            self._rows(
                "SELECT d.status, EXISTS (SELECT 1 FROM payloads AS p WHERE p.seq = d.seq) "
                "FROM deliveries AS d WHERE d.id = %s",
                (delivery_id,),
            )
        )
        return why_not_redelivered(found[0] if found else None)

    async def check_writable(self, room: int = 0) -> None:
        await write_heartbeat(self.set_state, self._clock(), room)

    async def get_state(self, key: str) -> str | None:
        rows = await self._call(self._rows("SELECT value FROM app_state WHERE key = %s", (key,)))
        return str(rows[0][0]) if rows else None

    async def set_state(self, key: str, value: str, *, durable: bool = False) -> None:
        """Keep `value` under `key`: every commit here is durable (`synchronous_commit`)."""
        await self._call(
            self._change(
                "INSERT INTO app_state (key, value, updated_at) VALUES (%s, %s, %s) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
                "updated_at = excluded.updated_at",
                (key, value, self._clock()),
            )
        )

    async def add_contents(self, contents: JournalContents) -> CopyCounts:
        """Add what this journal lacks of `contents` (see `SqliteJournal.add_contents`)."""
        return await self._call(self._add_contents(contents, self._clock()))

    async def _add_contents(self, contents: JournalContents, now: float) -> CopyCounts:
        deliveries = pending = past = state = 0
        async with self._connection("write") as connection, connection.transaction():
            for batch in self._copy_batches(contents):
                cursor = await connection.execute(_COPY_DELIVERIES, batch.columns())
                inserted = {str(row[0]) for row in await cursor.fetchall()}
                for entry, of_the_past in batch.entries:
                    if entry.id in inserted:
                        deliveries += 1
                        pending += copied_status(entry.status) == "queued"
                        past += of_the_past
            for key, value in contents.state:
                cursor = await connection.execute(
                    "INSERT INTO app_state (key, value, updated_at) VALUES (%s, %s, %s) "
                    "ON CONFLICT (key) DO NOTHING",
                    (key, value, now),
                )
                state += cursor.rowcount
            timers = waiting = 0
            for timer in contents.timers:
                cursor = await connection.execute(_COPY_TIMER, _timer_row(timer))
                timers += cursor.rowcount
                waiting += cursor.rowcount == 1 and timer.status == "scheduled"
            if pending:  # sent on commit: workers already running take them at once
                await connection.execute("SELECT pg_notify(%s, '')", (CHANNEL,))
        return CopyCounts(deliveries, pending, state, timers, waiting, past)

    def _copy_batches(self, contents: JournalContents) -> Iterator[_CopyBatch]:
        """The deliveries of `contents` in the order they were journaled, in batches of
        `COPY_BATCH_LIMIT`, or fewer once their compressed payloads reach
        `RECORD_BATCH_BYTES`."""
        batch = _CopyBatch()
        for entry, of_the_past in contents.in_journal_order():
            body = None if entry.payload is None else self._compressor.compress(entry.payload)
            if batch.entries and (
                len(batch.entries) == COPY_BATCH_LIMIT
                or batch.size + len(body or b"") > RECORD_BATCH_BYTES
            ):
                yield batch
                batch = _CopyBatch()
            batch.add(entry, of_the_past, body)
        if batch.entries:
            yield batch

    def listen(self, wake: Callable[[], None]) -> None:
        """Call `wake` (on the caller's event loop) whenever a delivery is journaled or
        queued again, by any instance."""
        loop = asyncio.get_running_loop()

        def deliver() -> None:
            with contextlib.suppress(RuntimeError):  # that loop has closed: nobody waits
                loop.call_soon_threadsafe(wake)

        async def start() -> None:
            self._thread.start(self._listen(deliver))

        self._wait(start())

    async def _listen(self, deliver: Callable[[], None]) -> None:
        """Listen while the database answers; its connection breaking starts an outage, and
        its end listening again (the worker still looks every second meanwhile). A
        connection refused is none: a server that takes no connection more (its limit
        reached) still answers on the pool's."""
        while True:
            await self._reachable.wait()
            connection = None
            try:
                async with await self._connect() as connection:
                    await connection.execute(f"LISTEN {CHANNEL}")
                    deliver()  # what was journaled while nobody listened is looked at now
                    async for _ in connection.notifies():
                        deliver()
            except psycopg.Error as error:
                if connection is not None and connection.broken:
                    self._lost(error, self._pool)
                else:
                    log.warning(
                        "not listening for new deliveries, looking every second meanwhile: %s",
                        error_reason(error, self._url),
                    )
                await asyncio.sleep(LISTEN_RETRY_SECONDS)

    # -- reads --------------------------------------------------------------------------

    def now(self) -> float:
        """The journal's clock, which due times are kept in: the worker measures waits on it."""
        return self._clock()

    def next_due(self, aside: Aside = NOTHING_ASIDE, *, github_work: bool = True) -> float | None:
        """When the first queue head a claim with `aside` (and `github_work`) may take may
        run, or the first timer comes due (see `SqliteJournal.next_due`)."""
        rows = self._wait(
            self._rows(
                f"SELECT LEAST(({_NEXT_DUE}), "  # noqa: S608
                "(SELECT MIN(due_at) FROM timers WHERE status = 'scheduled'))",
                aside.parameters | {"github_work": github_work},
            )
        )
        value = rows[0][0]
        return float(value) if value is not None else None

    def timers(self, status: TimerStatus | None = None, limit: int = 50) -> list[TimerEntry]:
        """Timers in `TIMER_LISTING_ORDER`."""
        where = "WHERE status = %(status)s" if status else ""
        rows = self._wait(
            self._rows(
                f"SELECT {TIMER_COLUMNS} FROM timers {where} {TIMER_LISTING_ORDER} "  # noqa: S608
                "LIMIT %(limit)s",
                {"status": status, "limit": limit},
            )
        )
        return [timer_entry(row) for row in rows]

    def recent(self, status: Status | None = None, limit: int = 50) -> list[JournalEntry]:
        where = "WHERE d.status = %(status)s" if status else ""
        rows = self._wait(
            self._rows(
                f"SELECT {ENTRY_COLUMNS} FROM deliveries AS d {WITH_PAYLOAD} {where} "  # noqa: S608
                "ORDER BY d.seq DESC LIMIT %(limit)s",
                {"status": status, "limit": limit},
            )
        )
        return [_entry(row) for row in rows]

    def contents(self, history: int) -> JournalContents:
        """Every unfinished delivery, the `history` latest finished ones, the state and the
        timers; the older finished deliveries without their payloads."""
        return self._wait(self._contents(history))

    async def _contents(self, history: int) -> JournalContents:
        async with self._connection("read") as connection, connection.transaction():
            # One snapshot for all the reads.
            await connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cursor = await connection.execute(
                f"SELECT {ENTRY_COLUMNS} FROM deliveries AS d {WITH_PAYLOAD} "  # noqa: S608
                "WHERE d.status IN ('queued', 'running')"
            )
            unfinished = await cursor.fetchall()
            cursor = await connection.execute(
                f"SELECT {ENTRY_COLUMNS} FROM deliveries AS d {WITH_PAYLOAD} "  # noqa: S608
                "WHERE d.status NOT IN ('queued', 'running') ORDER BY d.seq DESC LIMIT %s",
                (history,),
            )
            finished = await cursor.fetchall()
            # The older ones: all when it takes none.
            before = finished[-1][0] if finished else SEQ_ABOVE_ALL
            cursor = await connection.execute(
                "SELECT COUNT(*) FROM deliveries WHERE status NOT IN ('queued', 'running') "
                "AND seq < %s",
                (before,),
            )
            [(past,)] = await cursor.fetchall()
            cursor = await connection.execute(
                "SELECT key, value FROM app_state WHERE key != %s ORDER BY key", (HEARTBEAT_KEY,)
            )
            state = await cursor.fetchall()
            cursor = await connection.execute(
                f"SELECT {TIMER_COLUMNS} FROM timers ORDER BY seq"  # noqa: S608
            )
            timers = await cursor.fetchall()

        def read_past(after: int) -> list[JournalEntry]:
            rows = self._wait(
                self._rows(
                    f"SELECT {ENTRY_COLUMNS_BUT_PAYLOAD}, NULL FROM deliveries AS d "  # noqa: S608
                    "WHERE d.status NOT IN ('queued', 'running') AND d.seq > %s AND d.seq < %s "
                    "ORDER BY d.seq LIMIT %s",
                    (after, before, PAST_PAGE),
                )
            )
            return list(map(_entry, rows))

        return JournalContents(
            tuple(sorted(map(_entry, unfinished + finished), key=lambda entry: entry.seq)),
            PastDeliveries(int(past), read_past),
            tuple((str(key), str(value)) for key, value in state),
            tuple(map(timer_entry, timers)),
        )

    def count(self, statuses: Iterable[Status]) -> int:
        rows = self._wait(
            self._rows("SELECT COUNT(*) FROM deliveries WHERE status = ANY(%s)", (list(statuses),))
        )
        return int(rows[0][0])

    def close(self) -> None:
        """Hand this journal's running deliveries back, at once rather than when their
        leases run out, and let go of the database. A call after it hears that the journal
        is closed; closing again does nothing."""
        if self._thread.closing:
            return
        try:
            self._wait(self._close(), last=True)
        except JournalUnavailable as error:
            log.error("could not hand the running deliveries back: %s", error)
        finally:
            self._thread.stop()

    async def _close(self) -> None:
        # First the work under way (renewing, listening, calls whose callers gave up or
        # still wait): a claim cancelled before it commits leaves its deliveries queued, and
        # its connection goes back for the hand-back and the pool's close.
        await self._thread.settle()
        try:
            released = await self._change(
                "WITH released AS (UPDATE deliveries SET status = 'queued', claimed_by = NULL, "
                "lease_until = NULL WHERE claimed_by = %(me)s AND status = 'running' "
                "RETURNING seq) SELECT pg_notify(%(channel)s, '') FROM released LIMIT 1",
                {"me": self.claimer, "channel": CHANNEL},
            )
            if released:
                log.info("handed the deliveries running here back to the journal")
        finally:
            await self._pool.close()
            if self._lock_pool is not None:
                await self._lock_pool.close()


# A worker's journal listening, as `_listen` does: a `hotfix-bot serve` running on the
# database. Another user's sessions show no query: those of the servers' own user do.
LISTENING = (
    "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() "
    "AND application_name = %s AND query = %s"
)


def servers_listening(database_url: str) -> int:
    """How many `hotfix-bot serve` run on the database `database_url` names now, their
    workers listening; JournalUnopenable if the database cannot be asked."""
    try:
        with psycopg.connect(database_url, **_connection_options()) as connection:
            listening = (APPLICATION_NAME, f"LISTEN {CHANNEL}")
            [(count,)] = connection.execute(LISTENING, listening).fetchall()
    except psycopg.Error as error:
        raise _unopenable(error, database_url) from None
    return int(count)


def _closed() -> JournalUnavailable:
    """What a call or a lock still waited for hears when closing cancels it
    (`_LoopThread.settle`): cancelled, it would read as its caller's own cancellation."""
    return JournalUnavailable("the journal closed before the database answered")


def _unopenable(error: psycopg.Error, database_url: str) -> JournalUnopenable:
    return JournalUnopenable(
        f"cannot open the journal at {describe_url(database_url)}: "
        f"{error_reason(error, database_url)}"
    )


def _connection_options() -> dict[str, Any]:
    return {
        "autocommit": True,
        "connect_timeout": int(CONNECT_SECONDS),
        "application_name": APPLICATION_NAME,
    }


async def _configure(connection: AsyncConnection[tuple[Any, ...]]) -> None:
    # Whatever the server's default: a 202 needs the commit on disk.
    await connection.execute(
        "SET synchronous_commit = on; "
        f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}; "
        "SET idle_in_transaction_session_timeout = 60000"
    )


async def _configure_for_locks(connection: AsyncConnection[tuple[Any, ...]]) -> None:
    await _configure(connection)
    await connection.execute(LOCK_KEEPALIVES)


async def _try_lock(connection: AsyncConnection[tuple[Any, ...]], name: str) -> bool:
    """Take the lock `name` for the connection's session, unless another session holds it."""
    cursor = await connection.execute(
        "SELECT pg_try_advisory_lock(%s, hashtext(%s))", (HANDLER_LOCKS, name)
    )
    row = await cursor.fetchone()
    return bool(row and row[0])


async def _unlock_all(connection: AsyncConnection[tuple[Any, ...]]) -> None:
    await connection.execute("SELECT pg_advisory_unlock_all()")


async def _has_journal(connection: AsyncConnection[tuple[Any, ...]]) -> bool:
    cursor = await connection.execute("SELECT to_regclass('journal_schema') IS NOT NULL")
    row = await cursor.fetchone()
    return bool(row and row[0])


async def _migrate(connection: AsyncConnection[tuple[Any, ...]], *, upgrade: bool) -> None:
    """Bring the schema to SCHEMA_VERSION, one journal at a time; refuse a newer one, and
    without `upgrade` an older one."""
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        await connection.execute(
            "CREATE TABLE IF NOT EXISTS journal_schema (version INTEGER NOT NULL)"
        )
        cursor = await connection.execute("SELECT version FROM journal_schema")
        row = await cursor.fetchone()
        found = int(row[0]) if row else 0
        for version in versions_to_apply(found, SCHEMA_VERSION, upgrade=upgrade):
            await connection.execute(_MIGRATIONS[version - 1])
        if row is None:
            await connection.execute(
                "INSERT INTO journal_schema (version) VALUES (%s)", (SCHEMA_VERSION,)
            )
        elif found != SCHEMA_VERSION:
            await connection.execute("UPDATE journal_schema SET version = %s", (SCHEMA_VERSION,))


async def _locked_due_heads(
    connection: AsyncConnection[tuple[Any, ...]],
    now: float,
    limit: int,
    aside: Aside,
    claimer: str,
) -> list[JournalEntry]:
    """The due heads of up to `limit` pull requests' queues, and besides `aside.room` of
    those `aside` names, taken by turns between installations for the claims of `claimer`,
    each pull request locked for this transaction: the heads are read again once the locks
    are held, when no other claim of those pull requests can be under way."""
    if limit <= 0 and aside.room <= 0:
        return []
    parameters: dict[str, Any] = {"now": now, "limit": limit, "me": claimer} | aside.parameters
    cursor = await connection.execute(
        _DUE_HEADS.format(columns="d.ordering_key", keys=""), parameters
    )
    keys = [row[0] for row in await cursor.fetchall()]
    if not keys:
        return []
    cursor = await connection.execute(
        "SELECT key FROM unnest(%(keys)s::text[]) AS key "
        "WHERE pg_try_advisory_xact_lock(%(space)s, hashtext(key))",
        {"keys": keys, "space": CLAIM_LOCKS},
    )
    locked = [row[0] for row in await cursor.fetchall()]
    if not locked:
        return []
    cursor = await connection.execute(
        _DUE_HEADS.format(columns=ENTRY_COLUMNS, keys="AND d.ordering_key = ANY(%(locked)s)"),
        parameters | {"locked": locked},
    )
    return [_entry(row) for row in await cursor.fetchall()]


async def _rejoin_queues(
    connection: AsyncConnection[tuple[Any, ...]], heads: list[JournalEntry], now: float
) -> set[str]:
    """Put the timers' deliveries among `heads` that waited in a queue of their own
    (`retry_timer_later`) back at the end of their timers' queues, behind what those queued
    meanwhile, as the SQLite journal does; their ids. Each row, and its payload's, takes the
    next number of the sequence. The claim holds the lock of each head's queue: no other
    claim moves or runs them meanwhile."""
    waiting = [head for head in heads if may_rejoin_its_queue(head)]
    if not waiting:
        return set()
    cursor = await connection.execute(
        _REJOIN_QUEUES,
        {
            "ids": [head.id for head in waiting],
            "seqs": [head.seq for head in waiting],
            "timers": [fired_timer_id(head) for head in waiting],
            "now": now,
        },
    )
    return {row[0] for row in await cursor.fetchall()}


async def _supersede(
    connection: AsyncConnection[tuple[Any, ...]], head: JournalEntry, now: float, budget: int
) -> int | None:
    """Supersede the run of supersedable deliveries that starts at `head`, as
    `app.journal.sqlite._supersede` does; the same answers."""
    if not head.supersedable:
        return 0
    parameters = {"now": now, "key": head.ordering_key, "head": head.seq, "budget": budget}
    if budget == 0:
        cursor = await connection.execute(
            f"SELECT 1 FROM deliveries WHERE {_RUN_BEHIND_HEAD} LIMIT 1",  # noqa: S608
            parameters,
        )
        return None if await cursor.fetchone() else 0
    cursor = await connection.execute(
        "UPDATE deliveries SET status = 'superseded', updated_at = %(now)s WHERE seq IN ("  # noqa: S608
        f"SELECT seq FROM deliveries WHERE {_RUN_BEHIND_HEAD} ORDER BY seq LIMIT %(budget)s)",
        parameters,
    )
    superseded = cursor.rowcount
    rule = burst_due(head, superseded, budget)
    if rule is None:
        return superseded
    await connection.execute(
        "UPDATE deliveries SET next_attempt_at = GREATEST(next_attempt_at, "  # noqa: S608
        f"{_BURST_DUE[rule]}) "
        "WHERE seq = (SELECT MIN(seq) FROM deliveries WHERE ordering_key = %(key)s "
        "AND status = 'queued' AND seq > %(head)s)",
        parameters
        | {
            "settle": BURST_SETTLE_SECONDS,
            "burst_began": head.received_at,
            "longest": BURST_LONGEST_WAIT,
        },
    )
    return superseded


def _timer_row(entry: TimerEntry) -> dict[str, Any]:
    """The parameters of `_INSERT_TIMER`."""
    timer = entry.timer
    return {
        "id": timer.id,
        "kind": timer.kind,
        "installation_id": timer.installation_id,
        "repository": timer.repository,
        "number": timer.number,
        "due_at": timer.due_at,
        "data": json.dumps(dict(timer.data)),
        "status": entry.status,
        "scheduled_at": entry.scheduled_at,
        "updated_at": entry.updated_at,
        "ordering_key": timer.ordering_key,
        "rearmed": entry.rearmed,
    }


def _entry(row: tuple[Any, ...]) -> JournalEntry:
    entry = JournalEntry(*row)
    if entry.payload is None:
        return entry
    return dataclasses.replace(entry, payload=decompressed(bytes(entry.payload)))
