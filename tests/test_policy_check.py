"""The hotfix-policy check run, end to end against the fake GitHub."""

from __future__ import annotations

from support.harness import Bot

TEAMS = {"engineering-leads": ["lead"], "on-call-managers": ["oncall"], "product-managers": ["pm"]}


def setup_teams(bot: Bot) -> None:
    for slug, members in TEAMS.items():
        bot.fake.add_team("acme", slug, members)


def test_a_good_p1_hotfix_waits_for_approvals_then_passes(bot: Bot) -> None:
    setup_teams(bot)
    bot.repo.create_branch("hotfix/fix-login", "main")
    head = bot.repo.commit("hotfix/fix-login", {"VERSION": "1.2.4\n"}, "Bump to 1.2.4")
    pull = bot.repo.open_pull(
        "hotfix/fix-login", "main", title="Fix login", author="dev", labels=["hotfix", "P1"]
    )

    bot.pull_request(pull.number, "opened")
    run = bot.policy_run(head)
    assert run.status == "in_progress"
    assert run.output["title"] == "Waiting for approval: Engineering Lead and Product Manager"

    bot.repo.review(pull.number, "lead", "APPROVED")
    bot.deliver("pull_request_review", bot.fake.review_event(bot.repo, pull.number))
    run = bot.policy_run(head)
    assert (run.status, run.output["title"]) == (
        "in_progress",
        "Waiting for approval: Product Manager",
    )

    bot.repo.review(pull.number, "pm", "APPROVED")
    bot.deliver("pull_request_review", bot.fake.review_event(bot.repo, pull.number))
    run = bot.policy_run(head)
    assert (run.status, run.conclusion, run.output["title"]) == (
        "completed",
        "success",
        "All 6 rules pass",
    )
    print(run.output["summary"])
