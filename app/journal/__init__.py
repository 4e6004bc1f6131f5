"""The delivery journal: every accepted delivery is durable before GitHub hears `202`.

- `base`: the `Journal` protocol callers use, its entries, statuses and errors;
- `sqlite`: the journal in a SQLite file (`DATABASE_URL=sqlite:///...`), one machine;
- `worker`, `worker_process`: what runs the journaled deliveries.

`open_journal` picks the implementation from DATABASE_URL's scheme.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from app.journal.base import (
    JOURNAL_UNUSABLE,
    STATUSES,
    SUPERSEDE_PER_CLAIM,
    Journal,
    JournalEntry,
    JournalReplaced,
    JournalUnavailable,
    JournalUnopenable,
    RecordOutcome,
    Status,
)
from app.journal.sqlite import SqliteJournal, open_sqlite_journal

__all__ = [
    "JOURNAL_UNUSABLE",
    "STATUSES",
    "SUPERSEDE_PER_CLAIM",
    "Journal",
    "JournalEntry",
    "JournalReplaced",
    "JournalUnavailable",
    "JournalUnopenable",
    "RecordOutcome",
    "SqliteJournal",
    "Status",
    "journal_path",
    "open_journal",
]

SQLITE_PREFIX = "sqlite:///"


def journal_path(database_url: str) -> Path:
    """The file named by DATABASE_URL (`sqlite:///relative.db`, `sqlite:////abs.db`)."""
    return Path(database_url.removeprefix(SQLITE_PREFIX))


def open_journal(database_url: str, *, clock: Callable[[], float] = time.time) -> Journal:
    """The journal DATABASE_URL names; `clock` keeps its due times (tests move it)."""
    return open_sqlite_journal(journal_path(database_url), clock)
