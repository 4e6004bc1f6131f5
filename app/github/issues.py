"""Opening an issue assigned to someone GitHub may refuse as an assignee, and finding an issue
hotfix-bot opened again by the hidden marker in its body."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from githubkit.exception import RequestFailed

from app.github.client import InstallationClient


async def open_issue(
    github: InstallationClient, repository: str, fields: dict[str, Any], assignee: str
) -> tuple[dict[str, Any], bool]:
    """The issue opened with `fields`, and whether it is assigned to `assignee`. GitHub
    refuses (422, field `assignees`) an assignee without access to the repository, say an
    author from a fork or someone named by `break_glass` who is no collaborator: the issue
    is then opened unassigned all the same. Without push access it drops the assignee
    silently instead: the issue it answers with says which."""
    path = f"/repos/{repository}/issues"
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


async def find_marked_issue(
    github: InstallationClient,
    repository: str,
    labelled: Sequence[dict[str, Any]],
    marker: str,
    recorded: int | None = None,
) -> dict[str, Any] | None:
    """The issue whose body carries `marker`, among `labelled` (the issues listed under the
    label it was opened with); else issue #`recorded`, the one an earlier run opened, read
    alone: people may have taken the label off since. None when neither carries the marker
    (a pull request never does), or #`recorded` was deleted."""
    found = next((issue for issue in labelled if _carries(issue, marker)), None)
    if found is not None or recorded is None:
        return found
    issue = await github.get_optional(f"/repos/{repository}/issues/{recorded}")
    return issue if issue is not None and _carries(issue, marker) else None


def _carries(issue: dict[str, Any], marker: str) -> bool:
    return marker in (issue.get("body") or "")
