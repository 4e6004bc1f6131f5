"""The worker in a process of its own, beside `hotfix-bot serve`'s intake.

The intake answers GitHub and journals deliveries; the worker runs them. In one process they
would share one event loop and one interpreter lock, so a busy worker would slow every
acknowledgement down. Here they share only the journal (see `app.journal` for how several
processes write to it).

`WorkerProcess` runs in the server: it starts `python -m app.journal.worker_process` once
credentials exist, starts it again if it dies, and wakes it through its standard input, one
byte per wake-up. The child exits when that pipe closes (the kernel closes it when the server dies,
however it dies), so it never outlives the server, not even while it waits for the journal's
worker lock; it takes that lock (SQLite journals: one worker each) before it resumes
anything, so a child left from a killed server has gone before the next one takes its
deliveries over. Workers on a PostgreSQL journal take no lock: their claims are leased.
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
from app.github.client import GitHubApp
from app.handlers import build_router
from app.journal import journal_path, open_journal
from app.journal.worker import Worker
from app.services import github_app
from app.settings import Settings, SettingsError, load_settings

log = logging.getLogger("hotfix_bot.worker")

RESTART_SECONDS = 1.0
RESTART_LONGEST_PAUSE = 60.0
HEALTHY_SECONDS = 60.0  # a child that ran this long died of something new: restart at once
STOP_SECONDS = 10.0  # for the child to cancel its work when the server stops
LOCK_POLL_SECONDS = 0.2  # how often a child waiting for the worker lock tries it again
WAKE = b"\x00"
SERVER_GONE = "the server is gone (standard input closed): the worker process exits"


class ServerGone(Exception):
    """The server closed the child's standard input: it stopped, or it died."""


class WorkerProcess:
    """The child process that runs the worker, as `serve` keeps it."""

    def __init__(self, configured: bool) -> None:
        self._configured = asyncio.Event()
        if configured:
            self._configured.set()
        self._process: asyncio.subprocess.Process | None = None
        self._failures = 0  # exits or failed starts since a child last started
        self._wake_pending = False

    def wake(self) -> None:
        """Something new is in the journal. The wake-ups asked for in one turn of the event
        loop go out as one byte at the end of it: a group commit answers its whole batch in
        one turn, and a byte per delivery cost the intake a pipe write and the worker a
        claim of the journal's write turn for each delivery."""
        if not self._wake_pending:
            self._wake_pending = True
            asyncio.get_running_loop().call_soon(self._send_wake)

    def _send_wake(self) -> None:
        self._wake_pending = False
        pipe = self._process.stdin if self._process is not None else None
        # While an earlier byte is still on its way the worker has a wake-up pending anyway.
        if pipe is None or pipe.is_closing() or pipe.transport.get_write_buffer_size():
            return
        pipe.write(WAKE)

    def problem(self) -> str | None:
        """Why deliveries cannot run now, for the status page."""
        if self._failures:
            return (
                f"The worker process is not running: {self._failures} exits or failed starts "
                "in a row. It is started again; its log says why it stopped."
            )
        return None

    def attach(self, _github: GitHubApp) -> None:
        """Credentials arrived (the setup page wrote them to .env): start the child."""
        self._configured.set()

    async def run(self) -> None:
        await self._configured.wait()
        pause = RESTART_SECONDS / 2  # doubled before the first wait
        try:
            while True:
                started = time.monotonic()
                try:
                    outcome = f"exited (status {await self._run_child()})"
                except OSError as error:  # out of processes, memory or file descriptors
                    outcome = f"could not start ({error})"
                # One that keeps dying is started less and less often, up to once a minute.
                lived = time.monotonic() - started
                pause = RESTART_SECONDS if lived > HEALTHY_SECONDS else pause * 2
                pause = min(pause, RESTART_LONGEST_PAUSE)
                log.error("the worker process %s; starting it again in %.0f s", outcome, pause)
                await asyncio.sleep(pause)
        finally:
            await self._stop()

    async def _run_child(self) -> int:
        try:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "app.journal.worker_process",
                stdin=asyncio.subprocess.PIPE,
                # Not in the server's process group: Ctrl-C or a service manager's signal to the
                # group stops the server, which then closes the child's pipe; the child is not
                # cut off in the middle of a delivery, nor started again meanwhile.
                start_new_session=True,
            )
        except OSError:
            self._failures += 1
            raise
        self._failures = 0
        code = await self._process.wait()
        self._failures += 1
        return code

    async def _stop(self) -> None:
        process = self._process
        if process is None or process.returncode is not None:
            return
        if process.stdin is not None:
            process.stdin.close()  # the child's cue to stop
        try:
            async with asyncio.timeout(STOP_SECONDS):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()


def server_gone_within(seconds: float) -> bool:
    """Whether standard input reaches its end within `seconds`. Wake-ups read meanwhile are
    dropped: a worker that has not started yet runs whatever is queued once it starts."""
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


async def work(settings: Settings) -> None:
    """Run the worker until standard input closes: the server is gone."""
    github = github_app(settings)
    if github is None:
        raise SettingsError("APP_ID and PRIVATE_KEY are required to run the worker")
    journal = open_journal(settings.database_url)
    worker = Worker(journal, build_router(), github, chat=chat_webhook(settings))
    loop = asyncio.get_running_loop()
    server_gone = loop.create_future()

    def on_wake() -> None:
        if os.read(sys.stdin.fileno(), 4096):
            worker.wake()
        elif not server_gone.done():
            server_gone.set_result(None)

    os.set_blocking(sys.stdin.fileno(), False)
    loop.add_reader(sys.stdin.fileno(), on_wake)
    running = asyncio.create_task(worker.run(), name="worker")
    try:
        await asyncio.wait({running, server_gone}, return_when=asyncio.FIRST_COMPLETED)
        if running.done():
            running.result()  # the worker stopped by itself: exit, and the server restarts us
    finally:
        loop.remove_reader(sys.stdin.fileno())
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await github.aclose()
        journal.close()


def main() -> int:
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
            uvloop.run(work(settings))
    except ServerGone:
        pass  # while waiting for the lock: nothing started, nothing to stop
    log.info(SERVER_GONE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
