"""What can be reused between evaluations without going stale.

- Answers for immutable things (a tree or blob by SHA) are kept until evicted.
- Answers that may change (a branch, the pages of a list: reviews, team members) are kept
  with their ETag and revalidated with `If-None-Match` (a 304 costs no rate limit), so a
  person added to a team counts at once.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Generic, TypeVar

V = TypeVar("V")


class Lru(Generic[V]):
    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._items: OrderedDict[object, V] = OrderedDict()

    def get(self, key: object) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: object, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self._capacity:
            self._items.popitem(last=False)


class Caches:
    """One set per App: tests and processes never share answers."""

    def __init__(self) -> None:
        self.immutable: Lru[Any] = Lru(4096)
        self.etagged: Lru[tuple[str, Any]] = Lru(1024)
        # Check-run ids this process wrote to or saw GitHub list, by app.handlers.checks' state key.
        self.check_runs: Lru[str] = Lru(4096)
        # Whether a pull request's own diff changes its config file, by the base branch's
        # tree and the head commit it was asked at (app.handlers.policy).
        self.config_changed: Lru[bool] = Lru(1024)
