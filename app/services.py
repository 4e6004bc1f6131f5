"""What the endpoints, the pages and the worker share, and the one place a GitHub client is
built from settings (`serve`'s intake and its worker process alike)."""

from __future__ import annotations

import asyncio
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

    @property
    def accepting(self) -> bool:
        return self.github is not None and self.settings.webhook_secret is not None

    def delivery_taken(self) -> None:
        self.refused_delivery_bytes = 0

    def delivery_refused(self, size: int) -> None:
        self.refused_delivery_bytes = size

    async def check_journal(self) -> None:
        """JournalUnavailable unless the journal takes a write now. Once it refused a
        delivery, until it takes one, the write is as large as that delivery's body: a disk
        too full for deliveries may still have room for a heartbeat of a few bytes, and
        nothing would then say so. The body as received is more than the journal keeps of it
        (compressed), which leaves room for the row and its indexes (docs/RELIABILITY.md,
        "Durability")."""
        refused = self.refused_delivery_bytes
        await self.journal.check_writable(refused)
        if refused:
            if self.refused_delivery_bytes == refused:  # no other refused since
                self.refused_delivery_bytes = 0
            await self.journal.check_writable()  # the heartbeat is not kept that large

    async def journal_problem(self) -> str | None:
        """Why the journal cannot take writes now, as /readyz and the status page say it;
        None when it can."""
        try:
            await self.check_journal()
        except JournalReplaced:
            return JOURNAL_REPLACED
        except JournalUnavailable:
            return JOURNAL_UNUSABLE
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
    return GitHubApp(settings.app_id, pem, settings.github_api_url, transport, timeouts=timeouts)
