"""An administrator outgrows one SQLite instance, following ADMIN.md (*Several instances:
PostgreSQL*, *Moving a journal*) on real processes: a SQLite server with pending work and
timers, `hotfix-bot journal copy` into a PostgreSQL database, then instances on it; and the
copy's refusals where following the steps out of order would run work twice."""

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
from support.live_server import Server, github_and_servers, open_hotfix, wait_for
from support.postgres import PostgresServer, workers_listening

from app.cli import main
from app.journal import describe_journal, open_journal
from sandbox import FakeGitHub, FakeRepo


@pytest.fixture
def database(postgres: PostgresServer) -> Iterator[str]:
    with postgres.database() as url:
        yield url


def hotfix_bot(
    *arguments: str, cwd: Path, environment: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`hotfix-bot ARGUMENTS` as the administrator types it, in `cwd`, with `environment`
    (a server's, for the commands that read its journal)."""
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *arguments],
        cwd=cwd, env=environment or os.environ.copy(), capture_output=True, text=True,
        timeout=30, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("source_kind", ["sqlite", "postgresql"])
def test_a_copy_from_a_journal_its_server_still_runs_on_warns_to_stop_it_and_copy_anew(
    tmp_path: Path, private_key_pem: str, database: str, source_kind: str
) -> None:
    """What the server runs or acknowledges after a copy would be run a second time by the
    servers on the target, or be missing from its journal: the copy says so; made anew once
    the server has stopped, it holds the journal (SQLite to PostgreSQL, and back)."""
    sqlite = tmp_path / "journal.db"
    if source_kind == "sqlite":
        source, target, where = f"sqlite:///{sqlite}", database, str(sqlite)
    else:
        source, target, where = database, f"sqlite:///{sqlite}", f"at {describe_journal(database)}"
    copy = ("journal", "copy", "--from", source, "--to", target)
    admin = tmp_path / "admin"
    admin.mkdir()
    with github_and_servers(tmp_path, private_key_pem, source, 1) as (fake, repo, [server]):
        server.start()
        if source_kind == "postgresql":
            wait_for(lambda: workers_listening(database) == 1)
        number = open_hotfix(repo)
        answer = server.deliver(
            "pull_request", fake.pull_request_event(repo, number, "opened"), "opened-1"
        )
        assert answer.status_code == 202, answer.text

        warned = hotfix_bot(*copy, cwd=admin)

        assert (warned.returncode, warned.stdout[:17], warned.stderr) == (
            0,
            "copied 1 delivery",
            f"hotfix-bot: warning: a hotfix-bot serve is running on the journal {where}: what "
            "it runs or takes from now on would run twice or be missing from this copy; stop "
            "it, then copy into a new file or an empty database to move the journal\n",
        )
        server.stop()

    anew = f"sqlite:///{tmp_path / 'anew.db'}"
    copied = hotfix_bot("journal", "copy", "--from", source, "--to", anew, cwd=admin)

    assert (copied.returncode, copied.stderr) == (0, "")
    assert copied.stdout.startswith("copied 1 delivery (")
    moved = open_journal(anew, create=False)
    try:
        assert [entry.id for entry in moved.recent()] == ["opened-1"]
    finally:
        moved.close()


PASSWORD = "Pg-s3cret-9f2c"  # libpq sends it; the test server's trust asks for none
ADMIN_TOKEN = "admin-token-for-the-details"
TEAMS = {"engineering-leads": ["lead"], "on-call-managers": ["oncall"]}


def p0_hotfix_alerted(fake: FakeGitHub, repo: FakeRepo, server: Server) -> int:
    """A P0 hotfix opened and delivered to `server`, started now, whose alert is out: its
    incident clock runs in `server`'s journal."""
    for slug, members in TEAMS.items():
        fake.add_team("acme", slug, members)
    number = open_hotfix(repo)
    repo.add_labels(number, "P0")
    server.start()
    answer = server.deliver("pull_request", fake.pull_request_event(repo, number, "opened"), "o1")
    assert answer.status_code == 202, answer.text
    wait_for(lambda: repo.comments_on(number))
    return number


def with_password(url: str) -> str:
    return url.replace("postgresql://hotfix@", f"postgresql://hotfix:{PASSWORD}@")


def test_a_p0_hotfix_moved_to_two_instances_keeps_its_clock_and_escalates_once(
    tmp_path: Path, private_key_pem: str, database: str
) -> None:
    """ADMIN.md, *Moving a journal*, then *Several instances*: a P0 hotfix waits for its
    approvals on one SQLite instance; it is stopped, its journal copied into PostgreSQL, and
    two instances started on it (one with WEB_CONCURRENCY=2) after the 15-minute step came
    due. The step fires once, from one of them; the commands and pages read the shared
    journal, and none shows the password (the status page's details included)."""
    url = with_password(database)
    sqlite = f"sqlite:///{tmp_path / 'journal.db'}"
    admin = tmp_path / "admin"
    admin.mkdir()
    with github_and_servers(tmp_path, private_key_pem, sqlite, 3) as (fake, repo, servers):
        old, first, second = servers
        number = p0_hotfix_alerted(fake, repo, old)
        old.stop()

        copied = hotfix_bot("journal", "copy", "--from", sqlite, "--to", url, cwd=admin)
        assert copied.returncode == 0, copied.stderr
        step = f"escalation:acme/widgets#{number}:P0:15m"
        with psycopg.connect(database) as connection:  # 15 minutes pass, no server running
            connection.execute("UPDATE timers SET due_at = due_at - 900 WHERE status = 'scheduled'")
        for server in (first, second):
            server.environment.update(DATABASE_URL=url, ADMIN_TOKEN=ADMIN_TOKEN)
        second.environment["WEB_CONCURRENCY"] = "2"
        first.start()
        second.start()
        journal = open_journal(database, create=False)
        try:
            wait_for(lambda: len(repo.comments_on(number)) == 2)
            wait_for(lambda: journal.count(("queued", "running")) == 0)
        finally:
            journal.close()
        listed = hotfix_bot("timers", cwd=admin, environment=first.environment)

        bearer = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        pages = [
            (server.client.get(f"{server.url}{path}", headers=bearer), path)
            for server in (first, second)
            for path in ("/", "/readyz", "/metrics")
        ]

    assert [comment.body.splitlines()[0] for comment in repo.comments_on(number)] == [
        f"<!-- hotfix-bot notice p0-alert:acme/widgets#{number} -->",
        f"<!-- hotfix-bot notice {step} -->",
    ]
    assert listed.returncode == 0, listed.stderr
    assert f"fired      {step}" in listed.stdout, listed.stdout
    for answer, path in pages:
        assert answer.status_code == 200, (path, answer.text)
        if path == "/metrics":
            assert "hotfix_bot_journal_up 1.0" in answer.text
        if path == "/":  # the details: the hotfix's deliveries, from either instance
            assert f"acme/widgets#{number}" in answer.text
    said = [copied.stdout, copied.stderr, listed.stdout, listed.stderr]
    said += [answer.text for answer, _ in pages]
    said += [server.log.read_text() for server in servers]
    assert [text for text in said if PASSWORD in text] == []


def test_moving_back_into_the_journal_moved_from_is_refused_before_anything_runs_twice(
    tmp_path: Path, private_key_pem: str, database: str
) -> None:
    """ADMIN.md's copy goes both ways. Back from PostgreSQL into the SQLite file the journal
    was moved from, that file still holds the hotfix's escalation steps as waiting, and its
    copy kept them so: a server started on it would post them a second time. The copy says
    what the file is and leaves it as it was."""
    sqlite = f"sqlite:///{tmp_path / 'journal.db'}"
    admin = tmp_path / "admin"
    admin.mkdir()
    with github_and_servers(tmp_path, private_key_pem, sqlite, 2) as (fake, repo, servers):
        old, new = servers
        number = p0_hotfix_alerted(fake, repo, old)
        old.stop()
        there = hotfix_bot("journal", "copy", "--from", sqlite, "--to", database, cwd=admin)
        assert there.returncode == 0, there.stderr
        with psycopg.connect(database) as connection:  # the 15-minute step comes due
            connection.execute("UPDATE timers SET due_at = due_at - 900 WHERE status = 'scheduled'")
        new.environment["DATABASE_URL"] = database
        new.start()
        wait_for(lambda: len(repo.comments_on(number)) == 2)  # posted from PostgreSQL
        new.stop()

        back = hotfix_bot("journal", "copy", "--from", database, "--to", sqlite, cwd=admin)

    assert (back.returncode, back.stdout, back.stderr) == (
        2,
        "",
        f"hotfix-bot: --to: {tmp_path / 'journal.db'} is an older copy of "
        f"{describe_journal(database)}: it would run again 1 timer the other has finished; "
        "copy into a new file or an empty database\n",
    )
    moved_from = open_journal(sqlite, create=False)
    try:
        step = f"escalation:acme/widgets#{number}:P0:15m"
        assert {entry.timer.id: entry.status for entry in moved_from.timers()}[step] == "scheduled"
    finally:
        moved_from.close()


def test_copying_again_after_the_target_ran_a_redelivery_is_no_older_copy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """ADMIN.md: the copy may run again (with a larger --history, say) once the new
    instances work. A delivery failed in the stopped source and redelivered since in the
    target waits there newer than the source's: that is the target's work, not a copy's."""
    source_url, target_url = (f"sqlite:///{tmp_path / name}" for name in ("old.db", "new.db"))
    source = open_journal(source_url, clock=Clock(1_000.0))

    async def fail_one() -> None:
        await source.record(pull_request("d1", 1), b"{}", handled=True)
        await source.claim_ready(1)
        await source.fail("d1", "GitHub answered 404")

    try:
        asyncio.run(fail_one())
    finally:
        source.close()
    copy = ["journal", "copy", "--from", source_url, "--to", target_url]
    assert main(copy) == 0
    target = open_journal(target_url, clock=Clock(2_000.0))
    try:
        assert asyncio.run(target.redeliver("d1")) == "queued"
    finally:
        target.close()
    capsys.readouterr()

    assert main([*copy, "--history", "5000"]) == 0

    assert capsys.readouterr().err == ""
