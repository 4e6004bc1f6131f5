"""Prometheus metrics, served at /metrics.

`hotfix-bot serve` runs several processes (intakes and the worker, see app.intake.processes),
so it sets PROMETHEUS_MULTIPROC_DIR before any imports prometheus_client: each process
then keeps its values in files there, and /metrics adds them up. Without it (tests, one
process) the values live in memory.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client import generate_latest as _generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

MULTIPROCESS_DIRECTORY = "PROMETHEUS_MULTIPROC_DIR"

DELIVERIES = Counter(
    "hotfix_bot_deliveries",
    "Webhook deliveries by event and outcome (queued, duplicate, ignored, pong, refused, "
    "done, retried, failed).",
    ["event", "outcome"],
)
PROCESSING_SECONDS = Histogram(
    "hotfix_bot_processing_seconds",
    "Time a handler took for one delivery attempt.",
    ["event"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
CONNECTIONS_CLOSED = Counter(
    "hotfix_bot_connections_closed",
    "Connections the intake closed on its own, by reason: headers_too_large and "
    "too_many_header_fields (answered 431), too_many_connections (answered 503), "
    "too_many_pipelined (a second request queued behind the one being answered), "
    "header_timeout (headers not complete in time), body_timeout (a body left idle).",
    ["reason"],
)
GITHUB_REQUESTS = Counter(
    "hotfix_bot_github_requests", "Requests to GitHub by HTTP status (0 = no answer).", ["status"]
)
SIGNATURE_REFUSALS = Counter(
    "hotfix_bot_signature_refusals",
    "Deliveries refused (401) for a missing or wrong X-Hub-Signature-256.",
)
LAST_SIGNATURE_REFUSAL = Gauge(
    "hotfix_bot_last_signature_refusal_timestamp_seconds",
    "When the last delivery refused for its signature was, in seconds since the epoch "
    "(0: none yet).",
    multiprocess_mode="max",
)
GITHUB_RATE_LIMIT_REMAINING = Gauge(
    "hotfix_bot_github_rate_limit_remaining",
    "The x-ratelimit-remaining GitHub gave on its last answer.",
    multiprocess_mode="mostrecent",
)


class JournalGauges(Collector):
    """What the journal holds, read when /metrics is read: not a gauge kept up to date on
    every delivery, and the same whichever process reads it. A journal that could not be
    read is said by `hotfix_bot_journal_up 0`, its queue depth left out: the counters are
    still served, when they matter most."""

    def __init__(self, queue_depth: int | None) -> None:
        self._queue_depth = queue_depth

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(
            "hotfix_bot_journal_up",
            "1 when this scrape could read the journal, 0 when it could not (down, locked or "
            "slower than the scrape waits): hotfix_bot_queue_depth is then left out.",
            value=0 if self._queue_depth is None else 1,
        )
        if self._queue_depth is not None:
            yield GaugeMetricFamily(
                "hotfix_bot_queue_depth",
                "Journaled deliveries not finished yet (queued or running).",
                value=self._queue_depth,
            )


def generate_latest(queue_depth: int | None) -> bytes:
    """The exposition for /metrics: of every process of this server, when there are several,
    and the journal's queue depth, counted just before (None: the journal could not be read)."""
    journal = CollectorRegistry()
    journal.register(JournalGauges(queue_depth))
    return _generate_latest(_every_process()) + _generate_latest(journal)


@dataclass(frozen=True)
class SignatureRefusals:
    count: int
    last_at: float | None  # seconds since the epoch; None while there were none


def signature_refusals() -> SignatureRefusals:
    """The deliveries refused for their signature since this server started, by whichever of
    its intake processes received them, and when the last was."""
    every_process = _every_process()
    count = int(every_process.get_sample_value("hotfix_bot_signature_refusals_total") or 0)
    last_at = every_process.get_sample_value("hotfix_bot_last_signature_refusal_timestamp_seconds")
    return SignatureRefusals(count, last_at if count else None)


def _every_process() -> CollectorRegistry:
    """The values of every process of this server (MULTIPROCESS_DIRECTORY), or of this one."""
    if not os.environ.get(MULTIPROCESS_DIRECTORY):
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry
