"""The worker against the fake GitHub: retries that honour GitHub's waits, per-PR order,
failures recorded, one token per installation, slots shared between installations."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from pydantic import SecretStr
from support.chat import ChatReceiver
from support.harness import Bot, running_bot

from app.chat import ChatWebhook
from app.github.client import GitHubApp, Transience
from app.handlers import notices
from app.handlers.routing import Context, Router
from app.intake.delivery import from_body
from app.journal import Aside, Journal, JournalEntry, JournalUnavailable, open_journal
from app.journal import worker as worker_module
from app.journal.timers import TIMER_EVENT, FiredTimer, Timer
from app.journal.worker import Worker, timer_retry_delay
from sandbox import FakeGitHub, FakePull, serve_fake


@pytest.fixture
def bot(tmp_path: Path, private_key_pem: str, journal_url: str) -> Iterator[Bot]:
    """hotfix-bot in process (see support.harness) on each kind of journal."""
    with running_bot(tmp_path, private_key_pem, DATABASE_URL=journal_url) as running:
        yield running


def gaps_between_attempts(bot: Bot, pull: FakePull, attempts: int) -> list[float]:
    """Checks that the delivery opening `pull` was done in `attempts` attempts, each reading the
    pull request once, and judged it; returns the seconds between those reads."""
    assert bot.policy_run(pull.head_sha).output["title"].startswith("Waiting for approval")
    [entry] = bot.journal.recent()
    assert (entry.status, entry.attempts) == ("done", attempts)
    reads = [
        s
        for s in bot.transport.spans
        if s.method == "GET" and s.path.endswith(f"/pulls/{pull.number}")
    ]
    assert len(reads) == attempts
    return [later.started - earlier.ended for earlier, later in itertools.pairwise(reads)]


def test_502_twice_then_429_with_retry_after_then_success_completes_the_work(bot: Bot) -> None:
    pull = bot.open_hotfix()
    path = rf"/repos/acme/widgets/pulls/{pull.number}$"
    bot.fake.inject("GET", path, status=502, times=2)
    bot.fake.inject("GET", path, status=429, times=1, headers={"retry-after": "1"})

    bot.pull_request(pull.number, "opened")

    gaps = gaps_between_attempts(bot, pull, 4)
    # Backoff after each 502 (about 1 s, then 2 s), exactly the 1 s GitHub asked for after the 429.
    assert gaps[0] >= 0.75 and gaps[1] >= 1.5 and gaps[2] >= 1.0, gaps


def test_an_error_that_will_not_pass_fails_the_delivery_at_once_with_the_reason(bot: Bot) -> None:
    pull = bot.open_hotfix()
    bot.fake.inject("GET", rf"/pulls/{pull.number}$", status=404, times=None)

    bot.pull_request(pull.number, "opened")

    [entry] = bot.journal.recent()
    assert (entry.status, entry.attempts) == ("failed", 1)
    assert entry.last_error == (
        f"GitHub answered 404 to GET /repos/acme/widgets/pulls/{pull.number}: Not Found"
    )


def test_a_refusal_while_gathering_facts_is_shown_in_the_check_run(bot: Bot) -> None:
    pull = bot.open_hotfix()
    bot.refuse_tree_reads(r"/git/trees/")

    bot.pull_request(pull.number, "opened")

    run = bot.policy_run(pull.head_sha)
    assert (run.conclusion, run.output["title"]) == (
        "failure",
        "Could not evaluate the hotfix policy",
    )
    assert "GitHub answered 403" in run.output["summary"]
    assert "Resource not accessible by integration" in run.output["summary"]
    assert bot.journal.recent()[0].status == "failed"


def test_deliveries_for_one_pull_request_run_one_at_a_time_in_order(bot: Bot) -> None:
    pull = bot.open_hotfix()
    bot.fake.latency = 0.02
    for action in ("opened", "labeled", "synchronize", "edited"):
        bot.send("pull_request", bot.fake.pull_request_event(bot.repo, pull.number, action))
    bot.settle()

    statuses = [entry.status for entry in reversed(bot.journal.recent())]
    ran = statuses.count("done")
    # A delivery still queued when a later one of its pull request arrives is superseded:
    # the later evaluation reads the same, fresher, state.
    assert set(statuses[:-1]) <= {"done", "superseded"} and statuses[-1] == "done"
    marks = sorted(
        [
            (s.started, "read")
            for s in bot.transport.spans
            if s.path.endswith(f"/pulls/{pull.number}")
        ]
        + [
            (s.ended, "write")
            for s in bot.transport.spans
            if "/check-runs" in s.path and s.method != "GET"
        ]
    )
    assert [kind for _, kind in marks] == ["read", "write"] * ran


def test_many_deliveries_of_one_installation_mint_one_token(bot: Bot) -> None:
    pulls = [bot.open_hotfix(f"hotfix/fix-{index}") for index in range(6)]
    for pull in pulls:
        bot.send("pull_request", bot.fake.pull_request_event(bot.repo, pull.number, "opened"))
    bot.settle()

    assert all(bot.repo.runs_named("hotfix-policy", pull.head_sha) for pull in pulls)
    assert bot.fake.tokens_minted == {bot.repo.installation_id: 1}
    assert len(bot.fake.requests_to("POST", "/app/installations/")) == 1


def test_a_wake_up_during_a_claim_is_not_lost(journal_url: str) -> None:
    claims: list[float] = []

    class ArrivalDuringClaim:
        """The journal, but the intake journals a delivery just after a claim read the queue."""

        def __init__(self, journal: Journal) -> None:
            self.journal = journal

        def __getattr__(self, name: str) -> Any:
            return getattr(self.journal, name)

        def listen(self, wake: Callable[[], None]) -> None:
            """Nobody else journals anything here: the claims are the worker's own."""

        async def claim_ready(self, limit: int, aside: Aside) -> list[JournalEntry]:
            claims.append(time.monotonic())
            if len(claims) == 1:
                worker.wake()
            return []

    journal = open_journal(journal_url)
    worker = Worker(cast(Journal, ArrivalDuringClaim(journal)), Router(), cast(GitHubApp, object()))

    async def run_until_claimed_twice() -> None:
        async with working(worker), asyncio.timeout(10):
            while len(claims) < 2:
                await asyncio.sleep(0.01)

    try:
        asyncio.run(run_until_claimed_twice())
    finally:
        journal.close()
    assert claims[1] - claims[0] < 0.25  # at once: a lost wake-up waits out the idle 1 s


@contextlib.asynccontextmanager
async def working(worker: Worker) -> AsyncIterator[None]:
    """`worker` running beside the block, and stopped after it, however the block ends."""
    running = asyncio.create_task(worker.run())
    try:
        yield
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)


class OfflineGitHub:
    """GitHub as the worker sees it for handlers that ask GitHub nothing."""

    async def installation(
        self, installation_id: int, *, covering: str | None = None
    ) -> OfflineInstallation:
        return OfflineInstallation(installation_id)


@dataclass(frozen=True)
class OfflineInstallation:
    installation_id: int
    minted: bool = False  # no token, so none granted

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[None]:
        yield


def pull_request_body(action: str, number: int = 1) -> bytes:
    """A `pull_request` delivery's body for acme/widgets#`number`, as routing reads it."""
    return json.dumps(
        {
            "action": action,
            "installation": {"id": 1},
            "repository": {"full_name": "acme/widgets"},
            "pull_request": {"number": number},
        }
    ).encode()


def test_deliveries_set_aside_are_claimed_only_while_a_slot_of_theirs_is_free(
    journal_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Six deliveries whose handler waits on chat, of six pull requests: four run, the
    other two stay queued in the journal; one ending, the next is claimed at once, not at
    the worker's next look at the journal (put a minute off, past the test's 10 s)."""
    monkeypatch.setattr(worker_module, "IDLE_POLL_SECONDS", 60.0)
    gates = {f"m{number}": asyncio.Event() for number in range(1, 7)}

    async def waits_on_chat(context: Context) -> None:
        await gates[context.delivery.id].wait()

    router = Router()
    router.add("pull_request", ["opened"], waits_on_chat, aside=True)
    journal = open_journal(journal_url)
    worker = Worker(journal, router, cast(GitHubApp, OfflineGitHub()))
    most_running = 0

    def running() -> list[str]:
        nonlocal most_running
        ids = sorted(entry.id for entry in journal.recent("running"))
        most_running = max(most_running, len(ids))
        return ids

    async def scenario() -> list[str]:
        async with working(worker), asyncio.timeout(10):
            for number in range(1, 7):
                body = pull_request_body("opened", number)
                delivery = from_body(f"m{number}", "pull_request", body)
                await journal.record(delivery, body, handled=True)
            worker.wake()
            while len(running()) < 4:
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.2)  # time enough for the claim of a fifth, were one made
            four = running()
            gates["m1"].set()
            while "m5" not in running():
                await asyncio.sleep(0.01)
            for gate in gates.values():
                gate.set()
            while journal.count(("queued", "running")):
                await asyncio.sleep(0.01)
        return four

    try:
        four = asyncio.run(scenario())
    finally:
        journal.close()

    assert four == ["m1", "m2", "m3", "m4"]
    assert most_running == 4


async def record_openings(journal: Journal, numbers: range) -> None:
    """Journal a delivery opening each pull request of `numbers`, `p<number>`, oldest first."""
    for number in numbers:
        body = pull_request_body("opened", number)
        await journal.record(from_body(f"p{number}", "pull_request", body), body, handled=True)


def test_a_message_to_chat_is_sent_while_github_s_work_hangs_on_every_slot_of_its_own(
    journal_url: str,
) -> None:
    """Eight deliveries hang on GitHub, one on each slot of GitHub's work, and the first
    schedules a message to chat, due at once, as a P0 alert does: the message is claimed
    and sent while the eight still hang, on a slot set aside, and a ninth delivery stays
    queued for a slot of GitHub's work."""
    github_answers = asyncio.Event()  # never: GitHub hangs until the test ends
    chat_sent = asyncio.Event()
    statuses: dict[str, str] = {}  # the journal's, as the message is sent

    async def evaluate(context: Context) -> None:
        if context.delivery.id == "p1":
            await context.timers.schedule(
                "chat", "p0-alert", context.now(), {"text": "P0"}, own_queue=True
            )
        await github_answers.wait()

    async def post_to_chat(context: Context) -> None:
        statuses.update((entry.id, entry.status) for entry in journal.recent())
        chat_sent.set()

    router = Router()
    router.add("pull_request", ["opened"], evaluate)
    router.add(TIMER_EVENT, ["chat"], post_to_chat, aside=True)
    journal = open_journal(journal_url)
    worker = Worker(journal, router, cast(GitHubApp, OfflineGitHub()))

    async def scenario() -> None:
        await record_openings(journal, range(1, 10))
        async with working(worker), asyncio.timeout(10):
            await chat_sent.wait()

    try:
        asyncio.run(scenario())
    finally:
        journal.close()

    assert statuses == {
        **{f"p{number}": "running" for number in range(1, 9)},
        "p9": "queued",
        "chat:acme/widgets#1:p0-alert": "running",
    }


class Unheard:
    """The journal, but no wake-up comes to the worker from outside its process (PostgreSQL
    journals wake it whenever a delivery is journaled, by any instance)."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def __getattr__(self, name: str) -> Any:
        return getattr(self.journal, name)

    def listen(self, wake: Callable[[], None]) -> None:
        """Heard by nobody."""


# 8: the evaluation leaves slots of GitHub's work free; 1: it takes the only one.
@pytest.mark.parametrize("concurrency", [8, 1])
def test_a_message_to_chat_an_evaluation_sends_is_posted_while_the_evaluation_goes_on(
    journal_url: str, chat: ChatReceiver, monkeypatch: pytest.MonkeyPatch, concurrency: int
) -> None:
    """An evaluation sends its P0 alert to chat, due at once, and goes on (here it hangs on
    GitHub): the message is posted while the evaluation still runs, not at the worker's
    next look at the journal (put a minute off, past the test's 10 s). Its own process
    wakes the worker: no other instance's wake-up comes (PostgreSQL's, when it listens)."""
    monkeypatch.setattr(worker_module, "IDLE_POLL_SECONDS", 60.0)
    github_answers = asyncio.Event()  # never: GitHub hangs until the test ends
    posted = asyncio.Event()
    statuses: dict[str, str] = {}  # the journal's, once the message is posted

    async def evaluate(context: Context) -> None:
        await notices.send_to_chat(context, 1, "p0-alert", "P0 alert", None)
        await github_answers.wait()

    async def post_to_chat(context: Context) -> None:
        await notices.on_chat(context)
        statuses.update((entry.id, entry.status) for entry in journal.recent())
        posted.set()

    router = Router()
    router.add("pull_request", ["opened"], evaluate)
    router.add(TIMER_EVENT, [notices.CHAT], post_to_chat, aside=True)
    journal = open_journal(journal_url)
    worker = Worker(
        cast(Journal, Unheard(journal)),
        router,
        cast(GitHubApp, OfflineGitHub()),
        concurrency=concurrency,
        chat=ChatWebhook(SecretStr(chat.url)),
    )

    async def scenario() -> None:
        await record_openings(journal, range(1, 2))
        async with working(worker), asyncio.timeout(10):
            await posted.wait()

    try:
        asyncio.run(scenario())
    finally:
        journal.close()

    assert chat.texts() == ["acme/widgets#1\nP0 alert"]
    assert statuses == {"p1": "running", "chat:acme/widgets#1:p0-alert": "running"}


def test_deliveries_arriving_while_github_s_work_takes_every_slot_cost_no_claim_each(
    journal_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While eight deliveries hang, one on each slot of GitHub's work, with every slot set
    aside free, a hundred more arrive, each waking the worker: none costs a claim; they
    wait in the journal, and the next claim is made when a slot frees (the worker's look
    once a second put a minute off, past the test's 10 s)."""
    monkeypatch.setattr(worker_module, "IDLE_POLL_SECONDS", 60.0)
    answers = {f"p{number}": asyncio.Event() for number in range(1, 10)}
    running: set[str] = set()
    eight_run, ninth_runs = asyncio.Event(), asyncio.Event()

    async def evaluate(context: Context) -> None:
        running.add(context.delivery.id)
        if len(running) == 8:
            eight_run.set()
        if len(running) == 9:
            ninth_runs.set()
        await answers[context.delivery.id].wait()

    class CountedClaims:
        """The journal, counting the worker's claims."""

        def __init__(self, journal: Journal) -> None:
            self.journal = journal
            self.claims = 0

        def __getattr__(self, name: str) -> Any:
            return getattr(self.journal, name)

        async def claim_ready(self, limit: int, aside: Aside) -> list[JournalEntry]:
            self.claims += 1
            return await self.journal.claim_ready(limit, aside)

    router = Router()
    router.add("pull_request", ["opened"], evaluate)
    journal = open_journal(journal_url)
    counted = CountedClaims(journal)
    worker = Worker(cast(Journal, counted), router, cast(GitHubApp, OfflineGitHub()))

    async def scenario() -> tuple[int, int]:
        await record_openings(journal, range(1, 9))
        async with working(worker), asyncio.timeout(10):
            await eight_run.wait()
            before = counted.claims
            for number in range(9, 109):
                await record_openings(journal, range(number, number + 1))
                worker.wake()
            answers["p1"].set()
            await ninth_runs.wait()
            return before, counted.claims

    try:
        before, after = asyncio.run(scenario())
        queued = journal.count(("queued",))
    finally:
        journal.close()

    assert after == before + 1
    assert running == {f"p{number}" for number in range(1, 10)}
    assert queued == 99


def test_a_lock_held_elsewhere_for_too_long_sends_the_delivery_back_to_be_tried_again(
    journal_url: str,
) -> None:
    lock = "release:acme/widgets#1"
    ran: list[str] = []

    async def post_merge_run(context: Context) -> None:
        # The worker's journal, whose lock takes a wait.
        async with cast(Journal, context.locks).lock(lock, wait=0.2):
            ran.append(context.delivery.id)

    router = Router()
    router.add("pull_request", ["closed"], post_merge_run)
    journal = open_journal(journal_url)
    worker = Worker(journal, router, cast(GitHubApp, OfflineGitHub()), backoff_base=0.3)
    body = pull_request_body("closed")

    async def scenario() -> tuple[JournalEntry, JournalEntry]:
        async def entry_when(ready: Callable[[JournalEntry], bool]) -> JournalEntry:
            async with asyncio.timeout(10):
                while not (journal.recent() and ready(journal.recent()[0])):
                    await asyncio.sleep(0.02)
            return journal.recent()[0]

        async with working(worker):
            async with journal.lock(lock):  # another instance's post-merge run, stuck
                await journal.record(
                    from_body("closed-1", "pull_request", body), body, handled=True
                )
                worker.wake()
                sent_back = await entry_when(lambda entry: entry.last_error is not None)
            return sent_back, await entry_when(lambda entry: entry.status == "done")

    try:
        sent_back, done = asyncio.run(scenario())
    finally:
        journal.close()

    assert (sent_back.status, sent_back.attempts, sent_back.last_error) == (
        "queued",
        1,
        f"LockTimeout: the lock {lock} stayed held elsewhere for 0.2 s",
    )
    assert (done.status, done.attempts, ran) == ("done", 2, ["closed-1"])


def test_a_journal_refusing_a_handlers_write_sends_the_delivery_back_to_be_tried_again(
    journal_url: str,
) -> None:
    attempts: list[int] = []

    async def handler_whose_state_write_is_refused_once(context: Context) -> None:
        attempts.append(context.attempt)
        if context.attempt == 1:  # what set_state raises while the database is locked
            raise JournalUnavailable("journal write failed: database is locked")

    router = Router()
    router.add("pull_request", ["opened"], handler_whose_state_write_is_refused_once)
    journal = open_journal(journal_url)
    worker = Worker(journal, router, cast(GitHubApp, OfflineGitHub()), backoff_base=0.1)
    body = pull_request_body("opened")

    async def scenario() -> list[JournalEntry]:
        seen: list[JournalEntry] = []
        async with working(worker):
            await journal.record(from_body("opened-1", "pull_request", body), body, handled=True)
            worker.wake()
            async with asyncio.timeout(10):
                while not (seen and seen[-1].status in ("done", "failed")):
                    await asyncio.sleep(0.01)
                    entry = journal.recent()[0]
                    if not seen or entry != seen[-1]:
                        seen.append(entry)
            return seen

    try:
        seen = asyncio.run(scenario())
    finally:
        journal.close()

    sent_back = next(entry for entry in seen if entry.last_error is not None)
    assert (sent_back.status, sent_back.attempts, sent_back.last_error) == (
        "queued",
        1,
        "JournalUnavailable: journal write failed: database is locked",
    )
    assert (seen[-1].status, seen[-1].attempts, attempts) == ("done", 2, [1, 2])


def test_an_error_that_may_pass_is_tried_max_attempts_times_the_last_one_told_so(
    journal_url: str,
) -> None:
    """The handler knows its last attempt (it then shows the commands to finish by hand);
    after it, the delivery fails rather than being tried again."""
    attempts: list[tuple[int, bool]] = []

    async def handler_that_never_gets_through(context: Context) -> None:
        attempts.append((context.attempt, context.last_attempt))
        raise JournalUnavailable("journal write failed: database is locked")

    router = Router()
    router.add("pull_request", ["opened"], handler_that_never_gets_through)
    journal = open_journal(journal_url)
    github = cast(GitHubApp, OfflineGitHub())
    worker = Worker(journal, router, github, max_attempts=3, backoff_base=0.05)
    body = pull_request_body("opened")

    async def scenario() -> JournalEntry:
        async with working(worker):
            await journal.record(from_body("opened-1", "pull_request", body), body, handled=True)
            worker.wake()
            async with asyncio.timeout(10):
                while journal.recent()[0].status != "failed":
                    await asyncio.sleep(0.01)
            await asyncio.sleep(0.3)  # time enough for one more attempt, were it made
            return journal.recent()[0]

    try:
        failed = asyncio.run(scenario())
    finally:
        journal.close()

    assert (failed.status, failed.attempts, failed.last_error) == (
        "failed",
        3,
        "JournalUnavailable: journal write failed: database is locked",
    )
    assert attempts == [(1, False), (2, False), (3, True)]


def test_a_rate_limit_whose_reset_has_passed_backs_off_rather_than_retrying_at_once(
    bot: Bot,
) -> None:
    """The reset GitHub names may be behind this machine's clock: a wait of nothing, taken as
    it is, would spend every attempt within milliseconds."""
    pull = bot.open_hotfix()
    passed = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(time.time()) - 2)}
    bot.fake.inject("GET", rf"/pulls/{pull.number}$", status=403, times=2, headers=passed)

    bot.pull_request(pull.number, "opened")

    gaps = gaps_between_attempts(bot, pull, 3)
    assert gaps[0] >= 0.75 and gaps[1] >= 1.5, gaps


@dataclass(frozen=True)
class TwoOrganizations:
    """The fake GitHub, served, with the App installed on acme and on globex, where every
    request to globex's repository hangs (until the client gives up)."""

    fake: FakeGitHub
    base_url: str
    app_id: int


@pytest.fixture
def globex_hangs(private_key_pem: str) -> Iterator[TwoOrganizations]:
    fake = FakeGitHub()
    app_id = fake.create_app(private_key_pem=private_key_pem).id
    for account, repository in (("acme", "acme/widgets"), ("globex", "globex/gadgets")):
        fake.add_repo(repository, fake.add_installation(app_id, account=account))
    fake.inject("GET", r"^/repos/globex/", hang=True, times=None)
    with serve_fake(fake) as base_url:
        yield TwoOrganizations(fake, base_url, app_id)


async def read_the_repository(context: Context) -> None:
    await context.github.get_json(f"/repos/{context.repository}")


def statuses_once_worked(
    journal_url: str,
    world: TwoOrganizations,
    private_key_pem: str,
    queued: list[tuple[str, str, int]],
    worked: Callable[[Journal], bool],
    timers: tuple[Timer, ...] = (),
) -> dict[str, str]:
    """The status of each delivery once `worked` says so (or after 10 s), of a worker of 3
    slots started on a journal that holds the `queued` deliveries (id, repository, pull
    request) opening pull requests, oldest first, and the `timers`; their handler reads the
    repository from GitHub."""
    router = Router()
    router.add("pull_request", ["opened"], read_the_repository)
    router.add(TIMER_EVENT, ["escalation"], read_the_repository)
    journal = open_journal(journal_url)

    async def scenario() -> dict[str, str]:
        for delivery_id, repository, number in queued:
            body = json.dumps(
                {
                    "action": "opened",
                    "installation": {"id": world.fake.repo(repository).installation_id},
                    "repository": {"full_name": repository},
                    "pull_request": {"number": number},
                }
            ).encode()
            await journal.record(from_body(delivery_id, "pull_request", body), body, handled=True)
        for timer in timers:
            await journal.schedule_timer(timer)
        github = GitHubApp(world.app_id, private_key_pem, world.base_url)
        try:
            async with working(Worker(journal, router, github, concurrency=3)):
                with contextlib.suppress(TimeoutError):  # the statuses tell what did not run
                    async with asyncio.timeout(10):
                        while not worked(journal):
                            await asyncio.sleep(0.02)
                return {entry.id: entry.status for entry in journal.recent()}
        finally:
            await github.aclose()

    try:
        return asyncio.run(scenario())
    finally:
        journal.close()


def test_an_installation_whose_github_hangs_leaves_slots_to_another(
    journal_url: str, globex_hangs: TwoOrganizations, private_key_pem: str
) -> None:
    """globex's three deliveries were queued first, enough for every slot, and each would
    hold its slot for as long as a request may wait (30 s); acme's delivery and its
    incident clock's timer run meanwhile."""
    acme = globex_hangs.fake.repo("acme/widgets").installation_id
    due = time.time()  # the journal's clock
    clock = Timer("escalation:acme/widgets#7:P0:15m", "escalation", acme, "acme/widgets", 7, due)
    globex = [(f"g{number}", "globex/gadgets", number) for number in (1, 2, 3)]

    def acme_done(journal: Journal) -> bool:
        done = {entry.id for entry in journal.recent("done")}
        return {"a1", clock.id} <= done

    statuses = statuses_once_worked(
        journal_url,
        globex_hangs,
        private_key_pem,
        [*globex, ("a1", "acme/widgets", 1)],
        acme_done,
        (clock,),
    )

    # g3 waits for a slot, or has just taken the one acme's timer left.
    assert statuses.pop("g3") in ("queued", "running")
    assert statuses == {"g1": "running", "g2": "running", "a1": "done", clock.id: "done"}


def test_an_installation_alone_with_work_takes_every_slot(
    journal_url: str, globex_hangs: TwoOrganizations, private_key_pem: str
) -> None:
    globex = [(f"g{number}", "globex/gadgets", number) for number in (1, 2, 3, 4)]

    def three_hang(_: Journal) -> bool:
        return len(globex_hangs.fake.requests_to("GET", "/repos/globex/gadgets")) == 3

    statuses = statuses_once_worked(journal_url, globex_hangs, private_key_pem, globex, three_hang)

    assert statuses == {"g1": "running", "g2": "running", "g3": "running", "g4": "queued"}


DUE = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)


def next_chance(late_by: timedelta, transience: Transience) -> float | None:
    """`timer_retry_delay` of an escalation timer due at DUE, failing `late_by` after it."""
    timer = FiredTimer("escalation:acme/widgets#1:P0:15m", "escalation", 1, DUE, DUE, DUE, {})
    return timer_retry_delay(timer, transience, (DUE + late_by).timestamp())


def test_a_timer_whose_attempts_ran_out_runs_again_as_late_again_at_least_15_minutes() -> None:
    outage = Transience(transient=True)  # a 502: attempts ran out
    asked_a_minute = Transience(transient=True, wait=60.0)  # a wait short enough to take

    assert next_chance(timedelta(minutes=2), outage) == 15 * 60
    assert next_chance(timedelta(minutes=2), asked_a_minute) == 15 * 60
    assert next_chance(timedelta(hours=3), outage) == 3 * 3600
    # The last chance comes 24 hours after it was due, and none after.
    assert next_chance(timedelta(hours=12), outage) == 12 * 3600
    assert next_chance(timedelta(hours=12, seconds=1), outage) is None


def test_a_timer_told_to_wait_long_runs_again_when_github_said() -> None:
    two_hours = Transience(transient=True, wait=2 * 3600.0, rate_limited=True)

    assert next_chance(timedelta(minutes=2), two_hours) == 2 * 3600
    assert next_chance(timedelta(hours=22), two_hours) == 2 * 3600
    assert next_chance(timedelta(hours=22, seconds=1), two_hours) is None


def test_a_worker_starting_says_how_many_deliveries_it_resumes_in_words_that_agree(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """One delivery left running by a stopped server: `1 delivery`, not `1 deliveries`."""
    journal = open_journal(f"sqlite:///{tmp_path / 'journal.db'}")
    body = pull_request_body("synchronize")
    asyncio.run(journal.record(from_body("d-1", "pull_request", body), body, handled=True))
    asyncio.run(journal.claim_ready(1))  # then the server stopped
    worker = Worker(journal, Router(), None)  # no credentials: resumes, runs nothing

    async def start() -> None:
        async with working(worker), asyncio.timeout(10):
            while not caplog.records:
                await asyncio.sleep(0.01)

    try:
        with caplog.at_level(logging.INFO, logger="hotfix_bot.worker"):
            asyncio.run(start())
    finally:
        journal.close()
    assert [record.getMessage() for record in caplog.records] == [
        "resuming 1 delivery interrupted by a restart"
    ]
