"""What both benchmarks share: the fake GitHub's world, hotfix-bot as a subprocess, figures."""

from __future__ import annotations

import math
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from app.intake.delivery import signature_for
from sandbox import FakeGitHub, FakePull, FakeRepo, RecordedRequest, new_private_key_pem

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
WEBHOOK_PATH = "/api/github/webhooks"
WEBHOOK_SECRET = "bench-webhook-secret"  # noqa: S105 (a loopback-only bench server's)
REPOSITORY = "acme/widgets"
AUTHOR = "dev"  # of every hotfix
TEAMS = {"engineering-leads": ["lead"], "on-call-managers": ["oncall"], "product-managers": ["pm"]}
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


def machine() -> str:
    """Cores (`nproc`) and memory, as the figures should be quoted."""
    cores = subprocess.run(["nproc"], capture_output=True, text=True, check=True).stdout.strip()
    memory_kib = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    python = sys.version.split()[0]
    return f"nproc={cores}, memory {memory_kib / 1024 / 1024:.1f} GiB, Python {python}"


@dataclass
class World:
    """The fake GitHub with one App installed on acme/widgets and its approval teams."""

    fake: FakeGitHub
    repo: FakeRepo
    app_id: int
    private_key_pem: str

    @classmethod
    def create(cls) -> World:
        private_key_pem = new_private_key_pem()
        fake = FakeGitHub()
        app = fake.create_app(private_key_pem=private_key_pem)
        installation = fake.add_installation(app.id, account="acme")
        repo = fake.add_repo(REPOSITORY, installation, files={"VERSION": "1.2.3\n"})
        # The hotfixes' author pushes their branches: GitHub takes them as an assignee of
        # the incident report.
        repo.collaborators[AUTHOR] = "write"
        for slug, members in TEAMS.items():
            fake.add_team("acme", slug, members)
        return cls(fake, repo, app.id, private_key_pem)

    def open_hotfix(self, branch: str, version: str, body: str = "") -> FakePull:
        """A P1 hotfix by `AUTHOR` bumping VERSION on `branch`, opened against main."""
        self.repo.create_branch(branch, "main")
        self.repo.commit(branch, {"VERSION": f"{version}\n"}, f"Fix, {version}")
        return self.repo.open_pull(
            branch, "main", title="Fix login", author=AUTHOR, labels=["hotfix", "P1"], body=body
        )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def base_environment() -> dict[str, str]:
    """What every server of the benchmarks inherits: PATH, and PYTHONPATH naming the tree this
    bench is in first, so that a checkout run with another checkout's .venv imports its own
    code."""
    paths = [str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": os.pathsep.join(paths)}


class ServerProcess:
    """A server started as a subprocess on a loopback port; its log goes to a file.
    `listeners`: how many processes of it listen on the port (hotfix-bot's WEB_CONCURRENCY):
    it counts as started once they all do, so that the load's connections reach them all."""

    def __init__(
        self, command: list[str], environment: dict[str, str], log: Path, listeners: int = 1
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._command = command
        self._environment = {**environment, "PORT": str(self.port)}
        self._log = log
        self._listeners = listeners
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self._log.open("ab") as log:
            self._process = subprocess.Popen(
                self._command,
                env=self._environment,
                cwd=self._log.parent,
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"{self._command[0]} exited:\n{self._log.read_text()}")
            # uvicorn listens only once the app's startup has finished.
            if listening_sockets(self.port) >= self._listeners:
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self._command[0]} did not listen on {self.port} in time")

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def processes(self) -> list[int]:
        """The server's process and its children (hotfix-bot's worker and intake processes)."""
        return [self.pid, *children_of(self.pid)]

    def peak_rss_mib(self) -> float:
        """VmHWM, the highest resident set size so far, of the server and of its children
        (hotfix-bot's worker process): their sum, the memory the service needed."""
        return sum(_peak_rss_kib(pid) for pid in self.processes()) / 1024

    def stop(self) -> None:
        """SIGTERM (uvicorn shuts down gracefully), SIGKILL when that takes too long."""
        if self._process is None or self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=STOP_TIMEOUT)


def listening_sockets(port: int) -> int:
    """Sockets listening on `port` of this machine (`ss` from iproute2)."""
    listing = subprocess.run(
        ["ss", "-H", "-l", "-t", "-n", f"sport = :{port}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    )
    return len(listing.stdout.splitlines())


def cpu_seconds(pid: int) -> float | None:
    """User and system CPU time the process has used so far (/proc/PID/stat); None once it
    has exited."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_of(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children]


def _peak_rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    [line] = [line for line in status if line.startswith("VmHWM:")]
    return int(line.split()[1])


def hotfix_bot(
    world: World,
    api_url: str,
    workdir: Path,
    web_concurrency: int = 1,
    database_url: str | None = None,
) -> ServerProcess:
    """`hotfix-bot serve` from the .venv against the fake GitHub at `api_url`, with
    `web_concurrency` intake processes, journaling into `database_url` (by default a SQLite
    file in `workdir`)."""
    environment = {
        **base_environment(),
        "WEB_CONCURRENCY": str(web_concurrency),
        "APP_ID": str(world.app_id),
        "PRIVATE_KEY": world.private_key_pem,
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "GITHUB_API_URL": api_url,
        "DATABASE_URL": database_url or f"sqlite:///{journal_path(workdir)}",
        "LOG_LEVEL": "warning",
    }
    command = [str(VENV_BIN / "hotfix-bot"), "serve"]
    return ServerProcess(command, environment, workdir / "hotfix-bot.log", web_concurrency)


def journal_path(workdir: Path) -> Path:
    return workdir / "journal.db"


def signed_headers(body: bytes, event: str, delivery_id: str) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "x-github-event": event,
        "x-github-delivery": delivery_id,
        "x-hub-signature-256": signature_for(WEBHOOK_SECRET, body),
    }


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest value with `fraction` of values at or below."""
    ordered = sorted(values)
    return ordered[max(math.ceil(fraction * len(ordered)) - 1, 0)]


def sequential_round_trips(requests: list[RecordedRequest]) -> int:
    """The longest chain of requests where each arrived only after the previous was answered."""
    ordered = sorted(requests, key=lambda request: request.received_at)
    depths: list[int] = []
    for request in ordered:
        earlier = (
            depth
            for other, depth in zip(ordered, depths, strict=False)
            if other.answered_at is not None and other.answered_at <= request.received_at
        )
        depths.append(1 + max(earlier, default=0))
    return max(depths, default=0)
