"""Pull requests as GitHub gives them: the ones a commit belongs to, and their labels."""

from __future__ import annotations

from typing import Any

from app.github.client import InstallationClient


async def merged_as(github: InstallationClient, repository: str, sha: str) -> list[dict[str, Any]]:
    """The pull requests GitHub merged as commit `sha` (their merge, squash or rebase commit),
    read with one request unless GitHub names more pages. It lists the open pull requests
    containing the commit as well: they are left out."""
    pulls = await github.get_all(f"/repos/{repository}/commits/{sha}/pulls")
    return [pull for pull in pulls if pull.get("merged_at") and pull.get("merge_commit_sha") == sha]


def labels_of(pull: dict[str, Any]) -> list[str]:
    """The names of the labels on `pull`, as GitHub gives it."""
    return [label["name"] for label in pull["labels"]]
