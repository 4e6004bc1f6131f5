"""`hotfix-bot`: serve, and look after the delivery journal."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from app.journal import STATUSES, JournalEntry, open_journal
from app.settings import Settings, SettingsError, load_settings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="hotfix-bot", description="The hotfix GitHub App and its delivery journal."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="receive webhooks and act on them (HOST, PORT)")
    listing = commands.add_parser("deliveries", help="recent deliveries and their status")
    listing.add_argument("--status", choices=STATUSES, help="only deliveries with this status")
    listing.add_argument("--limit", type=int, default=50, help="how many (default 50)")
    again = commands.add_parser("redeliver", help="queue a journaled delivery to run again")
    again.add_argument("delivery_id", metavar="ID")
    arguments = parser.parse_args(argv)

    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"hotfix-bot: {error}", file=sys.stderr)
        return 2
    if arguments.command == "serve":
        return serve(settings)
    if arguments.command == "deliveries":
        return list_deliveries(settings, arguments.status, arguments.limit)
    return redeliver(settings, arguments.delivery_id)


def serve(settings: Settings) -> int:
    import uvicorn

    from app import logs
    from app.server import create_app

    logs.configure(settings.log_level, settings.log_format)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        server_header=False,
    )
    return 0


def list_deliveries(settings: Settings, status: str | None, limit: int) -> int:
    journal = open_journal(settings.database_url)
    try:
        entries = journal.recent(status, limit)  # type: ignore[arg-type]
    finally:
        journal.close()
    if not entries:
        print("no deliveries" + (f" with status {status}" if status else ""))
        return 0
    print(f"{'RECEIVED (UTC)':<20} {'STATUS':<8} {'TRIES':>5}  {'EVENT':<28} {'WHERE':<32} ID")
    for entry in entries:
        print(_row(entry))
        if entry.last_error and entry.status in ("failed", "queued"):
            print(f"{'':<20} {'':<8} {'':>5}  last error: {entry.last_error}")
    return 0


def _row(entry: JournalEntry) -> str:
    received = datetime.fromtimestamp(entry.received_at, UTC).strftime("%Y-%m-%d %H:%M:%S")
    event = f"{entry.event}.{entry.action}" if entry.action else entry.event
    where = entry.repository or "-"
    if entry.pr_number is not None:
        where = f"{where}#{entry.pr_number}"
    return (
        f"{received:<20} {entry.status:<8} {entry.attempts:>5}  {event:<28} {where:<32} {entry.id}"
    )


def redeliver(settings: Settings, delivery_id: str) -> int:
    journal = open_journal(settings.database_url)
    try:
        queued = asyncio.run(journal.redeliver(delivery_id))
    finally:
        journal.close()
    if not queued:
        print(
            f"hotfix-bot: no delivery {delivery_id} that can run again "
            "(unknown, ignored, or running now)",
            file=sys.stderr,
        )
        return 1
    print(f"queued {delivery_id}; a running hotfix-bot picks it up within a second")
    return 0


if __name__ == "__main__":
    sys.exit(main())
