"""The PostgreSQL server restarted, failed over or ending every connection under running
instances, as a managed database does for an upgrade: what GitHub is answered meanwhile and
right after, what the worker and its leases, timers and locks become, and what the log says.
The server is this test's own (`postgres_to_stop`), stopped as a crash or a failover stops
it (`pg_ctl stop -m immediate`) and started again on the same port."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from support.deliveries import pull_request
from support.live_server import Server, github_and_servers, open_fixes, wait_for
from support.postgres import SUPERUSER, PostgresServer, workers_listening

from app.intake.delivery import from_body
from app.journal.postgres import LISTEN_RETRY_SECONDS, PostgresJournal
from app.journal.timers import Timer

PASSWORD = "S3cret-failover-pw"  # the test server trusts any: only its absence is checked
LOST = "lost the database at 127.0.0.1:{port}/{database} ("
BACK = "the database at 127.0.0.1:{port}/{database} is back after "


@pytest.fixture
def database(postgres_to_stop: PostgresServer) -> Iterator[str]:
    """A database of the test's own server, its URL holding a password."""
    with postgres_to_stop.database() as url:
        yield url.replace("hotfix@", f"hotfix:{PASSWORD}@")


def entries(server: Server) -> list[dict[str, str]]:
    """The server's log (LOG_FORMAT=json); a line that is not JSON (a traceback) as such."""
    return [
        json.loads(line) if line.startswith("{") else {"message": line}
        for line in server.log_lines()
    ]


def processed(server: Server, delivery_id: str) -> bool:
    return any(
        entry.get("delivery") == delivery_id and entry["message"].startswith("processed in attempt")
        for entry in entries(server)
    )


def test_deliveries_during_a_restart_are_503_with_retry_after_and_202_as_soon_as_it_is_back(
    tmp_path: Path, private_key_pem: str, postgres_to_stop: PostgresServer, database: str
) -> None:
    postgres = postgres_to_stop
    with github_and_servers(tmp_path, private_key_pem, database, 1) as (fake, repo, [server]):
        server.start()
        wait_for(lambda: workers_listening(database) == 1)
        [number] = open_fixes(repo, 1)
        payload = fake.pull_request_event(repo, number, "edited")

        def deliver(delivery_id: str) -> tuple[int, str | None, float]:
            started = time.monotonic()
            answer = server.deliver("pull_request", payload, delivery_id)
            return answer.status_code, answer.headers.get("retry-after"), time.monotonic() - started

        def ready() -> int:
            return httpx.get(f"{server.url}/readyz", timeout=10).status_code

        assert deliver("before")[0] == 202
        wait_for(lambda: processed(server, "before"))

        postgres.halt()
        during = [deliver(f"during-{n}") for n in range(3)]
        ready_during = ready()
        postgres.resume()
        after = [deliver(f"after-{n}") for n in range(5)]  # the first at once
        ready_after = ready()
        # Another instance journals a delivery: this worker takes it, woken (LISTEN again) or
        # by its look at the journal every second, not a restart of its process later.
        other = PostgresJournal(database)
        try:
            body = json.dumps(payload).encode()
            recorded = asyncio.run(
                other.record(from_body("elsewhere", "pull_request", body), body, handled=True)
            )
        finally:
            other.close()
        journaled_at = time.monotonic()
        wait_for(lambda: processed(server, "elsewhere"), timeout=10)
        picked_up_after = time.monotonic() - journaled_at
        listening = workers_listening(database)

    assert [(status, retry_after) for status, retry_after, _ in during] == [(503, "5")] * 3
    assert max(took for _, _, took in during) < 4  # GitHub stops listening after 10 s
    assert ready_during == 503
    assert [status for status, _, _ in after] == [202] * 5  # none lost to a dead connection
    assert after[0][2] < 3  # answered once the journal's next try reached the server
    assert ready_after == 200
    assert recorded == "queued"
    assert picked_up_after < 2.5
    assert listening == 1
    log = entries(server)
    messages = [entry["message"] for entry in log]
    assert not [m for m in messages if "Traceback" in m or "exited" in m]  # the worker lived
    port, name = postgres.port, database.rpartition("/")[2]
    lost = [m for m in messages if m.startswith(LOST.format(port=port, database=name))]
    back = [m for m in messages if m.startswith(BACK.format(port=port, database=name))]
    assert len(lost) == len(back) == 2  # one each from the intake and from the worker process
    assert not [entry for entry in log if entry.get("logger") == "psycopg.pool"]
    assert PASSWORD not in server.log.read_text()


def test_connections_the_server_ends_cost_no_delivery_a_refusal(
    tmp_path: Path, private_key_pem: str, database: str
) -> None:
    """The lighter case: the server stays up and ends every session (`pg_terminate_backend`,
    as a proxy in front of it restarting does): the pool held only dead connections."""
    with github_and_servers(tmp_path, private_key_pem, database, 1) as (fake, repo, [server]):
        server.start()
        wait_for(lambda: workers_listening(database) == 1)
        [number] = open_fixes(repo, 1)
        payload = fake.pull_request_event(repo, number, "edited")
        answers = [server.deliver("pull_request", payload, f"warm-{n}") for n in range(3)]
        assert [answer.status_code for answer in answers] == [202] * 3

        with psycopg.connect(database, autocommit=True) as admin:
            ended = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchall()
        answers = [server.deliver("pull_request", payload, f"then-{n}") for n in range(5)]
        wait_for(lambda: workers_listening(database) == 1, timeout=5)
        wait_for(lambda: processed(server, "then-4"), timeout=10)

    assert len(ended) >= 2  # the intake's and the worker's listening one, at least
    assert [(answer.status_code, answer.json()) for answer in answers] == [
        (202, {"delivery": f"then-{n}", "status": "queued"}) for n in range(5)
    ]


def test_a_lease_that_ran_out_while_the_database_was_down_stays_with_its_live_holder(
    postgres_to_stop: PostgresServer, database: str
) -> None:
    """Down longer than a lease (2 s here): on the server's clock every lease ran out
    meanwhile, but the holder is alive and renews it once back; another instance starting
    then takes nothing. A timer due meanwhile fires once, and a lock held at the drop is
    the server's no more (its session ended), so another instance takes it at once."""
    postgres = postgres_to_stop
    holder = PostgresJournal(database, lease_seconds=2)
    newcomer: PostgresJournal | None = None

    async def scenario() -> tuple[int, list[str], list[str]]:
        nonlocal newcomer
        await holder.record(pull_request("d1", 1), b"{}", handled=True)
        [running] = await holder.claim_ready(1)
        now = holder.now()
        await holder.schedule_timer(Timer("t1", "escalation", 1, "acme/widgets", 2, now + 1))
        async with holder.lock("release:acme/widgets#1"):
            postgres.halt()
            await asyncio.sleep(2.5)  # the lease, and the timer, come due meanwhile
            postgres.resume()
            newcomer = PostgresJournal(database, lease_seconds=2)
            taken = await newcomer.resume_interrupted()  # as a worker starting now does
        async with newcomer.lock("release:acme/widgets#1", wait=1):  # else LockTimeout
            pass
        await holder.finish(running.id)
        fired = [entry.id for entry in await holder.claim_ready(8)]
        fired_again = [entry.id for entry in await newcomer.claim_ready(8)]
        return taken, fired, fired_again

    try:
        taken, fired, fired_again = asyncio.run(scenario())
    finally:
        holder.close()
        if newcomer is not None:
            newcomer.close()

    assert taken == 0
    with psycopg.connect(database) as connection:
        statuses = connection.execute(
            "SELECT id, status, attempts FROM deliveries ORDER BY seq"
        ).fetchall()
    assert statuses[0] == ("d1", "done", 1)  # its holder's outcome, recorded
    assert fired == ["t1"]
    assert fired_again == []


def test_a_listening_connection_the_server_refuses_is_no_outage(
    postgres: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    """The server answers but takes no connection more (its role's limit, or the server's,
    reached as other instances connect): the journal's own connections go on working, and
    listening is tried again meanwhile, the worker looking at the journal every second."""
    role = f"capped_{uuid.uuid4().hex[:8]}"
    with postgres.admin() as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 1")
        admin.execute(f"CREATE DATABASE {role} OWNER {role}")
    journal = PostgresJournal(postgres.url(role).replace(f"{SUPERUSER}@", f"{role}@"))

    async def scenario() -> list[str]:
        # The pool's one connection, made now: listening would take a second.
        await journal.record(pull_request("first", 1), b"{}", handled=True)
        journal.listen(lambda: None)
        await asyncio.sleep(2 * LISTEN_RETRY_SECONDS + 0.5)  # refused, and again
        return [
            await journal.record(pull_request(f"then-{n}", 1), b"{}", handled=True)
            for n in range(3)
        ]

    try:
        with caplog.at_level(logging.WARNING, logger="hotfix_bot.journal"):
            recorded = asyncio.run(scenario())
    finally:
        journal.close()
        with postgres.admin() as admin:
            admin.execute(f"DROP DATABASE {role} WITH (FORCE)")
            admin.execute(f"DROP ROLE {role}")

    assert recorded == ["queued"] * 3
    messages = [record.getMessage() for record in caplog.records]
    assert [m for m in messages if m.startswith(("lost the database", "the database at"))] == []
    refused = [m for m in messages if m.startswith("not listening for new deliveries")]
    assert len(refused) >= 2
    assert f'too many connections for role "{role}"' in refused[0]
