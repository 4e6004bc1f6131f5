"""What GitHub's description lets be null or absent, as GitHub sends it: an account deleted
since (`user: null` on its reviews and comments, `merged_by: null`, `ghost` where a user is
required), a fork deleted since (`head.repo: null`), a pull request without a description
(`body: null`), an installation whose account is gone (`account: null`). The hotfix-policy
check, the post-merge run, the status page and a repository's move go on as for any other
(docs/BEHAVIOUR.md, docs/ADMIN.md)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from support.harness import Bot, approvals_row, running_bot
from support.titles import all_rules_pass

from app.pages import status
from sandbox import FakePull

TEAMS = {"engineering-leads": ["lead"], "product-managers": ["pm"]}


def hotfix(bot: Bot, *, from_fork: str | None = None, body: str | None = "") -> FakePull:
    """A P1 hotfix by dev bumping VERSION to 1.2.4, from a branch of `from_fork` when named;
    acme's teams, develop beside main."""
    for slug, members in TEAMS.items():
        bot.fake.add_team("acme", slug, members)
    bot.repo.create_branch("develop", "main")
    bot.repo.create_branch("hotfix/fix-login", "main")
    bot.repo.commit("hotfix/fix-login", {"VERSION": "1.2.4\n"}, "Fix login, 1.2.4")
    return bot.repo.open_pull(
        "hotfix/fix-login",
        "main",
        title="Fix login",
        author="dev",
        labels=["hotfix", "P1"],
        body=body,
        from_fork=from_fork,
    )


def release_rows(bot: Bot, pull: FakePull) -> dict[str, str]:
    """The hotfix-release run's table: step -> its row, once the run has concluded."""
    assert pull.merge_commit_sha is not None
    [run] = bot.repo.runs_named("hotfix-release", pull.merge_commit_sha)
    assert run.status == "completed"
    rows = [line for line in run.output["summary"].splitlines() if line.startswith("| ")]
    return {row.split(" | ")[0].removeprefix("| "): row for row in rows[2:]}


def assert_all_done(bot: Bot) -> None:
    assert [(e.event, e.status) for e in bot.journal.recent() if e.status != "done"] == []


def test_a_deleted_reviewers_approval_fills_no_group_and_the_check_waits_for_it(bot: Bot) -> None:
    """GitHub lists the review of an account deleted since with `user: null`: nobody can
    say whose it was, so it fills no approval group."""
    pull = hotfix(bot)
    bot.pull_request(pull.number, "opened")
    bot.approve(pull.number, "lead")
    bot.fake.delete_account("lead")

    bot.approve(pull.number, "pm")

    run = bot.policy_run(pull.head_sha)
    assert (run.status, run.output["title"]) == (
        "in_progress",
        "Waiting for approval: Engineering Lead",
    )
    assert "Engineering Lead: nobody yet; Product Manager: pm |" in approvals_row(bot, pull)
    assert_all_done(bot)


def test_a_hotfix_by_a_deleted_account_without_a_description_is_checked_and_released(
    bot: Bot,
) -> None:
    """Its author is `ghost` (GitHub's description requires a user there), its `body` null;
    the account that merged it is deleted before the merge's delivery: `merged_by: null`."""
    pull = hotfix(bot, body=None)
    bot.fake.delete_account("dev")
    bot.pull_request(pull.number, "opened")
    bot.approve(pull.number, "lead", "pm")
    assert bot.policy_run(pull.head_sha).output["title"] == all_rules_pass()

    sha = bot.repo.merge_pull(pull.number, merged_by="lead")
    bot.fake.delete_account("lead")
    bot.pull_request(pull.number, "closed")

    rows = release_rows(bot, pull)
    assert rows["Tag"].startswith("| Tag | ✅ done | annotated tag `v1.2.4` on the merge commit")
    assert rows["Delete branch"] == "| Delete branch | ✅ done | deleted `hotfix/fix-login` |   |"
    [notice] = [c.body for c in bot.repo.comments_on(pull.number) if "RESOLVED" in c.body]
    # `ghost` is no one a mention reaches: the notice says the account was deleted.
    assert "- Opened by a deleted account\n" in notice
    # Merged by nobody GitHub can name: the row says no name rather than `None`.
    assert f"- Merged into `main` as `{sha[:7]}`\n" in notice
    assert "None" not in notice
    assert_all_done(bot)


@pytest.mark.parametrize("deleted", ["before the merge", "after the merge"])
def test_a_hotfix_from_a_fork_deleted_since_is_checked_and_released(bot: Bot, deleted: str) -> None:
    """`head.repo: null`: the head commit is still the pull request's (GitHub keeps it under
    refs/pull/N/head); a re-run finds the pull request though its check run lists none."""
    bot.fake.add_repo("contributor/widgets", bot.repo.installation_id)
    pull = hotfix(bot, from_fork="contributor/widgets")
    bot.pull_request(pull.number, "opened")
    if deleted == "before the merge":
        bot.fake.delete_repo("contributor/widgets")
    bot.repo.review(pull.number, "lead", "APPROVED")
    bot.repo.review(pull.number, "pm", "APPROVED")

    bot.deliver("check_suite", bot.fake.check_suite_event(bot.repo, pull.head_sha))

    run = bot.policy_run(pull.head_sha)
    assert (run.conclusion, run.output["title"]) == ("success", all_rules_pass())

    bot.repo.merge_pull(pull.number)
    if deleted == "after the merge":
        bot.fake.delete_repo("contributor/widgets")
    bot.pull_request(pull.number, "closed")

    rows = release_rows(bot, pull)
    assert rows["Tag"].startswith("| Tag | ✅ done | annotated tag `v1.2.4` on the merge commit")
    assert rows["Delete branch"] == (
        "| Delete branch | ➖ skipped | `hotfix/fix-login` is in a deleted fork; hotfix-bot "
        "never deletes a fork's branch |   |"
    )
    assert "hotfix/fix-login" in bot.repo.branches  # the base repository's own, left alone
    assert_all_done(bot)


ADMIN_TOKEN = "correct-horse-battery-staple-0123456789"


def test_the_status_page_names_a_suspended_installation_whose_account_github_gives_as_null(
    tmp_path: Path, private_key_pem: str
) -> None:
    """GitHub's description lets an installation's `account` be null: the page still says the
    installation is suspended, by its id."""
    with running_bot(tmp_path, private_key_pem, ADMIN_TOKEN=ADMIN_TOKEN) as bot:
        [app_id] = bot.fake.apps
        gone = bot.fake.add_installation(app_id, account="globex")
        bot.fake.suspend_installation(gone)
        bot.fake.delete_account("globex")

        anyone = bot.client.get("/")
        admin = bot.client.get("/", headers={"authorization": f"Bearer {ADMIN_TOKEN}"})

    assert (anyone.status_code, admin.status_code) == (200, 200)
    assert "<p>1 installation is suspended: " in anyone.text
    assert (
        f"<p>The installation on an account GitHub does not name (installation {gone}) is "
        "suspended: "
    ) in admin.text


def test_an_installation_on_an_enterprise_is_named_by_the_enterprise_s_slug() -> None:
    """An enterprise, which GitHub's description lets an installation's account be, has a
    slug and no login."""
    enterprise = {"id": 7, "account": {"id": 9, "slug": "acme-corp", "name": "Acme Corp"}}
    assert status.account_of(enterprise) == "acme-corp"


def test_a_repository_transferred_from_an_account_github_does_not_name_moves_nothing(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    """A `transferred` delivery whose `changes.owner.from` has `user: null`: the name before is
    not known, so nothing kept under it can be moved; the delivery is done, not failed."""
    [app_id] = bot.fake.apps
    bot.fake.add_repo("dana/gizmos", bot.fake.add_installation(app_id, "dana", personal=True))
    bot.fake.delete_account("dana")

    transferred = bot.fake.transfer_repo("dana/gizmos", "acme", bot.repo.installation_id)

    assert transferred["changes"]["owner"]["from"] == {"user": None}
    with caplog.at_level(logging.WARNING, logger="hotfix_bot"):
        bot.deliver("repository", transferred)

    [entry] = bot.journal.recent()
    assert (entry.event, entry.status, entry.last_error) == ("repository", "done", None)
    assert (
        "acme/gizmos was transferred from an account GitHub does not name: what was kept under "
        "its old name cannot be found, and stays there"
    ) in caplog.messages
