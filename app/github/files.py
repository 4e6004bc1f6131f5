"""Reading a few files of a repository at a branch or commit, through git trees and blobs.

A branch's root tree is revalidated by ETag; everything below it is named by SHA and so is
fetched once. Re-reading the config and version files of an unchanged base branch costs a
single conditional request, and knowing which version files exist costs nothing more.
Where the git trees API is not served (some proxies and GitHub-compatible servers), the
contents API reads each file instead, revalidated by ETag the same way.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import hashlib
import posixpath
from collections.abc import Awaitable, Callable, Iterable, Mapping
from urllib.parse import quote

from githubkit.exception import RequestFailed

from app.github.client import InstallationClient
from app.github.reads import Reads
from policies.files import FileText, UnreadableText, decoded, too_large

# The git mode of a symbolic link's tree entry.
_SYMBOLIC_LINK = "120000"
# Links leading on to links this many times are taken for a loop.
_MAX_LINKS_FOLLOWED = 8


async def read_files(
    github: InstallationClient,
    repository: str,
    ref: str,
    paths: Iterable[str],
    reads: Reads | None = None,
) -> dict[str, FileText]:
    """Path -> text at `ref` (a branch name or a commit SHA), `UnreadableText` for a file
    that cannot be read, None where there is no file. One unreadable file does not keep the
    others from being read: a rule that needs it says why it cannot be used. With `reads`,
    the read of `ref`'s tree `start_reading_tree` started there is used."""
    wanted = list(dict.fromkeys(paths))
    if not wanted:
        return {}
    try:
        root = await (
            start_reading_tree(reads, github, repository, ref)
            if reads is not None
            else _root_tree(github, repository, ref)
        )
    except RequestFailed as error:
        if error.response.status_code != 404:
            raise
        texts = [_read_contents(github, repository, ref, path) for path in wanted]
    else:
        texts = [_read(github, repository, root, path) for path in wanted]
    return dict(zip(wanted, await asyncio.gather(*texts), strict=True))


def start_reading_files(
    reads: Reads, github: InstallationClient, repository: str, ref: str, paths: Iterable[str]
) -> asyncio.Task[dict[str, FileText]]:
    """`read_files` as one of `reads`: started now, or the read of the same files at the same
    ref started before. Its tree is `reads`' too: a read of it started ahead and still under
    way is waited for, not made again."""
    wanted = tuple(dict.fromkeys(paths))
    return reads.start(
        ("files", repository, ref, wanted),
        lambda: read_files(github, repository, ref, wanted, reads),
    )


def start_reading_tree(
    reads: Reads, github: InstallationClient, repository: str, ref: str
) -> asyncio.Task[dict[str, object]]:
    """The read of `ref`'s root tree, as one of `reads`: before it is known which files of it
    are wanted (they are named in the config, read meanwhile)."""
    return reads.start(("tree", repository, ref), lambda: _root_tree(github, repository, ref))


async def _root_tree(github: InstallationClient, repository: str, ref: str) -> dict[str, object]:
    path = f"/repos/{repository}/git/trees/{quote(ref, safe='/')}"
    if _is_sha(ref):
        tree: dict[str, object] = await github.get_immutable(path)
    else:
        tree = await github.get_revalidated(path)
    return tree


# A path's blob entry in the tree a file is read from, as the git trees API lists it (`mode`,
# `sha`, `size`); None where there is no file at that path.
BlobAt = Callable[[str], Awaitable[Mapping[str, object] | None]]


async def _read(
    github: InstallationClient, repository: str, root: dict[str, object], path: str
) -> FileText:
    return await read_following_links(
        github, repository, path, functools.partial(_blob_below, github, repository, root)
    )


async def _blob_below(
    github: InstallationClient, repository: str, root: dict[str, object], path: str
) -> dict[str, object] | None:
    *directories, name = path.split("/")
    tree = root
    for directory in directories:
        entry = _entry(tree, directory, "tree")
        if entry is None:
            return None
        tree = await github.get_immutable(f"/repos/{repository}/git/trees/{entry['sha']}")
    return _entry(tree, name, "blob")


async def read_following_links(
    github: InstallationClient,
    repository: str,
    path: str,
    blob_at: BlobAt,
    links_followed: int = 0,
) -> FileText:
    """The text of the file at `path` in a tree whose entries `blob_at` finds, as `read_files`
    reads it: a symbolic link is followed to the file it points to inside the repository."""
    entry = await blob_at(path)
    if entry is None:
        return None
    text = await read_blob(github, repository, str(entry["sha"]), entry.get("size"))
    if entry.get("mode") != _SYMBOLIC_LINK or not isinstance(text, str):
        return text
    # git keeps a symbolic link as a blob holding the path it points to. The contents API
    # answers with the file a link points to inside the repository; so does this.
    if links_followed == _MAX_LINKS_FOLLOWED:
        return UnreadableText(f"leads through more than {_MAX_LINKS_FOLLOWED} symbolic links")
    target = posixpath.normpath(posixpath.join(posixpath.dirname(path), text))
    inside = not text.startswith("/") and target != ".." and not target.startswith("../")
    followed = (
        await read_following_links(github, repository, target, blob_at, links_followed + 1)
        if inside
        else None
    )
    return _unfollowed_link(text) if followed is None else followed


async def read_blob(
    github: InstallationClient, repository: str, sha: str, size: object
) -> str | UnreadableText:
    """A file's text by its blob's SHA and size, as a tree lists them, read as `read_files`
    reads it (and fetched once: a blob `read_files` read costs nothing more)."""
    if refused := _too_large(size):
        return refused
    blob = await github.get_immutable(f"/repos/{repository}/git/blobs/{sha}")
    return _text(blob["content"])


def know_blobs(github: InstallationClient, repository: str, texts: Iterable[str]) -> None:
    """Make `texts`, which files of `repository` are expected to hold, known as its blobs, as
    if they had been fetched: git names a blob by a hash of its bytes, so a tree entry naming
    one of them holds that text, and reading it costs no request."""
    for text in texts:
        data = text.encode()
        sha = hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()
        content = base64.b64encode(data).decode()
        blob = {"sha": sha, "size": len(data), "encoding": "base64", "content": content}
        github.caches.immutable.put(f"/repos/{repository}/git/blobs/{sha}", blob)


async def read_default_branch_file(
    github: InstallationClient, repository: str, path: str
) -> FileText:
    """A file on the repository's default branch, revalidated by ETag: one request, with no
    need to know the branch. None when there is no such file, or no such repository that
    the installation can see (GitHub answers both with 404)."""
    return await _read_contents(github, repository, None, path)


async def _read_contents(
    github: InstallationClient, repository: str, ref: str | None, path: str
) -> FileText:
    url = f"/repos/{repository}/contents/{quote(path)}"
    if ref is not None:
        url += f"?ref={quote(ref, safe='')}"
    try:
        immutable = ref is not None and _is_sha(ref)
        found = await (github.get_immutable(url) if immutable else github.get_revalidated(url))
    except RequestFailed as error:
        if error.response.status_code == 404:
            return None
        raise
    if isinstance(found, dict) and found.get("type") == "symlink":
        # GitHub answers with the file a link points to, when it points to one in the repository.
        return _unfollowed_link(str(found.get("target")))
    if not isinstance(found, dict) or found.get("type") != "file":
        return None  # a directory or a submodule of that name
    return _too_large(found.get("size")) or _text(found.get("content", ""))


def _unfollowed_link(target: str) -> UnreadableText:
    return UnreadableText(f"is a symbolic link to {target}, which is no file of the repository")


def _too_large(size: object) -> UnreadableText | None:
    """Refused from the size GitHub gives (a tree entry's, the contents API's) before any
    download; a size it does not give lets the file be read."""
    return too_large(size) if isinstance(size, int) else None


def _text(content: object) -> str | UnreadableText:
    try:
        return decoded(base64.b64decode(str(content)))
    except binascii.Error:
        return UnreadableText("is not UTF-8 text")


def _entry(tree: dict[str, object], name: str, kind: str) -> dict[str, object] | None:
    entries = tree.get("tree")
    if not isinstance(entries, list):
        return None
    for entry in entries:
        if isinstance(entry, dict) and entry.get("path") == name and entry.get("type") == kind:
            return entry
    return None


def _is_sha(ref: str) -> bool:
    return len(ref) == 40 and all(character in "0123456789abcdef" for character in ref)
