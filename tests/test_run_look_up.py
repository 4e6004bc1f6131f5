"""The look-up of a commit's `hotfix-policy` run before its first write: asked of GitHub
unless the journal knows there is none (a pull request opened since the journal began keeping
the repository's runs: docs/PERFORMANCE.md, 'No look-up of a run that cannot be there')."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.harness import (
    Bot,
    Clock,
    opening,
    sequential_round_trips,
    tried_to_the_end,
)

from app.journal.base import JournalUnavailable
from sandbox import FakeCheckRun, FakePull

LISTING = "GET /repos/acme/widgets/commits/{head}/check-runs"
P1_WAITING = "Waiting for approval: Engineering Lead and Product Manager"


@pytest.fixture(autouse=True)
def teams(clocked_bot: Bot) -> None:
    clocked_bot.fake.add_team("acme", "engineering-leads", ["lead"])
    clocked_bot.fake.add_team("acme", "product-managers", ["pm"])


def open_hotfix(bot: Bot, branch: str) -> tuple[FakePull, str]:
    """A P1 hotfix whose head holds the next patch as main writes it, not yet delivered."""
    bot.repo.create_branch(branch, "main")
    head = bot.repo.commit(branch, {"VERSION": "1.2.4\n"}, f"Fix it on {branch}")
    pull = bot.repo.open_pull(branch, "main", title="Fix", author="dev", labels=["hotfix", "P1"])
    return pull, head


def run_key(head: str) -> str:
    return f"check-run:acme/widgets:hotfix-policy:{head}"


def runs_known(bot: Bot, clock: Clock) -> float:
    """A first hotfix evaluated, which notes since when the journal knows acme/widgets's
    runs; then a minute passes. That time."""
    warm_up, _ = open_hotfix(bot, "hotfix/warm-up")
    noted_at = clock.now
    bot.pull_request(warm_up.number, "edited")  # not `opened`: the test's opening is its own
    clock.now += 60
    return noted_at


def opened_since_the_runs_are_known(bot: Bot, clock: Clock) -> tuple[FakePull, str]:
    """`runs_known`, then a P1 hotfix opened a minute after, not yet delivered."""
    runs_known(bot, clock)
    return open_hotfix(bot, "hotfix/fix-login")


def listed(bot: Bot, head: str) -> bool:
    """Whether hotfix-bot listed `head`'s check runs since the spans were last cleared."""
    return LISTING.format(head=head) in [f"{s.method} {s.path}" for s in bot.transport.spans]


def test_the_first_head_of_a_pull_request_opened_since_the_runs_are_known_is_not_looked_up(
    clocked_bot: Bot, clock: Clock
) -> None:
    # The journal names every run of the repository written since it first looked for one:
    # a commit it names none on, at the head of a pull request opened since, has none. 8
    # requests in 3 round trips: the pull request, its reviews, the base's tree, the
    # organization's file and the head's tree; the tag's look-up beside the review request;
    # the run.
    bot = clocked_bot
    noted_at = runs_known(bot, clock)
    pull, head = open_hotfix(bot, "hotfix/fix-login")
    bot.fake.latency = 0.2
    bot.transport.spans.clear()

    bot.pull_request(pull.number, "opened")

    calls = [f"{span.method} {span.path}" for span in bot.transport.spans]
    assert sorted(calls) == sorted(
        [
            f"GET /repos/acme/widgets/pulls/{pull.number}",
            f"GET /repos/acme/widgets/pulls/{pull.number}/reviews",
            "GET /repos/acme/widgets/git/trees/main",
            "GET /repos/acme/.github/contents/.github/hotfix.yml",
            f"GET /repos/acme/widgets/git/trees/{head}",
            "GET /repos/acme/widgets/git/ref/tags/v1.2.4",
            f"POST /repos/acme/widgets/pulls/{pull.number}/requested_reviewers",
            "POST /repos/acme/widgets/check-runs",
        ]
    )
    assert sequential_round_trips(bot.transport.spans) == 3, calls
    [run] = bot.repo.runs_named("hotfix-policy", head)
    assert run.output["title"] == P1_WAITING
    assert asyncio.run(bot.journal.get_state(run_key(head))) == f"{run.id} {pull.number} 2 waiting"
    known_since = "check-runs-known-since:acme/widgets:hotfix-policy"
    assert asyncio.run(bot.journal.get_state(known_since)) == repr(noted_at)


def first_in_the_repository(bot: Bot, clock: Clock) -> None:
    """Until the journal has looked for a run of the repository's, it cannot know that it
    kept every one written, however long after hotfix-bot started."""
    clock.now += 3600


def within_5_s_of_the_first_look_up(bot: Bot, clock: Clock) -> None:
    """GitHub's clock and this machine's may be a little apart: a pull request opened within
    seconds of the first look-up may have had its run written under another journal."""
    runs_known(bot, clock)
    clock.now -= 56


def a_time_that_is_none(bot: Bot, clock: Clock) -> None:
    runs_known(bot, clock)
    key = "check-runs-known-since:acme/widgets:hotfix-policy"
    asyncio.run(bot.journal.set_state(key, "soon"))


@pytest.mark.parametrize(
    "before",
    [first_in_the_repository, within_5_s_of_the_first_look_up, a_time_that_is_none],
    ids=lambda before: before.__name__,
)
def test_a_head_is_looked_up_unless_the_journal_knows_it_has_no_run(
    clocked_bot: Bot, clock: Clock, before: Callable[[Bot, Clock], None]
) -> None:
    bot = clocked_bot
    before(bot, clock)
    pull, head = open_hotfix(bot, "hotfix/fix-login")
    bot.transport.spans.clear()

    bot.pull_request(pull.number, "opened")

    assert listed(bot, head)
    [run] = bot.repo.runs_named("hotfix-policy", head)
    assert run.output["title"] == P1_WAITING


def journal_files(tmp_path: Path) -> list[Path]:
    """The harness's SQLite journal: its file, write-ahead log and the log's index."""
    return [tmp_path / f"journal.db{suffix}" for suffix in ("", "-wal", "-shm")]


def test_a_journal_begun_after_the_pull_request_was_opened_finds_the_run_written_before(
    clocked_bot: Bot, clock: Clock, tmp_path: Path
) -> None:
    # The journal is lost (its file deleted) and hotfix-bot starts on a new one: the run
    # written under the old journal is found on GitHub and updated, never doubled.
    bot = clocked_bot
    pull, head = opened_since_the_runs_are_known(bot, clock)
    bot.pull_request(pull.number, "opened")
    [run] = bot.repo.runs_named("hotfix-policy", head)
    bot.client.__exit__(None, None, None)
    for file in journal_files(tmp_path):
        file.unlink(missing_ok=True)
    clock.now += 600
    bot.client, bot.journal = bot.launch()
    bot.transport.spans.clear()

    bot.repo.review(pull.number, "lead", "APPROVED")
    bot.deliver("pull_request_review", bot.fake.review_event(bot.repo, pull.number))

    assert listed(bot, head)
    assert bot.repo.runs_named("hotfix-policy", head) == [run]
    assert run.output["title"] == "Waiting for approval: Product Manager"


@pytest.mark.parametrize("moved", ["after the review", "not yet"])
def test_a_delivery_of_a_renamed_repository_before_its_keys_move_updates_the_one_run(
    clocked_bot: Bot, clock: Clock, moved: str
) -> None:
    """GitHub does not order its deliveries (docs/BEHAVIOUR.md, 'A repository renamed or
    transferred'): a review under the new name may run before the `repository` delivery
    moves what the journal keeps under the old one. The run is looked for on GitHub then."""
    bot = clocked_bot
    pull, head = opened_since_the_runs_are_known(bot, clock)
    bot.pull_request(pull.number, "opened")
    [run] = bot.repo.runs_named("hotfix-policy", head)
    renamed = bot.fake.rename_repo(bot.repo, "gadgets")

    bot.repo.review(pull.number, "lead", "APPROVED")
    bot.deliver("pull_request_review", bot.fake.review_event(bot.repo, pull.number))
    if moved == "after the review":
        bot.deliver("repository", renamed)

    assert bot.repo.runs_named("hotfix-policy", head) == [run]
    assert run.output["title"] == "Waiting for approval: Product Manager"


def test_a_run_github_created_but_answered_502_for_is_found_on_the_retry(
    clocked_bot: Bot, clock: Clock
) -> None:
    bot = clocked_bot
    pull, head = opened_since_the_runs_are_known(bot, clock)
    bot.fake.inject("POST", r"/repos/acme/widgets/check-runs$", status=502, apply=True)
    set_state = bot.journal.set_state
    kept: list[tuple[str, dict[str, Any]]] = []

    async def kept_track_of(key: str, value: str, **options: Any) -> None:
        if key == run_key(head):
            kept.append((value, options))
        await set_state(key, value, **options)

    bot.journal.set_state = kept_track_of  # type: ignore[method-assign]
    bot.send("pull_request", bot.fake.pull_request_event(bot.repo, pull.number, "opened"))

    assert tried_to_the_end(bot, clock).status == "done"

    [run] = bot.repo.runs_named("hotfix-policy", head)
    assert run.output["title"] == P1_WAITING
    # Kept before the run was asked for, synced: the retry looks for it on GitHub.
    assert kept == [
        ("creating", {"durable": True}),
        (f"{run.id} {pull.number} 2 waiting", {}),
    ]


def test_a_run_created_whose_id_the_journal_did_not_keep_is_found_after_a_restart(
    clocked_bot: Bot, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The journal refuses to keep the new run's id (its disk full for a moment), then
    # hotfix-bot restarts before the retry: the journal still says a run was being created
    # there, so the retry asks GitHub, finds it and updates it.
    bot = clocked_bot
    pull, head = opened_since_the_runs_are_known(bot, clock)
    set_state = bot.journal.set_state

    async def refusing_the_run_id(key: str, value: str, **options: Any) -> None:
        if key == run_key(head) and value != "creating":
            raise JournalUnavailable("database or disk is full")
        await set_state(key, value, **options)

    monkeypatch.setattr(bot.journal, "set_state", refusing_the_run_id)
    bot.send("pull_request", bot.fake.pull_request_event(bot.repo, pull.number, "opened"))
    deadline = time.monotonic() + 20
    while (refused := opening(bot)).last_error is None:
        assert time.monotonic() < deadline, refused
        time.sleep(0.01)
    assert refused.status == "queued", refused  # to be tried again
    [run] = bot.repo.runs_named("hotfix-policy", head)
    bot.client.__exit__(None, None, None)  # a restart: a new journal object keeps writes
    bot.client, bot.journal = bot.launch()
    bot.transport.spans.clear()

    assert tried_to_the_end(bot, clock).status == "done"

    assert listed(bot, head)
    assert bot.repo.runs_named("hotfix-policy", head) == [run]
    assert asyncio.run(bot.journal.get_state(run_key(head))) == f"{run.id} {pull.number} 2 waiting"


@pytest.mark.parametrize("look_up", ["answered by the journal", "asked of GitHub"])
def test_a_run_another_attempt_began_to_create_since_the_look_up_is_found(
    clocked_bot: Bot, clock: Clock, look_up: str
) -> None:
    # Two pull requests on one commit: after this one's evaluation looked up the run (none
    # there), the other's began to create it and stopped (a crash) once GitHub had made it.
    # Under the commit's lock the journal says `creating`: GitHub is asked, and the run it
    # made is the one updated.
    bot = clocked_bot
    if look_up == "answered by the journal":
        runs_known(bot, clock)
    pull, head = open_hotfix(bot, "hotfix/fix-login")
    app_id = bot.fake.installations[bot.repo.installation_id].app_id
    other_attempts: list[FakeCheckRun] = []
    reads: list[str] = []
    get_state = bot.journal.get_state

    async def another_attempt_after_the_look_up(key: str) -> str | None:
        if key == run_key(head):
            reads.append(key)
            if len(reads) == 2:  # the look-up's read came first; this one is under the lock
                suite = bot.repo.check_suites.setdefault((app_id, head), bot.fake.next_id())
                run = FakeCheckRun(bot.fake.next_id(), "hotfix-policy", head, app_id, suite)
                bot.repo.check_runs[run.id] = run
                other_attempts.append(run)
                await bot.journal.set_state(key, "creating", durable=True)
        return await get_state(key)

    bot.journal.get_state = another_attempt_after_the_look_up  # type: ignore[method-assign]
    bot.pull_request(pull.number, "opened")

    assert bot.repo.runs_named("hotfix-policy", head) == other_attempts
    assert other_attempts[0].output["title"] == P1_WAITING
