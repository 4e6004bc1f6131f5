"""A repository renamed or transferred in the middle of an incident (docs/BEHAVIOUR.md, 'A
repository renamed or transferred'): the clock goes on under the new name, with no notice
sent twice and one incident report."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.deliveries import pull_request
from support.harness import Bot, Clock, approvals_row, running_bot
from support.titles import all_rules_pass

from app.handlers import timeline
from app.intake.delivery import from_payload
from app.journal import Journal, open_journal
from app.journal.base import MovedRepository, RepositoryBusy, RepositoryMove
from app.journal.timers import Timers
from sandbox import FakePull

MINUTE, HOUR = 60, 3600
TEAMS = {"engineering-leads": ["lead"], "on-call-managers": ["lena", "oncall"]}


@pytest.fixture
def bot(tmp_path: Path, private_key_pem: str, clock: Clock, journal_url: str) -> Iterator[Bot]:
    """hotfix-bot on each kind of journal, on a clock the test moves, in the organization."""
    with running_bot(tmp_path, private_key_pem, clock=clock, DATABASE_URL=journal_url) as bot:
        for slug, members in TEAMS.items():
            bot.fake.add_team("acme", slug, members)
        bot.repo.collaborators.update({"dana": "write", "lead": "maintain", "dev": "write"})
        bot.repo.create_branch("develop", "main")
        yield bot


def open_p0_with_verbal_approval(bot: Bot) -> FakePull:
    """A P0 hotfix by dev, opened at 2026-12-04 20:30:30 UTC; dana records lena's approval,
    given on the incident bridge, for the on-call managers."""
    pull = bot.open_hotfix(labels=("hotfix", "P0"))
    bot.pull_request(pull.number, "opened")
    comment = bot.repo.add_comment(pull.number, "dana", "/hotfix verbal-approval @lena")
    bot.deliver("issue_comment", bot.fake.issue_comment_event(bot.repo, comment.id))
    return pull


def marked(bot: Bot, pull: FakePull, notice_id: str) -> list[str]:
    """The comments of the pull request that carry the notice's hidden marker."""
    marker = f"<!-- hotfix-bot notice {notice_id} -->"
    return [c.body for c in bot.repo.comments_on(pull.number) if c.body.startswith(marker)]


def test_after_a_rename_the_verbal_approval_counts_and_no_notice_or_report_repeats(
    bot: Bot,
) -> None:
    pull = open_p0_with_verbal_approval(bot)
    bot.advance(15 * MINUTE)  # the first escalation step: one reminder
    assert len(marked(bot, pull, "escalation:acme/widgets#1:P0:15m")) == 1

    bot.deliver("repository", bot.fake.rename_repo(bot.repo, "gadgets"))
    bot.approve(pull.number, "lead")  # evaluated again, under the new name

    run = bot.policy_run(pull.head_sha)
    assert (run.conclusion, run.output["title"]) == ("success", all_rules_pass())
    assert "On-call Manager: lena (verbal, recorded by @dana at 20:30 UTC)" in approvals_row(
        bot, pull
    )
    assert len(marked(bot, pull, "p0-alert:acme/widgets#1")) == 1
    assert marked(bot, pull, "p0-alert:acme/gadgets#1") == []
    assert len(marked(bot, pull, "escalation:acme/widgets#1:P0:15m")) == 1
    assert marked(bot, pull, "escalation:acme/gadgets#1:P0:15m") == []

    bot.repo.merge_pull(pull.number, merged_by="lead")
    bot.pull_request(pull.number, "closed")

    reports = [issue for issue in bot.repo.issues.values() if "incident-report" in issue.labels]
    assert [issue.title for issue in reports] == ["Incident report: Fix"]
    assert {entry.timer.repository for entry in bot.journal.timers()} == {"acme/gadgets"}


def timeline_keys(bot: Bot, repository: str, number: int) -> set[str]:
    stored = asyncio.run(bot.journal.get_state(f"timeline:{repository}#{number}"))
    return {row["key"] for row in json.loads(stored or "[]")}


def test_a_delivery_of_the_new_name_before_the_move_loses_no_row_of_the_timeline(
    bot: Bot,
) -> None:
    """GitHub does not order its deliveries: a review of the new name runs before the
    `repository` delivery, and begins a timeline of its own."""
    pull = open_p0_with_verbal_approval(bot)
    before = timeline_keys(bot, "acme/widgets", pull.number)
    moved = bot.fake.rename_repo(bot.repo, "gadgets")

    bot.approve(pull.number, "lead")  # under the new name, before the move
    early = timeline_keys(bot, "acme/gadgets", pull.number)
    bot.deliver("repository", moved)

    assert before - early, "the early timeline already held every row from before"
    assert timeline_keys(bot, "acme/gadgets", pull.number) == before | early
    assert timeline_keys(bot, "acme/widgets", pull.number) == set()


def test_a_timer_scheduled_before_a_rename_fires_under_the_new_name(bot: Bot) -> None:
    pull = open_p0_with_verbal_approval(bot)
    bot.deliver("repository", bot.fake.rename_repo(bot.repo, "gadgets"))

    bot.advance(15 * MINUTE)  # nothing delivered since the rename: the step was kept before

    [reminder] = marked(bot, pull, "escalation:acme/gadgets#1:P0:15m")
    assert "@acme/engineering-leads: this **P0** hotfix has been open for **15m**" in reminder
    assert [(entry.timer.id, entry.status) for entry in bot.journal.timers()] == [
        ("overdue:acme/gadgets#1:P0:2h", "scheduled"),
        ("escalation:acme/gadgets#1:P0:4h", "scheduled"),
        ("escalation:acme/gadgets#1:P0:15m", "fired"),
    ]


def test_after_a_transfer_the_clock_goes_on_and_the_verbal_approval_counts(bot: Bot) -> None:
    """The repository moves to another organization, where the App has an installation of its
    own, with the same teams."""
    [app_id] = bot.fake.apps
    umbrella = bot.fake.add_installation(app_id, account="umbrella")
    for slug, members in TEAMS.items():
        bot.fake.add_team("umbrella", slug, members)
    pull = open_p0_with_verbal_approval(bot)

    bot.deliver("repository", bot.fake.transfer_repo(bot.repo, "umbrella", umbrella))
    bot.advance(15 * MINUTE)

    [reminder] = marked(bot, pull, "escalation:umbrella/widgets#1:P0:15m")
    assert "@umbrella/engineering-leads: this **P0** hotfix has been open for **15m**" in reminder
    bot.approve(pull.number, "lead")
    run = bot.policy_run(pull.head_sha)
    assert (run.conclusion, run.output["title"]) == ("success", all_rules_pass())
    assert "On-call Manager: lena (verbal, recorded by @dana at 20:30 UTC)" in approvals_row(
        bot, pull
    )
    assert len(marked(bot, pull, "p0-alert:acme/widgets#1")) == 1
    assert marked(bot, pull, "p0-alert:umbrella/widgets#1") == []


def test_a_report_opened_before_the_rename_is_found_by_its_marker_and_not_opened_again(
    bot: Bot,
) -> None:
    pull = open_p0_with_verbal_approval(bot)
    bot.approve(pull.number, "lead")
    sha = bot.repo.merge_pull(pull.number, merged_by="lead")
    bot.pull_request(pull.number, "closed")
    [report] = [issue for issue in bot.repo.issues.values() if "incident-report" in issue.labels]
    assert report.body.startswith("<!-- hotfix-bot:incident-report acme/widgets#1 -->")

    bot.deliver("repository", bot.fake.rename_repo(bot.repo, "gadgets"))
    # The journal lost the step's outcome, the issue's number with it: only the marker,
    # of the name of then, finds the report.
    bot.forget_post_merge_step(pull.number, "incident-report")
    [release_run] = bot.repo.runs_named("hotfix-release", sha)
    bot.deliver("check_run", bot.fake.check_run_event(bot.repo, release_run.id))

    reports = [issue for issue in bot.repo.issues.values() if "incident-report" in issue.labels]
    assert [issue.number for issue in reports] == [report.number]
    assert (
        f"issue #{report.number} already holds the incident report"
        in (bot.repo.check_runs[release_run.id].output["summary"])
    )


# --- the journal's move, on each journal -------------------------------------------------

MOVE = RepositoryMove("acme/widgets", "acme/gadgets", installation_id=7)


async def record(journal: Journal, delivery_id: str) -> None:
    """A `synchronize` of acme/widgets#1, as GitHub sent it."""
    delivery = pull_request(delivery_id, 1)
    await journal.record(delivery, json.dumps(delivery.payload).encode(), handled=True)


@pytest.fixture
def journal(journal_url: str, clock: Clock) -> Iterator[Journal]:
    journal = open_journal(journal_url, clock=clock)
    yield journal
    journal.close()


def test_a_timeline_both_names_hold_keeps_the_rows_from_before_the_move(journal: Journal) -> None:
    """A delivery of the new name that ran before the `repository` delivery began a timeline
    of its own: the incident's rows from before the rename stay, and the new name's rows they
    lack join them. Other keys both names hold keep the new name's."""

    def row(key: str, at: str) -> dict[str, str]:
        return {"key": key, "at": f"2026-12-04T{at}+00:00", "kind": "event", "text": key}

    before = [row("opened", "20:30:30"), row("labelled:P0", "20:31:00")]
    early = [row("opened", "20:30:30"), row("approved:lead", "21:00:00")]

    async def scenario() -> None:
        await journal.set_state("timeline:acme/widgets#1", json.dumps(before))
        await journal.set_state("timeline:acme/gadgets#1", json.dumps(early))
        await journal.set_state("commands:acme/widgets#1", "before the rename")
        await journal.set_state("commands:acme/gadgets#1", "after it")
        await journal.move_repository(replace(MOVE, combine=timeline.combined_on_move))

    asyncio.run(scenario())

    kept = asyncio.run(journal.get_state("timeline:acme/gadgets#1"))
    assert kept is not None and json.loads(kept) == [*before, early[1]]
    assert asyncio.run(journal.get_state("commands:acme/gadgets#1")) == "after it"
    assert asyncio.run(journal.get_state("timeline:acme/widgets#1")) is None


def test_a_move_keeps_what_the_new_name_holds_already_and_moves_the_rest(
    journal: Journal, clock: Clock
) -> None:
    """Deliveries of the new name that ran before the `repository` delivery wrote some state
    and scheduled the clock's timers anew: what they wrote stays, a reminder the old name
    sent already is not sent again, and nothing stays under the old name."""
    now = datetime.fromtimestamp(clock.now, UTC)
    before, after = Timers(journal, 1, "acme/widgets", 1), Timers(journal, 1, "acme/gadgets", 1)
    state = {
        "commands:acme/widgets#1": '{"verbal": ["lena"]}',
        "notice:acme/widgets:p0-alert:acme/widgets#1": "sent",
        "timeline:acme/widgets#1": '["opened", "labelled"]',
        "timeline:acme/gadgets#1": '["opened"]',  # written under the new name first
        "commands:acme/widgets-v2#1": "another repository's",
    }

    async def scenario() -> MovedRepository:
        for key, value in state.items():
            await journal.set_state(key, value)
        await before.schedule("escalation", "P0:15m", now)
        await before.schedule("escalation", "P0:4h", now.replace(hour=23))
        [fired] = await journal.claim_ready(10)
        await journal.finish(fired.id)
        await record(journal, "queued-before")
        await after.schedule("escalation", "P0:15m", now)  # the new name's twin, not fired
        await after.schedule("escalation", "P0:4h", now.replace(hour=23))
        return await journal.move_repository(MOVE)

    moved = asyncio.run(scenario())

    assert moved == MovedRepository(state=3, timers=1, deliveries=1)
    assert {key: asyncio.run(journal.get_state(key)) for key in state} == {
        "commands:acme/widgets#1": None,
        "notice:acme/widgets:p0-alert:acme/widgets#1": None,
        "timeline:acme/widgets#1": None,
        "timeline:acme/gadgets#1": '["opened"]',  # kept
        "commands:acme/widgets-v2#1": "another repository's",
    }
    assert asyncio.run(journal.get_state("former-names:acme/gadgets")) == '["acme/widgets"]'
    assert asyncio.run(journal.get_state("commands:acme/gadgets#1")) == '{"verbal": ["lena"]}'
    assert asyncio.run(journal.get_state("notice:acme/gadgets:p0-alert:acme/gadgets#1")) == "sent"
    assert [(e.timer.id, e.timer.repository, e.status) for e in journal.timers()] == [
        ("escalation:acme/gadgets#1:P0:4h", "acme/gadgets", "scheduled"),
        ("escalation:acme/gadgets#1:P0:15m", "acme/gadgets", "fired"),
    ]
    [queued] = asyncio.run(journal.claim_ready(10))  # the 15m step does not fire again
    delivery = from_payload(queued.id, queued.event, json.loads(queued.payload or b""))
    assert (queued.id, queued.repository, queued.ordering_key, queued.installation_id) == (
        "queued-before",
        "acme/gadgets",
        "acme/gadgets#1",
        7,
    )
    assert (delivery.repository, delivery.installation_id) == ("acme/gadgets", 7)


def test_a_move_waits_for_a_delivery_of_the_old_name_that_runs(journal: Journal) -> None:
    async def scenario() -> tuple[str, MovedRepository]:
        await record(journal, "running")
        await journal.claim_ready(10)
        with pytest.raises(RepositoryBusy) as busy:
            await journal.move_repository(MOVE)
        await journal.set_state("timeline:acme/widgets#1", '["merged"]')  # what it wrote
        await journal.finish("running")
        return str(busy.value), await journal.move_repository(MOVE)

    refused, moved = asyncio.run(scenario())

    assert refused == "a delivery of acme/widgets is running; its state is moved once it ends"
    assert moved == MovedRepository(state=1, timers=0, deliveries=0)
    assert asyncio.run(journal.get_state("timeline:acme/gadgets#1")) == '["merged"]'


def test_on_its_last_attempt_a_move_leaves_a_running_delivery_and_moves_the_rest(
    journal: Journal,
) -> None:
    async def scenario() -> MovedRepository:
        await record(journal, "running")
        await journal.claim_ready(10)
        await record(journal, "queued-behind")
        await journal.set_state("timeline:acme/widgets#1", '["opened"]')
        return await journal.move_repository(replace(MOVE, waits_for_running=False))

    moved = asyncio.run(scenario())

    assert moved == MovedRepository(state=1, timers=0, deliveries=1)
    assert {e.id: (e.repository, e.ordering_key, e.status) for e in journal.recent()} == {
        "running": ("acme/widgets", "acme/widgets#1", "running"),
        "queued-behind": ("acme/gadgets", "acme/gadgets#1", "queued"),
    }
    assert asyncio.run(journal.get_state("timeline:acme/gadgets#1")) == '["opened"]'
