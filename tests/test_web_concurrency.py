"""WEB_CONCURRENCY=N: `hotfix-bot serve` as N intake processes sharing its port, one worker."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from support.live_server import (
    Server,
    children_of,
    github_and_server,
    github_and_servers,
    open_hotfix,
    running,
    wait_for,
)
from support.webhooks import WEBHOOK_SECRET

from app.cli import main
from app.journal import open_journal
from app.journal.worker_process import SERVER_GONE
from sandbox.webhooks import post_delivery

DELIVERIES = 24


def listening_sockets(port: int) -> int:
    """How many sockets listen on `port` on this machine (every intake process has one)."""
    listening = "0A"
    found = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            found += state == listening and int(local.rsplit(":", 1)[1], 16) == port
    return found


def intake_children(server: Server) -> list[int]:
    assert server.process is not None
    return [
        pid
        for pid in children_of(server.process.pid)
        if b"app.intake.processes" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]


def counted_in_file(metrics: Path, pid: int, name: str) -> Metric:
    """The counter `name` as one process counted it, from its own file of the server's
    metrics directory."""
    merged: Iterable[Metric] = MultiProcessCollector.merge(  # type: ignore[no-untyped-call]
        [str(metrics / f"counter_{pid}.db")]
    )
    [family] = [family for family in merged if family.name == name]
    return family


def counted_by_process(metrics: Path, pid: int) -> dict[str, float]:
    """The deliveries one process counted, by outcome, from its own file of the server's
    metrics directory."""
    family = counted_in_file(metrics, pid, "hotfix_bot_deliveries")
    return {
        sample.labels["outcome"]: sample.value
        for sample in family.samples
        if sample.name == "hotfix_bot_deliveries_total"
    }


def deliver_on_a_new_connection(
    server: Server, payload: dict[str, object], delivery_id: str
) -> str:
    """Each connection goes to one intake process; which one, the kernel decides."""
    with httpx.Client(timeout=10) as client:
        url = f"{server.url}/api/github/webhooks"
        answer = post_delivery(client, url, WEBHOOK_SECRET, "pull_request", payload, delivery_id)
    assert answer.status_code == 202, answer.text
    status: str = answer.json()["status"]
    return status


def test_two_intake_processes_share_the_port_and_the_worker_runs_each_delivery_once(
    tmp_path: Path, private_key_pem: str, journal_url: str
) -> None:
    with github_and_servers(tmp_path, private_key_pem, journal_url, 1) as (fake, repo, [server]):
        server.environment["WEB_CONCURRENCY"] = "2"
        server.start()
        assert server.process is not None
        wait_for(lambda: listening_sockets(server.port) == 2)
        [intake] = intake_children(server)
        number = open_hotfix(repo)
        payload = fake.pull_request_event(repo, number, "opened")
        ids = [f"wc-{n}" for n in range(DELIVERIES)]

        first = [deliver_on_a_new_connection(server, payload, id_) for id_ in ids]
        again = [deliver_on_a_new_connection(server, payload, id_) for id_ in ids]

        assert (first, again) == (["queued"] * DELIVERIES, ["duplicate"] * DELIVERIES)
        # Both processes answered: each counted some of the deliveries, in its own file.
        # Beside a SQLite journal; for a PostgreSQL one, in the server's working directory.
        [metrics] = tmp_path.glob(f"*.metrics/server-{server.process.pid}")
        by_serve = counted_by_process(metrics, server.process.pid)
        by_intake = counted_by_process(metrics, intake)
        assert by_serve["queued"] > 0 and by_intake["queued"] > 0, (by_serve, by_intake)
        assert by_serve["queued"] + by_intake["queued"] == DELIVERIES
        assert by_serve["duplicate"] + by_intake["duplicate"] == DELIVERIES
        # Whichever process answers /metrics counts for them all.
        queued = (
            f'hotfix_bot_deliveries_total{{event="pull_request",outcome="queued"}} {DELIVERIES}.0'
        )
        for _ in range(8):
            with httpx.Client() as client:
                assert queued in client.get(f"{server.url}/metrics").text
                assert client.get(f"{server.url}/readyz").status_code == 200

        journal = open_journal(journal_url)
        try:
            wait_for(lambda: journal.count(("queued", "running")) == 0)
            entries = journal.recent(limit=100)
        finally:
            journal.close()
        # The one worker process ran each at most once: the latest, and whatever had not
        # been superseded by a later one when it ran.
        assert sorted(entry.id for entry in entries) == sorted(ids)
        assert {entry.status for entry in entries} <= {"done", "superseded"}
        assert all(entry.attempts <= 1 for entry in entries)
        assert [e.attempts for e in entries if e.id == ids[-1]] == [1]
        [run] = repo.runs_named("hotfix-policy")
        assert run.conclusion == "failure"  # no severity label: the verdict, once
        said = [json.loads(line)["message"] for line in server.log_lines()]
        assert (
            f"listening on http://127.0.0.1:{server.port} with 2 intake processes "
            "(Press CTRL+C to quit)"
        ) in said
        assert [line for line in said if line.startswith("setup mode")] == []


def test_the_status_page_counts_the_signature_refusals_of_every_intake_process(
    tmp_path: Path, private_key_pem: str
) -> None:
    """Whichever intake process serves the page, it counts the deliveries refused for their
    signature by them all."""
    with github_and_server(tmp_path, private_key_pem) as (_, _, server):
        server.environment |= {"WEB_CONCURRENCY": "2", "ADMIN_TOKEN": ADMIN_TOKEN}
        server.start()
        assert server.process is not None
        wait_for(lambda: listening_sockets(server.port) == 2)
        [intake] = intake_children(server)
        before = [page(server) for _ in range(4)]

        for number in range(DELIVERIES):  # new connections: the kernel spreads them
            with httpx.Client(timeout=10) as client:
                url = f"{server.url}/api/github/webhooks"
                answer = post_delivery(client, url, "github-has-another", "star", {}, f"s-{number}")
            assert answer.status_code == 401
        [metrics] = tmp_path.glob(f"*.metrics/server-{server.process.pid}")
        by_process = [refused_by_process(metrics, pid) for pid in (server.process.pid, intake)]
        after = [page(server) for _ in range(8)]

    assert all(count > 0 for count in by_process), by_process
    assert sum(by_process) == DELIVERIES
    refused = (
        f"{DELIVERIES} deliveries were refused (401) for a missing or wrong "
        "X-Hub-Signature-256 since this server started, the last at "
    )
    assert [refused in shown for shown in before] == [False] * 4
    assert [refused in shown for shown in after] == [True] * 8


ADMIN_TOKEN = "correct-horse-battery-staple-0123456789"


def page(server: Server) -> str:
    """The status page with its details, on a new connection: from either intake process."""
    with httpx.Client(timeout=10) as client:
        headers = {"authorization": f"Bearer {ADMIN_TOKEN}"}
        return client.get(f"{server.url}/", headers=headers).text


def refused_by_process(metrics: Path, pid: int) -> float:
    """The signature refusals one process counted, from its own file."""
    family = counted_in_file(metrics, pid, "hotfix_bot_signature_refusals")
    return sum(sample.value for sample in family.samples if sample.name.endswith("_total"))


def test_an_intake_process_that_dies_is_started_again(tmp_path: Path, private_key_pem: str) -> None:
    with github_and_server(tmp_path, private_key_pem) as (_, _, server):
        server.environment["WEB_CONCURRENCY"] = "2"
        server.start()
        wait_for(lambda: listening_sockets(server.port) == 2)
        [intake] = intake_children(server)

        os.kill(intake, signal.SIGKILL)

        # Meanwhile `serve` alone listens, and its status page says so.
        stopped = "Intake process 2 is not running: 1 exit or failed start in a row."
        wait_for(lambda: stopped in httpx.get(f"{server.url}/").text)
        wait_for(lambda: intake_children(server) not in ([], [intake]))
        wait_for(lambda: listening_sockets(server.port) == 2)
        restarted = (
            "intake process 2 was killed by SIGKILL (the kernel's out-of-memory killer, or "
            "someone: the system log says which); starting it again in 1 s"
        )
        assert restarted in [json.loads(line)["message"] for line in server.log_lines()]


def test_intake_processes_started_after_the_setup_page_take_the_new_secret_over_the_environment(
    tmp_path: Path, private_key_pem: str
) -> None:
    """WEBHOOK_SECRET in the environment wins over the .env the setup page writes: the
    intake processes started once the App is registered inherit the new secret."""
    with github_and_server(tmp_path, private_key_pem) as (fake, _, server):
        del server.environment["APP_ID"], server.environment["PRIVATE_KEY"]  # setup mode
        server.environment |= {"WEB_CONCURRENCY": "2", "WEBHOOK_SECRET": "the-old-secret"}
        server.start()
        registration = fake.register_manifest_code("hotfix-bot-acme")
        with httpx.Client(base_url=server.url, timeout=10) as browser:
            form = browser.get("/").text.split('action="', 1)[1].split('"', 1)[0]
            [state] = parse_qs(urlsplit(form.replace("&amp;", "&")).query)["state"]
            registered = browser.get(
                "/setup/callback", params={"code": registration.code, "state": state}
            )
        assert registered.status_code == 200
        wait_for(lambda: listening_sockets(server.port) == 2)

        answers = []
        for number in range(DELIVERIES):  # new connections: the kernel spreads them
            with httpx.Client(timeout=10) as client:
                url = f"{server.url}/api/github/webhooks"
                delivery = post_delivery(
                    client, url, registration.webhook_secret, "star", {}, f"star-{number}"
                )
            answers.append(delivery.status_code)

        assert answers == [202] * DELIVERIES
        warning = (
            "WEBHOOK_SECRET is also set in the environment, which overrides .env at the next "
            "start: remove it there, or set it there to the new value from .env"
        )
        assert f"<p>{warning}.</p>" in registered.text
        assert warning in [json.loads(line)["message"] for line in server.log_lines()]


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_stopping_or_killing_serve_leaves_no_process_behind(
    tmp_path: Path, private_key_pem: str, stop: signal.Signals
) -> None:
    with github_and_server(tmp_path, private_key_pem) as (_, _, server):
        server.environment["WEB_CONCURRENCY"] = "3"
        server.start()
        assert server.process is not None
        wait_for(lambda: listening_sockets(server.port) == 3)
        children = children_of(server.process.pid)
        assert len(children) == 3  # the worker and two intake processes

        server.process.send_signal(stop)  # SIGKILL: the server alone, no time to stop them
        server.process.wait(timeout=15)

        wait_for(lambda: not any(running(child) for child in children), timeout=5)
        assert listening_sockets(server.port) == 0
        said = [json.loads(line)["message"] for line in server.log_lines()]
        assert said.count(SERVER_GONE) == 1


@pytest.mark.parametrize(
    ("value", "line"),
    [
        ("0", "WEB_CONCURRENCY: Input should be greater than or equal to 1"),
        ("65", "WEB_CONCURRENCY: Input should be less than or equal to 64"),
        (
            "two",
            "WEB_CONCURRENCY: Input should be a valid integer, unable to parse string as an "
            "integer",
        ),
    ],
)
def test_a_bad_web_concurrency_stops_serve_with_one_line_naming_it(
    value: str, line: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WEB_CONCURRENCY", value)

    assert main(["serve"]) == 2

    assert capsys.readouterr().err == f"hotfix-bot: {line}\n"
