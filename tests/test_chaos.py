"""Chaos: 2,000 deliveries while the server is SIGKILLed and restarted at random moments.

Afterwards every delivery GitHub was told `202` about was processed exactly once (one
journal row, done or superseded by a later one of its pull request), nothing was lost,
and every pull request's check run shows its final state. A send that died with the
server is sent again with the same delivery id, as GitHub's redelivery does.
"""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import httpx
import pytest
from support.live_server import github_and_server, wait_for

from app.journal import SqliteJournal

DELIVERIES = 2_000
PULL_REQUESTS = 8
KILLS = 5
ACTIONS = ("opened", "edited", "labeled", "unlabeled", "synchronize", "reopened")


@pytest.mark.timeout(600)
def test_no_acknowledged_delivery_is_lost_or_run_twice_across_kills(
    tmp_path: Path, private_key_pem: str
) -> None:
    chance = random.Random(20261127)  # reproducible chaos
    with github_and_server(tmp_path, private_key_pem) as (fake, repo, server):
        server.start()
        numbers = []
        for index in range(PULL_REQUESTS):
            branch = f"hotfix/fix-{index}"
            repo.create_branch(branch, "main")
            repo.commit(branch, {"VERSION": "1.2.4\n", f"fix-{index}.txt": "fixed\n"}, "Fix")
            pull = repo.open_pull(branch, "main", title=f"Fix {index}", author="dev")
            numbers.append(pull.number)

        acknowledged: dict[str, str] = {}
        sending_done = threading.Event()

        def send_all() -> None:
            for index in range(DELIVERIES):
                number = chance.choice(numbers)
                payload = fake.pull_request_event(repo, number, chance.choice(ACTIONS))
                delivery_id = f"chaos-{index}"
                deadline = time.monotonic() + 60
                while delivery_id not in acknowledged:
                    assert time.monotonic() < deadline, "the server never came back"
                    try:
                        answer = server.deliver("pull_request", payload, delivery_id)
                    except httpx.TransportError:
                        time.sleep(0.05)  # the server is down: send again, same id
                        continue
                    if answer.status_code == 202:
                        acknowledged[delivery_id] = answer.json()["status"]
            sending_done.set()

        sender = threading.Thread(target=send_all, name="chaos-sender")
        sender.start()
        kills = 0
        while kills < KILLS or not sending_done.is_set():
            time.sleep(chance.uniform(0.3, 1.5))
            if kills < KILLS:
                server.kill()
                kills += 1
                server.start()
        sender.join(timeout=120)
        assert not sender.is_alive()

        # The final state of every pull request, announced once more.
        for number in numbers:
            repo.add_labels(number, "hotfix", "P1")
            server.deliver(
                "pull_request", fake.pull_request_event(repo, number, "labeled"), f"final-{number}"
            )
        journal = SqliteJournal(tmp_path / "journal.db")
        try:
            wait_for(lambda: journal.count(("queued", "running")) == 0, timeout=300)
            entries = journal.recent(limit=DELIVERIES + 100)
        finally:
            journal.close()

    by_id = {entry.id: entry for entry in entries}
    assert len(by_id) == len(entries)  # one row per delivery id
    chaos_rows = {delivery_id for delivery_id in by_id if delivery_id.startswith("chaos-")}
    assert chaos_rows == set(acknowledged)  # nothing acknowledged was lost
    assert len(acknowledged) == DELIVERIES
    # Superseded: a later delivery of the same pull request did the same work afterwards.
    assert {entry.status for entry in entries} <= {"done", "superseded"}
    assert all(by_id[f"final-{number}"].status == "done" for number in numbers)
    assert kills == KILLS
    for number in numbers:
        head = repo.pulls[number].head_sha
        [run] = repo.runs_named("hotfix-policy", head)
        assert run.output["title"] == "Waiting for approval: Engineering Lead and Product Manager"
