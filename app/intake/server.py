"""The HTTP surface: webhook intake, health, readiness, metrics, setup and status pages."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from importlib.metadata import version
from typing import Protocol

import httpx
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from app.github.client import TIMEOUT, GitHubApp
from app.handlers import build_router
from app.handlers.routing import Router
from app.intake import delivery as deliveries
from app.journal import (
    JOURNAL_UNUSABLE,
    Journal,
    JournalReplaced,
    JournalUnavailable,
    open_journal,
)
from app.journal.worker import Worker
from app.journal.worker_process import WorkerProcess
from app.metrics import DELIVERIES, QUEUE_DEPTH, generate_latest
from app.pages.setup import CALLBACK_PATH, SetupFlow
from app.pages.status import StatusPage
from app.settings import Settings

log = logging.getLogger("hotfix_bot.intake")

MAX_BODY_BYTES = 25 * 1024 * 1024
# Bodies held at once, all deliveries together: with the process itself (~75 MB) and what a
# signed body costs while it is checked and journaled, the intake stays under 256 MiB
# (docs/RELIABILITY.md, "The intake's own limits").
BODIES_IN_FLIGHT_BYTES = 64 * 1024 * 1024
RETRY_AFTER_SECONDS = 5
MAX_DELIVERY_ID_LENGTH = 128
VERSION = version("hotfix-bot")
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


class BodyBudget:
    """The bytes of request bodies the intake holds at once, all deliveries together.

    A body is counted at its `Content-Length` before it is read. One that does not fit waits
    up to `wait` seconds for room, at most `max_waiting` of them at once (uvicorn holds up to
    a few hundred KiB of each meanwhile); otherwise it is refused.
    """

    def __init__(
        self, limit: int = BODIES_IN_FLIGHT_BYTES, wait: float = 2.0, max_waiting: int = 32
    ) -> None:
        self.limit, self.wait, self.max_waiting = limit, wait, max_waiting
        self.held = 0
        self._waiting = 0
        self._freed = asyncio.Event()

    def try_take(self, size: int) -> bool:
        if self.held + size > self.limit:
            return False
        self.held += size
        return True

    async def wait_to_take(self, size: int) -> bool:
        if size > self.limit or self._waiting >= self.max_waiting:
            return False
        self._waiting += 1
        try:
            async with asyncio.timeout(self.wait):
                while not self.try_take(size):
                    self._freed.clear()
                    await self._freed.wait()
        except TimeoutError:
            return False
        finally:
            self._waiting -= 1
        return True

    def give_back(self, size: int) -> None:
        self.held -= size
        if self._waiting:
            self._freed.set()


# glibc's mallopt() parameter, and the size from which each block gets a mapping of its own.
_M_MMAP_THRESHOLD = -3
_OWN_MAPPING_BYTES = 1024 * 1024


def return_large_blocks_to_the_system() -> None:
    """Give blocks of 1 MiB and more mappings of their own, returned to the system when
    freed, so that the memory large bodies took does not stay with the process.

    glibc raises that threshold to the largest block freed (up to 32 MiB): after one 25 MiB
    body, the next ones came from the heap, which kept what they freed, and the peak of 12
    signed 24 MiB deliveries at once grew from 230 MB to 290 MB over a few rounds. With the
    threshold fixed it stays at 207 MB. Without glibc nothing changes.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt(_M_MMAP_THRESHOLD, _OWN_MAPPING_BYTES)


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
    github_timeout: httpx.Timeout = field(default_factory=lambda: TIMEOUT)

    @property
    def accepting(self) -> bool:
        return self.github is not None and self.settings.webhook_secret is not None

    def configure(self, settings: Settings) -> None:
        """Credentials arrived while running (the setup page): switch to configured."""
        github = github_app(settings, self.transport, self.github_timeout)
        if github is None:
            raise ValueError("configure() needs settings with APP_ID and a private key")
        self.settings, self.github = settings, github
        self.worker.attach(github)


def github_app(
    settings: Settings,
    transport: httpx.AsyncBaseTransport | None = None,
    timeout: httpx.Timeout = TIMEOUT,
) -> GitHubApp | None:
    pem = settings.private_key_pem()
    if settings.app_id is None or pem is None:
        return None  # setup mode
    return GitHubApp(settings.app_id, pem, settings.github_api_url, transport, timeout=timeout)


def create_app(
    settings: Settings,
    *,
    router: Router | None = None,
    journal: Journal | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    github_timeout: httpx.Timeout = TIMEOUT,
    worker_process: bool = False,
    bodies: BodyBudget | None = None,
) -> Starlette:
    """The server. With `worker_process` (as `serve` runs it) deliveries run in a child
    process, which reads its settings as this one did; otherwise on this event loop."""
    router = router or build_router()
    journal = journal or open_journal(settings.database_url)
    # Counted when /metrics is read, not on every delivery.
    QUEUE_DEPTH.count = lambda: journal.count(("queued", "running"))
    github = github_app(settings, transport, github_timeout)
    worker: Runner = (
        WorkerProcess(configured=github is not None)
        if worker_process
        else Worker(journal, router, github)
    )
    services = Services(
        settings,
        journal,
        router,
        github,
        worker,
        bodies=bodies or BodyBudget(),
        transport=transport,
        github_timeout=github_timeout,
    )
    setup = SetupFlow(services)
    status = StatusPage(services)

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

    async def webhook(request: Request) -> Response:
        return await receive_webhook(services, request)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok", "version": VERSION})

    async def readyz(_: Request) -> Response:
        problems = []
        try:
            await journal.check_writable()
        except JournalReplaced:
            problems.append(JOURNAL_REPLACED)
        except JournalUnavailable:
            problems.append(JOURNAL_UNUSABLE)
        if services.github is None:
            problems.append("no GitHub App credentials (APP_ID, PRIVATE_KEY)")
        if problems:
            return JSONResponse({"status": "unavailable", "problems": problems}, 503)
        # Ready as docs/BEHAVIOUR.md defines it (journal and credentials); said, not hidden.
        if services.settings.webhook_secret is None:
            warning = "no WEBHOOK_SECRET: every delivery is refused with 503"
            return JSONResponse({"status": "ready", "warnings": [warning]})
        return JSONResponse({"status": "ready"})

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    async def home(request: Request) -> Response:
        if services.github is None:
            return await setup.page(request)
        return await status.page(request)

    async def sign_in(request: Request) -> Response:
        if services.github is None:  # nothing to sign in to before the App exists
            return RedirectResponse("/", 303)
        return await status.sign_in(request)

    app = Starlette(
        routes=[
            Route(settings.webhook_path, webhook, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route("/", home, methods=["GET"]),
            Route("/", sign_in, methods=["POST"]),
            Route(CALLBACK_PATH, setup.callback, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.services = services
    return app


def _refuse(
    status: int, message: str, event: str = "unknown", headers: dict[str, str] | None = None
) -> JSONResponse:
    DELIVERIES.labels(event=event, outcome="refused").inc()
    return JSONResponse({"error": message}, status, headers)


async def receive_webhook(services: Services, request: Request) -> Response:
    secret = services.settings.webhook_secret
    if not services.accepting or secret is None:
        return _refuse(
            503, "hotfix-bot is not configured yet: set APP_ID, PRIVATE_KEY and WEBHOOK_SECRET"
        )

    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        return _refuse(413, "the body is larger than 25 MiB")
    # Counted before it is read; a body without a length as the largest there may be.
    size = MAX_BODY_BYTES if declared is None else int(declared)
    bodies = services.bodies
    if not bodies.try_take(size) and not await bodies.wait_to_take(size):
        return _refuse(
            503,
            "hotfix-bot is receiving as many bodies as it holds at once; try again shortly",
            headers={"retry-after": str(RETRY_AFTER_SECONDS)},
        )
    try:
        return await _read_and_record(services, request, secret.get_secret_value())
    finally:
        bodies.give_back(size)


async def _read_and_record(services: Services, request: Request, secret: str) -> Response:
    body: bytes | bytearray = b""
    try:
        async for chunk in request.stream():
            if not body:
                body = chunk  # most bodies arrive in one piece: used as they came
            else:
                if isinstance(body, bytes):
                    body = bytearray(body)
                body += chunk
            if len(body) > MAX_BODY_BYTES:  # also stops a chunked body without a length
                return _refuse(413, "the body is larger than 25 MiB")
    except ClientDisconnect:
        # Nothing was acknowledged, so GitHub counts the delivery as failed and offers to
        # redeliver it: no error of ours to report.
        log.info("a delivery's sender went away before its body arrived")
        return _refuse(400, "the body did not arrive")

    # The signature is checked before anything in the request is believed.
    signature = request.headers.get("x-hub-signature-256", "")
    if not deliveries.signature_matches(secret, body, signature):
        return _refuse(401, "missing or wrong X-Hub-Signature-256")

    event = request.headers.get("x-github-event")
    delivery_id = request.headers.get("x-github-delivery")
    if not event or not delivery_id:
        return _refuse(400, "X-GitHub-Event and X-GitHub-Delivery are required")
    if len(delivery_id) > MAX_DELIVERY_ID_LENGTH:
        return _refuse(400, "X-GitHub-Delivery is longer than 128 characters")
    try:
        delivery = deliveries.from_body(delivery_id, event, body)
    except deliveries.NotAJsonObject as error:
        return _refuse(400, str(error), event)
    if event == "ping":
        DELIVERIES.labels(event=event, outcome="pong").inc()
        return JSONResponse({"delivery": delivery_id, "status": "pong"})

    handled = (
        services.router.handles(delivery)
        and delivery.installation_id is not None
        and delivery.repository is not None
    )
    try:
        outcome = await services.journal.record(
            delivery,
            body,
            handled=handled,
            supersedable=services.router.supersedable(delivery),
        )
    except JournalUnavailable as error:
        log.error("delivery %s refused: %s", delivery_id, error)
        journal_problem = (
            "the delivery journal file was deleted or replaced"
            if isinstance(error, JournalReplaced)
            else "the delivery journal cannot take writes"
        )
        return _refuse(503, f"{journal_problem}; GitHub will let you redeliver", event)
    DELIVERIES.labels(event=event, outcome=outcome).inc()
    if outcome == "queued":
        services.worker.wake()
    return JSONResponse({"delivery": delivery_id, "status": outcome}, 202)
