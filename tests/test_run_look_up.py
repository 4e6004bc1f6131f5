"""The look-up of a commit's `hotfix-policy` run before its first write: asked of GitHub
unless the journal knows there is none (a pull request opened after the journal began)."""

from __future__ import annotations

import asyncio
import time
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

from app.journal.base import WORKING_SINCE_KEY, JournalUnavailable
from sandbox import FakePull

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


def test_the_first_head_of_a_pull_request_opened_after_the_journal_began_is_not_looked_up(
    clocked_bot: Bot, clock: Clock
) -> None:
    # The journal names every run written since it began: a commit it names none on, at the
    # head of a pull request opened since, has none. 8 requests in 3 round trips: the pull
    # request, its reviews, the base's tree, the organization's file and the head's tree;
    # the tag's look-up beside the review request; the run.
    bot = clocked_bot
    clock.now += 60
    warm_up, _ = open_hotfix(bot, "hotfix/warm-up")  # the token and main's files are known
    bot.pull_request(warm_up.number, "opened")
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


def test_a_pull_request_opened_as_the_journal_began_has_its_head_looked_up(
    clocked_bot: Bot, clock: Clock
) -> None:
    """GitHub's clock and this machine's may be a little apart: a pull request opened within
    seconds of the journal's start may have had its run written under the journal before."""
    bot = clocked_bot
    clock.now += 4
    pull, head = open_hotfix(bot, "hotfix/fix-login")
    bot.transport.spans.clear()

    bot.pull_request(pull.number, "opened")

    assert LISTING.format(head=head) in [f"{s.method} {s.path}" for s in bot.transport.spans]
    assert len(bot.repo.runs_named("hotfix-policy", head)) == 1


def journal_files(tmp_path: Path) -> list[Path]:
    """The harness's SQLite journal: its file, write-ahead log and the log's index."""
    return [tmp_path / f"journal.db{suffix}" for suffix in ("", "-wal", "-shm")]


def test_a_journal_begun_after_the_pull_request_was_opened_finds_the_run_written_before(
    clocked_bot: Bot, clock: Clock, tmp_path: Path
) -> None:
    # The journal is lost (its file deleted) and hotfix-bot starts on a new one: the run
    # written under the old journal is found on GitHub and updated, never doubled.
    bot = clocked_bot
    clock.now += 60
    pull, head = open_hotfix(bot, "hotfix/fix-login")
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

    assert LISTING.format(head=head) in [f"{s.method} {s.path}" for s in bot.transport.spans]
    assert bot.repo.runs_named("hotfix-policy", head) == [run]
    assert run.output["title"] == "Waiting for approval: Product Manager"


def test_a_run_created_whose_id_the_journal_did_not_keep_is_found_after_a_restart(
    clocked_bot: Bot, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The journal refuses to keep the new run's id (its disk full for a moment), then
    # hotfix-bot restarts before the retry: the journal still says a run was being created
    # there, so the retry asks GitHub, finds it and updates it.
    bot = clocked_bot
    clock.now += 60
    pull, head = open_hotfix(bot, "hotfix/fix-login")
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

    assert LISTING.format(head=head) in [f"{s.method} {s.path}" for s in bot.transport.spans]
    assert bot.repo.runs_named("hotfix-policy", head) == [run]
    assert asyncio.run(bot.journal.get_state(run_key(head))) == f"{run.id} {pull.number} 2 waiting"


def test_the_journal_notes_when_a_worker_first_ran_on_it_and_keeps_that_time(
    clocked_bot: Bot, clock: Clock
) -> None:
    bot = clocked_bot
    deadline = time.monotonic() + 20
    while (noted := asyncio.run(bot.journal.get_state(WORKING_SINCE_KEY))) is None:
        assert time.monotonic() < deadline, "the worker noted no start"
        time.sleep(0.01)
    assert noted == repr(clock.now)
    pull, _ = open_hotfix(bot, "hotfix/fix-login")
    bot.pull_request(pull.number, "opened")
    bot.restart(down_for=3600)
    bot.pull_request(pull.number, "synchronize")  # the worker started again has run
    assert asyncio.run(bot.journal.get_state(WORKING_SINCE_KEY)) == noted
