"""Opening an issue assigned to someone GitHub may refuse as an assignee."""

from __future__ import annotations

from typing import Any

from githubkit.exception import RequestFailed

from app.github.client import InstallationClient


async def open_issue(
    github: InstallationClient, repository: str, fields: dict[str, Any], assignee: str
) -> tuple[dict[str, Any], bool]:
    """The issue opened with `fields`, and whether it is assigned to `assignee`. GitHub
    refuses (422, field `assignees`) an assignee without access to the repository, say an
    author from a fork or someone named by `break_glass` who is no collaborator: the issue
    is then opened unassigned all the same."""
    path = f"/repos/{repository}/issues"
    try:
        created = await github.request("POST", path, body={**fields, "assignees": [assignee]})
    except RequestFailed as error:
        refusal = error.response.raw_response.text
        if error.response.status_code != 422 or "assignees" not in refusal:
            raise
        return (await github.request("POST", path, body=fields)).json(), False
    return created.json(), True
