"""`POST {WEBHOOK_PATH}`: a delivery from GitHub, checked, journaled, then answered `202`
(docs/BEHAVIOUR.md, "The webhook")."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from app.handlers.routing import names_its_place
from app.header_numbers import whole_number
from app.intake import delivery as deliveries
from app.intake.bodies import MAX_BODY_BYTES
from app.intake.connection_limits import LINGER_SECONDS, RETRY_AFTER_SECONDS
from app.journal import JournalReplaced, JournalUnavailable
from app.metrics import DELIVERIES, LAST_SIGNATURE_REFUSAL, SIGNATURE_REFUSALS
from app.services import Services
from policies.wording import join_words

log = logging.getLogger("hotfix_bot.intake")

MAX_DELIVERY_ID_LENGTH = 128

# What a 401 in GitHub's Recent Deliveries means, as the log and the status page say it.
SIGNATURE_REFUSAL_ADVICE = (
    "if GitHub's Recent Deliveries (the App's settings, Advanced) show 401, the App's webhook "
    "secret there is not this server's WEBHOOK_SECRET: set the same value in both"
)
# A secret written to a file with `echo` (a Kubernetes or Docker secret) keeps the line break.
_WHITESPACE_AROUND_ADVICE = (
    "; this server's WEBHOOK_SECRET begins or ends with whitespace (a line break kept from "
    "a file?), which the secret typed into GitHub most likely does not: remove it"
)


def signature_refusal_advice(services: Services) -> str:
    """What to do about refused signatures, pointing at a WEBHOOK_SECRET with whitespace
    around it, which no typed-in secret matches."""
    secret = services.settings.webhook_secret
    written = "" if secret is None else secret.get_secret_value()
    padded = written != written.strip()
    return SIGNATURE_REFUSAL_ADVICE + (_WHITESPACE_AROUND_ADVICE if padded else "")


class _BeforeTheBody(JSONResponse):
    """An answer sent before the body was read. The rest of the body is then read and
    dropped, for up to LINGER_SECONDS, before the answer ends: closed on with its body
    unread, a sender that asked to close the connection had it reset while still sending,
    and could never read the answer."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = {"type": "http.response.start", "status": self.status_code}
        await send({**start, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body, "more_body": True})
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(LINGER_SECONDS):
                while (await receive()).get("more_body", False):
                    pass
        await send({"type": "http.response.body", "body": b""})


def _refuse(
    status: int,
    message: str,
    event: str = "unknown",
    headers: dict[str, str] | None = None,
    *,
    before_the_body: bool = False,
) -> JSONResponse:
    DELIVERIES.labels(event=event, outcome="refused").inc()
    answer = _BeforeTheBody if before_the_body else JSONResponse
    return answer({"error": message}, status, headers)


def _declared_size(content_length: str) -> int | None:
    """The size a `Content-Length` declares; None when it is over MAX_BODY_BYTES, or no
    length. Its leading zeros are dropped before the digits are counted (`000` is 0, `` is
    no length): thousands of digits are over the limit before they are read."""
    digits = content_length.lstrip("0") or content_length[:1]
    size = whole_number(digits, len(str(MAX_BODY_BYTES)))
    return size if size is not None and size <= MAX_BODY_BYTES else None


async def receive_webhook(services: Services, request: Request) -> Response:
    secret = services.settings.webhook_secret
    if not services.accepting or secret is None:
        # Only what is missing: an App registered without a webhook secret has the rest.
        missing = [] if services.github else ["APP_ID", "PRIVATE_KEY"]
        missing += [] if secret else ["WEBHOOK_SECRET"]
        return _refuse(
            503,
            f"hotfix-bot is not configured yet: set {join_words(missing)}",
            before_the_body=True,
        )

    declared = request.headers.get("content-length")
    size = MAX_BODY_BYTES if declared is None else _declared_size(declared)
    if size is None:
        return _refuse(413, "the body is larger than 25 MiB", before_the_body=True)
    # Counted before it is read; a body without a length as the largest there may be.
    bodies = services.bodies
    if not bodies.try_take(size) and not await bodies.wait_to_take(size):
        return _refuse(
            503,
            "hotfix-bot is receiving as many bodies as it holds at once; try again shortly",
            headers={"retry-after": str(RETRY_AFTER_SECONDS)},
            before_the_body=True,
        )
    try:
        return await _read_and_record(services, request, secret.get_secret_value())
    finally:
        bodies.give_back(size)


async def _read_and_record(services: Services, request: Request, secret: str) -> Response:
    body: bytes | bytearray = b""
    more_body = True
    while more_body:  # as Request.stream() reads, knowing when the body ended
        message = await request.receive()
        if message["type"] == "http.disconnect":
            # Nothing was acknowledged, so GitHub counts the delivery as failed and offers
            # to redeliver it: no error of ours to report.
            log.info("a delivery's sender went away before its body arrived")
            return _refuse(400, "the body did not arrive")
        chunk: bytes = message.get("body", b"")
        more_body = message.get("more_body", False)
        if not body:
            body = chunk  # most bodies arrive in one piece: used as they came
        else:
            if isinstance(body, bytes):
                body = bytearray(body)
            body += chunk
        if len(body) > MAX_BODY_BYTES:  # also stops a chunked body without a length
            return _refuse(413, "the body is larger than 25 MiB", before_the_body=more_body)

    # The signature is checked before anything in the request is believed.
    signature = request.headers.get("x-hub-signature-256", "")
    if not deliveries.signature_matches(secret, body, signature):
        _signature_refused(services)
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
        # A pong says that deliveries are taken: not while the journal cannot take them.
        try:
            await services.check_journal()
        except JournalUnavailable as error:
            return _journal_refusal(delivery_id, event, error)
        DELIVERIES.labels(event=event, outcome="pong").inc()
        return JSONResponse({"delivery": delivery_id, "status": "pong"})

    handled = services.router.handles(delivery) and names_its_place(delivery)
    try:
        outcome = await services.journal.record(
            delivery,
            body,
            handled=handled,
            supersedable=services.router.supersedable(delivery),
        )
    except JournalUnavailable as error:
        services.delivery_refused(len(body))
        return _journal_refusal(delivery_id, event, error)
    services.delivery_taken()
    DELIVERIES.labels(event=event, outcome=outcome).inc()
    if outcome == "queued":
        services.worker.wake()
    return JSONResponse({"delivery": delivery_id, "status": outcome}, 202)


def _signature_refused(services: Services) -> None:
    """GitHub shows a refused delivery only in the App's settings: the server's log and its
    status page say what a 401 there means. Nothing of the request is named, since nothing
    in it is believed."""
    SIGNATURE_REFUSALS.inc()
    LAST_SIGNATURE_REFUSAL.set(services.journal.now())
    refused = services.signature_refused()
    if refused is None:
        return
    what = (
        "a delivery was refused"
        if refused == 1
        else f"{refused} deliveries were refused since the last line like this"
    )
    log.warning(
        "%s (401) for a missing or wrong X-Hub-Signature-256; %s (said once a minute at most)",
        what,
        signature_refusal_advice(services),
    )


def _journal_refusal(delivery_id: str, event: str, error: JournalUnavailable) -> JSONResponse:
    log.error("delivery %s refused: %s", delivery_id, error)
    journal_problem = (
        "the delivery journal file was deleted or replaced"
        if isinstance(error, JournalReplaced)
        else "the delivery journal cannot take writes"
    )
    # A client that retries (not GitHub, which does not) waits out a restart of the database.
    retry = {"retry-after": str(RETRY_AFTER_SECONDS)}
    return _refuse(503, f"{journal_problem}; GitHub will let you redeliver", event, retry)
