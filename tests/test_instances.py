"""Two `hotfix-bot serve` processes, each on its own port, sharing one PostgreSQL journal,
against the fake GitHub: deliveries for the same pull requests go to both, and the work is
done once, one check run per head commit, one tag, release, back-merge pull request and
report."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from support.live_server import Server, github_and_servers, wait_for
from support.postgres import PostgresServer

from app.journal import Journal, open_journal
from sandbox import FakeGitHub, FakeRepo

PULL_REQUESTS = 4
ACTIONS = ("opened", "edited", "labeled", "synchronize", "unlabeled", "reopened")
WAITING = "Waiting for approval: Engineering Lead and Product Manager"
MARKER = "<!-- hotfix-bot:hotfix-release -->"


@pytest.fixture
def two_servers(
    tmp_path: Path, private_key_pem: str, postgres: PostgresServer
) -> Iterator[tuple[FakeGitHub, FakeRepo, list[Server], Journal]]:
    with (
        postgres.database() as database,
        github_and_servers(tmp_path, private_key_pem, database, 2) as (fake, repo, servers),
    ):
        journal = open_journal(database)  # the test's own look at the shared journal
        try:
            for server in servers:
                server.start()
            wait_for(lambda: workers_listening(database) == 2)  # both may take any delivery
            yield fake, repo, servers, journal
        finally:
            journal.close()


def workers_listening(database: str) -> int:
    with psycopg.connect(database) as connection:
        [(count,)] = connection.execute(
            "SELECT COUNT(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND query = 'LISTEN hotfix_bot_journal'"
        ).fetchall()
        return int(count)


def settled(journal: Journal) -> None:
    wait_for(lambda: journal.count(("queued", "running")) == 0, timeout=30)


def deliver_all(deliveries: list[tuple[Server, str, dict[str, object], str]]) -> list[str]:
    """Send each (server, event, payload, id) at once, a thread each; their 202 statuses."""
    answers: list[str] = [""] * len(deliveries)

    def send(index: int) -> None:
        server, event, payload, delivery_id = deliveries[index]
        answer = server.deliver(event, payload, delivery_id)
        assert answer.status_code == 202, answer.text
        answers[index] = answer.json()["status"]

    threads = [threading.Thread(target=send, args=(index,)) for index in range(len(deliveries))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return answers


def processed_by(server: Server) -> set[str]:
    """The deliveries this server's worker ran, from its log."""
    entries = [json.loads(line) for line in server.log_lines() if line.startswith("{")]
    return {
        entry["delivery"]
        for entry in entries
        if entry.get("message", "").startswith("processed in attempt")
    }


def test_two_instances_share_the_work_of_one_journal_and_do_each_thing_once(
    two_servers: tuple[FakeGitHub, FakeRepo, list[Server], Journal],
) -> None:
    fake, repo, servers, journal = two_servers
    first, second = servers
    numbers = []
    for index in range(PULL_REQUESTS):
        branch = f"hotfix/fix-{index}"
        repo.create_branch(branch, "main")
        repo.commit(branch, {"VERSION": "1.2.4\n", f"fix-{index}.txt": "fixed\n"}, "Fix")
        pull = repo.open_pull(branch, "main", title=f"Fix {index}", author="dev")
        repo.add_labels(pull.number, "hotfix", "P1")
        numbers.append(pull.number)

    # Each pull request's deliveries alternate between the servers; every third one is
    # delivered to both (a redelivery that reached the other instance).
    deliveries = []
    for round_ in range(6):
        for number in numbers:
            payload = fake.pull_request_event(repo, number, ACTIONS[round_])
            delivery_id = f"pr{number}-{round_}"
            deliveries.append((servers[round_ % 2], "pull_request", payload, delivery_id))
            if round_ % 3 == 2:
                deliveries.append((servers[1 - round_ % 2], "pull_request", payload, delivery_id))
    answers = deliver_all(deliveries)
    settled(journal)

    by_id: dict[str, list[str]] = {}
    for (_, _, _, delivery_id), answer in zip(deliveries, answers, strict=True):
        by_id.setdefault(delivery_id, []).append(answer)
    twice = {delivery_id: sorted(got) for delivery_id, got in by_id.items() if len(got) == 2}
    assert set(map(tuple, twice.values())) == {("duplicate", "queued")}
    entries = journal.recent(limit=1000)
    assert sorted(entry.id for entry in entries) == sorted(by_id)  # one row per delivery
    assert {entry.status for entry in entries} <= {"done", "superseded"}
    assert {entry.attempts for entry in entries if entry.status == "done"} == {1}
    for number in numbers:
        [run] = repo.runs_named("hotfix-policy", repo.pulls[number].head_sha)
        assert run.output["title"] == WAITING
    ran_first, ran_second = processed_by(first), processed_by(second)
    assert not ran_first & ran_second  # each delivery ran on one server only

    # A merged hotfix whose `closed` reaches both servers, once redelivered, once anew.
    repo.commit("main", {"app.py": "def login(): ...\n"}, "Base")
    repo.create_branch("develop", "main")
    repo.commit("develop", {"app.py": "def login(): new feature\n"}, "Work on develop")
    repo.create_branch("hotfix/fix-login", "main")
    repo.commit("hotfix/fix-login", {"VERSION": "1.2.4\n", "app.py": "def login(): fixed\n"}, "Fix")
    pull = repo.open_pull(
        "hotfix/fix-login", "main", title="Fix login", author="dev", labels=["hotfix", "P1"]
    )
    repo.merge_pull(pull.number, "merge")
    closed = fake.pull_request_event(repo, pull.number, "closed")
    deliver_all(
        [
            (first, "pull_request", closed, "merged-1"),
            (second, "pull_request", closed, "merged-1"),
            (second, "pull_request", closed, "merged-2"),
        ]
    )
    settled(journal)

    assert list(repo.tags) == ["v1.2.4"]
    assert list(repo.releases) == ["v1.2.4"]
    backmerges = [p for p in repo.pulls.values() if p.head_ref == "backmerge/v1.2.4"]
    assert [(p.base_ref, p.state) for p in backmerges] == [("develop", "open")]
    reports = [c for c in repo.comments_on(pull.number) if MARKER in c.body]
    assert len(reports) == 1
    assert pull.merge_commit_sha is not None
    [release_run] = repo.runs_named("hotfix-release", pull.merge_commit_sha)
    assert release_run.conclusion == "action_required"
    assert {entry.id: entry.status for entry in journal.recent(limit=2)} == {
        "merged-1": "done",
        "merged-2": "done",
    }
