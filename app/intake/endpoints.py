"""The server's endpoints: module-level functions that find what they share in
`request.app.state` (set up by `app.intake.server.create_app`)."""

from __future__ import annotations

import logging
from importlib.metadata import version

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from app.intake.webhook import receive_webhook
from app.intake.webhook_route import WebhookRoute
from app.journal import JournalUnavailable, read_aside
from app.metrics import generate_latest
from app.pages.setup import CALLBACK_PATH, SetupFlow
from app.pages.status import StatusPage
from app.services import Services

VERSION = version("hotfix-bot")

log = logging.getLogger("hotfix_bot.metrics")


def endpoints(webhook_path: str) -> list[BaseRoute]:
    return [
        WebhookRoute(webhook_path, webhook),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/", home, methods=["GET"]),
        Route("/", sign_in, methods=["POST"]),
        Route(CALLBACK_PATH, setup_callback, methods=["GET"]),
    ]


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def webhook(request: Request) -> Response:
    return await receive_webhook(_services(request), request)


async def healthz(_: Request) -> Response:
    return JSONResponse({"status": "ok", "version": VERSION})


async def readyz(request: Request) -> Response:
    services = _services(request)
    journal_problem = await services.journal_problem()
    problems = [] if journal_problem is None else [journal_problem]
    if services.github is None:
        problems.append(
            "no GitHub App credentials (APP_ID, PRIVATE_KEY): register the App on this "
            "server's setup page, /, or set them"
        )
    if problems:
        return JSONResponse({"status": "unavailable", "problems": problems}, 503)
    # Ready as docs/BEHAVIOUR.md defines it (journal and credentials); said, not hidden.
    if services.settings.webhook_secret is None:
        warning = "no WEBHOOK_SECRET: every delivery is refused with 503"
        return JSONResponse({"status": "ready", "warnings": [warning]})
    return JSONResponse({"status": "ready"})


async def metrics(request: Request) -> Response:
    journal = _services(request).journal
    # Counted when /metrics is read, not on every delivery.
    queue_depth: int | None
    try:
        queue_depth = await read_aside(lambda: journal.count(("queued", "running")))
    except JournalUnavailable as error:
        log.warning("/metrics leaves out the queue depth: %s", error)
        queue_depth = None
    exposition = generate_latest(queue_depth)
    return Response(exposition, media_type=CONTENT_TYPE_LATEST)


async def home(request: Request) -> Response:
    if _services(request).github is None:
        setup: SetupFlow = request.app.state.setup
        return await setup.page(request)
    status: StatusPage = request.app.state.status
    return await status.page(request)


async def sign_in(request: Request) -> Response:
    if _services(request).github is None:  # nothing to sign in to before the App exists
        return RedirectResponse("/", 303)
    status: StatusPage = request.app.state.status
    return await status.sign_in(request)


async def setup_callback(request: Request) -> Response:
    setup: SetupFlow = request.app.state.setup
    return await setup.callback(request)
