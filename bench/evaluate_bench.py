"""bench/evaluate: how fast a delivery becomes a check run, with GitHub 50 ms away.

The fake GitHub (a thread of this process) answers every request after an injected
latency; hotfix-bot runs as `hotfix-bot serve` from the .venv. For each of N hotfix pull
requests, one at a time: `opened` (a cold evaluation: the first of that pull request), two
approvals (warm evaluations: the pull request was evaluated before), then the merge
(`closed`, the post-merge run). Each is timed from sending the delivery (its 202 included)
to the fake GitHub's answer to the last check-run write; its requests, sequential round
trips and token mints are read from the fake's request log, up to that write. Work the run
leaves in the journal for later (the re-evaluation of other open hotfixes once a tag is made)
is let finish before the next delivery, and is not counted as the run's.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from common import (
    WEBHOOK_PATH,
    World,
    hotfix_bot,
    journal_path,
    machine,
    percentile,
    sequential_round_trips,
    signed_headers,
)

from sandbox import FakePull, RecordedRequest, serve_fake

LATENCY = 0.05
WARM_TARGET_ROUND_TRIPS = 4
TARGET_SECONDS = WARM_TARGET_ROUND_TRIPS * LATENCY + 0.05
COLD_TARGET_REQUESTS = 8
COLD_TARGET_ROUND_TRIPS = 4
POST_MERGE_TARGET_ROUND_TRIPS = 8
DELIVERY_TIMEOUT = 30.0
FINISHED = ("done", "failed")


@dataclass
class Sample:
    kind: str
    seconds: float
    requests: int
    round_trips: int
    token_mints: int
    status: str


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20, help="pull requests (default 20)")
    options = parser.parse_args()
    print(f"machine: {machine()}; injected latency {LATENCY * 1000:.0f} ms per GitHub request")
    world = World.create()
    world.repo.create_branch("develop", "main")  # the post-merge run merges back into it
    samples: list[Sample] = []
    with tempfile.TemporaryDirectory(prefix="hotfix-bot-evaluate-") as directory:
        workdir = Path(directory)
        with serve_fake(world.fake) as api_url:
            server = hotfix_bot(world, api_url, workdir)
            server.start()
            try:
                world.fake.latency = LATENCY
                # One kept-alive connection: a new httpx client costs tens of milliseconds.
                with httpx.Client(base_url=server.url, timeout=10) as client:
                    bench = Bench(world, client, journal_path(workdir))
                    for index in range(1, options.n + 1):
                        samples.extend(bench.hotfix_lifecycle(index))
            finally:
                server.stop()
    return report(samples)


class Bench:
    def __init__(self, world: World, client: httpx.Client, journal: Path) -> None:
        self.world = world
        self.client = client
        self.journal = journal
        self.deliveries = 0

    def hotfix_lifecycle(self, index: int) -> list[Sample]:
        """Open (cold), two approvals (warm), merge (post-merge) of hotfix `index`."""
        repo, fake = self.world.repo, self.world.fake
        pull = self.world.open_hotfix(f"hotfix/fix-{index}", f"1.2.{3 + index}")
        samples = [self.deliver("cold", "pull_request", self.pull_event(pull, "opened"))]
        for approver in ("lead", "pm"):
            repo.review(pull.number, approver, "APPROVED")
            event = fake.review_event(repo, pull.number)
            samples.append(self.deliver("warm", "pull_request_review", event))
        repo.merge_pull(pull.number)
        samples.append(self.deliver("post-merge", "pull_request", self.pull_event(pull, "closed")))
        return samples

    def pull_event(self, pull: FakePull, action: str) -> dict[str, Any]:
        event: dict[str, Any] = self.world.fake.pull_request_event(
            self.world.repo, pull.number, action
        )
        return event

    def deliver(self, kind: str, event: str, payload: dict[str, Any]) -> Sample:
        fake = self.world.fake
        self.deliveries += 1
        delivery_id = f"evaluate-{self.deliveries}"
        body = json.dumps(payload).encode()
        first_request = len(fake.requests)
        mints_before = sum(fake.tokens_minted.values())
        sent_at = time.monotonic()
        answer = self.client.post(
            WEBHOOK_PATH, content=body, headers=signed_headers(body, event, delivery_id)
        )
        if answer.status_code != 202:
            raise RuntimeError(f"{delivery_id}: {answer.status_code} {answer.text}")
        status = self.wait_until_finished(delivery_id)
        requests = fake.requests[first_request:]
        writes = [request for request in requests if is_check_run_write(request)]
        if not writes or writes[-1].answered_at is None:
            raise RuntimeError(f"{delivery_id} ({kind}) wrote no check run: {status}")
        # The run's own requests: those until its last check-run write was answered. Work
        # it leaves in the journal for later (a timer that comes due at once) is not its.
        ended_at = writes[-1].answered_at
        requests = [request for request in requests if request.received_at <= ended_at]
        self.wait_until_settled()  # before the world changes for the next delivery
        return Sample(
            kind=kind,
            seconds=writes[-1].answered_at - sent_at,
            requests=len(requests),
            round_trips=sequential_round_trips(requests),
            token_mints=sum(fake.tokens_minted.values()) - mints_before,
            status=status,
        )

    def wait_until_settled(self) -> None:
        """Until the journal has nothing left to run (deliveries, or timers already due), so
        that each measured delivery has GitHub to itself."""
        deadline = time.monotonic() + DELIVERY_TIMEOUT
        with sqlite3.connect(self.journal, timeout=5) as connection:
            while time.monotonic() < deadline:
                (busy,) = connection.execute(
                    "SELECT (SELECT count(*) FROM deliveries WHERE status IN "
                    "('queued', 'running')) + (SELECT count(*) FROM timers WHERE "
                    "status = 'scheduled' AND due_at <= ?)",
                    (time.time(),),
                ).fetchone()
                if busy == 0:
                    return
                time.sleep(0.005)
        raise RuntimeError(f"the journal did not settle within {DELIVERY_TIMEOUT:.0f} s")

    def wait_until_finished(self, delivery_id: str) -> str:
        deadline = time.monotonic() + DELIVERY_TIMEOUT
        with sqlite3.connect(self.journal, timeout=5) as connection:
            while time.monotonic() < deadline:
                row = connection.execute(
                    "SELECT status FROM deliveries WHERE id = ?", (delivery_id,)
                ).fetchone()
                if row is not None and row[0] in FINISHED:
                    return str(row[0])
                time.sleep(0.005)
        raise RuntimeError(f"{delivery_id} did not finish within {DELIVERY_TIMEOUT:.0f} s")


def is_check_run_write(request: RecordedRequest) -> bool:
    return request.method in ("POST", "PATCH") and "/check-runs" in request.path


def report(samples: list[Sample]) -> int:
    print()
    print(f"{'run':<11} {'count':>5} {'median ms':>10} {'p95 ms':>8} {'requests':>9} ", end="")
    print(f"{'round trips':>11} {'token mints':>11} {'failed':>6}")
    for kind in ("cold", "warm", "post-merge"):
        of_kind = [sample for sample in samples if sample.kind == kind]
        milliseconds = [sample.seconds * 1000 for sample in of_kind]
        print(
            f"{kind:<11} {len(of_kind):>5} {statistics.median(milliseconds):>10.1f} "
            f"{percentile(milliseconds, 0.95):>8.1f} {spread(s.requests for s in of_kind):>9} "
            f"{spread(s.round_trips for s in of_kind):>11} "
            f"{sum(s.token_mints for s in of_kind):>11} "
            f"{sum(s.status == 'failed' for s in of_kind):>6}"
        )
    warm = [sample.seconds for sample in samples if sample.kind == "warm"]
    median_warm = statistics.median(warm)
    cold_requests, cold_round_trips, post_merge_round_trips = (
        statistics.median(getattr(sample, field) for sample in samples if sample.kind == kind)
        for kind, field in (
            ("cold", "requests"),
            ("cold", "round_trips"),
            ("post-merge", "round_trips"),
        )
    )
    targets = {
        f"warm evaluation median {median_warm * 1000:.0f} ms <= {WARM_TARGET_ROUND_TRIPS} x "
        f"{LATENCY * 1000:.0f} ms + 50 ms = {TARGET_SECONDS * 1000:.0f} ms": median_warm
        <= TARGET_SECONDS,
        f"cold evaluation median {cold_requests:g} requests <= {COLD_TARGET_REQUESTS} in "
        f"{cold_round_trips:g} round trips <= {COLD_TARGET_ROUND_TRIPS}": (
            cold_requests <= COLD_TARGET_REQUESTS and cold_round_trips <= COLD_TARGET_ROUND_TRIPS
        ),
        f"post-merge median {post_merge_round_trips:g} sequential round trips <= "
        f"{POST_MERGE_TARGET_ROUND_TRIPS}": post_merge_round_trips <= POST_MERGE_TARGET_ROUND_TRIPS,
        "every delivery processed without failure": all(s.status == "done" for s in samples),
    }
    print("(requests and round trips: median, and the range when they vary)")
    print()
    for target, met in targets.items():
        print(f"{'MET   ' if met else 'MISSED'} {target}")
    return 0 if all(targets.values()) else 1


def spread(values: Any) -> str:
    ordered = sorted(values)
    middle = statistics.median(ordered)
    shown = f"{middle:g}"
    return shown if ordered[0] == ordered[-1] else f"{shown} ({ordered[0]}-{ordered[-1]})"


if __name__ == "__main__":
    sys.exit(main())
