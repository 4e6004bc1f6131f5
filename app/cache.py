"""What can be reused between evaluations without going stale.

- Answers for immutable things (a tree or blob by SHA) are kept until evicted.
- Answers for a branch are kept with their ETag and revalidated with `If-None-Match`
  (a 304 costs no rate limit).
- Team members are kept for a short time: a removed member keeps approving for at most
  `TEAM_TTL` seconds.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Generic, TypeVar

V = TypeVar("V")

TEAM_TTL = 60.0


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

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.immutable: Lru[Any] = Lru(4096)
        self.etagged: Lru[tuple[str, Any]] = Lru(1024)
        self._teams: Lru[tuple[float, frozenset[str]]] = Lru(512)
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def lock(self, key: str) -> asyncio.Lock:
        """One lock per key while anyone holds or waits for it."""
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    def team_members(self, key: object) -> frozenset[str] | None:
        entry = self._teams.get(key)
        if entry is None or self._clock() - entry[0] > TEAM_TTL:
            return None
        return entry[1]

    def put_team_members(self, key: object, members: frozenset[str]) -> None:
        self._teams.put(key, (self._clock(), members))
