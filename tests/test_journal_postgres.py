"""The PostgreSQL journal shared by several instances: commits on disk, leases, per-PR order
between instances claiming at once, wake-ups across instances. What both kinds of journal
do alike is in tests/test_journal.py."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import psycopg
import pytest
from support.deliveries import globex, pull_request
from support.live_server import free_port
from support.postgres import PostgresServer

from app.cli import main
from app.journal import JournalEntry, JournalUnavailable, LockTimeout, open_journal
from app.journal import postgres as postgres_journal
from app.journal.base import RecordOutcome, RepositoryMove, fired_timer_id
from app.journal.postgres import SCHEMA_VERSION, PostgresJournal
from app.journal.postgres_url import describe_url, without_password
from app.journal.timers import TIMER_EVENT, Timer, timer_id


@pytest.fixture
def database(postgres: PostgresServer) -> Iterator[str]:
    with postgres.database() as url:
        yield url


def run_at_once(target: Callable[[], object], threads: int) -> None:
    """Runs `target` in that many threads at once, each given 30 s to finish."""
    started = [threading.Thread(target=target) for _ in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join(timeout=30)


def claim_in_two_instances(
    database: str,
    per_claim: int,
    enough: Callable[[], bool],
    take: Callable[[JournalEntry], Awaitable[None]],
) -> None:
    """Two instances at once, each claiming up to `per_claim` entries at a time, taking each
    and finishing it, until `enough()` or 20 s have passed."""

    async def instance() -> None:
        journal = PostgresJournal(database)
        try:
            deadline = time.monotonic() + 20
            while not enough() and time.monotonic() < deadline:
                for entry in await journal.claim_ready(per_claim):
                    await take(entry)
                    await journal.finish(entry.id)
        finally:
            journal.close()

    run_at_once(lambda: asyncio.run(instance()), 2)


def rows(database: str) -> dict[str, tuple[str, int, str | None]]:
    """Each delivery's status, attempts and claimer, as the database holds them."""
    with psycopg.connect(database) as connection:
        found = connection.execute("SELECT id, status, attempts, claimed_by FROM deliveries")
        return {row[0]: (row[1], row[2], row[3]) for row in found}


def test_every_connection_commits_synchronously_whatever_the_server_default(
    database: str,
) -> None:
    with psycopg.connect(database) as connection:  # the test server's default is off
        assert connection.execute("SHOW synchronous_commit").fetchone() == ("off",)
    journal = PostgresJournal(database)
    try:
        shown = journal._wait(journal._rows("SHOW synchronous_commit"))
    finally:
        journal.close()

    assert shown == [("on",)]


def test_instances_starting_together_on_a_new_database_migrate_it_once(database: str) -> None:
    opened: list[PostgresJournal] = []
    failures: list[Exception] = []
    together = threading.Barrier(4)

    def start() -> None:
        together.wait()
        try:
            opened.append(PostgresJournal(database))
        except Exception as failure:
            failures.append(failure)

    run_at_once(start, 4)
    for journal in opened:
        journal.close()

    assert (failures, len(opened)) == ([], 4)
    with psycopg.connect(database) as connection:
        assert connection.execute("SELECT version FROM journal_schema").fetchall() == [
            (SCHEMA_VERSION,)
        ]


def test_a_live_instance_keeps_its_claims_past_the_lease(database: str) -> None:
    holder = PostgresJournal(database, lease_seconds=0.6)
    other = PostgresJournal(database)
    try:
        asyncio.run(holder.record(pull_request("a1", 1), b"{}", handled=True))
        assert [entry.id for entry in asyncio.run(holder.claim_ready(10))] == ["a1"]
        time.sleep(1.5)  # two and a half leases: renewed meanwhile

        taken_back = asyncio.run(other.resume_interrupted())
        claimed = asyncio.run(other.claim_ready(10))
        asyncio.run(holder.finish("a1"))
    finally:
        other.close()
        holder.close()

    assert (taken_back, claimed) == (0, [])
    assert rows(database) == {"a1": ("done", 1, None)}


def test_a_claim_whose_answer_was_lost_is_taken_back_once_its_lease_runs_out(
    database: str,
) -> None:
    """The database committed the claim, and the connection dropped before its answer: the
    claimer never runs the delivery, so it does not renew its lease either."""
    holder = PostgresJournal(database, lease_seconds=0.6)
    other = PostgresJournal(database)
    try:
        asyncio.run(holder.record(pull_request("a1", 1), b"{}", handled=True))
        asyncio.run(holder.record(pull_request("b1", 2), b"{}", handled=True))
        with psycopg.connect(database) as connection:  # the claim as committed
            connection.execute(
                "UPDATE deliveries SET status = 'running', attempts = 1, claimed_by = %s, "
                "lease_until = clock_timestamp() + interval '0.6 seconds' WHERE id = 'a1'",
                (holder.claimer,),
            )
        assert [entry.id for entry in asyncio.run(holder.claim_ready(10))] == ["b1"]
        time.sleep(1.5)  # two and a half leases: b1's renewed meanwhile, a1's not

        asyncio.run(other.resume_interrupted())  # unless the holder's own look did
        claimed = asyncio.run(other.claim_ready(10))
        asyncio.run(holder.finish("b1"))
    finally:
        other.close()
        holder.close()

    assert [(entry.id, entry.attempts) for entry in claimed] == [("a1", 1)]
    assert rows(database)["b1"] == ("done", 1, None)


def test_a_closed_instance_hands_its_running_deliveries_back_at_once(database: str) -> None:
    stopping = PostgresJournal(database)  # a lease of 15 s: nobody waits for it here
    other = PostgresJournal(database)
    try:
        asyncio.run(stopping.record(pull_request("a1", 1), b"{}", handled=True))
        asyncio.run(stopping.claim_ready(10))
        stopping.close()

        claimed = asyncio.run(other.claim_ready(10))
    finally:
        other.close()

    assert [(entry.id, entry.attempts) for entry in claimed] == [("a1", 1)]


def test_closing_settles_a_claim_its_caller_gave_up_on_and_the_next_instance_claims_its_rows(
    database: str,
) -> None:
    """A worker stopping gives up on a claim still waiting in the database, then closes its
    journal: the claim ends with it, rolled back, and nothing of it is left on the journal's
    loop to be destroyed pending later."""
    stopping = PostgresJournal(database)
    destroyed: list[str] = []
    stopping._thread.loop.set_exception_handler(
        lambda _, context: destroyed.append(context["message"])
    )
    asyncio.run(stopping.record(pull_request("a1", 1), b"{}", handled=True))

    async def give_up_on_a_claim(locker: psycopg.Connection[Any]) -> None:
        claiming = asyncio.create_task(stopping.claim_ready(10))
        deadline = time.monotonic() + 10
        while not _waits_for_a_lock(locker):
            assert time.monotonic() < deadline, "the claim never waited"
            await asyncio.sleep(0.01)
        claiming.cancel()
        await asyncio.gather(claiming, return_exceptions=True)

    with psycopg.connect(database) as locker, locker.transaction():
        # Every claim fires the timers first: this one waits, the hand-back does not.
        locker.execute("LOCK TABLE timers IN EXCLUSIVE MODE")
        asyncio.run(give_up_on_a_claim(locker))
        stopping.close()
        left = [repr(task) for task in asyncio.all_tasks(stopping._thread.loop)]
    gc.collect()  # what was left pending on the loop is destroyed now
    other = PostgresJournal(database)
    try:
        claimed = asyncio.run(other.claim_ready(10))
    finally:
        other.close()

    assert (left, destroyed) == ([], [])
    assert [(entry.id, entry.attempts) for entry in claimed] == [("a1", 0)]  # never counted


def test_closing_ends_a_claim_its_caller_still_waits_for_which_hears_the_journal_closed(
    database: str,
) -> None:
    """Closed while a call still waits in the database, the journal answers that call rather
    than leave its caller waiting for a loop that has stopped."""
    stopping = PostgresJournal(database)
    asyncio.run(stopping.record(pull_request("a1", 1), b"{}", handled=True))
    answers: list[BaseException] = []

    def claim() -> None:
        try:
            asyncio.run(stopping.claim_ready(10))
        except BaseException as answer:  # what the caller hears, whatever it is
            answers.append(answer)

    claiming = threading.Thread(target=claim, daemon=True)  # left hanging, it must not hold pytest
    with psycopg.connect(database) as locker, locker.transaction():
        locker.execute("LOCK TABLE timers IN EXCLUSIVE MODE")  # as above: the claim waits
        claiming.start()
        deadline = time.monotonic() + 10
        while not _waits_for_a_lock(locker):
            assert time.monotonic() < deadline, "the claim never waited"
            time.sleep(0.01)
        stopping.close()
        claiming.join(timeout=10)
        left = [repr(task) for task in asyncio.all_tasks(stopping._thread.loop)]

    assert (claiming.is_alive(), left) == (False, [])
    assert [(type(answer), str(answer)) for answer in answers] == [
        (JournalUnavailable, "the journal closed before the database answered")
    ]
    assert rows(database) == {"a1": ("queued", 0, None)}


def test_an_instance_takes_turns_by_what_its_own_claims_run(database: str) -> None:
    """Each instance's worker has slots of its own, and counts what it runs in them: this
    one runs acme's a1, another globex's g1 and g2; this one's next slot goes to globex,
    which holds none of its slots, before acme's older delivery."""
    this = PostgresJournal(database)
    other = PostgresJournal(database)

    async def scenario() -> list[list[str]]:
        for delivery in (pull_request("a1", 1), globex("g1", 1), globex("g2", 2)):
            await this.record(delivery, b"{}", handled=True)
        claims = [await this.claim_ready(1), await other.claim_ready(2)]
        for delivery in (pull_request("a2", 2), globex("g3", 3)):
            await this.record(delivery, b"{}", handled=True)
        claims.append(await this.claim_ready(1))
        return [[entry.id for entry in claim] for claim in claims]

    try:
        claims = asyncio.run(scenario())
    finally:
        other.close()
        this.close()

    assert claims == [["a1"], ["g1", "g2"], ["g3"]]


def test_a_lease_that_ran_out_is_taken_back_and_its_holders_late_outcome_is_not_recorded(
    database: str, caplog: pytest.LogCaptureFixture
) -> None:
    cut_off = PostgresJournal(database, lease_seconds=60)
    other = PostgresJournal(database)
    try:
        asyncio.run(cut_off.record(pull_request("a1", 1), b"{}", handled=True))
        asyncio.run(cut_off.claim_ready(10))
        with psycopg.connect(database) as connection:  # as if renewals stopped a while ago
            connection.execute("UPDATE deliveries SET lease_until = now() - interval '1 s'")

        taken_back = asyncio.run(other.resume_interrupted())
        claimed = [entry.id for entry in asyncio.run(other.claim_ready(10))]
        asyncio.run(cut_off.fail("a1", "GitHub answered 404"))  # the first holder comes back
        after_late_outcome = rows(database)
        asyncio.run(other.finish("a1"))
    finally:
        other.close()
        cut_off.close()

    assert (taken_back, claimed) == (1, ["a1"])
    assert after_late_outcome == {"a1": ("running", 2, other.claimer)}
    assert rows(database) == {"a1": ("done", 2, None)}
    assert (
        "delivery a1: its lease ran out and it was taken back, so this outcome (failed) is not "
        "recorded; it runs again"
    ) in caplog.text


def test_two_instances_claiming_at_once_run_each_delivery_once_one_per_pull_request_in_order(
    database: str,
) -> None:
    keys, per_key = 4, 40
    recorder = PostgresJournal(database)
    expected = [[f"k{key}-{n}" for n in range(per_key)] for key in range(keys)]

    async def record_all() -> None:
        for n in range(per_key):
            for key in range(keys):
                await recorder.record(pull_request(f"k{key}-{n}", key), b"{}", handled=True)

    asyncio.run(record_all())
    recorder.close()

    running: set[str] = set()  # pull requests with a delivery running, across instances
    ran: list[list[str]] = [[] for _ in range(keys)]
    overlaps: list[str] = []
    guard = threading.Lock()

    async def take(entry: JournalEntry) -> None:
        with guard:
            if entry.ordering_key in running:
                overlaps.append(entry.id)
            running.add(entry.ordering_key)
            ran[int(entry.id[1])].append(entry.id)
        await asyncio.sleep(0)  # running the delivery
        with guard:
            running.discard(entry.ordering_key)

    claim_in_two_instances(database, 3, lambda: sum(map(len, ran)) >= keys * per_key, take)

    assert overlaps == []
    assert ran == expected
    assert {status for status, _, _ in rows(database).values()} == {"done"}


def timer(timer_id: str, number: int, due_at: float) -> Timer:
    return Timer(timer_id, "escalation", 1, "acme/widgets", number, due_at, {"n": number})


def test_two_instances_claiming_at_once_fire_each_timer_once(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("app.journal.postgres.FIRE_PER_CLAIM", 3)  # many claims fire some
    pulls, per_pull = 10, 6
    expected = {f"t{number}-{n}" for number in range(pulls) for n in range(per_pull)}
    scheduler = PostgresJournal(database)

    async def schedule_all() -> list[bool]:
        return [
            await scheduler.schedule_timer(timer(f"t{number}-{n}", number, time.time() - n))
            for number in range(pulls)
            for n in range(per_pull)
        ]

    assert asyncio.run(schedule_all()) == [True] * len(expected)
    scheduler.close()

    ran: list[str] = []
    guard = threading.Lock()

    async def take(entry: JournalEntry) -> None:
        with guard:
            ran.append(entry.id)

    claim_in_two_instances(database, 4, lambda: len(ran) >= len(expected), take)

    assert sorted(ran) == sorted(expected)  # each ran, once
    with psycopg.connect(database) as connection:
        statuses = connection.execute("SELECT status, COUNT(*) FROM timers GROUP BY status")
        assert statuses.fetchall() == [("fired", len(expected))]
    assert {rows(database)[timer_id][:2] for timer_id in expected} == {("done", 1)}


def test_a_timer_another_instance_is_firing_is_skipped_not_waited_for(database: str) -> None:
    journal = PostgresJournal(database)
    try:
        asyncio.run(journal.schedule_timer(timer("t-1", 1, time.time() - 1)))
        with psycopg.connect(database) as other:  # another instance's claim, under way
            other.execute("SELECT 1 FROM timers WHERE id = 't-1' FOR UPDATE")
            started = time.monotonic()
            during = asyncio.run(journal.claim_ready(10))
            waited = time.monotonic() - started
            other.rollback()  # that claim failed: the timer is still to fire
        after = [entry.id for entry in asyncio.run(journal.claim_ready(10))]
    finally:
        journal.close()

    assert (during, after) == ([], ["t-1"])
    assert waited < 2


def test_a_delivery_journaled_by_one_instance_wakes_the_worker_of_another(database: str) -> None:
    intake = PostgresJournal(database)
    worker = PostgresJournal(database)

    async def scenario() -> list[float]:
        woken = asyncio.Event()
        worker.listen(woken.set)
        await asyncio.wait_for(woken.wait(), 5)  # woken once it listens: look now
        waits = []
        for action in (
            lambda: intake.record(pull_request("a1", 1), b"{}", handled=True),
            lambda: intake.redeliver("a1"),
        ):
            woken.clear()
            started = time.monotonic()
            await action()
            await asyncio.wait_for(woken.wait(), 5)
            waits.append(time.monotonic() - started)
        return waits

    try:
        waits = asyncio.run(scenario())
    finally:
        worker.close()
        intake.close()
    assert all(wait < 0.5 for wait in waits), waits  # not the worker's 1 s poll


def test_an_unreachable_database_stops_the_command_with_one_line_without_the_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()  # nothing listens there
    monkeypatch.setenv("DATABASE_URL", f"postgresql://hotfix:s3cret-pw@127.0.0.1:{port}/journal")

    assert main(["deliveries"]) == 2

    error = capsys.readouterr().err
    assert error.startswith(
        f"hotfix-bot: DATABASE_URL: cannot open the journal at 127.0.0.1:{port}/journal: "
        "connection failed: "
    )
    assert error.count("\n") == 1 and "s3cret-pw" not in error


def test_a_url_libpq_cannot_read_is_named_without_its_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://hotfix:s3 cret@db.internal:5432/journal")

    assert main(["deliveries"]) == 2

    assert capsys.readouterr().err == (
        "hotfix-bot: DATABASE_URL: cannot be read as a PostgreSQL URL: "
        'unexpected spaces found in "***", use percent-encoded spaces (%20) instead\n'
    )


UNENCODED = (
    'write "@" and "/" in the user name or password as %40 and %2F: as they are, part of '
    "the password reads as the host or the database"
)
REFUSED = "cannot open the journal at 127.0.0.1:{port}/hotfix: connection failed: "


@pytest.mark.parametrize(
    ("password", "hidden", "problem"),
    [
        ("Sec/ret99", ["Sec", "ret99"], UNENCODED),
        ("Sup3r@Secret", ["Sup3r", "Secret"], UNENCODED),
        # libpq reads these two as written: only the description was cut at them.
        ("Sec#ret99", ["Sec", "ret99"], REFUSED),
        ("Sec?ret99", ["Sec", "ret99"], REFUSED),
    ],
    ids=["slash", "at", "hash", "question mark"],
)
@pytest.mark.parametrize(
    "command",
    [["serve"], ["deliveries"], ["journal", "copy", "--from", "sqlite:///old.db", "--to"]],
    ids=["serve", "deliveries", "journal copy"],
)
def test_a_password_holding_url_delimiters_is_never_shown(
    password: str,
    hidden: list[str],
    problem: str,
    command: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`openssl rand -base64` makes passwords with `/`; `@`, `#` and `?` are common too."""
    port = free_port()  # nothing listens there
    url = f"postgresql://hotfix:{password}@127.0.0.1:{port}/hotfix"
    monkeypatch.setenv("PORT", "0")
    command, option = _given(command, url, monkeypatch)

    assert main(command) == 2

    error = capsys.readouterr().err
    assert error.startswith(f"hotfix-bot: {option}: {problem.format(port=port)}")
    assert error.count("\n") == 1
    assert not [piece for piece in [password, *hidden] if piece in error]


def _given(command: list[str], url: str, monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], str]:
    """`command` given `url`: `journal copy` as its `--to` (from a journal made here), the
    others as DATABASE_URL; and the name the error names it by."""
    if command[0] == "journal":
        open_journal("sqlite:///old.db").close()
        return [*command, url], "--to"
    monkeypatch.setenv("DATABASE_URL", url)
    return command, "DATABASE_URL"


@pytest.mark.parametrize(
    "command",
    [["serve"], ["deliveries"], ["journal", "copy", "--from", "sqlite:///old.db", "--to"]],
    ids=["serve", "deliveries", "journal copy"],
)
def test_a_malformed_url_is_one_line_naming_it_without_a_traceback_or_the_password(
    command: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "postgresql://hotfix:Secret99@[::1:5432/hotfix"  # the IPv6 address's ] left out
    command, option = _given(command, url, monkeypatch)

    assert main(command) == 2

    assert capsys.readouterr().err == (
        f"hotfix-bot: {option}: cannot be read as a PostgreSQL URL: end of string reached when "
        'looking for matching "]" in IPv6 host address in URI: "postgresql://***@[::1:5432/hotfix"\n'
    )


def test_a_password_libpq_reads_as_written_reaches_the_database_and_is_not_shown(
    postgres: PostgresServer, capsys: pytest.CaptureFixture[str]
) -> None:
    with postgres.database() as database:
        name = database.rpartition("/")[2]
        # The test server trusts every connection: the password only has to be read.
        url = f"postgresql://hotfix:Sec#ret?99@127.0.0.1:{postgres.port}/{name}"
        open_journal("sqlite:///old.db").close()

        assert main(["journal", "copy", "--from", "sqlite:///old.db", "--to", url]) == 0

    assert capsys.readouterr().out == (
        "copied 0 deliveries (0 to run, 0 without their payloads: finished before the latest "
        f"1000), 0 state values and 0 timers (0 waiting) into 127.0.0.1:{postgres.port}/{name}; "
        "it held 0 of the deliveries, 0 of the state values and 0 of the timers already, kept "
        "as they were\n"
    )


@pytest.mark.parametrize(
    ("url", "described"),
    [
        ("postgresql://hotfix:pw@db.internal:5432/hotfix", "db.internal:5432/hotfix"),
        ("postgresql://hotfix:Sec/ret@db:5432/hotfix?sslmode=require", "db:5432/hotfix"),
        ("postgresql://hotfix:a@b/c?d#e@db/hotfix", "db/hotfix"),
        ("postgres://db.internal", "db.internal"),
        ("postgresql:///hotfix?host=/run/postgresql", "localhost/hotfix"),
        ("postgresql://h1:5432,h2:5433/hotfix", "h1:5432,h2:5433/hotfix"),
    ],
)
def test_a_url_is_described_by_its_hosts_ports_and_database_alone(url: str, described: str) -> None:
    assert describe_url(url) == described


def test_libpqs_messages_lose_the_password_whole_decoded_and_in_the_pieces_libpq_cuts() -> None:
    url = "postgresql://hotfix:Sec%2Fret/99abc@db/hotfix"
    message = (
        'invalid "Sec%2Fret/99abc", "Sec/ret/99abc", host "hotfix", port "Sec%2Fret", '
        'database "99abc@db/hotfix"'
    )

    assert without_password(message, url) == (
        'invalid "***", "***", host "hotfix", port "***", database "***@db/hotfix"'
    )


def test_a_journal_that_stops_answering_refuses_writes_within_seconds(database: str) -> None:
    journal = PostgresJournal(database)
    try:
        with psycopg.connect(database) as locker, locker.transaction():
            # Holds every write to deliveries, as a stuck migration or a vacuum full would.
            locker.execute("LOCK TABLE deliveries IN ACCESS EXCLUSIVE MODE")
            started = time.monotonic()
            with pytest.raises(JournalUnavailable) as refused:
                asyncio.run(journal.record(pull_request("a1", 1), b"{}", handled=True))
            waited = time.monotonic() - started
        outcome = asyncio.run(journal.record(pull_request("a1", 1), b"{}", handled=True))
    finally:
        journal.close()

    assert str(refused.value) == (
        "journal write failed: canceling statement due to statement timeout"
    )
    assert waited < 8  # GitHub gives up after 10 s: it hears 503 first
    assert outcome == "queued"


def _waits_for_a_lock(connection: psycopg.Connection[Any]) -> bool:
    """Whether a backend of this database waits for a lock now. Inside a transaction the
    statistics are read once and then kept: cleared, each look sees the backends as they are."""
    connection.execute("SELECT pg_stat_clear_snapshot()")
    return bool(
        connection.execute(
            "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"
        ).fetchone()
    )


def record_behind_a_held_batch(
    database: str, journal: PostgresJournal, later: list[tuple[str, bool]]
) -> tuple[RecordOutcome, list[RecordOutcome | BaseException]]:
    """Record `held` while a lock on the table holds its batch, then each of `later` (id,
    handled) at once, which arrive meanwhile; let the table go. The answers: `held`'s, and
    each of `later`'s, or what it raised."""

    async def record(delivery_id: str, handled: bool = True) -> RecordOutcome:
        return await journal.record(pull_request(delivery_id, 1), b"{}", handled=handled)

    async def scenario() -> tuple[RecordOutcome, list[RecordOutcome | BaseException]]:
        with psycopg.connect(database) as locker:
            with locker.transaction():
                locker.execute("LOCK TABLE deliveries IN ACCESS EXCLUSIVE MODE")
                held = asyncio.create_task(record("held"))
                deadline = time.monotonic() + 10
                while not _waits_for_a_lock(locker):
                    assert time.monotonic() < deadline, "the first batch never waited"
                    await asyncio.sleep(0.01)
                others = asyncio.gather(
                    *(record(delivery_id, handled) for delivery_id, handled in later),
                    return_exceptions=True,
                )
                # They reach the journal's loop, behind the held batch, before it goes.
                while len(journal._arrived) < len(later):
                    assert time.monotonic() < deadline, "the later deliveries never arrived"
                    await asyncio.sleep(0.01)
            return await held, list(await others)

    return asyncio.run(scenario())


def test_a_database_that_hangs_fails_the_batch_at_once_within_githubs_patience(
    database: str,
) -> None:
    """Its deliveries are not tried one by one: each would wait for the database again."""
    journal = PostgresJournal(database)
    answered_after: list[float] = []

    async def record(delivery_id: str) -> None:
        started = time.monotonic()
        with contextlib.suppress(JournalUnavailable):
            await journal.record(pull_request(delivery_id, 1), b"{}", handled=True)
        answered_after.append(time.monotonic() - started)

    async def scenario() -> None:
        with psycopg.connect(database) as locker, locker.transaction():
            locker.execute("LOCK TABLE deliveries IN ACCESS EXCLUSIVE MODE")
            held = asyncio.create_task(record("held"))
            await asyncio.sleep(0.3)  # its batch waits for the table: the next gathers behind
            await asyncio.gather(held, *(record(f"d{n}") for n in range(12)))

    try:
        asyncio.run(scenario())
    finally:
        journal.close()

    # The statement's timeout (5 s) for the first batch, and those gathered behind it with
    # it: never the 10 s after which GitHub stops listening.
    assert len(answered_after) == 13
    assert max(answered_after) < 6.5, answered_after


def transactions(database: str) -> int:
    """How many transactions inserted the journal's deliveries."""
    with psycopg.connect(database) as connection:
        row = connection.execute("SELECT COUNT(DISTINCT xmin::text) FROM deliveries").fetchone()
        assert row is not None
        return int(row[0])


def test_deliveries_recorded_at_once_share_one_transaction_and_each_is_answered(
    database: str,
) -> None:
    journal = PostgresJournal(database)
    try:
        held, later = record_behind_a_held_batch(
            database, journal, [(f"d{index}", index % 4 != 0) for index in range(31)]
        )
        stored = rows(database)
        payloads = journal.recent(limit=100)
    finally:
        journal.close()

    assert held == "queued"
    assert later == ["ignored" if index % 4 == 0 else "queued" for index in range(31)]
    assert transactions(database) == 2  # the held batch, and the 31 that waited behind it
    assert stored == {"held": ("queued", 0, None)} | {
        f"d{index}": ("ignored" if index % 4 == 0 else "queued", 0, None) for index in range(31)
    }
    # In the order they arrived; the bodies of the handled ones, and only those, kept.
    assert [entry.id for entry in reversed(payloads)] == ["held"] + [f"d{i}" for i in range(31)]
    assert {entry.id: entry.payload for entry in payloads} == {"held": b"{}"} | {
        f"d{index}": None if index % 4 == 0 else b"{}" for index in range(31)
    }


def test_a_batch_is_bounded_in_deliveries(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(postgres_journal, "RECORD_BATCH_LIMIT", 8)
    journal = PostgresJournal(database)
    try:
        _, later = record_behind_a_held_batch(
            database, journal, [(f"d{index}", True) for index in range(20)]
        )
    finally:
        journal.close()

    assert later == ["queued"] * 20
    assert transactions(database) == 4  # the held batch, then 8, 8 and 4


def test_an_id_twice_in_one_batch_is_journaled_once_and_answered_duplicate_once(
    database: str,
) -> None:
    journal = PostgresJournal(database)
    try:
        asyncio.run(journal.record(pull_request("old", 1), b"{}", handled=True))
        held, later = record_behind_a_held_batch(
            database, journal, [("d1", True), ("d1", True), ("old", True), ("d2", True)]
        )
        stored = rows(database)
    finally:
        journal.close()

    assert held == "queued"
    assert later == ["queued", "duplicate", "duplicate", "queued"]
    assert transactions(database) == 3  # "old", the held batch, and the rest together
    assert stored.keys() == {"old", "held", "d1", "d2"}


def test_a_delivery_the_database_refuses_fails_alone_not_the_batch_it_came_in(
    database: str,
) -> None:
    journal = PostgresJournal(database)
    with psycopg.connect(database, autocommit=True) as connection:
        connection.execute(
            "ALTER TABLE deliveries ADD CONSTRAINT poisoned CHECK (id <> 'poison') NOT VALID"
        )
    try:
        held, later = record_behind_a_held_batch(
            database, journal, [("b1", True), ("poison", True), ("b2", False)]
        )
        stored_after_failure = rows(database)
        again = asyncio.run(journal.record(pull_request("b1", 1), b"{}", handled=True))
    finally:
        journal.close()

    assert held == "queued"
    # The batch is refused as a whole, then tried a delivery at a time.
    assert [str(outcome) for outcome in later] == [
        "queued",
        'journal write failed: new row for relation "deliveries" violates check constraint '
        '"poisoned"',
        "ignored",
    ]
    assert isinstance(later[1], JournalUnavailable)
    assert stored_after_failure.keys() == {"held", "b1", "b2"}
    assert again == "duplicate"


def test_a_lock_whose_holder_dies_is_free_at_once(database: str) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_A_LOCK_FOREVER, database],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
    )
    journal = PostgresJournal(database)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"

        async def take(wait: float) -> float:
            started = time.monotonic()
            async with journal.lock(RELEASE_LOCK, wait=wait):
                return time.monotonic() - started

        with pytest.raises(LockTimeout):
            asyncio.run(take(wait=0.3))
        holder.kill()  # SIGKILL: nothing of it lets go of anything
        holder.wait(timeout=10)
        waited = asyncio.run(take(wait=5))
    finally:
        holder.kill()
        journal.close()

    assert waited < 1.0


def test_closing_ends_the_wait_for_a_lock_held_elsewhere_which_hears_the_journal_closed(
    database: str,
) -> None:
    journal = PostgresJournal(database)
    answers: list[BaseException] = []

    async def take() -> None:
        async with journal.lock(RELEASE_LOCK, wait=30):
            pytest.fail("taken while held elsewhere")

    def wait_for_the_lock() -> None:
        try:
            asyncio.run(take())
        except BaseException as answer:  # what the caller hears, whatever it is
            answers.append(answer)

    waiting = threading.Thread(target=wait_for_the_lock, daemon=True)
    with psycopg.connect(database, autocommit=True) as holder:
        holder.execute(
            "SELECT pg_advisory_lock(%s, hashtext(%s))",
            (postgres_journal.HANDLER_LOCKS, RELEASE_LOCK),
        )
        waiting.start()
        deadline = time.monotonic() + 10
        while not holder.execute(
            "SELECT 1 FROM pg_stat_activity WHERE application_name = %s "
            "AND query LIKE '%%pg_try_advisory_lock%%'",
            (postgres_journal.APPLICATION_NAME,),
        ).fetchone():
            assert time.monotonic() < deadline, "the lock was never asked for"
            time.sleep(0.01)
        journal.close()
        waiting.join(timeout=10)
        left = [repr(task) for task in asyncio.all_tasks(journal._thread.loop)]

    assert (waiting.is_alive(), left) == (False, [])
    assert [(type(answer), str(answer)) for answer in answers] == [
        (JournalUnavailable, "the journal closed before the database answered")
    ]


def test_the_server_probes_a_locks_connection_so_a_dead_machine_loses_it_within_seconds(
    database: str,
) -> None:
    """A machine that dies sends nothing more: the server notices only by probing."""
    journal = PostgresJournal(database)

    async def settings() -> tuple[Any, ...] | None:
        async with (await journal._locks()).connection() as connection:
            cursor = await connection.execute(
                "SELECT current_setting('tcp_keepalives_idle'), "
                "current_setting('tcp_keepalives_interval'), "
                "current_setting('tcp_keepalives_count')"
            )
            return await cursor.fetchone()

    try:
        shown = journal._wait(settings())
    finally:
        journal.close()

    assert shown == ("5", "2", "3")  # silent for 5 s, then 3 probes 2 s apart: ~11 s


RELEASE_LOCK = "release:acme/widgets#1"
HOLD_A_LOCK_FOREVER = f"""
import asyncio, sys
from app.journal.postgres import PostgresJournal

async def hold() -> None:
    async with PostgresJournal(sys.argv[1]).lock({RELEASE_LOCK!r}):
        print("held", flush=True)
        await asyncio.Event().wait()

asyncio.run(hold())
"""


def test_a_lock_with_no_connection_free_is_a_timeout_the_worker_retries(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres_journal, "LOCK_POOL_SIZE", 1)
    monkeypatch.setattr(postgres_journal, "POOL_WAIT_SECONDS", 0.2)
    journal = PostgresJournal(database)

    async def scenario() -> None:
        async with journal.lock("release:acme/widgets#1"):
            with pytest.raises(LockTimeout) as timeout:
                async with journal.lock("release:acme/widgets#2", wait=5):
                    pytest.fail("taken without a connection")
        assert (
            str(timeout.value) == "the lock release:acme/widgets#2 had no connection free for 0.2 s"
        )
        async with journal.lock("release:acme/widgets#2", wait=5):
            pass  # the connection is free again

    try:
        asyncio.run(scenario())
    finally:
        journal.close()


def test_a_move_takes_along_the_delivery_of_a_timer_another_instance_fires_meanwhile(
    database: str,
) -> None:
    """Another instance's claim fires a timer of the old name while the move runs: once that
    claim commits, its delivery runs under the new name, as the timer does."""
    journal = PostgresJournal(database)
    old_id = timer_id("escalation", "acme/widgets", 1, "P0:15m")
    move = RepositoryMove("acme/widgets", "acme/gadgets", installation_id=1)
    try:
        asyncio.run(journal.schedule_timer(timer(old_id, 1, time.time() - 1)))
        with psycopg.connect(database) as other:  # another instance's claim, under way
            other.execute(
                postgres_journal._FIRE_DUE_TIMERS,
                {"now": time.time(), "limit": 10, "event": TIMER_EVENT, "channel": "unheard"},
            )
            moving = threading.Thread(target=lambda: asyncio.run(journal.move_repository(move)))
            moving.start()
            deadline = time.monotonic() + 10
            while not other.execute("SELECT 1 FROM pg_locks WHERE NOT granted").fetchall():
                assert time.monotonic() < deadline, "the move never waited for the claim"
                time.sleep(0.05)
            other.commit()
            moving.join(timeout=20)
        [fired] = asyncio.run(journal.claim_ready(10))
    finally:
        journal.close()

    assert (fired.id, fired.repository, fired.ordering_key) == (
        old_id,
        "acme/gadgets",
        "acme/gadgets#1",
    )
    assert fired_timer_id(fired) == "escalation:acme/gadgets#1:P0:15m"
