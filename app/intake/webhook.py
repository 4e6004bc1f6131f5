"""`POST {WEBHOOK_PATH}`: a delivery from GitHub, checked, journaled, then answered `202`
(docs/BEHAVIOUR.md, "The webhook")."""

from __future__ import annotations

import logging

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from app.intake import delivery as deliveries
from app.intake.bodies import MAX_BODY_BYTES
from app.journal import JournalReplaced, JournalUnavailable
from app.metrics import DELIVERIES
from app.services import Services

log = logging.getLogger("hotfix_bot.intake")

RETRY_AFTER_SECONDS = 5
MAX_DELIVERY_ID_LENGTH = 128


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
