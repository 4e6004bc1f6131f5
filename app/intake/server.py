"""The server: the Starlette app, its endpoints, and the worker that runs beside it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
from starlette.applications import Starlette

from app.chat import CHAT_TIMEOUT, chat_webhook
from app.github.client import TIMEOUTS, Timeouts
from app.handlers.routing import Router
from app.handlers.table import build_router
from app.intake.bodies import BodyBudget
from app.intake.endpoints import endpoints
from app.intake.framing import NotFramable
from app.journal import Journal, open_journal
from app.journal.worker import Worker
from app.pages.setup import SetupFlow
from app.pages.status import StatusPage
from app.services import Runner, Services, github_app
from app.settings import Settings


def create_app(
    settings: Settings,
    *,
    router: Router | None = None,
    journal: Journal | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    github_timeouts: Timeouts = TIMEOUTS,
    runner: Runner | None = None,
    bodies: BodyBudget | None = None,
    chat_timeout: float = CHAT_TIMEOUT,
) -> Starlette:
    """The server. `runner` runs what it journals: as `serve` runs it, the worker process
    (`app.intake.processes`); by default a `Worker` on this event loop, which gives chat
    `chat_timeout` seconds an attempt."""
    router = router or build_router()
    journal = journal or open_journal(settings.database_url)
    github = github_app(settings, transport, github_timeouts)
    worker = runner or Worker(journal, router, github, chat=chat_webhook(settings, chat_timeout))
    services = Services(
        settings,
        journal,
        router,
        github,
        worker,
        bodies=bodies or BodyBudget(),
        transport=transport,
        github_timeouts=github_timeouts,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        services.background.append(asyncio.create_task(worker.run(), name="worker"))
        try:
            yield
        finally:
            for task in services.background:
                task.cancel()
            await asyncio.gather(*services.background, return_exceptions=True)
            if services.github is not None:
                await services.github.aclose()
            journal.close()

    app = NotFramable(routes=endpoints(settings.webhook_path), lifespan=lifespan)
    app.state.services = services
    app.state.setup = SetupFlow(services)
    app.state.status = StatusPage(services)
    return app
