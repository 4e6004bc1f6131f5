"""A real PostgreSQL server for the tests: one `initdb` per test session on a free loopback
port, and a fresh database for each test that asks for one.

PostgreSQL refuses to run as root; as root (CI), the server runs as the `postgres` system
user, in a directory of its own outside pytest's (which only root may enter).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg

from support.live_server import free_port

SUPERUSER = "hotfix"
PORT_ATTEMPTS = 3  # each on a port found free just before
# Debian's packages: /usr/lib/postgresql/<major>/bin, the newest first.
BINARY_DIRECTORIES = sorted(
    Path("/usr/lib/postgresql").glob("*/bin"), key=lambda path: int(path.parent.name), reverse=True
)


class PostgresUnavailable(Exception):
    """No PostgreSQL server binaries on this machine."""


class PostgresServer:
    def __init__(self, root: Path, port: int, run_as: list[str]) -> None:
        self.root, self.port, self._run_as = root, port, run_as
        self._databases = itertools.count(1)

    def url(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.url("postgres"), autocommit=True)

    @contextlib.contextmanager
    def database(self) -> Iterator[str]:
        """A new, empty database for the block: its URL. Dropped afterwards, connections and
        all."""
        name = f"test_{next(self._databases)}"
        with self.admin() as connection:
            connection.execute(f"CREATE DATABASE {name}")
        try:
            yield self.url(name)
        finally:
            with self.admin() as connection:
                connection.execute(f"DROP DATABASE {name} WITH (FORCE)")

    def stop(self) -> None:
        self.halt()
        shutil.rmtree(self.root, ignore_errors=True)

    def halt(self, mode: str = "immediate") -> None:
        """Stop the server, keeping its data: `immediate` as a crash or a failover does
        (every connection dropped at once, recovery at the next start), `fast` as a managed
        database's restart for an upgrade does."""
        subprocess.run(
            [*self._run_as, str(self._binary("pg_ctl")), "-D", str(self.root / "data"),
             "-m", mode, "-w", "stop"],
            check=False, capture_output=True,
        )  # fmt: skip

    def resume(self) -> None:
        """Start the server halted by `halt` again, on its port: the same URL as before."""
        _start(self, self.root / "data", self.root / "server.log")

    def _binary(self, name: str) -> Path:
        return BINARY_DIRECTORIES[0] / name


def workers_listening(database: str) -> int:
    """How many journals listen for new deliveries in `database`: a worker each."""
    with psycopg.connect(database) as connection:
        [(count,)] = connection.execute(
            "SELECT COUNT(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND query = 'LISTEN hotfix_bot_journal'"
        ).fetchall()
        return int(count)


def start_postgres() -> PostgresServer:
    """initdb and start a server; raises PostgresUnavailable without the binaries."""
    if not BINARY_DIRECTORIES:
        raise PostgresUnavailable("no /usr/lib/postgresql/*/bin: apt-get install postgresql")
    root = Path(tempfile.mkdtemp(prefix="hotfix-bot-postgres-"))
    run_as: list[str] = []
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(root, owner.pw_uid, owner.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    server = PostgresServer(root, 0, run_as)
    data = root / "data"
    try:
        _run([*run_as, str(server._binary("initdb")), "-D", str(data), "-U", SUPERUSER,
              "--auth=trust", "--encoding=UTF8", "--no-sync"])  # fmt: skip
        # A port found free just before the server binds it, and found again should another
        # program take it in between (PostgreSQL cannot be told to pick one and say which).
        log = root / "server.log"
        for attempt in range(1, PORT_ATTEMPTS + 1):
            server.port, logged_before = free_port(), _size(log)
            try:
                _start(server, data, log)
                break
            except RuntimeError:
                said = log.read_bytes()[logged_before:] if log.exists() else b""
                if attempt == PORT_ATTEMPTS or b"Address already in use" not in said:
                    raise
    except BaseException:
        server.stop()
        raise
    return server


def _start(server: PostgresServer, data: Path, log: Path) -> None:
    # The server's default is synchronous_commit=off, so that tests show the journal turning
    # it on for itself; fsync is off, the tests' durability being the journal's commits, not
    # the disk's.
    options = (
        f"-p {server.port} -k {server.root} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    _run([*server._run_as, str(server._binary("pg_ctl")), "-D", str(data), "-l", str(log),
          "-o", options, "-w", "-t", "30", "start"])  # fmt: skip


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _run(command: list[str]) -> None:
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    if finished.returncode != 0:
        raise RuntimeError(f"{command[-1]} failed: {finished.stdout}{finished.stderr}")
