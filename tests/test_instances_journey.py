"""An administrator outgrows one SQLite instance, following ADMIN.md (*Several instances:
PostgreSQL*, *Moving a journal*) on real processes: a SQLite server with pending work and
timers, `hotfix-bot journal copy` into a PostgreSQL database, then instances on it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from support.live_server import github_and_server, open_hotfix
from support.postgres import PostgresServer

from app.journal import open_journal


@pytest.fixture
def database(postgres: PostgresServer) -> Iterator[str]:
    with postgres.database() as url:
        yield url


def hotfix_bot(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`hotfix-bot ARGUMENTS` as the administrator types it, in `cwd`."""
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *arguments],
        cwd=cwd, env=os.environ.copy(), capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip


def tables(database: str) -> list[str]:
    with psycopg.connect(database) as connection:
        rows = connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        ).fetchall()
    return [str(name) for (name,) in rows]


def test_a_copy_from_a_journal_its_server_still_runs_on_is_refused_until_it_stops(
    tmp_path: Path, private_key_pem: str, database: str
) -> None:
    """What the server runs or acknowledges after a copy would be run a second time by the
    new instances, or be missing from their journal: ADMIN.md says to stop it first, and the
    copy holds the administrator to it."""
    journal = tmp_path / "journal.db"
    copy = ("journal", "copy", "--from", f"sqlite:///{journal}", "--to", database)
    elsewhere = tmp_path / "admin"
    elsewhere.mkdir()
    with github_and_server(tmp_path, private_key_pem) as (fake, repo, server):
        server.start()
        number = open_hotfix(repo)
        answer = server.deliver(
            "pull_request", fake.pull_request_event(repo, number, "opened"), "opened-1"
        )
        assert answer.status_code == 202, answer.text

        refused = hotfix_bot(*copy, cwd=elsewhere)

        assert (refused.returncode, refused.stdout, refused.stderr) == (
            2,
            "",
            f"hotfix-bot: --from: a hotfix-bot serve is running on the journal {journal}: "
            "stop it first, or what it runs or takes after the copy would run twice or be "
            "missing from the copy\n",
        )
        assert tables(database) == []  # nothing made in the target
        server.stop()

    copied = hotfix_bot(*copy, cwd=elsewhere)

    assert copied.returncode == 0, copied.stderr
    assert copied.stdout.startswith("copied 1 delivery (")
    target = open_journal(database, create=False)
    try:
        assert [entry.id for entry in target.recent()] == ["opened-1"]
    finally:
        target.close()
