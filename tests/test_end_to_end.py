"""The real server as a subprocess, over HTTP, against the fake GitHub on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from pathlib import Path
from stat import S_IMODE
from typing import Any

import httpx
import pytest
from support.live_server import (
    ROOT,
    Server,
    children_of,
    github_and_server,
    open_hotfix,
    running,
    wait_for,
)
from support.titles import rules_fail
from support.webhooks import WEBHOOK_SECRET

from app.journal import SqliteJournal
from app.journal.worker_process import (
    SERVER_GONE,
    WAKE,
    WAKE_GAP_SECONDS,
    Waker,
    WakeUps,
    single_worker,
)
from sandbox import FakeGitHub, FakeRepo

DONE = 'hotfix_bot_deliveries_total{event="pull_request",outcome="done"} 1.0'


def started(server: Server) -> int:
    """`server` started: the id of its process."""
    server.start()
    assert server.process is not None
    return server.process.pid


def open_and_process(
    fake: FakeGitHub, repo: FakeRepo, server: Server, delivery: str
) -> dict[str, Any]:
    """Opens a hotfix pull request and waits until the server has processed its delivery,
    as its /metrics count it; returns the event delivered."""
    number = open_hotfix(repo)
    event = fake.pull_request_event(repo, number, "opened")
    assert server.deliver("pull_request", event, delivery).status_code == 202
    wait_for(lambda: DONE in httpx.get(f"{server.url}/metrics").text)
    return event


def test_the_server_takes_a_delivery_over_http_and_writes_the_check_run(
    tmp_path: Path, private_key_pem: str
) -> None:
    with github_and_server(tmp_path, private_key_pem) as (fake, repo, server):
        server.start()
        number = open_hotfix(repo)
        payload = fake.pull_request_event(repo, number, "opened")

        answer = server.deliver("pull_request", payload, "e2e-1")

        assert answer.status_code == 202
        assert answer.json() == {"delivery": "e2e-1", "status": "queued"}
        wait_for(lambda: repo.runs_named("hotfix-policy"))
        [run] = repo.runs_named("hotfix-policy")
        assert run.output["title"] == rules_fail("labels")
        assert httpx.get(f"{server.url}/readyz").status_code == 200
        metrics = httpx.get(f"{server.url}/metrics").text
        assert 'hotfix_bot_deliveries_total{event="pull_request",outcome="queued"} 1.0' in metrics
        assert "hotfix_bot_github_rate_limit_remaining" in metrics
        server.stop()
        log_lines = server.log_lines()
        # LOG_FORMAT=json: one JSON object a line, each delivery line with its context.
        entries = [json.loads(line) for line in log_lines]
        [processed] = [
            e for e in entries if e.get("delivery") == "e2e-1" and "labels" in e["message"]
        ]
        assert processed["event"] == "pull_request.opened"
        assert (processed["repository"], processed["pr"]) == ("acme/widgets", number)
        assert processed["installation"] == repo.installation_id
        assert all(private_key_pem.splitlines()[1] not in line for line in log_lines)
        assert all(WEBHOOK_SECRET not in line for line in log_lines)


@pytest.mark.parametrize("key_setting", ["PRIVATE_KEY", "PRIVATE_KEY_PATH"])
def test_serve_takes_every_setting_from_dot_env_in_its_working_directory(
    tmp_path: Path, private_key_pem: str, key_setting: str
) -> None:
    """The key on one line with `\\n` escapes, as hosting platforms store it, or in a file;
    the key file and the journal at paths relative to the working directory."""
    with github_and_server(tmp_path, private_key_pem) as (fake, repo, server):
        settings = ("APP_ID", "PRIVATE_KEY", "WEBHOOK_SECRET", "GITHUB_API_URL", "DATABASE_URL")
        dot_env = {name: server.environment.pop(name) for name in settings}
        if key_setting == "PRIVATE_KEY":
            dot_env["PRIVATE_KEY"] = private_key_pem.strip().replace("\n", "\\n")
        else:
            (tmp_path / "keys").mkdir()
            (tmp_path / "keys" / "app.pem").write_text(private_key_pem)
            del dot_env["PRIVATE_KEY"]
            dot_env["PRIVATE_KEY_PATH"] = "keys/app.pem"
        dot_env["DATABASE_URL"] = "sqlite:///state/journal.db"
        lines = [f"{name}={value}" for name, value in dot_env.items()]
        (tmp_path / ".env").write_text("\n".join(lines) + "\n")
        server.start()

        open_and_process(fake, repo, server, "from-dot-env")

        assert httpx.get(f"{server.url}/readyz").status_code == 200
        [run] = repo.runs_named("hotfix-policy")
        assert run.output["title"] == rules_fail("labels")
        journal = SqliteJournal(tmp_path / "state" / "journal.db")
        try:
            assert [entry.id for entry in journal.recent()] == ["from-dot-env"]
        finally:
            journal.close()


def test_a_delivery_acknowledged_before_a_crash_is_processed_once_after_restart(
    tmp_path: Path, private_key_pem: str
) -> None:
    with github_and_server(tmp_path, private_key_pem) as (fake, repo, server):
        server.start()
        number = open_hotfix(repo)
        hang = fake.inject("POST", r"/check-runs$", hang=True, times=None)

        answer = server.deliver(
            "pull_request", fake.pull_request_event(repo, number, "opened"), "crash-1"
        )
        assert answer.status_code == 202
        wait_for(lambda: fake.requests_to("POST", "/repos/acme/widgets/check-runs"))
        server.kill()  # mid-work: the check run was never written
        assert repo.runs_named("hotfix-policy") == []

        fake.faults.remove(hang)
        server.start()
        wait_for(lambda: repo.runs_named("hotfix-policy"))
        journal = SqliteJournal(tmp_path / "journal.db")
        try:
            wait_for(lambda: journal.recent()[0].status == "done")
            [entry] = journal.recent()
        finally:
            journal.close()
        assert (entry.id, entry.attempts) == ("crash-1", 2)
        assert len(repo.runs_named("hotfix-policy")) == 1


def test_deliveries_run_in_a_worker_process_that_never_outlives_the_server(
    tmp_path: Path, private_key_pem: str
) -> None:
    with github_and_server(tmp_path, private_key_pem) as (fake, repo, server):
        pid = started(server)

        # Counted done by the worker process and queued by the intake, read from one /metrics.
        open_and_process(fake, repo, server, "w-1")

        assert repo.runs_named("hotfix-policy")
        [worker] = children_of(pid)
        assert b"app.journal.worker_process" in Path(f"/proc/{worker}/cmdline").read_bytes()
        metrics = httpx.get(f"{server.url}/metrics").text
        assert 'hotfix_bot_deliveries_total{event="pull_request",outcome="queued"} 1.0' in metrics
        assert "hotfix_bot_queue_depth 0.0" in metrics
        assert "hotfix_bot_journal_up 1.0" in metrics

        # A worker that dies is started again; the status page says so meanwhile.
        os.kill(worker, signal.SIGKILL)
        stopped = "The worker process is not running: 1 exit or failed start in a row."
        wait_for(lambda: stopped in httpx.get(f"{server.url}/").text)
        wait_for(lambda: stopped not in httpx.get(f"{server.url}/").text)
        [replacement] = children_of(pid)
        assert replacement != worker
        restarted = (
            "the worker process was killed by SIGKILL (the kernel's out-of-memory killer, or "
            "someone: the system log says which); starting it again in 1 s"
        )
        assert any(restarted in line for line in server.log_lines())

        server.kill()
        wait_for(lambda: not running(replacement), timeout=3)
        # One line, the replacement's: the first worker was killed and said nothing.
        said = [json.loads(line) for line in server.log_lines()]
        gone = [(e["logger"], e["level"]) for e in said if e["message"] == SERVER_GONE]
        assert gone == [("hotfix_bot.worker", "info")]


def test_a_worker_process_waits_for_the_previous_one_to_exit(
    tmp_path: Path, private_key_pem: str
) -> None:
    with github_and_server(tmp_path, private_key_pem) as (fake, repo, server):
        with single_worker(tmp_path / "journal.db"):  # as a worker still running would
            server.start()
            number = open_hotfix(repo)
            answer = server.deliver(
                "pull_request", fake.pull_request_event(repo, number, "opened"), "w-2"
            )
            assert answer.json()["status"] == "queued"
            waiting = "waiting for the previous worker process to exit"
            wait_for(lambda: any(waiting in line for line in server.log_lines()))
            assert repo.runs_named("hotfix-policy") == []

        wait_for(lambda: repo.runs_named("hotfix-policy"))
        assert len(repo.runs_named("hotfix-policy")) == 1


def test_a_journal_deleted_under_the_running_server_takes_nothing_until_a_restart(
    tmp_path: Path, private_key_pem: str
) -> None:
    with github_and_server(tmp_path, private_key_pem) as (fake, repo, server):
        server.start()
        event = open_and_process(fake, repo, server, "gone-0")

        for name in ("journal.db", "journal.db-wal", "journal.db-shm"):
            (tmp_path / name).unlink()
        unready = httpx.get(f"{server.url}/readyz")
        refused = [server.deliver("pull_request", event, f"gone-{n}") for n in range(1, 6)]

        assert unready.status_code == 503
        assert unready.json() == {
            "status": "unavailable",
            "problems": [
                "the journal file was deleted or replaced while hotfix-bot was running: "
                "put it back, or restart hotfix-bot to open the file now at its path"
            ],
        }
        error = "the delivery journal file was deleted or replaced; GitHub will let you redeliver"
        assert [(answer.status_code, answer.json()) for answer in refused] == [
            (503, {"error": error})
        ] * 5
        # The worker process claims nothing from the deleted file either; it keeps asking.
        gone = f"journal write failed: {tmp_path / 'journal.db'} was deleted or replaced while open"
        stopped = f"the journal cannot take writes, trying again in 1 s: {gone}"
        wait_for(lambda: stopped in messages(server.log_lines()))
        assert f"delivery gone-1 refused: {gone}" in messages(server.log_lines())

        server.stop()
        server.start()  # a new journal: GitHub's redeliveries are taken
        accepted = [server.deliver("pull_request", event, f"gone-{n}") for n in range(1, 6)]
        assert [answer.json()["status"] for answer in accepted] == ["queued"] * 5
        assert httpx.get(f"{server.url}/readyz").status_code == 200


def test_the_journal_and_every_file_beside_it_are_the_server_users_alone(
    tmp_path: Path, private_key_pem: str
) -> None:
    with github_and_server(tmp_path, private_key_pem) as (fake, repo, server):
        # Directories the server has to create on its way to the journal.
        server.environment["DATABASE_URL"] = f"sqlite:///{tmp_path / 'data' / 'journal.db'}"
        pid = started(server)
        open_and_process(fake, repo, server, "m-1")
        [worker] = children_of(pid)

        data = tmp_path / "data"
        modes = {
            str(path.relative_to(tmp_path)): (path.is_dir(), S_IMODE(path.stat().st_mode))
            for path in [data, *data.rglob("*")]
        }

    not_private = {
        name: oct(mode)
        for name, (is_directory, mode) in modes.items()
        if mode != (0o700 if is_directory else 0o600)
    }
    assert not_private == {}
    metrics = f"data/journal.db.metrics/server-{pid}"
    assert {
        "data",
        "data/journal.db",
        "data/journal.db-wal",
        "data/journal.db-shm",
        "data/journal.db.write-lock",
        "data/journal.db.worker-lock",
        "data/journal.db.metrics",
        "data/journal.db.metrics/setup.lock",
        metrics,
        f"{metrics}/counter_{pid}.db",  # the intake's counts
        f"{metrics}/counter_{worker}.db",  # the worker process's
    } <= modes.keys()


def test_a_second_server_on_the_same_journal_leaves_the_first_ones_metrics_alone(
    tmp_path: Path, private_key_pem: str
) -> None:
    with github_and_server(tmp_path, private_key_pem) as (fake, repo, first):
        started(first)
        open_and_process(fake, repo, first, "s-1")
        counted = metric_lines(httpx.get(f"{first.url}/metrics").text)

        # Started by mistake on another port, without credentials: it refuses a delivery.
        environment = dict(first.environment)
        del environment["APP_ID"], environment["PRIVATE_KEY"]
        second = Server(first.command, environment, cwd=tmp_path, log=tmp_path / "second.log")
        try:
            second.start()
            assert second.deliver("pull_request", {}, "s-2").status_code == 503
            refused = 'hotfix_bot_deliveries_total{event="unknown",outcome="refused"} 1.0'
            assert refused in httpx.get(f"{second.url}/metrics").text
        finally:
            second.stop()
            second.client.close()

        assert metric_lines(httpx.get(f"{first.url}/metrics").text) == counted
        assert 'outcome="refused"' not in httpx.get(f"{first.url}/metrics").text


def metric_lines(exposition: str) -> list[str]:
    """The counters /metrics gave, without the comments and the queue's depth of now."""
    return [
        line for line in exposition.splitlines() if line.startswith("hotfix_bot_deliveries_total")
    ]


def messages(log_lines: list[str]) -> list[str]:
    """The messages of the server's log (LOG_FORMAT=json)."""
    return [json.loads(line)["message"] for line in log_lines]


def test_a_worker_process_waiting_for_the_lock_exits_when_the_server_is_killed(
    tmp_path: Path, private_key_pem: str
) -> None:
    with github_and_server(tmp_path, private_key_pem) as (_, _, server):
        with single_worker(tmp_path / "journal.db"):  # as a worker still running would
            pid = started(server)
            waiting = "waiting for the previous worker process to exit"
            wait_for(lambda: any(waiting in line for line in server.log_lines()))
            [worker] = children_of(pid)

            server.kill()  # the server alone: SIGKILL leaves it no time to stop its child

            wait_for(lambda: not running(worker), timeout=3)
        assert [json.loads(line)["message"] for line in server.log_lines()][-2:] == [
            waiting,
            SERVER_GONE,
        ]


def test_the_quickstart_serve_command_runs_as_written(tmp_path: Path) -> None:
    # `python3 dev.py serve` with no credentials: setup mode, healthy, refusing deliveries.
    environment = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'q.db'}"}
    command = ["python3", "dev.py", "serve"]
    server = Server(command, environment, cwd=ROOT, log=tmp_path / "server.log")
    try:
        server.start(timeout=300)
        assert httpx.get(f"{server.url}/readyz").status_code == 503
        assert server.deliver("ping", {}, "q-1").status_code == 503
    finally:
        server.stop()


def test_the_wake_ups_of_one_event_loop_turn_reach_the_worker_as_one_byte_one_per_gap() -> None:
    wake_ups = WakeUps()
    waker = Waker(wake_ups.write_end)

    def unread() -> bytes:
        try:
            return os.read(wake_ups.read_end, 65536)
        except BlockingIOError:
            return b""

    async def a_group_commit_then_one_more_delivery_then_a_full_pipe() -> list[bytes]:
        seen = []
        for _ in range(16):  # a batch of 16 deliveries answered in one turn
            waker.wake()
        seen.append(unread())
        await asyncio.sleep(0)
        seen.append(unread())
        waker.wake()  # one more at once: it waits for the gap to pass
        await asyncio.sleep(0)
        seen.append(unread())
        await asyncio.sleep(WAKE_GAP_SECONDS)
        seen.append(unread())
        # A worker that reads nothing (it is being started again): the pipe fills, and the
        # intake drops the byte rather than wait.
        with contextlib.suppress(BlockingIOError):
            while True:
                os.write(wake_ups.write_end, WAKE * 4096)
        waker.wake()
        await asyncio.sleep(0)
        return seen

    try:
        assert asyncio.run(a_group_commit_then_one_more_delivery_then_a_full_pipe()) == [
            b"",
            WAKE,
            b"",
            WAKE,
        ]
    finally:
        os.close(wake_ups.read_end)
        os.close(wake_ups.write_end)
