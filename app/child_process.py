"""A process `hotfix-bot serve` keeps beside itself: its worker process, and with
`WEB_CONCURRENCY` its other intake processes.

Each is started once credentials exist, started again when it dies (less and less often while
it keeps dying), and stopped by closing its standard input. The kernel closes that pipe when
the server dies, however it dies, so a child that watches it never outlives the server.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence

from app.github.client import GitHubApp
from policies.wording import plural

log = logging.getLogger("hotfix_bot.server")

RESTART_SECONDS = 1.0
RESTART_LONGEST_PAUSE = 60.0
HEALTHY_SECONDS = 60.0  # a child that ran this long died of something new: restart at once
STOP_SECONDS = 10.0  # for the child to finish its work when the server stops


class ChildProcess:
    """`python -m MODULE ARGUMENTS` as `serve` keeps it: `name` says which in the log."""

    def __init__(
        self,
        name: str,
        module: str,
        *,
        configured: bool,
        arguments: Sequence[str] = (),
        pass_fds: Sequence[int] = (),
        environment: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self._command = (sys.executable, "-m", module, *arguments)
        self._pass_fds = tuple(pass_fds)
        self._environment = dict(environment or {})  # over the server's own
        self._configured = asyncio.Event()
        if configured:
            self._configured.set()
        self._process: asyncio.subprocess.Process | None = None
        self._failures = 0  # exits or failed starts since a child last started

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def problem(self) -> str | None:
        """Why the child is not running now, for the status page."""
        if self._failures:
            return (
                f"{self.name.capitalize()} is not running: "
                f"{plural(self._failures, 'exit or failed start', 'exits or failed starts')} "
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
                    outcome = _ended(await self._run_child())
                except OSError as error:  # out of processes, memory or file descriptors
                    outcome = f"could not start ({error})"
                # One that keeps dying is started less and less often, up to once a minute.
                lived = time.monotonic() - started
                pause = RESTART_SECONDS if lived > HEALTHY_SECONDS else pause * 2
                pause = min(pause, RESTART_LONGEST_PAUSE)
                log.error("%s %s; starting it again in %.0f s", self.name, outcome, pause)
                await asyncio.sleep(pause)
        finally:
            await self._stop()

    async def _run_child(self) -> int:
        try:
            self._process = await asyncio.create_subprocess_exec(
                *self._command,
                stdin=asyncio.subprocess.PIPE,
                pass_fds=self._pass_fds,
                env={**os.environ, **self._environment} if self._environment else None,
                # Not in the server's process group: Ctrl-C or a service manager's signal to the
                # group stops the server, which then closes the child's pipe; the child is not
                # cut off in the middle of its work, nor started again meanwhile.
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


# What most often sends the signals that end a child, for the admin reading the log: the
# child itself has no chance to say anything.
_SIGNAL_CAUSES = {
    signal.SIGKILL: "the kernel's out-of-memory killer, or someone: the system log says which",
    signal.SIGBUS: "a file it maps could not be written: a disk full, most often",
    signal.SIGSEGV: "a crash",
}


def _ended(code: int) -> str:
    """How a child ended, from its return code: a status, or the signal that killed it."""
    if code >= 0:
        return f"exited (status {code})"
    try:
        killed = signal.Signals(-code)
    except ValueError:
        return f"was killed by signal {-code}"
    cause = _SIGNAL_CAUSES.get(killed)
    return f"was killed by {killed.name}" + (f" ({cause})" if cause else "")


def when_server_gone(
    loop: asyncio.AbstractEventLoop, callback: Callable[[], None]
) -> Callable[[], None]:
    """In the child: call `callback` once, when standard input reaches its end (the server
    closed it, or died). Returns what stops watching."""
    stdin = sys.stdin.fileno()
    os.set_blocking(stdin, False)

    def on_input() -> None:
        try:
            if os.read(stdin, 4096):
                return  # nothing is sent this way: only the end counts
        except BlockingIOError:
            return
        loop.remove_reader(stdin)
        callback()

    def stop_watching() -> None:
        loop.remove_reader(stdin)

    loop.add_reader(stdin, on_input)
    return stop_watching
