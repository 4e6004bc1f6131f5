"""A repository of a person's account, beside an organization's: a person's account has no
teams, so an approval group only a team can fill never fills (docs/BEHAVIOUR.md, 'Approval
groups')."""

from __future__ import annotations

from support.harness import Bot

from sandbox import FakePull, FakeRepo


def personal_repository(bot: Bot) -> FakeRepo:
    """dana/widgets, in an installation of hotfix-bot on dana's own account."""
    [app_id] = bot.fake.apps
    installation = bot.fake.add_installation(app_id, account="dana", personal=True)
    return bot.fake.add_repo("dana/widgets", installation, files={"VERSION": "1.2.3\n"})


def hotfix(repo: FakeRepo, severity: str) -> FakePull:
    """A hotfix pull request by dev into main bumping VERSION."""
    repo.create_branch("hotfix/fix-login", "main")
    repo.commit("hotfix/fix-login", {"VERSION": "1.2.4\n"}, "Fix")
    return repo.open_pull("hotfix/fix-login", "main", title="Fix", labels=["hotfix", severity])


def test_a_team_group_fails_in_a_personal_accounts_repository_and_says_why(bot: Bot) -> None:
    repo = personal_repository(bot)
    pull = hotfix(repo, "P1")
    repo.review(pull.number, "lead", "APPROVED")

    bot.deliver("pull_request", bot.fake.pull_request_event(repo, pull.number, "opened"))

    [run] = repo.runs_named("hotfix-policy", pull.head_sha)
    assert (run.status, run.conclusion, run.output["title"]) == (
        "completed",
        "failure",
        "1 of 6 rules fails: approvals",
    )
    summary = run.output["summary"]
    assert (
        "| `approvals` | ❌ fail | Engineering Lead: nobody yet; Product Manager: nobody yet | "
    ) in summary
    assert (
        "Engineering Lead and Product Manager cannot be filled: dana/widgets belongs to the "
        "personal account dana, which has no teams\n\n"
        "Name the people who approve for Engineering Lead and Product Manager with "
        "`users: [login, ...]` instead of `team:` under severities.P1 in .github/hotfix.yml on "
        "main, then re-run this check"
    ) in summary


def test_a_break_glass_only_teams_may_give_is_refused_saying_the_account_has_no_teams(
    bot: Bot,
) -> None:
    repo = personal_repository(bot)
    pull = hotfix(repo, "P0")
    comment = repo.add_comment(pull.number, "dana", "/hotfix break-glass checkout is down")

    bot.deliver("issue_comment", bot.fake.issue_comment_event(repo, comment.id))

    reply = repo.comments_on(pull.number)[-1]
    assert reply.body.splitlines()[1:4] == [
        "> `/hotfix break-glass checkout is down`",
        "",
        "@dana, hotfix-bot did not carry this out: only members of team engineering-leads or "
        "members of team on-call-managers may break the glass for severity P0; dana/widgets "
        "belongs to the personal account dana, which has no teams: name people under "
        "`severities.P0.break_glass.users` in `.github/hotfix.yml`.",
    ]
    assert repo.reactions_to(comment.id) == []
