"""`hotfix-bot`: serve, look after the delivery journal and its timers, check a repository's
config, demo."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import logging
import os
import socket
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from app import config_cli
from app.intake.delivery import event_label, location
from app.journal import (
    STATUSES,
    TIMER_STATUSES,
    Journal,
    JournalNotThere,
    JournalUnavailable,
    JournalUnopenable,
    Redelivery,
    Status,
    checked_database_url,
    describe_journal,
    journal_path,
    open_journal,
)
from app.journal.base import JournalContents, fired_timer_id
from app.journal.timers import TIMER_EVENT
from app.metrics_directory import MetricsDirectory, server_running
from app.settings import Settings, SettingsError, load_settings
from policies.wording import plural

if TYPE_CHECKING:
    from starlette.types import ASGIApp

    from app.intake.connection_limits import ConnectionLimits


# Finished deliveries whose payloads `journal copy` takes along by default: enough to
# redeliver one of the latest, not the whole past. The older ones go without theirs.
COPIED_HISTORY = 1000

# Commands other packages add (the sandbox's `demo`), so the service imports none of them.
PLUGIN_GROUP = "hotfix_bot.commands"


class PluginCommand(Protocol):
    NAME: str

    def add_parser(self, commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None: ...
    def run(self, arguments: argparse.Namespace) -> int: ...


def plugin_commands() -> dict[str, PluginCommand]:
    """The installed plugins' commands; one whose package is not installed (the container
    image carries the service alone) is left out."""
    found: dict[str, PluginCommand] = {}
    for entry_point in entry_points(group=PLUGIN_GROUP):
        try:
            command: PluginCommand = entry_point.load()
        except ModuleNotFoundError:
            continue
        found[command.NAME] = command
    return found


def count(text: str) -> int:
    """A command-line number of things: a whole number, 0 or more (argparse says "invalid
    count value" for one that is no number)."""
    number = int(text)
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {number}")
    return number


# Where the commands that read settings find them, said in their --help: an admin running
# one in another directory than the server's reads another .env and another journal.
SETTINGS_NOTE = (
    "Settings are read from the environment, then from .env in the working directory "
    "(README.md, Configuration)."
)
WHERE_SERVE_RUNS = "run it where `hotfix-bot serve` runs, with the same environment and .env"
JOURNAL_NOTE = (
    "It reads the journal at DATABASE_URL (default sqlite:///hotfix-bot.db, relative to the "
    f"working directory): {WHERE_SERVE_RUNS}."
)


def build_parser(plugins: dict[str, PluginCommand]) -> argparse.ArgumentParser:
    """Every command line `hotfix-bot` takes, the plugins' among them."""
    parser = argparse.ArgumentParser(
        prog="hotfix-bot", description="The hotfix GitHub App and its delivery journal."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "serve",
        help="receive webhooks and act on them (HOST, PORT)",
        description="Receive GitHub's webhooks on HOST:PORT (default 127.0.0.1:3000) and act "
        "on them, with WEB_CONCURRENCY intake processes and one worker process. Without "
        "APP_ID it starts in setup mode: open its address in a browser to register the App. "
        f"{SETTINGS_NOTE}",
    )
    listing = commands.add_parser(
        "deliveries",
        help="recent deliveries and their status",
        description=f"Recent deliveries, the newest first, with their last error. {JOURNAL_NOTE}",
    )
    listing.add_argument("--status", choices=STATUSES, help="only deliveries with this status")
    listing.add_argument("--limit", type=count, default=50, help="how many (default 50)")
    again = commands.add_parser(
        "redeliver",
        help="queue a journaled delivery to run again",
        description="Queue a journaled delivery to run again; a running server picks it up "
        f"within a second. {JOURNAL_NOTE}",
    )
    again.add_argument(
        "delivery_id", metavar="ID", help="the delivery's id, as `hotfix-bot deliveries` lists it"
    )
    journal = commands.add_parser("journal", help="move the delivery journal")
    journal_commands = journal.add_subparsers(dest="journal_command", required=True)
    copy = journal_commands.add_parser(
        "copy",
        help="copy pending work, timers, state and every delivery into another journal, the "
        "older finished ones without their payloads (run it with the servers of --from "
        "stopped; running it again copies nothing twice)",
    )
    copy.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="URL",
        help="the DATABASE_URL of the journal to copy, which must exist",
    )
    copy.add_argument("--to", dest="target", required=True, metavar="URL", help="a DATABASE_URL")
    copy.add_argument(
        "--history",
        type=count,
        default=COPIED_HISTORY,
        metavar="N",
        help="how many finished deliveries to copy with their payloads, the latest, so that "
        f"they can be redelivered (default {COPIED_HISTORY}); the older ones are copied "
        "without, so that their ids stay known",
    )
    timers = commands.add_parser(
        "timers",
        help="timers and their status: the scheduled ones soonest due first, then the others "
        "latest due first",
        description="The incident clock's timers and the reminders to confirm verbal "
        "approvals: the scheduled ones soonest due first, then the others latest due first. "
        f"{JOURNAL_NOTE}",
    )
    timers.add_argument("--status", choices=TIMER_STATUSES, help="only timers with this status")
    timers.add_argument("--limit", type=count, default=50, help="how many (default 50)")
    config_cli.add_commands(commands)
    for plugin in plugins.values():
        plugin.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    plugins = plugin_commands()
    arguments = build_parser(plugins).parse_args(argv)

    if arguments.command == "config":
        return config_cli.run(arguments)  # offline: no settings, so a bad APP_ID cannot stop it
    if arguments.command == "journal":  # names its journals itself: no settings either
        return copy_journal(arguments.source, arguments.target, arguments.history)
    if arguments.command in plugins:
        return plugins[arguments.command].run(arguments)
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"hotfix-bot: {error}", file=sys.stderr)
        return 2
    try:
        if arguments.command == "serve":
            return serve(settings)
        if arguments.command == "deliveries":
            return list_deliveries(settings, arguments.status, arguments.limit)
        if arguments.command == "timers":
            return list_timers(settings, arguments.status, arguments.limit)
        return redeliver(settings, arguments.delivery_id)
    except JournalUnopenable as error:
        print(f"hotfix-bot: DATABASE_URL: {error}", file=sys.stderr)
        return 2
    except CannotListen as error:
        print(f"hotfix-bot: {error}", file=sys.stderr)
        return 2


def serve(settings: Settings) -> int:
    # First: a server that cannot listen leaves nothing behind.
    sockets = listen(settings.host, settings.port, shared=settings.web_concurrency > 1)
    # PORT=0 took a free port: the other intake processes bind that one.
    settings = settings.model_copy(update={"port": sockets[0].getsockname()[1]})
    journal = open_journal(settings.database_url)  # a bad DATABASE_URL stops start-up here
    # Whatever serve and its child processes create is theirs alone, as the journal is;
    # prometheus_client creates its files with the umask's mode.
    os.umask(0o077)
    # Every process of the server keeps its metrics in files there (see app.metrics); it
    # must be set before prometheus_client is imported.
    database = journal_path(settings.database_url)
    metrics_root = metrics_directory_of(database)
    try:
        metrics = MetricsDirectory(metrics_root)
    except OSError as error:
        journal.close()
        raise JournalUnopenable(f"cannot create {metrics_root}: {error.strerror}") from None
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics.path)

    from app import logs
    from app.intake.bodies import return_large_blocks_to_the_system
    from app.intake.processes import ServerProcesses
    from app.intake.server import create_app

    logs.configure(settings.log_level, settings.log_format)
    return_large_blocks_to_the_system()
    server_log = logging.getLogger("hotfix_bot.server")
    # Which file a relative sqlite:/// URL is depends on the working directory: say it whole.
    opened = (
        f"SQLite {database.absolute()}"
        if database
        else f"PostgreSQL {describe_journal(settings.database_url)}"
    )
    server_log.info("journal: %s", opened)
    if not settings.has_credentials:
        server_log.info(
            "setup mode: no APP_ID yet; open this server's public address in a browser to "
            "register the GitHub App"
        )
    # uvicorn names the address only when it binds the sockets itself.
    server_log.info(
        "listening on %s with %s (Press CTRL+C to quit)",
        ", ".join(_url(listener) for listener in sockets),
        plural(settings.web_concurrency, "intake process", "intake processes"),
    )
    try:
        run_server(create_app(settings, journal=journal, runner=ServerProcesses(settings)), sockets)
    finally:
        metrics.close()
    return 0


def metrics_directory_of(database: Path | None) -> Path:
    """Where the servers of a journal keep their metrics: beside a SQLite journal; a
    PostgreSQL one has no directory here, so the working directory."""
    return Path(f"{database}.metrics" if database else "hotfix-bot.metrics")


class CannotListen(Exception):
    """HOST and PORT name no address this machine can listen on; says which is at fault."""


def listen(host: str, port: int, *, shared: bool = False) -> list[socket.socket]:
    """Sockets bound to HOST:PORT as uvicorn would bind them (every address HOST resolves
    to), for `run_server`; uvicorn reports a failure as a bare OS error that names neither
    variable. `shared`: with SO_REUSEPORT, so that the other intake processes of this server
    bind the same port and the kernel spreads the connections over them."""
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise CannotListen(f"HOST: cannot resolve {host!r}: {error.strerror}") from None
    bound: list[socket.socket] = []
    unavailable: list[OSError] = []
    try:
        for family, kind, protocol, _, address in addresses:
            # As asyncio does, an address of a family the machine lacks is skipped.
            try:
                listener = socket.socket(family, kind, protocol)
            except OSError as error:  # say, IPv6 turned off
                unavailable.append(error)
                continue
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if shared:
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if family == socket.AF_INET6:  # as asyncio binds it: [::] beside 0.0.0.0
                listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            if bound and port == 0:  # every address on the one free port the first got
                address = (address[0], bound[0].getsockname()[1], *address[2:])
            try:
                listener.bind(address)
            except OSError as error:
                listener.close()
                if error.errno != errno.EADDRNOTAVAIL:
                    raise CannotListen(_listen_problem(host, port, error)) from None
                unavailable.append(error)
                continue
            bound.append(listener)
        if not bound:
            raise CannotListen(_listen_problem(host, port, unavailable[0]))
    except CannotListen:
        for listener in bound:
            listener.close()
        raise
    return bound


def _url(listener: socket.socket) -> str:
    host, port = listener.getsockname()[:2]
    return (
        f"http://[{host}]:{port}" if listener.family == socket.AF_INET6 else f"http://{host}:{port}"
    )


def _listen_problem(host: str, port: int, error: OSError) -> str:
    if error.errno == errno.EADDRINUSE:
        return f"PORT: {port} is in use on {host} by another program"
    if error.errno == errno.EADDRNOTAVAIL:
        return f"HOST: {host} is not an address of this machine"
    if error.errno == errno.EACCES:
        return f"PORT: listening on {port} needs privileges this user lacks"
    return f"HOST, PORT: cannot listen on {host}:{port}: {error.strerror}"


def run_server(
    asgi_app: ASGIApp,
    sockets: list[socket.socket],
    limits: ConnectionLimits | None = None,
    *,
    until_server_gone: bool = False,
) -> None:
    """uvicorn as `serve` runs it, on the sockets of `listen`; bench/ingest serves its bare
    baseline with the same call. `until_server_gone`: in an intake process `serve` started,
    stop as Ctrl-C would when `serve` closes its standard input, or dies.

    HTTP is uvicorn's httptools protocol with the intake's limits (app.intake.connection_limits);
    the event loop is uvloop, as uvicorn's "auto" picks. Both are installed by uvicorn[standard].
    """
    import uvicorn
    import uvloop

    from app.child_process import when_server_gone
    from app.intake.connection_limits import ConnectionLimits, limited_protocol

    config = uvicorn.Config(
        asgi_app,
        http=limited_protocol(limits or ConnectionLimits()),
        # uvicorn would read WEB_CONCURRENCY too: its processes are app.intake.processes'.
        workers=1,
        log_config=None,
        access_log=False,
        server_header=False,
    )
    server = uvicorn.Server(config)

    def stop() -> None:
        server.should_exit = True

    async def serve() -> None:
        if until_server_gone:
            when_server_gone(asyncio.get_running_loop(), stop)
        await server.serve(sockets)

    # After a graceful stop uvicorn raises the Ctrl-C it caught again; uvicorn.run ends
    # there quietly too.
    with contextlib.suppress(KeyboardInterrupt):
        uvloop.run(serve())


@contextlib.contextmanager
def served_journal(settings: Settings) -> Iterator[Journal]:
    """The journal `serve` keeps at DATABASE_URL, for the commands that look into it, closed
    when they are done; one that is not there is named, not made: run elsewhere than the
    server (another working directory, another DATABASE_URL), they would find a new, empty
    journal."""
    try:
        journal = open_journal(settings.database_url, create=False)
    except JournalNotThere as error:
        raise JournalNotThere(f"{error}; {WHERE_SERVE_RUNS}") from None
    try:
        yield journal
    finally:
        journal.close()


DELIVERY_COLUMNS = ("RECEIVED (UTC)", "STATUS", "TRIES", "EVENT", "WHERE", "ID")
TIMER_COLUMNS = ("DUE (UTC)", "STATUS", "ID")


def list_deliveries(settings: Settings, status: str | None, limit: int) -> int:
    """A delivery's line, and under it, from its event on, the last error of one that failed
    or will be tried again."""
    with served_journal(settings) as journal:
        entries = journal.recent(status, limit)  # type: ignore[arg-type]
    rows = [
        _Row(
            (
                _utc(entry.received_at),
                entry.status,
                str(entry.attempts),
                event_label(entry.event, entry.action),
                location(entry.repository, entry.pr_number),
                entry.id,
            ),
            f"last error: {entry.last_error}"
            if entry.last_error and entry.status in ("failed", "queued")
            else None,
        )
        for entry in entries
    ]
    table = _table(DELIVERY_COLUMNS, rows, note_column=3, right_aligned=2)
    return _print_listing("deliveries", status, table)


@dataclass(frozen=True)
class _Row:
    cells: tuple[str, ...]
    note: str | None = None  # a line of its own under the row


def _table(
    header: tuple[str, ...], rows: Sequence[_Row], *, note_column: int, right_aligned: int = -1
) -> list[str]:
    """The header and the rows, each column as wide as its widest cell, two spaces apart (an
    event or a repository of any length keeps the columns in line); a row's note starts
    under its column `note_column`. The last column is not padded. No lines without rows."""
    if not rows:
        return []
    columns = zip(header, *(row.cells for row in rows), strict=True)
    widths = [max(map(len, column)) for column in columns]

    def line(cells: tuple[str, ...]) -> str:
        padded = [
            cell.rjust(width) if number == right_aligned else cell.ljust(width)
            for number, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join([*padded[:-1], cells[-1]])

    indent = " " * sum(width + 2 for width in widths[:note_column])
    lines = [line(header)]
    for row in rows:
        lines.append(line(row.cells))
        if row.note:
            lines.append(f"{indent}{row.note}")
    return lines


def _print_listing(what: str, status: str | None, table: list[str]) -> int:
    """What `deliveries` and `timers` print: the table, or that there are no `what` (of that
    status)."""
    if not table:
        print(f"no {what}" + (f" with status {status}" if status else ""))
        return 0
    for line in table:
        print(line)
    return 0


def _utc(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S")


UNFINISHED: tuple[Status, ...] = ("queued", "running")


def copy_journal(source_url: str, target_url: str, history: int) -> int:
    """`hotfix-bot journal copy`: what the target lacks of the source, in one transaction."""
    try:
        served = running_on(source_url)
    except JournalUnopenable as error:
        print(f"hotfix-bot: --from: {error}", file=sys.stderr)
        return 2
    if served:
        # Copied all the same, as the source stands: the copy is asked for, and an
        # administrator may want one made while the server runs, for a look.
        print(
            f"hotfix-bot: warning: a hotfix-bot serve is running on the journal {served}: "
            "what it runs or takes from now on would run twice or be missing from this copy; "
            "stop it, then copy into a new file or an empty database to move the journal",
            file=sys.stderr,
        )
    journals: list[Journal] = []
    try:
        # A source that is not there is a mistyped name, not an empty journal to copy; one
        # of an older schema is migrated, as the server of this version would.
        for option, url, create in (("--from", source_url, False), ("--to", target_url, True)):
            try:
                journals.append(open_journal(url, create=create, upgrade=True))
            except JournalUnopenable as error:
                print(f"hotfix-bot: {option}: {error}", file=sys.stderr)
                return 2
        source, target = journals
        try:
            contents = source.contents(history)
            if behind := finished_in_source(contents, target):
                print(
                    f"hotfix-bot: --to: {describe_journal(target_url)} is an older copy of "
                    f"{describe_journal(source_url)}: it would run again {behind} the other "
                    "has finished; copy into a new file or an empty database",
                    file=sys.stderr,
                )
                return 2
            copied = asyncio.run(target.add_contents(contents))
        except JournalUnavailable as error:
            # The target takes it all in one transaction, or none of it.
            print(
                f"hotfix-bot: journal copy failed: {error}; run it again once the cause is "
                "gone: it copies nothing twice",
                file=sys.stderr,
            )
            return 1
    finally:
        for journal in journals:
            journal.close()
    print(
        f"copied {plural(copied.deliveries, 'delivery', 'deliveries')} ({copied.pending} to "
        f"run, {copied.past} without their payloads: finished before the latest {history}), "
        f"{plural(copied.state, 'state value')} and {plural(copied.timers, 'timer')} "
        f"({copied.waiting} waiting) into "
        f"{describe_journal(target_url)}; it held "
        f"{len(contents.deliveries) + len(contents.past) - copied.deliveries} of the deliveries, "
        f"{len(contents.state) - copied.state} of the state values and "
        f"{len(contents.timers) - copied.timers} of the timers already, kept as they were"
    )
    return 0


def finished_in_source(contents: JournalContents, target: Journal) -> str | None:
    """What the target still has to run that the source of `contents` finished later (among
    the deliveries it takes with their payloads, and its timers), in words; None if nothing.
    Such a target is an older copy of the source (the journal moved from, now moved back
    into): kept as it is there, that work would run a second time. Work the target took up
    again after the source stopped (a redelivery) is newer than the source's."""
    finished = {
        entry.id: entry.updated_at
        for entry in contents.deliveries
        if entry.status not in UNFINISHED
    }
    to_run = target.count(UNFINISHED)
    deliveries = sum(
        entry.updated_at < finished.get(entry.id, -1)
        for status in UNFINISHED
        for entry in target.recent(status, to_run)
    )
    done = {e.timer.id: e.updated_at for e in contents.timers if e.status != "scheduled"}
    # An older copy of the source holds no timer but the source's: as many at most.
    timers = sum(
        entry.updated_at < done.get(entry.timer.id, -1)
        for entry in target.timers("scheduled", len(contents.timers))
    )
    if not deliveries and not timers:
        return None
    said = [plural(deliveries, "delivery", "deliveries")] if deliveries else []
    return " and ".join(said + ([plural(timers, "timer")] if timers else []))


def running_on(database_url: str) -> str | None:
    """The journal `database_url` names, for people, if a `hotfix-bot serve` runs on it now
    (on this machine, for a SQLite journal); else None. A URL that cannot be read is left
    to open_journal to describe."""
    try:
        checked_database_url(database_url)
    except ValueError:
        return None
    path = journal_path(database_url)
    if path is not None:
        return str(path.absolute()) if server_running(metrics_directory_of(path)) else None
    from app.journal.postgres import servers_listening  # psycopg, for PostgreSQL alone

    return f"at {describe_journal(database_url)}" if servers_listening(database_url) else None


# How many of the queued deliveries `timers` reads, the newest first, for why a fired timer's
# work waits; behind a larger burst, a waiting timer's line says no more than `fired`.
WAITING_READ = 1000


def list_timers(settings: Settings, status: str | None, limit: int) -> int:
    """A fired timer's work is the delivery of its id (`hotfix-bot deliveries`), or of its id
    and `#2`, `#3`, ... when it was scheduled again after it was forgotten; when that waits
    for another try, its last error says why."""
    with served_journal(settings) as journal:
        entries = journal.timers(status, limit)  # type: ignore[arg-type]
        waiting = {
            fired_timer_id(entry): entry.last_error
            for entry in journal.recent("queued", WAITING_READ)
            if entry.event == TIMER_EVENT and entry.last_error
        }
    rows = [
        _Row(
            (_utc(entry.timer.due_at), entry.status, entry.timer.id),
            f"waiting: {waiting[entry.timer.id]}"
            if entry.status == "fired" and waiting.get(entry.timer.id)
            else None,
        )
        for entry in entries
    ]
    return _print_listing("timers", status, _table(TIMER_COLUMNS, rows, note_column=2))


# Why `redeliver` queued nothing, said to whoever asked.
NOT_REDELIVERED: dict[Redelivery, str] = {
    "unknown": "no delivery {id} in the journal",
    # The journal cannot tell a server at work on it from one that stopped during it.
    "running": "delivery {id} is running: a running hotfix-bot finishes it, and one that "
    "stopped during it runs it again when it starts",
    "ignored": "delivery {id} was ignored: it has nothing to run",
    "no payload": "delivery {id} cannot run again: the journal holds no payload for it "
    "(`hotfix-bot journal copy` brought it without, being older than the latest --history "
    "finished deliveries)",
}


def redeliver(settings: Settings, delivery_id: str) -> int:
    with served_journal(settings) as journal:
        outcome = asyncio.run(journal.redeliver(delivery_id))
    if outcome != "queued":
        print(f"hotfix-bot: {NOT_REDELIVERED[outcome].format(id=delivery_id)}", file=sys.stderr)
        return 1
    print(f"queued {delivery_id}; a running hotfix-bot picks it up within a second")
    return 0


if __name__ == "__main__":
    sys.exit(main())
