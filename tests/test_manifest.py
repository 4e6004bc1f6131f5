"""app.yml: only GitHub's manifest fields, every handled event, and least privilege.

Which permission each REST operation needs is GitHub's "Permissions required for GitHub
Apps"; the operations are the ones tests/support/trim_openapi.py lists as the app's calls,
and a run of the app against the fake checks that every call it really makes is among them.
Some permissions serve no call, only the receiving of an event (`merge_queues`).
"""

from __future__ import annotations

from pathlib import Path

import yaml
from support.harness import Bot
from support.openapi import OpenAPIValidator
from support.trim_openapi import OPERATIONS

from app.handlers.table import build_router
from app.pages.setup import manifest_for_server

MANIFEST = yaml.safe_load((Path(__file__).parents[1] / "app.yml").read_text())

# GitHub's documented manifest parameters ("Registering a GitHub App from a manifest").
MANIFEST_FIELDS = {
    "name",
    "url",
    "hook_attributes",
    "redirect_url",
    "callback_urls",
    "setup_url",
    "description",
    "public",
    "default_events",
    "default_permissions",
    "request_oauth_on_install",
    "setup_on_update",
}
HOOK_FIELDS = {"url", "active"}
ACCESS = {"read": 1, "write": 2}

Permission = tuple[str, str]
# Operation -> the permissions any one of which allows it; () for the App's own calls
# (authenticated by its JWT, or by nothing for the manifest conversion), which need none.
REQUIRED: dict[str, tuple[Permission, ...]] = {
    "POST /app/installations/{installation_id}/access_tokens": (),
    "GET /app": (),
    "GET /app/installations": (),
    "POST /app-manifests/{code}/conversions": (),
    "GET /repos/{owner}/{repo}/installation": (),
    # An installation's own list: the repositories it is granted, whatever else it may do.
    "GET /installation/repositories": (("metadata", "read"),),
    "GET /repos/{owner}/{repo}": (("metadata", "read"),),
    "GET /repos/{owner}/{repo}/pulls": (("pull_requests", "read"),),
    "POST /repos/{owner}/{repo}/pulls": (("pull_requests", "write"),),
    "GET /repos/{owner}/{repo}/pulls/{pull_number}": (("pull_requests", "read"),),
    "GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews": (("pull_requests", "read"),),
    "POST /repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers": (
        ("pull_requests", "write"),
    ),
    "GET /repos/{owner}/{repo}/pulls/{pull_number}/files": (("pull_requests", "read"),),
    "GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls": (("pull_requests", "read"),),
    "GET /repos/{owner}/{repo}/contents/{path}": (("contents", "read"),),
    "GET /repos/{owner}/{repo}/git/ref/{ref}": (("contents", "read"),),
    "GET /repos/{owner}/{repo}/git/matching-refs/{ref}": (("contents", "read"),),
    "POST /repos/{owner}/{repo}/git/refs": (("contents", "write"),),
    "PATCH /repos/{owner}/{repo}/git/refs/{ref}": (("contents", "write"),),
    "DELETE /repos/{owner}/{repo}/git/refs/{ref}": (("contents", "write"),),
    "POST /repos/{owner}/{repo}/git/tags": (("contents", "write"),),
    "GET /repos/{owner}/{repo}/git/tags/{tag_sha}": (("contents", "read"),),
    "GET /repos/{owner}/{repo}/git/trees/{tree_sha}": (("contents", "read"),),
    "POST /repos/{owner}/{repo}/git/trees": (("contents", "write"),),
    "POST /repos/{owner}/{repo}/git/commits": (("contents", "write"),),
    "GET /repos/{owner}/{repo}/git/commits/{commit_sha}": (("contents", "read"),),
    "GET /repos/{owner}/{repo}/git/blobs/{file_sha}": (("contents", "read"),),
    "GET /repos/{owner}/{repo}/branches/{branch}": (("contents", "read"), ("metadata", "read")),
    "GET /repos/{owner}/{repo}/compare/{basehead}": (("contents", "read"),),
    "POST /repos/{owner}/{repo}/merges": (("contents", "write"),),
    "POST /repos/{owner}/{repo}/check-runs": (("checks", "write"),),
    "PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}": (("checks", "write"),),
    "GET /repos/{owner}/{repo}/check-runs/{check_run_id}": (("checks", "read"),),
    "GET /repos/{owner}/{repo}/commits/{ref}/check-runs": (("checks", "read"),),
    "GET /repos/{owner}/{repo}/check-suites/{check_suite_id}/check-runs": (("checks", "read"),),
    # A pull request's conversation is an issue's: either permission allows its comments.
    "POST /repos/{owner}/{repo}/issues/{issue_number}/comments": (
        ("issues", "write"),
        ("pull_requests", "write"),
    ),
    "GET /repos/{owner}/{repo}/issues/{issue_number}/comments": (
        ("issues", "read"),
        ("pull_requests", "read"),
    ),
    "PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}": (
        ("issues", "write"),
        ("pull_requests", "write"),
    ),
    "GET /repos/{owner}/{repo}/collaborators/{username}/permission": (("metadata", "read"),),
    "POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions": (
        ("issues", "write"),
        ("pull_requests", "write"),
    ),
    # Issues lists pull requests too; either permission reads the list.
    "GET /repos/{owner}/{repo}/issues": (("issues", "read"), ("pull_requests", "read")),
    "POST /repos/{owner}/{repo}/issues": (("issues", "write"),),
    "PATCH /repos/{owner}/{repo}/issues/{issue_number}": (("issues", "write"),),
    "GET /repos/{owner}/{repo}/issues/{issue_number}": (
        ("issues", "read"),
        ("pull_requests", "read"),
    ),
    "GET /repos/{owner}/{repo}/releases/tags/{tag}": (("contents", "read"),),
    "GET /repos/{owner}/{repo}/releases/latest": (("contents", "read"),),
    "POST /repos/{owner}/{repo}/releases": (("contents", "write"),),
    "PATCH /repos/{owner}/{repo}/releases/{release_id}": (("contents", "write"),),
    "GET /orgs/{org}/teams/{team_slug}/members": (("members", "read"),),
    "GET /orgs/{org}/teams/{team_slug}/memberships/{username}": (("members", "read"),),
}


# Event -> the permission an App needs to receive it (GitHub's "Webhook events and
# payloads": "a GitHub App must have at least read-level access for ...").
EVENTS: dict[str, Permission] = {
    "pull_request": ("pull_requests", "read"),
    "pull_request_review": ("pull_requests", "read"),
    "check_run": ("checks", "read"),
    "check_suite": ("checks", "read"),
    "merge_group": ("merge_queues", "read"),
    "issue_comment": ("issues", "read"),
    "push": ("contents", "read"),
    "repository": ("metadata", "read"),
}


def granted(permission: Permission) -> bool:
    name, access = permission
    given = MANIFEST["default_permissions"].get(name)
    return given is not None and ACCESS[given] >= ACCESS[access]


def covered(operation: str) -> bool:
    alternatives = REQUIRED[operation]
    return not alternatives or any(granted(permission) for permission in alternatives)


def test_the_manifest_has_only_fields_of_githubs_manifest_schema() -> None:
    filled = manifest_for_server(MANIFEST, "https://bot.example.com", "/api/github/webhooks")

    for manifest in (MANIFEST, filled):
        assert set(manifest) <= MANIFEST_FIELDS, set(manifest) - MANIFEST_FIELDS
        assert set(manifest["hook_attributes"]) <= HOOK_FIELDS
        assert isinstance(manifest["name"], str) and isinstance(manifest["url"], str)
        assert isinstance(manifest["hook_attributes"]["url"], str)
        assert set(manifest["default_permissions"].values()) <= set(ACCESS)
    assert MANIFEST["public"] is False
    assert "redirect_url" not in MANIFEST  # filled in by the setup page, for this server


def test_every_event_the_router_handles_is_subscribed_and_no_other() -> None:
    assert set(MANIFEST["default_events"]) == build_router().events


def test_the_permission_of_every_operation_the_app_may_call_is_known_and_granted() -> None:
    assert set(REQUIRED) == {f"{method} {path}" for method, path in OPERATIONS}, (
        "an operation was added to trim_openapi.OPERATIONS: add the permission it needs here"
    )
    assert [operation for operation in REQUIRED if not covered(operation)] == []


def test_the_permission_of_every_subscribed_event_is_known_and_granted() -> None:
    assert set(EVENTS) == set(MANIFEST["default_events"]), (
        "an event was subscribed: add the permission it needs here"
    )
    assert [event for event, permission in EVENTS.items() if not granted(permission)] == []


def test_every_permission_asked_for_is_needed_at_that_access() -> None:
    needs = [permission for alternatives in REQUIRED.values() for permission in alternatives]
    needs += EVENTS.values()
    for name, access in MANIFEST["default_permissions"].items():
        needed = [ACCESS[level] for permission, level in needs if permission == name]
        assert needed and max(needed) == ACCESS[access], f"{name}: {access} is more than needed"


def test_every_call_the_app_makes_in_a_hotfix_lifecycle_is_covered(bot: Bot) -> None:
    for slug, members in {"engineering-leads": ["lead"], "on-call-managers": ["oncall"]}.items():
        bot.fake.add_team("acme", slug, members)
    bot.repo.create_branch("develop", "main")
    bot.repo.create_branch("hotfix/fix-login", "main")
    head = bot.repo.commit("hotfix/fix-login", {"VERSION": "1.2.4\n"}, "Bump to 1.2.4")
    pull = bot.repo.open_pull(
        "hotfix/fix-login", "main", title="Fix login", author="dev", labels=["hotfix", "P0"]
    )
    bot.pull_request(pull.number, "opened")
    bot.repo.review(pull.number, "lead", "APPROVED")
    bot.deliver("pull_request_review", bot.fake.review_event(bot.repo, pull.number))
    bot.repo.collaborators.update({"lead": "write", "oncall": "write"})
    for body in (
        "/hotfix verbal-approval @oncall",
        "/hotfix break-glass the fix must ship now",
        "/hotfix unknown",
    ):
        comment = bot.repo.add_comment(pull.number, "lead", body)
        bot.deliver("issue_comment", bot.fake.issue_comment_event(bot.repo, comment.id))
    bot.deliver("check_suite", bot.fake.check_suite_event(bot.repo, head))
    group = bot.repo.enqueue(pull.number)
    bot.deliver("merge_group", bot.fake.merge_group_event(bot.repo, group))
    bot.repo.merge_group(group)
    bot.pull_request(pull.number, "closed")
    confirmation = bot.repo.add_comment(pull.number, "oncall", "/hotfix confirm")
    bot.deliver("issue_comment", bot.fake.issue_comment_event(bot.repo, confirmation.id))

    validator = OpenAPIValidator()
    calls = {validator.operation(request.method, request.path) for request in bot.fake.requests}
    assert None not in calls  # the harness also checks every request against OpenAPI
    assert "POST /repos/{owner}/{repo}/check-runs" in calls
    assert bot.policy_run(group.head_sha).conclusion == "success"
    assert "POST /repos/{owner}/{repo}/issues" in calls  # the commands ran
    assert sorted(call for call in calls if call is not None and not covered(call)) == []
