"""Notices sent to chat (NOTIFY_WEBHOOK_URL) as well, against the fake GitHub and a chat
webhook served on 127.0.0.1 by the test (docs/BEHAVIOUR.md, 'The record and the notices'):
each once, retried in the background, never holding up or failing the pull request's check,
and never a word of the webhook's URL in the logs."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable

import pytest
from pydantic import SecretStr
from support.chat import SECRET_PATH, ChatReceiver
from support.harness import (
    Bot,
    Clock,
    first_attempt_failed,
    next_chance,
    tried_to_the_end,
)
from support.live_server import wait_for

from app.chat import ChatWebhook
from app.journal import JournalEntry
from sandbox import FakePull

MINUTE, HOUR = 60, 3600


def open_p0(bot: Bot, *, settle: bool = True) -> FakePull:
    pull = bot.open_hotfix(labels=("hotfix", "P0"))
    payload = bot.fake.pull_request_event(bot.repo, pull.number, "opened")
    bot.send("pull_request", payload)
    if settle:
        bot.settle()
    return pull


def chat_deliveries(bot: Bot) -> list[JournalEntry]:
    return [entry for entry in bot.journal.recent() if entry.action == "chat"]


def comment_url(bot: Bot, pull: FakePull, notice: str) -> str:
    [comment] = [c for c in bot.repo.comments_on(pull.number) if notice in c.body]
    return f"https://github.com/acme/widgets/pull/{pull.number}#issuecomment-{comment.id}"


P0_ALERT = (
    "🚨 CRITICAL INCIDENT - Production Down\n\nStatus: Fix in review\n"
    "Started: 2026-12-04 20:30 UTC\nIncident Commander: @dev\n"
    "Deadline: 2026-12-04 22:30 UTC (2h after opening)\n\nCurrent Actions:\n"
    "- Reviewing the emergency fix, #1: Fix\n"
    "- Reminding the approvers at 15m and 4h, and the author at 4h after opening"
)
ESCALATION = (
    "@acme/engineering-leads @acme/on-call-managers: this **P0** hotfix has been open for "
    "**15m**. Deadline 2026-12-04 22:30 UTC (2h after opening): **1h45m left**.\n\n"
    "`hotfix-policy`: Waiting for approval: Engineering Lead and On-call Manager"
)


def test_each_notice_escalation_and_break_glass_goes_to_chat_once(
    chatty_bot: Bot, chat: ChatReceiver
) -> None:
    bot = chatty_bot
    pull = open_p0(bot)
    bot.pull_request(pull.number, "synchronize")  # evaluated again: nothing sent again
    bot.advance(15 * MINUTE)
    glass = bot.repo.add_comment(pull.number, "lead", "/hotfix break-glass checkout is down")
    bot.deliver("issue_comment", bot.fake.issue_comment_event(bot.repo, glass.id))
    bot.repo.merge_pull(pull.number, merged_by="lead")
    bot.pull_request(pull.number, "closed")
    bot.pull_request(pull.number, "closed")  # redelivered: nothing sent again
    [report] = [i for i in bot.repo.issues.values() if "incident-report" in i.labels]
    bot.advance(24 * HOUR)

    texts = chat.texts()
    assert [path for path, _ in chat.received] == [SECRET_PATH] * 5
    assert texts[0] == f"acme/widgets#1: {comment_url(bot, pull, 'p0-alert')}\n{P0_ALERT}"
    assert texts[1] == f"acme/widgets#1: {comment_url(bot, pull, 'escalation:')}\n{ESCALATION}"
    assert texts[2] == (
        f"acme/widgets#1: https://github.com/acme/widgets/pull/1#issuecomment-{glass.id}\n"
        "🔓 BREAK-GLASS on #1 (Fix) by @lead: checkout is down\n"
        "Its hotfix-policy check passes with every failing or waiting rule waived; a "
        "retroactive review is opened after the merge."
    )
    assert texts[3].startswith(
        f"acme/widgets#1: {comment_url(bot, pull, 'resolution:')}\n"
        "✅ RESOLVED - Production Restored\n"
    )
    assert texts[4] == (
        f"acme/widgets#{report.number}: https://github.com/acme/widgets/issues/"
        f"{report.number}#issuecomment-{bot.repo.comments_on(report.number)[0].id}\n"
        f"@dev: this incident report of #1 was due 2026-12-05 20:45 UTC and the issue is "
        "still open. Please fill it in, and close the issue once it is reviewed."
    )
    assert {(entry.status, entry.attempts) for entry in chat_deliveries(bot)} == {("done", 1)}


# What people write that would ping a whole Slack or Mattermost channel, mention someone or
# show a link with other words there.
TITLE = "Fix <!channel> & <https://evil.example|login> for @here, cc <@U123> @all-hands"
REASON = "<!here> checkout &amp; cart are down @channel. <!everyone>"


def test_text_people_wrote_pings_no_channel_and_disguises_no_link_in_chat(
    chatty_bot: Bot, chat: ChatReceiver
) -> None:
    bot = chatty_bot
    pull = bot.open_hotfix(labels=("hotfix", "P0"))
    pull.title = TITLE
    bot.pull_request(pull.number, "opened")
    glass = bot.repo.add_comment(pull.number, "lead", f"/hotfix break-glass {REASON}")
    bot.deliver("issue_comment", bot.fake.issue_comment_event(bot.repo, glass.id))

    title = (
        "Fix &lt;!channel&gt; &amp; &lt;https://evil.example|login&gt; for @\u200dhere, cc "
        "&lt;@U123&gt; @\u200dall-hands"
    )
    assert chat.received == [
        (
            SECRET_PATH,
            {
                "text": f"acme/widgets#1: {comment_url(bot, pull, 'p0-alert')}\n"
                + P0_ALERT.replace("#1: Fix", f"#1: {title}")
            },
        ),
        (
            SECRET_PATH,
            {
                "text": "acme/widgets#1: https://github.com/acme/widgets/pull/1#issuecomment-"
                f"{glass.id}\n🔓 BREAK-GLASS on #1 ({title}) by @lead: &lt;!here&gt; "
                "checkout &amp;amp; cart are down @\u200dchannel. &lt;!everyone&gt;\n"
                "Its hotfix-policy check passes with every failing or waiting rule waived; a "
                "retroactive review is opened after the merge."
            },
        ),
    ]
    # GitHub shows the notice as it was written.
    [alert] = [c for c in bot.repo.comments_on(pull.number) if "p0-alert" in c.body]
    assert f"- Reviewing the emergency fix, #1: {TITLE}\n" in alert.body


@pytest.mark.parametrize(
    ("text", "sent"),
    [
        # Slack's control characters, so that it reads none of its own forms.
        ("<!channel> <!here|here> <@U123>", "&lt;!channel&gt; &lt;!here|here&gt; &lt;@U123&gt;"),
        (
            "<https://evil.example|click> & &lt;",
            "&lt;https://evil.example|click&gt; &amp; &amp;lt;",
        ),
        # Mattermost's channel-wide mentions, however it finds them as a word.
        (
            "@Channel: @ALL_ (@here) x.@here",
            "@\u200dChannel: @\u200dALL_ (@\u200dhere) x.@\u200dhere",
        ),
        # Other mentions are left as they are: people, teams, words that only begin alike.
        (
            "@lead @acme/all @hereafter @channel_ops @allé dev@here.example",
            "@lead @acme/all @hereafter @channel_ops @allé dev@here.example",
        ),
    ],
    ids=["Slack mentions", "Slack links and entities", "channel-wide", "other mentions"],
)
def test_chat_is_sent_text_that_pings_nobody_it_does_not_name(
    chat: ChatReceiver, text: str, sent: str
) -> None:
    asyncio.run(ChatWebhook(SecretStr(chat.url)).post(text))

    assert chat.received == [(SECRET_PATH, {"text": sent})]


def test_the_reminder_to_confirm_a_verbal_approval_goes_to_chat_too(
    chatty_bot: Bot, chat: ChatReceiver
) -> None:
    bot = chatty_bot
    pull = open_p0(bot)
    verbal = bot.repo.add_comment(pull.number, "lead", "/hotfix verbal-approval @oncall")
    bot.deliver("issue_comment", bot.fake.issue_comment_event(bot.repo, verbal.id))
    bot.repo.review(pull.number, "lead", "APPROVED")
    bot.deliver("pull_request_review", bot.fake.review_event(bot.repo, pull.number))
    bot.repo.merge_pull(pull.number, merged_by="lead")
    bot.pull_request(pull.number, "closed")

    bot.advance(24 * HOUR + MINUTE)

    reminder = comment_url(bot, pull, "confirmation-reminder:")
    assert (
        f"acme/widgets#1: {reminder}\n@oncall: a verbal approval recorded for you let hotfix #1 "
        "merge, and it is still unconfirmed. Please approve the pull request or comment "
        "`/hotfix confirm`."
    ) in chat.texts()


def opened_p1_with_develop(bot: Bot) -> FakePull:
    """A P1 hotfix opened, with a develop branch for its back-merge once it is merged."""
    bot.repo.create_branch("develop", "main")
    pull = bot.open_hotfix(labels=("hotfix", "P1"))
    bot.pull_request(pull.number, "opened")
    return pull


def test_a_notice_posted_before_its_report_goes_to_chat_once_and_is_edited_to_link_it(
    chatty_bot: Bot, chat: ChatReceiver
) -> None:
    bot = chatty_bot
    pull = opened_p1_with_develop(bot)
    # GitHub refuses the incident report once: the notice is posted and sent all the same.
    refused = {"message": "Resource not accessible by integration"}
    bot.fake.inject("POST", "/repos/acme/widgets/issues$", status=403, times=1, body=refused)
    sha = bot.repo.merge_pull(pull.number, merged_by="lead")
    bot.pull_request(pull.number, "closed")
    wait_for(lambda: chat.received)
    [comment] = [c for c in bot.repo.comments_on(pull.number) if "resolution:" in c.body]
    unopened = comment.body.partition("\n")[2]
    assert unopened.endswith(
        "\n\nIncident report: not opened yet, due 2026-12-06 20:30 UTC\n"
        "Thank you for your patience."
    )
    sent = [f"acme/widgets#1: {comment_url(bot, pull, 'resolution:')}\n{unopened}"]
    assert chat.texts() == sent

    bot.fake.faults.clear()
    [run] = bot.repo.runs_named("hotfix-release", sha)
    bot.deliver("check_run", bot.fake.check_run_event(bot.repo, run.id))
    bot.deliver("check_run", bot.fake.check_run_event(bot.repo, run.id))

    [report] = [i for i in bot.repo.issues.values() if "incident-report" in i.labels]
    link = f"[#{report.number}](https://github.com/acme/widgets/issues/{report.number})"
    assert comment.body.partition("\n")[2] == unopened.replace("not opened yet", link)
    # Chat keeps what it was told: no second message.
    assert chat.texts() == sent
    assert [(entry.status, entry.attempts) for entry in chat_deliveries(bot)] == [("done", 1)]


def test_chat_off_in_the_repository_sends_nothing(chatty_bot: Bot, chat: ChatReceiver) -> None:
    bot = chatty_bot
    bot.repo.commit("main", {".github/hotfix.yml": "notify: {chat: false}\n"}, "No chat")
    pull = open_p0(bot)
    bot.advance(15 * MINUTE)

    assert [c.body.split("\n")[0] for c in bot.repo.comments_on(pull.number)] == [
        "<!-- hotfix-bot notice p0-alert:acme/widgets#1 -->",
        "<!-- hotfix-bot notice escalation:acme/widgets#1:P0:15m -->",
    ]
    assert chat.received == []
    assert chat_deliveries(bot) == []


def merged_p2_and_its_revert(bot: Bot) -> tuple[FakePull, FakePull]:
    """A P2 hotfix merged, and dana's revert of it shipping the rollback as 1.2.5, unmerged."""
    bot.repo.create_branch("develop", "main")
    hotfix = bot.open_hotfix(labels=("hotfix", "P2"))
    bot.repo.merge_pull(hotfix.number)
    bot.pull_request(hotfix.number, "closed")
    revert = bot.repo.revert_pull(hotfix.number, author="dana")
    bot.repo.commit(revert.head_ref, {"VERSION": "1.2.5\n"}, "Ship the rollback as 1.2.5")
    return hotfix, revert


def test_a_rollback_notice_goes_to_chat_once_in_the_repository_s_own_words(
    chatty_bot: Bot, chat: ChatReceiver
) -> None:
    bot = chatty_bot
    template = "ROLLED BACK {severity} #{number} ({title}) of {author}: {reason}. {rolled_back_by}"
    config = f"notices:\n  templates:\n    rollback: '{template}'\n"
    bot.repo.commit("main", {".github/hotfix.yml": config}, "Our own rollback notice")
    hotfix, revert = merged_p2_and_its_revert(bot)
    revert_pull = bot.repo.pulls[revert.number]
    assert revert_pull.body is not None
    revert_pull.body += "\n\nLogins fail for SSO users."
    bot.repo.merge_pull(revert.number, merged_by="dana")

    bot.pull_request(revert.number, "closed")
    bot.pull_request(revert.number, "closed")  # redelivered: nothing sent again
    wait_for(lambda: chat.received)

    notice = (
        "ROLLED BACK P2 #1 (Fix) of @dev: Logins fail for SSO users. Rolled back by #2 (Revert "
        '"Fix"), released as v1.2.5.'
    )
    [comment] = [c for c in bot.repo.comments_on(hotfix.number) if "ROLLED BACK" in c.body]
    assert comment.body == f"<!-- hotfix-bot:rollback-notice #2 -->\n{notice}"
    assert chat.texts() == [f"acme/widgets#1: {comment_url(bot, hotfix, 'ROLLED BACK')}\n{notice}"]
    assert {(entry.status, entry.attempts) for entry in chat_deliveries(bot)} == {("done", 1)}


def test_a_rollback_notice_goes_to_chat_naming_the_tag_when_no_release_is_made(
    chatty_bot: Bot, chat: ChatReceiver
) -> None:
    bot = chatty_bot
    bot.repo.commit("main", {".github/hotfix.yml": "release: false\n"}, "Tags, no releases")
    hotfix, revert = merged_p2_and_its_revert(bot)
    bot.repo.merge_pull(revert.number, merged_by="dana")

    bot.pull_request(revert.number, "closed")
    wait_for(lambda: chat.received)

    assert chat.texts() == [
        f"acme/widgets#1: {comment_url(bot, hotfix, 'ROLLBACK')}\n"
        "🔄 ROLLBACK COMPLETE\n\n"
        "The hotfix has been rolled back due to a problem found after its release (see #2).\n"
        "System is now stable on previous version.\n"
        "We are investigating the issue and will provide updates.\n\n"
        'Rolled back by #2 (Revert "Fix"), tagged v1.2.5.'
    ]
    assert bot.repo.releases == {}


REFUSED = {"message": "Resource not accessible by integration"}
COMMENTS = "/repos/acme/widgets/issues/1/comments"
NOT_POSTED = "**Notices not posted on this pull request**:\n"
ESCALATION_ID = "escalation:acme/widgets#1:P0:15m"


def test_a_p0_alert_github_refuses_goes_to_chat_and_on_the_run_and_the_evaluation_goes_on(
    chatty_bot: Bot, chat: ChatReceiver
) -> None:
    bot = chatty_bot
    # The App may not comment on the pull request: the alert is refused, for good.
    bot.fake.inject("POST", f"{COMMENTS}$", status=403, times=None, body=REFUSED)
    pull = open_p0(bot)
    glass = bot.repo.add_comment(pull.number, "lead", "/hotfix break-glass db is down")
    bot.deliver("issue_comment", bot.fake.issue_comment_event(bot.repo, glass.id))

    # Chat has the alert, linking no comment, and the break-glass.
    assert chat.texts() == [
        f"acme/widgets#1\n{P0_ALERT}",
        f"acme/widgets#1: https://github.com/acme/widgets/pull/1#issuecomment-{glass.id}\n"
        "🔓 BREAK-GLASS on #1 (Fix) by @lead: db is down\n"
        "Its hotfix-policy check passes with every failing or waiting rule waived; a "
        "retroactive review is opened after the merge.",
    ]
    run = bot.policy_run(pull.head_sha)
    assert (run.conclusion, run.output["title"]) == ("success", "Break-glass by @lead: db is down")
    assert (
        f"{NOT_POSTED}- P0 alert: GitHub answered 403 to POST {COMMENTS}: Resource not "
        "accessible by integration; sent to chat only\n\nConfig: "
    ) in run.output["summary"]
    assert [(e.event, e.action, e.status) for e in bot.journal.recent() if e.event != "timer"] == [
        ("issue_comment", "created", "done"),
        ("pull_request", "opened", "done"),
    ]

    bot.fake.faults.clear()
    bot.repo.merge_pull(pull.number, merged_by="lead")
    bot.pull_request(pull.number, "closed")

    # What the break-glass waived was kept by the evaluations the refusal did not cut short.
    [review] = [i for i in bot.repo.issues.values() if "hotfix-retro-review" in i.labels]
    assert (
        "What the break-glass waived:\n- `approvals`: Engineering Lead "
        "(@acme/engineering-leads), On-call Manager (@acme/on-call-managers)\n"
    ) in review.body
    # A refused alert is not tried again: not on GitHub, not in chat.
    assert notices_on(bot, pull) == ["resolution:acme/widgets#1"]
    assert len(chat.texts()) == 3 and chat.texts()[2].startswith(
        f"acme/widgets#1: {comment_url(bot, pull, 'resolution:')}\n✅ RESOLVED"
    )


def test_an_escalation_github_refuses_goes_to_chat_and_on_the_run_and_in_the_timeline(
    chatty_bot: Bot, chat: ChatReceiver
) -> None:
    bot = chatty_bot
    pull = open_p0(bot)
    bot.fake.inject("POST", f"{COMMENTS}$", status=403, times=None, body=REFUSED)

    bot.advance(15 * MINUTE)

    assert chat.texts()[1:] == [f"acme/widgets#1\n{ESCALATION}"]
    assert notices_on(bot, pull) == ["p0-alert:acme/widgets#1"]
    summary = bot.policy_run(pull.head_sha).output["summary"]
    assert summary.startswith(
        "**Severity P0**: merge within 2h of opening, by 2026-12-04 22:30 UTC: 1h45m left as "
        "of 20:45 UTC.\n"
    )
    assert (
        f"{NOT_POSTED}- Escalation after 15m (@acme/engineering-leads and "
        f"@acme/on-call-managers): GitHub answered 403 to POST {COMMENTS}: Resource not "
        "accessible by integration; sent to chat only\n\nConfig: "
    ) in summary
    stored = asyncio.run(bot.journal.get_state("timeline:acme/widgets#1"))
    assert [row["text"] for row in json.loads(stored or "[]") if row["kind"] == "escalation"] == [
        "Escalation after 15m: GitHub refused the comment reminding "
        "`@acme/engineering-leads` and `@acme/on-call-managers`"
    ]
    [step] = [entry for entry in bot.journal.recent() if entry.id == ESCALATION_ID]
    assert (step.status, step.attempts, step.last_error) == ("done", 1, None)

    # Run again by hand, the step finds it was refused: nothing more, on GitHub or in chat.
    asyncio.run(bot.journal.redeliver(ESCALATION_ID))
    bot.settle()
    assert len(chat.texts()) == 2
    assert notices_on(bot, pull) == ["p0-alert:acme/widgets#1"]


def test_an_escalation_comment_failing_through_its_attempts_goes_to_chat_once_and_later_to_github(
    chatty_bot: Bot, chat: ChatReceiver, clock: Clock, no_jitter: None
) -> None:
    bot = chatty_bot
    pull = open_p0(bot)
    bot.fake.inject("POST", f"{COMMENTS}$", status=502, times=None)

    clock.now += 15 * MINUTE
    waiting = next_chance(bot, clock, ESCALATION_ID)

    # Its last attempt in line (127 s late) sent it to chat; the timer waits for a later
    # chance, and the run tells of no refusal.
    assert (waiting.status, waiting.attempts) == ("queued", 8)
    wait_for(lambda: len(chat.received) == 2)
    assert chat.texts()[1:] == [
        "acme/widgets#1\n@acme/engineering-leads @acme/on-call-managers: this **P0** hotfix has "
        "been open for **17m**. Deadline 2026-12-04 22:30 UTC (2h after opening): **1h42m "
        "left**.\n\n`hotfix-policy`: Waiting for approval: Engineering Lead and On-call Manager"
        "\n\nThis reminder was due at 2026-12-04 20:45 UTC; hotfix-bot sends it 2m late."
    ]
    assert notices_on(bot, pull) == ["p0-alert:acme/widgets#1"]
    assert NOT_POSTED not in bot.policy_run(pull.head_sha).output["summary"]

    bot.fake.faults.clear()
    clock.now = waiting.next_attempt_at
    bot.settle()

    assert notices_on(bot, pull) == ["p0-alert:acme/widgets#1", ESCALATION_ID]
    [comment] = [c for c in bot.repo.comments_on(pull.number) if ESCALATION_ID in c.body]
    assert comment.body.endswith("hotfix-bot sends it 17m late.")
    assert len(chat.texts()) == 2
    [step] = [entry for entry in bot.journal.recent() if entry.id == ESCALATION_ID]
    assert (step.status, step.attempts) == ("done", 9)


WAITING = "Waiting for approval: Engineering Lead and On-call Manager"


@pytest.mark.parametrize("posted", [False, True], ids=["not posted", "posted, answer lost"])
def test_a_p0_alert_github_fails_once_does_not_hold_the_run_back_and_is_posted_once_by_the_retry(
    chatty_bot: Bot, chat: ChatReceiver, clock: Clock, posted: bool
) -> None:
    bot = chatty_bot
    # `posted`: GitHub made the comment, but its answer was a 502.
    bot.fake.inject("POST", f"{COMMENTS}$", status=502, times=1, apply=posted)
    pull = open_p0(bot, settle=False)

    failed = first_attempt_failed(bot)

    # The run is written all the same, telling of no failure: it may pass.
    run = bot.policy_run(pull.head_sha)
    assert (run.status, run.output["title"]) == ("in_progress", WAITING)
    assert NOT_POSTED not in run.output["summary"]
    assert (failed.status, failed.attempts, failed.last_error) == (
        "queued",
        1,
        f"GitHub answered 502 to POST {COMMENTS}: Bad Gateway",
    )
    assert chat.texts() == []

    entry = tried_to_the_end(bot, clock)

    assert (entry.status, entry.attempts) == ("done", 2)
    assert notices_on(bot, pull) == ["p0-alert:acme/widgets#1"]
    wait_for(lambda: chat.received)
    assert chat.texts() == [f"acme/widgets#1: {comment_url(bot, pull, 'p0-alert')}\n{P0_ALERT}"]
    assert bot.policy_run(pull.head_sha).output["title"] == WAITING


def test_a_p0_alert_github_fails_through_every_attempt_is_shown_then_posted_by_the_next_evaluation(
    chatty_bot: Bot, chat: ChatReceiver, clock: Clock
) -> None:
    bot = chatty_bot
    failing = bot.fake.inject("POST", f"{COMMENTS}$", status=502, times=None)
    pull = open_p0(bot, settle=False)

    entry = tried_to_the_end(bot, clock)

    # The last attempt shows it on the run and sends it to chat, as a refusal would be.
    assert (entry.status, entry.attempts) == ("done", 8)
    assert notices_on(bot, pull) == []
    wait_for(lambda: chat.received)
    assert chat.texts() == [f"acme/widgets#1\n{P0_ALERT}"]
    summary = bot.policy_run(pull.head_sha).output["summary"]
    assert (
        f"{NOT_POSTED}- P0 alert: GitHub answered 502 to POST {COMMENTS}: Bad Gateway; "
        "sent to chat only\n\nConfig: "
    ) in summary

    # GitHub is back: the pull request's next event posts it, and the run's line goes.
    failing.times = failing.hits
    bot.pull_request(pull.number, "edited")

    assert notices_on(bot, pull) == ["p0-alert:acme/widgets#1"]
    run = bot.policy_run(pull.head_sha)
    assert (run.output["title"], NOT_POSTED in run.output["summary"]) == (WAITING, False)
    bot.settle()
    assert len(chat.texts()) == 1  # chat had it already

    # Posted: later evaluations leave it alone.
    with bot.counting() as requests:
        bot.pull_request(pull.number, "edited")
    assert [r.path for r in requests if r.path.endswith("/comments")] == []


def test_a_rollback_notice_github_refuses_goes_to_chat_once_and_not_again_when_a_rerun_posts_it(
    chatty_bot: Bot, chat: ChatReceiver
) -> None:
    bot = chatty_bot
    hotfix, revert = merged_p2_and_its_revert(bot)
    bot.repo.merge_pull(revert.number, merged_by="dana")
    bot.fake.inject("POST", f"{COMMENTS}$", status=403, times=None, body=REFUSED)

    bot.pull_request(revert.number, "closed")
    wait_for(lambda: chat.received)

    [sent] = chat.texts()
    assert sent.startswith("acme/widgets#1\n🔄 ROLLBACK COMPLETE\n")
    assert not [c for c in bot.repo.comments_on(hotfix.number) if "ROLLBACK" in c.body]

    bot.fake.faults.clear()
    [run] = bot.repo.runs_named("hotfix-release", revert.merge_commit_sha)
    bot.deliver("check_run", bot.fake.check_run_event(bot.repo, run.id))

    [comment] = [c for c in bot.repo.comments_on(hotfix.number) if "ROLLBACK" in c.body]
    assert sent == f"acme/widgets#1\n{comment.body.partition(chr(10))[2]}"
    assert chat.texts() == [sent]


def test_a_resolution_notice_github_refuses_goes_to_chat_once_and_not_again_when_a_rerun_posts_it(
    chatty_bot: Bot, chat: ChatReceiver
) -> None:
    bot = chatty_bot
    pull = opened_p1_with_develop(bot)
    # The post-merge run's first comment is the notice.
    bot.fake.inject("POST", f"{COMMENTS}$", status=403, times=1, body=REFUSED)
    sha = bot.repo.merge_pull(pull.number, merged_by="lead")
    bot.pull_request(pull.number, "closed")

    [run] = bot.repo.runs_named("hotfix-release", sha)
    assert (
        f"| Resolution notice | ❌ failed | GitHub answered 403 to POST {COMMENTS}: Resource "
        "not accessible by integration |   |\n"
    ) in run.output["summary"]
    [sent] = chat.texts()
    assert sent.startswith("acme/widgets#1\n✅ RESOLVED - Production Restored\n")

    bot.deliver("check_run", bot.fake.check_run_event(bot.repo, run.id))

    [comment] = [c for c in bot.repo.comments_on(pull.number) if "resolution:" in c.body]
    assert sent == f"acme/widgets#1\n{comment.body.partition(chr(10))[2]}"
    assert chat.texts() == [sent]
    assert [(entry.status, entry.attempts) for entry in chat_deliveries(bot)] == [("done", 1)]


def notices_on(bot: Bot, pull: FakePull) -> list[str]:
    """The ids of the notices posted on the pull request, in order."""
    prefix = "<!-- hotfix-bot notice "
    return [
        c.body.partition("\n")[0].removeprefix(prefix).removesuffix(" -->")
        for c in bot.repo.comments_on(pull.number)
        if c.body.startswith(prefix)
    ]


def test_a_chat_answering_500_is_retried_and_the_check_is_not_held_up(
    chatty_bot: Bot, chat: ChatReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    bot = chatty_bot
    chat.answers = [500]
    with caplog.at_level(logging.DEBUG):
        pull = open_p0(bot, settle=False)
        wait_for(lambda: chat_deliveries(bot) and chat_deliveries(bot)[0].attempts == 1)
        wait_for(lambda: chat_deliveries(bot)[0].status == "queued")
        [waiting] = chat_deliveries(bot)
        run = bot.policy_run(pull.head_sha)
        assert (run.status, run.output["title"]) == (
            "in_progress",
            "Waiting for approval: Engineering Lead and On-call Manager",
        )
        assert waiting.last_error == "ChatUndelivered: chat answered 500"
        # The pull request's next delivery runs while the message waits for its retry.
        bot.repo.review(pull.number, "lead", "APPROVED")
        bot.send("pull_request_review", bot.fake.review_event(bot.repo, pull.number))
        wait_for(lambda: bot.policy_run(pull.head_sha).output["title"].endswith("On-call Manager"))
        assert chat_deliveries(bot)[0].status == "queued"

        bot.advance(2)  # the backoff, on the journal's clock

    [sent] = chat_deliveries(bot)
    assert (sent.status, sent.attempts) == ("done", 2)
    assert len(chat.received) == 2 and chat.received[0] == chat.received[1]
    assert "attempt 1 failed, retrying in " in caplog.text
    assert_no_secret_in(caplog)


def test_a_chat_message_sent_late_says_when_it_was_written(
    chatty_bot: Bot, chat: ChatReceiver
) -> None:
    bot = chatty_bot
    chat.answers = [500]
    open_p0(bot, settle=False)
    wait_for(lambda: chat_deliveries(bot) and chat_deliveries(bot)[0].status == "queued")

    bot.advance(5 * 60)  # chat came back only 5 minutes later

    [sent] = chat_deliveries(bot)
    assert sent.status == "done"
    assert chat.texts()[-1].endswith(
        "\n\n(Written 2026-12-04 20:30 UTC; hotfix-bot sends it 5m late.)"
    )
    assert "(Written" not in chat.texts()[0]  # the attempt chat refused


def test_a_chat_that_hangs_costs_an_attempt_its_timeout_and_never_holds_up_the_check(
    chatty_bot: Bot, chat: ChatReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    bot = chatty_bot
    chat.answers = [None]  # the first attempt hangs; the retry is answered
    started = time.monotonic()
    with caplog.at_level(logging.DEBUG):
        pull = open_p0(bot, settle=False)
        wait_for(chat.hanging.is_set)
        # While the message hangs, the pull request's deliveries run.
        wait_for(lambda: bot.repo.runs_named("hotfix-policy", pull.head_sha))
        bot.repo.review(pull.number, "lead", "APPROVED")
        bot.send("pull_request_review", bot.fake.review_event(bot.repo, pull.number))
        wait_for(lambda: bot.policy_run(pull.head_sha).output["title"].endswith("On-call Manager"))
        assert chat_deliveries(bot)[0].status == "running"

        wait_for(lambda: chat_deliveries(bot)[0].status == "queued")
        given_up_after = time.monotonic() - started
        [waiting] = chat_deliveries(bot)
        assert (waiting.attempts, waiting.last_error) == (
            1,
            "ChatUndelivered: chat did not answer within 2 s",
        )
        bot.advance(2)

    assert 2 <= given_up_after < 10
    [sent] = chat_deliveries(bot)
    assert (sent.status, sent.attempts) == ("done", 2)
    assert len(chat.received) == 2
    assert_no_secret_in(caplog)


# Each attempt given longer than the test takes: none gives up while the review runs.
@pytest.mark.parametrize("chatty_bot", [60.0], indirect=True)
def test_messages_to_a_hanging_chat_hold_none_of_the_slots_github_s_work_runs_on(
    chatty_bot: Bot, chat: ChatReceiver
) -> None:
    bot = chatty_bot
    chat.answers = [None] * 8  # every first attempt hangs
    pulls = [
        bot.open_hotfix(branch=f"hotfix/fix-{number}", labels=("hotfix", "P0"))
        for number in range(1, 9)
    ]
    for pull in pulls:
        bot.send("pull_request", bot.fake.pull_request_event(bot.repo, pull.number, "opened"))
    # Eight P0 alerts for chat, as many as the worker has slots for GitHub's work.
    wait_for(lambda: len(chat_deliveries(bot)) == 8 and len(chat.received) >= 4)

    bot.repo.review(pulls[0].number, "lead", "APPROVED")
    bot.send("pull_request_review", bot.fake.review_event(bot.repo, pulls[0].number))
    wait_for(
        lambda: (
            bot.policy_run(pulls[0].head_sha).output["title"]
            == "Waiting for approval: On-call Manager"
        )
    )

    # The review ran while four messages waited on chat, and the other four in the journal
    # for a slot of theirs.
    assert (
        sorted((entry.status, entry.attempts) for entry in chat_deliveries(bot))
        == [("queued", 0)] * 4 + [("running", 1)] * 4
    )
    assert len(chat.received) == 4


@pytest.mark.parametrize("chatty_bot", [60.0], indirect=True)
def test_messages_to_a_hanging_chat_are_claimed_four_at_a_time_and_another_installation_goes_on(
    chatty_bot: Bot, chat: ChatReceiver
) -> None:
    """acme's eight P0 alerts hang on chat: four run, and the journal keeps the other four
    queued rather than claimed, where they would count in acme's turn; globex's pull request
    is evaluated at once meanwhile."""
    bot = chatty_bot
    chat.answers = [None] * 8  # every first attempt hangs
    app_id = bot.fake.installations[bot.repo.installation_id].app_id
    installation = bot.fake.add_installation(app_id, account="globex")
    gadgets = bot.fake.add_repo("globex/gadgets", installation, files={"VERSION": "1.2.3\n"})
    running: list[int] = []  # how many messages the journal said were running, each look

    def looking(condition: Callable[[], object]) -> Callable[[], object]:
        def look() -> object:
            running.append(sum(1 for e in bot.journal.recent("running") if e.action == "chat"))
            return condition()

        return look

    for number in range(1, 9):
        pull = bot.open_hotfix(branch=f"hotfix/fix-{number}", labels=("hotfix", "P0"))
        bot.send("pull_request", bot.fake.pull_request_event(bot.repo, pull.number, "opened"))
    wait_for(looking(lambda: len(chat_deliveries(bot)) == 8 and len(chat.received) >= 4))

    gadgets.create_branch("hotfix/fix-login", "main")
    gadgets.commit("hotfix/fix-login", {"VERSION": "1.2.4\n"}, "Fix")
    pull = gadgets.open_pull(
        "hotfix/fix-login", "main", title="Fix", author="dev", labels=["hotfix", "P1"]
    )
    bot.send("pull_request", bot.fake.pull_request_event(gadgets, pull.number, "opened"))
    # Within wait_for's 30 s: before any message's 60 s attempt could give up.
    wait_for(looking(lambda: gadgets.runs_named("hotfix-policy", pull.head_sha)))

    assert max(running) == 4
    assert (
        sorted((entry.status, entry.attempts) for entry in chat_deliveries(bot))
        == [("queued", 0)] * 4 + [("running", 1)] * 4
    )
    assert len(chat.received) == 4


def test_p0_alerts_go_to_chat_while_github_hangs_on_every_slot_of_github_s_work(
    chatty_bot: Bot, chat: ChatReceiver
) -> None:
    """Eight P0 pull requests are opened while GitHub hangs on every check run written: each
    evaluation posts its alert, then holds one of the 8 slots of GitHub's work, hanging on
    its run. The alerts go to chat meanwhile, on the slots set aside: the on-call people
    are told while the evaluations still hang, not once GitHub gives up on them."""
    bot = chatty_bot
    bot.fake.inject("POST", r"/check-runs$", hang=True, times=None)
    # Each evaluation reads its pull request 2 s late, before it writes its alert: all 8 are
    # running by then, so that every alert comes due with GitHub's slots all taken.
    bot.fake.inject("GET", r"/pulls/\d+$", delay=2, times=8)
    pulls = [
        bot.open_hotfix(
            branch=f"hotfix/fix-{number}",
            files={f"fix-{number}.txt": "fixed\n"},  # a head commit, and a run, each
            labels=("hotfix", "P0"),
        )
        for number in range(1, 9)
    ]
    for pull in pulls:
        bot.send("pull_request", bot.fake.pull_request_event(bot.repo, pull.number, "opened"))

    # An alert goes out as soon as it is kept: maybe before its evaluation writes its run.
    wait_for(lambda: len(chat.received) == 8)
    wait_for(lambda: len(bot.fake.requests_to("POST", "/repos/acme/widgets/check-runs")) == 8)

    evaluations = [entry for entry in bot.journal.recent() if entry.event == "pull_request"]
    assert [(entry.status, entry.attempts) for entry in evaluations] == [("running", 1)] * 8
    assert sorted(chat.texts()) == sorted(
        f"acme/widgets#{pull.number}: {comment_url(bot, pull, 'p0-alert')}\n"
        + P0_ALERT.replace("#1: Fix", f"#{pull.number}: Fix")
        for pull in pulls
    )


def assert_no_secret_in(caplog: pytest.LogCaptureFixture) -> None:
    """No log line, nor the journal's errors, holds the webhook's URL or its token."""
    assert caplog.records
    for record in caplog.records:
        line = logging.Formatter().format(record)
        assert "s3cr3t" not in line and SECRET_PATH not in line, line


def test_chat_is_reached_through_the_proxy_the_environment_names_unless_no_proxy_says_not(
    chat: ChatReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As GitHub's requests go: a server behind a proxy reaches chat through it."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    proxy = chat.url.removesuffix(SECRET_PATH)
    monkeypatch.setenv("HTTP_PROXY", proxy)
    behind_the_proxy = f"http://chat.example.invalid{SECRET_PATH}"

    asyncio.run(ChatWebhook(SecretStr(behind_the_proxy)).post("through the proxy"))
    # Written without a scheme, as it often is: an HTTP proxy.
    monkeypatch.setenv("HTTP_PROXY", proxy.removeprefix("http://"))
    asyncio.run(ChatWebhook(SecretStr(behind_the_proxy)).post("through it again"))
    # NO_PROXY names the chat's host: it is reached directly, not through the proxy (which is
    # gone now, so an attempt through it would fail).
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    asyncio.run(ChatWebhook(SecretStr(chat.url)).post("directly"))

    # A proxy is asked for the whole URL, a server for its path.
    assert chat.received == [
        (behind_the_proxy, {"text": "through the proxy"}),
        (behind_the_proxy, {"text": "through it again"}),
        (SECRET_PATH, {"text": "directly"}),
    ]
