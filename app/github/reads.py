"""Requests made side by side: reads started before it is certain they will be needed, so that
they overlap others, and pairs of requests that neither cuts off.

A handler waits for GitHub's answers one round trip after another wherever a read needs what
the last one said. Some reads can be started sooner on a good guess: the files of the base
branch a delivery names, while the pull request is read from the API to confirm it. A handler
run keeps its reads in one `Reads`, by what they read; asking for a read already started
gets the one under way, and what nobody asked for is cancelled when the run ends.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from app.github.client import InstallationClient

T = TypeVar("T")
U = TypeVar("U")


class Reads:
    """The reads of one handler run, by key: each is made once, however often asked for."""

    def __init__(self) -> None:
        self._started: dict[Hashable, asyncio.Task[Any]] = {}

    def start(self, key: Hashable, read: Callable[[], Coroutine[Any, Any, T]]) -> asyncio.Task[T]:
        """The read of `key`, started now unless it was already."""
        task = self._started.get(key)
        if task is None:
            task = self._started[key] = asyncio.create_task(read())
        return cast("asyncio.Task[T]", task)

    async def _cancel_unused(self) -> None:
        """Cancel what nobody waited for. A guess that failed is no error of the run's: its
        exception is retrieved here and dropped."""
        unfinished = [task for task in self._started.values() if not task.done()]
        for task in unfinished:
            task.cancel()
        if unfinished:
            await asyncio.wait(unfinished)
        for task in self._started.values():
            if not task.cancelled():
                task.exception()


@dataclass(frozen=True, slots=True)
class Look:
    """A GET made to see what is there before acting: the JSON at `path`, None when GitHub
    answers 404; with `every_page`, every item of the list at `path`. It is its own key in
    a `Reads`, so a look started early is the one a later `start` of the same look gets."""

    path: str
    every_page: bool = False

    def start(self, reads: Reads, github: InstallationClient) -> asyncio.Task[Any]:
        """This look, as one of `reads`: started now, or the one started before."""
        return reads.start(self, lambda: self.read(github))

    async def read(self, github: InstallationClient) -> Any:
        """This look, made now."""
        if self.every_page:
            return await github.get_all(self.path)
        return await github.get_optional(self.path)


@contextlib.asynccontextmanager
async def reading_ahead() -> AsyncIterator[Reads]:
    """A `Reads` for the block; nothing it started outlives the block."""
    reads = Reads()
    try:
        yield reads
    finally:
        await reads._cancel_unused()


async def both(first: Awaitable[T], second: Awaitable[U]) -> tuple[T, U]:
    """`first` and `second` side by side, each awaited to its end whatever happens to the
    other (a write is never cut off half-way); then the first failure, in that order."""
    one, other = await asyncio.gather(first, second, return_exceptions=True)
    if isinstance(one, BaseException):
        raise one
    if isinstance(other, BaseException):
        raise other
    return one, other
