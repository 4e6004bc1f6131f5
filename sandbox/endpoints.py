"""The fake's REST handlers and their route table."""

from __future__ import annotations

import base64
from typing import Any

from sandbox import shapes
from sandbox.api import ApiError, Call, Reply, Route, found, not_found, validation_failed
from sandbox.git import Author, blob_sha, changed_paths, subtree, tree_sha
from sandbox.models import (
    FakeCheckRun,
    FakeComment,
    FakeInstallation,
    FakeIssue,
    FakePull,
)
from sandbox.repo import FakeRepo, MergeConflictError

CHECK_STATUSES = {"queued", "in_progress", "completed", "waiting", "requested", "pending"}
CHECK_CONCLUSIONS = {
    "action_required",
    "cancelled",
    "failure",
    "neutral",
    "success",
    "skipped",
    "stale",
    "timed_out",
}
MAX_TEXT = 65535


# --- GitHub App (JWT) ----------------------------------------------------------------------


def get_app(call: Call) -> Reply:
    assert call.app_id is not None
    return Reply(200, shapes.app(call.fake, call.fake.apps[call.app_id]))


def list_installations(call: Call) -> Reply:
    own = [i for i in call.fake.installations.values() if i.app_id == call.app_id]
    return call.page([shapes.installation(call.fake, i) for i in own])


def convert_manifest_code(call: Call) -> Reply:
    # A code is good for one conversion, like GitHub's (which also expire after an hour).
    registration = found(call.fake.manifest_codes.pop(call.params["code"], None))
    credentials = {
        "client_id": registration.client_id,
        "client_secret": registration.client_secret,
        "webhook_secret": registration.webhook_secret,
        "pem": registration.app.private_key_pem,
    }
    return Reply(201, {**shapes.app(call.fake, registration.app), **credentials})


def _own_installation(call: Call, installation_id: int) -> FakeInstallation:
    installation = call.fake.installations.get(installation_id)
    if installation is None or installation.app_id != call.app_id:
        raise not_found()
    return installation


def get_installation(call: Call) -> Reply:
    installation = _own_installation(call, int(call.params["installation_id"]))
    return Reply(200, shapes.installation(call.fake, installation))


def create_access_token(call: Call) -> Reply:
    installation = _own_installation(call, int(call.params["installation_id"]))
    if installation.suspended_at is not None:
        raise ApiError(403, "This installation has been suspended")
    token = call.fake.mint_token(installation.id)
    return Reply(
        201,
        {
            "token": token.token,
            "expires_at": shapes.timestamp(token.expires_at),
            "permissions": installation.permissions,
            "repository_selection": "all",
        },
    )


def get_repo_installation(call: Call) -> Reply:
    repo = found(call.fake.find_repo(call.params["owner"], call.params["repo"]))
    installation = _own_installation(call, repo.installation_id)
    return Reply(200, shapes.installation(call.fake, installation))


# --- repositories, pulls, reviews ----------------------------------------------------------


def list_installation_repositories(call: Call) -> Reply:
    """The repositories the token's installation may use: a page of them, wrapped in an
    object as GitHub wraps them, `total_count` counting them all."""
    repos = sorted(
        (repo for repo in call.fake.repos.values() if repo.installation_id == call.installation_id),
        key=lambda repo: repo.id,
    )
    page = call.page([shapes.repository(call.fake, repo) for repo in repos])
    listing = {
        "total_count": len(repos),
        "repository_selection": "selected",
        "repositories": page.body,
    }
    return Reply(page.status, listing, page.headers)


def get_repo(call: Call) -> Reply:
    return Reply(200, shapes.repository(call.fake, call.repo))


def _pull(call: Call) -> FakePull:
    return found(call.repo.pulls.get(int(call.params["number"])))


def get_pull(call: Call) -> Reply:
    return Reply(200, shapes.pull_request(call.fake, call.repo, _pull(call)))


def list_pulls(call: Call) -> Reply:
    repo = call.repo
    state = call.query.get("state", "open")
    base = call.query.get("base")
    # `head` is `owner:branch`; the owner part is case-insensitive, the branch is not.
    head_owner, _, head_ref = call.query.get("head", "").rpartition(":")
    # GitHub's orders: by creation, as numbered (the default, newest first), or by the last
    # update (oldest first unless `direction` says otherwise).
    by_update = call.query.get("sort") == "updated"
    newest_first = call.query.get("direction", "asc" if by_update else "desc") == "desc"

    def order(pull: FakePull) -> tuple[float, int]:
        return (pull.updated_at.timestamp() if by_update else 0.0, pull.number)

    pulls = [
        pull
        for pull in sorted(repo.pulls.values(), key=order, reverse=newest_first)
        if state in ("all", pull.state)
        and (
            not head_ref
            or (head_owner.lower(), head_ref) == (repo.head_owner(pull).lower(), pull.head_ref)
        )
        and base in (None, pull.base_ref)
    ]
    return call.page([shapes.pull_request(call.fake, repo, pull) for pull in pulls])


def create_pull(call: Call) -> Reply:
    repo = call.repo
    title = _title_checked("PullRequest", call.field("title", str, "PullRequest"))
    body = _body_checked("PullRequest", call.optional("body", str, ""))
    base = call.field("base", str, "PullRequest")
    head = call.field("head", str, "PullRequest").split(":")[-1]
    if base not in repo.branches:
        raise validation_failed("PullRequest", "base")
    if head not in repo.branches:
        raise validation_failed("PullRequest", "head")
    if any(
        p.state == "open" and p.head_ref == head and p.base_ref == base for p in repo.pulls.values()
    ):
        raise _custom_error(
            "PullRequest", f"A pull request already exists for {repo.owner}:{head}."
        )
    if not repo.objects.commits_between(repo.branches[base].sha, repo.branches[head].sha):
        raise _custom_error("PullRequest", f"No commits between {base} and {head}")
    pull = repo.open_pull(
        head,
        base,
        title,
        author=call.bot_login,
        body=body,
        draft=call.optional("draft", bool, False),
    )
    return Reply(201, shapes.pull_request(call.fake, repo, pull))


def _custom_error(resource: str, message: str, field_name: str | None = None) -> ApiError:
    error = {"resource": resource, "code": "custom", "message": message}
    if field_name is not None:
        error["field"] = field_name
    return ApiError(422, "Validation Failed", errors=[error])


# GitHub refuses longer titles of issues and pull requests.
_TITLE_LIMIT = 256


def _title_checked(resource: str, title: str) -> str:
    if len(title) > _TITLE_LIMIT:
        raise _custom_error(
            resource, f"title is too long (maximum is {_TITLE_LIMIT} characters)", "title"
        )
    return title


# GitHub refuses longer bodies of issues, pull requests and comments.
_BODY_LIMIT = MAX_TEXT + 1


def _body_checked(resource: str, body: str) -> str:
    if len(body) > _BODY_LIMIT:
        raise _custom_error(
            resource, f"body is too long (maximum is {_BODY_LIMIT} characters)", "body"
        )
    return body


def list_reviews(call: Call) -> Reply:
    pull = _pull(call)
    return call.page([shapes.review(call.fake, call.repo, pull, r) for r in pull.reviews])


def request_reviewers(call: Call) -> Reply:
    pull = _pull(call)
    reviewers = call.optional("reviewers", list, [])
    teams = call.optional("team_reviewers", list, [])
    if pull.author in reviewers:
        raise ApiError(422, "Review cannot be requested from pull request author.")
    # The fake gives every team of the repository's organization access to it.
    if any((call.repo.owner.lower(), slug) not in call.fake.teams for slug in teams):
        raise ApiError(
            422,
            "Reviews may only be requested from collaborators. One or more of the teams you "
            f"specified is not a collaborator of the {call.repo.full_name} repository.",
        )
    pull.requested_reviewers.extend(r for r in reviewers if r not in pull.requested_reviewers)
    pull.requested_teams.extend(t for t in teams if t not in pull.requested_teams)
    return Reply(201, shapes.pull_request(call.fake, call.repo, pull))


def pulls_for_commit(call: Call) -> Reply:
    repo = call.repo
    sha = repo.resolve(call.params["sha"])
    if sha is None:
        raise ApiError(422, f"No commit found for SHA: {call.params['sha']}")

    default_branch = repo.resolve(repo.default_branch)
    on_default_branch = default_branch is not None and repo.objects.is_ancestor(sha, default_branch)

    def contains(pull: FakePull) -> bool:
        if sha == pull.merge_commit_sha:
            return True
        if pull.merged and pull.merge_commit_sha is not None:
            # GitHub lists the merged pull request that brought a commit of the default
            # branch into the repository: one its merge brought in.
            merge = repo.objects.commits[pull.merge_commit_sha]
            brought = repo.objects.commits_between(merge.parents[0], merge.sha)
            return on_default_branch and sha in {c.sha for c in brought}
        base_sha = repo.resolve(pull.base_ref) or pull.base_sha
        return sha in {c.sha for c in repo.objects.commits_between(base_sha, pull.head_sha)}

    pulls = [pull for pull in repo.pulls.values() if contains(pull)]
    return call.page([shapes.pull_request(call.fake, repo, pull) for pull in pulls])


# --- commits, contents, branches, compare, merges ------------------------------------------


def _commit_sha(repo: FakeRepo, ref: str) -> str:
    sha = repo.resolve(ref)
    if sha is None:
        raise ApiError(422, f"No commit found for SHA: {ref}")
    return sha


def get_commit(call: Call) -> Reply:
    repo = call.repo
    commit = repo.objects.commits[_commit_sha(repo, call.params["ref"])]
    return Reply(200, shapes.commit(call.fake, repo, commit))


def get_contents(call: Call) -> Reply:
    repo = call.repo
    ref = call.query.get("ref", repo.default_branch)
    sha = repo.resolve(ref)
    if sha is None:
        raise ApiError(404, f"No commit found for the ref {ref}")
    tree = repo.objects.commits[sha].tree
    path = call.params["path"].strip("/")
    if path in tree:
        return Reply(200, shapes.content_file(call.fake, repo, path, tree[path], ref))
    # Not a file: list the directory's direct children, if it has any.
    prefix = f"{path}/"
    children = {p.removeprefix(prefix).split("/")[0] for p in tree if p.startswith(prefix)}
    entries = [f"{prefix}{child}" for child in sorted(children)]
    if not entries:
        raise not_found()
    return Reply(
        200,
        [
            shapes.content_entry(
                call.fake, repo, entry, "file" if entry in tree else "dir", tree.get(entry)
            )
            for entry in entries
        ],
    )


def get_tree(call: Call) -> Reply:
    """A tree by SHA, or the root tree of a branch, tag or commit (as GitHub accepts); with
    ``recursive`` (any value), every entry below it too, by its full path."""
    repo = call.repo
    name = call.params["tree_sha"]
    commit_sha = repo.resolve(name)
    files = (
        subtree(repo.objects.commits[commit_sha].tree, "")
        if commit_sha is not None
        else repo.objects.trees.get(name)
    )
    if files is None:
        raise not_found()
    return Reply(200, _tree(call, repo, files, recursive="recursive" in call.query))


def _tree(call: Call, repo: FakeRepo, files: dict[str, str], recursive: bool) -> dict[str, Any]:
    """A tree in GitHub's shape: its direct entries, or with ``recursive`` all of them."""
    children: dict[str, str | None] = {}  # path -> text, None for a directory
    for path, text in files.items():
        parts = path.split("/")
        if recursive:
            for depth in range(1, len(parts)):
                children["/".join(parts[:depth])] = None
            children[path] = text
        else:
            children[parts[0]] = None if len(parts) > 1 else text
    entries = []
    for child, content in sorted(children.items()):
        if content is None:
            sha = tree_sha(subtree(files, child))
            kind, extra = "tree", {}
        else:
            sha = blob_sha(content)
            kind, extra = "blob", {"size": len(content.encode())}
        entries.append(
            {
                "path": child,
                "mode": "040000" if kind == "tree" else "100644",
                "type": kind,
                "sha": sha,
                "url": f"{call.fake.api_url}/repos/{repo.full_name}/git/{kind}s/{sha}",
                **extra,
            }
        )
    sha = tree_sha(files)
    url = f"{call.fake.api_url}/repos/{repo.full_name}/git/trees/{sha}"
    return {"sha": sha, "url": url, "tree": entries, "truncated": False}


def create_tree(call: Call) -> Reply:
    """Files of ``base_tree`` (if given) with the entries changed: a blob by ``sha`` or
    ``content``, or ``sha: null`` to delete. Only files (blobs) are modelled."""
    repo = call.repo
    entries = call.field("tree", list, "Tree")
    base = call.optional("base_tree", str, "")
    if base and base not in repo.objects.trees:
        raise ApiError(422, "base_tree is not a valid tree oid")
    files = dict(repo.objects.trees.get(base, {}))
    for entry in entries:
        path = entry.get("path") if isinstance(entry, dict) else None
        if not isinstance(path, str) or entry.get("type", "blob") != "blob":
            raise ApiError(422, "Invalid tree info")
        if "content" in entry:
            files[path] = str(entry["content"])
        elif entry.get("sha") is None:
            files.pop(path, None)
        elif entry["sha"] in repo.objects.blobs:
            files[path] = repo.objects.blobs[entry["sha"]]
        else:
            raise ApiError(422, f"tree.sha {entry['sha']} is not a valid blob")
    repo.objects.store_tree(files)
    return Reply(201, _tree(call, repo, files, recursive=False))


def create_git_commit(call: Call) -> Reply:
    repo = call.repo
    message = call.field("message", str, "Commit")
    files = repo.objects.trees.get(call.field("tree", str, "Commit"))
    parents = call.optional("parents", list, [])
    if files is None:
        raise ApiError(422, "Tree SHA does not exist")
    if any(parent not in repo.objects.commits for parent in parents):
        raise ApiError(422, "Parent SHA does not exist or is not a commit object")
    signature = call.optional("author", dict, {})
    author = Author(signature.get("name", call.bot_login), signature.get("email", "bot@github.com"))
    commit = repo.objects.make_commit(files, tuple(parents), message, author, call.fake.now())
    return Reply(201, shapes.git_commit(call.fake, repo, commit))


def get_git_commit(call: Call) -> Reply:
    repo = call.repo
    commit = found(repo.objects.commits.get(call.params["sha"]))
    return Reply(200, shapes.git_commit(call.fake, repo, commit))


def get_blob(call: Call) -> Reply:
    repo = call.repo
    sha = call.params["sha"]
    text = found(repo.objects.blobs.get(sha))
    data = text.encode()
    return Reply(
        200,
        {
            "sha": sha,
            "node_id": f"B_{sha[:12]}",
            "size": len(data),
            "url": f"{call.fake.api_url}/repos/{repo.full_name}/git/blobs/{sha}",
            "content": base64.b64encode(data).decode(),
            "encoding": "base64",
        },
    )


def get_branch(call: Call) -> Reply:
    repo = call.repo
    branch = repo.branches.get(call.params["branch"])
    if branch is None:
        raise ApiError(404, "Branch not found")
    return Reply(200, shapes.branch(call.fake, repo, branch))


def compare(call: Call) -> Reply:
    repo = call.repo
    base_ref, separator, head_ref = call.params["basehead"].partition("...")
    base = repo.resolve(base_ref.split(":")[-1]) if separator else None
    head = repo.resolve(head_ref.split(":")[-1]) if separator else None
    if base is None or head is None:
        raise not_found()
    merge_base = repo.objects.merge_base(base, head)
    if merge_base is None:
        raise ApiError(404, f"No common ancestor between {base_ref} and {head_ref}.")
    html_url = f"{call.fake.web_url}/{repo.full_name}/compare/{call.params['basehead']}"
    ahead = repo.objects.commits_between(base, head)
    behind = repo.objects.commits_between(head, base)
    if base == head:
        status = "identical"
    elif not behind:
        status = "ahead"
    elif not ahead:
        status = "behind"
    else:
        status = "diverged"
    old_tree = repo.objects.commits[merge_base].tree
    new_tree = repo.objects.commits[head].tree
    return Reply(
        200,
        {
            "status": status,
            "ahead_by": len(ahead),
            "behind_by": len(behind),
            "total_commits": len(ahead),
            "base_commit": shapes.commit(call.fake, repo, repo.objects.commits[base]),
            "merge_base_commit": shapes.commit(call.fake, repo, repo.objects.commits[merge_base]),
            "commits": [shapes.commit(call.fake, repo, commit) for commit in ahead],
            "files": [
                shapes.diff_entry(call.fake, repo, path, change, new_tree.get(path), head)
                for path, change in changed_paths(old_tree, new_tree)
            ],
            "url": f"{call.fake.api_url}{call.path}",
            "html_url": html_url,
            "permalink_url": html_url,
            "diff_url": f"{html_url}.diff",
            "patch_url": f"{html_url}.patch",
        },
    )


def merge_branches(call: Call) -> Reply:
    repo = call.repo
    base = call.field("base", str, "Merge")
    head_ref = call.field("head", str, "Merge")
    message = call.optional("commit_message", str, f"Merge {head_ref} into {base}")
    if base not in repo.branches:
        raise ApiError(404, "Base does not exist")
    head = repo.resolve(head_ref)
    if head is None:
        raise ApiError(404, "Head does not exist")
    if repo.objects.is_ancestor(head, repo.branches[base].sha):
        return Reply(204)
    if repo.branches[base].protected:
        raise ApiError(
            call.fake.protected_merge_status, f"Protected branch update failed for {base}."
        )
    try:
        sha = repo.merge_refs(base, head, message, call.bot_login)
    except MergeConflictError as error:
        raise ApiError(409, "Merge conflict") from error
    assert sha is not None
    return Reply(201, shapes.commit(call.fake, repo, repo.objects.commits[sha]))


# --- git refs and tag objects --------------------------------------------------------------


def _all_refs(repo: FakeRepo) -> dict[str, str]:
    refs = {f"refs/heads/{name}": branch.sha for name, branch in repo.branches.items()}
    refs.update({f"refs/tags/{name}": sha for name, sha in repo.tags.items()})
    return refs


def _qualified(ref: str) -> str:
    return ref if ref.startswith("refs/") else f"refs/{ref}"


def get_ref(call: Call) -> Reply:
    repo = call.repo
    ref = _qualified(call.params["ref"])
    sha = found(_all_refs(repo).get(ref))
    return Reply(200, shapes.git_ref(call.fake, repo, ref, sha))


def matching_refs(call: Call) -> Reply:
    repo = call.repo
    prefix = _qualified(call.params["ref"])
    refs = sorted((ref, sha) for ref, sha in _all_refs(repo).items() if ref.startswith(prefix))
    # Every match in one answer, as GitHub gives a short list (its description lets it page
    # the list with a `link` all the same).
    return Reply(200, [shapes.git_ref(call.fake, repo, ref, sha) for ref, sha in refs])


def _write_ref(repo: FakeRepo, ref: str, sha: str) -> None:
    kind, _, name = ref.removeprefix("refs/").partition("/")
    if kind == "heads":
        repo.set_branch(name, sha)
    else:
        repo.tags[name] = sha


def _known_object(repo: FakeRepo, sha: str) -> str:
    if sha not in repo.objects.commits and sha not in repo.objects.tags:
        raise ApiError(422, "Object does not exist")
    return sha


def _refuse_protected(repo: FakeRepo, ref: str) -> None:
    branch = repo.branches.get(ref.removeprefix("refs/heads/"))
    if ref.startswith("refs/heads/") and branch is not None and branch.protected:
        raise ApiError(422, f"Protected branch update failed for {ref}.")


def create_ref(call: Call) -> Reply:
    repo = call.repo
    ref = call.field("ref", str, "Reference")
    sha = _known_object(repo, call.field("sha", str, "Reference"))
    if not ref.startswith(("refs/heads/", "refs/tags/")) or ref.count("/") < 2:
        raise ApiError(422, "Reference name must start with 'refs/' and have at least two slashes.")
    if ref in _all_refs(repo):
        raise ApiError(422, "Reference already exists")
    if ref.startswith("refs/heads/") and sha not in repo.objects.commits:
        raise ApiError(422, "Object does not exist")
    _write_ref(repo, ref, sha)
    return Reply(201, shapes.git_ref(call.fake, repo, ref, sha))


def update_ref(call: Call) -> Reply:
    repo = call.repo
    ref = _qualified(call.params["ref"])
    sha = _known_object(repo, call.field("sha", str, "Reference"))
    current = _all_refs(repo).get(ref)
    if current is None:
        raise ApiError(422, "Reference does not exist")
    _refuse_protected(repo, ref)
    fast_forward = sha in repo.objects.commits and repo.objects.is_ancestor(
        repo.objects.peel(current), sha
    )
    if not fast_forward and not call.optional("force", bool, False):
        raise ApiError(422, "Update is not a fast forward")
    _write_ref(repo, ref, sha)
    return Reply(200, shapes.git_ref(call.fake, repo, ref, sha))


def delete_ref(call: Call) -> Reply:
    repo = call.repo
    ref = _qualified(call.params["ref"])
    if ref not in _all_refs(repo):
        raise ApiError(422, "Reference does not exist")
    _refuse_protected(repo, ref)
    kind, _, name = ref.removeprefix("refs/").partition("/")
    if kind == "heads":
        repo.delete_branch(name)
    else:
        del repo.tags[name]
    return Reply(204)


def create_tag_object(call: Call) -> Reply:
    repo = call.repo
    tag = call.field("tag", str, "Tag")
    message = call.field("message", str, "Tag")
    target = _known_object(repo, call.field("object", str, "Tag"))
    tagger = call.optional("tagger", dict, {})
    author = Author(tagger.get("name", call.bot_login), tagger.get("email", "bot@github.com"))
    tag_object = repo.objects.make_tag(tag, message, target, author, call.fake.now())
    return Reply(201, shapes.tag_object(call.fake, repo, tag_object))


def get_tag_object(call: Call) -> Reply:
    repo = call.repo
    tag_object = found(repo.objects.tags.get(call.params["sha"]))
    return Reply(200, shapes.tag_object(call.fake, repo, tag_object))


# --- check runs ----------------------------------------------------------------------------


def _write_check_run(call: Call, run: FakeCheckRun) -> None:
    """Apply a POST/PATCH body to ``run`` with GitHub's validation, and record the write."""
    body: dict[str, Any] = call.body if isinstance(call.body, dict) else {}
    status = body.get("status", run.status)
    conclusion = body.get("conclusion", run.conclusion)
    if status not in CHECK_STATUSES:
        raise validation_failed("CheckRun", "status")
    if conclusion is not None and conclusion not in CHECK_CONCLUSIONS:
        raise validation_failed("CheckRun", "conclusion")
    if body.get("conclusion") is not None:
        status = "completed"  # GitHub: giving a conclusion completes the run
    if status == "completed" and conclusion is None:
        raise ApiError(422, "Invalid request.\n\nconclusion is required when status is completed.")
    output = call.optional("output", dict, {})
    if output and not {"title", "summary"} <= output.keys():
        raise validation_failed("CheckRun", "output", "missing_field")
    for key in ("summary", "text"):
        # GitHub counts UTF-8 bytes, though its documentation says characters.
        if len((output.get(key) or "").encode()) > MAX_TEXT:
            raise ApiError(422, f"{key} exceeds a maximum bytesize of {MAX_TEXT}")
    now = call.fake.now()
    run.status = status
    run.conclusion = conclusion if status == "completed" else None
    run.output.update({key: output[key] for key in ("title", "summary", "text") if key in output})
    run.details_url = body.get("details_url", run.details_url)
    run.external_id = body.get("external_id", run.external_id)
    run.started_at = run.started_at or now
    run.completed_at = now if status == "completed" else None
    run.history.append(shapes.check_run(call.fake, call.repo, run))


def create_check_run(call: Call) -> Reply:
    repo = call.repo
    name = call.field("name", str, "CheckRun")
    head_sha = call.field("head_sha", str, "CheckRun")
    if head_sha not in repo.objects.commits:
        raise ApiError(422, f"No commit found for SHA: {head_sha}")
    app_id = call.fake.installations[repo.installation_id].app_id
    suite_id = repo.check_suites.setdefault((app_id, head_sha), call.fake.next_id())
    run = FakeCheckRun(call.fake.next_id(), name, head_sha, app_id, suite_id)
    _write_check_run(call, run)
    repo.check_runs[run.id] = run
    return Reply(201, shapes.check_run(call.fake, repo, run))


def _check_run(call: Call) -> FakeCheckRun:
    return found(call.repo.check_runs.get(int(call.params["run_id"])))


def get_check_run(call: Call) -> Reply:
    return Reply(200, shapes.check_run(call.fake, call.repo, _check_run(call)))


def update_check_run(call: Call) -> Reply:
    run = _check_run(call)
    app_id = call.fake.installations[call.repo.installation_id].app_id
    if run.app_id != app_id:
        raise ApiError(
            403,
            f"Invalid app_id `{app_id}` - check run can only be modified by the "
            "GitHub App that created it.",
        )
    _write_check_run(call, run)
    return Reply(200, shapes.check_run(call.fake, call.repo, run))


def list_check_runs(call: Call) -> Reply:
    repo = call.repo
    sha = _commit_sha(repo, call.params["ref"])
    name = call.query.get("check_name")
    status = call.query.get("status")
    runs = [
        run
        for run in sorted(repo.check_runs.values(), key=lambda r: r.id, reverse=True)
        if run.head_sha == sha and name in (None, run.name) and status in (None, run.status)
    ]
    if call.query.get("filter", "latest") == "latest":
        latest: dict[tuple[int, str], FakeCheckRun] = {}  # each App's latest of a name
        for run in runs:
            latest.setdefault((run.app_id, run.name), run)
        runs = list(latest.values())
    reply = call.page([shapes.check_run(call.fake, repo, run) for run in runs])
    reply.body = {"total_count": len(runs), "check_runs": reply.body}
    return reply


# --- issue comments and labels -------------------------------------------------------------


def _issue_number(call: Call) -> int:
    """A pull request's or an issue's number: both are issues to the issues API."""
    number = int(call.params["number"])
    if number not in call.repo.pulls and number not in call.repo.issues:
        raise not_found()
    return number


def _comment_body(call: Call) -> str:
    return _body_checked("IssueComment", call.field("body", str, "IssueComment"))


def create_comment(call: Call) -> Reply:
    repo = call.repo
    number = _issue_number(call)
    now = call.fake.now()
    comment = FakeComment(
        call.fake.next_id(), number, _comment_body(call), call.bot_login, now, now
    )
    repo.comments[comment.id] = comment
    return Reply(201, shapes.comment(call.fake, repo, comment))


def list_comments(call: Call) -> Reply:
    repo = call.repo
    comments = repo.comments_on(_issue_number(call))
    return call.page([shapes.comment(call.fake, repo, comment) for comment in comments])


def _comment(call: Call) -> FakeComment:
    return found(call.repo.comments.get(int(call.params["comment_id"])))


def get_comment(call: Call) -> Reply:
    return Reply(200, shapes.comment(call.fake, call.repo, _comment(call)))


def update_comment(call: Call) -> Reply:
    comment = _comment(call)
    comment.body = _comment_body(call)
    comment.updated_at = call.fake.now()
    return Reply(200, shapes.comment(call.fake, call.repo, comment))


def create_reaction(call: Call) -> Reply:
    comment = _comment(call)
    content = call.field("content", str, "Reaction")
    reaction, created = call.repo.react(comment.id, content, call.bot_login)
    return Reply(201 if created else 200, shapes.reaction(call.fake, reaction))


# --- issues ----------------------------------------------------------------------------------


def _names(values: list[Any]) -> list[str]:
    """Labels given as names or as `{name: ...}` objects, as GitHub takes them."""
    return [value["name"] if isinstance(value, dict) else str(value) for value in values]


def create_issue(call: Call) -> Reply:
    repo = call.repo
    title = call.body.get("title") if isinstance(call.body, dict) else None
    if not isinstance(title, str | int) or isinstance(title, bool) or str(title) == "":
        raise validation_failed("Issue", "title", "missing_field")
    _title_checked("Issue", str(title))
    assignees = call.optional("assignees", list, [])
    if repo.drops_assignees:
        assignees = []
    for login in assignees:
        if login not in repo.collaborators:
            raise validation_failed("Issue", "assignees")
    issue = repo.open_issue(
        str(title),
        author=call.bot_login,
        body=_body_checked("Issue", call.optional("body", str, "")),
        labels=_names(call.optional("labels", list, [])),
        assignees=assignees,
    )
    return Reply(201, shapes.issue(call.fake, repo, issue))


def get_issue(call: Call) -> Reply:
    """An issue, or a pull request's conversation (GitHub answers both)."""
    repo = call.repo
    return Reply(200, shapes.issue(call.fake, repo, repo.issue_like(_issue_number(call))))


def update_issue(call: Call) -> Reply:
    """An issue's new title or body (the fields hotfix-bot edits); a pull request's number is
    an issue's too: its title and description are edited the same way, and `state: closed`
    closes it as it does on GitHub (its other fields are not edited here)."""
    repo = call.repo
    number = _issue_number(call)
    pull = repo.pulls.get(number)
    if pull is not None:
        # No description (`body: null`) is edited as an empty one.
        title = call.optional("title", str, pull.title)
        body = call.optional("body", str, pull.body or "")
        if (title, body) != (pull.title, pull.body or ""):
            pull = repo.edit_pull(number, title, body)
        if call.optional("state", str, pull.state) == "closed" and pull.state == "open":
            repo.close_pull(number)
        return Reply(200, shapes.issue(call.fake, repo, pull))
    issue = repo.issues[number]
    title, body = call.optional("title", str, issue.title), call.optional("body", str, issue.body)
    _title_checked("Issue", title)
    _body_checked("Issue", body)
    issue = repo.edit_issue(issue.number, title, body)
    return Reply(200, shapes.issue(call.fake, repo, issue))


def list_issues(call: Call) -> Reply:
    """Issues and pull requests, newest first, filtered by `state` and every one of `labels`."""
    repo = call.repo
    state = call.query.get("state", "open")
    wanted = {name for name in call.query.get("labels", "").split(",") if name}
    items: list[FakeIssue | FakePull] = [*repo.issues.values(), *repo.pulls.values()]
    found = [
        item
        for item in sorted(items, key=lambda item: item.number, reverse=True)
        if state in ("all", item.state) and wanted <= set(item.labels)
    ]
    return call.page([shapes.issue(call.fake, repo, item) for item in found])


# --- collaborators ---------------------------------------------------------------------------

# A role's base permission, as GitHub's `permission` field says it.
_BASE_PERMISSION = {
    "admin": "admin",
    "maintain": "write",
    "write": "write",
    "triage": "read",
    "read": "read",
}


def collaborator_permission(call: Call) -> Reply:
    repo = call.repo
    login = call.params["username"]
    role = next(
        (r for name, r in repo.collaborators.items() if name.lower() == login.lower()), None
    )
    permission = _BASE_PERMISSION[role] if role else "none"
    collaborator = {**shapes.user(call.fake, login), "role_name": role or "none"}
    return Reply(200, {"permission": permission, "role_name": role or "none", "user": collaborator})


def add_labels(call: Call) -> Reply:
    repo = call.repo
    number = _issue_number(call)
    repo.add_labels(number, *call.field("labels", list, "Label"))
    labels = repo.issue_like(number).labels
    return Reply(200, [shapes.label(call.fake, repo, name) for name in labels])


def remove_label(call: Call) -> Reply:
    repo = call.repo
    number = _issue_number(call)
    if call.params["name"] not in repo.issue_like(number).labels:
        raise ApiError(404, "Label does not exist")
    repo.remove_label(number, call.params["name"])
    labels = repo.issue_like(number).labels
    return Reply(200, [shapes.label(call.fake, repo, name) for name in labels])


# --- releases ------------------------------------------------------------------------------


def get_release_by_tag(call: Call) -> Reply:
    repo = call.repo
    release = found(repo.releases.get(call.params["tag"]))
    return Reply(200, shapes.release(call.fake, repo, release))


def get_latest_release(call: Call) -> Reply:
    repo = call.repo
    release = found(repo.latest_release())
    return Reply(200, shapes.release(call.fake, repo, release))


def create_release(call: Call) -> Reply:
    repo = call.repo
    tag = call.field("tag_name", str, "Release")
    target = call.optional("target_commitish", str, repo.default_branch)
    if tag in repo.releases:
        raise validation_failed("Release", "tag_name", "already_exists")
    if tag not in repo.tags and repo.resolve(target) is None:
        raise validation_failed("Release", "target_commitish")
    release = repo.create_release(
        tag,
        target,
        name=call.optional("name", str, tag),
        body=call.optional("body", str, ""),
        author=call.bot_login,
        draft=call.optional("draft", bool, False),
        prerelease=call.optional("prerelease", bool, False),
        make_latest=_make_latest(call),
    )
    return Reply(201, shapes.release(call.fake, repo, release))


def _make_latest(call: Call) -> bool:
    """Whether a new release is made the latest: GitHub's `make_latest`, "true" by default.
    "legacy" (GitHub's pick by creation date and version) is not modelled: refused, so that
    no test relies on a guess of it."""
    make_latest = call.optional("make_latest", str, "true")
    if make_latest == "legacy":
        raise ApiError(422, 'make_latest "legacy" is not modelled by the fake')
    return make_latest == "true"


def update_release(call: Call) -> Reply:
    repo = call.repo
    release_id = int(call.params["release_id"])
    release = found(next((r for r in repo.releases.values() if r.id == release_id), None))
    # Only what the request names changes, as on GitHub.
    given = call.body if isinstance(call.body, dict) else {}
    if "name" in given:
        release.name = call.optional("name", str, "")
    if "body" in given:
        release.body = call.optional("body", str, "")
    release.draft = call.optional("draft", bool, release.draft)
    release.prerelease = call.optional("prerelease", bool, release.prerelease)
    return Reply(200, shapes.release(call.fake, repo, release))


# --- organizations and teams ---------------------------------------------------------------


def _team_members(call: Call) -> list[str]:
    assert call.installation_id is not None
    org = call.params["org"].lower()
    team = call.fake.teams.get((org, call.params["team_slug"]))
    if team is None or call.fake.installations[call.installation_id].account.lower() != org:
        raise not_found()
    # GitHub's team members include its child teams' members.
    return call.fake.team_members(org, team.slug)


def list_team_members(call: Call) -> Reply:
    return call.page([shapes.user(call.fake, login) for login in _team_members(call)])


def get_team_membership(call: Call) -> Reply:
    username = call.params["username"]
    if username.lower() not in {login.lower() for login in _team_members(call)}:
        raise not_found()
    url = f"{call.fake.api_url}{call.path}"
    return Reply(200, {"url": url, "role": "member", "state": "active"})


# --- the route table -----------------------------------------------------------------------

REPO = "/repos/{owner}/{repo}"

ROUTES: tuple[Route, ...] = (
    Route("POST", "/app-manifests/{code}/conversions", convert_manifest_code, "none"),
    Route("GET", "/app", get_app, "jwt"),
    Route("GET", "/app/installations", list_installations, "jwt"),
    Route("GET", "/app/installations/{installation_id:int}", get_installation, "jwt"),
    Route(
        "POST",
        "/app/installations/{installation_id:int}/access_tokens",
        create_access_token,
        "jwt",
    ),
    Route("GET", f"{REPO}/installation", get_repo_installation, "jwt"),
    Route("GET", "/installation/repositories", list_installation_repositories),
    Route("GET", REPO, get_repo),
    Route("GET", f"{REPO}/pulls", list_pulls),
    Route("POST", f"{REPO}/pulls", create_pull),
    Route("GET", f"{REPO}/pulls/{{number:int}}", get_pull),
    Route("GET", f"{REPO}/pulls/{{number:int}}/reviews", list_reviews),
    Route("POST", f"{REPO}/pulls/{{number:int}}/requested_reviewers", request_reviewers),
    Route("GET", f"{REPO}/commits/{{sha}}/pulls", pulls_for_commit),
    Route("GET", f"{REPO}/commits/{{ref:path}}/check-runs", list_check_runs),
    Route("GET", f"{REPO}/commits/{{ref:path}}", get_commit),
    Route("GET", f"{REPO}/contents/{{path:path}}", get_contents),
    Route("GET", f"{REPO}/branches/{{branch:path}}", get_branch),
    Route("GET", f"{REPO}/compare/{{basehead:path}}", compare),
    Route("POST", f"{REPO}/merges", merge_branches),
    Route("GET", f"{REPO}/git/ref/{{ref:path}}", get_ref),
    Route("GET", f"{REPO}/git/refs/{{ref:path}}", get_ref),
    Route("GET", f"{REPO}/git/matching-refs/{{ref:path}}", matching_refs),
    Route("POST", f"{REPO}/git/refs", create_ref),
    Route("PATCH", f"{REPO}/git/refs/{{ref:path}}", update_ref),
    Route("DELETE", f"{REPO}/git/refs/{{ref:path}}", delete_ref),
    Route("POST", f"{REPO}/git/tags", create_tag_object),
    Route("GET", f"{REPO}/git/tags/{{sha}}", get_tag_object),
    Route("GET", f"{REPO}/git/trees/{{tree_sha:path}}", get_tree),
    Route("POST", f"{REPO}/git/trees", create_tree),
    Route("POST", f"{REPO}/git/commits", create_git_commit),
    Route("GET", f"{REPO}/git/commits/{{sha}}", get_git_commit),
    Route("GET", f"{REPO}/git/blobs/{{sha}}", get_blob),
    Route("POST", f"{REPO}/check-runs", create_check_run),
    Route("GET", f"{REPO}/check-runs/{{run_id:int}}", get_check_run),
    Route("PATCH", f"{REPO}/check-runs/{{run_id:int}}", update_check_run),
    Route("POST", f"{REPO}/issues/{{number:int}}/comments", create_comment),
    Route("GET", f"{REPO}/issues/{{number:int}}/comments", list_comments),
    Route("GET", f"{REPO}/issues/comments/{{comment_id:int}}", get_comment),
    Route("PATCH", f"{REPO}/issues/comments/{{comment_id:int}}", update_comment),
    Route("POST", f"{REPO}/issues/comments/{{comment_id:int}}/reactions", create_reaction),
    Route("GET", f"{REPO}/issues", list_issues),
    Route("POST", f"{REPO}/issues", create_issue),
    Route("GET", f"{REPO}/issues/{{number:int}}", get_issue),
    Route("PATCH", f"{REPO}/issues/{{number:int}}", update_issue),
    Route("GET", f"{REPO}/collaborators/{{username}}/permission", collaborator_permission),
    Route("POST", f"{REPO}/issues/{{number:int}}/labels", add_labels),
    Route("DELETE", f"{REPO}/issues/{{number:int}}/labels/{{name}}", remove_label),
    Route("GET", f"{REPO}/releases/tags/{{tag:path}}", get_release_by_tag),
    Route("GET", f"{REPO}/releases/latest", get_latest_release),
    Route("POST", f"{REPO}/releases", create_release),
    Route("PATCH", f"{REPO}/releases/{{release_id:int}}", update_release),
    Route("GET", "/orgs/{org}/teams/{team_slug}/members", list_team_members),
    Route("GET", "/orgs/{org}/teams/{team_slug}/memberships/{username}", get_team_membership),
)
