"""Opening an issue assigned to someone GitHub may refuse as an assignee, and finding an issue
hotfix-bot opened again: by the number a run recorded, or by the hidden marker in its body."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from githubkit.exception import RequestFailed

from app.github.client import InstallationClient, error_message

# What GitHub answers (410 Gone) to any use of the issues of a repository that turned them off.
_TURNED_OFF = "Issues are disabled"


async def open_issue(
    github: InstallationClient, repository: str, fields: dict[str, Any], assignee: str | None
) -> tuple[dict[str, Any], bool]:
    """The issue opened with `fields`, and whether it is assigned to `assignee` (None: to
    nobody, opened unassigned). GitHub refuses (422, field `assignees`) an assignee without
    access to the repository, say an author from a fork or someone named by `break_glass`
    who is no collaborator: the issue is then opened unassigned all the same. Without push
    access it drops the assignee silently instead: the issue it answers with says which."""
    path = f"/repos/{repository}/issues"
    if assignee is None:
        return (await github.request("POST", path, body=fields)).json(), False
    try:
        created = await github.request("POST", path, body={**fields, "assignees": [assignee]})
    except RequestFailed as error:
        refusal = error.response.raw_response.text
        if error.response.status_code != 422 or "assignees" not in refusal:
            raise
        return (await github.request("POST", path, body=fields)).json(), False
    issue = created.json()
    if "assignees" not in issue:
        return issue, True
    assigned = {person["login"].casefold() for person in issue["assignees"] or ()}
    return issue, assignee.casefold() in assigned


def issues_turned_off(error: BaseException) -> str | None:
    """GitHub's words when `error` is its answer to a repository that turned its issues off;
    None for any other (a 410 also answers for an issue deleted)."""
    if not isinstance(error, RequestFailed) or error.response.status_code != 410:
        return None
    message = error_message(error)
    return message if _TURNED_OFF in message else None


async def find_opened_issue(
    github: InstallationClient,
    repository: str,
    labelled: Sequence[dict[str, Any]],
    markers: Sequence[str],
    recorded: int | None = None,
) -> dict[str, Any] | None:
    """Issue #`recorded`, the one an earlier run opened, whatever people made of its body since
    (GitHub never gives its number to another issue of the repository): found among
    `labelled` (the issues listed under the label it was opened with), else read alone, as
    people may have taken the label off. Else, or when it is gone (deleted, moved to another
    repository), the issue among `labelled` whose body carries one of `markers` (a pull
    request's never does): the marker of the repository's name, and of each name it had
    before, which an issue opened then carries; None when there is none."""
    if recorded is not None:
        listed = next((issue for issue in labelled if issue["number"] == recorded), None)
        issue = listed or await github.get_optional(f"/repos/{repository}/issues/{recorded}")
        if issue is not None and _is_an_issue_of(repository, issue):
            return issue
    return next(
        (issue for issue in labelled if any(m in (issue.get("body") or "") for m in markers)),
        None,
    )


def _is_an_issue_of(repository: str, issue: dict[str, Any]) -> bool:
    """Not a pull request (they share the numbering), nor an issue transferred to another
    repository since: GitHub answers the number with a redirect to it there."""
    in_repository = str(issue.get("repository_url", "")).casefold()
    return "pull_request" not in issue and in_repository.endswith(f"/repos/{repository}".casefold())
