"""Chaos: deliveries while servers are SIGKILLed and restarted at random moments.

- SQLite: 2,000 deliveries to one server, killed 5 times.
- PostgreSQL: 400 deliveries to two servers sharing the journal, each sent to either, the
  servers killed 4 times between them; once with its worker process, as when a machine
  dies, so that its claims come back when their leases run out.

Afterwards every delivery GitHub was told `202` about was processed exactly once (one
journal row, done or superseded by a later one of its pull request), nothing was lost,
and every pull request's check run shows its final state. A send that died with a server
is sent again with the same delivery id, as GitHub's redelivery does.

Timers, too: the incident clock's timers, scheduled before a SIGKILL and due while the
server was down, fire once at the next start, saying how late, and a further kill and
restart fires nothing twice.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import sqlite3
import threading
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from support.live_server import (
    Server,
    children_of,
    github_and_server,
    github_and_servers,
    open_fixes,
    wait_for,
)
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
    numbers = open_fixes(repo, PULL_REQUESTS)

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


P0_CLOCK = """\
severities:
  P0:
    deadline: {deadline}s
    escalation:
      - {{after: {first}s, notify: [approvers]}}
      - {{after: {second}s, notify: [approvers, author]}}
"""
# Steps seconds apart, so that the server can be killed before they come due.
CLOCK_IN_SECONDS = P0_CLOCK.format(deadline=7, first=5, second=6)


def unfinished(journal: Path) -> int:
    """Deliveries queued or running, as the journal on disk says."""
    with sqlite3.connect(f"file:{journal}?mode=ro", uri=True) as connection:
        query = "SELECT count(*) FROM deliveries WHERE status IN ('queued', 'running')"
        return int(connection.execute(query).fetchone()[0])


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
        wait_for(lambda: unfinished(journal) == 0)  # the overdue run too, then the kill
        server.kill()
        server.start()  # and once more: nothing is done again

        finished = open_journal(f"sqlite:///{journal}")
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
    # Each step came due while the server was down: what people read says so, not the log alone.
    late = r"This reminder was due at .+ UTC; hotfix-bot sends it \d+s late\."
    assert all(re.fullmatch(late, body.splitlines()[-1]) for body in bodies[1:]), bodies
    fired = [line for line in logged if line.startswith("timer ")]
    assert len(fired) == 3, fired
    assert all(re.fullmatch(r"timer \S+ due .+ UTC fired \d+s late", line) for line in fired)
    [run] = repo.runs_named("hotfix-policy", pull.head_sha)
    assert run.output["title"].startswith("Overdue: Waiting for approval")


# Later steps than CLOCK_IN_SECONDS: two servers and three pull requests take longer to
# start and to open.
CLOCK_FOR_TWO = P0_CLOCK.format(deadline=12, first=8, second=10)


@pytest.mark.timeout(120)
def test_timers_scheduled_before_kills_fire_once_across_two_instances_on_postgresql(
    tmp_path: Path, private_key_pem: str, postgres: PostgresServer
) -> None:
    """Three P0 hotfixes, nine timers, scheduled on two servers sharing a PostgreSQL
    journal; then, while they come due, one server is killed, and the other with its worker
    process (a machine dying, its claims coming back when their leases run out), each
    started again. Each timer fired once: one delivery of its id, done, one comment per
    escalation step, every one within 60 s of coming due."""
    with (
        postgres.database() as database_url,
        github_and_servers(tmp_path, private_key_pem, database_url, 2) as (fake, repo, servers),
    ):
        for slug, member in (("engineering-leads", "lead"), ("on-call-managers", "oncall")):
            fake.add_team("acme", slug, [member])
        repo.commit("main", {".github/hotfix.yml": CLOCK_FOR_TWO}, "A clock in seconds")
        for server in servers:
            server.start()
        pulls = []
        for index in range(3):
            branch = f"hotfix/fix-{index}"
            repo.create_branch(branch, "main")
            repo.commit(branch, {"VERSION": "1.2.4\n", f"fix-{index}.txt": "x\n"}, "Fix")
            pulls.append(
                repo.open_pull(branch, "main", title="Fix", author="dev", labels=["hotfix", "P0"])
            )
        for pull in pulls:
            payload = fake.pull_request_event(repo, pull.number, "opened")
            servers[pull.number % 2].deliver("pull_request", payload, f"open-{pull.number}")

        journal = open_journal(database_url)
        try:
            wait_for(lambda: len(journal.timers("scheduled")) == 9)
            servers[0].kill()  # scheduled, not yet due; the other goes on alone
            first_due = min(pull.created_at for pull in pulls) + timedelta(seconds=8)
            time.sleep(max((first_due - fake.now()).total_seconds(), 0))
            servers[0].start()
            time.sleep(1.5)  # firing under way: the first steps came due
            victim = servers[1]
            assert victim.process is not None
            for worker in children_of(victim.process.pid):
                os.kill(worker, signal.SIGKILL)  # as if its machine died
            victim.kill()
            victim.start()
            last_due = max(pull.created_at for pull in pulls) + timedelta(seconds=12)
            time.sleep(max((last_due - fake.now()).total_seconds(), 0))
            servers[0].kill()  # as the last ones come due
            servers[0].start()
            came_due = time.monotonic()
            wait_for(lambda: len(journal.timers("fired")) == 9, timeout=60)
            wait_for(lambda: journal.count(("queued", "running")) == 0, timeout=60)
            assert time.monotonic() - came_due < 60
            rows = [entry for entry in journal.recent(limit=500) if entry.event == "timer"]
            timers = journal.timers(limit=100)
        finally:
            journal.close()
        for server in servers:
            server.stop()
        logged = [
            json.loads(line)["message"]
            for server in servers
            for line in server.log_lines()
            if line.startswith("{")
        ]

    expected = sorted(
        f"{kind}:acme/widgets#{pull.number}:P0:{after}"
        for pull in pulls
        for kind, after in (("escalation", "8s"), ("escalation", "10s"), ("overdue", "12s"))
    )
    assert sorted(entry.timer.id for entry in timers) == expected
    assert {entry.status for entry in timers} == {"fired"}
    # One delivery per timer, done; a run the dead machine held ran again, nowhere else.
    assert sorted(row.id for row in rows) == expected
    assert {row.status for row in rows} == {"done"}
    for row in rows:
        runs = [line for line in logged if line.startswith(f"timer {row.id} ")]
        assert len(runs) == row.attempts, (row.id, runs)
    for pull in pulls:
        markers = [body.splitlines()[0] for body in map(str, comment_bodies(repo, pull.number))]
        assert markers == [
            f"<!-- hotfix-bot notice p0-alert:acme/widgets#{pull.number} -->",
            f"<!-- hotfix-bot notice escalation:acme/widgets#{pull.number}:P0:8s -->",
            f"<!-- hotfix-bot notice escalation:acme/widgets#{pull.number}:P0:10s -->",
        ]
        [run] = repo.runs_named("hotfix-policy", pull.head_sha)
        assert run.output["title"].startswith("Overdue: Waiting for approval")


def comment_bodies(repo: FakeRepo, number: int) -> list[str]:
    return [comment.body for comment in repo.comments_on(number)]
