"""Routing: (event, action) and the delivery's named fields -> handlers, and the context a
handler gets."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from app.chat import ChatUndelivered, ChatWebhook
from app.github.client import InstallationClient, Transience, classify
from app.intake.delivery import Delivery
from app.journal.base import JournalUnavailable, MovedRepository, RecordOutcome, RepositoryMove
from app.journal.timers import TIMER_EVENT, Timers
from app.logs import ContextLogger


class StateReader(Protocol):
    """What handlers kept between deliveries, read: small values by key, in the journal."""

    async def get_state(self, key: str) -> str | None: ...


class StateStore(StateReader, Protocol):
    """What a handler may keep between deliveries: small values by key, in the journal."""

    # `durable`: kept through a power loss too, before it returns.
    async def set_state(self, key: str, value: str, *, durable: bool = False) -> None: ...
    # A repository renamed or transferred: its keys, and its timers and queued deliveries
    # with them, kept under its new name (app/handlers/repository.py).
    async def move_repository(self, move: RepositoryMove) -> MovedRepository: ...


class Locks(Protocol):
    """Locks shared by every process and instance running deliveries from one journal.
    Deliveries of one pull request run one at a time, but some work is queued under other
    keys (a re-run under its commit, a merge group, a push, a timer in a queue of its own):
    what two of them must not do at once (look, then create) is done holding a lock named
    after it. A lock held elsewhere for too long raises a TimeoutError, and the delivery is
    tried again later."""

    def lock(self, name: str) -> AbstractAsyncContextManager[None]: ...


@dataclass(frozen=True, slots=True)
class Context:
    """What a handler works with: its installation's client, the repository, the delivery."""

    github: InstallationClient
    repository: str
    delivery: Delivery
    state: StateStore
    log: ContextLogger
    timers: Timers  # what it asks to happen later (app/timers.py)
    locks: Locks  # what it does once however many instances run (the journal's locks)
    # Seconds since the epoch; the worker passes the journal's, which tests can set.
    clock: Callable[[], float] = time.time
    # The worker retries what may pass; on the last attempt a handler reports instead.
    attempt: int = 1
    last_attempt: bool = True
    chat: ChatWebhook | None = None  # where notices also go (NOTIFY_WEBHOOK_URL), if anywhere
    # When the worker started, on `clock`: a timer due before then, and fired late, came due
    # while hotfix-bot was down (app.handlers.notices).
    up_since: float = 0.0

    @property
    def payload(self) -> dict[str, Any]:
        return self.delivery.payload

    @property
    def owner(self) -> str:
        return self.repository.split("/", 1)[0]

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)


class GitHubRefused(Exception):
    """A handler's failure that is GitHub refusing what it was asked, told in full by the
    message (what GitHub answered): no fault of hotfix-bot's own, so the worker logs it
    without a traceback, as it logs GitHub's answers themselves."""


def transience_of(error: BaseException, now: float) -> Transience:
    """Whether a handler's `error` may pass, as the worker judges it: GitHub's as `classify`
    says; the journal refusing a handler's write or read (locked, disk full, a database
    failing over) always, as GitHub's outages do; chat's always, after the wait it asked for
    if it named one."""
    if isinstance(error, ChatUndelivered):
        return Transience(True, error.wait)
    return Transience(True) if isinstance(error, JournalUnavailable) else classify(error, now)


# An installation's own deliveries: about all of it, they name no repository.
INSTALLATION_EVENT = "installation"
# GitHub sends these to every App, whatever events it subscribes to: no manifest names them.
SENT_TO_EVERY_APP = frozenset({INSTALLATION_EVENT})


def names_its_place(delivery: Delivery) -> bool:
    """Whether a delivery names where its work is done: its installation, and its repository
    unless it is an installation's own delivery."""
    return delivery.installation_id is not None and (
        delivery.repository is not None or delivery.event == INSTALLATION_EVENT
    )


Handler = Callable[[Context], Awaitable[None]]
# What a delivery that met its installation's suspension (GitHub refused its token at a time,
# in seconds since the epoch) keeps in the state store: `Router.on_suspended`.
SuspensionHook = Callable[[StateStore, int, float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class TokenGranted:
    """GitHub minted an installation's token for a delivery's run (`Router.on_granted`):
    that installation is not suspended."""

    installation_id: int  # the delivery's, or the one that covers its repository now
    at: float  # when the token was asked for, in seconds since the epoch
    delivery: Delivery  # whose run asked for it
    log: ContextLogger  # that delivery's


class DeliveryQueue(StateReader, Protocol):
    """The journal as the grant hook sees it (`Router.on_granted`): what handlers kept, read,
    and a delivery of hotfix-bot's own queued there, to run as GitHub's do."""

    async def record(self, delivery: Delivery, body: bytes, *, handled: bool) -> RecordOutcome: ...


# What a token GitHub granted means, looked at in the journal: whether the hook queued work there.
GrantHook = Callable[[DeliveryQueue, TokenGranted], Awaitable[bool]]
# Whether the handler acts on a delivery (say, a `closed` that merged), from its named fields:
# the intake and the worker see the same ones.
Condition = Callable[[Delivery], bool]


def always(_: Delivery) -> bool:
    return True


@dataclass
class Router:
    _routes: dict[tuple[str, str | None], list[tuple[Handler, Condition]]] = field(
        default_factory=dict
    )
    _supersedable: set[Handler] = field(default_factory=set)
    _aside: set[tuple[str, str | None]] = field(default_factory=set)
    _without_github: set[Handler] = field(default_factory=set)
    _internal: set[tuple[str, str | None]] = field(default_factory=set)
    _suspension_hook: SuspensionHook | None = None
    _grant_hook: GrantHook | None = None

    def add(
        self,
        event: str,
        actions: Iterable[str] | None,
        handler: Handler,
        *,
        supersedable: bool = False,
        aside: bool = False,
        without_github: bool = False,
        internal: bool = False,
        when: Condition = always,
    ) -> None:
        """Route `event` with any of `actions` (None: every action) to `handler`, for the
        deliveries `when` accepts.

        `supersedable`: the handler acts on the current state of the pull request, not on
        the delivery, so a later delivery for the same pull request makes it redundant.
        `aside`: the handler waits on something other than GitHub (chat), which may hang
        for as long as its timeout: the worker runs it on slots of its own, so that it
        never holds up GitHub's work (`aside_routes`).
        `without_github`: the handler acts on the journal alone, so its delivery runs
        without an installation token (`needs_github`): one GitHub refuses to a suspended
        installation must not stop it.
        `internal`: hotfix-bot queues these deliveries itself, as the journal does a fired
        timer's (every `timer` route is internal): GitHub sends none, so the intake takes
        none from outside (`handles`).
        """
        for action in actions if actions is not None else [None]:
            self._routes.setdefault((event, action), []).append((handler, when))
            if aside:
                self._aside.add((event, action))
            if internal or event == TIMER_EVENT:
                self._internal.add((event, action))
        if supersedable:
            self._supersedable.add(handler)
        if without_github:
            self._without_github.add(handler)

    def on_suspended(self, hook: SuspensionHook) -> None:
        """Have `hook` keep that a delivery met its installation's suspension (`suspended`):
        the worker meets it, whatever the delivery's handlers, but what it means is theirs."""
        self._suspension_hook = hook

    async def suspended(self, state: StateStore, installation_id: int, at: float) -> None:
        """GitHub refused a delivery's request at `at` for its installation's suspension:
        `on_suspended`'s hook keeps it, if one is set. Run again whole should the journal
        refuse its write."""
        if self._suspension_hook is not None:
            await self._suspension_hook(state, installation_id, at)

    def on_granted(self, hook: GrantHook) -> None:
        """Have `hook` look at what a token GitHub granted means (`granted`): the worker
        meets each token minted, whatever the delivery's handlers, but what it means is
        theirs."""
        self._grant_hook = hook

    async def granted(self, journal: DeliveryQueue, grant: TokenGranted) -> bool:
        """GitHub minted a token for a delivery's run (once an hour or so per installation,
        not for each delivery): `on_granted`'s hook looks at it, if one is set; whether it
        queued work in `journal`. Run again whole should the journal refuse its write."""
        return self._grant_hook is not None and await self._grant_hook(journal, grant)

    @property
    def aside_routes(self) -> frozenset[tuple[str, str | None]]:
        """The (event, action) of the deliveries that run on the worker's slots set aside
        (`add`'s `aside`; None: every action), as the journal's claim tells them from the
        others (`app.journal.base.Aside`), before any payload is read."""
        return frozenset(self._aside)

    def supersedable(self, delivery: Delivery) -> bool:
        handlers = self.handlers_for(delivery)
        return bool(handlers) and all(handler in self._supersedable for handler in handlers)

    def needs_github(self, delivery: Delivery) -> bool:
        """Whether a handler of `delivery` asks GitHub anything: the worker then mints the
        installation's token before running them."""
        return any(handler not in self._without_github for handler in self.handlers_for(delivery))

    def handlers_for(self, delivery: Delivery) -> list[Handler]:
        routes = list(self._routes.get((delivery.event, delivery.action), []))
        if delivery.action is not None:  # an event without actions (push) has only these
            routes += self._routes.get((delivery.event, None), [])
        return [handler for handler, when in routes if when(delivery)]

    def handles(self, delivery: Delivery) -> bool:
        """Whether the intake queues `delivery`: never one of hotfix-bot's own (`add`'s
        `internal`: a fired timer, from the journal alone, app/timers.py), whoever signed
        it."""
        own = {(delivery.event, delivery.action), (delivery.event, None)} & self._internal
        return not own and bool(self.handlers_for(delivery))

    @property
    def events(self) -> set[str]:
        """The GitHub events routed that the App subscribes to: not hotfix-bot's own, nor
        those GitHub sends every App."""
        return {
            event
            for event, action in self._routes
            if (event, action) not in self._internal and event not in SENT_TO_EVERY_APP
        }
