"""The journal: durable records, per-PR order, retries that wait, crash resume, timers, the
CLI."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
import time
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from support.deliveries import globex, pull_request
from support.harness import Clock
from support.live_server import github_and_servers

from app.cli import main
from app.intake.bodies import MAX_BODY_BYTES
from app.intake.delivery import Delivery, from_payload
from app.journal import (
    STATUSES,
    SUPERSEDE_PER_CLAIM,
    Journal,
    JournalEntry,
    JournalReplaced,
    JournalUnavailable,
    LockTimeout,
    SqliteJournal,
    describe_journal,
    journal_path,
    open_journal,
)
from app.journal import postgres as postgres_journal_module
from app.journal import sqlite as sqlite_journal_module
from app.journal.base import HEARTBEAT_KEY, ROOM_PROBE_BYTES, Aside
from app.journal.timers import FiredTimer, Timer, Timers

# How long a claim of the crashed process in test_work_interrupted_by_a_crash_is_queued_again
# stays its own (PostgreSQL; a SQLite journal has one worker, which takes all back at start).
CRASHED_LEASE_SECONDS = 0.5


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def journal(journal_url: str, clock: Clock) -> Iterator[Journal]:
    """A journal of each kind (see `journal_url`)."""
    journal = open_journal(journal_url, clock=clock)
    yield journal
    journal.close()


@pytest.fixture
def sqlite_journal(tmp_path: Path, clock: Clock) -> Iterator[SqliteJournal]:
    journal = SqliteJournal(tmp_path / "journal.db", clock=clock)
    yield journal
    journal.close()


def schema_version(journal_url: str) -> int:
    """The version of the journal's schema, as its database records it."""
    path = journal_path(journal_url)
    if path is not None:
        return int(sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0])
    with psycopg.connect(journal_url) as connection:
        [(version,)] = connection.execute("SELECT version FROM journal_schema").fetchall()
        return int(version)


def migrate_to(journal_url: str, version: int) -> None:
    """As a newer hotfix-bot would leave the journal."""
    path = journal_path(journal_url)
    if path is not None:
        sqlite3.connect(path).execute(f"PRAGMA user_version = {version}")
        return
    with psycopg.connect(journal_url) as connection:
        connection.execute("UPDATE journal_schema SET version = %s", (version,))


def execute(journal_url: str, sql: str) -> None:
    """Change the journal's database behind its back (as a crash or a lost write might)."""
    path = journal_path(journal_url)
    if path is not None:
        with contextlib.closing(sqlite3.connect(path)) as connection:
            connection.execute(sql)
            connection.commit()
        return
    with psycopg.connect(journal_url) as connection:
        connection.execute(sql)


def stored_payloads(journal_url: str) -> list[bytes]:
    """The payloads as the journal's database holds them."""
    path = journal_path(journal_url)
    if path is not None:
        return [row[0] for row in sqlite3.connect(path).execute("SELECT body FROM payloads")]
    with psycopg.connect(journal_url) as connection:
        return [row[0] for row in connection.execute("SELECT body FROM payloads")]


async def record_all(journal: Journal, *items: Delivery) -> list[str]:
    return [await journal.record(item, b"{}", handled=True) for item in items]


def test_a_burst_of_concurrent_records_is_all_on_disk(journal_url: str, journal: Journal) -> None:
    async def burst() -> list[str]:
        items = [pull_request(f"d-{index}", index % 10) for index in range(300)]
        return await asyncio.gather(*(journal.record(i, b"{}", handled=True) for i in items))

    outcomes = asyncio.run(burst())

    assert outcomes == ["queued"] * 300
    another_process = open_journal(journal_url)
    try:
        assert another_process.count(STATUSES) == 300
    finally:
        another_process.close()


def test_the_journal_runs_in_wal_mode(tmp_path: Path, sqlite_journal: SqliteJournal) -> None:
    connection = sqlite3.connect(tmp_path / "journal.db")
    assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_one_pull_request_runs_one_delivery_at_a_time_in_arrival_order(
    journal: Journal,
) -> None:
    async def scenario() -> list[list[str]]:
        await record_all(
            journal, pull_request("a1", 1), pull_request("b1", 2), pull_request("a2", 1)
        )
        first = await journal.claim_ready(10)
        blocked = await journal.claim_ready(10)  # a2 waits for a1, b1 is running
        await journal.finish("a1")
        after = await journal.claim_ready(10)
        return [[e.id for e in batch] for batch in (first, blocked, after)]

    assert asyncio.run(scenario()) == [["a1", "b1"], [], ["a2"]]


def test_a_claim_takes_due_work_by_turns_between_installations(journal: Journal) -> None:
    """acme's four pull requests were queued before globex's one: of three slots, globex
    gets one, rather than wait behind all of acme's."""

    async def scenario() -> list[str]:
        await record_all(
            journal,
            *(pull_request(f"a{number}", number) for number in range(1, 5)),
            globex("g1", 1),
        )
        return [entry.id for entry in await journal.claim_ready(3)]

    assert asyncio.run(scenario()) == ["a1", "a2", "g1"]


def test_an_installation_holding_slots_gets_another_only_when_no_other_has_due_work(
    journal: Journal,
) -> None:
    """acme's deliveries still run (its GitHub hangs, say) when globex's arrives behind more
    of acme's: the next free slot goes to globex; the one after, with nobody else waiting,
    to acme again."""

    async def scenario() -> list[list[str]]:
        await record_all(journal, *(pull_request(f"a{number}", number) for number in range(1, 5)))
        claims = [await journal.claim_ready(2)]
        await record_all(journal, globex("g1", 1))
        claims += [await journal.claim_ready(1), await journal.claim_ready(1)]
        return [[entry.id for entry in claim] for claim in claims]

    assert asyncio.run(scenario()) == [["a1", "a2"], ["g1"], ["a3"]]


def test_an_installation_alone_with_due_work_takes_every_free_slot(journal: Journal) -> None:
    async def scenario() -> list[str]:
        await record_all(journal, *(pull_request(f"a{number}", number) for number in range(1, 6)))
        return [entry.id for entry in await journal.claim_ready(4)]

    assert asyncio.run(scenario()) == ["a1", "a2", "a3", "a4"]


# The routes a worker runs on its slots set aside: messages to chat (app/handlers/table.py).
CHAT_ASIDE = frozenset({("timer", "chat")})


def test_a_claim_takes_messages_to_chat_only_while_a_slot_of_theirs_is_free(
    journal: Journal, clock: Clock
) -> None:
    """Three messages to chat come due beside two pull requests' deliveries: with room for
    one message, a claim takes it and both deliveries; the other two stay queued, in order,
    for the claims that have room for them, and are not due to a worker without room (it
    would claim again and again, for nothing)."""
    timers = Timers(journal, 1, "acme/widgets", 1)
    now = datetime.fromtimestamp(clock.now, UTC)
    messages = [f"chat:acme/widgets#1:m{number}" for number in (1, 2, 3)]

    async def scenario() -> tuple[list[list[str]], list[str], list[float | None]]:
        for number in (1, 2, 3):
            await timers.schedule("chat", f"m{number}", now, {"text": "hi"}, own_queue=True)
        await record_all(journal, pull_request("a1", 1), pull_request("a2", 2))
        first = await journal.claim_ready(10, Aside(CHAT_ASIDE, 1))
        without_room = await journal.claim_ready(10, Aside(CHAT_ASIDE, 0))
        queued = [entry.id for entry in journal.recent("queued")]
        due = [journal.next_due(Aside(CHAT_ASIDE, room)) for room in (0, 1)]
        with_room = await journal.claim_ready(10, Aside(CHAT_ASIDE, 2))
        claims = (first, without_room, with_room)
        return [[entry.id for entry in claim] for claim in claims], queued, due

    claims, queued, due = asyncio.run(scenario())
    assert claims == [["a1", "a2", messages[0]], [], messages[1:]]
    assert queued == [messages[2], messages[1]]  # newest first
    assert due == [None, clock.now]


def test_with_every_slot_of_github_s_work_taken_only_a_message_to_chat_is_due(
    journal: Journal, clock: Clock
) -> None:
    """A pull request's delivery is due now, a message to chat 30 s from now (its retry):
    to a worker with no slot of GitHub's work free, only the message is due, and then only
    with a slot set aside free; with one of GitHub's free, the delivery is, first. A timer
    is due whichever slots are free: the claim that fires it may take its delivery."""
    timers = Timers(journal, 1, "acme/widgets", 1)
    now = datetime.fromtimestamp(clock.now, UTC)
    slots = [(True, 1), (False, 1), (True, 0), (False, 0)]  # (GitHub's work, set aside)

    def due_to_each() -> list[float | None]:
        return [
            journal.next_due(Aside(CHAT_ASIDE, room), github_work=github_work)
            for github_work, room in slots
        ]

    async def scenario() -> list[list[float | None]]:
        await timers.schedule(
            "chat", "p0-alert", now + timedelta(seconds=5), {"text": "hi"}, own_queue=True
        )
        timer_due = due_to_each()
        clock.now += 5
        [message] = await journal.claim_ready(0, Aside(CHAT_ASIDE, 1))
        await journal.retry_later(message.id, "ChatUndelivered: chat answered 500", delay=30)
        await record_all(journal, pull_request("a1", 2))
        return [timer_due, due_to_each()]

    start = clock.now
    timer_due, heads_due = asyncio.run(scenario())
    assert timer_due == [start + 5] * 4
    assert heads_due == [start + 5, start + 35, start + 5, None]


def test_a_delivery_left_queued_for_want_of_a_slot_holds_back_its_pull_request_alone(
    journal: Journal, clock: Clock
) -> None:
    """Every `pull_request` delivery runs aside here (a route for every action): with no
    room, acme's a1 stays queued, and the slot goes to a timer of another pull request,
    younger, rather than to nothing; a1's pull request's timer waits behind a1."""
    every_action = Aside(frozenset({("pull_request", None)}), 0)

    async def scenario() -> list[list[str]]:
        await record_all(journal, pull_request("a1", 1))
        await journal.schedule_timer(timer("t-1", 1, clock.now))
        await journal.schedule_timer(timer("t-2", 2, clock.now))
        claims = [await journal.claim_ready(1, every_action)]
        claims.append(await journal.claim_ready(1, every_action))
        claims.append(await journal.claim_ready(1, Aside(every_action.routes, 1)))
        await journal.finish("a1")
        claims.append(await journal.claim_ready(1, every_action))
        return [[entry.id for entry in claim] for claim in claims]

    assert asyncio.run(scenario()) == [["t-2"], [], ["a1"], ["t-1"]]


def test_messages_to_chat_running_cost_their_installation_no_turn_of_the_other_slots(
    journal: Journal, clock: Clock
) -> None:
    """acme's message runs on a slot set aside: for the one slot of GitHub's work, acme's
    delivery, older, goes before globex's, as if nothing of acme's ran."""
    timers = Timers(journal, 1, "acme/widgets", 1)

    async def scenario() -> list[list[str]]:
        now = datetime.fromtimestamp(clock.now, UTC)
        await timers.schedule("chat", "p0-alert", now, {"text": "hi"}, own_queue=True)
        claims = [await journal.claim_ready(1, Aside(CHAT_ASIDE, 1))]
        await record_all(journal, pull_request("a1", 1), globex("g1", 1))
        claims.append(await journal.claim_ready(1, Aside(CHAT_ASIDE, 0)))
        return [[entry.id for entry in claim] for claim in claims]

    assert asyncio.run(scenario()) == [["chat:acme/widgets#1:p0-alert"], ["a1"]]


def test_a_delivery_waiting_for_a_retry_holds_back_later_ones_of_its_pull_request(
    journal: Journal, clock: Clock
) -> None:
    async def scenario() -> list[list[str]]:
        await record_all(journal, pull_request("a1", 1), pull_request("a2", 1))
        await journal.claim_ready(10)
        await journal.retry_later("a1", "GitHub answered 502", delay=30)
        waiting = await journal.claim_ready(10)
        clock.now += 31
        due = await journal.claim_ready(10)
        return [[e.id for e in batch] for batch in (waiting, due)]

    assert asyncio.run(scenario()) == [[], ["a1"]]
    [second, first] = journal.recent()
    assert (first.id, first.attempts, first.last_error) == ("a1", 2, "GitHub answered 502")
    assert second.status == "queued"


def test_a_queued_delivery_is_superseded_by_a_later_one_of_its_pull_request(
    journal: Journal, clock: Clock
) -> None:
    async def scenario() -> list[list[str]]:
        for delivery_id, number, supersedable in (
            ("a1", 1, True),
            ("a2", 1, True),
            ("a3", 1, False),  # say, a merge: never skipped, nor skipped across
            ("a4", 1, True),
            ("a5", 1, True),
            ("b1", 2, True),
        ):
            item = pull_request(delivery_id, number)
            await journal.record(item, b"{}", handled=True, supersedable=supersedable)
        batches = [[entry.id for entry in await journal.claim_ready(10)]]
        clock.now += 1.0  # a2, the last of its burst, waited for the burst to settle
        for finished in (None, "a2", "a3"):
            if finished:
                await journal.finish(finished)
            batches.append([entry.id for entry in await journal.claim_ready(10)])
        return batches

    assert asyncio.run(scenario()) == [["b1"], ["a2"], ["a3"], ["a5"]]
    statuses = {entry.id: entry.status for entry in journal.recent()}
    assert statuses == {
        "a1": "superseded",
        "a2": "done",
        "a3": "done",
        "a4": "superseded",
        "a5": "running",
        "b1": "running",
    }


def test_a_stream_of_deliveries_runs_its_newest_once_a_second(
    journal: Journal, clock: Clock
) -> None:
    async def arrive_and_claim(*delivery_ids: str) -> list[str]:
        for delivery_id in delivery_ids:
            await journal.record(
                pull_request(delivery_id, 1), b"{}", handled=True, supersedable=True
            )
        claimed = [entry.id for entry in await journal.claim_ready(10)]
        for delivery_id in claimed:
            await journal.finish(delivery_id)
        clock.now += 0.5
        return claimed

    async def scenario() -> list[list[str]]:
        return [
            await arrive_and_claim("s0"),  # alone: runs at once
            await arrive_and_claim("s1", "s2"),  # a burst begins: s2 waits for a quiet second
            await arrive_and_claim("s3"),
            await arrive_and_claim("s4"),  # s2 is due: s4 is newer and runs instead
            await arrive_and_claim("s5", "s6"),  # the next burst
            await arrive_and_claim(),
            await arrive_and_claim(),
        ]

    assert asyncio.run(scenario()) == [["s0"], [], [], ["s4"], [], [], ["s6"]]
    superseded = {entry.id for entry in journal.recent("superseded")}
    assert superseded == {"s1", "s2", "s3", "s5"}


def test_a_burst_found_late_in_the_queue_does_not_wait_any_longer(
    journal: Journal, clock: Clock
) -> None:
    async def scenario() -> list[str]:
        for delivery_id in ("q1", "q2"):
            await journal.record(
                pull_request(delivery_id, 1), b"{}", handled=True, supersedable=True
            )
        clock.now += 5.0  # the worker was busy elsewhere for as long as a burst may wait
        return [entry.id for entry in await journal.claim_ready(10)]

    assert asyncio.run(scenario()) == ["q2"]


def test_a_long_burst_is_superseded_a_little_at_a_claim_and_settles_once(
    journal: Journal, clock: Clock
) -> None:
    """A claim holds the journal's write turn, and the intake waits for it: superseding
    1,200 deliveries in one claim took ~100 ms. Each claim takes at most
    SUPERSEDE_PER_CLAIM of them; the burst still settles once, and its newest runs."""
    budget = SUPERSEDE_PER_CLAIM
    newest = 2 * budget + budget // 2

    async def scenario() -> list[tuple[list[str], int]]:
        await asyncio.gather(
            *(
                journal.record(pull_request(f"r{n}", 1), b"{}", handled=True, supersedable=True)
                for n in range(newest + 1)
            )
        )
        # Recorded at once, they are journaled in whatever order their commits take.
        [last] = journal.recent(limit=1)
        steps: list[tuple[list[str], int]] = [([last.id], 0)]
        for advance in (0.0, 1.0, 0.0):  # the burst begins; it has settled; it goes on
            clock.now += advance
            claimed = [entry.id for entry in await journal.claim_ready(10)]
            steps.append((claimed, journal.count(["superseded"])))
        return steps

    [(last, _), *steps] = asyncio.run(scenario())
    assert steps == [([], budget), ([], 2 * budget), (last, newest)]


def test_a_settled_burst_runs_when_another_pull_request_spent_the_claims_budget(
    journal: Journal, clock: Clock
) -> None:
    """Pull request 1's settled burst ends within the budget, pull request 2's takes the
    rest: 1's newest still runs in that claim rather than wait for another second."""

    async def record(delivery_id: str, number: int) -> None:
        await journal.record(
            pull_request(delivery_id, number), b"{}", handled=True, supersedable=True
        )

    async def scenario() -> list[list[str]]:
        for n in range(5):
            await record(f"a{n}", 1)
        for n in range(3 * SUPERSEDE_PER_CLAIM):
            await record(f"b{n}", 2)
        claims = [[entry.id for entry in await journal.claim_ready(8)]]  # both bursts begin
        clock.now += 0.5
        for n in range(5, 10):
            await record(f"a{n}", 1)
        clock.now += 0.5  # both have settled
        claims.append([entry.id for entry in await journal.claim_ready(8)])
        return claims

    assert asyncio.run(scenario()) == [[], ["a9"]]


def test_work_interrupted_by_a_crash_is_queued_again(journal_url: str) -> None:
    # A process records and claims a delivery, then dies without a word.
    crash = textwrap.dedent(
        f"""
        import asyncio, os
        from app.intake.delivery import from_payload
        from app.journal import open_journal
        from app.journal.postgres import PostgresJournal
        url = {journal_url!r}
        journal = (
            PostgresJournal(url, lease_seconds={CRASHED_LEASE_SECONDS})
            if url.startswith("postgresql") else open_journal(url)
        )
        payload = {{"installation": {{"id": 1}}, "repository": {{"full_name": "acme/widgets"}},
                   "action": "opened", "pull_request": {{"number": 1}}}}
        delivery = from_payload("a1", "pull_request", payload)
        asyncio.run(journal.record(delivery, b"{{}}", handled=True))
        assert [entry.id for entry in asyncio.run(journal.claim_ready(10))] == ["a1"]
        os._exit(0)
        """
    )
    subprocess.run([sys.executable, "-c", crash], check=True, timeout=30)
    time.sleep(CRASHED_LEASE_SECONDS)

    second = open_journal(journal_url)
    try:
        assert asyncio.run(second.resume_interrupted()) == 1
        assert [e.id for e in asyncio.run(second.claim_ready(10))] == ["a1"]
    finally:
        second.close()


def test_a_duplicate_in_the_same_burst_is_recorded_once(journal: Journal) -> None:
    async def burst() -> list[str]:
        same = pull_request("d-1", 1)
        return list(
            await asyncio.gather(*(journal.record(same, b"{}", handled=True) for _ in range(3)))
        )

    assert sorted(asyncio.run(burst())) == ["duplicate", "duplicate", "queued"]


def test_state_values_round_trip(journal: Journal) -> None:
    asyncio.run(journal.set_state("check-run:acme/widgets@abc", "17"))
    asyncio.run(journal.set_state("check-run:acme/widgets@abc", "18"))
    assert asyncio.run(journal.get_state("check-run:acme/widgets@abc")) == "18"
    assert asyncio.run(journal.get_state("missing")) is None


def test_a_write_that_shows_room_is_at_most_a_mib_and_then_the_time_alone_is_kept(
    journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a refused delivery of 25 MiB, /readyz asks the journal for room as large:
    either journal writes the time and ROOM_PROBE_BYTES more, then the time alone over it."""
    written: list[str] = []
    set_state = journal.set_state

    async def kept_track_of(key: str, value: str) -> None:
        written.append(value)
        await set_state(key, value)

    monkeypatch.setattr(journal, "set_state", kept_track_of)
    asyncio.run(journal.check_writable(MAX_BODY_BYTES))

    assert [len(value) for value in written] == [len("1000.0 ") + ROOM_PROBE_BYTES, 6]
    assert (written[0][:7], written[1]) == ("1000.0 ", "1000.0")
    assert asyncio.run(journal.get_state(HEARTBEAT_KEY)) == "1000.0"


def test_cli_lists_deliveries_and_redelivers_a_failed_one(
    journal_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", journal_url)
    journal = open_journal(journal_url)
    asyncio.run(record_all(journal, pull_request("ok-1", 3), pull_request("bad-1", 4)))
    asyncio.run(journal.claim_ready(10))
    asyncio.run(journal.finish("ok-1"))
    asyncio.run(journal.fail("bad-1", "GitHub answered 404 to GET /repos/acme/widgets/pulls/4"))
    asyncio.run(journal.record(pull_request("ignored-1", 5), b"{}", handled=False))
    journal.close()

    assert main(["deliveries", "--status", "failed"]) == 0
    listing = capsys.readouterr().out
    assert "bad-1" in listing and "ok-1" not in listing
    assert "acme/widgets#4" in listing and "pull_request.synchronize" in listing
    assert "last error: GitHub answered 404 to GET /repos/acme/widgets/pulls/4" in listing

    assert main(["redeliver", "bad-1"]) == 0
    assert "queued bad-1" in capsys.readouterr().out
    assert main(["deliveries", "--status", "queued"]) == 0
    assert "bad-1" in capsys.readouterr().out

    assert main(["redeliver", "nope"]) == 1
    assert capsys.readouterr().err == "hotfix-bot: no delivery nope in the journal\n"
    assert main(["redeliver", "ignored-1"]) == 1
    assert capsys.readouterr().err == (
        "hotfix-bot: delivery ignored-1 was ignored: it has nothing to run\n"
    )


def test_cli_sizes_the_columns_of_deliveries_to_what_they_hold(
    journal_url: str,
    journal: Journal,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`superseded`, a long event or a long repository name keeps the rest of its row, and
    every other row, in line."""
    monkeypatch.setenv("DATABASE_URL", journal_url)
    repository = "acme/a-repository-whose-name-is-long"

    async def scenario() -> None:
        for delivery_id in ("a-1", "a-2"):  # a burst: the later supersedes the earlier
            item = pull_request(delivery_id, 1, "review_requested", repository=repository)
            await journal.record(item, b"{}", handled=True, supersedable=True)
        await journal.record(pull_request("b-1", 7), b"{}", handled=True)
        await journal.claim_ready(10)
        await journal.fail("b-1", "GitHub answered 404")

    asyncio.run(scenario())

    assert main(["deliveries"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "RECEIVED (UTC)       STATUS      TRIES  EVENT                          WHERE"
        "                                   ID",
        "1970-01-01 00:16:40  failed          1  pull_request.synchronize       acme/widgets#7"
        "                          b-1",
        "                                        last error: GitHub answered 404",
        "1970-01-01 00:16:40  queued          0  pull_request.review_requested  "
        "acme/a-repository-whose-name-is-long#1  a-2",
        "1970-01-01 00:16:40  superseded      0  pull_request.review_requested  "
        "acme/a-repository-whose-name-is-long#1  a-1",
    ]


@pytest.mark.parametrize(
    "command",
    [
        ["deliveries"],
        ["timers"],
        ["redeliver", "d-1"],
        ["journal", "copy", "--to", "sqlite:///copy.db", "--from"],
    ],
    ids=["deliveries", "timers", "redeliver", "journal copy"],
)
def test_a_command_run_where_no_journal_is_names_it_and_makes_none(
    command: list[str],
    journal_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Run from another working directory than the server's, say: an empty journal made
    there would answer `no deliveries`. A relative path is named as the file it is there,
    and a command that reads the server's journal says where to run it."""
    monkeypatch.chdir(tmp_path)
    if journal_path(journal_url) is not None:
        journal_url = "sqlite:///hotfix-bot.db"  # the default, in the working directory
    if command[0] == "journal":
        command, option, hint = [*command, journal_url], "--from", ""
    else:
        monkeypatch.setenv("DATABASE_URL", journal_url)
        option = "DATABASE_URL"
        hint = "; run it where `hotfix-bot serve` runs, with the same environment and .env"

    assert main(command) == 2

    path = journal_path(journal_url)
    where: Path | str
    if path is not None:
        where, problem = tmp_path / "hotfix-bot.db", "No such file or directory"
    else:
        where, problem = f"at {journal_url.rpartition('@')[2]}", "that database holds no journal"
    assert capsys.readouterr() == (
        "",
        f"hotfix-bot: {option}: cannot open the journal {where}: {problem}{hint}\n",
    )
    if path is not None:
        assert list(tmp_path.iterdir()) == []
    else:
        with psycopg.connect(journal_url) as connection:
            tables = connection.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            )
            assert tables.fetchall() == []


def test_a_new_journal_has_the_schema_of_this_hotfix_bot(
    journal_url: str, journal: Journal
) -> None:
    assert schema_version(journal_url) == 3


def test_a_journal_of_a_newer_schema_stops_the_command_naming_both_versions(
    journal_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = open_journal(journal_url)
    asyncio.run(record_all(journal, pull_request("d-1", 1)))
    journal.close()
    migrate_to(journal_url, 4)
    monkeypatch.setenv("DATABASE_URL", journal_url)
    monkeypatch.setenv("PORT", "0")  # a port the kernel picks, free whatever else runs

    def serving(*_: object) -> None:
        raise AssertionError("serve started on a journal it cannot read")

    monkeypatch.setattr("app.cli.run_server", serving)
    refusals = [(main([command]), capsys.readouterr().err) for command in ("serve", "deliveries")]

    line = (
        "hotfix-bot: DATABASE_URL: the journal's schema is version 4, newer than this "
        "hotfix-bot's 3: upgrade hotfix-bot\n"
    )
    assert refusals == [(2, line), (2, line)]
    assert schema_version(journal_url) == 4


def test_a_command_that_only_looks_leaves_an_older_schema_as_it_is_and_a_copy_migrates_it(
    journal_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Migrated by a look, the journal would keep the hotfix-bot that wrote it from starting
    on it again: no going back from an upgrade tried and abandoned. A copy moves it to this
    version's journal, as the server of this version would."""
    create_schema_version_2(journal_url)
    monkeypatch.setenv("DATABASE_URL", journal_url)

    refusals = [(main([command]), capsys.readouterr().err) for command in ("deliveries", "timers")]

    older = (
        "the journal's schema is version 2, older than this hotfix-bot's 3: `hotfix-bot serve` "
        "of this version migrates it when it starts; until then, use the hotfix-bot that "
        "wrote it\n"
    )
    assert refusals == [
        (2, f"hotfix-bot: DATABASE_URL: {older}"),
        (2, f"hotfix-bot: DATABASE_URL: {older}"),
    ]
    assert schema_version(journal_url) == 2

    target = f"sqlite:///{tmp_path / 'moved.db'}"
    assert main(["journal", "copy", "--from", journal_url, "--to", target]) == 0
    assert (schema_version(journal_url), schema_version(target)) == (3, 3)


def test_an_empty_file_is_no_journal_to_look_into(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A restore that failed, a `touch`: `deliveries` must not report an empty history."""
    empty = tmp_path / "hotfix-bot.db"
    empty.touch()
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{empty}")

    assert (main(["deliveries"]), capsys.readouterr().err) == (
        2,
        f"hotfix-bot: DATABASE_URL: cannot open the journal {empty}: it holds no journal; run "
        "it where `hotfix-bot serve` runs, with the same environment and .env\n",
    )
    assert sqlite3.connect(empty).execute("SELECT name FROM sqlite_master").fetchall() == []


def test_serve_says_which_journal_it_opened_and_that_it_waits_for_setup(
    journal_url: str, tmp_path: Path, private_key_pem: str
) -> None:
    """Named without its password; a relative SQLite path as the absolute one it is."""
    with github_and_servers(tmp_path, private_key_pem, journal_url, 1) as (_, _, [server]):
        del server.environment["APP_ID"], server.environment["PRIVATE_KEY"]
        if journal_url.startswith("sqlite"):
            server.environment["DATABASE_URL"] = "sqlite:///journal.db"  # in its directory
        server.start()
        server.stop()
    said = [json.loads(line)["message"] for line in server.log_lines() if line.startswith("{")]

    opened = (
        f"SQLite {tmp_path / 'journal.db'}"
        if journal_url.startswith("sqlite")
        else f"PostgreSQL {describe_journal(journal_url)}"
    )
    assert said[:2] == [
        f"journal: {opened}",
        "setup mode: no APP_ID yet; open this server's public address in a browser to register "
        "the GitHub App",
    ]


def test_cli_lists_the_timers_soonest_due_first(
    journal_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", journal_url)
    journal = open_journal(journal_url)
    opened = datetime(2026, 12, 4, 20, 30, 30, tzinfo=UTC).timestamp()
    asyncio.run(journal.schedule_timer(timer("overdue:acme/widgets#1:P0:2h", 1, opened + 7200)))
    asyncio.run(journal.schedule_timer(timer("escalation:acme/widgets#1:P0:15m", 1, opened + 900)))
    journal.close()

    assert main(["timers"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "DUE (UTC)            STATUS     ID",
        "2026-12-04 20:45:30  scheduled  escalation:acme/widgets#1:P0:15m",
        "2026-12-04 22:30:30  scheduled  overdue:acme/widgets#1:P0:2h",
    ]
    assert main(["timers", "--status", "fired"]) == 0
    assert capsys.readouterr().out == "no timers with status fired\n"


def test_cli_lists_the_waiting_timers_first_then_the_latest_of_the_others(
    journal_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Timers are kept for good: weeks of steps cancelled at the merge must not hide the next
    one due, nor the fired timer of a minute ago."""
    monkeypatch.setenv("DATABASE_URL", journal_url)
    opened = datetime(2026, 12, 4, 20, 30, 30, tzinfo=UTC).timestamp()
    journal = open_journal(journal_url, clock=Clock(opened))

    async def scenario() -> None:
        for number in (1, 2, 3):  # hotfixes of weeks ago, merged before their 2h step
            step = f"escalation:acme/widgets#{number}:P1:2h"
            await journal.schedule_timer(timer(step, number, opened - (40 - number) * 86_400))
            await journal.cancel_timer(step)
        await journal.schedule_timer(timer("escalation:acme/widgets#8:P0:15m", 8, opened - 60))
        await journal.claim_ready(10)  # fires it
        await journal.schedule_timer(timer("overdue:acme/widgets#9:P0:2h", 9, opened + 7200))
        await journal.schedule_timer(timer("escalation:acme/widgets#9:P0:15m", 9, opened + 900))

    asyncio.run(scenario())
    journal.close()

    assert main(["timers", "--limit", "4"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "DUE (UTC)            STATUS     ID",
        "2026-12-04 20:45:30  scheduled  escalation:acme/widgets#9:P0:15m",
        "2026-12-04 22:30:30  scheduled  overdue:acme/widgets#9:P0:2h",
        "2026-12-04 20:29:30  fired      escalation:acme/widgets#8:P0:15m",
        "2026-10-28 20:30:30  cancelled  escalation:acme/widgets#3:P1:2h",
    ]
    assert main(["timers", "--status", "cancelled", "--limit", "2"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "DUE (UTC)            STATUS     ID",
        "2026-10-28 20:30:30  cancelled  escalation:acme/widgets#3:P1:2h",
        "2026-10-27 20:30:30  cancelled  escalation:acme/widgets#2:P1:2h",
    ]


def test_cli_says_why_a_fired_timers_work_waits(
    journal_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", journal_url)
    opened = datetime(2026, 12, 4, 20, 30, 30, tzinfo=UTC).timestamp()
    journal = open_journal(journal_url, clock=Clock(opened + 900))
    held = "escalation:acme/widgets#1:P0:15m"
    why = (
        "installation 1 is suspended: GitHub answered 403 to POST "
        "/app/installations/1/access_tokens: This installation has been suspended; "
        "held until it is unsuspended"
    )

    async def scenario() -> None:
        await journal.schedule_timer(timer(held, 1, opened + 900))
        await journal.schedule_timer(timer("escalation:acme/widgets#2:P0:15m", 2, opened + 900))
        await journal.claim_ready(10)  # fires both
        await journal.retry_timer_later(held, why, delay=86_400)

    asyncio.run(scenario())
    journal.close()

    assert main(["timers"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "DUE (UTC)            STATUS  ID",
        "2026-12-04 20:45:30  fired   escalation:acme/widgets#2:P0:15m",
        "2026-12-04 20:45:30  fired   escalation:acme/widgets#1:P0:15m",
        f"{'':29}waiting: {why}",
    ]


def test_a_journal_from_before_payloads_had_their_own_table_loses_nothing(
    tmp_path: Path, clock: Clock
) -> None:
    body = b'{"action": "opened", "number": 7}'
    old = sqlite3.connect(tmp_path / "journal.db", isolation_level=None)
    old.execute(
        "CREATE TABLE deliveries (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL "
        "UNIQUE, event TEXT NOT NULL, action TEXT, installation_id INTEGER, repository TEXT, "
        "pr_number INTEGER, ordering_key TEXT NOT NULL, payload BLOB, status TEXT NOT NULL, "
        "attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, received_at REAL NOT NULL, "
        "updated_at REAL NOT NULL, next_attempt_at REAL NOT NULL, "
        "supersedable INTEGER NOT NULL DEFAULT 0)"
    )
    rows = [
        ("queued-plain", body, "queued", 7),
        ("queued-compressed", zlib.compress(body, 1), "queued", 8),
        ("was-ignored", None, "ignored", 9),
    ]
    for delivery_id, payload, status, number in rows:
        old.execute(
            "INSERT INTO deliveries (id, event, action, installation_id, repository, "
            "pr_number, ordering_key, payload, status, received_at, updated_at, "
            "next_attempt_at) VALUES (?, 'pull_request', 'opened', 1, 'acme/widgets', ?, ?, "
            "?, ?, 1, 1, 1)",
            (delivery_id, number, f"acme/widgets#{number}", payload, status),
        )
    old.close()

    journal = SqliteJournal(tmp_path / "journal.db", clock=clock)
    try:
        claimed = asyncio.run(journal.claim_ready(10))
        ignored = journal.recent("ignored")
        redelivered_ignored = asyncio.run(journal.redeliver("was-ignored"))
    finally:
        journal.close()

    assert [(entry.id, entry.payload) for entry in claimed] == [
        ("queued-plain", body),
        ("queued-compressed", body),
    ]
    assert [(entry.id, entry.payload) for entry in ignored] == [("was-ignored", None)]
    assert redelivered_ignored == "ignored"
    columns = sqlite3.connect(tmp_path / "journal.db").execute("PRAGMA table_info(deliveries)")
    assert "payload" not in {column[1] for column in columns}
    assert schema_version(f"sqlite:///{tmp_path / 'journal.db'}") == 3


def test_a_journal_with_timers_from_before_schema_versions_opens_at_the_current_version(
    tmp_path: Path, clock: Clock
) -> None:
    """As hotfix-bot left it when timers came and the schema had no version yet: the tables
    of version 1 and `timers`, user_version 0."""
    path = tmp_path / "journal.db"
    old = sqlite3.connect(path, isolation_level=None)
    old.executescript(sqlite_journal_module._VERSION_1 + sqlite_journal_module._VERSION_2)
    old.execute(
        "INSERT INTO timers (id, kind, installation_id, repository, number, ordering_key, "
        "due_at, data, status, scheduled_at, updated_at) VALUES ('t-old', 'escalation', 1, "
        "'acme/widgets', 1, 'acme/widgets#1', 1010, '{}', 'scheduled', 1, 1)"
    )
    old.execute("PRAGMA user_version = 0")
    old.close()

    journal = SqliteJournal(path, clock=clock)
    try:
        assert [entry.timer.id for entry in journal.timers("scheduled")] == ["t-old"]
        clock.now += 10
        assert [entry.id for entry in asyncio.run(journal.claim_ready(10))] == ["t-old"]
    finally:
        journal.close()
    assert schema_version(f"sqlite:///{path}") == 3


def test_a_write_waits_for_another_process_to_end_its_turn(
    tmp_path: Path, sqlite_journal: SqliteJournal
) -> None:
    journal = sqlite_journal

    async def scenario() -> tuple[bool, str]:
        with (tmp_path / "journal.db.write-lock").open("a") as other_process:
            fcntl.flock(other_process, fcntl.LOCK_EX)
            recording = asyncio.ensure_future(
                journal.record(pull_request("d-1", 1), b"{}", handled=True)
            )
            await asyncio.sleep(0.3)
            waited = not recording.done()
        return waited, await recording  # closing the file ended the other process's turn

    assert asyncio.run(scenario()) == (True, "queued")


def test_a_write_that_gets_no_turn_in_2_s_is_refused(
    tmp_path: Path, sqlite_journal: SqliteJournal
) -> None:
    journal = sqlite_journal

    async def scenario() -> str:
        with (tmp_path / "journal.db.write-lock").open("a") as stalled_process:
            fcntl.flock(stalled_process, fcntl.LOCK_EX)
            with pytest.raises(JournalUnavailable) as refused:
                await journal.record(pull_request("d-1", 1), b"{}", handled=True)
        return str(refused.value)

    assert asyncio.run(scenario()) == (
        "journal write failed: another process held the journal for 2 s"
    )
    assert journal.recent() == []


class TracedJournal(SqliteJournal):
    """A journal whose connections report every statement they run."""

    statements: list[str]

    def _connect(self) -> sqlite3.Connection:
        connection = super()._connect()
        connection.set_trace_callback(self.statements.append)
        return connection


def test_only_a_transaction_that_records_a_delivery_is_synced_and_after_the_turn(
    tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    TracedJournal.statements = []
    journal = TracedJournal(tmp_path / "journal.db", clock=clock)
    turn_free_while_syncing = []
    sync = os.fdatasync

    def traced_sync(descriptor: int) -> None:
        # Another process asks for the turn while this one waits for the disk.
        with open(f"{tmp_path / 'journal.db'}.write-lock") as other:
            try:
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                turn_free_while_syncing.append(False)
            else:
                turn_free_while_syncing.append(True)
        TracedJournal.statements.append("fdatasync")
        sync(descriptor)

    monkeypatch.setattr(os, "fdatasync", traced_sync)
    try:
        asyncio.run(record_all(journal, pull_request("d-1", 1)))
        asyncio.run(journal.finish("d-1"))
        asyncio.run(record_all(journal, pull_request("d-2", 1)))
    finally:
        journal.close()

    writes_and_syncs = [
        statement.split(" (")[0].split(" SET")[0]
        for statement in TracedJournal.statements
        if statement.startswith(("fdatasync", "INSERT INTO deliveries", "UPDATE"))
    ]
    assert writes_and_syncs == [
        "INSERT INTO deliveries",
        "fdatasync",
        "UPDATE deliveries",  # the worker's outcome: not waited for
        "INSERT INTO deliveries",
        "fdatasync",
    ]
    assert turn_free_while_syncing == [True, True]


def test_deliveries_that_arrive_while_another_process_writes_join_the_next_commit(
    tmp_path: Path, clock: Clock
) -> None:
    TracedJournal.statements = []
    journal = TracedJournal(tmp_path / "journal.db", clock=clock)
    other = os.open(f"{tmp_path / 'journal.db'}.write-lock", os.O_RDWR)

    async def while_another_process_holds_the_turn() -> list[str]:
        fcntl.flock(other, fcntl.LOCK_EX)
        first = asyncio.ensure_future(journal.record(pull_request("d-0", 0), b"{}", handled=True))
        await asyncio.sleep(0.1)  # the writer has taken it and waits for the turn
        later = [
            asyncio.ensure_future(journal.record(pull_request(f"d-{n}", n), b"{}", handled=True))
            for n in range(1, 5)
        ]
        await asyncio.sleep(0.1)
        fcntl.flock(other, fcntl.LOCK_UN)
        return list(await asyncio.gather(first, *later))

    try:
        TracedJournal.statements.clear()
        outcomes = asyncio.run(while_another_process_holds_the_turn())
    finally:
        journal.close()
        os.close(other)

    assert outcomes == ["queued"] * 5
    assert TracedJournal.statements.count("BEGIN IMMEDIATE") == 1


def test_a_payload_is_stored_compressed_and_read_back_as_received(
    journal_url: str, journal: Journal
) -> None:
    body = json.dumps({"action": "opened", "pull_request": {"body": "fix " * 2_000}}).encode()

    asyncio.run(journal.record(pull_request("d-1", 1), body, handled=True))

    [stored] = stored_payloads(journal_url)
    assert stored.startswith(b"\x28\xb5\x2f\xfd")  # a Zstandard frame
    assert len(stored) < len(body) / 10
    [entry] = asyncio.run(journal.claim_ready(1))
    assert entry.payload == body


def test_a_burst_settling_behind_its_head_is_due_when_its_head_is(
    journal: Journal, clock: Clock
) -> None:
    async def scenario() -> tuple[list[JournalEntry], float | None]:
        for delivery_id in ("b1", "b2"):
            await journal.record(
                pull_request(delivery_id, 1), b"{}", handled=True, supersedable=True
            )
        claimed = await journal.claim_ready(10)  # b1 superseded; b2 waits a quiet second
        clock.now += 0.5
        await journal.record(pull_request("b3", 1), b"{}", handled=True, supersedable=True)
        return claimed, journal.next_due()

    # b3 arrived due at once, but it queues behind b2: nothing can run before b2 is due.
    assert asyncio.run(scenario()) == ([], 1_001.0)


JOURNAL_FILES = ("journal.db", "journal.db-wal", "journal.db-shm")


def test_a_journal_whose_files_were_deleted_takes_no_more_writes(
    tmp_path: Path, sqlite_journal: SqliteJournal
) -> None:
    journal = sqlite_journal
    asyncio.run(journal.record(pull_request("d-1", 1), b"{}", handled=True))
    for name in JOURNAL_FILES:
        (tmp_path / name).unlink()

    async def writes() -> list[str]:
        refused = []
        for write in (
            lambda: journal.claim_ready(10),
            lambda: journal.record(pull_request("d-2", 1), b"{}", handled=True),
            lambda: journal.set_state("key", "value"),
        ):
            with pytest.raises(JournalReplaced) as refusal:
                await write()
            refused.append(str(refusal.value))
        return refused

    gone = f"journal write failed: {tmp_path / 'journal.db'} was deleted or replaced while open"
    assert asyncio.run(writes()) == [gone] * 3
    # Nothing was written into the deleted file: d-1 is still queued there, alone.
    assert [(entry.id, entry.status) for entry in journal.recent()] == [("d-1", "queued")]
    assert [name for name in JOURNAL_FILES if (tmp_path / name).exists()] == []


def test_a_journal_file_moved_away_and_back_takes_writes_again(
    tmp_path: Path, sqlite_journal: SqliteJournal
) -> None:
    journal = sqlite_journal
    path = tmp_path / "journal.db-wal"
    path.rename(tmp_path / "moved")

    with pytest.raises(JournalReplaced) as refusal:
        asyncio.run(journal.record(pull_request("d-1", 1), b"{}", handled=True))
    (tmp_path / "moved").rename(path)
    outcome = asyncio.run(journal.record(pull_request("d-1", 1), b"{}", handled=True))

    assert str(refusal.value) == f"journal write failed: {path} was deleted or replaced while open"
    assert outcome == "queued"


def test_a_delivery_whose_file_is_deleted_during_its_commit_is_not_acknowledged(
    tmp_path: Path, sqlite_journal: SqliteJournal, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = sqlite_journal
    commit = journal._commit

    def commit_then_lose_the_file(connection: sqlite3.Connection, batch: list[Any]) -> list[Any]:
        outcomes = commit(connection, batch)
        (tmp_path / "journal.db").unlink()  # an `rm` while the commit was syncing
        return outcomes

    monkeypatch.setattr(journal, "_commit", commit_then_lose_the_file)

    with pytest.raises(JournalReplaced):
        asyncio.run(journal.record(pull_request("d-1", 1), b"{}", handled=True))


def test_the_journal_files_and_the_directories_it_creates_are_private(tmp_path: Path) -> None:
    umask = os.umask(0o022)  # the usual one, which leaves files readable by everyone
    try:
        journal = SqliteJournal(tmp_path / "data" / "hotfix" / "journal.db")
    finally:
        os.umask(umask)
    try:
        asyncio.run(journal.record(pull_request("d-1", 1), b"{}", handled=True))
        modes = {
            str(path.relative_to(tmp_path)): stat.S_IMODE(path.stat().st_mode)
            for path in tmp_path.rglob("*")
        }
    finally:
        journal.close()

    assert modes == {
        "data": 0o700,
        "data/hotfix": 0o700,
        "data/hotfix/journal.db": 0o600,
        "data/hotfix/journal.db-wal": 0o600,
        "data/hotfix/journal.db-shm": 0o600,
        "data/hotfix/journal.db.write-lock": 0o600,
    }


def timer(timer_id: str, number: int, due_at: float) -> Timer:
    return Timer(timer_id, "escalation", 1, "acme/widgets", number, due_at, {"severity": "P0"})


def test_a_timer_comes_due_as_a_delivery_behind_what_its_pull_request_has_queued(
    journal: Journal, clock: Clock
) -> None:
    async def scenario() -> list[list[str]]:
        await record_all(journal, pull_request("a1", 1))
        first = await journal.claim_ready(10)
        scheduled = await journal.schedule_timer(timer("t-1", 1, clock.now + 60))
        await record_all(journal, pull_request("a2", 1))
        clock.now += 60
        behind = await journal.claim_ready(10)  # the timer fired, queued behind a1 and a2
        await journal.finish("a1")
        second = await journal.claim_ready(10)
        await journal.finish("a2")
        third = await journal.claim_ready(10)
        return [
            [str(scheduled)],
            *([e.id for e in batch] for batch in (first, behind, second, third)),
        ]

    assert asyncio.run(scenario()) == [["True"], ["a1"], [], ["a2"], ["t-1"]]
    fired = journal.recent()[0]
    assert (fired.id, fired.event, fired.action, fired.pr_number, fired.ordering_key) == (
        "t-1",
        "timer",
        "escalation",
        1,
        "acme/widgets#1",
    )
    delivery = from_payload(fired.id, fired.event, json.loads(fired.payload or b""))
    assert (delivery.installation_id, delivery.repository, delivery.pr_number) == (
        1,
        "acme/widgets",
        1,
    )
    assert FiredTimer.of(delivery).data == {"severity": "P0"}
    [entry] = journal.timers()
    assert (entry.status, entry.updated_at) == ("fired", 1_060.0)


def test_a_timer_fires_once_however_often_it_is_scheduled_and_a_cancelled_one_never(
    journal_url: str, journal: Journal, clock: Clock
) -> None:
    async def scenario() -> list[object]:
        outcomes: list[object] = [
            await journal.schedule_timer(timer("t-1", 1, clock.now + 10)),
            await journal.schedule_timer(timer("t-1", 1, clock.now + 99)),  # changes nothing
            await journal.schedule_timer(timer("t-2", 2, clock.now + 10)),
            await journal.cancel_timer("t-2"),
            await journal.cancel_timer("t-2"),  # not waiting any more
        ]
        clock.now += 10
        outcomes.append([entry.id for entry in await journal.claim_ready(10)])
        await journal.finish("t-1")
        outcomes.append(await journal.schedule_timer(timer("t-1", 1, clock.now + 10)))
        # Were its `fired` lost (say, a power cut after the delivery was written), the
        # delivery's unique id would still keep it one.
        execute(journal_url, "UPDATE timers SET status = 'scheduled' WHERE id = 't-1'")
        clock.now += 100
        outcomes.append([entry.id for entry in await journal.claim_ready(10)])
        return outcomes

    assert asyncio.run(scenario()) == [True, False, True, True, False, ["t-1"], False, []]
    assert [(entry.id, entry.status) for entry in journal.recent()] == [("t-1", "done")]
    assert [(e.timer.id, e.status) for e in journal.timers()] == [
        ("t-2", "cancelled"),  # due when t-1 was, scheduled after it
        ("t-1", "fired"),
    ]
    assert journal.next_due() is None


def test_the_worker_is_due_when_the_first_timer_is(journal: Journal, clock: Clock) -> None:
    async def scenario() -> list[float | None]:
        nothing = journal.next_due()
        await journal.schedule_timer(timer("t-later", 2, clock.now + 300))
        await journal.schedule_timer(timer("t-soon", 1, clock.now + 120))
        timers_only = journal.next_due()
        await record_all(journal, pull_request("a1", 3))
        return [nothing, timers_only, journal.next_due()]

    assert asyncio.run(scenario()) == [None, 1_120.0, 1_000.0]


def test_a_timer_due_while_no_journal_was_open_fires_at_the_next_start_saying_how_late(
    journal_url: str, clock: Clock
) -> None:
    first = open_journal(journal_url, clock=clock)
    asyncio.run(first.schedule_timer(timer("t-1", 1, clock.now + 15 * 60)))
    first.close()  # the service stops for hours

    clock.now += 15 * 60 + 3 * 3600 + 12 * 60 + 9
    second = open_journal(journal_url, clock=clock)
    try:
        [entry] = asyncio.run(second.claim_ready(10))
    finally:
        second.close()

    fired = FiredTimer.of(from_payload(entry.id, entry.event, json.loads(entry.payload or b"")))
    assert (fired.id, fired.kind, fired.number) == ("t-1", "escalation", 1)
    assert fired.due_at.timestamp() == 1_000 + 15 * 60
    assert fired.lateness(datetime.fromtimestamp(clock.now, UTC)) == "3h12m late"


def test_a_handlers_timers_are_named_by_kind_pull_request_and_key(
    journal: Journal, clock: Clock
) -> None:
    timers = Timers(journal, 1, "acme/widgets", 7)  # a handler's, for pull request #7
    due = datetime.fromtimestamp(clock.now + 60, UTC)

    async def scenario() -> list[object]:
        outcomes: list[object] = [
            await timers.schedule("reminder", "P0:1m", due, {"to": "@dana"}),
            await timers.schedule("reminder", "P0:1m", due),
            await timers.schedule("reminder", "P0:1m", due, number=8),  # another issue's
            await timers.cancel("reminder", "P0:1m", number=8),
        ]
        with pytest.raises(ValueError, match="give the timer's number"):
            await Timers(journal, 1, "acme/widgets", None).schedule("reminder", "x", due)
        return outcomes

    assert asyncio.run(scenario()) == [True, False, True, True]
    assert [(e.timer.id, e.timer.due_at, e.timer.data, e.status) for e in journal.timers()] == [
        ("reminder:acme/widgets#7:P0:1m", 1_060.0, {"to": "@dana"}, "scheduled"),
        ("reminder:acme/widgets#8:P0:1m", 1_060.0, {}, "cancelled"),
    ]


def test_a_timer_in_a_queue_of_its_own_neither_waits_for_its_pull_request_nor_holds_it_up(
    journal: SqliteJournal, clock: Clock
) -> None:
    timers = Timers(journal, 1, "acme/widgets", 1)
    now = datetime.fromtimestamp(clock.now, UTC)

    async def scenario() -> list[list[str]]:
        await record_all(journal, pull_request("a1", 1))
        first = await journal.claim_ready(10)  # a1 runs
        await timers.schedule("chat", "p0-alert", now, {"text": "hi"}, own_queue=True)
        beside = await journal.claim_ready(10)  # the message, while a1 still runs
        await journal.retry_later("chat:acme/widgets#1:p0-alert", "chat answered 500", 60)
        await journal.finish("a1")
        await record_all(journal, pull_request("a2", 1))
        behind_nothing = await journal.claim_ready(10)  # a2, while the message waits
        return [[e.id for e in batch] for batch in (first, beside, behind_nothing)]

    assert asyncio.run(scenario()) == [["a1"], ["chat:acme/widgets#1:p0-alert"], ["a2"]]
    [entry] = journal.timers()
    assert (entry.timer.ordering_key, entry.status) == ("chat:acme/widgets#1:p0-alert", "fired")
    fired = next(e for e in journal.recent() if e.event == "timer")
    assert (fired.ordering_key, fired.pr_number) == ("chat:acme/widgets#1:p0-alert", 1)


def test_a_timer_retried_later_waits_beside_its_pull_request_then_rejoins_its_queue_at_the_end(
    journal: Journal, clock: Clock
) -> None:
    async def scenario() -> list[object]:
        await journal.schedule_timer(timer("t-1", 1, clock.now))
        fired = await journal.claim_ready(10)
        await record_all(journal, pull_request("a1", 1))
        await journal.retry_timer_later("t-1", "GitHub asked to wait", delay=21 * 60)
        beside = await journal.claim_ready(10)  # a1, while t-1 waits
        due = journal.next_due()
        await record_all(journal, pull_request("a2", 1))
        clock.now += 21 * 60
        behind = await journal.claim_ready(10)  # t-1 is due: behind a2, while a1 runs
        await journal.finish("a1")
        second = await journal.claim_ready(10)
        await journal.finish("a2")
        last = await journal.claim_ready(10)
        return [due, *([e.id for e in batch] for batch in (fired, beside, behind, second, last))]

    assert asyncio.run(scenario()) == [2_260.0, ["t-1"], ["a1"], [], ["a2"], ["t-1"]]
    rejoined, *_ = journal.recent()
    assert (rejoined.id, rejoined.ordering_key, rejoined.attempts, rejoined.last_error) == (
        "t-1",
        "acme/widgets#1",
        2,
        "GitHub asked to wait",
    )
    assert [entry.id for entry in journal.recent()] == ["t-1", "a2", "a1"]
    fired = FiredTimer.of(from_payload("t-1", "timer", json.loads(rejoined.payload or b"")))
    assert (fired.id, fired.due_at.timestamp(), fired.data) == ("t-1", 1_000.0, {"severity": "P0"})


def test_the_waiting_timers_of_an_unsuspended_installation_run_now_those_of_another_wait(
    journal: Journal, clock: Clock
) -> None:
    other = Timer("t-2", "escalation", 2, "acme/gadgets", 1, clock.now, {"severity": "P0"})

    async def scenario() -> list[object]:
        await journal.schedule_timer(timer("t-1", 1, clock.now))
        await journal.schedule_timer(other)
        await journal.claim_ready(10)  # fires both
        for held in ("t-1", "t-2"):
            await journal.retry_timer_later(held, "installation suspended", delay=86_400)
        released = await journal.release_waiting_timers(1)
        return [released, [entry.id for entry in await journal.claim_ready(10)]]

    assert asyncio.run(scenario()) == [1, ["t-1"]]
    t1, t2 = (next(e for e in journal.recent() if e.id == id) for id in ("t-1", "t-2"))
    assert (t1.status, t1.attempts, t1.ordering_key) == ("running", 1, "acme/widgets#1")
    assert (t2.status, t2.next_attempt_at - clock.now) == ("queued", 86_400)


def test_a_repositorys_scheduled_timers_move_to_the_installation_that_covers_it_now(
    journal: Journal, clock: Clock
) -> None:
    elsewhere = Timer("t-3", "escalation", 1, "acme/gadgets", 1, clock.now + 60, {})

    async def scenario() -> int:
        await journal.schedule_timer(timer("t-1", 1, clock.now))
        await journal.claim_ready(10)  # fires t-1
        await journal.schedule_timer(timer("t-2", 2, clock.now + 60))
        await journal.schedule_timer(elsewhere)
        return await journal.move_timers("acme/widgets", 9)

    assert asyncio.run(scenario()) == 1
    assert {entry.timer.id: entry.timer.installation_id for entry in journal.timers()} == {
        "t-1": 1,  # fired: its delivery finds the new installation when it runs
        "t-2": 9,
        "t-3": 1,
    }


def test_a_waiting_timer_redelivered_by_hand_still_runs_after_its_pull_requests_delivery(
    journal: Journal, clock: Clock
) -> None:
    async def scenario() -> list[list[str]]:
        await journal.schedule_timer(timer("t-1", 1, clock.now))
        await journal.claim_ready(10)
        await record_all(journal, pull_request("a1", 1))
        await journal.retry_timer_later("t-1", "GitHub asked to wait", delay=21 * 60)
        first = await journal.claim_ready(10)
        await journal.redeliver("t-1")  # `hotfix-bot redeliver`, long before its time
        beside = await journal.claim_ready(10)
        await journal.finish("a1")
        after = await journal.claim_ready(10)
        return [[e.id for e in batch] for batch in (first, beside, after)]

    assert asyncio.run(scenario()) == [["a1"], [], ["t-1"]]


def test_a_timer_in_a_queue_of_its_own_retried_later_stays_in_it(
    journal: Journal, clock: Clock
) -> None:
    timers = Timers(journal, 1, "acme/widgets", 1)
    now = datetime.fromtimestamp(clock.now, UTC)
    message = "chat:acme/widgets#1:p0-alert"

    async def scenario() -> list[list[str]]:
        await record_all(journal, pull_request("a1", 1))
        await journal.claim_ready(10)  # a1 runs, and goes on running
        await timers.schedule("chat", "p0-alert", now, {"text": "hi"}, own_queue=True)
        await journal.claim_ready(10)
        await journal.retry_timer_later(message, "chat answered 500", delay=20 * 60)
        clock.now += 20 * 60
        return [[e.id for e in await journal.claim_ready(10)]]

    assert asyncio.run(scenario()) == [[message]]
    assert [(e.id, e.ordering_key) for e in journal.recent()] == [
        (message, message),
        ("a1", "acme/widgets#1"),
    ]


def fired_timer(entry: JournalEntry) -> FiredTimer:
    """The timer a timer's delivery carries, as its handler reads it."""
    return FiredTimer.of(from_payload(entry.id, entry.event, json.loads(entry.payload or b"")))


def test_a_forgotten_timer_scheduled_again_fires_once_more_as_a_delivery_of_its_own(
    journal_url: str, journal: Journal, clock: Clock
) -> None:
    again = Timer("t-1", "escalation", 1, "acme/widgets", 1, 1_005.0, {"severity": "P0", "n": 2})

    async def scenario() -> list[object]:
        await journal.schedule_timer(timer("t-1", 1, clock.now + 10))
        clock.now += 10
        first = await journal.claim_ready(10)  # t-1 runs, and cannot do its work now
        outcomes: list[object] = [
            [entry.id for entry in first],
            await journal.forget_timer("t-1"),
            await journal.forget_timer("t-1"),  # forgotten already
            await journal.forget_timer("t-2"),  # never scheduled
            [(e.timer.id, e.status, e.rearmed) for e in journal.timers()],
        ]
        clock.now += 50
        outcomes += [
            await journal.schedule_timer(again),  # due already: it fires at the next claim
            await journal.schedule_timer(again),  # changes nothing
            [(e.timer.id, e.status, e.timer.due_at, e.rearmed) for e in journal.timers()],
            [entry.id for entry in await journal.claim_ready(10)],  # behind t-1, which runs
        ]
        await journal.finish("t-1")
        second = await journal.claim_ready(10)
        await journal.finish("t-1#2")
        outcomes += [[entry.id for entry in second], fired_timer(second[0])]
        # Were its `fired` lost, the delivery's unique id would still keep this firing one.
        execute(journal_url, "UPDATE timers SET status = 'scheduled' WHERE id = 't-1'")
        outcomes.append([entry.id for entry in await journal.claim_ready(10)])
        # Forgotten once more, it fires a third time.
        await journal.forget_timer("t-1")
        await journal.schedule_timer(again)
        outcomes.append([entry.id for entry in await journal.claim_ready(10)])
        return outcomes

    assert asyncio.run(scenario()) == [
        ["t-1"],
        True,
        False,
        False,
        [("t-1", "forgotten", 0)],
        True,
        False,
        [("t-1", "scheduled", 1_005.0, 1)],
        [],
        ["t-1#2"],
        FiredTimer(
            "t-1",
            "escalation",
            1,
            due_at=datetime.fromtimestamp(1_005, UTC),
            scheduled_at=datetime.fromtimestamp(1_060, UTC),  # scheduled after its time
            fired_at=datetime.fromtimestamp(1_060, UTC),  # by the claim right after
            data={"severity": "P0", "n": 2},
        ),
        [],
        ["t-1#3"],
    ]
    assert [(entry.id, entry.status) for entry in journal.recent()] == [
        ("t-1#3", "running"),
        ("t-1#2", "done"),
        ("t-1", "done"),
    ]
    assert [(e.timer.id, e.status, e.rearmed) for e in journal.timers()] == [("t-1", "fired", 2)]


def test_a_timer_fired_again_and_retried_later_rejoins_its_pull_requests_queue(
    journal: Journal, clock: Clock
) -> None:
    async def scenario() -> list[list[str]]:
        await journal.schedule_timer(timer("t-1", 1, clock.now))
        await journal.claim_ready(10)
        await journal.finish("t-1")
        await journal.forget_timer("t-1")
        await journal.schedule_timer(timer("t-1", 1, clock.now))
        fired = await journal.claim_ready(10)
        await record_all(journal, pull_request("a1", 1))
        await journal.retry_timer_later("t-1#2", "GitHub asked to wait", delay=21 * 60)
        beside = await journal.claim_ready(10)  # a1, while t-1#2 waits
        await record_all(journal, pull_request("a2", 1))
        clock.now += 21 * 60
        behind = await journal.claim_ready(10)  # t-1#2 is due: behind a2, while a1 runs
        await journal.finish("a1")
        second = await journal.claim_ready(10)
        await journal.finish("a2")
        last = await journal.claim_ready(10)
        return [[e.id for e in batch] for batch in (fired, beside, behind, second, last)]

    assert asyncio.run(scenario()) == [["t-1#2"], ["a1"], [], ["a2"], ["t-1#2"]]
    rejoined = journal.recent()[0]
    assert (rejoined.id, rejoined.ordering_key) == ("t-1#2", "acme/widgets#1")


def create_schema_version_2(journal_url: str) -> None:
    """The journal as hotfix-bot of schema version 2 left it."""
    path = journal_path(journal_url)
    if path is not None:
        with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as connection:
            connection.executescript(
                sqlite_journal_module._VERSION_1 + sqlite_journal_module._VERSION_2
            )
            connection.execute("PRAGMA user_version = 2")
        return
    with psycopg.connect(journal_url) as connection:
        for script in postgres_journal_module._MIGRATIONS[:2]:
            connection.execute(script)
        connection.execute("CREATE TABLE journal_schema (version INTEGER NOT NULL)")
        connection.execute("INSERT INTO journal_schema (version) VALUES (2)")


def test_a_journal_of_schema_version_2_keeps_its_fired_timers_fired(
    journal_url: str, clock: Clock
) -> None:
    create_schema_version_2(journal_url)
    execute(
        journal_url,
        "INSERT INTO timers (id, kind, installation_id, repository, number, ordering_key, "
        "due_at, data, status, scheduled_at, updated_at) VALUES ('t-old', 'escalation', 1, "
        "'acme/widgets', 1, 'acme/widgets#1', 1000, '{}', 'fired', 1, 1)",
    )

    journal = open_journal(journal_url, clock=clock)
    try:
        entries = [(e.timer.id, e.status, e.rearmed) for e in journal.timers()]
        scheduled_again = asyncio.run(journal.schedule_timer(timer("t-old", 1, clock.now)))
        forgotten = asyncio.run(journal.forget_timer("t-old"))
    finally:
        journal.close()

    assert (schema_version(journal_url), entries) == (3, [("t-old", "fired", 0)])
    assert (scheduled_again, forgotten) == (False, True)


RELEASE_LOCK = "release:acme/widgets#1"


@pytest.fixture
def two_journals(journal_url: str) -> Iterator[tuple[Journal, Journal]]:
    """Two journal objects on one database, as two instances (or two processes) have."""
    first, second = open_journal(journal_url), open_journal(journal_url)
    yield first, second
    second.close()
    first.close()


def test_a_lock_held_through_one_journal_is_waited_for_through_another_on_the_same_database(
    two_journals: tuple[Journal, Journal],
) -> None:
    first, second = two_journals

    async def scenario() -> tuple[list[str], float]:
        steps: list[str] = []

        async def critical_section(journal: Journal, who: str) -> None:
            async with journal.lock(RELEASE_LOCK):
                steps.append(f"{who} looks")
                await asyncio.sleep(0.3)  # reading GitHub, say, before creating
                steps.append(f"{who} creates")

        async def another_lock() -> float:
            await asyncio.sleep(0.1)  # while the first holds its lock
            started = time.monotonic()
            async with second.lock("release:acme/widgets#2"):
                return time.monotonic() - started

        *_, waited = await asyncio.gather(
            critical_section(first, "first"), critical_section(second, "second"), another_lock()
        )
        return steps, waited

    steps, other_lock_waited = asyncio.run(scenario())

    assert steps in (
        ["first looks", "first creates", "second looks", "second creates"],
        ["second looks", "second creates", "first looks", "first creates"],
    )
    assert other_lock_waited < 0.2  # another name is another lock


def test_a_lock_held_elsewhere_for_longer_than_the_wait_is_a_timeout_naming_it(
    two_journals: tuple[Journal, Journal],
) -> None:
    first, second = two_journals

    async def scenario() -> tuple[float, float]:
        async with first.lock(RELEASE_LOCK):
            started = time.monotonic()
            with pytest.raises(LockTimeout) as timeout:
                async with second.lock(RELEASE_LOCK, wait=0.3):
                    pytest.fail("taken while held")
            waited = time.monotonic() - started
            # Another waiter, given up while it waits, leaves nothing behind it.
            given_up = asyncio.create_task(second.lock(RELEASE_LOCK).__aenter__())
            await asyncio.sleep(0.1)
            given_up.cancel()
            await asyncio.gather(given_up, return_exceptions=True)
        assert isinstance(timeout.value, TimeoutError)  # the worker tries the delivery again
        assert str(timeout.value) == f"the lock {RELEASE_LOCK} stayed held elsewhere for 0.3 s"
        started = time.monotonic()
        async with second.lock(RELEASE_LOCK, wait=2):
            return waited, time.monotonic() - started

    waited, then_waited = asyncio.run(scenario())

    assert 0.3 <= waited < 1.0
    assert then_waited < 0.2


def test_a_write_after_the_journal_closed_is_refused_at_once(journal: Journal) -> None:
    """A caller still holding a closed journal (a request answered as the server stops) hears
    that it is closed, rather than wait for good; closing again does nothing."""
    journal.close()

    async def write_after_close() -> None:
        await asyncio.wait_for(journal.set_state("key", "value"), timeout=5)

    with pytest.raises(JournalUnavailable) as refused:
        asyncio.run(write_after_close())
    assert "closed" in str(refused.value)
    journal.close()
