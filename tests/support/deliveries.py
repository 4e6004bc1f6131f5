"""Deliveries as the intake makes them, for tests of the journals."""

from __future__ import annotations

from app.intake.delivery import Delivery, from_payload


def pull_request(
    delivery_id: str,
    number: int,
    action: str = "synchronize",
    *,
    installation: int = 1,
    repository: str = "acme/widgets",
) -> Delivery:
    """A pull request event of `repository` (installation `installation`'s), ordered by its
    pull request's number."""
    payload = {
        "action": action,
        "installation": {"id": installation},
        "repository": {"full_name": repository},
        "pull_request": {"number": number},
    }
    return from_payload(delivery_id, "pull_request", payload)


def globex(delivery_id: str, number: int) -> Delivery:
    """A pull request event of another installation than `pull_request`'s (acme's, 1)."""
    return pull_request(delivery_id, number, installation=2, repository="globex/gadgets")
