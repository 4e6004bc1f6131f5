"""The processes of `hotfix-bot serve`, and the entry of an intake process of its own.

`serve` is an intake process itself. Beside it run one worker process
(`app.journal.worker_process`) and, with `WEB_CONCURRENCY=N`, N - 1 more intake processes:
`python -m app.intake.processes WAKE_FD`, the same endpoints on the same port. Each intake
process binds a socket of its own with SO_REUSEPORT and the kernel spreads the connections
over them; each writes the one journal through its own connection (the journal's write turn
lets several processes write), counts into the server's metrics directory, and wakes the
one worker process through the server's `WakeUps` pipe, whose write end it inherits
(WAKE_FD). They stop when `serve` closes their standard input, or dies.
"""

from __future__ import annotations

import asyncio
import sys

from app import logs
from app.child_process import ChildProcess
from app.cli import CannotListen, listen, run_server
from app.github.client import GitHubApp
from app.intake.bodies import return_large_blocks_to_the_system
from app.intake.server import create_app
from app.journal import JournalUnopenable, open_journal
from app.journal.worker_process import Waker, WakeUps, WorkerProcess
from app.settings import Settings, SettingsError, load_settings

MODULE = "app.intake.processes"


class ServerProcesses:
    """What `serve` keeps beside its own intake: the worker process and the other intake
    processes, started once credentials exist (the setup flow is one process's: its state
    is signed with a key in that process's memory)."""

    def __init__(self, settings: Settings) -> None:
        configured = settings.has_credentials
        wake_ups = WakeUps()
        self.worker = WorkerProcess(configured, wake_ups)
        self.intakes = [
            ChildProcess(
                f"intake process {number}",
                MODULE,
                configured=configured,
                arguments=[str(wake_ups.write_end)],
                pass_fds=[wake_ups.write_end],
                environment={"PORT": str(settings.port)},  # the port `serve` bound
            )
            for number in range(2, settings.web_concurrency + 1)
        ]

    def wake(self) -> None:
        self.worker.wake()

    def attach(self, github: GitHubApp) -> None:
        for child in (self.worker, *self.intakes):
            child.attach(github)

    async def run(self) -> None:
        await asyncio.gather(*(child.run() for child in (self.worker, *self.intakes)))

    def problem(self) -> str | None:
        """The first of them that is not running, for the status page."""
        problems = (child.problem() for child in (self.worker, *self.intakes))
        return next((problem for problem in problems if problem), None)


class WorkerElsewhere:
    """The server's worker process, as another intake process sees it: woken, never run."""

    def __init__(self, wake_ups: int) -> None:
        self._waker = Waker(wake_ups)

    def wake(self) -> None:
        self._waker.wake()

    def attach(self, _github: GitHubApp) -> None:
        """Credentials exist before such a process starts."""

    async def run(self) -> None:
        """The server runs the worker process."""

    def problem(self) -> str | None:
        return None


def main() -> int:
    wake_ups = int(sys.argv[1])  # the write end of the server's WakeUps, inherited
    try:
        settings = load_settings()
        sockets = listen(settings.host, settings.port, shared=True)
        journal = open_journal(settings.database_url)
    except (SettingsError, CannotListen, JournalUnopenable) as error:
        print(f"hotfix-bot intake process: {error}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level, settings.log_format)
    return_large_blocks_to_the_system()
    app = create_app(settings, journal=journal, runner=WorkerElsewhere(wake_ups))
    run_server(app, sockets, until_server_gone=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
