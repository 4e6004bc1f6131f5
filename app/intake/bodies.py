"""How much of request bodies the intake holds at once (docs/RELIABILITY.md, "The intake's
own limits")."""

from __future__ import annotations

import asyncio
import ctypes

MAX_BODY_BYTES = 25 * 1024 * 1024
# While a delivery is journaled its body is held three times over: as received, as zstd's
# output (as large, for a body that does not compress) and as SQLite's copy of that.
COPIES_HELD = 3
# What bodies take at once, all deliveries together, copies counted: two 25 MiB bodies. With
# the process itself (~75 MB) and its connections, the intake stays under 256 MiB.
BODIES_IN_FLIGHT_BYTES = 150 * 1024 * 1024


class BodyBudget:
    """The memory request bodies take at once, all deliveries together.

    A body is counted before it is read, at `COPIES_HELD` times its `Content-Length`. One
    that does not fit waits up to `wait` seconds for room, at most `max_waiting` of them at
    once (uvicorn holds up to a few hundred KiB of each meanwhile); otherwise it is refused.
    """

    def __init__(
        self, limit: int = BODIES_IN_FLIGHT_BYTES, wait: float = 2.0, max_waiting: int = 32
    ) -> None:
        self.limit, self.wait, self.max_waiting = limit, wait, max_waiting
        self.held = 0
        self._waiting = 0
        self._freed = asyncio.Event()

    def try_take(self, size: int) -> bool:
        if self.held + size * COPIES_HELD > self.limit:
            return False
        self.held += size * COPIES_HELD
        return True

    async def wait_to_take(self, size: int) -> bool:
        if size * COPIES_HELD > self.limit or self._waiting >= self.max_waiting:
            return False
        self._waiting += 1
        try:
            async with asyncio.timeout(self.wait):
                while not self.try_take(size):
                    self._freed.clear()
                    await self._freed.wait()
        except TimeoutError:
            return False
        finally:
            self._waiting -= 1
        return True

    def give_back(self, size: int) -> None:
        self.held -= size * COPIES_HELD
        if self._waiting:
            self._freed.set()


# glibc's mallopt() parameter, and the size from which each block gets a mapping of its own.
_M_MMAP_THRESHOLD = -3
_OWN_MAPPING_BYTES = 1024 * 1024


def return_large_blocks_to_the_system() -> None:
    """Give blocks of 1 MiB and more mappings of their own, returned to the system when
    freed, so that the memory large bodies took does not stay with the process.

    glibc raises that threshold to the largest block freed (up to 32 MiB): after one 25 MiB
    body, the next ones came from the heap, which kept what they freed, and the peak of 12
    signed 24 MiB deliveries at once grew from 230 MB to 290 MB over a few rounds. With the
    threshold fixed it stays at 207 MB. Without glibc nothing changes.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt(_M_MMAP_THRESHOLD, _OWN_MAPPING_BYTES)
