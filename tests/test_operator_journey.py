"""The admin running hotfix-bot day to day, on real `hotfix-bot serve` processes and the
fake GitHub on loopback (docs/ADMIN.md, *Troubleshooting*): the status page with and without
ADMIN_TOKEN, a failed delivery found there and run again, GitHub not answering, an
installation suspended, a repository renamed under a failed delivery, a disk nearly full or
full (the server, its worker process and the journal's commands), a crash in the middle of
a post-merge run."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from support.deliveries import pull_request
from support.harness import Clock
from support.live_server import Server, children_of, github_and_server, open_hotfix, wait_for
from support.titles import rules_fail

from app.intake.delivery import from_payload
from app.journal import open_journal
from app.journal.base import MovedRepository, RepositoryMove
from sandbox import FakeGitHub, FakeRepo, InjectedFault

ADMIN_TOKEN = "operator-admin-token-0123456789abcdef"
BEARER = {"authorization": f"Bearer {ADMIN_TOKEN}"}


def hotfix_bot(
    server: Server, *arguments: str, file_size_limit: int | None = None
) -> subprocess.CompletedProcess[str]:
    """`hotfix-bot ARGUMENTS` as the admin runs it beside the server: in its working
    directory, with its environment. `file_size_limit` bounds the size any file may grow to
    (0: none may grow, as on a full disk), set in the command's own process."""
    command = [sys.executable, "-m", "app.cli", *arguments]
    if file_size_limit is not None:
        limited = (
            "import resource, runpy, sys; "
            f"resource.setrlimit(resource.RLIMIT_FSIZE, ({file_size_limit}, {file_size_limit})); "
            f"sys.argv = ['hotfix-bot', *{list(arguments)!r}]; "
            "runpy.run_module('app.cli', run_name='__main__')"
        )
        command = [sys.executable, "-c", limited]
    return subprocess.run(
        command,
        env=server.environment,
        cwd=server.cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def page_rows(page: str) -> list[list[str]]:
    """The cells of each row of the status page's table of the latest deliveries."""
    return [re.findall(r"<td>(.*?)</td>", row) for row in re.findall(r"<tr><td>.*?</tr>", page)]


def a_failed_opening(
    fake: FakeGitHub, repo: FakeRepo, server: Server, delivery: str
) -> InjectedFault:
    """The server started with ADMIN_TOKEN, and the opening of hotfix #1, `delivery`, failed
    for good: GitHub refuses (403) to read the pull request until the fault returned goes."""
    server.environment["ADMIN_TOKEN"] = ADMIN_TOKEN
    server.start()
    number = open_hotfix(repo)
    refusal = fake.inject("GET", r"/pulls/1$", status=403, times=None)
    event = fake.pull_request_event(repo, number, "opened")
    assert server.deliver("pull_request", event, delivery).status_code == 202
    wait_for(lambda: "failed" in hotfix_bot(server, "deliveries").stdout)
    return refusal


def test_a_failed_delivery_on_the_status_page_names_the_id_that_redeliver_takes(
    tmp_path: Path, private_key_pem: str
) -> None:
    """The page lists a failure with GitHub's answer and says `hotfix-bot redeliver ID` runs
    one again: the ID is on the page, and that command, given it, runs the delivery."""
    with github_and_server(tmp_path, private_key_pem) as (fake, repo, server):
        delivery = "72d3162e-cc78-11e3-81ab-4c9367dc0958"  # as GitHub names deliveries
        refusal = a_failed_opening(fake, repo, server, delivery)

        page = server.client.get(server.url, headers=BEARER).text

        assert "<code>hotfix-bot redeliver ID</code> runs one again" in page
        assert "<th>Last error</th><th>ID</th></tr>" in page
        [row] = page_rows(page)
        assert row[1:] == [
            "failed",
            "<code>pull_request.opened</code>",
            "acme/widgets#1",
            "GitHub answered 403 to GET /repos/acme/widgets/pulls/1: Forbidden",
            f"<code>{delivery}</code>",
        ]
        anyone = server.client.get(server.url).text
        assert delivery not in anyone  # the ids, like the rest of the list, to admins alone

        fake.faults.remove(refusal)  # the cause fixed, the delivery is run again
        redelivered = hotfix_bot(server, "redeliver", delivery)
        assert redelivered.stdout == (
            f"queued {delivery}; a running hotfix-bot picks it up within a second\n"
        )
        wait_for(lambda: repo.runs_named("hotfix-policy"))
        wait_for(
            lambda: page_rows(server.client.get(server.url, headers=BEARER).text)[0][1] == "done"
        )


def test_the_journals_commands_read_it_while_the_disk_is_full(
    tmp_path: Path, private_key_pem: str
) -> None:
    """The disk is full: the server refuses deliveries (503) and the admin lists what the
    journal holds to see where things stand. Listing writes nothing, so it works."""
    with github_and_server(tmp_path, private_key_pem) as (fake, repo, server):
        server.start()
        number = open_hotfix(repo)
        event = fake.pull_request_event(repo, number, "opened")
        assert server.deliver("pull_request", event, "before-the-disk-filled").status_code == 202
        wait_for(lambda: repo.runs_named("hotfix-policy"))
        wait_for(lambda: "done" in hotfix_bot(server, "deliveries").stdout)

        # No file may grow: a disk with no room left, for this command alone.
        listing = hotfix_bot(server, "deliveries", file_size_limit=0)
        timers = hotfix_bot(server, "timers", "--status", "fired", file_size_limit=0)

        assert (listing.returncode, listing.stderr) == (0, "")
        [header, row] = listing.stdout.splitlines()
        assert header.split() == ["RECEIVED", "(UTC)", "STATUS", "TRIES", "EVENT", "WHERE", "ID"]
        assert row.split()[2:] == [
            "done",
            "1",
            "pull_request.opened",
            "acme/widgets#1",
            "before-the-disk-filled",
        ]
        assert (timers.returncode, timers.stdout, timers.stderr) == (
            0,
            "no timers with status fired\n",
            "",
        )


def test_while_github_does_not_answer_the_page_says_so_once_and_deliveries_wait(
    tmp_path: Path, private_key_pem: str
) -> None:
    """docs/ADMIN.md, *GitHub does not answer*: deliveries are still taken and `/readyz`
    answers 200; the page says GitHub did not answer, and to an admin which request."""
    with github_and_server(tmp_path, private_key_pem) as (fake, repo, server):
        server.environment["ADMIN_TOKEN"] = ADMIN_TOKEN
        server.start()
        fake.inject("GET", r".", hang=True, times=None)
        number = open_hotfix(repo)
        event = fake.pull_request_event(repo, number, "opened")

        assert server.deliver("pull_request", event, "while-github-hangs").json() == {
            "delivery": "while-github-hangs",
            "status": "queued",
        }
        assert server.client.get(f"{server.url}/readyz").status_code == 200
        page = server.client.get(server.url, headers=BEARER, timeout=60).text

        assert problems(page) == ["GitHub did not answer GET /app in time"]


SUSPENDED_ADVICE = (
    " suspended: GitHub sends hotfix-bot nothing from there and lets it do nothing until the "
    "account's owner unsuspends it. Then the timers that came due meanwhile (reminders, "
    "deadlines) run by themselves, and the open hotfix pull requests are checked again, as "
    "GitHub never sends what happened meanwhile; run the deliveries that failed meanwhile "
    "again with <code>hotfix-bot redeliver ID</code>. A hotfix merged after hotfix-bot learnt "
    "of the suspension{where} gets its post-merge steps then too; one merged before got none "
    "(GitHub sent no word of the merge): tag, release and back-merge it by hand."
)
# When hotfix-bot learnt of acme's suspension (the refusal of the delivery that met it), as
# a pattern.
LEARNT = r"acme: \d{4}-\d\d-\d\d \d\d:\d\d UTC"


@pytest.mark.parametrize(
    ("others", "anyone_reads", "admin_reads"),
    [
        ((), ("1 installation is", ""), ("The installation on acme is", rf" \({LEARNT}\)")),
        (
            ("globex",),
            ("2 installations are", " (on 1 of them)"),
            ("The installations on acme and globex are", rf" \({LEARNT}; globex: never\)"),
        ),
    ],
)
def test_a_suspended_installation_is_said_on_the_page_with_what_to_do_once_it_is_unsuspended(
    tmp_path: Path,
    private_key_pem: str,
    others: tuple[str, ...],
    anyone_reads: tuple[str, str],
    admin_reads: tuple[str, str],
) -> None:
    """The owner of an account suspends the App: the page says so, to anyone as a count and to
    an admin by the account's name, with what to do once it is unsuspended, and for which
    installations hotfix-bot learnt of it (acme's, when a delivery met its suspension);
    done as said, the delivery that failed meanwhile runs and the check run is written."""
    with github_and_server(tmp_path, private_key_pem) as (fake, repo, server):
        server.environment["ADMIN_TOKEN"] = ADMIN_TOKEN
        server.start()
        installation = repo.installation_id
        number = open_hotfix(repo)
        fake.suspend_installation(installation)
        [app_id] = fake.apps
        for account in others:
            fake.suspend_installation(fake.add_installation(app_id, account=account))
        # Queued just before the suspension began, it runs while it lasts.
        event = fake.pull_request_event(repo, number, "opened")
        assert server.deliver("pull_request", event, "queued-at-the-suspension").status_code == 202
        wait_for(lambda: "failed" in hotfix_bot(server, "deliveries").stdout)

        anyone = server.client.get(server.url).text
        admin = server.client.get(server.url, headers=BEARER).text

        which, where = anyone_reads
        assert f"<p>{which}{SUSPENDED_ADVICE.format(where=where)}</p>" in anyone
        assert "acme" not in anyone.split("<main>", 1)[1]
        which, where = admin_reads
        advice = re.escape(SUSPENDED_ADVICE).replace(re.escape("{where}"), where)
        assert re.search(f"<p>{re.escape(which)}{advice}</p>", admin)
        [row] = page_rows(admin)
        assert row[4].startswith(f"installation {installation} is suspended: ")
        assert row[5] == "<code>queued-at-the-suspension</code>"

        fake.unsuspend_installation(installation)
        unsuspended = fake.installation_event(installation, "unsuspend")
        assert server.deliver("installation", unsuspended, "unsuspended").status_code == 202
        assert hotfix_bot(server, "redeliver", "queued-at-the-suspension").returncode == 0
        wait_for(lambda: repo.runs_named("hotfix-policy"))


def test_a_delivery_that_failed_before_its_repository_was_renamed_is_redelivered_under_the_new_name(
    tmp_path: Path, private_key_pem: str
) -> None:
    """A delivery fails while a hotfix is open; the repository is renamed; once the cause is
    gone the admin runs it again, as the page says. Under the old name GitHub answers 404
    (it does not promise to redirect it): it runs as the new name's."""
    with github_and_server(tmp_path, private_key_pem) as (fake, repo, server):
        refusal = a_failed_opening(fake, repo, server, "failed-before-rename")
        renamed = fake.rename_repo(repo, "gadgets")
        assert server.deliver("repository", renamed, "renamed").status_code == 202
        wait_for(lambda: "renamed" in hotfix_bot(server, "deliveries", "--status", "done").stdout)

        fake.faults.remove(refusal)
        assert hotfix_bot(server, "redeliver", "failed-before-rename").returncode == 0

        wait_for(
            lambda: page_rows(server.client.get(server.url, headers=BEARER).text)[1][1] == "done"
        )
        [run] = repo.runs_named("hotfix-policy")
        assert (run.head_sha, run.conclusion) == (repo.pulls[1].head_sha, "failure")
        assert run.output["title"] == rules_fail("labels")
        rows = page_rows(server.client.get(server.url, headers=BEARER).text)
        assert [(row[3], row[5]) for row in rows] == [
            ("acme/gadgets", "<code>renamed</code>"),
            ("acme/gadgets#1", "<code>failed-before-rename</code>"),
        ]
        # How many state keys moved depends on what the failed attempt kept; the failed
        # delivery moved with them.
        [moved] = re.findall(
            r"acme/widgets is acme/gadgets now: moved [^\"]*", server.log.read_text()
        )
        assert moved.endswith(", 0 timers, 0 queued deliveries and 1 failed delivery to it")


def test_on_either_journal_a_move_takes_a_failed_delivery_along_for_its_redelivery(
    journal_url: str, clock: Clock
) -> None:
    """What the journey above relies on, on PostgreSQL too: a transfer moves a failed
    delivery to the new name and the installation that has it now, and its redelivery runs
    as theirs; a delivery that was done stays as it ran."""
    journal = open_journal(journal_url, clock=clock)
    try:

        async def scenario() -> MovedRepository:
            for delivery_id in ("failed-before", "done-before"):
                delivery = pull_request(delivery_id, 1)
                payload = json.dumps(delivery.payload).encode()
                await journal.record(delivery, payload, handled=True)
                [claimed] = await journal.claim_ready(10)
                if claimed.id == "failed-before":
                    await journal.fail(claimed.id, "GitHub answered 403 to GET ...: Forbidden")
                else:
                    await journal.finish(claimed.id)
            move = RepositoryMove("acme/widgets", "globex/widgets", installation_id=7)
            moved = await journal.move_repository(move)
            assert await journal.redeliver("failed-before") == "queued"
            return moved

        moved = asyncio.run(scenario())
        [again] = asyncio.run(journal.claim_ready(10))
        listed = {e.id: (e.repository, e.installation_id) for e in journal.recent()}
    finally:
        journal.close()

    assert moved == MovedRepository(state=0, timers=0, deliveries=0, failed=1)
    delivery = from_payload(again.id, again.event, json.loads(again.payload or b""))
    assert (again.id, again.ordering_key) == ("failed-before", "globex/widgets#1")
    assert (delivery.repository, delivery.installation_id) == ("globex/widgets", 7)
    assert listed == {
        "failed-before": ("globex/widgets", 7),
        "done-before": ("acme/widgets", 1),
    }


def test_when_the_disk_is_nearly_full_an_admin_reads_why_the_journal_refuses_and_what_to_do(
    tmp_path: Path, private_key_pem: str
) -> None:
    """Room for 2 MiB, not for a delivery of 4 MiB that compresses to 3: it is refused (503), and
    `/readyz` and the page say the journal is not writable; an admin also reads what the
    journal answered and that the deliveries refused meanwhile are GitHub's to redeliver."""
    with github_and_server(tmp_path, private_key_pem) as (fake, repo, server):
        server.environment["ADMIN_TOKEN"] = ADMIN_TOKEN
        room = 2 * 1024 * 1024  # what any file of the server may grow to: a disk nearly full
        server.command = [
            sys.executable,
            "-c",
            f"import resource, runpy, sys; resource.setrlimit(resource.RLIMIT_FSIZE, ({room}, "
            f"{room})); sys.argv = ['hotfix-bot', 'serve']; "
            "runpy.run_module('app.cli', run_name='__main__')",
        ]
        server.start()
        number = open_hotfix(repo)
        event = fake.pull_request_event(repo, number, "opened")
        # A body that does not compress: the journal keeps it as large as it came.
        event["pull_request"]["body"] = base64.b64encode(os.urandom(3 * 1024 * 1024)).decode()

        refused = server.deliver("pull_request", event, "too-large-for-the-room-left")

        assert refused.status_code == 503
        assert refused.json() == {
            "error": "the delivery journal cannot take writes; GitHub will let you redeliver"
        }
        readiness = server.client.get(f"{server.url}/readyz")
        assert (readiness.status_code, readiness.json()["problems"]) == (
            503,
            ["the journal is not writable"],
        )
        [anyone] = problems(server.client.get(server.url).text)
        assert anyone == "the journal is not writable"
        [admin] = problems(server.client.get(server.url, headers=BEARER).text)
        assert admin.startswith("the journal is not writable (journal write failed: ")
        assert admin.endswith(
            "). Deliveries are answered 503 meanwhile and kept nowhere: once it is writable "
            "again (room made on its disk, for one), redeliver them from the App&#x27;s Recent "
            "Deliveries on GitHub."
        )


def problems(page: str) -> list[str]:
    """What the page says is wrong."""
    return re.findall(r'<div class="problem"><p>(.*?)</p></div>', page)


def test_a_worker_process_killed_by_a_signal_is_logged_with_the_signal_and_its_usual_cause(
    tmp_path: Path, private_key_pem: str
) -> None:
    """On a full disk the worker process dies of SIGBUS (a file it maps cannot be written),
    and a dying process says nothing itself. The page says the worker is not running and
    that the log says why: the log names the signal and what most often sends it."""
    with github_and_server(tmp_path, private_key_pem) as (_, _, server):
        server.start()
        assert server.process is not None
        pid = server.process.pid
        wait_for(lambda: children_of(pid))
        [worker] = children_of(pid)

        os.kill(worker, signal.SIGBUS)

        stopped = "The worker process is not running: 1 exit or failed start in a row."
        wait_for(lambda: any(stopped in problem for problem in problems(page(server))))
        said = [json.loads(line)["message"] for line in server.log_lines()]
        assert (
            "the worker process was killed by SIGBUS (a file it maps could not be written: a "
            "disk full, most often); starting it again in 1 s"
        ) in said


def page(server: Server) -> str:
    return server.client.get(server.url).text


def test_redeliver_of_a_delivery_cut_off_by_a_crash_says_the_restart_runs_it_again(
    tmp_path: Path, private_key_pem: str
) -> None:
    """The server dies in the middle of a post-merge run. Before starting it again, the
    admin tries `hotfix-bot redeliver` on the delivery, which the journal still holds as
    running: it says so, and that starting the server runs it again, which it does, once."""
    with github_and_server(tmp_path, private_key_pem) as (fake, repo, server):
        server.start()
        repo.create_branch("develop", "main")
        number = open_hotfix(repo)
        repo.add_labels(number, "P2")  # a merged hotfix of any severity is released
        repo.merge_pull(number)
        hang = fake.inject("POST", r"/releases$", hang=True, times=None)
        closed = fake.pull_request_event(repo, number, "closed")
        assert server.deliver("pull_request", closed, "merged").status_code == 202
        wait_for(lambda: fake.requests_to("POST", "/repos/acme/widgets/releases"))
        server.kill()

        refused = hotfix_bot(server, "redeliver", "merged")

        assert (refused.returncode, refused.stdout) == (1, "")
        assert refused.stderr == (
            "hotfix-bot: delivery merged is running: a running hotfix-bot finishes it, and one "
            "that stopped during it runs it again when it starts\n"
        )
        fake.faults.remove(hang)
        server.start()
        wait_for(lambda: "merged" in hotfix_bot(server, "deliveries", "--status", "done").stdout)
        [run] = repo.runs_named("hotfix-release")
        assert (run.conclusion, run.output["title"]) == ("success", "All steps done for v1.2.4")
        assert list(repo.tags) == ["v1.2.4"]


def test_a_restart_on_a_full_disk_says_the_disk_may_be_full_not_only_disk_io_error(
    tmp_path: Path, private_key_pem: str
) -> None:
    """Stopped cleanly, the server left no `-shm` file beside its journal; started again on a
    disk with no room, SQLite cannot make one and says only `disk I/O error`, which reads as
    a failing disk. `serve` and the commands beside it say what to look at."""
    with github_and_server(tmp_path, private_key_pem) as (fake, repo, server):
        server.start()
        number = open_hotfix(repo)
        event = fake.pull_request_event(repo, number, "opened")
        assert server.deliver("pull_request", event, "before-the-restart").status_code == 202
        wait_for(lambda: "done" in hotfix_bot(server, "deliveries").stdout)
        server.stop()

        for command in ("serve", "deliveries"):
            stopped = hotfix_bot(server, command, file_size_limit=0)

            assert (stopped.returncode, stopped.stdout) == (2, "")
            assert stopped.stderr == (
                f"hotfix-bot: DATABASE_URL: cannot open the journal {tmp_path / 'journal.db'}: "
                "disk I/O error making its -shm file beside it: is that disk full?\n"
            )
