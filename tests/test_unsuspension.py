"""An installation unsuspended: GitHub sent hotfix-bot nothing of what happened while it was
suspended, so the open hotfix pull requests of every repository it covers are evaluated
again (docs/RELIABILITY.md, *Suspended and reinstalled installations*)."""

from __future__ import annotations

from support.harness import REFUSAL, Bot
from support.live_server import wait_for
from support.titles import all_rules_pass

from sandbox import FakePull, FakeRepo

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
