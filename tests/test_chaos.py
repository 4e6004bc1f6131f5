"""Chaos: 2,000 deliveries while the server is SIGKILLed and restarted at random moments.

Afterwards every delivery GitHub was told `202` about was processed exactly once (one
journal row, done or superseded by a later one of its pull request), nothing was lost,
and every pull request's check run shows its final state. A send that died with the
server is sent again with the same delivery id, as GitHub's redelivery does.

Timers, too: the incident clock's timers, scheduled before a SIGKILL and due while the
server was down, fire once at the next start, saying how late, and a further kill and
restart fires nothing twice.
"""

from __future__ import annotations

import json
import random
import re
import sqlite3
import threading
import time
from datetime import timedelta
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


# Steps seconds apart, so that the server can be killed before they come due.
CLOCK_IN_SECONDS = """\
severities:
  P0:
    deadline: 7s
    escalation:
      - {after: 5s, notify: [approvers]}
      - {after: 6s, notify: [approvers, author]}
"""


def timer_statuses(journal: Path) -> list[str]:
    with sqlite3.connect(f"file:{journal}?mode=ro", uri=True) as connection:
        return [row[0] for row in connection.execute("SELECT status FROM timers ORDER BY id")]


@pytest.mark.timeout(120)
def test_timers_scheduled_before_a_kill_fire_once_after_the_restart_saying_how_late(
    tmp_path: Path, private_key_pem: str
) -> None:
    with github_and_server(tmp_path, private_key_pem) as (fake, repo, server):
        for slug, member in (("engineering-leads", "lead"), ("on-call-managers", "oncall")):
            fake.add_team("acme", slug, [member])
        repo.commit("main", {".github/hotfix.yml": CLOCK_IN_SECONDS}, "A clock in seconds")
        server.start()
        repo.create_branch("hotfix/fix-login", "main")
        repo.commit("hotfix/fix-login", {"VERSION": "1.2.4\n"}, "Fix")
        pull = repo.open_pull(
            "hotfix/fix-login", "main", title="Fix", author="dev", labels=["hotfix", "P0"]
        )
        journal = tmp_path / "journal.db"

        server.deliver("pull_request", fake.pull_request_event(repo, pull.number, "opened"), "o-1")
        wait_for(lambda: len(timer_statuses(journal)) == 3)
        server.kill()  # scheduled, not yet due
        assert timer_statuses(journal) == ["scheduled"] * 3, "a timer came due before the kill"
        all_due = pull.created_at + timedelta(seconds=7)
        time.sleep(max((all_due - fake.now()).total_seconds(), 0) + 1)
        server.start()  # every timer came due while the server was down
        wait_for(lambda: timer_statuses(journal) == ["fired"] * 3)
        wait_for(lambda: len(repo.comments_on(pull.number)) == 3)  # the P0 alert and 2 steps
        server.kill()
        server.start()  # and once more: nothing is done again

        finished = SqliteJournal(journal)
        try:
            wait_for(lambda: finished.count(("queued", "running")) == 0)
            rows = [entry for entry in finished.recent() if entry.event == "timer"]
        finally:
            finished.close()
        server.stop()
        logged = [json.loads(line)["message"] for line in server.log_lines()]

    step, last_step = "escalation:acme/widgets#1:P0:5s", "escalation:acme/widgets#1:P0:6s"
    overdue = "overdue:acme/widgets#1:P0:7s"
    assert sorted((row.id, row.status, row.attempts) for row in rows) == [
        (step, "done", 1),
        (last_step, "done", 1),
        (overdue, "done", 1),
    ]
    bodies = [comment.body for comment in repo.comments_on(pull.number)]
    assert [body.splitlines()[0] for body in bodies] == [
        "<!-- hotfix-bot notice p0-alert:acme/widgets#1 -->",
        f"<!-- hotfix-bot notice {step} -->",
        f"<!-- hotfix-bot notice {last_step} -->",
    ]
    assert (
        bodies[2]
        .splitlines()[1]
        .startswith(
            "@acme/engineering-leads @acme/on-call-managers @dev: this **P0** hotfix has been open"
        )
    )
    fired = [line for line in logged if line.startswith("timer ")]
    assert len(fired) == 3, fired
    assert all(re.fullmatch(r"timer \S+ due .+ UTC fired \d+s late", line) for line in fired)
    [run] = repo.runs_named("hotfix-policy", pull.head_sha)
    assert run.output["title"].startswith("Overdue: Waiting for approval")
