"""An on-call night, end to end: a P0 hotfix driven through hotfix-bot's outside only (signed
deliveries, the fake GitHub's state afterwards, the messages a chat webhook on 127.0.0.1
receives), with the mistakes people make in a hurry, on a clock the test moves across a
year's end (docs/BEHAVIOUR.md, 'Comment commands', 'The incident clock', 'The record and the
notices')."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.chat import ChatReceiver
from support.harness import Bot, Clock, approvals_row, running_bot, staff

from sandbox import FakeIssue, FakePull

MINUTE, HOUR = 60, 3600
WEB = "https://github.com/acme/widgets"
BOT = "hotfix-bot[bot]"
# hotfix-bot's answer to a refused command lists the forms it takes.
FORMS = (
    "Commands hotfix-bot takes, as the first line of a pull request comment:\n"
    "- `/hotfix verbal-approval @login [note]`\n"
    "- `/hotfix break-glass <reason>`\n"
    "- `/hotfix break-glass off`\n"
    "- `/hotfix confirm`"
)


@pytest.fixture
def night(tmp_path: Path, private_key_pem: str, chat: ChatReceiver) -> Iterator[Bot]:
    """hotfix-bot with a chat, on a clock standing at 2026-12-31 23:50 UTC; acme's teams,
    its people's access to acme/widgets, and a develop branch to merge back into."""
    clock = Clock(datetime(2026, 12, 31, 23, 50, tzinfo=UTC).timestamp())
    with running_bot(
        tmp_path, private_key_pem, clock=clock, chat_timeout=2.0, NOTIFY_WEBHOOK_URL=chat.url
    ) as bot:
        staff(
            bot,
            {"dev": "write", "dana": "write", "lead": "maintain", "oncall": "write", "eve": "read"},
        )
        bot.repo.create_branch("develop", "main")
        yield bot


def open_p0(bot: Bot) -> FakePull:
    """A P0 hotfix by dev, opened now."""
    pull = bot.open_hotfix(labels=("hotfix", "P0"))
    bot.pull_request(pull.number, "opened")
    return pull


def merge(bot: Bot, pull: FakePull, by: str) -> str:
    """`by` merges the pull request, and GitHub says so: the merge commit."""
    sha = bot.repo.merge_pull(pull.number, merged_by=by)
    bot.pull_request(pull.number, "closed")
    return sha


def say(bot: Bot, pull: FakePull, login: str, body: str) -> int:
    """`login` comments `body` on the pull request, and GitHub delivers it; its id."""
    comment = bot.repo.add_comment(pull.number, login, body)
    bot.deliver("issue_comment", bot.fake.issue_comment_event(bot.repo, comment.id))
    return comment.id


def reactions(bot: Bot, comment_id: int) -> list[tuple[str, str]]:
    return [(reaction.content, reaction.user) for reaction in bot.repo.reactions_to(comment_id)]


def replies_to(bot: Bot, comment_id: int) -> list[str]:
    """hotfix-bot's replies to a command, without their hidden line."""
    hidden = f"<!-- hotfix-bot reply to comment {comment_id} -->\n"
    return [
        comment.body.removeprefix(hidden)
        for comment in bot.repo.comments_on(bot.repo.comments[comment_id].issue_number)
        if comment.author == BOT and comment.body.startswith(hidden)
    ]


def policy_title(bot: Bot, pull: FakePull) -> str:
    return str(bot.policy_run(bot.repo.pulls[pull.number].head_sha).output["title"])


def comment_link(pull: FakePull, comment_id: int) -> str:
    return f"acme/widgets#{pull.number}: {WEB}/pull/{pull.number}#issuecomment-{comment_id}"


def notice_link(bot: Bot, pull: FakePull, notice_id: str) -> str:
    [comment] = [
        comment
        for comment in bot.repo.comments_on(pull.number)
        if comment.body.startswith(f"<!-- hotfix-bot notice {notice_id} -->")
    ]
    return comment_link(pull, comment.id)


def first_lines_of_bot_comments(bot: Bot, pull: FakePull) -> list[str]:
    """The first line of each of hotfix-bot's comments on the pull request: its hidden line."""
    return [
        comment.body.split("\n")[0]
        for comment in bot.repo.comments_on(pull.number)
        if comment.author == BOT
    ]


def labelled(bot: Bot, label: str) -> list[FakeIssue]:
    return [issue for issue in bot.repo.issues.values() if label in issue.labels]


def test_a_glass_broken_mended_and_broken_again_over_new_year_is_told_in_order_once_each(
    night: Bot, chat: ChatReceiver
) -> None:
    bot = night
    pull = open_p0(bot)  # by dev, at 23:50
    alert = notice_link(bot, pull, "p0-alert:acme/widgets#1")

    bot.advance(2 * MINUTE)
    # eve, who may only read the repository, records what lena said on the bridge call.
    refused = say(bot, pull, "eve", "/hotfix verbal-approval @lena said ok on the bridge")
    assert replies_to(bot, refused) == [
        "> `/hotfix verbal-approval @lena said ok on the bridge`\n\n"
        "@eve, hotfix-bot did not carry this out: recording a verbal approval needs write "
        f"access to acme/widgets, and eve has read access.\n\n{FORMS}"
    ]
    bot.advance(MINUTE)
    # dana, who may, in a hurry: `/Hotfix` is a command all the same.
    verbal = say(bot, pull, "dana", "/Hotfix verbal-approval @lena said ok on the bridge")
    assert (reactions(bot, verbal), replies_to(bot, verbal)) == ([("+1", BOT)], [])
    assert approvals_row(bot, bot.repo.pulls[pull.number]) == (
        "| `approvals` | ⏳ waiting | Engineering Lead: nobody yet; On-call Manager: lena "
        "(verbal, recorded by @dana at 23:53 UTC) | Engineering Lead: 1 approval from team "
        "engineering-leads; On-call Manager: 1 approval from team on-call-managers |"
    )
    # Quoting a command, or writing it inside a sentence, is talking about it.
    quoted = say(bot, pull, "oncall", "> /hotfix break-glass now?\n\nShould we?")
    assert (reactions(bot, quoted), replies_to(bot, quoted)) == ([], [])

    bot.advance(2 * MINUTE)
    no_reason = say(bot, pull, "lead", "/hotfix break-glass")
    assert replies_to(bot, no_reason) == [
        "> `/hotfix break-glass`\n\n@lead, hotfix-bot did not carry this out: it needs a "
        f"reason: `/hotfix break-glass <reason>`.\n\n{FORMS}"
    ]
    bot.advance(MINUTE)
    broken = say(bot, pull, "lead", "/hotfix break-glass checkout down since 23:40")
    # GitHub delivers the comment again, as a delivery of its own: nothing happens twice.
    bot.deliver("issue_comment", bot.fake.issue_comment_event(bot.repo, broken))
    assert reactions(bot, broken) == [("+1", BOT)]
    assert policy_title(bot, pull) == "Break-glass by @lead: checkout down since 23:40"

    bot.advance(5 * MINUTE)  # 00:01, a new year
    mended = say(bot, pull, "oncall", "/hotfix break-glass off")
    assert reactions(bot, mended) == [("+1", BOT)]
    assert policy_title(bot, pull) == "Waiting for approval: Engineering Lead"
    # Talk about the glass is no break-glass on its way for a withdrawal to wait for.
    chatter = say(bot, pull, "dana", "break-glass: undone, lead is checking the logs")
    assert (reactions(bot, chatter), replies_to(bot, chatter)) == ([], [])
    bot.advance(MINUTE)
    again = say(bot, pull, "oncall", "/hotfix break-glass off")
    assert replies_to(bot, again) == [
        "> `/hotfix break-glass off`\n\n@oncall, hotfix-bot did not carry this out: no "
        "break-glass is in force on this pull request, so there is nothing to withdraw."
        f"\n\n{FORMS}"
    ]

    bot.advance(3 * MINUTE)  # 00:05: the first escalation step, for the group not filled
    escalation = notice_link(bot, pull, "escalation:acme/widgets#1:P0:15m")
    bot.advance(MINUTE)
    broken_again = say(bot, pull, "lead", "/HOTFIX break-glass still down, merging")
    assert reactions(bot, broken_again) == [("+1", BOT)]
    assert policy_title(bot, pull) == "Break-glass by @lead: still down, merging"

    bot.advance(MINUTE)  # 00:07
    sha = merge(bot, pull, "lead")
    bot.pull_request(pull.number, "closed")  # delivered again: nothing is made twice

    [retro] = labelled(bot, "hotfix-retro-review")
    assert (retro.title, retro.assignees) == ("Retroactive review: Fix", ["lead"])
    assert retro.body == (
        "<!-- hotfix-bot:retro-review acme/widgets#1 -->\n\n"
        f"@lead broke the glass on [#1]({WEB}/pull/1) (Fix) at 2027-01-01 00:06 UTC, so it "
        "merged without the usual checks. The reason given: still down, merging\n\n"
        "What the break-glass waived:\n"
        "- `approvals`: Engineering Lead (@acme/engineering-leads)\n\n"
        f"Please review the change as it merged, [`{sha[:7]}`]({WEB}/commit/{sha}), and close "
        "this issue once it is reviewed."
    )
    [report] = labelled(bot, "incident-report")
    assert (report.title, report.labels, report.assignees) == (
        "Incident report: Fix",
        ["incident-report", "P0"],
        ["dev"],
    )
    summary = report.body.split("## Summary\n")[1].split("\n\n")[0]
    assert summary == (
        "- **Incident ID:** INC-2027-001\n"  # the year of the merge
        "- **Severity:** P0\n"
        "- **Start Time:** 2026-12-31 23:50 UTC (pull request opened)\n"
        "- **End Time:** 2027-01-01 00:07 UTC (merged)\n"
        "- **Duration:** 17m\n"
        "- **Deadline:** met, with 1h43m to spare (2h after opening: 2027-01-01 01:50 UTC)\n"
        f"- **Release:** [`v1.2.4`]({WEB}/tree/v1.2.4), "
        f"[release v1.2.4]({WEB}/releases/tag/v1.2.4)\n"
        "- **Report due:** 2027-01-02 00:07 UTC (24h after the merge)\n"
        "- **Verbal approvals:** lena (verbal, recorded by @dana at 23:53 UTC), **unconfirmed**\n"
        f"- **Break-glass:** by @lead: still down, merging; retroactive review in "
        f"[#{retro.number}]({WEB}/issues/{retro.number})\n"
        "- **Impact:** [Description of user/business impact]"
    )
    develop = bot.repo.branches["develop"].sha
    timeline = report.body.split("## Timeline\n")[1].split("\n\n")[0]
    assert timeline.splitlines()[2:] == [
        "| 2026-12-31 23:50 UTC | Opened by @dev |",
        "| 2026-12-31 23:50 UTC | Became a P0 hotfix |",
        "| 2026-12-31 23:50 UTC | Review requested for Engineering Lead: team engineering-leads |",
        "| 2026-12-31 23:50 UTC | Review requested for On-call Manager: team on-call-managers |",
        "| 2026-12-31 23:53 UTC | Approved by @lena for On-call Manager (verbal, recorded by "
        "@dana) |",
        "| 2026-12-31 23:56 UTC | Break-glass by @lead: checkout down since 23:40 |",
        "| 2027-01-01 00:01 UTC | Break-glass withdrawn by @oncall |",
        "| 2027-01-01 00:05 UTC | Escalation after 15m: reminded `@acme/engineering-leads` |",
        "| 2027-01-01 00:06 UTC | Break-glass by @lead: still down, merging |",
        f"| 2027-01-01 00:07 UTC | Merged into `main` by @lead as `{sha[:7]}` |",
        f"| 2027-01-01 00:07 UTC | Tag: annotated tag `v1.2.4` on the merge commit `{sha[:7]}` |",
        "| 2027-01-01 00:07 UTC | Release: published release `v1.2.4` |",
        f"| 2027-01-01 00:07 UTC | Back-merge: merged into `develop` as `{develop[:7]}` |",
    ]

    # The channel follows the night in order, each message once: the glass broken, mended
    # (nothing waived any more), and broken again.
    resolution = notice_link(bot, pull, "resolution:acme/widgets#1")
    assert [text.split("\n")[:2] for text in chat.texts()] == [
        [alert, "🚨 CRITICAL INCIDENT - Production Down"],
        [
            comment_link(pull, broken),
            "🔓 BREAK-GLASS on #1 (Fix) by @lead: checkout down since 23:40",
        ],
        [
            comment_link(pull, mended),
            "🔒 BREAK-GLASS WITHDRAWN on #1 (Fix) by @oncall",
        ],
        [
            escalation,
            "@acme/engineering-leads: this **P0** hotfix has been open for **15m**. "
            "Deadline 2027-01-01 01:50 UTC (2h after opening): **1h45m left**.",
        ],
        [
            comment_link(pull, broken_again),
            "🔓 BREAK-GLASS on #1 (Fix) by @lead: still down, merging",
        ],
        [resolution, "✅ RESOLVED - Production Restored"],
    ]
    assert chat.texts()[2] == (
        f"{comment_link(pull, mended)}\n"
        "🔒 BREAK-GLASS WITHDRAWN on #1 (Fix) by @oncall\n"
        "Its hotfix-policy check follows the rules again: nothing is waived any more."
    )
    # On the pull request: the alert, two refusals' replies and the one to `off` again, the
    # escalation, the resolution notice and the release report; nothing twice.
    assert first_lines_of_bot_comments(bot, pull) == [
        "<!-- hotfix-bot notice p0-alert:acme/widgets#1 -->",
        f"<!-- hotfix-bot reply to comment {refused} -->",
        f"<!-- hotfix-bot reply to comment {no_reason} -->",
        f"<!-- hotfix-bot reply to comment {again} -->",
        "<!-- hotfix-bot notice escalation:acme/widgets#1:P0:15m -->",
        "<!-- hotfix-bot notice resolution:acme/widgets#1 -->",
        "<!-- hotfix-bot:hotfix-release -->",
    ]


def timeline_continued(first_key: str, *rows: str) -> tuple[str, str]:
    """hotfix-bot's comment adding `rows` to an incident report's timeline, found again by
    the key of the first approval it adds."""
    return (
        BOT,
        f"<!-- hotfix-bot:incident-timeline approvals {first_key} -->\n"
        "**Timeline, continued**\n\n| Time | Event |\n|------|-------|\n" + "\n".join(rows),
    )


def test_approvals_github_delivers_after_the_merge_reach_the_incident_report_once(
    night: Bot, chat: ChatReceiver
) -> None:
    bot = night
    pull = open_p0(bot)
    bot.advance(7 * MINUTE)
    # At 23:57 lead approves and dana records lena's approval from the bridge call; lead
    # merges at 23:58. GitHub delivers the merge first, the rest after it, some of it twice.
    bot.repo.review(pull.number, "lead", "APPROVED")
    review = bot.fake.review_event(bot.repo, pull.number)
    verbal = bot.repo.add_comment(pull.number, "dana", "/hotfix verbal-approval @lena on the call")
    command = bot.fake.issue_comment_event(bot.repo, verbal.id)
    bot.advance(MINUTE)
    sha = bot.repo.merge_pull(pull.number, merged_by="lead")
    closed = bot.fake.pull_request_event(bot.repo, pull.number, "closed")
    bot.deliver("pull_request", closed)
    bot.deliver("pull_request_review", review)
    again = bot.send("pull_request_review", review, delivery_id=bot.sent[-1])
    assert again.json() == {"delivery": bot.sent[-1], "status": "duplicate"}
    bot.deliver("issue_comment", command)
    bot.deliver("issue_comment", command)  # a redelivery, under a new id
    bot.deliver("pull_request", closed)
    bot.deliver("pull_request_review", review)

    # The report was opened at the merge, before hotfix-bot heard of either approval: one
    # comment adds each to its timeline, once.
    [report] = labelled(bot, "incident-report")
    assert "Approved by" not in report.body
    # Each comment is found again by the key of the first approval it adds.
    assert [(comment.author, comment.body) for comment in bot.repo.comments_on(report.number)] == [
        timeline_continued(
            f"approval:lead:{pull.head_sha}:review",
            "| 2026-12-31 23:57 UTC | Approved by @lead for Engineering Lead |",
        ),
        timeline_continued(
            f"approval:lena:{pull.head_sha}:verbal",
            "| 2026-12-31 23:57 UTC | Approved by @lena for On-call Manager (verbal, recorded by "
            "@dana) |",
        ),
    ]
    [release_run] = bot.repo.runs_named("hotfix-release", sha)
    assert release_run.output["summary"].splitlines()[-2] == (
        f"| Incident report | ⏳ waiting | issue #{report.number} already holds the incident "
        "report, due 2027-01-01 23:58 UTC; it will show the verbal approval of lena confirmed "
        f"once it is | [#{report.number}]({WEB}/issues/{report.number}) |"
    )
    # The check shows the pull request as it merged: with both approvals.
    [policy_run] = bot.repo.runs_named("hotfix-policy")
    assert (policy_run.conclusion, policy_run.output["title"]) == ("success", "All 6 rules pass")
    assert (reactions(bot, verbal.id), replies_to(bot, verbal.id)) == ([("+1", BOT)], [])
    assert first_lines_of_bot_comments(bot, pull) == [
        "<!-- hotfix-bot notice p0-alert:acme/widgets#1 -->",
        "<!-- hotfix-bot notice resolution:acme/widgets#1 -->",
        "<!-- hotfix-bot:hotfix-release -->",
    ]
    assert [text.split("\n")[1] for text in chat.texts()] == [
        "🚨 CRITICAL INCIDENT - Production Down",
        "✅ RESOLVED - Production Restored",
    ]


def test_an_approval_a_timer_finds_after_the_merge_reaches_the_incident_report_once(
    night: Bot, chat: ChatReceiver
) -> None:
    bot = night
    pull = open_p0(bot)
    bot.advance(2 * MINUTE)
    say(bot, pull, "lead", "/hotfix break-glass checkout down")
    bot.advance(5 * MINUTE)
    # At 23:57 lead approves as well, and merges at 23:58. The check concluded at the
    # break-glass, so the merge's delivery evaluates nothing; GitHub delivers the review only
    # after the 15-minute escalation step came (00:05), whose evaluation, as of the merge,
    # is the first to count it.
    bot.repo.review(pull.number, "lead", "APPROVED")
    review = bot.fake.review_event(bot.repo, pull.number)
    bot.advance(MINUTE)
    merge(bot, pull, "lead")
    [report] = labelled(bot, "incident-report")
    assert "Approved by" not in report.body
    bot.advance(7 * MINUTE)
    bot.deliver("pull_request_review", review)
    bot.deliver("pull_request_review", review)  # a redelivery, under a new id

    assert [(comment.author, comment.body) for comment in bot.repo.comments_on(report.number)] == [
        timeline_continued(
            f"approval:lead:{pull.head_sha}:review",
            "| 2026-12-31 23:57 UTC | Approved by @lead for Engineering Lead |",
        ),
    ]
    # The step came once the pull request was merged: it reminded nobody.
    assert [text.split("\n")[1] for text in chat.texts()] == [
        "🚨 CRITICAL INCIDENT - Production Down",
        "🔓 BREAK-GLASS on #1 (Fix) by @lead: checkout down",
        "✅ RESOLVED - Production Restored",
    ]


def glass_broken_a_minute_in(bot: Bot) -> FakePull:
    """A P0 opened at 23:50, its glass broken by lead a minute later; 23:57 now."""
    pull = open_p0(bot)
    bot.advance(MINUTE)
    say(bot, pull, "lead", "/hotfix break-glass checkout down")
    bot.advance(6 * MINUTE)
    return pull


def test_a_verbal_approval_delivered_after_the_merge_joins_the_report_summary_once(
    night: Bot,
) -> None:
    bot = night
    pull = glass_broken_a_minute_in(bot)
    # At 23:57 dana records lena's approval from the bridge call; lead merges at 23:58, and
    # GitHub delivers the command after the merge, twice.
    verbal = bot.repo.add_comment(pull.number, "dana", "/hotfix verbal-approval @lena on the call")
    command = bot.fake.issue_comment_event(bot.repo, verbal.id)
    bot.advance(MINUTE)
    merge(bot, pull, "lead")
    [report] = labelled(bot, "incident-report")
    assert "Verbal approvals" not in report.body
    bot.deliver("issue_comment", command)
    bot.deliver("issue_comment", command)

    def summary_lines() -> list[str]:
        summary = report.body.split("## Summary\n")[1].split("\n\n")[0]
        return summary.splitlines()[-4:]

    # The summary lists it, where a report opened after the command would, above the
    # break-glass: on-call reads there whose word let the hotfix merge.
    assert summary_lines() == [
        "- **Report due:** 2027-01-01 23:58 UTC (24h after the merge)",
        "- **Verbal approvals:** lena (verbal, recorded by @dana at 23:57 UTC), **unconfirmed**",
        f"- **Break-glass:** by @lead: checkout down; retroactive review in [#{report.number - 1}]"
        f"({WEB}/issues/{report.number - 1})",
        "- **Impact:** [Description of user/business impact]",
    ]
    # Confirmed, the line says so in place.
    bot.advance(HOUR)
    say(bot, pull, "lena", "/hotfix confirm")
    assert summary_lines()[1] == (
        "- **Verbal approvals:** lena (verbal, recorded by @dana at 23:57 UTC), confirmed by "
        "`/hotfix confirm` at 2027-01-01 00:58 UTC"
    )
    # Only the timeline's row is a comment; the summary line is an edit, made once.
    assert [comment.body.split("\n")[1] for comment in bot.repo.comments_on(report.number)] == [
        "**Timeline, continued**"
    ]
    assert report.body.count("**Verbal approvals:**") == 1


def test_a_second_rollback_of_a_hotfix_is_told_of_the_first_before_it_merges(
    night: Bot, chat: ChatReceiver
) -> None:
    bot = night
    hotfix = open_p0(bot)
    bot.advance(5 * MINUTE)
    bot.approve(hotfix.number, "lead", "lena")
    merge(bot, hotfix, "lead")
    [report] = labelled(bot, "incident-report")
    bot.advance(20 * MINUTE)  # 00:15: checkout fails again; dana clicks Revert, ships 1.2.5
    first = bot.repo.revert_pull(hotfix.number, author="dana")
    bot.repo.commit(first.head_ref, {"VERSION": "1.2.5\n"}, "Ship the rollback as 1.2.5")
    bot.pull_request(first.number, "opened")
    bot.approve(first.number, "lead")
    merge(bot, first, "dana")
    assert bot.repo.releases["v1.2.4"].body == "Hotfix #1: Fix\n\nRolled back in v1.2.5"

    bot.advance(5 * MINUTE)  # 00:20: oncall, who missed it, rolls #1 back as well
    bot.repo.create_branch("roll-back-checkout", "main")
    bot.repo.commit("roll-back-checkout", {"VERSION": "1.2.6\n"}, "Ship the rollback as 1.2.6")
    second = bot.repo.open_pull(
        "roll-back-checkout",
        "main",
        title="Roll back the checkout fix",
        author="oncall",
        labels=["rollback"],
        body="Checkout fails again.\n\nReverts acme/widgets#1",
    )
    bot.pull_request(second.number, "opened")
    # Its check says so before anyone merges it.
    summary = bot.policy_run(second.head_sha).output["summary"].split("\n\n")
    assert summary[1] == (
        "**#1 was rolled back already**, by #3, merged 2027-01-01 00:15 UTC: make sure this "
        "one is still wanted. Merged, it is a rollback like that one: tagged and released, and "
        "told in the notes of #1's release, on #1, in chat and in the incident report."
    )
    bot.approve(second.number, "lead")
    bot.advance(MINUTE)
    merge(bot, second, "oncall")
    bot.pull_request(second.number, "closed")  # delivered again: nothing changes

    # A rollback as any other, each of its effects once.
    assert bot.repo.releases["v1.2.4"].body == (
        "Hotfix #1: Fix\n\nRolled back in v1.2.5\n\nRolled back in v1.2.6"
    )
    assert "v1.2.6" in bot.repo.releases
    assert [
        comment.body.split("\n")[0]
        for comment in bot.repo.comments_on(hotfix.number)
        if "ROLLBACK" in comment.body
    ] == [
        f"<!-- hotfix-bot:rollback-notice #{first.number} -->",
        f"<!-- hotfix-bot:rollback-notice #{second.number} -->",
    ]
    assert [text.split("\n")[1] for text in chat.texts() if "ROLLBACK" in text] == [
        "🔄 ROLLBACK COMPLETE",
        "🔄 ROLLBACK COMPLETE",
    ]
    [run] = bot.repo.runs_named("hotfix-release", second.merge_commit_sha)
    assert (run.conclusion, run.output["title"]) == ("success", "All steps done for v1.2.6")
    # The incident's timeline has both rollbacks, each once, as they happened.
    assert [
        comment.body.split("\n")[-1].split(" | ")[1].split(":")[0]
        for comment in bot.repo.comments_on(report.number)
    ] == [
        f'Rolled back by #{first.number} (Revert "Fix")',
        f"Rolled back by #{second.number} (Roll back the checkout fix)",
    ]
    # What the second writes says, as its check did, that the first came before it.
    already = f"#1 was rolled back already, by #{first.number}, merged 2027-01-01 00:15 UTC"
    assert bot.repo.releases["v1.2.6"].body == (
        f"Rollback #{second.number}: Roll back the checkout fix\n\n"
        f"This release rolls back v1.2.4 (hotfix #1: Fix). {already}."
    )
    told = (
        f"Rolled back by #{second.number} (Roll back the checkout fix), released as v1.2.6. "
        f"{already}."
    )
    notice = next(
        comment.body
        for comment in bot.repo.comments_on(hotfix.number)
        if f"rollback-notice #{second.number} " in comment.body
    )
    assert notice.splitlines()[-1] == told
    assert chat.texts()[-1].splitlines()[-1] == told
    merged = bot.repo.pulls[second.number].merge_commit_sha
    assert merged is not None
    assert bot.repo.comments_on(report.number)[-1].body.splitlines()[-1] == (
        f"| 2027-01-01 00:21 UTC | Rolled back by #{second.number} (Roll back the checkout "
        f"fix): merged into `main` by @oncall as `{merged[:7]}`, released as `v1.2.6`; "
        f"{already} |"
    )


def test_a_late_approval_and_the_release_named_at_last_share_one_comment(night: Bot) -> None:
    """The tag failed at the merge, so the report opened saying so; the review GitHub
    delivers after the merge runs the steps again, which make the tag now: one comment adds
    the release's rows and the approval to the report's timeline, the approval once."""
    bot = night
    pull = glass_broken_a_minute_in(bot)
    bot.repo.review(pull.number, "lead", "APPROVED")
    review = bot.fake.review_event(bot.repo, pull.number)
    bot.advance(MINUTE)
    refused = {"message": "Resource not accessible by integration"}
    bot.fake.inject("POST", r"/repos/acme/widgets/git/tags$", status=403, times=None, body=refused)
    merge(bot, pull, "lead")
    [report] = labelled(bot, "incident-report")
    assert "Approved by" not in report.body and "not tagged yet" in report.body
    bot.fake.faults.clear()

    bot.deliver("pull_request_review", review)

    bodies = [comment.body for comment in bot.repo.comments_on(report.number)]
    assert len(bodies) == 1, bodies
    assert bodies[0].count("Approved by @lead for Engineering Lead") == 1
    assert "v1.2.4" in bodies[0]
