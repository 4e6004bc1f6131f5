"""/metrics and the status page while a PostgreSQL journal cannot be read (the database
stopped, or its deliveries table locked): they answer, with what they could not read left
out and said, and keep no other request of the server waiting behind them."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg
import pytest
from support.live_server import github_and_servers, wait_for
from support.postgres import PostgresServer
from support.webhooks import pull_request_payload

from app.journal.base import PAGE_READ_SECONDS
from app.pages.status import JOURNAL_UNREAD

JOURNAL_DOWN = "hotfix_bot_journal_up 0.0"
PONG = 'hotfix_bot_deliveries_total{event="ping",outcome="pong"} 1.0'
REFUSED = 'hotfix_bot_deliveries_total{event="pull_request",outcome="refused"} 1.0'
# The count /metrics and the status page ask the journal for, as the database shows it.
COUNT = "SELECT COUNT(*) FROM deliveries WHERE status = ANY($1)"


def test_a_stopped_database_leaves_the_counters_on_metrics_and_says_so_on_the_status_page(
    tmp_path: Path, private_key_pem: str, postgres_to_stop: PostgresServer
) -> None:
    database_url = postgres_to_stop.url("postgres")
    with github_and_servers(tmp_path, private_key_pem, database_url, 1) as (_, _, [server]):
        server.start()
        postgres_to_stop.stop()

        refused = server.deliver("pull_request", json.loads(pull_request_payload()), "pr-1")
        metrics = httpx.get(f"{server.url}/metrics", timeout=10)
        page = httpx.get(f"{server.url}/", timeout=10)

    assert refused.status_code == 503
    assert metrics.status_code == 200
    assert REFUSED in metrics.text.splitlines()
    assert JOURNAL_DOWN in metrics.text.splitlines()
    assert "# TYPE hotfix_bot_queue_depth gauge" not in metrics.text
    assert page.status_code == 200
    assert f'<div class="problem"><p>{JOURNAL_UNREAD}</p></div>' in page.text
    assert '<div class="problem"><p>the journal is not writable</p></div>' in page.text


@pytest.mark.parametrize(
    ("path", "shown"),
    [("/metrics", (PONG, JOURNAL_DOWN)), ("/", (f"<p>{JOURNAL_UNREAD}</p>",))],
)
def test_a_locked_journal_keeps_no_request_waiting_behind_the_page_that_reads_it(
    tmp_path: Path,
    private_key_pem: str,
    postgres: PostgresServer,
    path: str,
    shown: tuple[str, ...],
) -> None:
    with (
        postgres.database() as database_url,
        github_and_servers(tmp_path, private_key_pem, database_url, 1) as (_, _, [server]),
        ThreadPoolExecutor(1) as reader,
    ):
        server.start()
        assert server.deliver("ping", {"zen": "Keep it simple."}, "ping-1").status_code == 200
        with (
            psycopg.connect(database_url, autocommit=True) as watcher,
            psycopg.connect(database_url) as locker,
            locker.transaction(),
        ):
            locker.execute("LOCK TABLE deliveries IN ACCESS EXCLUSIVE MODE")
            page = reader.submit(httpx.get, f"{server.url}{path}", timeout=20)
            wait_for(lambda: counting_behind_the_lock(watcher), timeout=10)
            asked = time.monotonic()
            health = httpx.get(f"{server.url}/healthz", timeout=20)
            health_took = time.monotonic() - asked
            answer = page.result()
            answer_took = time.monotonic() - asked

    assert health.status_code == 200
    assert health_took < 1.0
    assert answer.status_code == 200
    assert answer_took < PAGE_READ_SECONDS + 1.0
    for text in shown:
        assert text in answer.text


def counting_behind_the_lock(watcher: psycopg.Connection[tuple[object, ...]]) -> bool:
    """Whether the server's journal waits for the lock to count deliveries."""
    waiting = watcher.execute(
        "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock' AND query = %s",
        (COUNT,),
    ).fetchone()
    return waiting is not None
