"""Routing: (event, action) -> handlers, and the context a handler gets."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from app.delivery import Delivery
from app.github import InstallationClient
from app.journal import Journal
from app.logs import ContextLogger


@dataclass(frozen=True, slots=True)
class Context:
    """What a handler works with: its installation's client, the repository, the delivery."""

    github: InstallationClient
    repository: str
    delivery: Delivery
    journal: Journal
    log: ContextLogger
    # The worker retries what may pass; on the last attempt a handler reports instead.
    attempt: int = 1
    last_attempt: bool = True

    @property
    def payload(self) -> dict[str, Any]:
        return self.delivery.payload

    @property
    def owner(self) -> str:
        return self.repository.split("/", 1)[0]


Handler = Callable[[Context], Awaitable[None]]


@dataclass
class Router:
    _routes: dict[tuple[str, str | None], list[Handler]] = field(default_factory=dict)
    _supersedable: set[Handler] = field(default_factory=set)

    def add(
        self,
        event: str,
        actions: Iterable[str] | None,
        handler: Handler,
        *,
        supersedable: bool = False,
    ) -> None:
        """Route `event` with any of `actions` (None: every action) to `handler`.

        `supersedable`: the handler acts on the current state of the pull request, not on
        the delivery, so a later delivery for the same pull request makes it redundant.
        """
        for action in actions if actions is not None else [None]:
            self._routes.setdefault((event, action), []).append(handler)
        if supersedable:
            self._supersedable.add(handler)

    def supersedable(self, event: str, action: str | None) -> bool:
        handlers = self.handlers_for(event, action)
        return bool(handlers) and all(handler in self._supersedable for handler in handlers)

    def handlers_for(self, event: str, action: str | None) -> list[Handler]:
        return [*self._routes.get((event, action), []), *self._routes.get((event, None), [])]

    def handles(self, event: str, action: str | None) -> bool:
        return (event, action) in self._routes or (event, None) in self._routes

    @property
    def events(self) -> set[str]:
        return {event for event, _ in self._routes}
