"""The worker in a process of its own, beside `hotfix-bot serve`'s intake processes.

The intake answers GitHub and journals deliveries; the worker runs them. In one process they
would share one event loop and one interpreter lock, so a busy worker would slow every
acknowledgement down. Here they share only the journal (see `app.journal` for how several
processes write to it).

`WorkerProcess` runs in the server: it starts `python -m app.journal.worker_process` once
credentials exist and starts it again if it dies (`app.child_process`). Every intake process
of the server wakes it through one pipe (`WakeUps`), one byte per wake-up. The child exits
when its standard input closes (the kernel closes it when the server dies, however it dies),
so it never outlives the server, not even while it waits for the journal's worker lock; it
takes that lock (SQLite journals: one worker each) before it resumes anything, so a child
left from a killed server has gone before the next one takes its deliveries over. Workers on
a PostgreSQL journal take no lock: their claims are leased.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import select
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import uvloop

from app import logs
from app.chat import chat_webhook
from app.child_process import ChildProcess, when_server_gone
from app.handlers.table import build_router
from app.journal import journal_path, open_journal
from app.journal.worker import Worker
from app.services import github_app
from app.settings import Settings, SettingsError, load_settings

log = logging.getLogger("hotfix_bot.worker")

LOCK_POLL_SECONDS = 0.2  # how often a child waiting for the worker lock tries it again
WAKE_GAP_SECONDS = 0.005  # an intake process wakes the worker at most this often
WAKE = b"\x00"
SERVER_GONE = "the server is gone (standard input closed): the worker process exits"


class ServerGone(Exception):
    """The server closed the child's standard input: it stopped, or it died."""


class WakeUps:
    """How a server's intake processes wake its worker process: a pipe whose read end the
    worker watches and whose write end every intake process holds. A byte means "something
    new is in the journal"; bytes that arrive together are one wake-up. Both ends are
    non-blocking: a full pipe already holds a wake-up, and the byte is dropped."""

    def __init__(self) -> None:
        self.read_end, self.write_end = os.pipe()
        os.set_blocking(self.read_end, False)
        os.set_blocking(self.write_end, False)


class Waker:
    """One intake process's side of `WakeUps`, through its write end."""

    def __init__(self, write_end: int) -> None:
        self._write_end = write_end
        self._pending = False
        self._sent_at = float("-inf")

    def wake(self) -> None:
        """The wake-ups asked for in one turn of the event loop go out as one byte at the end
        of it: a group commit answers its whole batch in one turn, and a byte per delivery
        cost the intake a pipe write and the worker a claim of the journal's write turn for
        each delivery. And one byte at most every `WAKE_GAP_SECONDS`: each wakes the worker
        process, which under a stream of deliveries took the intake's core from it several
        hundred times a second, while the worker takes the wake-ups of 20 ms as one claim
        anyway when deliveries wait (`app.journal.worker.CLAIM_GAP_SECONDS`)."""
        if self._pending:
            return
        self._pending = True
        loop = asyncio.get_running_loop()
        wait = self._sent_at + WAKE_GAP_SECONDS - loop.time()
        if wait > 0:
            loop.call_later(wait, self._send)
        else:
            loop.call_soon(self._send)

    def _send(self) -> None:
        self._pending = False
        self._sent_at = asyncio.get_running_loop().time()
        # Full: the worker has bytes to read, a wake-up, already. No reader left: the
        # server is going, and this process with it.
        with contextlib.suppress(BlockingIOError, BrokenPipeError):
            os.write(self._write_end, WAKE)


class WorkerProcess(ChildProcess):
    """The child process that runs the worker, as `serve` keeps it; woken through `wake_ups`,
    whose read end it inherits."""

    def __init__(self, configured: bool, wake_ups: WakeUps) -> None:
        super().__init__(
            "the worker process",
            "app.journal.worker_process",
            configured=configured,
            arguments=[str(wake_ups.read_end)],
            pass_fds=[wake_ups.read_end],
        )
        self._waker = Waker(wake_ups.write_end)

    def wake(self) -> None:
        self._waker.wake()


def server_gone_within(seconds: float) -> bool:
    """Whether standard input reaches its end within `seconds`: nothing else comes that way
    (wake-ups come through `WakeUps`)."""
    stdin = sys.stdin.fileno()
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        readable, _, _ = select.select([stdin], [], [], left)
        if not readable:
            return False
        if not os.read(stdin, 4096):
            return True
    return False


@contextlib.contextmanager
def single_worker(database: Path) -> Iterator[None]:
    """Hold the journal's worker lock: one worker per journal, and none before the last has
    exited (the kernel releases the lock of a process that died). Raises ServerGone if the
    server goes while this waits for the lock."""
    with os.fdopen(os.open(f"{database}.worker-lock", os.O_RDWR | os.O_CREAT, 0o600)) as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.warning("waiting for the previous worker process to exit")
            _wait_for_lock(lock.fileno())
        yield


def _wait_for_lock(lock: int) -> None:
    # Tried again and again rather than waited for in flock(), which would not notice
    # that the server is gone.
    while not server_gone_within(LOCK_POLL_SECONDS):
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            continue
    raise ServerGone


async def work(settings: Settings, wake_ups: int) -> None:
    """Run the worker, woken by bytes on `wake_ups`, until standard input closes: the server
    is gone."""
    github = github_app(settings)
    if github is None:
        raise SettingsError("APP_ID and PRIVATE_KEY are required to run the worker")
    journal = open_journal(settings.database_url)
    # The router's table, built here as `serve` builds it: this process composes the worker,
    # the one module of app.journal that pyproject.toml's import contract lets import the
    # handlers; the worker itself knows only the router's interface.
    worker = Worker(journal, build_router(), github, chat=chat_webhook(settings))
    loop = asyncio.get_running_loop()
    server_gone = loop.create_future()

    def on_wake() -> None:
        try:
            while os.read(wake_ups, 4096):  # everything written so far: one wake-up
                pass
        except BlockingIOError:
            pass  # read to the end of what was written
        else:
            loop.remove_reader(wake_ups)  # every intake process has gone: no more will come
        worker.wake()

    loop.add_reader(wake_ups, on_wake)
    stop_watching = when_server_gone(loop, lambda: server_gone.set_result(None))
    running = asyncio.create_task(worker.run(), name="worker")
    try:
        await asyncio.wait({running, server_gone}, return_when=asyncio.FIRST_COMPLETED)
        if running.done():
            running.result()  # the worker stopped by itself: exit, and the server restarts us
    finally:
        stop_watching()
        loop.remove_reader(wake_ups)
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await github.aclose()
        journal.close()


def main() -> int:
    wake_ups = int(sys.argv[1])  # the read end of the server's WakeUps, inherited
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"hotfix-bot worker: {error}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level, settings.log_format)
    try:
        database = journal_path(settings.database_url)
        # A PostgreSQL journal is shared by any number of workers, each claim leased to one.
        with single_worker(database) if database else contextlib.nullcontext():
            uvloop.run(work(settings, wake_ups))
    except ServerGone:
        pass  # while waiting for the lock: nothing started, nothing to stop
    log.info(SERVER_GONE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
