"""Deliveries as the intake makes them, for tests of the journals."""

from __future__ import annotations

from app.intake.delivery import Delivery, from_payload


def pull_request(delivery_id: str, number: int, action: str = "synchronize") -> Delivery:
    """A pull request event of acme/widgets, ordered by its pull request's number."""
    payload = {
        "action": action,
        "installation": {"id": 1},
        "repository": {"full_name": "acme/widgets"},
        "pull_request": {"number": number},
    }
    return from_payload(delivery_id, "pull_request", payload)
