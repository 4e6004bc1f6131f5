"""The delivery journal: every accepted delivery is durable before GitHub hears `202`.

- `base`: the `Journal` protocol callers use, its entries, statuses and errors;
- `sqlite`: the journal in a SQLite file (`DATABASE_URL=sqlite:///...`), one machine;
- `postgres`: the journal in PostgreSQL (`DATABASE_URL=postgresql://...`), shared by any
  number of instances;
- `timers`: what handlers schedule for later, kept by either journal;
- `worker`, `worker_process`: what runs the journaled deliveries.

`open_journal` picks the implementation from DATABASE_URL's scheme.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from app.journal.base import (
    FIRE_PER_CLAIM,
    JOURNAL_UNUSABLE,
    STATUSES,
    SUPERSEDE_PER_CLAIM,
    TIMER_STATUSES,
    Aside,
    Journal,
    JournalEntry,
    JournalNotThere,
    JournalReplaced,
    JournalUnavailable,
    JournalUnopenable,
    LockTimeout,
    RecordOutcome,
    Redelivery,
    Status,
    TimerEntry,
    TimerStatus,
    read_aside,
)
from app.journal.sqlite import SqliteJournal, open_sqlite_journal

__all__ = [
    "FIRE_PER_CLAIM",
    "JOURNAL_UNUSABLE",
    "STATUSES",
    "SUPERSEDE_PER_CLAIM",
    "TIMER_STATUSES",
    "Aside",
    "Journal",
    "JournalEntry",
    "JournalNotThere",
    "JournalReplaced",
    "JournalUnavailable",
    "JournalUnopenable",
    "LockTimeout",
    "RecordOutcome",
    "Redelivery",
    "SqliteJournal",
    "Status",
    "TimerEntry",
    "TimerStatus",
    "checked_database_url",
    "describe_journal",
    "journal_path",
    "open_journal",
    "read_aside",
]

SQLITE_PREFIX = "sqlite:///"
POSTGRES_PREFIXES = ("postgresql://", "postgres://")


def checked_database_url(database_url: str) -> str:
    """`database_url` if it names a journal of a kind there is, written so that it can be
    read; ValueError naming the forms, or what is wrong with a PostgreSQL URL."""
    if database_url.startswith(SQLITE_PREFIX) and database_url != SQLITE_PREFIX:
        return database_url
    if any(database_url.startswith(p) and database_url != p for p in POSTGRES_PREFIXES):
        # Imported here: the processes of a SQLite journal need not load psycopg.
        from app.journal.postgres_url import check_url

        check_url(database_url)
        return database_url
    raise ValueError(
        "must look like sqlite:///relative.db, sqlite:////absolute/path.db or "
        "postgresql://user:password@host:port/database"
    )


def journal_path(database_url: str) -> Path | None:
    """The file named by DATABASE_URL (`sqlite:///relative.db`, `sqlite:////abs.db`); None
    for a journal that is no file of this machine (PostgreSQL)."""
    if not database_url.startswith(SQLITE_PREFIX):
        return None
    return Path(database_url.removeprefix(SQLITE_PREFIX))


def describe_journal(database_url: str) -> str:
    """The journal a DATABASE_URL names, for people: the file, or the PostgreSQL host, port
    and database (never the user or password)."""
    path = journal_path(database_url)
    if path is not None:
        return str(path)
    from app.journal.postgres_url import describe_url

    return describe_url(database_url)


def open_journal(
    database_url: str,
    *,
    clock: Callable[[], float] = time.time,
    create: bool = True,
    upgrade: bool | None = None,
) -> Journal:
    """The journal DATABASE_URL names; `clock` keeps its due times (tests move it). A SQLite
    file that is not there, or the journal's tables in a PostgreSQL database, are made unless
    `create` is False (then JournalUnopenable); a PostgreSQL database is never made. An older
    schema is migrated when `upgrade` (by default, when `create`), else JournalUnopenable."""
    upgrade = create if upgrade is None else upgrade
    try:
        checked_database_url(database_url)
    except ValueError as error:
        raise JournalUnopenable(str(error)) from None
    path = journal_path(database_url)
    if path is not None:
        return open_sqlite_journal(path, clock, create=create, upgrade=upgrade)
    # Imported here: the processes of a SQLite journal need not load psycopg.
    from app.journal.postgres import PostgresJournal

    return PostgresJournal(database_url, clock, create=create, upgrade=upgrade)
