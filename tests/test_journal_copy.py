"""`hotfix-bot journal copy`: pending work, timers, recent history and state move between journals
of either kind, once however often it runs; older deliveries without their payloads, so that
every delivery id stays known."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from support.deliveries import pull_request
from support.harness import Clock
from support.postgres import PostgresServer

from app.cli import main
from app.intake.delivery import Delivery, from_payload
from app.journal import (
    Journal,
    JournalEntry,
    JournalUnavailable,
    Status,
    describe_journal,
    open_journal,
)
from app.journal.base import JournalContents, PastDeliveries
from app.journal.timers import Timer


@pytest.fixture(
    params=[("sqlite", "postgresql"), ("postgresql", "sqlite"), ("sqlite", "sqlite")],
    ids="{0[0]}-to-{0[1]}".format,
)
def journals(
    request: pytest.FixtureRequest, tmp_path: Path, postgres: PostgresServer
) -> Iterator[tuple[str, str]]:
    """The URLs of a source journal and an empty target, of the kinds named."""
    source_kind, target_kind = request.param
    with postgres.database() as database:
        source = database if source_kind == "postgresql" else f"sqlite:///{tmp_path / 'journal.db'}"
        target = database if target_kind == "postgresql" else f"sqlite:///{tmp_path / 'copy.db'}"
        yield source, target


def body(delivery_id: str) -> bytes:
    return b'{"delivery": "%s"}' % delivery_id.encode()


async def fill(journal: Journal, clock: Clock) -> None:
    """Finished deliveries, one ignored, and pending ones: running, waiting for a retry,
    queued; state; timers: one waiting, one cancelled, one fired."""
    for delivery_id, number in (("old-1", 1), ("old-2", 2), ("done-1", 1), ("failed-1", 2)):
        await journal.record(pull_request(delivery_id, number), body(delivery_id), handled=True)
        await journal.claim_ready(1)
        if delivery_id.startswith("failed"):
            await journal.fail(delivery_id, "GitHub answered 404")
        else:
            await journal.finish(delivery_id)
    await journal.record(pull_request("ignored-1", 3), b"{}", handled=False)
    for delivery_id, number in (("running-1", 1), ("retry-1", 2), ("queued-1", 1)):
        await journal.record(pull_request(delivery_id, number), body(delivery_id), handled=True)
    assert [entry.id for entry in await journal.claim_ready(2)] == ["running-1", "retry-1"]
    await journal.retry_later("retry-1", "GitHub answered 502", delay=60)
    await journal.set_state("check-run:acme/widgets:hotfix-policy:abc", "17")
    await journal.set_state("release:acme/widgets#1", '{"steps": {}}')
    await journal.check_writable()  # the source's own heartbeat, which is not copied
    for timer_id, due in (("t-waiting", 120), ("t-cancelled", 30), ("t-fired", 0)):
        await journal.schedule_timer(timer(timer_id, clock.now + due))
    await journal.cancel_timer("t-cancelled")
    assert await journal.claim_ready(10) == []  # fires t-fired: queued behind queued-1


def timer(timer_id: str, due_at: float) -> Timer:
    return Timer(timer_id, "escalation", 1, "acme/widgets", 1, due_at, {"severity": "P0"})


def test_copy_moves_pending_work_recent_history_and_state_once(
    journals: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    source_url, target_url = journals
    clock = Clock()
    source = open_journal(source_url, clock=clock)
    try:
        asyncio.run(fill(source, clock))
    finally:
        source.close()  # as the servers of the source are stopped before a copy

    copy = ["journal", "copy", "--from", source_url, "--to", target_url, "--history", "3"]
    assert main(copy) == 0
    first = capsys.readouterr().out
    assert main(copy) == 0
    again = capsys.readouterr().out

    target = open_journal(target_url, clock=clock)
    try:
        copied = [
            (entry.id, entry.status, entry.attempts, entry.last_error, entry.payload)
            for entry in reversed(target.recent())
        ]
        state = [
            asyncio.run(target.get_state(key))
            for key in ("check-run:acme/widgets:hotfix-policy:abc", "release:acme/widgets#1")
        ]
        heartbeat = asyncio.run(target.get_state("journal.heartbeat"))
        timers = [(e.timer.id, e.status, e.timer.due_at, e.timer.data) for e in target.timers()]
        claimed = [entry.id for entry in asyncio.run(target.claim_ready(10))]
        clock.now += 60
        claimed_later = [entry.id for entry in asyncio.run(target.claim_ready(10))]
        asyncio.run(target.finish("running-1"))
        asyncio.run(target.finish("retry-1"))
        clock.now += 60  # t-waiting comes due: it fires here, once, behind its pull request
        fired = []
        while claims := asyncio.run(target.claim_ready(10)):
            fired += [entry.id for entry in claims]
            for entry in claims:
                asyncio.run(target.finish(entry.id))
    finally:
        target.close()

    where = describe_journal(target_url)
    assert first == (
        "copied 9 deliveries (4 to run, 2 without their payloads: finished before the latest "
        f"3), 2 state values and 3 timers (1 waiting) into {where}; it held 0 of the "
        "deliveries, 0 of the state values and 0 of the timers already, kept as they were\n"
    )
    assert again == (
        "copied 0 deliveries (0 to run, 0 without their payloads: finished before the latest "
        f"3), 0 state values and 0 timers (0 waiting) into {where}; it held 9 of the "
        "deliveries, 2 of the state values and 3 of the timers already, kept as they were\n"
    )
    # In the order they were journaled: the 3 latest finished ones with their payloads, the
    # older ones (old-1, old-2) without; what was running is queued, with its attempts and
    # errors as they were.
    assert copied == [
        ("old-1", "done", 1, None, None),
        ("old-2", "done", 1, None, None),
        ("done-1", "done", 1, None, body("done-1")),
        ("failed-1", "failed", 1, "GitHub answered 404", body("failed-1")),
        ("ignored-1", "ignored", 0, None, None),
        ("running-1", "queued", 1, None, body("running-1")),
        ("retry-1", "queued", 1, "GitHub answered 502", body("retry-1")),
        ("queued-1", "queued", 0, None, body("queued-1")),
        ("t-fired", "queued", 0, None, copied[-1][4]),
    ]
    assert timers == [
        ("t-waiting", "scheduled", 1_120.0, {"severity": "P0"}),
        ("t-cancelled", "cancelled", 1_030.0, {"severity": "P0"}),
        ("t-fired", "fired", 1_000.0, {"severity": "P0"}),
    ]
    assert state == ["17", '{"steps": {}}'] and heartbeat is None
    # Per pull request in order: queued-1 after running-1; retry-1 when its retry is due.
    assert (claimed, claimed_later) == (["running-1"], ["retry-1"])
    # The timers' deliveries run behind queued-1, in order, each once.
    assert fired == ["queued-1", "t-fired", "t-waiting"]


def star(delivery_id: str) -> Delivery:
    """A delivery the app ignores."""
    payload = {"action": "created", "installation": {"id": 1}, "repository": {"full_name": "x/y"}}
    return from_payload(delivery_id, "star", payload)


async def finish_two_then_ignore_a_thousand_and_one(journal: Journal) -> None:
    """d-open done and d-cmd failed, then more ignored deliveries than the default
    `--history`: d-open, d-cmd and s-0 are older than the latest 1000 finished ones."""
    await journal.record(pull_request("d-open", 1), body("d-open"), handled=True)
    await journal.claim_ready(1)
    await journal.finish("d-open")
    await journal.record(pull_request("d-cmd", 1), body("d-cmd"), handled=True)
    await journal.claim_ready(1)
    await journal.fail("d-cmd", "GitHub answered 404")
    # At once: recorded together, in as few commits as the journal gathers them into.
    await asyncio.gather(
        *(journal.record(star(f"s-{i}"), b"{}", handled=False) for i in range(1001))
    )


def test_copy_says_one_of_each_in_the_singular(
    journals: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    source_url, target_url = journals
    clock = Clock()
    source = open_journal(source_url, clock=clock)
    try:
        asyncio.run(source.record(pull_request("d-1", 1), body("d-1"), handled=True))
        asyncio.run(source.set_state("release:acme/widgets#1", "{}"))
        asyncio.run(source.schedule_timer(timer("t-1", clock.now + 60)))
    finally:
        source.close()

    assert main(["journal", "copy", "--from", source_url, "--to", target_url]) == 0

    assert capsys.readouterr().out == (
        "copied 1 delivery (1 to run, 0 without their payloads: finished before the latest "
        f"1000), 1 state value and 1 timer (1 waiting) into {describe_journal(target_url)}; it "
        "held 0 of the deliveries, 0 of the state values and 0 of the timers already, kept as "
        "they were\n"
    )


def test_a_delivery_older_than_the_history_copied_is_a_duplicate_in_the_target(
    journals: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """GitHub redelivering an old delivery to the new journal is answered `duplicate`, as the
    old journal would have answered it, and nothing runs it again."""
    source_url, target_url = journals
    source = open_journal(source_url)
    try:
        asyncio.run(finish_two_then_ignore_a_thousand_and_one(source))
    finally:
        source.close()

    assert main(["journal", "copy", "--from", source_url, "--to", target_url]) == 0
    summary = capsys.readouterr().out
    target = open_journal(target_url)
    try:
        answers = [
            asyncio.run(target.record(delivery, b"{}", handled=True))
            for delivery in (pull_request("d-cmd", 1), pull_request("d-open", 1), star("s-0"))
        ]
        claimed = asyncio.run(target.claim_ready(10))
    finally:
        target.close()

    assert answers == ["duplicate", "duplicate", "duplicate"]
    assert claimed == []
    assert summary == (
        "copied 1003 deliveries (0 to run, 3 without their payloads: finished before the "
        "latest 1000), 0 state values and 0 timers (0 waiting) into "
        f"{describe_journal(target_url)}; it held 0 of the deliveries, 0 of the state values "
        "and 0 of the timers already, kept as they were\n"
    )


def test_a_delivery_copied_without_its_payload_is_listed_and_not_redelivered(
    journals: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source_url, target_url = journals
    source = open_journal(source_url, clock=Clock())
    try:
        asyncio.run(finish_two_then_ignore_a_thousand_and_one(source))
    finally:
        source.close()
    assert main(["journal", "copy", "--from", source_url, "--to", target_url]) == 0
    capsys.readouterr()
    monkeypatch.setenv("DATABASE_URL", target_url)

    assert main(["deliveries", "--status", "failed"]) == 0
    listing = capsys.readouterr().out
    assert main(["redeliver", "d-cmd"]) == 1
    refusal = capsys.readouterr()
    target = open_journal(target_url)
    try:
        status = [(entry.status, entry.payload) for entry in target.recent("failed")]
    finally:
        target.close()

    assert listing.splitlines() == [
        "RECEIVED (UTC)       STATUS  TRIES  EVENT                     WHERE           ID",
        "1970-01-01 00:16:40  failed      1  pull_request.synchronize  acme/widgets#1  d-cmd",
        f"{'':36}last error: GitHub answered 404",
    ]
    assert refusal == (
        "",
        "hotfix-bot: delivery d-cmd cannot run again: the journal holds no payload for it "
        "(`hotfix-bot journal copy` brought it without, being older than the latest --history "
        "finished deliveries)\n",
    )
    assert status == [("failed", None)]


def entry(seq: int, delivery_id: str, status: Status, payload: bytes | None) -> JournalEntry:
    """A delivery as a source journal reads it for a copy."""
    key = "acme/widgets#1"
    return JournalEntry(
        seq, delivery_id, "pull_request", "synchronize", 1, "acme/widgets", 1, key, status,
        0, None, 1_000.0, 1_000.0, 1_000.0, False, payload,
    )  # fmt: skip


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_copy_whose_source_fails_midway_leaves_the_target_as_it_was(
    kind: str, tmp_path: Path, postgres: PostgresServer
) -> None:
    """The older deliveries are read from the source as they are copied: a read that fails
    then takes back what the copy wrote, as any failure of its one transaction does."""

    def read_past(after: int) -> list[JournalEntry]:
        if after:
            raise JournalUnavailable("journal read failed: the source went away")
        return [entry(1, "old-1", "done", None)]

    contents = JournalContents(
        (entry(2, "queued-1", "queued", b"{}"),),
        PastDeliveries(2, read_past),
        (("release:acme/widgets#1", "{}"),),
    )
    with postgres.database() as database:
        target = open_journal(
            database if kind == "postgresql" else f"sqlite:///{tmp_path / 'j.db'}"
        )
        try:
            with pytest.raises(JournalUnavailable, match="the source went away"):
                asyncio.run(target.add_contents(contents))
            left = target.recent(), asyncio.run(target.get_state("release:acme/widgets#1"))
        finally:
            target.close()

    assert left == ([], None)


def test_a_copy_into_a_sqlite_journal_that_runs_out_of_room_says_so_and_copies_nothing(
    tmp_path: Path,
) -> None:
    """The target's files may grow no larger than 1 MiB (as on a full disk), and the payloads
    to copy take more: one line names the failure, instead of a traceback."""
    source_url = f"sqlite:///{tmp_path / 'journal.db'}"
    target_url = f"sqlite:///{tmp_path / 'copy.db'}"
    source = open_journal(source_url)
    try:
        for number in range(200):  # ~8 KiB each once compressed: random hex halves at most
            delivery_id = f"queued-{number}"
            payload = os.urandom(8 * 1024).hex().encode()
            asyncio.run(source.record(pull_request(delivery_id, number), payload, handled=True))
    finally:
        source.close()
    open_journal(target_url).close()

    copy_in_one_mebibyte_files = (
        "import resource, sys; from app.cli import main; "
        "resource.setrlimit(resource.RLIMIT_FSIZE, (2**20, 2**20)); sys.exit(main(sys.argv[1:]))"
    )
    finished = subprocess.run(
        [
            sys.executable,
            "-c",
            copy_in_one_mebibyte_files,
            "journal",
            "copy",
            "--from",
            source_url,
            "--to",
            target_url,
        ],
        cwd=Path(__file__).parents[1],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert (finished.returncode, finished.stdout, finished.stderr) == (
        1,
        "",
        "hotfix-bot: journal copy failed: journal write failed: disk I/O error; run it again "
        "once the cause is gone: it copies nothing twice\n",
    )
    target = open_journal(target_url)
    try:
        assert target.recent() == []
    finally:
        target.close()


def test_a_copy_into_a_postgresql_journal_refusing_a_write_says_so_and_copies_nothing(
    tmp_path: Path, postgres: PostgresServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """The target refuses the timers, copied after the deliveries and the state: one line
    names the failure, instead of a traceback, and the deliveries are taken back too."""
    source_url = f"sqlite:///{tmp_path / 'journal.db'}"
    clock = Clock()
    source = open_journal(source_url, clock=clock)
    try:
        asyncio.run(fill(source, clock))
    finally:
        source.close()
    with postgres.database() as target_url:
        open_journal(target_url).close()
        with psycopg.connect(target_url, autocommit=True) as connection:
            connection.execute(
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'no timers here'; END $$; "
                "CREATE TRIGGER refuse BEFORE INSERT ON timers "
                "FOR EACH ROW EXECUTE FUNCTION refuse()"
            )

        status = main(["journal", "copy", "--from", source_url, "--to", target_url])

        target = open_journal(target_url)
        try:
            left = target.recent(), asyncio.run(target.get_state("release:acme/widgets#1"))
        finally:
            target.close()

    assert (status, capsys.readouterr()) == (
        1,
        (
            "",
            "hotfix-bot: journal copy failed: journal write failed: no timers here; run it "
            "again once the cause is gone: it copies nothing twice\n",
        ),
    )
    assert left == ([], None)


def test_copy_names_the_option_whose_journal_cannot_be_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = f"sqlite:///{tmp_path / 'journal.db'}"
    open_journal(source).close()

    assert main(["journal", "copy", "--from", source, "--to", "mysql://db/hotfix"]) == 2

    assert capsys.readouterr().err == (
        "hotfix-bot: --to: must look like sqlite:///relative.db, sqlite:////absolute/path.db "
        "or postgresql://user:password@host:port/database\n"
    )


def test_a_negative_history_is_refused_with_the_usage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SQLite read -1 as no limit and PostgreSQL refused it with a traceback."""
    source = f"sqlite:///{tmp_path / 'journal.db'}"
    open_journal(source).close()
    target = tmp_path / "copy.db"
    copy = ["journal", "copy", "--from", source, "--to", f"sqlite:///{target}"]

    with pytest.raises(SystemExit) as exited:
        main([*copy, "--history", "-1"])

    assert exited.value.code == 2
    assert capsys.readouterr() == (
        "",
        "usage: hotfix-bot journal copy [-h] --from URL --to URL [--history N]\n"
        "hotfix-bot journal copy: error: argument --history: must be 0 or more, not -1\n",
    )
    assert not target.exists()


def test_copy_from_a_sqlite_journal_that_is_not_there_fails_and_makes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "old" / "jurnal.db"  # a typo of a journal in a directory not there
    target = f"sqlite:///{tmp_path / 'journal.db'}"

    assert main(["journal", "copy", "--from", f"sqlite:///{missing}", "--to", target]) == 2

    assert capsys.readouterr() == (
        "",
        f"hotfix-bot: --from: cannot open the journal {missing}: No such file or directory\n",
    )
    assert list(tmp_path.iterdir()) == []  # neither the source, its directory nor the target


def test_copy_from_a_postgresql_database_that_is_not_there_fails_and_makes_nothing(
    tmp_path: Path, postgres: PostgresServer, capsys: pytest.CaptureFixture[str]
) -> None:
    source = postgres.url("jurnal")  # a typo of a database's name
    target = f"sqlite:///{tmp_path / 'journal.db'}"

    assert main(["journal", "copy", "--from", source, "--to", target]) == 2

    port = postgres.port
    assert capsys.readouterr() == (
        "",
        f"hotfix-bot: --from: cannot open the journal at 127.0.0.1:{port}/jurnal: connection "
        f'failed: connection to server at "127.0.0.1", port {port} failed: FATAL:  database '
        '"jurnal" does not exist\n',
    )
    with postgres.admin() as connection:
        databases = connection.execute("SELECT datname FROM pg_database").fetchall()
    assert ("jurnal",) not in databases
    assert list(tmp_path.iterdir()) == []


def test_copy_keeps_a_forgotten_timer_forgotten_and_one_fired_again_firing_anew(
    journals: tuple[str, str],
) -> None:
    """A timer forgotten in the source may be scheduled again in the target; one scheduled
    again already fires there as it would have in the source, as a delivery of its own."""
    source_url, target_url = journals
    clock = Clock()
    source = open_journal(source_url, clock=clock)

    async def fire_and_forget() -> None:
        for timer_id in ("t-forgotten", "t-again"):
            await source.schedule_timer(timer(timer_id, clock.now))
        while claimed := await source.claim_ready(10):  # one at a time: one pull request's
            for entry in claimed:
                await source.finish(entry.id)
        for timer_id in ("t-forgotten", "t-again"):
            await source.forget_timer(timer_id)
        await source.schedule_timer(timer("t-again", clock.now + 60))

    try:
        asyncio.run(fire_and_forget())
    finally:
        source.close()

    assert main(["journal", "copy", "--from", source_url, "--to", target_url]) == 0
    target = open_journal(target_url, clock=clock)
    try:
        copied = [(e.timer.id, e.status, e.rearmed) for e in target.timers()]
        scheduled = asyncio.run(target.schedule_timer(timer("t-forgotten", clock.now + 60)))
        clock.now += 60
        asyncio.run(target.claim_ready(10))  # both fire: the first runs, the other waits
        fired = [(entry.id, entry.status) for entry in target.recent()][:2]
    finally:
        target.close()

    assert copied == [("t-again", "scheduled", 1), ("t-forgotten", "forgotten", 0)]
    assert scheduled is True
    assert fired == [("t-again#2", "queued"), ("t-forgotten#2", "running")]
