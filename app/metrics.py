"""Prometheus metrics, served at /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

DELIVERIES = Counter(
    "hotfix_bot_deliveries",
    "Webhook deliveries by event and outcome (queued, duplicate, ignored, refused, done, "
    "retried, failed).",
    ["event", "outcome"],
)
QUEUE_DEPTH = Gauge(
    "hotfix_bot_queue_depth", "Journaled deliveries not finished yet (queued or running)."
)
PROCESSING_SECONDS = Histogram(
    "hotfix_bot_processing_seconds",
    "Time a handler took for one delivery attempt.",
    ["event"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
GITHUB_REQUESTS = Counter(
    "hotfix_bot_github_requests", "Requests to GitHub by HTTP status (0 = no answer).", ["status"]
)
GITHUB_RATE_LIMIT_REMAINING = Gauge(
    "hotfix_bot_github_rate_limit_remaining",
    "The x-ratelimit-remaining GitHub gave on its last answer.",
)
