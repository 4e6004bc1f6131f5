"""Chaos: deliveries while servers are SIGKILLed and restarted at random moments.

- SQLite: 2,000 deliveries to one server, killed 5 times.
- PostgreSQL: 400 deliveries to two servers sharing the journal, each sent to either, the
  servers killed 4 times between them; once with its worker process, as when a machine
  dies, so that its claims come back when their leases run out.

Afterwards every delivery GitHub was told `202` about was processed exactly once (one
journal row, done or superseded by a later one of its pull request), nothing was lost,
and every pull request's check run shows its final state. A send that died with a server
is sent again with the same delivery id, as GitHub's redelivery does.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest
from support.live_server import Server, children_of, github_and_server, github_and_servers, wait_for
from support.postgres import PostgresServer

from app.journal import open_journal
from sandbox import FakeGitHub, FakeRepo

PULL_REQUESTS = 8
ACTIONS = ("opened", "edited", "labeled", "unlabeled", "synchronize", "reopened")
WAITING = "Waiting for approval: Engineering Lead and Product Manager"


@pytest.mark.timeout(600)
def test_no_acknowledged_delivery_is_lost_or_run_twice_across_kills(
    tmp_path: Path, private_key_pem: str
) -> None:
    with github_and_server(tmp_path, private_key_pem) as (fake, repo, server):
        run_chaos(fake, repo, [server], deliveries=2_000, kills=5, seed=20261127)
        database_url = f"sqlite:///{tmp_path / 'journal.db'}"
        check_every_delivery_ran_once(fake, repo, [server], database_url, 2_000)


@pytest.mark.timeout(90)
def test_two_instances_on_postgresql_lose_nothing_and_run_nothing_twice_across_kills(
    tmp_path: Path, private_key_pem: str, postgres: PostgresServer
) -> None:
    started = time.monotonic()
    with (
        postgres.database() as database_url,
        github_and_servers(tmp_path, private_key_pem, database_url, 2) as (fake, repo, servers),
    ):
        run_chaos(fake, repo, servers, deliveries=400, kills=4, seed=20261204, machine_kill=1)
        check_every_delivery_ran_once(fake, repo, servers, database_url, 400)
    assert time.monotonic() - started < 60


def run_chaos(
    fake: FakeGitHub,
    repo: FakeRepo,
    servers: list[Server],
    *,
    deliveries: int,
    kills: int,
    seed: int,
    machine_kill: int | None = None,
) -> None:
    """Send `deliveries` to the servers while killing one of them `kills` times (kill
    number `machine_kill` with its worker process), each started again at once."""
    sending_chance, killing_chance = random.Random(seed), random.Random(seed + 1)
    for server in servers:
        server.start()
    numbers = []
    for index in range(PULL_REQUESTS):
        branch = f"hotfix/fix-{index}"
        repo.create_branch(branch, "main")
        repo.commit(branch, {"VERSION": "1.2.4\n", f"fix-{index}.txt": "fixed\n"}, "Fix")
        pull = repo.open_pull(branch, "main", title=f"Fix {index}", author="dev")
        numbers.append(pull.number)

    acknowledged: set[str] = set()
    sending_done = threading.Event()

    def send_all() -> None:
        for index in range(deliveries):
            number = sending_chance.choice(numbers)
            payload = fake.pull_request_event(repo, number, sending_chance.choice(ACTIONS))
            delivery_id = f"chaos-{index}"
            deadline = time.monotonic() + 60
            while delivery_id not in acknowledged:
                assert time.monotonic() < deadline, "no server came back"
                try:
                    answer = sending_chance.choice(servers).deliver(
                        "pull_request", payload, delivery_id
                    )
                except httpx.TransportError:
                    time.sleep(0.05)  # that server is down: send again, same id
                    continue
                if answer.status_code == 202:
                    acknowledged.add(delivery_id)
        sending_done.set()

    sender = threading.Thread(target=send_all, name="chaos-sender")
    sender.start()
    killed = 0
    while killed < kills or not sending_done.is_set():
        time.sleep(killing_chance.uniform(0.3, 1.5))
        if killed < kills:
            victim = killing_chance.choice(servers)
            assert victim.process is not None
            if killed == machine_kill:
                for worker in children_of(victim.process.pid):
                    os.kill(worker, signal.SIGKILL)
            victim.kill()
            killed += 1
            victim.start()
    sender.join(timeout=120)
    assert not sender.is_alive()
    assert len(acknowledged) == deliveries

    # The final state of every pull request, announced once more.
    for number in numbers:
        repo.add_labels(number, "hotfix", "P1")
        servers[number % len(servers)].deliver(
            "pull_request", fake.pull_request_event(repo, number, "labeled"), f"final-{number}"
        )


def check_every_delivery_ran_once(
    fake: FakeGitHub, repo: FakeRepo, servers: list[Server], database_url: str, deliveries: int
) -> None:
    journal = open_journal(database_url)
    try:
        wait_for(lambda: journal.count(("queued", "running")) == 0, timeout=300)
        entries = journal.recent(limit=deliveries + 100)
    finally:
        journal.close()

    by_id = {entry.id: entry for entry in entries}
    assert len(by_id) == len(entries)  # one row per delivery id
    chaos_rows = {delivery_id for delivery_id in by_id if delivery_id.startswith("chaos-")}
    assert chaos_rows == {f"chaos-{index}" for index in range(deliveries)}  # nothing lost
    # Superseded: a later delivery of the same pull request did the same work afterwards.
    assert {entry.status for entry in entries} <= {"done", "superseded"}
    numbers = sorted(repo.pulls)
    assert all(by_id[f"final-{number}"].status == "done" for number in numbers)
    for number in numbers:
        [run] = repo.runs_named("hotfix-policy", repo.pulls[number].head_sha)
        assert run.output["title"] == WAITING
