"""Reviewers and the maintainer watching the `approvals` rule of `hotfix-policy`
(docs/BEHAVIOUR.md, 'Approval groups'): what people do on GitHub's review page, one step at a
time, each followed by the run's title and the `approvals` row they read."""

from __future__ import annotations

import logging

import pytest
from support.harness import REFUSAL, Bot, approvals_row
from support.titles import all_rules_pass, rules_fail

from sandbox import FakePull
from sandbox.repo import ReviewState

TEAMS = {"engineering-leads": ["lead"], "product-managers": ["pm"]}
TEAMS_CONFIG = (
    "severities:\n"
    "  P1:\n"
    "    approvals:\n"
    "      - {name: Engineering Lead, team: engineering-leads}\n"
    "      - {name: Product Manager, team: product-managers}\n"
)


def acme(bot: Bot, config: str | None = None) -> None:
    """acme's teams, and `config` as the policy on main."""
    for slug, members in TEAMS.items():
        bot.fake.add_team("acme", slug, members)
    if config is not None:
        bot.repo.commit("main", {".github/hotfix.yml": config}, "The hotfix policy")


def opened(bot: Bot) -> FakePull:
    """dev's P1 hotfix pull request, as GitHub tells hotfix-bot it was opened."""
    pull = bot.open_hotfix()
    bot.pull_request(pull.number, "opened")
    return pull


def review(bot: Bot, pull: FakePull, login: str, state: ReviewState) -> int:
    """`login` submits a review of the head commit; GitHub delivers it. Its id."""
    submitted = bot.repo.review(pull.number, login, state)
    bot.deliver("pull_request_review", bot.fake.review_event(bot.repo, pull.number, submitted.id))
    return submitted.id


def title(bot: Bot, pull: FakePull) -> tuple[str, str | None, str]:
    run = bot.policy_run(bot.repo.pulls[pull.number].head_sha)
    return run.status, run.conclusion, run.output["title"]


def how_to_fix(bot: Bot, pull: FakePull) -> str:
    summary: str = bot.policy_run(bot.repo.pulls[pull.number].head_sha).output["summary"]
    section = summary.split("\n### `approvals`\n\n", 1)[1]
    return section.split("\n\n### `", 1)[0].split("\n\n## ", 1)[0]


def test_an_app_without_the_members_permission_is_told_which_to_grant(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    """An App installed before it asked for *Members: read*, or whose new permission acme
    has not accepted yet: GitHub refuses it every team's members. The approvals row says so
    and what to do, and the log names each team; the other rules are still judged."""
    acme(bot)
    refusal = bot.fake.inject(
        "GET", r"/orgs/acme/teams/", status=403, times=None, body={"message": REFUSAL}
    )
    pull = opened(bot)
    with caplog.at_level(logging.WARNING):
        review(bot, pull, "lead", "APPROVED")

    assert title(bot, pull) == ("completed", "failure", rules_fail("approvals"))
    assert approvals_row(bot, bot.repo.pulls[pull.number]).startswith(
        "| `approvals` | ❌ fail | Engineering Lead: nobody yet; Product Manager: nobody yet |"
    )
    assert how_to_fix(bot, pull) == (
        "hotfix-bot may not read the members of teams engineering-leads and "
        "product-managers: GitHub answered 403 to GET "
        "/orgs/acme/teams/engineering-leads/members: Resource not accessible by integration\n\n"
        "Give hotfix-bot's GitHub App the organization permission Members (read), and have an "
        "owner of acme accept it; then re-run this check"
    )
    assert [message for message in caplog.messages if "not readable" in message] == [
        f"pull request #{pull.number}: team {slug} not readable: GitHub answered 403 to GET "
        f"/orgs/acme/teams/{slug}/members: Resource not accessible by integration"
        for slug in ("engineering-leads", "product-managers")
    ]

    # Done as it says: GitHub answers, and the re-run counts lead.
    bot.fake.faults.remove(refusal)
    run = bot.policy_run(bot.repo.pulls[pull.number].head_sha)
    bot.deliver("check_run", bot.fake.check_run_event(bot.repo, run.id, "rerequested"))
    assert title(bot, pull) == ("in_progress", None, "Waiting for approval: Product Manager")


def test_a_team_slug_that_names_no_team_is_pointed_out_once_someone_approves(bot: Bot) -> None:
    """A slug one letter short: lead's approval cannot count for a team GitHub does not
    know, and asking that team, as the fix did alone, could never work."""
    acme(
        bot,
        "severities:\n"
        "  P1:\n"
        "    approvals:\n"
        "      - {name: Engineering Lead, team: engineering-lead}\n"
        "      - {name: Product Manager, team: product-managers}\n",
    )
    pull = opened(bot)
    review(bot, pull, "lead", "APPROVED")
    review(bot, pull, "pm", "APPROVED")

    assert title(bot, pull) == ("in_progress", None, "Waiting for approval: Engineering Lead")
    assert how_to_fix(bot, pull) == (
        "Waiting for approval: Engineering Lead\n\n"
        "Engineering Lead: ask someone from team engineering-lead to approve the latest commit; "
        "GitHub lists no team engineering-lead in acme: if that slug is wrong, correct it under "
        "severities.P1 in .github/hotfix.yml on main, then re-run this check"
    )

    # Done as it says: the slug corrected on main, the check re-run.
    bot.repo.commit(
        "main",
        {".github/hotfix.yml": TEAMS_CONFIG},
        "Name the engineering-leads team by its slug",
    )
    run = bot.policy_run(bot.repo.pulls[pull.number].head_sha)
    bot.deliver("check_run", bot.fake.check_run_event(bot.repo, run.id, "rerequested"))
    assert title(bot, pull) == ("completed", "success", all_rules_pass())


def test_two_approvals_missing_across_two_groups_are_asked_for_one_at_a_time(bot: Bot) -> None:
    """Two leads needed, and lead is a product manager too: after lead's approval two more
    are missing, but two more product managers would not do (lead can fill one group only).
    The fix asks for the next approval from either group, then follows the check."""
    acme(
        bot,
        "severities:\n"
        "  P1:\n"
        "    approvals:\n"
        "      - {name: Engineering Lead, team: engineering-leads, count: 2}\n"
        "      - {name: Product Manager, team: product-managers}\n",
    )
    bot.fake.teams[("acme", "engineering-leads")].members[:] = ["lead", "lead2"]
    bot.fake.teams[("acme", "product-managers")].members[:] = ["pm", "pm2", "lead"]
    pull = opened(bot)
    review(bot, pull, "lead", "APPROVED")

    waiting = "Waiting for approval: Engineering Lead or Product Manager"
    assert title(bot, pull) == ("in_progress", None, waiting)
    assert how_to_fix(bot, pull) == (
        f"{waiting}\n\nEngineering Lead or Product Manager: ask someone from team "
        "engineering-leads or team product-managers to approve the latest commit, then whom "
        "this check names next (2 more approvals are needed)"
    )

    review(bot, pull, "pm", "APPROVED")
    assert title(bot, pull) == ("in_progress", None, "Waiting for approval: Engineering Lead")
    # Another product manager adds nothing: the title says so by not changing.
    review(bot, pull, "pm2", "APPROVED")
    assert title(bot, pull) == ("in_progress", None, "Waiting for approval: Engineering Lead")
    assert how_to_fix(bot, pull) == (
        "Waiting for approval: Engineering Lead\n\n"
        "Engineering Lead: ask someone from team engineering-leads to approve the latest commit"
    )
    review(bot, pull, "lead2", "APPROVED")
    assert title(bot, pull) == ("completed", "success", all_rules_pass())


def test_a_member_of_a_child_team_approves_for_the_parent_team(bot: Bot) -> None:
    """GitHub lists a team's members with those of its child teams: a lead of the platform
    team, nested in engineering-leads, approves as an engineering lead."""
    acme(bot)
    bot.fake.add_team("acme", "platform-leads", ["plat"], parent="engineering-leads")
    pull = opened(bot)
    review(bot, pull, "plat", "APPROVED")
    review(bot, pull, "pm", "APPROVED")

    assert title(bot, pull) == ("completed", "success", all_rules_pass())
    assert approvals_row(bot, bot.repo.pulls[pull.number]).startswith(
        "| `approvals` | ✅ pass | Engineering Lead: plat; Product Manager: pm |"
    )


def test_what_reviewers_do_on_the_review_page_moves_the_title_each_time(
    clocked_bot: Bot,
) -> None:
    """Approve, push, approve again, comment, request changes, a dismissal, the author and
    a bot approving: the title always names the groups still waited for, and the row whom
    it counts (docs/BEHAVIOUR.md, 'Approval groups')."""
    bot = clocked_bot
    acme(bot)
    pull = opened(bot)
    both = "Waiting for approval: Engineering Lead and Product Manager"
    manager = "Waiting for approval: Product Manager"

    review(bot, pull, "lead", "APPROVED")
    assert title(bot, pull) == ("in_progress", None, manager)

    bot.repo.commit(pull.head_ref, {"fix.py": "fixed = True\n"}, "Handle the empty case")
    bot.pull_request(pull.number, "synchronize")
    assert title(bot, pull) == ("in_progress", None, both)
    assert "lead approved an older commit and must approve again" in approvals_row(
        bot, bot.repo.pulls[pull.number]
    )

    bot.advance(60)
    review(bot, pull, "lead", "APPROVED")
    review(bot, pull, "pm", "APPROVED")
    assert title(bot, pull) == ("completed", "success", all_rules_pass())

    bot.advance(60)  # pm answers a question with a single comment on a line
    review(bot, pull, "pm", "COMMENTED")
    assert title(bot, pull) == ("in_progress", None, manager)
    assert "pm commented after approving; only the latest review counts, so they must " in (
        approvals_row(bot, bot.repo.pulls[pull.number])
    )

    bot.advance(60)
    approval = review(bot, pull, "pm", "APPROVED")
    assert title(bot, pull) == ("completed", "success", all_rules_pass())
    bot.repo.dismiss_review(pull.number, approval)
    bot.deliver(
        "pull_request_review",
        bot.fake.review_event(bot.repo, pull.number, approval, "dismissed"),
    )
    assert title(bot, pull) == ("in_progress", None, manager)

    # The author fills no group, even as a product manager; a bot, in no team (GitHub's
    # teams hold people only), none either, and the row says why its approval is left out.
    bot.fake.teams[("acme", "product-managers")].members.append("dev")
    review(bot, pull, "dev", "APPROVED")
    review(bot, pull, "release-checker[bot]", "APPROVED")
    assert title(bot, pull) == ("in_progress", None, manager)
    assert approvals_row(bot, bot.repo.pulls[pull.number]).startswith(
        "| `approvals` | ⏳ waiting | Engineering Lead: lead; Product Manager: nobody yet; "
        "release-checker[bot] approved, but is in none of the approval groups |"
    )

    bot.advance(60)
    review(bot, pull, "pm", "CHANGES_REQUESTED")
    bot.advance(60)
    review(bot, pull, "pm", "APPROVED")
    assert title(bot, pull) == ("completed", "success", all_rules_pass())
    assert approvals_row(bot, bot.repo.pulls[pull.number]).startswith(
        "| `approvals` | ✅ pass | Engineering Lead: lead; Product Manager: pm; "
        "release-checker[bot] approved, but is in none of the approval groups |"
    )


def test_an_approver_who_left_the_team_no_longer_counts_once_the_check_is_re_run(
    bot: Bot,
) -> None:
    acme(bot)
    pull = opened(bot)
    review(bot, pull, "lead", "APPROVED")
    review(bot, pull, "pm", "APPROVED")
    assert title(bot, pull) == ("completed", "success", all_rules_pass())

    bot.fake.teams[("acme", "product-managers")].members.remove("pm")
    run = bot.policy_run(bot.repo.pulls[pull.number].head_sha)
    bot.deliver("check_run", bot.fake.check_run_event(bot.repo, run.id, "rerequested"))
    assert title(bot, pull) == ("in_progress", None, "Waiting for approval: Product Manager")
    # pm, who sees their approval on the page, is told why it no longer counts.
    assert approvals_row(bot, bot.repo.pulls[pull.number]).startswith(
        "| `approvals` | ⏳ waiting | Engineering Lead: lead; Product Manager: nobody yet; "
        "pm approved, but is in none of the approval groups |"
    )
