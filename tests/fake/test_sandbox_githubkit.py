"""githubkit (the app's client) authenticates against the fake and parses every shape."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from githubkit import AppAuthStrategy, GitHub
from githubkit_schemas.latest.models import (
    WebhookCheckRunRerequested,
    WebhookCheckSuiteRerequested,
    WebhookMergeGroupChecksRequested,
    WebhookMergeGroupDestroyed,
    WebhookPullRequestReviewSubmitted,
    WebhookPullRequestSynchronize,
    WebhookPush,
)

from sandbox import FakeGitHub, serve_fake
from sandbox.events import NO_COMMIT


def test_githubkit_parses_every_route_and_webhook() -> None:
    fake = FakeGitHub()
    app = fake.create_app()
    installation_id = fake.add_installation(app.id)
    repo = fake.add_repo("acme/widgets", installation_id, files={"VERSION": "1.2.3\n"})
    repo.create_branch("develop")
    repo.commit("hotfix/x", {"VERSION": "1.2.4\n"}, "bump")
    pull = repo.open_pull("hotfix/x", "main", "Fix", "dev", labels=["hotfix", "P1"])
    repo.review(pull.number, "alice", "APPROVED")
    fake.add_team("acme", "leads", ["alice"])
    main_sha = repo.branches["main"].sha

    with serve_fake(fake) as base_url:
        as_app = GitHub(AppAuthStrategy(str(app.id), app.private_key_pem), base_url=base_url)
        # Keep the client referenced: githubkit namespaces only hold a weak reference.
        as_installation = as_app.with_auth(as_app.auth.as_installation(installation_id))
        rest = as_installation.rest
        calls: list[Callable[[], Any]] = [
            lambda: as_app.rest.apps.get_authenticated(),
            lambda: as_app.rest.apps.list_installations(),
            lambda: as_app.rest.apps.get_repo_installation("acme", "widgets"),
            lambda: rest.repos.get("acme", "widgets"),
            lambda: rest.pulls.get("acme", "widgets", 1),
            lambda: rest.pulls.list("acme", "widgets", head="acme:hotfix/x"),
            lambda: rest.pulls.list_reviews("acme", "widgets", 1),
            lambda: rest.pulls.request_reviewers("acme", "widgets", 1, reviewers=["alice"]),
            lambda: rest.repos.list_pull_requests_associated_with_commit(
                "acme", "widgets", pull.head_sha
            ),
            lambda: rest.repos.get_content("acme", "widgets", "VERSION", ref="main"),
            lambda: rest.repos.get_commit("acme", "widgets", "main"),
            lambda: rest.repos.get_branch("acme", "widgets", "main"),
            lambda: rest.repos.compare_commits("acme", "widgets", "main...hotfix/x"),
            lambda: rest.git.get_ref("acme", "widgets", "heads/main"),
            lambda: rest.git.list_matching_refs("acme", "widgets", "heads/"),
            lambda: rest.git.create_ref("acme", "widgets", ref="refs/heads/bm", sha=main_sha),
            lambda: rest.git.update_ref("acme", "widgets", "heads/bm", sha=pull.head_sha),
            lambda: rest.pulls.create("acme", "widgets", title="bm", head="bm", base="develop"),
            lambda: rest.repos.merge("acme", "widgets", base="develop", head="hotfix/x"),
            lambda: rest.checks.create(
                "acme", "widgets", name="hotfix-policy", head_sha=pull.head_sha, status="queued"
            ),
            lambda: rest.checks.update(
                "acme", "widgets", next(iter(repo.check_runs)), conclusion="success",
                output={"title": "ok", "summary": "ok"},
            ),
            lambda: rest.checks.get("acme", "widgets", next(iter(repo.check_runs))),
            lambda: rest.checks.list_for_ref("acme", "widgets", "hotfix/x"),
            lambda: rest.issues.create_comment("acme", "widgets", 1, body="hi"),
            lambda: rest.issues.list_comments("acme", "widgets", 1),
            lambda: rest.issues.update_comment(
                "acme", "widgets", next(iter(repo.comments)), body="edited"
            ),
            lambda: rest.git.create_tag(
                "acme", "widgets", tag="v1.2.4", message="m", object_=main_sha, type="commit"
            ),
            lambda: rest.git.get_tag("acme", "widgets", next(iter(repo.objects.tags))),
            lambda: rest.repos.create_release("acme", "widgets", tag_name="v1.2.4"),
            lambda: rest.repos.get_release_by_tag("acme", "widgets", "v1.2.4"),
            lambda: rest.teams.list_members_in_org("acme", "leads"),
            lambda: rest.teams.get_membership_for_user_in_org("acme", "leads", "alice"),
        ]  # fmt: skip
        for call in calls:
            assert call().parsed_data is not None
        assert rest.git.delete_ref("acme", "widgets", "heads/bm").status_code == 204
    assert fake.tokens_minted[installation_id] == 1

    run_id = next(iter(repo.check_runs))
    # The per-action models, not githubkit.webhooks.parse_obj: its unions take seconds to build.
    WebhookPullRequestSynchronize.model_validate(
        fake.pull_request_event(repo, pull.number, "synchronize")
    )
    WebhookPullRequestReviewSubmitted.model_validate(fake.review_event(repo, pull.number))
    WebhookCheckRunRerequested.model_validate(fake.check_run_event(repo, run_id))
    WebhookCheckSuiteRerequested.model_validate(fake.check_suite_event(repo, pull.head_sha))
    group = repo.enqueue(pull.number)
    WebhookMergeGroupChecksRequested.model_validate(fake.merge_group_event(repo, group))
    WebhookMergeGroupDestroyed.model_validate(
        fake.merge_group_event(repo, group, "destroyed", reason="dequeued")
    )
    pushed = fake.push_event(repo, "refs/heads/hotfix/x", main_sha)
    WebhookPush.model_validate(pushed)
    assert [commit["modified"] for commit in pushed["commits"]] == [["VERSION"]]
    assert pushed["head_commit"]["id"] == pushed["after"] == repo.branches["hotfix/x"].sha
    created = fake.push_event(repo, "refs/heads/develop", NO_COMMIT)
    WebhookPush.model_validate(created)
    assert (created["created"], created["deleted"]) == (True, False)
    deleted = fake.push_event(repo, "refs/heads/gone", main_sha, NO_COMMIT)
    WebhookPush.model_validate(deleted)
    assert (deleted["deleted"], deleted["commits"], deleted["head_commit"]) == (True, [], None)
