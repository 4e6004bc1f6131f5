"""Deliver webhooks to hotfix-bot as GitHub does (signed, over HTTP), then wait for them."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import httpx

from app.intake.delivery import signature_for
from app.journal import Journal
from app.journal.base import JournalUnavailable

T = TypeVar("T")


def signed_headers(body: bytes, event: str, delivery_id: str, secret: str) -> dict[str, str]:
    """The headers GitHub sends with a delivery of `body`."""
    return {
        "content-type": "application/json",
        "x-github-event": event,
        "x-github-delivery": delivery_id,
        "x-hub-signature-256": signature_for(secret, body),
    }


def post_delivery(
    client: httpx.Client,
    url: str,
    secret: str,
    event: str,
    payload: Mapping[str, Any],
    delivery_id: str,
) -> httpx.Response:
    """POST one signed delivery; the caller judges the answer (202 when journaled)."""
    body = json.dumps(payload).encode()
    return client.post(url, content=body, headers=signed_headers(body, event, delivery_id, secret))


def answered(read: Callable[[], T], timeout: float) -> T:
    """What `read` returns once the journal answers it. A journal busy for a moment
    (PostgreSQL's pool had no connection free within its wait) is asked again, as the worker
    would; one that stays so for `timeout` seconds raises what it said."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return read()
        except JournalUnavailable:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


def wait_until_settled(journal: Journal, timeout: float) -> None:
    """Wait until no journaled delivery is queued or running (each is done, failed or ignored)
    and no timer is due on the journal's clock (it would become a delivery).

    A delivery waiting out a retry counts as queued, so this also waits for its retries.
    A journal busy for a moment is asked again (see `answered`).
    """
    deadline = time.monotonic() + timeout

    def unsettled() -> bool:
        # The timers first: a timer that fires between the two reads is a queued delivery by
        # the second (both in one transaction), where read the other way round it was in
        # neither.
        return _timer_due(journal) or journal.count(("queued", "running")) > 0

    while answered(unsettled, deadline - time.monotonic()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"deliveries did not finish within {timeout:g} s")
        time.sleep(0.01)


def _timer_due(journal: Journal) -> bool:
    due = journal.next_due()
    return due is not None and due <= journal.now()
