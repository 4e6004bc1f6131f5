"""JSON shapes of GitHub's REST API, rendered from the fake's state."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sandbox.git import FakeCommit, FakeTagObject, blob_sha, tree_sha
from sandbox.models import (
    FakeApp,
    FakeBranch,
    FakeCheckRun,
    FakeComment,
    FakeInstallation,
    FakeIssue,
    FakePull,
    FakeReaction,
    FakeRelease,
    FakeReview,
    FakeTeam,
)
from sandbox.repo import FakeRepo

if TYPE_CHECKING:
    from sandbox.fake import FakeGitHub

JSON = dict[str, Any]
GITHUB_WEB_URL = "https://github.com"


def timestamp(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# URL templates GitHub puts in every user and repository object, relative to its `url`.
USER_URLS = {
    "followers_url": "/followers",
    "following_url": "/following{/other_user}",
    "gists_url": "/gists{/gist_id}",
    "starred_url": "/starred{/owner}{/repo}",
    "subscriptions_url": "/subscriptions",
    "organizations_url": "/orgs",
    "repos_url": "/repos",
    "events_url": "/events{/privacy}",
    "received_events_url": "/received_events",
}
REPO_URLS = {
    "archive_url": "/{archive_format}{/ref}",
    "assignees_url": "/assignees{/user}",
    "blobs_url": "/git/blobs{/sha}",
    "branches_url": "/branches{/branch}",
    "collaborators_url": "/collaborators{/collaborator}",
    "comments_url": "/comments{/number}",
    "commits_url": "/commits{/sha}",
    "compare_url": "/compare/{base}...{head}",
    "contents_url": "/contents/{+path}",
    "contributors_url": "/contributors",
    "deployments_url": "/deployments",
    "downloads_url": "/downloads",
    "events_url": "/events",
    "forks_url": "/forks",
    "git_commits_url": "/git/commits{/sha}",
    "git_refs_url": "/git/refs{/sha}",
    "git_tags_url": "/git/tags{/sha}",
    "hooks_url": "/hooks",
    "issue_comment_url": "/issues/comments{/number}",
    "issue_events_url": "/issues/events{/number}",
    "issues_url": "/issues{/number}",
    "keys_url": "/keys{/key_id}",
    "labels_url": "/labels{/name}",
    "languages_url": "/languages",
    "merges_url": "/merges",
    "milestones_url": "/milestones{/number}",
    "notifications_url": "/notifications{?since,all,participating}",
    "pulls_url": "/pulls{/number}",
    "releases_url": "/releases{/id}",
    "stargazers_url": "/stargazers",
    "statuses_url": "/statuses/{sha}",
    "subscribers_url": "/subscribers",
    "subscription_url": "/subscription",
    "tags_url": "/tags",
    "teams_url": "/teams",
    "trees_url": "/git/trees{/sha}",
}
EPOCH = "2020-01-01T00:00:00Z"


def user(fake: FakeGitHub, login: str) -> JSON:
    is_bot = login.endswith("[bot]")
    url = f"{fake.api_url}/users/{login}"
    return {
        "login": login,
        "id": fake.user_id(login),
        "node_id": f"U_{fake.user_id(login)}",
        "type": "Bot" if is_bot else "User",
        "site_admin": False,
        "url": url,
        "html_url": f"{fake.web_url}/{login}",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{fake.user_id(login)}?v=4",
        "gravatar_id": "",
        **{name: url + suffix for name, suffix in USER_URLS.items()},
    }


# What GitHub shows in place of a deleted account where its description requires a user.
GHOST = "ghost"


def author(fake: FakeGitHub, login: str) -> JSON:
    """Who wrote something, where GitHub's description requires a user: `ghost` once the
    account is deleted."""
    return user(fake, GHOST if fake.is_deleted(login) else login)


def nullable_author(fake: FakeGitHub, login: str | None) -> JSON | None:
    """Who wrote or did something, where GitHub's description lets the user be null (its
    `nullable-simple-user`): null once the account is deleted."""
    return None if login is None or fake.is_deleted(login) else user(fake, login)


def account(fake: FakeGitHub, login: str) -> JSON:
    """The owner of a repository or an installation: an organization, or a person."""
    return {**user(fake, login), "type": account_type(fake, login)}


def account_type(fake: FakeGitHub, login: str) -> str:
    return "User" if fake.is_personal(login) else "Organization"


def organization(fake: FakeGitHub, login: str) -> JSON:
    """The ``organization`` object of webhook payloads."""
    url = f"{fake.api_url}/orgs/{login}"
    return {
        "login": login,
        "id": fake.user_id(login),
        "node_id": f"O_{fake.user_id(login)}",
        "url": url,
        "repos_url": f"{url}/repos",
        "events_url": f"{url}/events",
        "hooks_url": f"{url}/hooks",
        "issues_url": f"{url}/issues",
        "members_url": f"{url}/members{{/member}}",
        "public_members_url": f"{url}/public_members{{/member}}",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{fake.user_id(login)}?v=4",
        "description": None,
    }


def app(fake: FakeGitHub, fake_app: FakeApp) -> JSON:
    owner = next(
        (i.account for i in fake.installations.values() if i.app_id == fake_app.id), "github"
    )
    # GitHub Enterprise Server keeps Apps' pages under /github-apps/, github.com under /apps/.
    pages = "apps" if fake.web_url == GITHUB_WEB_URL else "github-apps"
    return {
        "id": fake_app.id,
        "slug": fake_app.slug,
        "node_id": f"A_{fake_app.id}",
        "name": fake_app.name,
        "owner": account(fake, owner),
        "description": None,
        "external_url": f"{fake.web_url}/{pages}/{fake_app.slug}",
        "html_url": f"{fake.web_url}/{pages}/{fake_app.slug}",
        "created_at": EPOCH,
        "updated_at": EPOCH,
        "permissions": {},
        "events": [],
    }


def installation(fake: FakeGitHub, inst: FakeInstallation) -> JSON:
    fake_app = fake.apps[inst.app_id]
    return {
        "id": inst.id,
        "app_id": inst.app_id,
        "app_slug": fake_app.slug,
        # GitHub's description lets an installation's account be null: one deleted since.
        "account": None if fake.is_deleted(inst.account) else account(fake, inst.account),
        "target_type": account_type(fake, inst.account),
        "permissions": inst.permissions,
        "events": [],
        "repository_selection": "all",
        "target_id": fake.user_id(inst.account),
        "single_file_name": None,
        "suspended_at": timestamp(inst.suspended_at),
        "suspended_by": nullable_author(fake, inst.account) if inst.suspended_at else None,
        "created_at": EPOCH,
        "updated_at": EPOCH,
        "repositories_url": f"{fake.api_url}/installation/repositories",
        "access_tokens_url": f"{fake.api_url}/app/installations/{inst.id}/access_tokens",
        "html_url": f"{fake.web_url}/organizations/{inst.account}/settings/installations/{inst.id}",
    }


def repository(fake: FakeGitHub, repo: FakeRepo) -> JSON:
    url = f"{fake.api_url}/repos/{repo.full_name}"
    return {
        "id": repo.id,
        "node_id": f"R_{repo.id}",
        "name": repo.name,
        "full_name": repo.full_name,
        "owner": account(fake, repo.owner),
        "private": True,
        "fork": False,
        "archived": repo.archived,
        "disabled": False,
        "visibility": "private",
        "description": None,
        "homepage": None,
        "language": None,
        "license": None,
        "mirror_url": None,
        "default_branch": repo.default_branch,
        "url": url,
        "html_url": f"{fake.web_url}/{repo.full_name}",
        "git_url": f"git://{fake.web_host}/{repo.full_name}.git",
        "ssh_url": f"git@{fake.web_host}:{repo.full_name}.git",
        "clone_url": f"{fake.web_url}/{repo.full_name}.git",
        "svn_url": f"{fake.web_url}/{repo.full_name}",
        **{name: url + suffix for name, suffix in REPO_URLS.items()},
        **dict.fromkeys(
            (
                "size",
                "forks",
                "forks_count",
                "watchers",
                "watchers_count",
                "stargazers_count",
                "open_issues",
                "open_issues_count",
                "network_count",
                "subscribers_count",
            ),
            0,
        ),
        **dict.fromkeys(("has_issues", "has_projects", "has_wiki", "has_discussions"), True),
        "has_pages": False,
        "topics": [],
        "created_at": EPOCH,
        "updated_at": EPOCH,
        "pushed_at": EPOCH,
    }


def label(fake: FakeGitHub, repo: FakeRepo, name: str) -> JSON:
    return {
        "id": fake.user_id(f"label:{name}"),
        "node_id": f"LA_{fake.user_id(f'label:{name}')}",
        "description": None,
        "archived_by": None,
        "name": name,
        "color": "ededed",
        "default": False,
        "url": f"{fake.api_url}/repos/{repo.full_name}/labels/{name}",
    }


def pull_request(fake: FakeGitHub, repo: FakeRepo, pull: FakePull) -> JSON:
    url = f"{fake.api_url}/repos/{repo.full_name}/pulls/{pull.number}"
    html = f"{fake.web_url}/{repo.full_name}/pull/{pull.number}"
    issue_url = f"{fake.api_url}/repos/{repo.full_name}/issues/{pull.number}"

    def side(ref: str, sha: str, owner: str, side_repo: FakeRepo | None) -> JSON:
        return {
            "label": f"{owner}:{ref}",
            "ref": ref,
            "sha": sha,
            "user": account(fake, owner),
            # A fork deleted since: GitHub keeps the pull request, without its repository.
            "repo": None if side_repo is None else repository(fake, side_repo),
        }

    return {
        "id": pull.id,
        "node_id": f"PR_{pull.id}",
        "number": pull.number,
        "url": url,
        "html_url": html,
        "issue_url": issue_url,
        "state": pull.state,
        "locked": False,
        "title": pull.title,
        "body": pull.body,
        "user": author(fake, pull.author),
        "labels": [label(fake, repo, name) for name in pull.labels],
        "draft": pull.draft,
        "merged": pull.merged,
        "mergeable": None if pull.merged else True,
        "merge_commit_sha": pull.merge_commit_sha,
        "merged_at": timestamp(pull.merged_at),
        "merged_by": nullable_author(fake, pull.merged_by),
        "closed_at": timestamp(pull.closed_at),
        "created_at": timestamp(pull.created_at),
        "updated_at": timestamp(pull.updated_at),
        "head": side(
            pull.head_ref, pull.head_sha, repo.head_owner(pull), _head_repo(fake, repo, pull)
        ),
        "base": side(pull.base_ref, pull.base_sha, repo.owner, repo),
        "requested_reviewers": [user(fake, login) for login in pull.requested_reviewers],
        "requested_teams": [
            team(fake, fake.teams[(repo.owner.lower(), slug)]) for slug in pull.requested_teams
        ],
        "author_association": "MEMBER",
        "assignee": None,
        "assignees": [],
        "milestone": None,
        "auto_merge": None,
        "active_lock_reason": None,
        "maintainer_can_modify": False,
        "mergeable_state": "unknown" if pull.merged else "clean",
        "rebaseable": not pull.merged,
        **dict.fromkeys(
            ("comments", "review_comments", "commits", "additions", "deletions", "changed_files"), 0
        ),
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        "commits_url": f"{url}/commits",
        "review_comments_url": f"{url}/comments",
        "review_comment_url": f"{fake.api_url}/repos/{repo.full_name}/pulls/comments{{/number}}",
        "comments_url": f"{issue_url}/comments",
        "statuses_url": f"{fake.api_url}/repos/{repo.full_name}/statuses/{pull.head_sha}",
        "_links": {
            "self": {"href": url},
            "html": {"href": html},
            "issue": {"href": issue_url},
            "comments": {"href": f"{issue_url}/comments"},
            "review_comments": {"href": f"{url}/comments"},
            "review_comment": {
                "href": f"{fake.api_url}/repos/{repo.full_name}/pulls/comments{{/number}}"
            },
            "commits": {"href": f"{url}/commits"},
            "statuses": {"href": f"{fake.api_url}/repos/{repo.full_name}/statuses/{pull.head_sha}"},
        },
    }


def team(fake: FakeGitHub, item: FakeTeam) -> JSON:
    """GitHub's `team-simple`."""
    url = f"{fake.api_url}/organizations/{fake.user_id(item.org)}/team/{item.id}"
    return {
        "id": item.id,
        "node_id": f"T_{item.id}",
        "url": url,
        "html_url": f"{fake.web_url}/orgs/{item.org}/teams/{item.slug}",
        "name": item.name,
        "slug": item.slug,
        "description": None,
        "privacy": "closed",
        "notification_setting": "notifications_enabled",
        "permission": "pull",
        "members_url": f"{url}/members{{/member}}",
        "repositories_url": f"{url}/repos",
        "parent": None,
    }


def review(fake: FakeGitHub, repo: FakeRepo, pull: FakePull, item: FakeReview) -> JSON:
    pull_url = f"{fake.api_url}/repos/{repo.full_name}/pulls/{pull.number}"
    html = f"{fake.web_url}/{repo.full_name}/pull/{pull.number}"
    return {
        "id": item.id,
        "node_id": f"PRR_{item.id}",
        "user": nullable_author(fake, item.login),
        "body": item.body,
        "state": item.state,
        "commit_id": item.commit_id,
        "submitted_at": timestamp(item.submitted_at),
        "html_url": f"{html}#pullrequestreview-{item.id}",
        "pull_request_url": pull_url,
        "author_association": "MEMBER",
        "_links": {
            "html": {"href": f"{html}#pullrequestreview-{item.id}"},
            "pull_request": {"href": pull_url},
        },
    }


def _unsigned() -> JSON:
    """GitHub's verification of a commit or tag object without a signature: the fake signs
    none."""
    return {
        "verified": False,
        "reason": "unsigned",
        "signature": None,
        "payload": None,
        "verified_at": None,
    }


def _signature(item: FakeCommit) -> JSON:
    """A commit's author and committer, alike in the fake: who wrote it, and when."""
    return {
        "name": item.author.name,
        "email": item.author.email,
        "date": timestamp(item.committed_at),
    }


def commit(fake: FakeGitHub, repo: FakeRepo, item: FakeCommit) -> JSON:
    """The ``/commits/{sha}`` (and merges API) shape of a commit."""
    url = f"{fake.api_url}/repos/{repo.full_name}/commits/{item.sha}"
    return {
        "sha": item.sha,
        "node_id": f"C_{item.sha}",
        "url": url,
        "html_url": f"{fake.web_url}/{repo.full_name}/commit/{item.sha}",
        "comments_url": f"{url}/comments",
        "commit": {
            "url": f"{fake.api_url}/repos/{repo.full_name}/git/commits/{item.sha}",
            "author": _signature(item),
            "committer": _signature(item),
            "message": item.message,
            "comment_count": 0,
            "tree": {
                "sha": item.tree_sha,
                "url": f"{fake.api_url}/repos/{repo.full_name}/git/trees/{item.tree_sha}",
            },
        },
        "author": nullable_author(fake, item.author.name),
        "committer": nullable_author(fake, item.author.name),
        "parents": [
            {"sha": sha, "url": f"{fake.api_url}/repos/{repo.full_name}/commits/{sha}"}
            for sha in item.parents
        ],
    }


def git_commit(fake: FakeGitHub, repo: FakeRepo, item: FakeCommit) -> JSON:
    """The git data API's shape of a commit (``POST /git/commits``, ``GET /git/commits/{sha}``)."""
    git_url = f"{fake.api_url}/repos/{repo.full_name}/git"
    return {
        "sha": item.sha,
        "node_id": f"C_{item.sha}",
        "url": f"{git_url}/commits/{item.sha}",
        "html_url": f"{fake.web_url}/{repo.full_name}/commit/{item.sha}",
        "author": _signature(item),
        "committer": _signature(item),
        "message": item.message,
        "tree": {"sha": item.tree_sha, "url": f"{git_url}/trees/{item.tree_sha}"},
        "parents": [
            {
                "sha": sha,
                "url": f"{git_url}/commits/{sha}",
                "html_url": f"{fake.web_url}/{repo.full_name}/commit/{sha}",
            }
            for sha in item.parents
        ],
        "verification": _unsigned(),
    }


def git_ref(fake: FakeGitHub, repo: FakeRepo, ref: str, sha: str) -> JSON:
    object_type = "tag" if sha in repo.objects.tags else "commit"
    plural = "tags" if object_type == "tag" else "commits"
    return {
        "ref": ref,
        "node_id": f"REF_{ref}",
        "url": f"{fake.api_url}/repos/{repo.full_name}/git/{ref}",
        "object": {
            "sha": sha,
            "type": object_type,
            "url": f"{fake.api_url}/repos/{repo.full_name}/git/{plural}/{sha}",
        },
    }


def tag_object(fake: FakeGitHub, repo: FakeRepo, tag: FakeTagObject) -> JSON:
    git_url = f"{fake.api_url}/repos/{repo.full_name}/git"
    return {
        "node_id": f"TAG_{tag.sha}",
        "sha": tag.sha,
        "tag": tag.tag,
        "message": tag.message,
        "url": f"{git_url}/tags/{tag.sha}",
        "tagger": {
            "name": tag.tagger.name,
            "email": tag.tagger.email,
            "date": timestamp(tag.tagged_at),
        },
        "object": {
            "sha": tag.object_sha,
            "type": tag.object_type,
            "url": f"{git_url}/{tag.object_type}s/{tag.object_sha}",
        },
        "verification": _unsigned(),
    }


def content_file(fake: FakeGitHub, repo: FakeRepo, path: str, text: str, ref: str) -> JSON:
    encoded = base64.b64encode(text.encode()).decode()
    # GitHub wraps base64 content at 60 characters per line.
    wrapped = "".join(encoded[i : i + 60] + "\n" for i in range(0, len(encoded), 60))
    return {
        **content_entry(fake, repo, path, "file", text),
        "encoding": "base64",
        "content": wrapped,
        "download_url": f"https://raw.githubusercontent.com/{repo.full_name}/{ref}/{path}",
    }


def content_entry(fake: FakeGitHub, repo: FakeRepo, path: str, kind: str, text: str | None) -> JSON:
    url = f"{fake.api_url}/repos/{repo.full_name}/contents/{path}"
    sha = blob_sha(text) if text is not None else tree_sha({})
    git_url = f"{fake.api_url}/repos/{repo.full_name}/git/blobs/{sha}"
    html_url = f"{fake.web_url}/{repo.full_name}/blob/{repo.default_branch}/{path}"
    return {
        "type": kind,
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "size": len(text.encode()) if text is not None else 0,
        "sha": sha,
        "url": url,
        "git_url": git_url,
        "html_url": html_url,
        "download_url": None,
        "_links": {"self": url, "git": git_url, "html": html_url},
    }


def branch(fake: FakeGitHub, repo: FakeRepo, item: FakeBranch) -> JSON:
    return {
        "name": item.name,
        "commit": commit(fake, repo, repo.objects.commits[item.sha]),
        "protected": item.protected,
        "protection": {"enabled": item.protected, "required_status_checks": None},
        "protection_url": f"{fake.api_url}/repos/{repo.full_name}/branches/{item.name}/protection",
        "_links": {
            "self": f"{fake.api_url}/repos/{repo.full_name}/branches/{item.name}",
            "html": f"{fake.web_url}/{repo.full_name}/tree/{item.name}",
        },
    }


def check_run(fake: FakeGitHub, repo: FakeRepo, run: FakeCheckRun) -> JSON:
    output = {"title": None, "summary": None, "text": None, **run.output}
    return {
        "id": run.id,
        "node_id": f"CR_{run.id}",
        "name": run.name,
        "head_sha": run.head_sha,
        "external_id": run.external_id,
        "url": f"{fake.api_url}/repos/{repo.full_name}/check-runs/{run.id}",
        "html_url": f"{fake.web_url}/{repo.full_name}/runs/{run.id}",
        "details_url": run.details_url,
        "status": run.status,
        "conclusion": run.conclusion,
        "started_at": timestamp(run.started_at),
        "completed_at": timestamp(run.completed_at),
        "output": {
            "title": output["title"],
            "summary": output["summary"],
            "text": output["text"],
            "annotations_count": 0,
            "annotations_url": f"{fake.api_url}/repos/{repo.full_name}/check-runs/"
            f"{run.id}/annotations",
        },
        "check_suite": {"id": run.check_suite_id},
        "app": app(fake, fake.apps[run.app_id]),
        "pull_requests": pull_refs(fake, repo, run.head_sha),
    }


def _head_repo(fake: FakeGitHub, repo: FakeRepo, pull: FakePull) -> FakeRepo | None:
    """The repository of the pull request's head branch; None for a fork deleted since."""
    if pull.head_repo_full_name is None:
        return repo
    return fake.repos.get(pull.head_repo_full_name.lower())


def pull_refs(fake: FakeGitHub, repo: FakeRepo, head_sha: str) -> list[JSON]:
    """The open pull requests of `head_sha` as check runs and check suites list them, in
    their minimal shape: those whose head branch is in `repo` itself. GitHub lists none from
    a fork (its check suite's `head_branch` is then null), nor one whose fork was deleted."""

    url = f"{fake.api_url}/repos/{repo.full_name}"
    repo_ref = {"id": repo.id, "url": url, "name": repo.name}
    return [
        {
            "id": pull.id,
            "number": pull.number,
            "url": f"{fake.api_url}/repos/{repo.full_name}/pulls/{pull.number}",
            "head": {"ref": pull.head_ref, "sha": pull.head_sha, "repo": repo_ref},
            "base": {"ref": pull.base_ref, "sha": pull.base_sha, "repo": repo_ref},
        }
        for pull in repo.pulls.values()
        if pull.state == "open"
        and pull.head_sha == head_sha
        and _head_repo(fake, repo, pull) is repo
    ]


def issue(fake: FakeGitHub, repo: FakeRepo, item: FakeIssue | FakePull) -> JSON:
    """The issues API's shape: of an issue, or of a pull request's conversation (with a
    `pull_request` object, as GitHub lists pull requests among issues)."""
    url = f"{fake.api_url}/repos/{repo.full_name}/issues/{item.number}"
    is_pull = isinstance(item, FakePull)
    html = f"{fake.web_url}/{repo.full_name}/{'pull' if is_pull else 'issues'}/{item.number}"
    assignees = [] if isinstance(item, FakePull) else item.assignees
    shape: JSON = {
        "id": item.id,
        "node_id": f"I_{item.id}",
        "url": url,
        "repository_url": f"{fake.api_url}/repos/{repo.full_name}",
        "labels_url": f"{url}/labels{{/name}}",
        "comments_url": f"{url}/comments",
        "events_url": f"{url}/events",
        "html_url": html,
        "number": item.number,
        "state": item.state,
        "state_reason": None,
        "title": item.title,
        "body": item.body,
        "user": nullable_author(fake, item.author),
        "labels": [label(fake, repo, name) for name in item.labels],
        "assignee": user(fake, assignees[0]) if assignees else None,
        "assignees": [user(fake, login) for login in assignees],
        "milestone": None,
        "locked": False,
        "active_lock_reason": None,
        "comments": len(repo.comments_on(item.number)),
        "closed_at": timestamp(item.closed_at),
        "created_at": timestamp(item.created_at),
        "updated_at": timestamp(item.updated_at),
        "author_association": "MEMBER",
    }
    if isinstance(item, FakePull):
        pull_url = f"{fake.api_url}/repos/{repo.full_name}/pulls/{item.number}"
        shape["pull_request"] = {
            "url": pull_url,
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "merged_at": timestamp(item.merged_at),
        }
    return shape


def reaction(fake: FakeGitHub, item: FakeReaction) -> JSON:
    return {
        "id": item.id,
        "node_id": f"REA_{item.id}",
        "user": nullable_author(fake, item.user),
        "content": item.content,
        "created_at": timestamp(item.created_at),
    }


def comment(fake: FakeGitHub, repo: FakeRepo, item: FakeComment) -> JSON:
    issues_url = f"{fake.api_url}/repos/{repo.full_name}/issues"
    kind = "pull" if item.issue_number in repo.pulls else "issues"
    return {
        "id": item.id,
        "node_id": f"IC_{item.id}",
        "url": f"{issues_url}/comments/{item.id}",
        "html_url": f"{fake.web_url}/{repo.full_name}/{kind}/{item.issue_number}"
        f"#issuecomment-{item.id}",
        "issue_url": f"{issues_url}/{item.issue_number}",
        "body": item.body,
        "user": nullable_author(fake, item.author),
        "created_at": timestamp(item.created_at),
        "updated_at": timestamp(item.updated_at),
        "author_association": "NONE",
    }


def release(fake: FakeGitHub, repo: FakeRepo, item: FakeRelease) -> JSON:
    return {
        "id": item.id,
        "node_id": f"RE_{item.id}",
        "tag_name": item.tag_name,
        "target_commitish": item.target_commitish,
        "name": item.name,
        "body": item.body,
        "draft": item.draft,
        "prerelease": item.prerelease,
        "author": author(fake, item.author),
        "created_at": timestamp(item.created_at),
        "published_at": None if item.draft else timestamp(item.created_at),
        "url": f"{fake.api_url}/repos/{repo.full_name}/releases/{item.id}",
        "assets_url": f"{fake.api_url}/repos/{repo.full_name}/releases/{item.id}/assets",
        "upload_url": f"https://uploads.github.com/repos/{repo.full_name}/releases/{item.id}"
        "/assets{?name,label}",
        "tarball_url": f"{fake.api_url}/repos/{repo.full_name}/tarball/{item.tag_name}",
        "zipball_url": f"{fake.api_url}/repos/{repo.full_name}/zipball/{item.tag_name}",
        "html_url": f"{fake.web_url}/{repo.full_name}/releases/tag/{item.tag_name}",
        "assets": [],
    }


def diff_entry(
    fake: FakeGitHub, repo: FakeRepo, path: str, status: str, text: str | None, head_sha: str
) -> JSON:
    """One ``files`` entry of a compare; line counts are not modelled (file-level diffs)."""
    return {
        "filename": path,
        "status": status,
        "sha": blob_sha(text) if text is not None else None,
        "additions": 0,
        "deletions": 0,
        "changes": 0,
        "blob_url": f"{fake.web_url}/{repo.full_name}/blob/{head_sha}/{path}",
        "raw_url": f"{fake.web_url}/{repo.full_name}/raw/{head_sha}/{path}",
        "contents_url": f"{fake.api_url}/repos/{repo.full_name}/contents/{path}?ref={head_sha}",
    }
