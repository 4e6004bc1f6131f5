"""Git objects read by SHA, which never change: a commit (its tree and parents), and the
commit a tag finally names."""

from __future__ import annotations

import asyncio
from typing import Any

from app.github.client import InstallationClient
from app.github.reads import Reads

# Tags of tags are legal but rare; a longer chain is treated as pointing nowhere useful.
_MAX_TAG_DEPTH = 8


def start_reading_commit(
    reads: Reads, github: InstallationClient, repository: str, sha: str
) -> asyncio.Task[Any]:
    """The git data API's commit `sha` (its tree and parents), as one of `reads`."""
    path = f"/repos/{repository}/git/commits/{sha}"
    return reads.start(("commit", repository, sha), lambda: github.get_immutable(path))


async def first_parent(
    reads: Reads, github: InstallationClient, repository: str, merge_sha: str
) -> str:
    """The merge commit's first parent: the base branch where it stood before the merge."""
    merge_commit = await start_reading_commit(reads, github, repository, merge_sha)
    return str(merge_commit["parents"][0]["sha"])


async def peeled(github: InstallationClient, repository: str, target: dict[str, Any]) -> str:
    """The commit a ref's object finally names, following annotated tag objects."""
    for _ in range(_MAX_TAG_DEPTH):
        if target["type"] != "tag":
            break
        tag_object = await github.get_immutable(f"/repos/{repository}/git/tags/{target['sha']}")
        target = tag_object["object"]
    return str(target["sha"])
