"""hotfix-bot as a real subprocess, and the fake GitHub it talks to over loopback."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from sandbox import FakeGitHub, FakeRepo, serve_fake
from sandbox.webhooks import answered, post_delivery
from support.openapi import OpenAPIValidator
from support.webhooks import WEBHOOK_SECRET

ROOT = Path(__file__).resolve().parent.parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# What `serve` logs once it has bound its port, in either LOG_FORMAT.
LISTENING = re.compile(r"listening on http://127\.0\.0\.1:(\d+) ")


# uvicorn's `date` header, an HTTP date in GMT (RFC 9110's IMF-fixdate), as its second line.
_DATE_LINE = re.compile(
    rb"(HTTP/1\.1 [^\r]*\r\n)date: [A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT\r\n"
)


def undated(answer: bytes) -> bytes:
    """A raw HTTP answer without its `date` header, which it must have where uvicorn writes
    it, right after the status line: the rest of it is the same at any time."""
    dated = _DATE_LINE.match(answer)
    assert dated is not None, answer
    return dated[1] + answer[dated.end() :]


class Server:
    """`command` (hotfix-bot serve) as a subprocess. Each start listens on a port the kernel
    picks (PORT=0), read back from its log: a port found free beforehand may be another
    program's by the time the server binds it."""

    def __init__(
        self, command: list[str], environment: dict[str, str], cwd: Path, log: Path
    ) -> None:
        self.command, self.environment, self.cwd = command, environment, cwd
        self.log = log
        self.port = 0  # known once started
        self.process: subprocess.Popen[bytes] | None = None
        # Kept-alive connections, as GitHub's deliveries would be; reconnects after a kill.
        self.client = httpx.Client(timeout=10)

    @property
    def url(self) -> str:
        assert self.port, "the server was never started"
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        logged_before = self.log.stat().st_size if self.log.exists() else 0
        # A file, not a pipe: a chatty server must never block on a full pipe.
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                env={**self.environment, "PORT": "0"},
                cwd=self.cwd,
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + timeout
        bound = None
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "\n".join(self.log_lines())
            if bound is None:
                with self.log.open("rb") as log:
                    log.seek(logged_before)
                    bound = LISTENING.search(log.read().decode(errors="replace"))
                if bound is not None:
                    self.port = int(bound[1])
            try:
                if bound and httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
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
        url = f"{self.url}/api/github/webhooks"
        return post_delivery(self.client, url, WEBHOOK_SECRET, event, payload, delivery_id)


@contextmanager
def github_and_server(
    tmp_path: Path, private_key_pem: str
) -> Iterator[tuple[FakeGitHub, FakeRepo, Server]]:
    """One server on a SQLite journal in `tmp_path`, not started yet."""
    database_url = f"sqlite:///{tmp_path / 'journal.db'}"
    with github_and_servers(tmp_path, private_key_pem, database_url, 1) as (fake, repo, servers):
        [server] = servers
        yield fake, repo, server


@contextmanager
def github_and_servers(
    tmp_path: Path, private_key_pem: str, database_url: str, count: int
) -> Iterator[tuple[FakeGitHub, FakeRepo, list[Server]]]:
    """`count` servers, each on a port of its own, sharing the journal `database_url` and
    the fake GitHub; not started yet."""
    fake = FakeGitHub(request_validator=OpenAPIValidator().validate)
    app = fake.create_app(private_key_pem=private_key_pem)
    installation = fake.add_installation(app.id, account="acme")
    repo = fake.add_repo("acme/widgets", installation, files={"VERSION": "1.2.3\n"})
    with serve_fake(fake) as base_url:
        environment = {
            **os.environ,
            "APP_ID": str(app.id),
            "PRIVATE_KEY": private_key_pem,
            "WEBHOOK_SECRET": WEBHOOK_SECRET,
            "GITHUB_API_URL": base_url,
            "DATABASE_URL": database_url,
            "LOG_FORMAT": "json",
        }
        # The working directory is empty: no .env of the developer's is read.
        command = [sys.executable, "-m", "app.cli", "serve"]
        servers = []
        for index in range(count):
            log = tmp_path / ("server.log" if count == 1 else f"server-{index + 1}.log")
            servers.append(Server(command, {**environment}, cwd=tmp_path, log=log))
        try:
            yield fake, repo, servers
        finally:
            for server in servers:
                server.stop()
                server.client.close()
    assert [v.errors for v in fake.violations] == []


def open_hotfix(repo: FakeRepo) -> int:
    repo.create_branch("hotfix/fix-login", "main")
    repo.commit("hotfix/fix-login", {"VERSION": "1.2.4\n"}, "Fix")
    pull = repo.open_pull("hotfix/fix-login", "main", title="Fix", author="dev", labels=["hotfix"])
    return pull.number


def open_fixes(repo: FakeRepo, count: int, *labels: str) -> list[int]:
    """Opens `count` pull requests into main, from hotfix/fix-0 on, each raising VERSION to
    1.2.4 and adding a file of its own, and labels each once opened; returns their numbers."""
    numbers = []
    for index in range(count):
        branch = f"hotfix/fix-{index}"
        repo.create_branch(branch, "main")
        repo.commit(branch, {"VERSION": "1.2.4\n", f"fix-{index}.txt": "fixed\n"}, "Fix")
        pull = repo.open_pull(branch, "main", title=f"Fix {index}", author="dev")
        if labels:
            repo.add_labels(pull.number, *labels)
        numbers.append(pull.number)
    return numbers


def children_of(pid: int) -> list[int]:
    """The live processes whose parent is `pid`, from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # exited meanwhile
        if int(fields[1]) == pid and fields[0] not in "ZX":
            found.append(int(stat.parent.name))
    return found


def wait_for(condition: Callable[[], object], timeout: float = 30.0) -> None:
    """Wait until `condition` holds; one that reads the journal is asked again while the
    journal is busy (see sandbox.webhooks.answered)."""
    deadline = time.monotonic() + timeout
    while not answered(condition, deadline - time.monotonic()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in "ZX"  # a zombie has exited; only its parent has not reaped it
