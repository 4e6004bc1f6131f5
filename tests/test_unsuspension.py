"""An installation unsuspended: GitHub sent hotfix-bot nothing of what happened while it was
suspended, so the open hotfix pull requests of every repository it covers are evaluated
again, and the hotfixes merged since the suspension began get their post-merge steps
(docs/RELIABILITY.md, *Suspended and reinstalled installations*)."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from pathlib import Path
from typing import Any

import pytest
from support.harness import REFUSAL, Bot
from support.live_server import wait_for
from support.titles import all_rules_pass
from test_incident import reports_in, timeline_rows
from test_release import (
    BRANCH,
    MARKER,
    TAG,
    assert_released_as_usual,
    merge_sha,
    merged_hotfix,
)

from app.handlers import suspensions
from app.journal import JournalEntry
from app.journal.sqlite import SqliteJournal
from sandbox import FakePull, FakeRepo
from sandbox.webhooks import answered

TEAMS = {"engineering-leads": ["lead"], "product-managers": ["pm"]}
P1_WAITING = "Waiting for approval: Engineering Lead and Product Manager"


def opened(bot: Bot, repo: FakeRepo, branch: str, version: str, labels: list[str]) -> FakePull:
    """A pull request into main whose head sets VERSION, delivered as opened."""
    repo.create_branch(branch, "main")
    repo.commit(branch, {"VERSION": version}, "Fix")
    pull = repo.open_pull(branch, "main", title="Fix", author="dev", labels=labels)
    bot.deliver("pull_request", bot.fake.pull_request_event(repo, pull.number, "opened"))
    return pull


def policy(repo: FakeRepo, pull: FakePull) -> tuple[str, str | None, str]:
    [run] = repo.runs_named("hotfix-policy", pull.head_sha)
    return run.status, run.conclusion, run.output["title"]


def test_the_open_hotfixes_of_every_repository_are_checked_again_at_the_unsuspension(
    bot: Bot,
) -> None:
    """Both approvals came while the App was suspended: once it is unsuspended, each hotfix's
    run passes without a delivery of its own, though GitHub refuses to list a repository
    listed before one of them. A pull request that is no hotfix, one into another branch and
    an archived repository are not looked at again."""
    for slug, members in TEAMS.items():
        bot.fake.add_team("acme", slug, members)
    widgets = bot.repo
    installation = widgets.installation_id
    blocked = bot.fake.add_repo("acme/blocked", installation, files={"VERSION": "0.1.0\n"})
    gadgets = bot.fake.add_repo("acme/gadgets", installation, files={"VERSION": "2.0.0\n"})
    archive = bot.fake.add_repo("acme/archive", installation, files={"VERSION": "0.1.0\n"})
    archive.archived = True
    hotfixes = [
        (widgets, opened(bot, widgets, "hotfix/fix-login", "1.2.4\n", ["hotfix", "P1"])),
        (gadgets, opened(bot, gadgets, "hotfix/fix-cart", "2.0.1\n", ["hotfix", "P1"])),
    ]
    feature = opened(bot, widgets, "feature/search", "1.3.0\n", [])
    widgets.create_branch("develop", "main")
    widgets.create_branch("hotfix/into-develop", "develop")
    into_develop = widgets.open_pull("hotfix/into-develop", "develop", labels=["hotfix", "P1"])
    assert [policy(repo, pull) for repo, pull in hotfixes] == [
        ("in_progress", None, P1_WAITING)
    ] * 2

    bot.fake.suspend_installation(installation)
    for repo, pull in hotfixes:  # GitHub delivers nothing of these meanwhile
        repo.review(pull.number, "lead", "APPROVED")
        repo.review(pull.number, "pm", "APPROVED")
    bot.fake.unsuspend_installation(installation)
    bot.fake.inject(
        "GET", rf"/repos/{blocked.full_name}/pulls", status=403, body={"message": REFUSAL}
    )
    with bot.counting() as requests:
        bot.deliver("installation", bot.fake.installation_event(installation, "unsuspend"))
        wait_for(lambda: all(policy(*hotfix)[0] == "completed" for hotfix in hotfixes))
        bot.settle()

    assert [policy(repo, pull) for repo, pull in hotfixes] == [
        ("completed", "success", all_rules_pass())
    ] * 2
    looked_at = {request.path for request in requests if request.method == "GET"}
    assert "/installation/repositories" in looked_at
    assert (f"/repos/{blocked.full_name}/pulls", 403) in {
        (request.path, request.status) for request in requests
    }
    assert bot.journal.recent(status="failed") == []
    assert not any(path.startswith("/repos/acme/archive/") for path in looked_at)
    for number in (feature.number, into_develop.number):
        assert f"/repos/acme/widgets/pulls/{number}" not in looked_at
    assert policy(widgets, feature) == ("completed", "neutral", "Not a hotfix pull request")


# What the status page says of a hotfix merged while suspended, when hotfix-bot learnt of
# the suspension, and when it did not.
RELEASED_THEN = (
    "A hotfix merged after hotfix-bot learnt of the suspension gets its post-merge steps then "
    "too; one merged before got none"
)
BY_HAND = (
    "A hotfix merged meanwhile got no post-merge steps (GitHub sent no word of the merge): "
    "tag, release and back-merge it by hand."
)


def merged(repo: FakeRepo, branch: str, into: str, labels: list[str]) -> FakePull:
    """A pull request from `branch` into `into`, which changes notes.txt, merged (GitHub
    delivers its `closed` or not, as the test says)."""
    repo.create_branch(branch, into)
    repo.commit(branch, {"notes.txt": f"{branch}\n"}, "Notes")
    pull = repo.open_pull(branch, into, title="Notes", author="dev", labels=labels)
    repo.merge_pull(pull.number)
    return pull


def suspended(bot: Bot, *, told: bool = True) -> None:
    """The installation of acme/widgets suspended a minute on; `told`: GitHub delivers the
    `suspend` (hotfix-bot may be down and miss it)."""
    assert bot.clock is not None
    bot.clock.now += 60
    installation = bot.repo.installation_id
    bot.fake.suspend_installation(installation)
    if told:
        bot.deliver("installation", bot.fake.installation_event(installation, "suspend"))


def unsuspended(bot: Bot) -> None:
    """A minute on, unsuspended; its `unsuspend` delivered and what it keeps done, the clock
    moved to each retry of the delivery in line (a token minted before the suspension costs
    one)."""
    assert bot.clock is not None
    bot.clock.now += 60
    installation = bot.repo.installation_id
    bot.fake.unsuspend_installation(installation)
    done_in_line(bot, "installation", bot.fake.installation_event(installation, "unsuspend"))


def done_in_line(bot: Bot, event: str, payload: dict[str, Any]) -> None:
    """The delivery sent, and it and what it keeps done, the clock moved to each of its
    retries in line."""
    assert bot.clock is not None
    bot.send(event, payload)
    sent = bot.sent[-1]
    deadline = time.monotonic() + 20
    while True:
        entries = answered(bot.journal.recent, deadline - time.monotonic())
        entry = next(entry for entry in entries if entry.id == sent)
        if entry.status == "done":
            break
        if entry.status == "queued":
            # Whole seconds: a timer it keeps for now, kept as a date, must not be a
            # microsecond on.
            bot.clock.now = max(bot.clock.now, math.ceil(entry.next_attempt_at))
        assert time.monotonic() < deadline, f"the delivery stayed {entry}"
        time.sleep(0.01)
    bot.settle()


def untouched(bot: Bot, pull: FakePull) -> bool:
    """No post-merge run of `pull`: no check run on its merge commit, no comment on it."""
    return not bot.repo.runs_named("hotfix-release", merge_sha(pull)) and not (
        bot.repo.comments_on(pull.number)
    )


def releases_after_suspension(bot: Bot) -> list[JournalEntry]:
    return [
        entry
        for entry in bot.journal.recent(limit=500)
        if entry.id.startswith("merged-while-suspended:")
    ]


def test_a_hotfix_merged_while_suspended_gets_its_post_merge_steps_at_the_unsuspension(
    bot_on_each_journal: Bot,
) -> None:
    """GitHub sent no word of the merge: the unsuspension finds it merged after the
    suspension began, and it is tagged, released, merged back and reported as its `closed`
    would have had it. A hotfix merged before the suspension (its post-merge steps not
    hotfix-bot's to run now), a merge that is no hotfix, and a hotfix into another branch
    are left alone."""
    bot = bot_on_each_journal
    before = merged(bot.repo, "hotfix/before", "main", ["hotfix", "P1"])
    suspended(bot)
    assert bot.journal.recent(status="failed") == []  # kept with no token GitHub refuses
    assert RELEASED_THEN in bot.client.get("/").text
    assert bot.clock is not None
    bot.clock.now += 60
    pull = merged_hotfix(bot)
    feature = merged(bot.repo, "feature/notes", "main", [])
    into_develop = merged(bot.repo, "hotfix/into-develop", "develop", ["hotfix", "P1"])
    develop_before = bot.repo.branches["develop"].sha

    with bot.counting() as requests:
        unsuspended(bot)

    assert_released_as_usual(bot, pull, develop_before)
    assert [untouched(bot, other) for other in (before, feature, into_develop)] == [True] * 3
    assert [entry.status for entry in releases_after_suspension(bot)] == ["done"]
    # Listed newest updated first, no further than the suspension's start.
    listed = [
        request.query
        for request in requests
        if request.path == "/repos/acme/widgets/pulls" and request.query.get("state") == "closed"
    ]
    assert listed == [
        {
            "state": "closed",
            "sort": "updated",
            "direction": "desc",
            "per_page": "100",
        }
    ]
    assert bot.journal.recent(status="failed") == []


def test_a_repository_with_nothing_open_nor_merged_since_costs_its_two_lists(
    clocked_bot: Bot,
) -> None:
    """Of a repository where nothing is open and nothing merged during the suspension,
    only the two lists are read: no config, so that an installation of many quiet
    repositories costs GitHub few requests."""
    bot = clocked_bot
    quiet = bot.fake.add_repo("acme/quiet", bot.repo.installation_id, files={"VERSION": "1\n"})
    merged(quiet, "feature/old", "main", [])
    suspended(bot)

    with bot.counting() as requests:
        unsuspended(bot)

    assert sorted(
        (request.path, request.query.get("state"))
        for request in requests
        if request.path.startswith("/repos/acme/quiet/")
    ) == [("/repos/acme/quiet/pulls", "closed"), ("/repos/acme/quiet/pulls", "open")]


def test_a_retried_unsuspension_runs_the_post_merge_steps_once(bot_on_each_journal: Bot) -> None:
    """GitHub fails the listing of the installation's second repository: the whole delivery
    is tried again, and the hotfix of the first, found merged by both attempts, is tagged
    and reported once, its comment written once and never rewritten."""
    bot = bot_on_each_journal
    bot.fake.add_repo("acme/gadgets", bot.repo.installation_id, files={"VERSION": "2.0.0\n"})
    suspended(bot)
    assert bot.clock is not None
    bot.clock.now += 60
    pull = merged_hotfix(bot)
    bot.fake.inject("GET", r"/repos/acme/gadgets/pulls$", status=502)

    with bot.counting() as requests:
        unsuspended(bot)

    [unsuspension] = [entry for entry in bot.journal.recent() if entry.action == "unsuspend"]
    assert (unsuspension.status, unsuspension.attempts) == ("done", 2)
    assert list(bot.repo.tags) == [TAG]
    assert len(bot.repo.releases) == 1
    assert len(bot.repo.issues) == 1  # the incident report
    # The resolution notice and the report, each written once, never rewritten.
    comments = bot.repo.comments_on(pull.number)
    assert [comment.body.splitlines()[0] for comment in comments] == [
        f"<!-- hotfix-bot notice resolution:acme/widgets#{pull.number} -->",
        MARKER,
    ]
    comment_writes = [
        f"{request.method} {request.path}"
        for request in requests
        if "/comments" in request.path and request.method != "GET"
    ]
    assert comment_writes == [f"POST /repos/acme/widgets/issues/{pull.number}/comments"] * 2
    assert [entry.attempts for entry in releases_after_suspension(bot)] == [1]


def test_without_the_suspend_delivery_the_first_refusal_stands_for_its_start(
    bot_on_each_journal: Bot,
) -> None:
    """hotfix-bot missed the `suspend`: the first delivery GitHub refused a token for the
    suspension stands for its start. A hotfix merged after that is released at the
    unsuspension; one merged before it, while hotfix-bot could not tell the suspension had
    begun, is left for people to release."""
    bot = bot_on_each_journal
    suspended(bot, told=False)
    assert bot.clock is not None
    bot.clock.now += 60
    unseen = merged(bot.repo, "hotfix/unseen", "main", ["hotfix", "P1"])
    bot.clock.now += 60
    # A delivery that meets the suspension (redelivered meanwhile) fails at once.
    bot.pull_request(unseen.number, "synchronize")
    [refused] = bot.journal.recent(status="failed")
    assert "is suspended" in (refused.last_error or "")
    bot.clock.now += 60
    pull = merged_hotfix(bot)
    develop_before = bot.repo.branches["develop"].sha

    unsuspended(bot)

    assert_released_as_usual(bot, pull, develop_before)
    assert untouched(bot, unseen)


def test_a_token_granted_after_a_lost_unsuspend_stands_for_it_and_catches_up_once(
    bot_on_each_journal: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    """hotfix-bot missed the `unsuspend` (it was down: GitHub never sends it again). The
    next delivery, of another pull request, is granted a token, the one hotfix-bot kept
    from before the suspension refused: the installation is back. The hotfix merged
    meanwhile is tagged, released, merged back and reported, once; GitHub's `unsuspend`,
    redelivered late, asks GitHub nothing more."""
    bot = bot_on_each_journal
    caplog.set_level(logging.INFO, logger="hotfix_bot")
    feature = opened(bot, bot.repo, "feature/search", "1.3.0\n", [])  # a token kept
    suspended(bot)
    assert bot.clock is not None
    began = bot.clock.moment()
    bot.clock.now += 60
    pull = merged_hotfix(bot)
    develop_before = bot.repo.branches["develop"].sha
    bot.clock.now += 60
    installation = bot.repo.installation_id
    bot.fake.unsuspend_installation(installation)  # its `unsuspend` never delivered

    done_in_line(
        bot, "pull_request", bot.fake.pull_request_event(bot.repo, feature.number, "edited")
    )

    assert_released_as_usual(bot, pull, develop_before)
    assert [entry.status for entry in releases_after_suspension(bot)] == ["done"]
    catch_up = f"unsuspend-inferred:{installation}:{began.isoformat()}"
    told = [record for record in caplog.records if "never came" in record.getMessage()]
    assert [record.getMessage() for record in told] == [
        f"installation {installation} was unsuspended, though GitHub's unsuspend delivery "
        f"never came: it granted a token at {bot.clock.moment():%Y-%m-%d %H:%M:%S} UTC for "
        f"this delivery; the unsuspension's catch-up is queued as {catch_up}"
    ]
    [inferred] = [entry for entry in bot.journal.recent() if entry.id == catch_up]
    assert (inferred.action, inferred.status) == ("unsuspend-inferred", "done")

    with bot.counting() as requests:
        unsuspended(bot)

    assert requests == []
    assert list(bot.repo.tags) == [TAG]
    assert len(bot.repo.releases) == 1
    assert len(bot.repo.issues) == 1  # the incident report
    assert [entry.attempts for entry in releases_after_suspension(bot)] == [1]
    assert bot.journal.recent(status="failed") == []


def test_hotfix_bots_own_unsuspension_sent_to_the_webhook_is_ignored(clocked_bot: Bot) -> None:
    """GitHub sends no `unsuspend-inferred`: one signed and sent from outside, though it
    names the delivery a token granted would queue, is not taken (docs/BEHAVIOUR.md, "The
    webhook"): nothing of it runs."""
    bot = clocked_bot
    suspended(bot)
    assert bot.clock is not None
    installation = bot.repo.installation_id
    forged = f"unsuspend-inferred:{installation}:{bot.clock.moment().isoformat()}"
    payload = {"action": "unsuspend-inferred", "installation": {"id": installation}}

    with bot.counting() as requests:
        answer = bot.send("installation", payload, forged)
        bot.settle()

    assert answer.json() == {"delivery": forged, "status": "ignored"}
    [entry] = [entry for entry in bot.journal.recent() if entry.id == forged]
    assert (entry.status, entry.payload) == ("ignored", None)
    assert requests == []


def test_with_no_suspension_kept_a_token_granted_costs_one_read(
    bot_on_each_journal: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token GitHub grants is looked at once, not each delivery that uses it: one read of
    the suspension kept, and, none kept, nothing queued."""
    bot = bot_on_each_journal
    state = bot.journal.get_state
    read: list[str] = []

    async def counted(key: str) -> str | None:
        read.append(key)
        return await state(key)

    monkeypatch.setattr(bot.journal, "get_state", counted)
    pull = opened(bot, bot.repo, "feature/search", "1.3.0\n", [])
    bot.pull_request(pull.number, "edited")

    assert bot.fake.tokens_minted == {bot.repo.installation_id: 1}
    assert [key for key in read if key.startswith("suspension:")] == [
        f"suspension:{bot.repo.installation_id}"
    ]
    assert [entry.id for entry in bot.journal.recent()] == list(reversed(bot.sent))


def test_with_no_known_start_the_unsuspension_releases_nothing(clocked_bot: Bot) -> None:
    """Neither the `suspend` nor a refusal reached hotfix-bot: a hotfix merged meanwhile is
    left for people to release, as hotfix-bot cannot tell it from one merged before."""
    bot = clocked_bot
    suspended(bot, told=False)
    assert bot.clock is not None
    bot.clock.now += 60
    pull = merged_hotfix(bot)
    assert BY_HAND in bot.client.get("/").text

    unsuspended(bot)

    assert untouched(bot, pull)
    assert TAG not in bot.repo.tags
    assert bot.repo.branches[BRANCH]


def test_the_closed_pull_requests_are_listed_no_further_back_than_the_suspension(
    clocked_bot: Bot,
) -> None:
    """Of 101 pull requests closed before the suspension and a hotfix merged during it, the
    first page of 100, last updated first, holds the hotfix and ones updated before the
    suspension began: the page after it is never asked for."""
    bot = clocked_bot
    bot.repo.create_branch("feature/tried", "main")
    for _ in range(101):
        tried = bot.repo.open_pull("feature/tried", "main", title="Tried", author="dev")
        bot.repo.close_pull(tried.number)
    suspended(bot)
    assert bot.clock is not None
    bot.clock.now += 60
    pull = merged_hotfix(bot)
    develop_before = bot.repo.branches["develop"].sha

    with bot.counting() as requests:
        unsuspended(bot)

    assert_released_as_usual(bot, pull, develop_before)
    closed_pages = [
        request.query.get("page", "1")
        for request in requests
        if request.path == "/repos/acme/widgets/pulls" and request.query.get("state") == "closed"
    ]
    assert closed_pages == ["1"]


def test_a_hotfix_approved_and_merged_while_suspended_has_its_waiting_run_concluded(
    clocked_bot: Bot,
) -> None:
    """Its run waited for approvals, which came while the installation was suspended, as
    did the merge: the run is concluded as of the merge, as the merge's `closed` would have
    had it, before its post-merge steps, whose incident report then has both approvals."""
    bot = clocked_bot
    for slug, members in TEAMS.items():
        bot.fake.add_team("acme", slug, members)
    bot.repo.create_branch("develop", "main")
    pull = opened(bot, bot.repo, BRANCH, "1.2.4\n", ["hotfix", "P1"])
    assert policy(bot.repo, pull) == ("in_progress", None, P1_WAITING)
    suspended(bot)
    assert bot.clock is not None
    bot.clock.now += 60
    bot.repo.review(pull.number, "lead", "APPROVED")
    bot.repo.review(pull.number, "pm", "APPROVED")
    bot.repo.merge_pull(pull.number)

    unsuspended(bot)

    [release] = bot.repo.runs_named("hotfix-release", merge_sha(pull))
    assert (release.conclusion, release.output["title"]) == ("success", f"All steps done for {TAG}")
    assert policy(bot.repo, pull) == ("completed", "success", all_rules_pass())
    # Concluded before the record was written: both approvals are in its timeline.
    [issue] = reports_in(bot.repo)
    approvals = [row for row in timeline_rows(issue.body) if "Approved by @" in row]
    assert [("@lead" in row, "@pm" in row) for row in approvals] == [(True, False), (False, True)]


def test_a_suspend_delivered_after_its_unsuspension_starts_nothing(clocked_bot: Bot) -> None:
    """GitHub delivers the `suspend` late, after the unsuspension: it names a start already
    over. A hotfix merged after the unsuspension, whose `closed` hotfix-bot never got, is
    not taken for one merged during the next suspension, which hotfix-bot does not learn
    of."""
    bot = clocked_bot
    installation = bot.repo.installation_id
    assert bot.clock is not None
    bot.clock.now += 60
    bot.fake.suspend_installation(installation)
    late = bot.fake.installation_event(installation, "suspend")
    unsuspended(bot)
    bot.deliver("installation", late)
    bot.clock.now += 60
    pull = merged_hotfix(bot)
    suspended(bot, told=False)

    unsuspended(bot)

    assert untouched(bot, pull)
    assert [entry.status for entry in bot.journal.recent() if entry.event == "installation"] == [
        "done"
    ] * 3


def test_the_suspension_kept_is_the_earliest_start_and_no_late_word_reopens_an_ended_one(
    tmp_path: Path,
) -> None:
    """What each word of a suspension keeps: GitHub's `suspend` (`began`), a refusal the
    worker met (`met`) and the unsuspension handled (`ended`), whichever order they are
    recorded in."""
    journal = SqliteJournal(tmp_path / "journal.db")

    async def story() -> list[float | None]:
        seen: list[float | None] = []
        await suspensions.met(journal, 5, 1_100.0)  # a refusal first: the start for now
        await suspensions.began(journal, 5, 1_000.0)  # GitHub's earlier time replaces it
        seen.append(await suspensions.ongoing_since(journal, 5))
        # A later `suspend` while the first never ended (its unsuspension lost) keeps the
        # first start: looking back too far only finds steps done.
        assert not await suspensions.began(journal, 5, 1_500.0)
        seen.append(await suspensions.ongoing_since(journal, 5))
        await suspensions.ended(journal, 5, 2_000.0)
        # A refusal met, and a `suspend` said, before the unsuspension was handled, both
        # recorded after it: neither starts another.
        await suspensions.met(journal, 5, 1_990.0)
        assert not await suspensions.began(journal, 5, 1_995.0)
        seen.append(await suspensions.ongoing_since(journal, 5))
        await suspensions.met(journal, 5, 3_000.0)  # the next suspension
        seen.append(await suspensions.ongoing_since(journal, 5))
        return seen

    try:
        assert asyncio.run(story()) == [1_000.0, 1_000.0, None, 3_000.0]
    finally:
        journal.close()
