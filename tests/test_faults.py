"""The fault table of docs/RELIABILITY.md: each row injects one fault and asserts what the
app did and what it reported, on real state: the check run, the journal row, the intake's
answer and the requests the fake GitHub received.

The app runs in process against the fake GitHub on loopback, with GitHub's timeouts cut
(1 s for each part of an answer instead of 15 s, 3 s for the whole instead of 30 s), so
timeouts cost seconds.
"""

from __future__ import annotations

import asyncio
import base64
import html
import json
import re
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from support.harness import REFUSAL, WEBHOOK_PATH, Bot, Clock, running_bot
from support.live_server import wait_for
from support.titles import all_rules_pass, rules_fail
from support.version_bump import set_version_commands
from support.webhooks import signed_headers

from app.github.client import Timeouts
from app.journal import JournalEntry
from policies.files import MAX_FILE_BYTES
from sandbox.git import blob_sha

GITHUB_TIMEOUT = 1.0
GITHUB_DEADLINE = 3.0
# The worker's first backoff is 1 s with jitter down to 80%.
FIRST_BACKOFF = 0.8
WAITING_FOR_APPROVAL = "Waiting for approval: Engineering Lead and Product Manager"
PULL_PATH = "/repos/acme/widgets/pulls/{number}"


@dataclass
class _NetworkFault:
    method: str
    path: re.Pattern[str]
    garbled_body: bytes | None  # None: the connection is reset instead


class Network(httpx.AsyncBaseTransport):
    """The wire between the app and the fake: resets a connection or garbles an answer once.

    The request still reaches the fake (it records it); what comes back is broken.
    """

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._faults: list[_NetworkFault] = []

    def reset_once(self, method: str, path_regex: str) -> None:
        self._faults.append(_NetworkFault(method, re.compile(path_regex), None))

    def garble_once(self, method: str, path_regex: str, body: bytes) -> None:
        self._faults.append(_NetworkFault(method, re.compile(path_regex), body))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        fault = next(
            (
                fault
                for fault in self._faults
                if fault.method == request.method and fault.path.search(request.url.path)
            ),
            None,
        )
        if fault is None:
            return response
        self._faults.remove(fault)
        await response.aclose()
        if fault.garbled_body is None:
            raise httpx.ReadError("Connection reset by peer", request=request)
        return httpx.Response(
            200, headers={"content-type": "application/json"}, content=fault.garbled_body
        )

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.fixture
def network() -> Network:
    return Network()


@pytest.fixture
def bot(tmp_path: Path, private_key_pem: str, network: Network) -> Iterator[Bot]:
    """conftest's `bot`, behind `network`, with short GitHub timeouts."""
    with running_bot(
        tmp_path,
        private_key_pem,
        network=network,
        github_timeouts=Timeouts(GITHUB_TIMEOUT, GITHUB_TIMEOUT, GITHUB_DEADLINE),
    ) as running:
        yield running


def waiting_retry(bot: Bot, delivery_id: str) -> JournalEntry:
    """The delivery's journal row once its first attempt failed and its retry waits."""
    deadline = time.monotonic() + 10
    while True:
        [entry] = [entry for entry in bot.journal.recent() if entry.id == delivery_id]
        if entry.status == "queued" and entry.attempts == 1:
            return entry
        assert time.monotonic() < deadline, f"the journal row stayed {entry}"
        time.sleep(0.01)


# --- GitHub fails once, the delivery is retried, then it succeeds ----------------------------


@dataclass(frozen=True)
class Retried:
    """A fault on the first read of the pull request, which the second read no longer meets."""

    inject: Callable[[Bot, Network, str], float | None]  # -> the x-ratelimit-reset sent, if any
    # the journal's last_error while the retry waits; {path}: the pull request, {github}: the
    # fake GitHub's host and port
    reported: str
    wait: float  # the least seconds between the two reads arriving at GitHub


def answer(
    status: int, headers: dict[str, str] | None = None, message: str | None = None
) -> Callable[[Bot, Network, str], None]:
    def inject(bot: Bot, _: Network, path: str) -> None:
        body = None if message is None else {"message": message}
        bot.fake.inject("GET", path, status=status, headers=headers, body=body)

    return inject


def primary_rate_limit(bot: Bot, _: Network, path: str) -> float:
    reset = int(time.time()) + 2  # 1 to 2 s ahead
    bot.fake.inject(
        "GET",
        path,
        status=403,
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)},
        body={"message": "API rate limit exceeded for installation ID 1."},
    )
    return reset


def slower_than_the_timeout(bot: Bot, _: Network, path: str) -> None:
    bot.fake.inject("GET", path, delay=GITHUB_TIMEOUT + 1.5)


def hanging(bot: Bot, _: Network, path: str) -> None:
    bot.fake.inject("GET", path, hang=True)


def trickling(bot: Bot, _: Network, path: str) -> None:
    # Each byte well within the wait for a part of the answer: only the whole one's deadline
    # ends it.
    bot.fake.inject("GET", path, drip=GITHUB_TIMEOUT / 4)


def connection_reset(_: Bot, network: Network, path: str) -> None:
    network.reset_once("GET", path)


def truncated_json(_: Bot, network: Network, path: str) -> None:
    network.garble_once("GET", path, b'{"number": 1, "state": "op')


SECONDARY = "You have exceeded a secondary rate limit. Please wait a few minutes."
NOT_IN_TIME = "GitHub did not answer GET {path} in time"

RETRIED = {
    "500": Retried(
        answer(500), "GitHub answered 500 to GET {path}: Internal Server Error", FIRST_BACKOFF
    ),
    "502": Retried(answer(502), "GitHub answered 502 to GET {path}: Bad Gateway", FIRST_BACKOFF),
    "503": Retried(
        answer(503), "GitHub answered 503 to GET {path}: Service Unavailable", FIRST_BACKOFF
    ),
    "403 x-ratelimit-remaining 0": Retried(
        primary_rate_limit,
        "GitHub answered 403 to GET {path}: API rate limit exceeded for installation ID 1.",
        0.0,  # checked against the reset time instead
    ),
    "403 secondary retry-after": Retried(
        answer(403, {"retry-after": "1"}, SECONDARY),
        f"GitHub answered 403 to GET {{path}}: {SECONDARY}",
        1.0,
    ),
    "429 retry-after": Retried(
        answer(429, {"retry-after": "1"}),
        "GitHub answered 429 to GET {path}: Too Many Requests",
        1.0,
    ),
    "timeout": Retried(
        slower_than_the_timeout,
        NOT_IN_TIME,
        GITHUB_TIMEOUT + FIRST_BACKOFF,
    ),
    "hang": Retried(
        hanging,
        NOT_IN_TIME,
        GITHUB_TIMEOUT + FIRST_BACKOFF,
    ),
    "trickle": Retried(
        trickling,
        NOT_IN_TIME,
        GITHUB_DEADLINE + FIRST_BACKOFF,
    ),
    "connection reset": Retried(
        connection_reset,
        "could not reach GitHub at {github}: ReadError (Connection reset by peer)",
        FIRST_BACKOFF,
    ),
    "malformed JSON": Retried(
        truncated_json,
        "GitHub's answer to GET {path} is not JSON: Unterminated string starting at: "
        "line 1 column 24 (char 23)",
        FIRST_BACKOFF,
    ),
}


@pytest.mark.parametrize("row", RETRIED.values(), ids=RETRIED.keys())
def test_a_fault_that_passes_is_retried_then_the_check_run_is_written(
    bot: Bot, network: Network, row: Retried
) -> None:
    pull = bot.open_hotfix()
    path = PULL_PATH.format(number=pull.number)
    reset = row.inject(bot, network, rf"{path}$")

    sent = bot.send("pull_request", bot.fake.pull_request_event(bot.repo, pull.number, "opened"))

    waiting = waiting_retry(bot, sent.json()["delivery"])
    github = urlsplit(bot.fake.api_url).netloc
    assert waiting.last_error == row.reported.format(path=path, github=github)
    bot.settle()
    [entry] = bot.journal.recent()
    assert (entry.status, entry.attempts, entry.last_error) == ("done", 2, None)
    run = bot.policy_run(pull.head_sha)
    assert (run.status, run.output["title"]) == ("in_progress", WAITING_FOR_APPROVAL)
    first, second = [r for r in bot.fake.requests if r.method == "GET" and r.path == path]
    assert second.received_at - first.received_at >= row.wait
    if reset is not None:
        arrived = time.time() - (time.monotonic() - second.received_at)
        assert arrived >= reset - 0.01  # not before the reset GitHub named


def test_a_rate_limit_that_names_no_wait_is_retried_after_a_minute(bot: Bot) -> None:
    """429 without retry-after, and a 403 saying "secondary rate limit" without retry-after
    or a used-up x-ratelimit-remaining: GitHub asks for "at least one minute"."""
    pulls = [bot.open_hotfix(f"hotfix/fix-{index}") for index in range(2)]
    faults = [(429, "Too Many Requests"), (403, SECONDARY)]
    for pull, (status, message) in zip(pulls, faults, strict=True):
        path = PULL_PATH.format(number=pull.number)
        bot.fake.inject("GET", rf"{path}$", status=status, body={"message": message})
        sent_at = time.time()
        delivery_id = bot.send(
            "pull_request", bot.fake.pull_request_event(bot.repo, pull.number, "opened")
        ).json()["delivery"]

        entry = waiting_retry(bot, delivery_id)
        assert entry.last_error == f"GitHub answered {status} to GET {path}: {message}"
        assert entry.next_attempt_at >= sent_at + 60
    assert bot.repo.runs_named("hotfix-policy", pulls[0].head_sha) == []


# --- GitHub asks for a wait longer than 15 minutes --------------------------------------------


@dataclass(frozen=True)
class LongWait:
    status: int
    headers: Callable[[float], dict[str, str]]  # from the clock's time
    message: str
    title: str  # of the check run
    asked: str  # the wait, as the check run and the journal name it
    recorded: str  # the message in the journal, before the wait
    shown: str  # the message as the check run's sentence ends it


LONG_WAITS = {
    "429 retry-after 24h": LongWait(
        429,
        lambda _: {"retry-after": "86400"},
        "Too Many Requests",
        "GitHub rate-limited hotfix-bot until 2026-12-05 20:31 UTC",
        "GitHub asked to wait until 2026-12-05 20:31 UTC (24h)",
        "Too Many Requests",
        "Too Many Requests.",
    ),
    "403 x-ratelimit-reset in 2h30m": LongWait(
        403,
        lambda now: {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(now) + 9000)},
        "API rate limit exceeded for installation ID 1.",
        "GitHub rate-limited hotfix-bot until 2026-12-04 23:01 UTC",
        "GitHub asked to wait until 2026-12-04 23:01 UTC (2h30m)",
        "API rate limit exceeded for installation ID 1",  # no full stop before the wait
        "API rate limit exceeded for installation ID 1.",  # not two
    ),
}


@pytest.mark.parametrize("row", LONG_WAITS.values(), ids=LONG_WAITS.keys())
def test_a_wait_over_15_minutes_is_shown_with_its_time_and_not_waited_for(
    clocked_bot: Bot, clock: Clock, row: LongWait
) -> None:
    """The delivery fails at once instead of holding its pull request's later deliveries
    back for hours; the check run says until when, and a re-run evaluates at once."""
    bot = clocked_bot
    pull = bot.open_hotfix()
    path = PULL_PATH.format(number=pull.number)
    body = {"message": row.message}
    bot.fake.inject(
        "GET", rf"{path}$", status=row.status, headers=row.headers(clock.now), body=body
    )

    bot.pull_request(pull.number, "opened")

    answered = f"GitHub answered {row.status} to GET {path}"
    [entry] = bot.journal.recent()
    assert (entry.status, entry.attempts, entry.last_error) == (
        "failed",
        1,
        f"{answered}: {row.recorded}; {row.asked}",
    )
    run = bot.policy_run(pull.head_sha)
    assert (run.status, run.conclusion, run.output["title"], run.output["summary"]) == (
        "completed",
        "failure",
        row.title,
        f"Could not evaluate the hotfix policy: {answered}: {row.shown}\n\n"
        f"{row.asked}; re-run this check then.",
    )

    bot.deliver("check_run", bot.fake.check_run_event(bot.repo, run.id))

    latest = bot.repo.runs_named("hotfix-policy", pull.head_sha)[-1]
    assert (latest.status, latest.output["title"]) == ("in_progress", WAITING_FOR_APPROVAL)
    assert [entry.status for entry in bot.journal.recent()] == ["done", "failed"]


def test_a_wait_of_15_minutes_is_waited_for_in_line(clocked_bot: Bot, clock: Clock) -> None:
    bot = clocked_bot
    pull = bot.open_hotfix()
    path = PULL_PATH.format(number=pull.number)
    bot.fake.inject("GET", rf"{path}$", status=429, headers={"retry-after": "900"})
    sent_at = clock.now

    delivery_id = bot.send(
        "pull_request", bot.fake.pull_request_event(bot.repo, pull.number, "opened")
    ).json()["delivery"]

    entry = waiting_retry(bot, delivery_id)
    assert (entry.last_error, entry.next_attempt_at) == (
        f"GitHub answered 429 to GET {path}: Too Many Requests",
        sent_at + 900,
    )
    assert bot.repo.runs_named("hotfix-policy", pull.head_sha) == []
    clock.now += 900
    bot.settle()
    [entry] = bot.journal.recent()
    assert (entry.status, entry.attempts, entry.last_error) == ("done", 2, None)
    assert bot.policy_run(pull.head_sha).output["title"] == WAITING_FOR_APPROVAL


# --- the installation is revoked ------------------------------------------------------------


def test_a_revoked_installation_records_the_refused_read_not_the_failed_report(
    clocked_bot: Bot, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    """GitHub answers 401 to everything in the repository, the check-run write that would
    show the failure included: the read that failed is the cause recorded and logged."""
    bot = clocked_bot
    pull = bot.open_hotfix()
    bot.pull_request(pull.number, "opened")
    run = bot.policy_run(pull.head_sha)
    refused = {"message": "Bad credentials"}
    # Answered last, so that the failure of the concurrent pull request read comes first.
    bot.fake.inject("GET", r"/reviews$", status=401, times=None, delay=0.3, body=refused)
    for method in ("GET", "POST", "PATCH"):
        bot.fake.inject(method, r"^/repos/", status=401, times=None, body=refused)

    delivery_id = bot.send(
        "pull_request", bot.fake.pull_request_event(bot.repo, pull.number, "synchronize")
    ).json()["delivery"]
    entry = retried_until_finished(bot, clock, delivery_id)

    cause = f"GitHub answered 401 to GET {PULL_PATH.format(number=pull.number)}: Bad credentials"
    assert (entry.status, entry.attempts, entry.last_error) == ("failed", 8, cause)
    assert bot.fake.requests_to("PATCH", f"/repos/acme/widgets/check-runs/{run.id}")
    unchanged = bot.policy_run(pull.head_sha)
    assert (unchanged.status, unchanged.output["title"]) == ("in_progress", WAITING_FOR_APPROVAL)
    # The worker logs the failure just after the journal holds it.
    wait_for(lambda: f"failed after 8 attempts: {cause}" in logged(caplog), timeout=5)
    assert (
        f"{cause}; the hotfix-policy check run could not show it: GitHub answered 401 to "
        f"PATCH /repos/acme/widgets/check-runs/{run.id}: Bad credentials"
    ) in logged(caplog)


def logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records]


def retried_until_finished(bot: Bot, clock: Clock, delivery_id: str) -> JournalEntry:
    """The delivery's journal row once it finished, moving the clock to each retry's time."""
    deadline = time.monotonic() + 25
    while True:
        [entry] = [entry for entry in bot.journal.recent() if entry.id == delivery_id]
        if entry.status in ("done", "failed"):
            return entry
        if entry.status == "queued" and entry.attempts:
            clock.now = max(clock.now, entry.next_attempt_at)
        assert time.monotonic() < deadline, f"the journal row stayed {entry}"
        time.sleep(0.01)


# --- GitHub refuses the App's own credentials ------------------------------------------------

APP_CREDENTIALS_REFUSED = (
    "GitHub refused the App's credentials (401 Bad credentials): check APP_ID and PRIVATE_KEY"
)
PAGE_SAYS_REFUSED = (
    "GitHub refused hotfix-bot's App credentials (401): check that APP_ID and PRIVATE_KEY "
    "belong to the same App, and that the key was not deleted from its settings on GitHub."
)


def test_app_credentials_github_refuses_fail_the_delivery_at_once_and_redeliver_runs_it(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    """APP_ID of another App, or a private key deleted from the App's settings: GitHub
    answers 401 to every JWT. One made anew is refused too, so the delivery fails on its
    first attempt saying what to fix, rather than after 8; the status page says so to
    anyone, while /readyz keeps to its meaning (credentials loaded, the journal writable).
    Once GitHub takes the credentials, `hotfix-bot redeliver` runs the delivery."""
    pull = bot.open_hotfix()
    refused = {"message": "Bad credentials"}
    refusal = bot.fake.inject("*", r"^/app(/|$)", status=401, times=None, body=refused)

    bot.pull_request(pull.number, "opened")

    [entry] = bot.journal.recent()
    assert (entry.status, entry.attempts, entry.last_error) == (
        "failed",
        1,
        APP_CREDENTIALS_REFUSED,
    )
    minted = bot.fake.requests_to("POST", "/app/installations/")
    assert [request.status for request in minted] == [401, 401]  # the second with a new JWT
    assert bot.repo.runs_named("hotfix-policy", pull.head_sha) == []
    wait_for(
        lambda: f"failed after 1 attempt: {APP_CREDENTIALS_REFUSED}" in logged(caplog), timeout=5
    )
    page = bot.client.get("/")
    assert f'<div class="problem"><p>{html.escape(PAGE_SAYS_REFUSED)}</p></div>' in page.text
    ready = bot.client.get("/readyz")
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})

    bot.fake.faults.remove(refusal)  # APP_ID and the key set right
    asyncio.run(bot.journal.redeliver(entry.id))  # `hotfix-bot redeliver`
    bot.settle()

    [entry] = bot.journal.recent()
    assert (entry.status, entry.attempts, entry.last_error) == ("done", 1, None)
    assert bot.policy_run(pull.head_sha).output["title"] == WAITING_FOR_APPROVAL


def test_an_app_jwt_refused_once_is_made_anew_within_the_same_attempt(bot: Bot) -> None:
    """A JWT kept from before the system clock was corrected has expired in GitHub's eyes:
    one made anew is taken, and the delivery goes on without a retry."""
    pull = bot.open_hotfix()
    expired = (
        "'Expiration time' claim ('exp') must be a numeric value representing the future "
        "time at which the assertion expires"
    )
    bot.fake.inject("POST", r"/access_tokens$", status=401, body={"message": expired})

    bot.pull_request(pull.number, "opened")

    [entry] = bot.journal.recent()
    assert (entry.status, entry.attempts, entry.last_error) == ("done", 1, None)
    minted = bot.fake.requests_to("POST", "/app/installations/")
    assert [request.status for request in minted] == [401, 201]
    assert bot.policy_run(pull.head_sha).output["title"] == WAITING_FOR_APPROVAL


# --- GitHub refuses to update a check run -----------------------------------------------------

RUN_UPDATE_REFUSALS = {
    "404, the run deleted": None,
    "403": (403, REFUSAL),
    "422": (422, "Validation Failed"),
}


@pytest.mark.parametrize("refusal", RUN_UPDATE_REFUSALS.values(), ids=RUN_UPDATE_REFUSALS.keys())
def test_a_run_github_will_not_update_is_replaced_by_a_new_one_the_journal_keeps(
    bot: Bot, refusal: tuple[int, str] | None
) -> None:
    """The evaluation is written to a new run on the head commit rather than failing the
    delivery; the journal names the new run, which the next process updates."""
    pull = bot.open_hotfix()
    bot.pull_request(pull.number, "opened")
    old = bot.policy_run(pull.head_sha)
    if refusal is None:
        del bot.repo.check_runs[old.id]
    else:
        status, message = refusal
        bot.fake.inject(
            "PATCH", rf"/check-runs/{old.id}$", status=status, times=None, body={"message": message}
        )
    bot.fake.add_team("acme", "engineering-leads", ["lead"])
    bot.repo.review(pull.number, "lead", "APPROVED")

    bot.deliver("pull_request_review", bot.fake.review_event(bot.repo, pull.number))

    assert [entry.status for entry in bot.journal.recent()] == ["done", "done"]
    new = bot.repo.runs_named("hotfix-policy", pull.head_sha)[-1]
    assert new.id != old.id
    assert (new.status, new.output["title"]) == (
        "in_progress",
        "Waiting for approval: Product Manager",
    )
    state_key = f"check-run:acme/widgets:hotfix-policy:{pull.head_sha}"
    assert (asyncio.run(bot.journal.get_state(state_key)) or "").split()[0] == str(new.id)
    bot.restart()  # a process that knows the run from the journal alone
    with bot.counting() as requests:
        bot.pull_request(pull.number, "edited")
    writes = [f"{r.method} {r.path}" for r in requests if "/check-runs" in r.path]
    assert writes == [
        f"GET /repos/acme/widgets/check-runs/{new.id}",  # is it still there?
        f"PATCH /repos/acme/widgets/check-runs/{new.id}",
    ]


# --- the journal cannot take the delivery ----------------------------------------------------


def test_a_locked_journal_refuses_the_delivery_with_503_and_takes_it_once_free(
    bot: Bot, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pull = bot.open_hotfix()
    body = json.dumps(bot.fake.pull_request_event(bot.repo, pull.number, "opened")).encode()
    headers = signed_headers(body, "pull_request", "locked-1")
    # Another process holds the write lock for longer than the journal's busy_timeout (5 s):
    # the whole time the delivery is being answered.
    holder = sqlite3.connect(tmp_path / "journal.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        refused = bot.client.post(WEBHOOK_PATH, content=body, headers=headers)
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    assert refused.status_code == 503
    assert refused.json() == {
        "error": "the delivery journal cannot take writes; GitHub will let you redeliver"
    }
    assert refused.headers["retry-after"] == "5"
    assert "delivery locked-1 refused: journal write failed: database is locked" in caplog.text
    assert bot.journal.recent() == []  # not acknowledged, nothing kept

    accepted = bot.send("pull_request", json.loads(body), delivery_id="locked-1")
    assert accepted.json() == {"delivery": "locked-1", "status": "queued"}
    bot.settle()
    [entry] = bot.journal.recent()
    assert (entry.id, entry.status, entry.attempts) == ("locked-1", "done", 1)
    assert bot.policy_run(pull.head_sha).output["title"] == WAITING_FOR_APPROVAL


def test_a_journal_file_replaced_while_running_refuses_deliveries_until_it_is_back(
    bot: Bot, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pull = bot.open_hotfix()
    payload = bot.fake.pull_request_event(bot.repo, pull.number, "opened")
    body = json.dumps(payload).encode()
    path, moved = tmp_path / "journal.db", tmp_path / "journal.db.moved"
    path.rename(moved)
    shutil.copy(moved, path)  # say, a backup restored over it

    unready = bot.client.get("/readyz")
    refused = bot.client.post(
        WEBHOOK_PATH, content=body, headers=signed_headers(body, "pull_request", "replaced-1")
    )
    moved.replace(path)  # the file the server opened, put back
    ready = bot.client.get("/readyz")

    assert unready.status_code == 503
    assert unready.json() == {
        "status": "unavailable",
        "problems": [
            "the journal file was deleted or replaced while hotfix-bot was running: "
            "put it back, or restart hotfix-bot to open the file now at its path"
        ],
    }
    assert refused.status_code == 503
    assert refused.json() == {
        "error": "the delivery journal file was deleted or replaced; GitHub will let you redeliver"
    }
    assert (
        f"delivery replaced-1 refused: journal write failed: {path} was deleted or replaced "
        "while open" in caplog.text
    )
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
    accepted = bot.send("pull_request", payload, delivery_id="replaced-1")
    assert accepted.json() == {"delivery": "replaced-1", "status": "queued"}
    bot.settle()
    [entry] = bot.journal.recent()
    assert (entry.id, entry.status, entry.attempts) == ("replaced-1", "done", 1)
    assert bot.policy_run(pull.head_sha).output["title"] == WAITING_FOR_APPROVAL


# --- what the repository holds -----------------------------------------------------------------


def test_a_config_file_of_1_mb_fails_the_check_naming_the_size_without_reading_it(
    bot: Bot,
) -> None:
    config = "# padding\n" * (1024 * 1024 // 10) + "workflow: gitflow\n"
    bot.repo.commit("main", {".github/hotfix.yml": config}, "A huge config")
    pull = bot.open_hotfix()

    started = time.monotonic()
    bot.pull_request(pull.number, "opened")

    assert time.monotonic() - started < 5
    run = bot.policy_run(pull.head_sha)
    size = len(config.encode())
    assert (run.status, run.conclusion, run.output["title"]) == (
        "completed",
        "failure",
        f"Invalid .github/hotfix.yml: the file is {size:,} bytes, more than the "
        f"{MAX_FILE_BYTES // 1024} KiB hotfix-bot reads",
    )
    [entry] = bot.journal.recent()
    assert (entry.status, entry.attempts) == ("done", 1)
    assert bot.fake.requests_to("GET", f"/repos/acme/widgets/git/blobs/{blob_sha(config)}") == []


def test_a_version_file_with_garbage_fails_version_bump_naming_the_file(bot: Bot) -> None:
    pull = bot.open_hotfix()
    bot.repo.commit(pull.head_ref, {"VERSION": "1.2.4 ☃ garbage\x07\n"}, "Oops")

    bot.pull_request(pull.number, "synchronize")

    run = bot.policy_run(bot.repo.pulls[pull.number].head_sha)
    assert (run.conclusion, run.output["title"]) == ("failure", rules_fail("version-bump"))
    assert (
        'VERSION: the version "1.2.4 \\u2603 garbage\\u0007" is not of the form X.Y.Z'
        in (run.output["summary"])
    )
    assert bot.journal.recent()[0].status == "done"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"\xff\xfe1.2.4\x00", "is UTF-16 text, not UTF-8"),
        # UTF-32-LE's byte order mark begins as UTF-16-LE's does.
        (b"\xff\xfe\x00\x00" + "1.2.4\n".encode("utf-32-le"), "is UTF-32 text, not UTF-8"),
        # Windows-1252's é, on the second line.
        (b"1.2.4\ncaf\xe9\n", "is not UTF-8 text (byte 10, on line 2, cannot be read)"),
    ],
    ids=["UTF-16", "UTF-32", "Windows-1252"],
)
def test_a_version_file_that_is_not_utf8_fails_version_bump_naming_the_file(
    bot: Bot, content: bytes, problem: str
) -> None:
    pull = bot.open_hotfix(files={"VERSION": "binary\n"})
    sha = blob_sha("binary\n")
    bot.fake.inject(
        "GET",
        rf"/git/blobs/{sha}$",
        status=200,
        times=None,
        body={
            "sha": sha,
            "size": len(content),
            "content": base64.b64encode(content).decode(),
            "encoding": "base64",
        },
    )

    bot.pull_request(pull.number, "opened")

    run = bot.policy_run(pull.head_sha)
    assert (run.conclusion, run.output["title"]) == ("failure", rules_fail("version-bump"))
    assert run.output["summary"].endswith(
        f"### `version-bump`\n\nVERSION {problem}: save it as UTF-8\n\n"
        "Set the version to 1.2.4 on hotfix/fix-login, commit it and push it:\n\n"
        + set_version_commands("1.2.4")
    )
    [entry] = bot.journal.recent()
    assert (entry.status, entry.attempts) == ("done", 1)


@pytest.mark.parametrize(
    ("points_to", "files", "version_bump"),
    [
        ("app/VERSION", {"app/VERSION": "1.2.4\n"}, None),
        (
            "../VERSION",
            {},
            "VERSION is a symbolic link to ../VERSION, which is no file of the repository",
        ),
        (
            "app/VERSION",
            {"app/README.md": "app\n"},
            "VERSION is a symbolic link to app/VERSION, which is no file of the repository",
        ),
        ("VERSION", {}, "VERSION leads through more than 8 symbolic links"),
    ],
    ids=["inside the repository", "outside it", "to no file", "to itself"],
)
def test_a_version_file_that_is_a_symbolic_link_is_read_where_it_points(
    bot: Bot, points_to: str, files: dict[str, str], version_bump: str | None
) -> None:
    """GitHub's trees API lists a symbolic link as a blob of mode 120000 holding the path it
    points to: the file there is read, as the contents API answers with it."""
    pull = bot.open_hotfix(files={"VERSION": points_to, **files})
    bot.list_as_symbolic_link(pull.head_sha, "VERSION")

    bot.pull_request(pull.number, "opened")

    run = bot.policy_run(pull.head_sha)
    if version_bump is None:
        assert (
            "| `version-bump` | ✅ pass | VERSION: 1.2.3 on main, 1.2.4 on hotfix/fix-login |"
        ) in run.output["summary"]
    else:
        assert (run.conclusion, run.output["title"]) == ("failure", rules_fail("version-bump"))
        assert f"### `version-bump`\n\n{version_bump}\n\n" in run.output["summary"]


def test_an_unreadable_file_that_is_no_version_file_changes_nothing(bot: Bot) -> None:
    """A package.json over the size hotfix-bot reads, on the base and the head: a pull
    request that is no hotfix is still neutral, and a hotfix whose `version.files` names
    VERSION alone still passes."""
    large = '{"name": "web", "data": "' + "x" * MAX_FILE_BYTES + '"}\n'
    bot.repo.commit("main", {"package.json": large}, "Assets")
    bot.repo.create_branch("feature/search", "main")
    feature_head = bot.repo.commit("feature/search", {"search.py": "print()\n"}, "Search")
    feature = bot.repo.open_pull("feature/search", "main", title="Search", author="dev")

    bot.pull_request(feature.number, "opened")

    run = bot.policy_run(feature_head)
    assert (run.conclusion, run.output["title"]) == ("neutral", "Not a hotfix pull request")

    config = "version: {files: [VERSION]}\nseverities: {P1: {approvals: []}}\n"
    bot.repo.commit("main", {".github/hotfix.yml": config}, "Config")
    pull = bot.open_hotfix()

    bot.pull_request(pull.number, "opened")

    run = bot.policy_run(pull.head_sha)
    assert (run.conclusion, run.output["title"]) == ("success", all_rules_pass())
    assert all(entry.status == "done" for entry in bot.journal.recent())


def test_unicode_labels_and_branch_names_are_named_correctly(bot: Bot) -> None:
    bot.repo.commit("main", {".github/hotfix.yml": 'labels:\n  hotfix: "🔥 hotfix"\n'}, "Config")
    pull = bot.open_hotfix("hotfix/ünïcödé", labels=("🔥 hotfix", "P1"))

    bot.pull_request(pull.number, "opened")

    run = bot.policy_run(pull.head_sha)
    assert (run.conclusion, run.output["title"]) == ("failure", rules_fail("branch-name"))
    summary = run.output["summary"]
    assert "| `branch-name` | ❌ fail | hotfix/ünïcödé |" in summary
    assert "| `labels` | ✅ pass | labels P1, 🔥 hotfix | 🔥 hotfix and exactly one of" in summary
    assert "Branch hotfix/ünïcödé does not match" in summary


def test_a_pull_request_with_3000_files_costs_the_same_requests(bot: Bot) -> None:
    for team in ("engineering-leads", "product-managers"):  # asked to review, once a pull request
        bot.fake.add_team("acme", team)
    bot.pull_request(bot.open_hotfix("hotfix/warm-up").number, "opened")  # token, base tree
    # Its own file, so its head commit is not the warm-up's (same tree, same second).
    small = bot.open_hotfix("hotfix/small", files={"fix.txt": "fixed\n"})
    large = bot.open_hotfix(
        "hotfix/large", files={f"src/module_{index}.py": f"# {index}\n" for index in range(3000)}
    )

    requests: dict[str, list[str]] = {}
    for pull in (small, large):
        with bot.counting() as recorded:
            bot.pull_request(pull.number, "opened")
        requests[pull.head_ref] = [f"{r.method} {r.path}" for r in recorded]
        assert bot.policy_run(pull.head_sha).output["title"] == WAITING_FOR_APPROVAL

    # 7 reads, the organization's defaults read beside them, and the review request.
    assert len(requests["hotfix/large"]) == len(requests["hotfix/small"]) <= 9
    assert not [line for line in requests["hotfix/large"] if "/files" in line]
