"""Two `hotfix-bot serve` processes, each on its own port, sharing one PostgreSQL journal,
against the fake GitHub: deliveries for the same pull requests go to both, and the work is
done once, one check run per head commit, one tag, release, back-merge pull request and
report."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from support.live_server import Server, github_and_servers, open_fixes, wait_for
from support.postgres import PostgresServer, workers_listening

from app.journal import Journal, open_journal
from sandbox import FakeGitHub, FakePull, FakeRepo, RecordedRequest

PULL_REQUESTS = 4
ACTIONS = ("opened", "edited", "labeled", "synchronize", "unlabeled", "reopened")
WAITING = "Waiting for approval: Engineering Lead and Product Manager"
MARKER = "<!-- hotfix-bot:hotfix-release -->"


@pytest.fixture
def database(postgres: PostgresServer) -> Iterator[str]:
    with postgres.database() as url:
        yield url


@pytest.fixture
def two_servers(
    tmp_path: Path, private_key_pem: str, database: str
) -> Iterator[tuple[FakeGitHub, FakeRepo, list[Server], Journal]]:
    with github_and_servers(tmp_path, private_key_pem, database, 2) as (fake, repo, servers):
        journal = open_journal(database)  # the test's own look at the shared journal
        try:
            for server in servers:
                server.start()
            wait_for(lambda: workers_listening(database) == 2)  # both may take any delivery
            yield fake, repo, servers, journal
        finally:
            journal.close()


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


def open_fix_login(repo: FakeRepo, severity: str) -> FakePull:
    """Opens hotfix "Fix login" into main, with develop a commit ahead to merge it back into."""
    repo.commit("main", {"app.py": "def login(): ...\n"}, "Base")
    repo.create_branch("develop", "main")
    repo.commit("develop", {"app.py": "def login(): new feature\n"}, "Work on develop")
    repo.create_branch("hotfix/fix-login", "main")
    repo.commit("hotfix/fix-login", {"VERSION": "1.2.4\n", "app.py": "def login(): fixed\n"}, "Fix")
    return repo.open_pull(
        "hotfix/fix-login", "main", title="Fix login", author="dev", labels=["hotfix", severity]
    )


def test_two_instances_share_the_work_of_one_journal_and_do_each_thing_once(
    two_servers: tuple[FakeGitHub, FakeRepo, list[Server], Journal],
) -> None:
    fake, repo, servers, journal = two_servers
    first, second = servers
    numbers = open_fixes(repo, PULL_REQUESTS, "hotfix", "P1")

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
    pull = open_fix_login(repo, "P1")
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
    merges = [entry for entry in journal.recent(limit=1000) if entry.event == "pull_request"]
    assert {entry.id: entry.status for entry in merges[:2]} == {
        "merged-1": "done",
        "merged-2": "done",
    }


TEAMS = {"engineering-leads": ["lead"], "on-call-managers": ["oncall"]}
REFUSAL = "Resource not accessible by integration"
ISSUES = "/repos/acme/widgets/issues"  # where the incident report step looks for its issue


def to_both(
    servers: list[Server], event: str, payload: dict[str, object], name: str
) -> list[tuple[Server, str, dict[str, object], str]]:
    """`payload` to each server, under an id of its own (GitHub sent it twice)."""
    return [(server, event, payload, f"{name}-{n}") for n, server in enumerate(servers, 1)]


def worker_running(database: str, delivery_id: str) -> int:
    """The process id of the worker that runs `delivery_id`, from its claim."""
    with psycopg.connect(database) as connection:
        [(claimer,)] = connection.execute(
            "SELECT claimed_by FROM deliveries WHERE id = %s AND status = 'running'",
            (delivery_id,),
        ).fetchall()
    return int(claimer.split(":")[1])


def status(journal: Journal, delivery_id: str) -> str:
    return {entry.id: entry.status for entry in journal.recent()}[delivery_id]


def report_searches(fake: FakeGitHub) -> list[RecordedRequest]:
    return [request for request in fake.requests_to("GET", ISSUES) if request.path == ISSUES]


def first_lines(repo: FakeRepo, number: int) -> list[str]:
    return [comment.body.splitlines()[0] for comment in repo.comments_on(number)]


def test_every_delivery_of_a_p0_hotfix_reaching_both_instances_does_each_thing_once(
    two_servers: tuple[FakeGitHub, FakeRepo, list[Server], Journal], database: str
) -> None:
    """A P0 hotfix whose every delivery reaches both instances. Its merge's post-merge run
    then meets a re-run of `hotfix-release` on the other instance, while the first is
    stopped (SIGSTOP) between looking for the incident report and opening it: the re-run
    waits for it, and the hotfix gets one of everything."""
    fake, repo, servers, journal = two_servers
    first, second = servers
    for slug, members in TEAMS.items():
        fake.add_team("acme", slug, members)
    pull = open_fix_login(repo, "P0")
    number, first_head = pull.number, pull.head_sha

    def event(action: str) -> dict[str, object]:
        return fake.pull_request_event(repo, number, action)

    deliver_all(
        to_both(servers, "pull_request", event("opened"), "opened")
        + to_both(servers, "pull_request", event("labeled"), "labeled")
    )
    settled(journal)
    repo.commit("hotfix/fix-login", {"app.py": "def login(): fixed, and tested\n"}, "Test")
    repo.review(number, "lead", "APPROVED")
    review = fake.review_event(repo, number)
    deliver_all(
        to_both(servers, "pull_request", event("synchronize"), "synchronize")
        + to_both(servers, "pull_request_review", review, "review")
    )
    settled(journal)
    [policy_run] = repo.runs_named("hotfix-policy", pull.head_sha)
    deliver_all(
        to_both(servers, "check_run", fake.check_run_event(repo, policy_run.id), "policy-rerun")
    )
    settled(journal)

    # Merged while GitHub refuses the App the config (a permission missing): the merge's
    # deliveries fail before any step, and the hotfix-release run says so.
    merge_sha = repo.merge_pull(number, merged_by="lead")
    before = repo.get_commit(merge_sha).parents[0]  # where the config of the merge is read
    refusal = fake.inject(
        "GET", rf"/git/trees/{before}$", 403, times=None, body={"message": REFUSAL}
    )
    closed = event("closed")
    deliver_all(to_both(servers, "pull_request", closed, "closed"))
    settled(journal)
    refusal.times = refusal.hits  # the permission granted
    [release_run] = repo.runs_named("hotfix-release", merge_sha)
    assert release_run.output["title"] == "Could not run the post-merge steps"

    # GitHub redelivers the merge; its run gets as far as finding no incident report, and
    # stops there (SIGSTOP, as a machine might). The search is answered late enough for the
    # claim to be read and the worker stopped while it waits, however busy the machine.
    fake.inject("GET", rf"{ISSUES}$", delay=3)
    # The merge's first runs may have searched too, beside the config read GitHub refused.
    searched_before = len(report_searches(fake))
    deliver_all([(first, "pull_request", closed, "closed-3")])
    wait_for(lambda: len(report_searches(fake)) > searched_before)
    stopped = worker_running(database, "closed-3")
    os.kill(stopped, signal.SIGSTOP)
    try:
        wait_for(lambda: report_searches(fake)[searched_before].answered_at is not None)  # unread
        writes = len(fake.requests_to("POST", "/repos/")) + len(fake.requests_to("PATCH", "/"))
        # Someone re-runs hotfix-release; the other instance's worker takes it.
        rerun = fake.check_run_event(repo, release_run.id)
        deliver_all([(second, "check_run", rerun, "rerun-1")])
        wait_for(lambda: status(journal, "rerun-1") == "running")  # taken, however busy
        time.sleep(2)  # time enough for a run not held back to write
        rerun_while_stopped = status(journal, "rerun-1")
        written_while_stopped = (
            len(fake.requests_to("POST", "/repos/")) + len(fake.requests_to("PATCH", "/")) - writes
        )
    finally:
        os.kill(stopped, signal.SIGCONT)
    deliver_all(
        [(second, "pull_request", closed, "closed-4"), (first, "check_run", rerun, "rerun-2")]
    )
    settled(journal)

    assert (rerun_while_stopped, written_while_stopped) == ("running", 0)
    [first_run] = repo.runs_named("hotfix-policy", first_head)
    [last_run] = repo.runs_named("hotfix-policy", pull.head_sha)
    # A push replaced its head while it waited: the next evaluation cancelled it.
    assert (first_run.status, first_run.conclusion, first_run.output["title"]) == (
        "completed",
        "cancelled",
        f"Replaced by a push: evaluated on {pull.head_sha[:7]}",
    )
    # Merged waiting: the merge concluded it.
    assert (last_run.status, last_run.conclusion, last_run.output["title"]) == (
        "completed",
        "failure",
        "Merged while waiting for approval: On-call Manager",
    )
    assert list(repo.tags) == ["v1.2.4"]
    assert list(repo.releases) == ["v1.2.4"]
    backmerges = [p for p in repo.pulls.values() if p.head_ref == "backmerge/v1.2.4"]
    assert [(p.base_ref, p.state) for p in backmerges] == [("develop", "open")]
    waiting = f"Back-merge into develop waits for review in #{backmerges[0].number}"
    reports = [i for i in repo.issues.values() if "incident-report" in i.labels]
    assert [issue.title for issue in reports] == ["Incident report: Fix login"]
    assert first_lines(repo, number) == [
        f"<!-- hotfix-bot notice p0-alert:acme/widgets#{number} -->",
        f"<!-- hotfix-bot notice resolution:acme/widgets#{number} -->",
        MARKER,
    ]
    [release_run] = repo.runs_named("hotfix-release", merge_sha)
    assert (release_run.conclusion, release_run.output["title"]) == ("action_required", waiting)
    statuses = {entry.id: entry.status for entry in journal.recent(limit=100)}
    assert {statuses.pop("closed-1"), statuses.pop("closed-2")} == {"failed"}
    assert set(statuses.values()) <= {"done", "superseded"}
