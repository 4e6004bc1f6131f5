"""hotfix-bot running in process against the fake GitHub served on loopback.

Every request the app sends is checked against GitHub's OpenAPI description; a test that
makes an invalid request fails when its `bot` fixture is torn down.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import httpx
from starlette.applications import Starlette
from starlette.testclient import TestClient

from app.chat import CHAT_TIMEOUT
from app.github.client import TIMEOUTS, GitHubApp, Timeouts
from app.handlers.routing import Context, Handler
from app.intake.delivery import from_payload
from app.intake.server import create_app
from app.journal import Journal, JournalEntry, open_journal
from app.journal.base import waiting_queue
from app.journal.timers import Timers
from app.logs import for_delivery
from app.services import Services
from sandbox import (
    FakeCheckRun,
    FakeGitHub,
    FakePull,
    FakeRepo,
    RecordedRequest,
    serve_fake,
)
from sandbox.git import blob_sha, subtree, tree_sha
from sandbox.repo import Role
from sandbox.webhooks import answered, post_delivery, wait_until_settled
from support.live_server import wait_for
from support.openapi import OpenAPIValidator
from support.webhooks import WEBHOOK_SECRET, make_settings

WEBHOOK_PATH = "/api/github/webhooks"
_delivery_ids = itertools.count(1)


@dataclass(frozen=True)
class Span:
    method: str
    path: str
    started: float
    ended: float


class TracingTransport(httpx.AsyncBaseTransport):
    """Records when each request to GitHub started and ended, as the app saw it."""

    def __init__(self, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self._inner = inner or httpx.AsyncHTTPTransport()
        self.spans: list[Span] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        response = await self._inner.handle_async_request(request)
        await response.aread()
        self.spans.append(Span(request.method, request.url.path, started, time.perf_counter()))
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def sequential_round_trips(spans: list[Span]) -> int:
    """The longest chain of requests where each starts only after the previous one ended."""
    ordered = sorted(spans, key=lambda span: span.started)
    depths: list[int] = []
    for span in ordered:
        earlier = (
            d for other, d in zip(ordered, depths, strict=False) if other.ended <= span.started
        )
        depths.append(1 + max(earlier, default=0))
    return max(depths, default=0)


class Clock:
    """A clock for the journal that stands still until a test moves `now` (seconds since the
    epoch), so that waits of hours cost no time."""

    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def moment(self) -> datetime:
        """`now` as a date, as the fake GitHub keeps its times."""
        return datetime.fromtimestamp(self.now, UTC)


# acme's teams for a P0's approval groups, Engineering Lead and On-call Manager (`staff`).
ACME_TEAMS = {"engineering-leads": ["lead"], "on-call-managers": ["lena", "oncall"]}
REFUSAL = "Resource not accessible by integration"  # GitHub's words for a missing permission


def approvals_row(bot: Bot, pull: FakePull) -> str:
    """The `approvals` row of the summary of the pull request's head commit's run."""
    summary: str = bot.policy_run(pull.head_sha).output["summary"]
    [row] = [line for line in summary.splitlines() if line.startswith("| `approvals` |")]
    return row


def next_chance(bot: Bot, clock: Clock, timer_id: str, after_attempts: int = 0) -> JournalEntry:
    """The timer's delivery once more than `after_attempts` attempts failed and it waits for
    a later chance, in a queue of its own (or once it is done or failed); the clock is moved
    to each retry in line meanwhile."""
    deadline = time.monotonic() + 20
    while True:
        entries = answered(bot.journal.recent, deadline - time.monotonic())
        entry = next((entry for entry in entries if entry.id == timer_id), None)
        if entry is not None and entry.status in ("done", "failed"):
            return entry
        if entry is not None and entry.status == "queued" and entry.attempts > after_attempts:
            if entry.ordering_key == waiting_queue(timer_id):
                return entry
            clock.now = max(clock.now, entry.next_attempt_at)
        assert time.monotonic() < deadline, f"the journal row stayed {entry}"
        time.sleep(0.01)


def opening(bot: Bot) -> JournalEntry:
    entries = answered(bot.journal.recent, timeout=20)
    [entry] = [entry for entry in entries if entry.action == "opened"]
    return entry


def pulls_of_the_commit_on_a_later_page(bot: Bot, sha: str) -> None:
    """GitHub answers the first page of commit `sha`'s pull requests empty, naming the next
    page, where they are (GitHub pages them)."""
    later_page = f"{bot.fake.api_url}/repos/{bot.repo.full_name}/commits/{sha}/pulls?page=1"
    bot.fake.inject(
        "GET",
        rf"/commits/{sha}/pulls$",
        status=200,
        body=[],
        headers={"link": f'<{later_page}>; rel="next"'},
    )


def first_attempt_failed(bot: Bot) -> JournalEntry:
    """The opening's delivery once its first attempt failed and it waits to be tried again."""
    wait_for(lambda: opening(bot).last_error is not None, timeout=20)
    return opening(bot)


def tried_to_the_end(bot: Bot, clock: Clock) -> JournalEntry:
    """The opening's delivery once done or failed: the clock is moved to each of the
    worker's retries meanwhile."""
    deadline = time.monotonic() + 20
    while (entry := opening(bot)).status not in ("done", "failed"):
        if entry.status == "queued":
            # Whole seconds: what is due now, kept as a date, must not be a microsecond on.
            clock.now = max(clock.now, math.ceil(entry.next_attempt_at))
        assert time.monotonic() < deadline, f"the delivery stayed {entry}"
        time.sleep(0.01)
    return entry


@dataclass
class Bot:
    fake: FakeGitHub
    repo: FakeRepo
    client: TestClient
    journal: Journal
    transport: TracingTransport
    # Starts hotfix-bot on the journal's file: its client (entered) and journal.
    launch: Callable[[], tuple[TestClient, Journal]]
    clock: Clock | None = None  # the journal's and the fake's, when a test keeps the time
    sent: list[str] = field(default_factory=list)

    def send(self, event: str, payload: dict[str, Any], delivery_id: str | None = None) -> Any:
        delivery_id = delivery_id or f"delivery-{next(_delivery_ids)}"
        response = post_delivery(
            self.client, WEBHOOK_PATH, WEBHOOK_SECRET, event, payload, delivery_id
        )
        assert response.status_code == 202, response.text
        self.sent.append(delivery_id)
        return response

    def settle(self, timeout: float = 20.0) -> None:
        """Wait until every journaled delivery has finished (done or failed)."""
        wait_until_settled(self.journal, timeout)

    def deliver(self, event: str, payload: dict[str, Any]) -> None:
        self.send(event, payload)
        self.settle()

    def advance(self, seconds: float) -> None:
        """Move the time on, then wait for what came due (the worker looks at the journal at
        least once a second)."""
        assert self.clock is not None, "advance() needs the clocked_bot fixture"
        self.clock.now += seconds
        self.settle()

    def restart(self, down_for: float = 0.0) -> None:
        """Stop hotfix-bot as a shutdown does, let `down_for` seconds pass, and start it
        again on the same journal file and fake GitHub."""
        self.client.__exit__(None, None, None)  # closes the journal too
        if down_for:
            assert self.clock is not None, "down_for needs the clocked_bot fixture"
            self.clock.now += down_for
        self.client, self.journal = self.launch()
        self.settle()

    def pull_request(self, number: int, action: str, **extra: Any) -> None:
        self.deliver(
            "pull_request", self.fake.pull_request_event(self.repo, number, action, **extra)
        )

    def approve(self, number: int, *logins: str) -> None:
        """Each of `logins` approves the head commit of pull request `number`, and GitHub
        delivers the review before the next one."""
        for login in logins:
            self.repo.review(number, login, "APPROVED")
            self.deliver("pull_request_review", self.fake.review_event(self.repo, number))

    def open_hotfix(
        self,
        branch: str = "hotfix/fix-login",
        files: dict[str, str] | None = None,
        labels: tuple[str, ...] = ("hotfix", "P1"),
    ) -> FakePull:
        """A hotfix pull request into main whose head bumps VERSION (plus `files`)."""
        self.repo.create_branch(branch, "main")
        self.repo.commit(branch, {"VERSION": "1.2.4\n", **(files or {})}, "Fix")
        return self.repo.open_pull(branch, "main", title="Fix", author="dev", labels=list(labels))

    def refuse_tree_reads(self, path_pattern: str) -> None:
        """GitHub refuses the App every read of matching trees, as it does when the App
        lacks a permission."""
        self.fake.inject("GET", path_pattern, status=403, times=None, body={"message": REFUSAL})

    def list_as_symbolic_link(self, commit_sha: str, link: str) -> None:
        """GitHub lists file `link` of `commit_sha`'s tree as a symbolic link (mode 120000):
        its blob holds the path it points to. One listing answers the root tree and the
        recursive one alike: it holds every entry by its full path, and a reader of the root
        looks only at the names without a slash."""
        files = self.repo.objects.commits[commit_sha].tree
        directories = {
            "/".join(path.split("/")[:depth])
            for path in files
            for depth in range(1, path.count("/") + 1)
        }
        entries = [
            {"path": path, "mode": "040000", "type": "tree", "sha": tree_sha(subtree(files, path))}
            for path in directories
        ] + [
            {
                "path": path,
                "mode": "120000" if path == link else "100644",
                "type": "blob",
                "sha": blob_sha(text),
                "size": len(text.encode()),
            }
            for path, text in files.items()
        ]
        self.fake.inject(
            "GET",
            rf"/git/trees/{commit_sha}$",
            status=200,
            times=None,
            body={
                "sha": tree_sha(files),
                "tree": sorted(entries, key=lambda entry: str(entry["path"])),
                "truncated": False,
            },
        )

    def forget_post_merge_step(self, number: int, step: str) -> None:
        """The journal loses what it kept of pull request #`number`'s post-merge `step`, as
        after a crash between GitHub doing the step's work and the journal keeping it."""
        key = f"release:{self.repo.full_name}#{number}"
        kept = json.loads(asyncio.run(self.journal.get_state(key)) or "{}")
        del kept["steps"][step]
        asyncio.run(self.journal.set_state(key, json.dumps(kept)))

    def policy_run(self, head_sha: str) -> FakeCheckRun:
        [run] = self.repo.runs_named("hotfix-policy", head_sha)
        return run

    @contextmanager
    def counting(self) -> Iterator[list[RecordedRequest]]:
        """The requests GitHub received inside the block."""
        start = len(self.fake.requests)
        recorded: list[RecordedRequest] = []
        yield recorded
        recorded.extend(self.fake.requests[start:])


def services_of(client: TestClient) -> Services:
    """The services of the hotfix-bot that `client` drives."""
    app = cast(Starlette, client.app)  # create_app's
    services: Services = app.state.services
    return services


@contextmanager
def running_bot(
    tmp_path: Path,
    private_key_pem: str,
    *,
    network: httpx.AsyncBaseTransport | None = None,
    github_timeouts: Timeouts = TIMEOUTS,
    clock: Callable[[], float] = time.time,
    chat_timeout: float = CHAT_TIMEOUT,
    api_prefix: str = "",
    **environment: Any,
) -> Iterator[Bot]:
    """`network` stands between the app and the fake (a test's faults); `github_timeouts`
    replaces the app's (15 s for each part of an answer, 30 s for the whole); `clock` is the
    journal's, which the worker measures due times and GitHub's waits on; `chat_timeout`
    bounds an attempt to post to chat; `api_prefix` serves the fake's API under a path, as
    GitHub Enterprise Server serves it under `/api/v3`; `environment` adds settings
    (`ADMIN_TOKEN=...`, `DATABASE_URL=...`: a SQLite journal in `tmp_path` by default)."""
    fake = FakeGitHub(request_validator=OpenAPIValidator().validate)
    if isinstance(clock, Clock):
        fake.clock = clock.moment  # pull requests opened, reviews given at the journal's time
    app_record = fake.create_app(private_key_pem=private_key_pem)
    installation = fake.add_installation(app_record.id, account="acme")
    repo = fake.add_repo("acme/widgets", installation, files={"VERSION": "1.2.3\n"})
    with serve_fake(fake, api_prefix=api_prefix) as base_url:
        settings = make_settings(
            tmp_path, private_key_pem, APP_ID=app_record.id, GITHUB_API_URL=base_url, **environment
        )
        transport = TracingTransport(network)

        def launch() -> tuple[TestClient, Journal]:
            journal = open_journal(settings.database_url, clock=clock)
            app = create_app(
                settings,
                journal=journal,
                transport=transport,
                github_timeouts=github_timeouts,
                chat_timeout=chat_timeout,
            )
            client = TestClient(app)
            client.__enter__()
            return client, journal

        client, journal = launch()
        bot = Bot(
            fake,
            repo,
            client,
            journal,
            transport,
            launch,
            clock if isinstance(clock, Clock) else None,
        )
        try:
            yield bot
        finally:
            bot.client.__exit__(None, None, None)
    problems = [f"{v.request.method} {v.request.path}: {v.errors}" for v in fake.violations]
    assert problems == [], "requests not valid against GitHub's OpenAPI description"


def staff(bot: Bot, access: dict[str, Role]) -> None:
    """acme's ACME_TEAMS, and each login's `access` to acme/widgets."""
    for slug, members in ACME_TEAMS.items():
        bot.fake.add_team("acme", slug, members)
    bot.repo.collaborators.update(access)


async def run_on_last_attempt(
    bot: Bot, private_key_pem: str, handler: Handler, event: str, payload: dict[str, Any]
) -> None:
    """`handler` as the worker runs it on its last attempt, without waiting out 8 retries."""
    [app_id] = bot.fake.apps
    github_app = GitHubApp(app_id, private_key_pem, bot.fake.api_url)
    try:
        delivery = from_payload("last-attempt", event, payload)
        context = Context(
            await github_app.installation(bot.repo.installation_id),
            bot.repo.full_name,
            delivery,
            bot.journal,
            for_delivery(logging.getLogger("tests"), delivery),
            Timers(bot.journal, bot.repo.installation_id, bot.repo.full_name, delivery.pr_number),
            bot.journal,
            clock=bot.journal.now,
            attempt=8,
            last_attempt=True,
        )
        await handler(context)
    finally:
        await github_app.aclose()
