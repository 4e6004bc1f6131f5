"""bench/claim: what a claim costs the SQLite journal with 10,000 deliveries queued.

A claim holds the journal's write turn, which the intake's commits wait for. This times
`claim_ready(8, ...)`, the worker's claim with every slot free (and its 4 set aside for
messages to chat, which tells every head taken from those), each followed by the claimed
deliveries' `finish`, on a new journal holding 10,000 queued deliveries spread over: 16 pull
requests of one installation (bench/ingest's shape: few queue heads), 10,000 pull requests of
one installation, and 10,000 pull requests of 10 installations (a head per delivery, each
one a claim looks at). Printed, not judged: compare runs on the same machine, idle.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from app.handlers.table import build_router
from app.intake.delivery import Delivery, from_payload
from app.journal import Aside, SqliteJournal
from app.journal.worker import ASIDE_CONCURRENCY

QUEUED = 10_000
CLAIMS = 300
SLOTS = 8  # the worker's


def delivery(index: int, pulls: int, installations: int) -> Delivery:
    number = index % pulls
    installation = number % installations + 1
    payload = {
        "action": "synchronize",
        "installation": {"id": installation},
        "repository": {"full_name": f"org-{installation}/widgets"},
        "pull_request": {"number": number},
    }
    return from_payload(f"d-{index}", "pull_request", payload)


async def claim_times(pulls: int, installations: int) -> list[float]:
    with tempfile.TemporaryDirectory() as directory:
        journal = SqliteJournal(Path(directory) / "journal.db")
        try:
            await asyncio.gather(
                *(
                    journal.record(delivery(index, pulls, installations), b"{}", handled=True)
                    for index in range(QUEUED)
                )
            )
            aside = Aside(build_router().aside_routes, ASIDE_CONCURRENCY)
            times = []
            for _ in range(CLAIMS):
                started = time.perf_counter()
                claimed = await journal.claim_ready(SLOTS, aside)
                times.append(time.perf_counter() - started)
                for entry in claimed:
                    await journal.finish(entry.id)
            return times
        finally:
            journal.close()


async def main() -> None:
    for pulls, installations in ((16, 1), (QUEUED, 1), (QUEUED, 10)):
        times = [seconds * 1000 for seconds in await claim_times(pulls, installations)]
        print(
            f"{QUEUED:,} queued, {pulls:,} pull requests of {installations} installation(s): "
            f"claim_ready({SLOTS}) median {statistics.median(times):.2f} ms, "
            f"p90 {statistics.quantiles(times, n=10)[-1]:.2f} ms"
        )


if __name__ == "__main__":
    asyncio.run(main())
