"""The worker: runs journaled deliveries in the background, retries what may pass, resumes.

Ordering and retries live in the journal (see `Journal.claim_ready`), so a restart picks up
exactly where the last process stopped, and a delivery waiting out a rate limit holds no
worker slot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from githubkit.exception import RequestFailed

from app.chat import ChatWebhook
from app.github.client import (
    AppCredentialsRefused,
    GitHubApp,
    InstallationUnavailable,
    Transience,
    describe,
    describe_with_wait,
    says_suspended,
)
from app.handlers.routing import (
    Context,
    GitHubRefused,
    Router,
    TokenGranted,
    names_its_place,
    transience_of,
)
from app.intake import delivery as deliveries
from app.journal import Aside, Journal, JournalEntry, JournalUnavailable
from app.journal.timers import TIMER_EVENT, FiredTimer, Timers
from app.logs import ContextLogger, for_delivery
from app.metrics import DELIVERIES, PROCESSING_SECONDS
from policies.wording import duration_words, plural

log = logging.getLogger("hotfix_bot.worker")
T = TypeVar("T")

# Deliveries whose handlers wait on something other than GitHub (a message to chat, `Router.add`'s
# `aside`) run this many at a time, beside the slots of GitHub's work; the journal leaves the
# rest queued until one of these is free (`Aside`).
ASIDE_CONCURRENCY = 4
# How often the journal is looked at with nothing else waking the worker: picks up
# `hotfix-bot redeliver` from another process.
IDLE_POLL_SECONDS = 1.0
# While deliveries wait in the journal, the wake-ups of this long share one claim.
CLAIM_GAP_SECONDS = 0.02
# The pause before the journal is tried again after it refused a write.
JOURNAL_RETRY_SECONDS = 1.0
# How long an outcome waits for the journal to come back (locked, disk full), in tries.
OUTCOME_WRITE_TRIES = 60
# A timer whose attempts ran out gets its next chance this long after at the soonest
# (`timer_retry_delay`), and none later than this long after it was due.
TIMER_RETRY_AT_LEAST = 15 * 60.0
TIMER_RETRY_FOR = 24 * 3600.0
# A timer whose installation is suspended is held until it is unsuspended (`installation`
# `unsuspend` releases it), however late; should that delivery never come, it is looked at
# again this long after, one token request a day rather than a retry every few minutes: a
# token granted then stands for the unsuspension (`Router.on_granted`).
SUSPENDED_RECHECK_SECONDS = 24 * 3600.0


class Worker:
    def __init__(
        self,
        journal: Journal,
        router: Router,
        github: GitHubApp | None,
        *,
        concurrency: int = 8,
        max_attempts: int = 8,
        backoff_base: float = 1.0,
        backoff_cap: float = 300.0,
        chat: ChatWebhook | None = None,
    ) -> None:
        self._journal = journal
        self._up_since = journal.now()
        self._router = router
        self._github = github
        self._chat = chat
        self._slots = asyncio.Semaphore(concurrency)
        self._concurrency = concurrency
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._wake = asyncio.Event()
        self._slot_freed = asyncio.Event()
        self._running: set[asyncio.Task[None]] = set()
        self._running_aside: set[asyncio.Task[None]] = set()
        # The event `_sleep_until_due` waits on, and when on the journal's clock that wait
        # ends, while it lasts: a timer kept meanwhile, due sooner, ends it (`_timer_kept`).
        self._asleep: tuple[asyncio.Event, float] | None = None

    def wake(self) -> None:
        """Something new is in the journal."""
        self._wake.set()

    def problem(self) -> str | None:
        """Why deliveries cannot run now, for the status page: on this event loop, never."""
        return None

    def attach(self, github: GitHubApp) -> None:
        """Credentials arrived (setup finished) after the worker started."""
        self._github = github
        self.wake()

    async def run(self) -> None:
        resumed = False
        # Deliveries journaled by other instances (PostgreSQL) wake this worker too.
        self._journal.listen(self.wake)
        try:
            while True:
                try:
                    if not resumed:
                        await self._resume_interrupted()
                        resumed = True
                    # Cleared before the claim, not after: what arrives while it runs
                    # must wake the wait below.
                    self._wake.clear()
                    await self._dispatch_ready()
                    await self._sleep_until_due()  # which reads the journal too
                except JournalUnavailable as error:
                    # Locked by another process, out of disk, its database restarting: what
                    # is queued stays queued, and the worker must outlive the outage rather
                    # than die with it.
                    log.error(
                        "the journal cannot take writes, trying again in %.0f s: %s",
                        JOURNAL_RETRY_SECONDS,
                        error,
                    )
                    await asyncio.sleep(JOURNAL_RETRY_SECONDS)
        finally:
            tasks = self._running | self._running_aside
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    @staticmethod
    async def _recorded(write: Callable[[], Awaitable[T]], logger: ContextLogger) -> T:
        """Record a delivery's outcome, waiting out a journal outage (bounded): a row left
        running would hold back every later delivery of its pull request until a restart."""
        for _ in range(OUTCOME_WRITE_TRIES - 1):
            try:
                return await write()
            except JournalUnavailable as error:
                logger.error("could not record the outcome, trying again: %s", error)
                await asyncio.sleep(JOURNAL_RETRY_SECONDS)
        return await write()

    async def _resume_interrupted(self) -> None:
        resumed = await self._journal.resume_interrupted()
        if resumed:
            log.info(
                "resuming %s interrupted by a restart", plural(resumed, "delivery", "deliveries")
            )

    def _aside(self) -> Aside:
        """The deliveries that run on the slots set aside, and how many of those are free."""
        return Aside(self._router.aside_routes, ASIDE_CONCURRENCY - len(self._running_aside))

    async def _dispatch_ready(self) -> None:
        free = self._concurrency - len(self._running)
        aside = self._aside()
        if self._github is None or (free <= 0 and aside.room <= 0):
            return
        for entry in await self._journal.claim_ready(free, aside):
            name = f"delivery-{entry.id}"
            if aside.holds(entry.event, entry.action):
                # Claimed with a slot of its own free: however long chat hangs, the slots of
                # GitHub's work stay free.
                task = asyncio.create_task(self._run_entry(entry), name=name)
                self._running_aside.add(task)
                task.add_done_callback(self._done_aside)
                continue
            await self._slots.acquire()
            task = asyncio.create_task(self._run_entry(entry), name=name)
            self._running.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._slots.release()
        self._freed()

    def _done_aside(self, task: asyncio.Task[None]) -> None:
        self._running_aside.discard(task)
        self._freed()

    def _freed(self) -> None:
        """A slot is free: claim again."""
        self._slot_freed.set()
        self._wake.set()

    def _timer_kept(self, due: float) -> None:
        """A running handler kept a timer: one due before the worker's wait ends ends it, so
        that the next claim fires it when due (a message to chat, due now, from an evaluation
        that goes on) rather than at the look once a second. Whichever event the wait is
        on: with GitHub's slots all taken, the slot set aside it may take is free."""
        if self._asleep is not None and due < self._asleep[1]:
            self._asleep[0].set()

    async def _sleep_until_due(self) -> None:
        github_work = len(self._running) < self._concurrency
        aside = self._aside()
        woken = self._wake
        if not github_work:
            # Every slot of GitHub's work is taken: what arrives meanwhile (the intake's
            # deliveries are all GitHub's work) waits in the journal for the next free slot,
            # so a burst wakes no claim nor read: only a slot freeing ends the wait, or,
            # with a slot set aside free, what may take it coming due (a message to chat,
            # a timer) or the look once a second. Cleared before any await: a slot freed
            # from here on is not missed.
            self._slot_freed.clear()
            woken = self._slot_freed
            if aside.room <= 0:
                await woken.wait()
                return
        # Without credentials nothing is claimed, so what is due would stay due: wait to be
        # woken (credentials arriving) rather than spin.
        # A head whose kind of slot has none free is not due yet.
        due = (
            self._journal.next_due(aside, github_work=github_work)
            if self._github is not None
            else None
        )
        now = self._journal.now()
        timeout = IDLE_POLL_SECONDS if due is None else min(max(due - now, 0.0), 1.0)
        # Set before any await: `next_due` read the timers kept until now.
        self._asleep = (woken, now + timeout)
        try:
            if due is not None:
                # Deliveries wait in the journal (a burst settling, a retry), and what arrives
                # most likely joins them: the wake-ups of a short gap are taken by one claim,
                # rather than a claim each holding the journal's write turn.
                gap = min(timeout, CLAIM_GAP_SECONDS)
                await asyncio.sleep(gap)
                timeout -= gap
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a
            # cancellation that arrives as the event is set, and shutdown would then wait
            # forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await woken.wait()
        finally:
            self._asleep = None

    async def _run_entry(self, entry: JournalEntry) -> None:
        assert self._github is not None and entry.payload is not None
        # Named from the journal's columns: the body may yet prove unreadable.
        delivery = deliveries.Delivery(
            entry.id,
            entry.event,
            entry.action,
            entry.installation_id,
            entry.repository,
            entry.pr_number,
            payload={},
        )
        logger = for_delivery(log, delivery)
        started = time.perf_counter()
        timer: FiredTimer | None = None
        try:
            delivery = deliveries.from_payload(
                entry.id, entry.event, deliveries.parse(entry.payload)
            )
            if delivery.installation_id is None or not names_its_place(delivery):
                raise ValueError("the delivery names no installation or repository")
            if delivery.event == TIMER_EVENT:
                timer = FiredTimer.of(delivery)
                logger.info(
                    "timer %s due %s UTC fired %s",
                    timer.id,
                    f"{timer.due_at:%Y-%m-%d %H:%M:%S}",
                    timer.lateness(datetime.fromtimestamp(self._journal.now(), UTC)),
                )
            # An installation's own delivery names no repository.
            repository = delivery.repository or ""
            if not self._router.needs_github(delivery):
                # Its handlers keep what it says in the journal (an installation's
                # suspension): no token, which GitHub would refuse a suspended installation.
                github = self._github.without_token(delivery.installation_id)
            else:
                asked_at = self._journal.now()
                github = await self._github.installation(
                    delivery.installation_id, covering=delivery.repository
                )
                if github.minted:
                    grant = TokenGranted(github.installation_id, asked_at, delivery, logger)
                    await self._token_granted(grant)
            if github.installation_id != delivery.installation_id:
                # The App was installed again on the account: the repository's clock goes on.
                moved = await self._journal.move_timers(repository, github.installation_id)
                logger.info(
                    "installation %d is gone; installation %d covers %s now: %d of its "
                    "scheduled timers moved to it",
                    delivery.installation_id,
                    github.installation_id,
                    repository,
                    moved,
                )
            attempt = entry.attempts + 1
            context = Context(
                github,
                repository,
                delivery,
                self._journal,
                logger,
                Timers(
                    self._journal,
                    github.installation_id,
                    repository,
                    delivery.pr_number,
                    kept=self._timer_kept,
                ),
                self._journal,
                clock=self._journal.now,
                attempt=attempt,
                last_attempt=attempt >= self._max_attempts,
                chat=self._chat,
                up_since=self._up_since,
            )
            async with github.session():
                for handler in self._router.handlers_for(delivery):
                    await handler(context)
        except asyncio.CancelledError:
            raise  # shutting down: the journal still says running, so a restart resumes it
        except Exception as error:
            await self._handle_failure(entry, error, logger, timer)
        else:
            await self._recorded(lambda: self._journal.finish(entry.id), logger)
            DELIVERIES.labels(event=delivery.event, outcome="done").inc()
            logger.info("processed in attempt %d", entry.attempts + 1)
        finally:
            PROCESSING_SECONDS.labels(event=delivery.event).observe(time.perf_counter() - started)

    async def _token_granted(self, grant: TokenGranted) -> None:
        """Have the router's hook look at a token GitHub minted (a suspension it was refused
        for is over, though its `unsuspend` never came), waiting out a journal outage as an
        outcome does: the next attempt finds the token cached, and would not look again.
        What the hook queued is claimed at once."""
        if await self._recorded(lambda: self._router.granted(self._journal, grant), grant.log):
            self.wake()

    async def _handle_failure(
        self,
        entry: JournalEntry,
        error: Exception,
        logger: ContextLogger,
        timer: FiredTimer | None,
    ) -> None:
        now = self._journal.now()
        transience = transience_of(error, now)
        attempt = entry.attempts + 1
        # A token GitHub refused, or one it took before the installation was suspended: the
        # next attempt mints another (refused, if suspended, as `InstallationSuspended`).
        token_refused = says_suspended(error) or (
            isinstance(error, RequestFailed) and error.response.status_code == 401
        )
        if token_refused and self._github is not None and entry.installation_id is not None:
            self._github.forget_token(entry.installation_id)
        if says_suspended(error) and entry.installation_id is not None:
            # Kept by the handlers' hook (`Router.on_suspended`): its unsuspension runs the
            # post-merge steps of the hotfixes merged since.
            installation_id = entry.installation_id
            await self._recorded(
                lambda: self._router.suspended(self._journal, installation_id, now), logger
            )
        if transience.retriable and attempt < self._max_attempts:
            reason = describe(error)
            # GitHub's wait when it names one ahead; a reset or date already past (clocks
            # apart) backs off instead, or every attempt would be spent in milliseconds.
            delay = transience.wait if transience.wait else self._backoff(attempt)
            await self._recorded(lambda: self._journal.retry_later(entry.id, reason, delay), logger)
            DELIVERIES.labels(event=entry.event, outcome="retried").inc()
            logger.warning("attempt %d failed, retrying in %.1fs: %s", attempt, delay, reason)
            return
        # A wait too long to take in line fails the delivery too: a retry hours ahead would
        # hold back every later delivery of its pull request. The handler has shown the time
        # on its check run; a re-run, or the next delivery, goes on from there. A timer has
        # neither (nothing on GitHub shows it, nothing comes after it), so the journal keeps
        # it for its next chance, as one whose attempts ran out; a refusal still fails it,
        # but for the App's credentials refused: an admin sets those right (a key rotated on
        # GitHub before it was deployed), and the clock's reminders are then still owed.
        reason = describe_with_wait(error, now)
        if timer is not None and says_suspended(error):
            held = f"{reason}; held until it is unsuspended"
            await self._retry_timer_later(entry, held, SUSPENDED_RECHECK_SECONDS, logger)
            return
        if timer is not None and (transience.transient or isinstance(error, AppCredentialsRefused)):
            next_chance = timer_retry_delay(timer, transience, now)
            if next_chance is not None:
                await self._retry_timer_later(entry, reason, next_chance, logger)
                return
        await self._recorded(lambda: self._journal.fail(entry.id, reason), logger)
        DELIVERIES.labels(event=entry.event, outcome="failed").inc()
        # A permanent error that is not GitHub's answer is a bug: keep its traceback.
        logger.error(
            "failed after %s: %s",
            plural(attempt, "attempt"),
            reason,
            exc_info=not isinstance(
                error,
                RequestFailed | GitHubRefused | InstallationUnavailable | deliveries.NotAJsonObject,
            )
            and not transience.transient,
        )

    async def _retry_timer_later(
        self, entry: JournalEntry, reason: str, delay: float, logger: ContextLogger
    ) -> None:
        await self._recorded(
            lambda: self._journal.retry_timer_later(entry.id, reason, delay), logger
        )
        DELIVERIES.labels(event=entry.event, outcome="retried").inc()
        logger.warning(
            "attempt %d failed, the timer runs again in %s: %s",
            entry.attempts + 1,
            duration_words(timedelta(seconds=delay)),
            reason,
        )

    def _backoff(self, attempt: int) -> float:
        # Exponential with jitter, so retries of a burst do not arrive together.
        ceiling = min(self._backoff_base * 2.0 ** (attempt - 1), self._backoff_cap)
        return ceiling * random.uniform(0.8, 1.0)


def timer_retry_delay(timer: FiredTimer, transience: Transience, now: float) -> float | None:
    """How long from `now` until the next chance of a timer whose run could not finish on an
    error that may pass: the wait GitHub asked for, when that was too long to take in line;
    else (its attempts ran out) as long again as it is late already, at least
    `TIMER_RETRY_AT_LEAST`, so that a lasting outage costs it a few runs, not one every few
    minutes. None when that chance would come more than `TIMER_RETRY_FOR` after it was due:
    the delivery then fails as any other does."""
    late_by = timer.late_by(datetime.fromtimestamp(now, UTC)).total_seconds()
    asked = None if transience.retriable else transience.wait
    delay = asked if asked is not None else max(TIMER_RETRY_AT_LEAST, late_by)
    return delay if late_by + delay <= TIMER_RETRY_FOR else None
