"""The real server as a subprocess, over HTTP, against the fake GitHub on loopback."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from support.openapi import OpenAPIValidator
from support.webhooks import WEBHOOK_SECRET, signed_headers

from app.journal import SqliteJournal
from app.sandbox import FakeGitHub, FakeRepo, serve_fake

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    def __init__(
        self, command: list[str], environment: dict[str, str], port: int, cwd: Path, log: Path
    ) -> None:
        self.command, self.environment, self.port, self.cwd = command, environment, port, cwd
        self.log = log
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        # A file, not a pipe: a chatty server must never block on a full pipe.
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command, env=self.environment, cwd=self.cwd, stdout=log, stderr=log
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "\n".join(self.log_lines())
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise AssertionError("the server did not answer /healthz in time")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_lines(self) -> list[str]:
        """What the server logged."""
        return self.log.read_text().splitlines()

    def deliver(self, event: str, payload: dict[str, object], delivery_id: str) -> httpx.Response:
        body = json.dumps(payload).encode()
        headers = signed_headers(body, event, delivery_id)
        return httpx.post(f"{self.url}/api/github/webhooks", content=body, headers=headers)


@contextmanager
def github_and_server(
    tmp_path: Path, private_key_pem: str
) -> Iterator[tuple[FakeGitHub, FakeRepo, Server]]:
    fake = FakeGitHub(request_validator=OpenAPIValidator().validate)
    app = fake.create_app(private_key_pem=private_key_pem)
    installation = fake.add_installation(app.id, account="acme")
    repo = fake.add_repo("acme/widgets", installation, files={"VERSION": "1.2.3\n"})
    with serve_fake(fake) as base_url:
        port = free_port()
        environment = {
            **os.environ,
            "APP_ID": str(app.id),
            "PRIVATE_KEY": private_key_pem,
            "WEBHOOK_SECRET": WEBHOOK_SECRET,
            "GITHUB_API_URL": base_url,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'journal.db'}",
            "PORT": str(port),
            "LOG_FORMAT": "json",
        }
        # The working directory is empty: no .env of the developer's is read.
        command = [sys.executable, "-m", "app.cli", "serve"]
        server = Server(command, environment, port, cwd=tmp_path, log=tmp_path / "server.log")
        try:
            yield fake, repo, server
        finally:
            server.stop()
    assert [v.errors for v in fake.violations] == []


def open_hotfix(repo: FakeRepo) -> int:
    repo.create_branch("hotfix/fix-login", "main")
    repo.commit("hotfix/fix-login", {"VERSION": "1.2.4\n"}, "Fix")
    pull = repo.open_pull("hotfix/fix-login", "main", title="Fix", author="dev", labels=["hotfix"])
    return pull.number


def wait_for(condition: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


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
        assert run.output["title"] == "1 of 6 rules fails: labels"
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


def test_the_quickstart_serve_command_runs_as_written(tmp_path: Path) -> None:
    # `python3 dev.py serve` with no credentials: setup mode, healthy, refusing deliveries.
    port = free_port()
    environment = {
        **os.environ,
        "PORT": str(port),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'q.db'}",
    }
    command = ["python3", "dev.py", "serve"]
    server = Server(command, environment, port, cwd=ROOT, log=tmp_path / "server.log")
    try:
        server.start(timeout=300)
        assert httpx.get(f"{server.url}/readyz").status_code == 503
        assert server.deliver("ping", {}, "q-1").status_code == 503
    finally:
        server.stop()
