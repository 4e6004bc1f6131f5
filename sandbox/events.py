"""Webhook payloads built from the fake's state (tests sign and deliver them)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox import shapes
from sandbox.git import changed_paths
from sandbox.models import FakeInstallation, FakeMergeGroup
from sandbox.repo import FakeRepo

if TYPE_CHECKING:
    from sandbox.fake import FakeGitHub

JSON = dict[str, Any]
# `before` of a push that created the branch, `after` of one that deleted it.
NO_COMMIT = "0" * 40


def _envelope(fake: FakeGitHub, repo: FakeRepo, action: str, sender: str) -> JSON:
    # GitHub names the organization only for a repository one owns.
    organization = (
        {}
        if fake.is_personal(repo.owner)
        else {"organization": shapes.organization(fake, repo.owner)}
    )
    return {
        "action": action,
        "repository": shapes.repository(fake, repo),
        **organization,
        "installation": {"id": repo.installation_id, "node_id": f"I_{repo.installation_id}"},
        "sender": shapes.user(fake, sender),
    }


def installation_event(
    fake: FakeGitHub, installation: FakeInstallation, action: str, sender: str
) -> JSON:
    with fake.lock:
        covered = [repo for repo in fake.repos.values() if repo.installation_id == installation.id]
        return {
            "action": action,
            "installation": shapes.installation(fake, installation),
            "repositories": [
                {
                    "id": repo.id,
                    "node_id": f"R_{repo.id}",
                    "name": repo.name,
                    "full_name": repo.full_name,
                    "private": False,
                }
                for repo in covered
            ],
            "requester": None,
            "sender": shapes.user(fake, sender),
        }


def pull_request_event(
    fake: FakeGitHub,
    repo: FakeRepo,
    number: int,
    action: str,
    sender: str,
    label: str | None,
) -> JSON:
    with fake.lock:
        pull = repo.pulls[number]
        payload = {
            **_envelope(fake, repo, action, sender),
            "number": number,
            "pull_request": shapes.pull_request(fake, repo, pull),
        }
        if label is not None:
            payload["label"] = shapes.label(fake, repo, label)
        if action == "synchronize":
            # The push that moved the head: from its first parent to the current head.
            parents = repo.objects.commits[pull.head_sha].parents
            payload |= {"before": parents[0] if parents else pull.head_sha, "after": pull.head_sha}
        return payload


def review_event(
    fake: FakeGitHub,
    repo: FakeRepo,
    number: int,
    review_id: int | None,
    action: str,
    sender: str | None,
) -> JSON:
    with fake.lock:
        pull = repo.pulls[number]
        review = next(r for r in reversed(pull.reviews) if review_id in (None, r.id))
        return {
            **_envelope(fake, repo, action, sender or review.login),
            "review": shapes.review(fake, repo, pull, review),
            "pull_request": shapes.pull_request(fake, repo, pull),
        }


def check_run_event(
    fake: FakeGitHub, repo: FakeRepo, run_id: int, action: str, sender: str
) -> JSON:
    with fake.lock:
        run = repo.check_runs[run_id]
        check_run = shapes.check_run(fake, repo, run)
        check_run["check_suite"] = _suite(fake, repo, run.head_sha, run.check_suite_id, run.app_id)
        # Webhooks carry empty strings where the REST API says null.
        check_run["details_url"] = run.details_url or ""
        check_run["external_id"] = run.external_id or ""
        return {**_envelope(fake, repo, action, sender), "check_run": check_run}


def check_suite_event(
    fake: FakeGitHub,
    repo: FakeRepo,
    head_sha: str,
    action: str,
    sender: str,
    app_id: int | None,
) -> JSON:
    """A ``check_suite`` payload for the suite of ``app_id`` (default: the repo's app)."""
    with fake.lock:
        owner_app = app_id or fake.installations[repo.installation_id].app_id
        suite_id = repo.check_suites.setdefault((owner_app, head_sha), fake.next_id())
        suite = _suite(fake, repo, head_sha, suite_id, owner_app)
        return {**_envelope(fake, repo, action, sender), "check_suite": suite}


def _suite(fake: FakeGitHub, repo: FakeRepo, head_sha: str, suite_id: int, app_id: int) -> JSON:
    runs = [run for run in repo.check_runs.values() if run.check_suite_id == suite_id]
    head_branch = next((b.name for b in repo.branches.values() if b.sha == head_sha), None)
    done = bool(runs) and all(run.status == "completed" for run in runs)
    commit = repo.objects.commits[head_sha]
    suite_url = f"{fake.api_url}/repos/{repo.full_name}/check-suites/{suite_id}"
    return {
        "id": suite_id,
        "node_id": f"CS_{suite_id}",
        "head_branch": head_branch,
        "head_sha": head_sha,
        "status": "completed" if done else "queued",
        "conclusion": runs[-1].conclusion if done else None,
        "app": shapes.app(fake, fake.apps[app_id]),
        "pull_requests": shapes.pull_refs(fake, repo, head_sha),
        "url": suite_url,
        "check_runs_url": f"{suite_url}/check-runs",
        "before": commit.parents[0] if commit.parents else None,
        "after": head_sha,
        "head_commit": _simple_commit(repo, head_sha),
        "latest_check_runs_count": len(runs),
        "created_at": shapes.timestamp(commit.committed_at),
        "updated_at": shapes.timestamp(fake.now()),
    }


def merge_group_event(
    fake: FakeGitHub,
    repo: FakeRepo,
    group: FakeMergeGroup,
    action: str,
    sender: str,
    reason: str | None,
) -> JSON:
    """A ``merge_group`` payload; ``reason`` is the ``destroyed`` action's (merged,
    invalidated, dequeued)."""
    with fake.lock:
        payload = {
            **_envelope(fake, repo, action, sender),
            "merge_group": {
                "head_sha": group.head_sha,
                "head_ref": f"refs/heads/{group.branch}",
                "base_sha": group.base_sha,
                "base_ref": f"refs/heads/{group.base_ref}",
                "head_commit": _simple_commit(repo, group.head_sha),
            },
        }
        if reason is not None:
            payload["reason"] = reason
        return payload


def _simple_commit(repo: FakeRepo, sha: str) -> JSON:
    """A commit as webhooks give a head commit."""
    commit = repo.objects.commits[sha]
    person = {"name": commit.author.name, "email": commit.author.email}
    return {
        "id": sha,
        "tree_id": commit.tree_sha,
        "message": commit.message,
        "timestamp": shapes.timestamp(commit.committed_at),
        "author": person,
        "committer": person,
    }


def issue_comment_event(
    fake: FakeGitHub, repo: FakeRepo, comment_id: int, action: str, previous_body: str | None
) -> JSON:
    """An ``issue_comment`` payload; ``previous_body`` is what an ``edited`` one changed."""
    with fake.lock:
        comment = repo.comments[comment_id]
        payload = {
            **_envelope(fake, repo, action, comment.author),
            "issue": shapes.issue(fake, repo, repo.issue_like(comment.issue_number)),
            "comment": shapes.comment(fake, repo, comment),
        }
        if previous_body is not None:
            payload["changes"] = {"body": {"from": previous_body}}
        return payload


def push_event(
    fake: FakeGitHub, repo: FakeRepo, ref: str, before: str, after: str, sender: str, forced: bool
) -> JSON:
    """A ``push`` payload moving ``ref`` from ``before`` to ``after`` (either `NO_COMMIT` for
    a ref created or deleted). Pushes have no action; their repository carries the epoch
    seconds GitHub writes there, and ``master_branch``."""
    with fake.lock:
        envelope = _envelope(fake, repo, "", sender)
        del envelope["action"]
        moment = int(fake.now().timestamp())
        envelope["repository"] |= {
            "created_at": moment,
            "pushed_at": moment,
            "master_branch": repo.default_branch,
        }
        if after == NO_COMMIT:
            pushed = []
        elif before == NO_COMMIT:  # GitHub lists the commits new to the repository; here, the head
            pushed = [after]
        else:
            pushed = [commit.sha for commit in repo.objects.commits_between(before, after)]
        commits = [_pushed_commit(fake, repo, sha) for sha in pushed]
        base = "" if before == NO_COMMIT else f"{before[:12]}..."
        return {
            "ref": ref,
            "before": before,
            "after": after,
            **envelope,
            "pusher": {"name": sender, "email": f"{sender}@users.noreply.github.com"},
            "created": before == NO_COMMIT,
            "deleted": after == NO_COMMIT,
            "forced": forced,
            "base_ref": None,
            "compare": f"{fake.web_url}/{repo.full_name}/compare/{base}{after[:12]}",
            "commits": commits,
            "head_commit": commits[-1] if commits else None,
        }


def _pushed_commit(fake: FakeGitHub, repo: FakeRepo, sha: str) -> JSON:
    """A commit as a push lists it: its author's username and the paths it changed."""
    commit = repo.objects.commits[sha]
    parent_tree = repo.objects.commits[commit.parents[0]].tree if commit.parents else {}
    changes = changed_paths(parent_tree, commit.tree)
    username = commit.author.name
    person = {"name": commit.author.name, "email": commit.author.email, "username": username}
    return {
        **_simple_commit(repo, sha),
        "distinct": True,
        "url": f"{fake.web_url}/{repo.full_name}/commit/{sha}",
        "author": person,
        "committer": person,
        **{
            status: [path for path, change in changes if change == status]
            for status in ("added", "removed", "modified")
        },
    }


def repository_renamed_event(
    fake: FakeGitHub, repo: FakeRepo, name_before: str, sender: str
) -> JSON:
    """A `repository` payload of `repo` renamed from `name_before` (it has its new name)."""
    return {
        **_envelope(fake, repo, "renamed", sender),
        "changes": {"repository": {"name": {"from": name_before}}},
    }


def repository_transferred_event(
    fake: FakeGitHub, repo: FakeRepo, owner_before: str, sender: str
) -> JSON:
    """A `repository` payload of `repo` transferred from the account `owner_before`: an
    organization, or a person's (it has its new owner)."""
    before = (
        {"user": shapes.nullable_author(fake, owner_before)}
        if fake.is_personal(owner_before)
        else {"organization": shapes.organization(fake, owner_before)}
    )
    return {
        **_envelope(fake, repo, "transferred", sender),
        "changes": {"owner": {"from": before}},
    }
