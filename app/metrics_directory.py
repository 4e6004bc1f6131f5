"""The directory of a running `hotfix-bot serve` for the files behind its /metrics.

Its intake processes and its worker process each keep their values in files there
(prometheus_client's multiprocess mode, see app.metrics), and /metrics adds up the files of
that directory alone.
Several servers may share one journal (on other ports, or one after another), so each has a
directory of its own, `<journal>.metrics/server-<pid>/`, and holds a lock on it while it
runs. A starting server removes the directories whose lock nobody holds: their server has
exited (the kernel releases an exited process's locks), never one of a running server. A
server that stops from within (Ctrl-C, a failed start) removes its own at once; one stopped
by SIGTERM, which uvicorn raises again after its shutdown, or killed, leaves it to the next.
Starting servers take turns through `<journal>.metrics/setup.lock`, so none removes the
directory another is creating. The locks also tell `hotfix-bot journal copy` whether a
server runs on the journal it would copy.

This module imports no prometheus_client: the directory is chosen before that is imported.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

PREFIX = "server-"


class MetricsDirectory:
    """This server's directory under `root`, locked until `close()`; abandoned ones removed.

    Raises OSError when `root` cannot be created or written."""

    def __init__(self, root: Path) -> None:
        with contextlib.suppress(FileExistsError):
            root.mkdir(0o700)
        with _setup_turn(root):
            _remove_abandoned(root)
            # One of this pid left by a process that died was abandoned: removed above.
            self.path = root / f"{PREFIX}{os.getpid()}"
            self.path.mkdir(0o700)
            self._lock = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY)
            fcntl.flock(self._lock, fcntl.LOCK_EX)

    def close(self) -> None:
        """Remove this server's files: what it counted ends with it."""
        shutil.rmtree(self.path, ignore_errors=True)
        os.close(self._lock)


@contextlib.contextmanager
def _setup_turn(root: Path) -> Iterator[None]:
    descriptor = os.open(root / "setup.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def server_running(root: Path) -> bool:
    """Whether a server holds a directory under `root`: one runs on its journal now."""
    if not root.is_dir():
        return False  # no server ever ran there
    try:
        with _setup_turn(root):  # not between a starting server's mkdir and its lock
            return any(_held(directory) for directory in root.glob(f"{PREFIX}*"))
    except OSError:
        return False  # another user's: opening its journal will say so


def _remove_abandoned(root: Path) -> None:
    """Remove the directories of servers that died without removing theirs."""
    for directory in root.glob(f"{PREFIX}*"):
        if _held(directory) is False:
            shutil.rmtree(directory, ignore_errors=True)


def _held(directory: Path) -> bool | None:
    """Whether a running server holds `directory`'s lock; None if it is none of ours."""
    try:
        descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:  # not a directory (or gone meanwhile)
        return None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)  # releases the lock this took, if it took it
    return False
