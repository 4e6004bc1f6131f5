"""bench/ingest: deliveries per second into hotfix-bot against Probot and bare endpoints.

One run starts the fake GitHub (a thread of this process), hotfix-bot (`hotfix-bot serve`
from the .venv, once per `--web-concurrency` value, its worker really evaluating every
delivery against the fake), a Probot 14 app that does nothing (installed from npm into a
temporary directory: the peer baseline, which checks the signature and parses the body as
every webhook receiver must) and the two baselines of bench/bare_app.py on hotfix-bot's own
server stack (`checked`: the intake's checks and no journal; `bare`: the body read and
202), and loads each in turn with `wrk` (installed from Debian when missing): signed ~28 KB
`pull_request` deliveries, each with a unique `X-GitHub-Delivery`, over loopback, for a
warm-up and then a measured period. Afterwards each hotfix-bot's journal must hold exactly
the deliveries it answered 202. The journal is a SQLite file, or with `--database-url` a new
database on that PostgreSQL server for each hotfix-bot.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
from common import (
    ROOT,
    WEBHOOK_PATH,
    WEBHOOK_SECRET,
    ServerProcess,
    World,
    base_environment,
    children_of,
    cpu_seconds,
    hotfix_bot,
    journal_path,
    machine,
    percentile,
)

from app.intake.delivery import signature_for
from app.journal import describe_journal
from app.journal import journal_path as sqlite_file
from sandbox import FakePull, serve_fake, shapes

LUA_SCRIPT = ROOT / "bench" / "ingest.lua"
TARGET_PROBOT_RATIO = 1.5
TARGET_P99_MS = 25.0
APT_TIMEOUT = 600
NPM_TIMEOUT = 600
PROBOT = "probot@14"
# Probot's webhook route verifies the signature, parses the body and emits the event to
# this handler, which does nothing; Probot logs each request, as it does by default.
PROBOT_APP = """export default (app) => {
  app.on("pull_request", async () => {});
};
"""
METRICS_SETTLE_TIMEOUT = 5.0
DELIVERIES_METRIC = re.compile(
    r'^hotfix_bot_deliveries_total\{event="pull_request",outcome="(\w+)"\} ([0-9.e+]+)$',
    re.MULTILINE,
)
DISK_PROBE_BYTES = 64 * 1024  # a group commit: ~8 compressed deliveries and their pages
DISK_PROBE_WRITES = 30
ACCEPTED_OUTCOMES = ("queued", "ignored", "duplicate")  # the outcomes answered 202

DESCRIPTION_HEAD = """## Summary

Users with an expired session were sent into a redirect loop between `/login` and
`/sso/callback` after the 1.2.3 release, because the session middleware now validates the
`state` cookie before the SSO callback handler has a chance to refresh it.

## Root cause

`SessionMiddleware.validate()` was moved ahead of `SsoCallback.refresh()` in #4312 to close
a CSRF gap. For sessions older than the cookie's max-age the validation fails, the user is
redirected to `/login`, which starts SSO again, and the callback fails the same way.

## Fix

- Validate the `state` cookie only after `refresh()` has run for `/sso/callback`.
- Keep the CSRF check for every other route (regression test added).
- Log the redirect reason at `info` so loops are visible in the dashboards.

## Testing

- [x] Unit tests: `pytest tests/auth -q` (412 passed)
- [x] Reproduced on staging with a session cookie aged past max-age; fixed with this branch
- [x] Load test of the login flow: p99 unchanged (41 ms)

## Rollback

Revert this pull request; no migration, no configuration change.

## Incident timeline
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="measured period (default 10)")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up period (default 2)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of all three (default 3)")
    parser.add_argument("--connections", type=int, default=16, help="default 16")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--pulls", type=int, default=16, help="pull requests (default 16)")
    parser.add_argument("--payload-kib", type=int, default=28, help="body size (default 28)")
    parser.add_argument(
        "--web-concurrency",
        type=int,
        nargs="+",
        default=[1, 2],
        metavar="N",
        help="hotfix-bot's WEB_CONCURRENCY, one hotfix-bot per value in each round (default "
        "1 2); the targets are judged on the last",
    )
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help="journal into PostgreSQL rather than a SQLite file: a database of the server to "
        "use (postgresql://user@host:port/postgres), where each hotfix-bot gets a new "
        "database, dropped afterwards",
    )
    options = parser.parse_args()

    wrk = ensure_wrk()
    print(f"machine: {machine()}; load: {wrk}, {options.connections} connections, ", end="")
    print(f"{options.threads} threads, {options.warmup} s warm-up + {options.seconds} s measured")
    world = World.create()
    rounds: list[Round] = []
    with tempfile.TemporaryDirectory(prefix="hotfix-bot-ingest-") as directory:
        workdir = Path(directory)
        probot_app = install_probot(workdir / "probot")
        bodies = workdir / "bodies"
        size = write_signed_bodies(world, bodies, options.pulls, options.payload_kib * 1024)
        print(f"payload: {size} bytes, {options.pulls} pull requests, signed once each")
        print("hotfix-bot/N: hotfix-bot serve with WEB_CONCURRENCY=N, ", end="")
        if options.database_url:
            print(f"journaling into PostgreSQL at {describe_journal(options.database_url)}")
        else:
            print("journaling into a SQLite file")
        load = Load(wrk, bodies, options)
        with serve_fake(world.fake) as api_url:
            # Each round runs the servers back to back, so that what the machine's disk and
            # neighbours do meanwhile weighs on all alike; the figures are the rounds' medians.
            for number in range(1, options.rounds + 1):
                print(f"\nround {number}: {disk_sync_probe(workdir)}; {load_average()}")
                round_dir = workdir / f"round-{number}"
                round_dir.mkdir()
                bots = [
                    measure_hotfix_bot(
                        load, world, api_url, round_dir, web_concurrency, options.database_url
                    )
                    for web_concurrency in options.web_concurrency
                ]
                probot = measure(load, probot_server(probot_app, world, round_dir), "probot")
                checked = measure(load, baseline("checked", round_dir), "checked")
                bare = measure(load, baseline("bare", round_dir), "bare")
                this_round = Round(bots, probot, checked, bare)
                print_figures(this_round.all())
                for bot in bots:
                    ratio = bot.requests_per_second / probot.requests_per_second
                    print(f"{bot.name}/probot {ratio:.2f}")
                rounds.append(this_round)
    return report(rounds, options.connections)


def load_average() -> str:
    return "load average " + " ".join(Path("/proc/loadavg").read_text().split()[:3])


def check_run_writes(world: World) -> int:
    """Check runs created and updated on the fake GitHub so far: the worker's output."""
    check_runs = f"/repos/{world.repo.full_name}/check-runs"
    return sum(len(world.fake.requests_to(method, check_runs)) for method in ("POST", "PATCH"))


def disk_sync_probe(directory: Path) -> str:
    """How long the journal's disk takes now to make a group commit's worth of bytes
    durable. Printed with each round: a virtual disk's sync time varies with its neighbours,
    and hotfix-bot's figures with it."""
    probe = directory / "sync-probe"
    chunk = os.urandom(DISK_PROBE_BYTES)
    timings = []
    descriptor = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for _ in range(DISK_PROBE_WRITES):
            started = time.perf_counter()
            os.write(descriptor, chunk)
            os.fdatasync(descriptor)
            timings.append((time.perf_counter() - started) * 1000)
    finally:
        os.close(descriptor)
        probe.unlink()
    return (
        f"write + fdatasync of {DISK_PROBE_BYTES // 1024} KiB: median "
        f"{statistics.median(timings):.2f} ms, p90 {percentile(timings, 0.9):.2f} ms"
    )


def ensure_wrk() -> str:
    """wrk from Debian; installed with apt-get when missing (needs root)."""
    if shutil.which("wrk") is None:
        install = ["apt-get", "install", "-y", "-q", "wrk"]
        environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        if subprocess.run(install, env=environment, timeout=APT_TIMEOUT).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], timeout=APT_TIMEOUT, check=True)
            subprocess.run(install, env=environment, timeout=APT_TIMEOUT, check=True)
    version = subprocess.run(["wrk", "-v"], capture_output=True, text=True, timeout=10)
    return (version.stdout + version.stderr).split("[")[0].strip() or "wrk"


def write_signed_bodies(world: World, directory: Path, pulls: int, size: int) -> int:
    """One realistic `pull_request` body per pull request, padded to `size`, and its signature."""
    directory.mkdir()
    sizes = []
    for index in range(1, pulls + 1):
        pull = world.open_hotfix(f"hotfix/fix-login-{index}", "1.2.4")
        pull.requested_reviewers = ["lead", "pm"]
        body = padded_payload(world, pull, size)
        (directory / f"body-{index}.json").write_bytes(body)
        (directory / f"signature-{index}").write_text(signature_for(WEBHOOK_SECRET, body))
        sizes.append(len(body))
    return max(sizes)


def padded_payload(world: World, pull: FakePull, size: int) -> bytes:
    """The fake's `synchronize` payload, with a real-sized description, assignee and labels."""
    world.repo.add_labels(pull.number, "incident", "backend", "security-review")
    payload: dict[str, Any] = world.fake.pull_request_event(world.repo, pull.number, "synchronize")
    author = shapes.user(world.fake, "dev")
    payload["pull_request"] |= {"assignee": author, "assignees": [author]}
    timeline = DESCRIPTION_HEAD
    minute = 0
    while True:
        pull_request = payload["pull_request"]
        pull_request["body"] = timeline
        encoded = json.dumps(payload).encode()
        if len(encoded) >= size:
            return encoded
        minute += 1
        timeline += (
            f"- 09:{minute % 60:02d} UTC: error rate on `/sso/callback` at {minute % 17 + 3}%, "
            f"on-call paged (alert LOGIN-{4000 + minute}); {minute * 7} sessions affected\n"
        )


@dataclass
class Load:
    wrk: str
    bodies: Path
    options: argparse.Namespace

    def run(self, url: str, prefix: str, seconds: int, report: Path) -> WrkReport:
        count = len(list(self.bodies.glob("body-*.json")))
        command = [
            "wrk",
            f"--threads={self.options.threads}",
            f"--connections={self.options.connections}",
            f"--duration={seconds}s",
            "--timeout=5s",
            f"--script={LUA_SCRIPT}",
            f"{url}{WEBHOOK_PATH}",
            "--",
            str(self.bodies),
            str(count),
            prefix,
            str(report),
        ]
        subprocess.run(command, check=True, timeout=seconds + 60, stdout=subprocess.DEVNULL)
        return WrkReport.read(report)


@dataclass
class WrkReport:
    duration_us: int
    responses: int
    accepted: int
    non_2xx: int
    socket_errors: int
    timeouts: int
    p50_us: int
    p99_us: int
    max_us: int
    accepted_ids: list[str]

    @classmethod
    def read(cls, path: Path) -> WrkReport:
        ids = Path(f"{path}.ids").read_text().split()
        return cls(**json.loads(path.read_text()), accepted_ids=ids)


@dataclass
class Figures:
    name: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    peak_rss_mib: float
    # Cores each process used during the measured period: the server's, a PostgreSQL
    # journal's server, wrk, and this process (the fake GitHub, answering hotfix-bot's worker).
    cpu: dict[str, float] = field(default_factory=dict)
    journal_matches: bool | None = None


def measure(load: Load, server: ServerProcess, name: str) -> Figures:
    server.start()
    try:
        figures, _ = load_server(load, server, name)
    finally:
        server.stop()
    return figures


def load_server(
    load: Load,
    server: ServerProcess,
    name: str,
    neighbours: Callable[[], dict[int, str]] = dict,
) -> tuple[Figures, list[WrkReport]]:
    """`neighbours`: processes besides the server's whose CPU counts too, by pid, named."""
    workdir = load.bodies.parent
    warmup = load.run(server.url, f"{name}-warmup", load.options.warmup, workdir / "warm.json")
    # After the warm-up: a PostgreSQL journal's connections have been opened by then.
    processes = process_names(server.processes()) | neighbours()
    before = ProcessesCpu.now(processes)
    run = load.run(server.url, f"{name}-run", load.options.seconds, workdir / "run.json")
    cpu = before.cores_since(processes)
    figures = Figures(
        name=name,
        requests_per_second=run.responses / (run.duration_us / 1e6),
        p50_ms=run.p50_us / 1000,
        p99_ms=run.p99_us / 1000,
        non_2xx=warmup.non_2xx + run.non_2xx,
        socket_errors=warmup.socket_errors + warmup.timeouts + run.socket_errors + run.timeouts,
        peak_rss_mib=server.peak_rss_mib(),
        cpu=cpu,
    )
    return figures, [warmup, run]


def process_names(pids: list[int]) -> dict[int, str]:
    """What each of a server's processes is, for the CPU figures: the server, its worker
    process and its other intake processes (numbered as hotfix-bot logs them)."""
    names = {}
    intakes = 1
    for pid in pids:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if b"app.journal.worker_process" in command:
            names[pid] = "worker"
        elif b"app.intake.processes" in command:
            intakes += 1
            names[pid] = f"intake {intakes}"
        else:
            names[pid] = "server"
    return names


@dataclass
class ProcessesCpu:
    """CPU seconds used so far by the server's processes, by wrk (the children this process
    waited for) and by this process."""

    at: float
    servers: dict[int, float]
    waited_children: float
    own: float

    @classmethod
    def now(cls, processes: dict[int, str]) -> ProcessesCpu:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        own = resource.getrusage(resource.RUSAGE_SELF)
        return cls(
            time.monotonic(),
            {pid: used for pid in processes if (used := cpu_seconds(pid)) is not None},
            children.ru_utime + children.ru_stime,
            own.ru_utime + own.ru_stime,
        )

    def cores_since(self, processes: dict[int, str]) -> dict[str, float]:
        now = ProcessesCpu.now(processes)
        elapsed = now.at - self.at
        cores: dict[str, float] = {}
        for pid, name in processes.items():  # several of one name (PostgreSQL's) add up
            if pid in now.servers and pid in self.servers:  # not one that came or went
                used = now.servers[pid] - self.servers[pid]
                cores[name] = cores.get(name, 0.0) + used / elapsed
        cores["wrk"] = (now.waited_children - self.waited_children) / elapsed
        cores["bench and fake GitHub"] = (now.own - self.own) / elapsed
        return cores


def measure_hotfix_bot(
    load: Load,
    world: World,
    api_url: str,
    round_dir: Path,
    web_concurrency: int,
    postgres_url: str | None,
) -> Figures:
    workdir = round_dir / f"hotfix-bot-{web_concurrency}"
    workdir.mkdir()
    with journal_database(postgres_url, workdir) as database_url:
        server = hotfix_bot(world, api_url, workdir, web_concurrency, database_url)
        before = check_run_writes(world)
        server.start()
        try:
            figures, runs = load_server(
                load,
                server,
                f"hotfix-bot/{web_concurrency}",
                lambda: postgres_processes(database_url) if postgres_url else {},
            )
            answered = settled_202_count(server.url)
        finally:
            server.stop()
        print(
            f"{figures.name}: the worker wrote {check_run_writes(world) - before} check-run "
            "updates to the fake meanwhile"
        )
        figures.journal_matches = check_journal(journal_ids(database_url), answered, runs)
    return figures


@contextlib.contextmanager
def journal_database(postgres_url: str | None, workdir: Path) -> Iterator[str]:
    """The DATABASE_URL of a new journal: a SQLite file in `workdir`, or with `postgres_url`
    a new database on that server, dropped afterwards."""
    if postgres_url is None:
        yield f"sqlite:///{journal_path(workdir)}"
        return
    name = f"hotfix_bot_bench_{workdir.parent.name}_{workdir.name}".replace("-", "_")
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name}")
        connection.execute(f"CREATE DATABASE {name}")
    try:
        yield urlsplit(postgres_url)._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as connection:
            connection.execute(f"DROP DATABASE {name} WITH (FORCE)")


def postgres_processes(database_url: str) -> dict[int, str]:
    """The PostgreSQL server's processes, when it runs on this machine: the parent of this
    connection's backend and its children (the journal's connections among them)."""
    with psycopg.connect(database_url) as connection:
        [(backend,)] = connection.execute("SELECT pg_backend_pid()").fetchall()
        try:
            server = int(Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except FileNotFoundError:
            return {}  # another machine's
        # Not this connection's backend, which ends with it.
        pids = [server, *(pid for pid in children_of(server) if pid != backend)]
    return dict.fromkeys(pids, "postgres")


def journal_ids(database_url: str) -> set[str]:
    """The delivery ids a journal holds, read with the database's own client."""
    path = sqlite_file(database_url)
    if path is not None:
        with sqlite3.connect(path) as connection:
            return {row[0] for row in connection.execute("SELECT id FROM deliveries")}
    with psycopg.connect(database_url) as connection:
        return {row[0] for row in connection.execute("SELECT id FROM deliveries")}


def settled_202_count(url: str) -> int:
    """The deliveries the server answered 202, once requests wrk left in flight have ended."""
    deadline = time.monotonic() + METRICS_SETTLE_TIMEOUT
    previous = -1
    while True:
        metrics = httpx.get(f"{url}/metrics", timeout=5).text
        count = sum(
            int(float(value))
            for outcome, value in DELIVERIES_METRIC.findall(metrics)
            if outcome in ACCEPTED_OUTCOMES
        )
        if count == previous or time.monotonic() > deadline:
            return count
        previous = count
        time.sleep(0.2)


def check_journal(ids: set[str], answered: int, runs: list[WrkReport]) -> bool:
    """Rows in the journal (`ids`) == 202 answers, and every 202 wrk received is a row."""
    received = [delivery_id for run in runs for delivery_id in run.accepted_ids]
    missing = [delivery_id for delivery_id in received if delivery_id not in ids]
    unread = answered - len(received)
    print(
        f"journal: {len(ids)} deliveries after the server stopped; the server answered "
        f"{answered} with 202 ({len(received)} read by wrk, {unread} still in flight when "
        f"wrk stopped); 202s wrk read that are missing from the journal: {len(missing)}"
    )
    return len(ids) == answered and not missing


def baseline(endpoint: str, workdir: Path) -> ServerProcess:
    """One of bench/bare_app.py's endpoints: `bare` or `checked`."""
    command = [sys.executable, str(ROOT / "bench" / "bare_app.py"), endpoint]
    environment = {**base_environment(), "WEBHOOK_SECRET": WEBHOOK_SECRET}
    return ServerProcess(command, environment, workdir / f"{endpoint}.log")


def install_probot(directory: Path) -> Path:
    """Probot from npm in `directory` and the app it runs (`PROBOT_APP`); the app's file."""
    directory.mkdir()
    install = ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", PROBOT]
    subprocess.run(install, cwd=directory, check=True, timeout=NPM_TIMEOUT)
    installed = json.loads((directory / "node_modules/probot/package.json").read_text())
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True)
    print(f"probot: Probot {installed['version']} on Node.js {node.stdout.strip()}, ", end="")
    print("a no-op pull_request handler, default logging (to a file)")
    app = directory / "app.mjs"
    app.write_text(PROBOT_APP)
    return app


def probot_server(app: Path, world: World, workdir: Path) -> ServerProcess:
    """`probot run` of the no-op app on 127.0.0.1, verifying signatures with the secret."""
    command = [str(app.parent / "node_modules" / ".bin" / "probot"), "run", str(app)]
    environment = {
        **base_environment(),
        "APP_ID": str(world.app_id),
        "PRIVATE_KEY": world.private_key_pem,
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "HOST": "127.0.0.1",
    }
    return ServerProcess(command, environment, workdir / "probot.log")


def print_figures(figures: list[Figures]) -> None:
    print(f"{'server':<13} {'requests/s':>11} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} ", end="")
    print(f"{'socket errors':>13} {'peak RSS MiB':>12}  CPU (cores) while measured")
    for each in figures:
        cpu = ", ".join(f"{name} {cores:.2f}" for name, cores in each.cpu.items())
        print(
            f"{each.name:<13} {each.requests_per_second:>11.0f} {each.p50_ms:>8.2f} "
            f"{each.p99_ms:>8.2f} {each.non_2xx:>8} {each.socket_errors:>13} "
            f"{each.peak_rss_mib:>12.1f}  {cpu}"
        )


@dataclass
class Round:
    bots: list[Figures]  # one per --web-concurrency value
    probot: Figures
    checked: Figures
    bare: Figures

    def all(self) -> list[Figures]:
        return [*self.bots, self.probot, self.checked, self.bare]


def median_ratio(pairs: list[tuple[Figures, Figures]], meaning: str) -> float:
    """Print one server's requests/s over another's, each round's and their median."""
    ratios = [
        server.requests_per_second / reference.requests_per_second for server, reference in pairs
    ]
    median = statistics.median(ratios)
    label = f"{pairs[0][0].name}/{pairs[0][1].name}"
    per_round = ", ".join(f"{ratio:.2f}" for ratio in ratios)
    print(f"{label:<21} {median:.2f} (rounds: {per_round}): {meaning}")
    return median


def report(rounds: list[Round], connections: int) -> int:
    print(f"\nmedian of {len(rounds)} rounds")
    servers = zip(*(each.all() for each in rounds), strict=True)
    print_figures([median_figures(list(runs)) for runs in servers])
    print()
    ratios = [
        median_ratio(
            [(each.bots[index], each.probot) for each in rounds],
            "the peer: a Probot app that journals nothing",
        )
        for index in range(len(rounds[0].bots))
    ]
    # Not targets: where the gap to the bare endpoint comes from.
    median_ratio(
        [(each.checked, each.bare) for each in rounds],
        "the intake's checks alone, nothing journaled",
    )
    for index in range(len(rounds[0].bots)):
        median_ratio(
            [(each.bots[index], each.checked) for each in rounds],
            "against the checks alone: the journal and the rest of the intake",
        )
    judged = [each.bots[-1] for each in rounds]
    name = judged[0].name
    p99 = statistics.median(bot.p99_ms for bot in judged)
    targets = {
        f"{name}/probot {ratios[-1]:.2f} >= {TARGET_PROBOT_RATIO}": ratios[-1]
        >= TARGET_PROBOT_RATIO,
        f"{name} p99 {p99:.1f} ms < {TARGET_P99_MS:.0f} ms at {connections} connections": p99
        < TARGET_P99_MS,
        "journal rows == deliveries answered 202, for every hotfix-bot in every round": all(
            bot.journal_matches for each in rounds for bot in each.bots
        ),
        "no non-2xx answers and no socket errors": not any(
            each.non_2xx or each.socket_errors for round_ in rounds for each in round_.all()
        ),
    }
    print()
    for target, met in targets.items():
        print(f"{'MET   ' if met else 'MISSED'} {target}")
    return 0 if all(targets.values()) else 1


def median_figures(runs: list[Figures]) -> Figures:
    """Each figure's median over the rounds; errors added up, peak memory the highest."""
    return Figures(
        name=runs[0].name,
        requests_per_second=statistics.median(run.requests_per_second for run in runs),
        p50_ms=statistics.median(run.p50_ms for run in runs),
        p99_ms=statistics.median(run.p99_ms for run in runs),
        non_2xx=sum(run.non_2xx for run in runs),
        socket_errors=sum(run.socket_errors for run in runs),
        peak_rss_mib=max(run.peak_rss_mib for run in runs),
        cpu={
            name: statistics.median(run.cpu.get(name, 0.0) for run in runs) for name in _roles(runs)
        },
    )


def _roles(runs: list[Figures]) -> list[str]:
    """The processes whose CPU any round measured."""
    return list(dict.fromkeys(name for run in runs for name in run.cpu))


if __name__ == "__main__":
    sys.exit(main())
