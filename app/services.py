"""What the endpoints, the pages and the worker share, and the one place a GitHub client is
built from settings (`serve`'s intake and its worker process alike)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import httpx

from app.github.client import TIMEOUTS, GitHubApp, Timeouts
from app.handlers.routing import Router
from app.intake.bodies import BodyBudget
from app.journal import JOURNAL_UNUSABLE, Journal, JournalReplaced, JournalUnavailable
from app.settings import Settings

# Told to anyone who asks: the path, which the log gives, is not.
JOURNAL_REPLACED = (
    "the journal file was deleted or replaced while hotfix-bot was running: "
    "put it back, or restart hotfix-bot to open the file now at its path"
)

# Deliveries refused for their signature are logged at most once in this many seconds: a
# wrong WEBHOOK_SECRET refuses every delivery, and anyone may send unsigned requests.
SIGNATURE_LOG_INTERVAL_SECONDS = 60.0

# A room probe that failed (`Services.check_journal`) is the answer for this long: /readyz
# asked in a loop, which anyone may do, writes `ROOM_PROBE_BYTES` at most once a second in
# each intake process, not as often as the disk takes it, and a load balancer asking every
# few seconds still gets a fresh answer each time.
ROOM_PROBE_REUSE_SECONDS = 1.0


class Runner(Protocol):
    """What runs journaled deliveries: a `Worker` here, or a `WorkerProcess` beside us."""

    def wake(self) -> None: ...
    def attach(self, github: GitHubApp) -> None: ...
    async def run(self) -> None: ...
    def problem(self) -> str | None: ...


@dataclass
class Services:
    settings: Settings
    journal: Journal
    router: Router
    github: GitHubApp | None
    worker: Runner
    bodies: BodyBudget
    background: list[asyncio.Task[None]] = field(default_factory=list)
    # How GitHub is reached (None: the network); kept for credentials that arrive later.
    transport: httpx.AsyncBaseTransport | None = None
    github_timeouts: Timeouts = TIMEOUTS
    # The size of the last delivery the journal refused, until it takes one again, or a write
    # as large (`check_journal`); 0 meanwhile.
    refused_delivery_bytes: int = 0
    # What a failed room probe's age is read on (monotonic seconds).
    clock: Callable[[], float] = time.monotonic
    # Deliveries refused so far: a room probe that began before the last one does not clear it.
    _refusals: int = field(default=0, init=False, repr=False)
    # Signature refusals not yet logged, and when the last were (`signature_refused`).
    _unlogged_signature_refusals: int = field(default=0, init=False, repr=False)
    _signature_logged_at: float | None = field(default=None, init=False, repr=False)
    # The write `check_journal` makes after a refusal, while it runs; its failure, and when.
    _room_probe: asyncio.Task[None] | None = field(default=None, init=False, repr=False)
    _room_refused: tuple[float, JournalUnavailable] | None = field(
        default=None, init=False, repr=False
    )

    @property
    def accepting(self) -> bool:
        return self.github is not None and self.settings.webhook_secret is not None

    def delivery_taken(self) -> None:
        self.refused_delivery_bytes = 0

    def delivery_refused(self, size: int) -> None:
        self.refused_delivery_bytes = size
        self._refusals += 1

    def signature_refused(self) -> int | None:
        """Count a delivery refused for its signature; the number to log now, this one
        included, or None while the last such line is younger than
        `SIGNATURE_LOG_INTERVAL_SECONDS`."""
        self._unlogged_signature_refusals += 1
        now = self.clock()
        logged_at = self._signature_logged_at
        if logged_at is not None and now - logged_at < SIGNATURE_LOG_INTERVAL_SECONDS:
            return None
        refused, self._unlogged_signature_refusals = self._unlogged_signature_refusals, 0
        self._signature_logged_at = now
        return refused

    async def check_journal(self, *, probe_room: bool = True) -> None:
        """JournalUnavailable unless the journal takes a write now. Once it refused a
        delivery, until it takes one, the write is as large as that delivery's body, up to
        `ROOM_PROBE_BYTES` (app/journal/base.py): a disk too full for deliveries may still
        have room for a heartbeat of a few bytes, and nothing would then say so
        (docs/RELIABILITY.md, "Durability"). One such write at a time: whoever asks
        meanwhile gets its answer, and a failed one is the answer for
        `ROOM_PROBE_REUSE_SECONDS`. Without `probe_room` (the status page, which anyone may
        load) the write is a few bytes, and after a refusal the answer is what the last
        large one said: none has fitted since."""
        refused = self.refused_delivery_bytes
        if not refused or not probe_room:
            await self.journal.check_writable()
            if refused:
                raise JournalUnavailable("journal write failed: no room for the last delivery")
            return
        if self._room_refused is not None:
            failed_at, failure = self._room_refused
            if self.clock() - failed_at < ROOM_PROBE_REUSE_SECONDS:
                raise failure.with_traceback(None)  # not one frame more each time
        if self._room_probe is None:
            self._room_probe = asyncio.create_task(self._probe_room(refused, self._refusals))
        # Shielded: a caller that gives up (its client gone) leaves the others their answer.
        await asyncio.shield(self._room_probe)

    async def _probe_room(self, size: int, refusals: int) -> None:
        try:
            await self.journal.check_writable(size)
        except JournalUnavailable as failure:
            self._room_refused = (self.clock(), failure)
            raise
        finally:
            self._room_probe = None
        self._room_refused = None
        if self._refusals == refusals:
            self.refused_delivery_bytes = 0

    async def journal_problem(
        self, *, probe_room: bool = True, details: bool = False
    ) -> str | None:
        """Why the journal cannot take writes now, as /readyz and the status page say it;
        None when it can (`check_journal`). With `details` (an admin's), what the journal
        answered and what to do about the deliveries refused meanwhile."""
        try:
            await self.check_journal(probe_room=probe_room)
        except JournalReplaced:
            return JOURNAL_REPLACED
        except JournalUnavailable as error:
            if not details:
                return JOURNAL_UNUSABLE
            return (
                f"{JOURNAL_UNUSABLE} ({error}). Deliveries are answered 503 meanwhile and kept "
                "nowhere: once it is writable again (room made on its disk, for one), "
                "redeliver them from the App's Recent Deliveries on GitHub."
            )
        return None

    def configure(self, settings: Settings) -> None:
        """Credentials arrived while running (the setup page): switch to configured."""
        github = github_app(settings, self.transport, self.github_timeouts)
        if github is None:
            raise ValueError("configure() needs settings with APP_ID and a private key")
        self.settings, self.github = settings, github
        self.worker.attach(github)


def github_app(
    settings: Settings,
    transport: httpx.AsyncBaseTransport | None = None,
    timeouts: Timeouts = TIMEOUTS,
) -> GitHubApp | None:
    pem = settings.private_key_pem()
    if settings.app_id is None or pem is None:
        return None  # setup mode
    return GitHubApp(
        settings.app_id,
        pem,
        settings.github_api_url,
        transport,
        timeouts=timeouts,
        private_key_variable=settings.private_key_variable,
    )
