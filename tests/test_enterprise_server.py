"""GitHub Enterprise Server: `GITHUB_API_URL=https://HOST/api/v3` (docs/ADMIN.md, "GitHub
Enterprise Server"), its API served under that path alone, where a request that drops the
path is answered 404."""

from __future__ import annotations

from pathlib import Path

from support.harness import pulls_of_the_commit_on_a_later_page, running_bot
from support.titles import all_rules_pass

API_PREFIX = "/api/v3"


def test_a_hotfix_is_checked_and_released_through_the_api_under_its_path(
    tmp_path: Path, private_key_pem: str
) -> None:
    with running_bot(tmp_path, private_key_pem, api_prefix=API_PREFIX) as bot:
        assert bot.fake.api_url.endswith(API_PREFIX)
        repo = bot.repo
        bot.fake.add_team("acme", "engineering-leads", ["lead"])
        bot.fake.add_team("acme", "product-managers", ["pm"])
        repo.create_branch("develop", "main")
        pull = bot.open_hotfix()
        bot.pull_request(pull.number, "opened")
        for login in ("lead", "pm"):
            repo.review(pull.number, login, "APPROVED")
            bot.deliver("pull_request_review", bot.fake.review_event(repo, pull.number))

        run = bot.policy_run(pull.head_sha)
        assert (run.status, run.conclusion, run.output["title"]) == (
            "completed",
            "success",
            all_rules_pass(),
        )
        assert repo.pulls[pull.number].requested_teams == ["engineering-leads", "product-managers"]

        repo.merge_pull(pull.number)
        bot.pull_request(pull.number, "closed")
        merge_sha = repo.pulls[pull.number].merge_commit_sha
        assert merge_sha is not None
        # A re-run of the merge commit, whose pull requests GitHub lists on a later page,
        # named by a URL under the API's path.
        pulls_of_the_commit_on_a_later_page(bot, merge_sha)
        bot.deliver("check_suite", bot.fake.check_suite_event(repo, merge_sha))

        [release_run] = repo.runs_named("hotfix-release", merge_sha)
        assert (release_run.conclusion, release_run.output["title"]) == (
            "success",
            "All steps done for v1.2.4",
        )
        assert repo.resolve("refs/tags/v1.2.4") == merge_sha
        assert list(repo.releases) == ["v1.2.4"]
        assert set(repo.branches) == {"main", "develop"}
        assert repo.objects.is_ancestor(merge_sha, repo.branches["develop"].sha)
        asked = {span.path for span in bot.transport.spans}
        assert [path for path in asked if not path.startswith(f"{API_PREFIX}/")] == []
