"""A webhook delivery and the few fields the router needs, read from the JSON directly.

githubkit's webhook models are kept off the intake path: parsing one pull_request payload
with them costs ~18 ms and importing them seconds and ~70 MB.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Delivery:
    id: str
    event: str
    action: str | None
    installation_id: int | None
    repository: str | None
    pr_number: int | None
    payload: dict[str, Any]

    @property
    def ordering_key(self) -> str:
        """Deliveries with the same key run one at a time, in arrival order."""
        if self.repository and self.pr_number is not None:
            return f"{self.repository}#{self.pr_number}"
        head_sha = _head_sha(self.payload)
        if self.repository and head_sha:
            return f"{self.repository}@{head_sha}"
        return f"delivery:{self.id}"

    @property
    def label(self) -> str:
        return event_label(self.event, self.action)


def event_label(event: str, action: str | None) -> str:
    """`pull_request.opened`, or the bare event when it has no action."""
    return f"{event}.{action}" if action else event


def location(repository: str | None, pr_number: int | None) -> str:
    """Where a delivery happened, as people write it: `acme/widgets#7`."""
    where = repository or "-"
    return f"{where}#{pr_number}" if pr_number is not None else where


def from_payload(delivery_id: str, event: str, payload: dict[str, Any]) -> Delivery:
    action = payload.get("action")
    installation = payload.get("installation")
    repository = payload.get("repository")
    return Delivery(
        id=delivery_id,
        event=event,
        action=action if isinstance(action, str) else None,
        installation_id=_int(installation.get("id")) if isinstance(installation, dict) else None,
        repository=_str(repository.get("full_name")) if isinstance(repository, dict) else None,
        pr_number=_pr_number(payload),
        payload=payload,
    )


def _pr_number(payload: dict[str, Any]) -> int | None:
    pull_request = payload.get("pull_request")
    if isinstance(pull_request, dict):
        return _int(pull_request.get("number"))
    for key in ("check_run", "check_suite"):
        check = payload.get(key)
        if isinstance(check, dict):
            pulls = check.get("pull_requests")
            # A re-run concerns one pull request when GitHub names exactly one.
            if isinstance(pulls, list) and len(pulls) == 1 and isinstance(pulls[0], dict):
                return _int(pulls[0].get("number"))
    return None


def _head_sha(payload: dict[str, Any]) -> str | None:
    for key in ("check_run", "check_suite"):
        check = payload.get(key)
        if isinstance(check, dict):
            return _str(check.get("head_sha"))
    return None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
