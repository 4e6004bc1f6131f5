"""A tiny content-addressed git object model: commits, annotated tags, ancestry, merges.

Trees are flat ``{path: text}`` maps. Merging is three-way per path (equal texts are equal
blobs): a path changed on one side since the merge base takes that side, changed on both
sides alike is fine; a file both sides changed differently is merged line by line, as git
does, and conflicts when the changes overlap or touch. A path added on both sides, or
deleted on one and changed on the other, conflicts.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from policies.line_merge import merge_lines

Tree = Mapping[str, str]


def blob_sha(text: str) -> str:
    """The git blob id of ``text``, as GitHub reports it for a file's ``sha``."""
    data = text.encode()
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def tree_sha(tree: Tree) -> str:
    listing = "".join(f"{path}\0{blob_sha(text)}\n" for path, text in sorted(tree.items()))
    return hashlib.sha1(listing.encode(), usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class Author:
    name: str
    email: str

    @classmethod
    def for_login(cls, login: str) -> Author:
        return cls(name=login, email=f"{login}@users.noreply.github.com")


@dataclass(frozen=True)
class FakeCommit:
    sha: str
    tree: Tree
    parents: tuple[str, ...]
    message: str
    author: Author
    committed_at: datetime

    @property
    def tree_sha(self) -> str:
        return tree_sha(self.tree)


@dataclass(frozen=True)
class FakeTagObject:
    """An annotated tag object (what ``POST /git/tags`` creates)."""

    sha: str
    tag: str
    message: str
    object_sha: str
    object_type: str
    tagger: Author
    tagged_at: datetime


def merge_trees(base: Tree, ours: Tree, theirs: Tree) -> tuple[dict[str, str], list[str]]:
    """Three-way merge, line by line inside a file both sides changed; conflicting paths keep
    our version and are listed sorted."""
    merged: dict[str, str] = {}
    conflicts: list[str] = []
    for path in sorted(set(base) | set(ours) | set(theirs)):
        base_text, our_text, their_text = base.get(path), ours.get(path), theirs.get(path)
        if our_text == their_text or their_text == base_text:
            chosen = our_text
        elif our_text == base_text:
            chosen = their_text
        else:
            chosen = _merged_file(base_text, our_text, their_text)
            if chosen is None:
                conflicts.append(path)
                chosen = our_text
        if chosen is not None:
            merged[path] = chosen
    return merged, conflicts


def _merged_file(base: str | None, ours: str | None, theirs: str | None) -> str | None:
    """A file both sides changed, merged line by line; None for a conflict, which a path
    added on both sides or deleted on one side always is."""
    if base is None or ours is None or theirs is None:
        return None
    return merge_lines(base, ours, theirs)


def changed_paths(old: Tree, new: Tree) -> list[tuple[str, str]]:
    """``(path, status)`` pairs with GitHub's compare statuses added/removed/modified."""
    changes: list[tuple[str, str]] = []
    for path in sorted(set(old) | set(new)):
        if path not in old:
            changes.append((path, "added"))
        elif path not in new:
            changes.append((path, "removed"))
        elif old[path] != new[path]:
            changes.append((path, "modified"))
    return changes


def subtree(tree: Tree, directory: str) -> dict[str, str]:
    """The files below ``directory`` ("" for the root), with paths relative to it."""
    prefix = f"{directory}/" if directory else ""
    return {
        path.removeprefix(prefix): text for path, text in tree.items() if path.startswith(prefix)
    }


@dataclass
class ObjectStore:
    commits: dict[str, FakeCommit] = field(default_factory=dict)
    tags: dict[str, FakeTagObject] = field(default_factory=dict)
    # Every tree (the root and each directory) and blob of every commit, by SHA, as the
    # git trees and blobs API serves them.
    trees: dict[str, dict[str, str]] = field(default_factory=dict)
    blobs: dict[str, str] = field(default_factory=dict)

    def store_tree(self, tree: Tree) -> str:
        """Keep ``tree`` (as ``POST /git/trees`` does) and return its SHA."""
        self._index(tree)
        return tree_sha(tree)

    def _index(self, tree: Tree) -> None:
        directories = {""} | {
            "/".join(parts[:depth])
            for parts in (path.split("/") for path in tree)
            for depth in range(1, len(parts))
        }
        for directory in directories:
            files = subtree(tree, directory)
            self.trees.setdefault(tree_sha(files), files)
        for text in tree.values():
            self.blobs.setdefault(blob_sha(text), text)

    def make_commit(
        self,
        tree: Tree,
        parents: tuple[str, ...],
        message: str,
        author: Author,
        when: datetime,
    ) -> FakeCommit:
        header = [f"tree {tree_sha(tree)}", *(f"parent {sha}" for sha in parents)]
        header.append(f"author {author.name} <{author.email}> {int(when.timestamp())}")
        content = "\n".join(header) + "\n\n" + message
        sha = hashlib.sha1(content.encode(), usedforsecurity=False).hexdigest()
        commit = FakeCommit(sha, MappingProxyType(dict(tree)), parents, message, author, when)
        if sha not in self.commits:
            self._index(tree)
        self.commits.setdefault(sha, commit)
        return self.commits[sha]

    def make_tag(
        self, tag: str, message: str, object_sha: str, tagger: Author, when: datetime
    ) -> FakeTagObject:
        object_type = "tag" if object_sha in self.tags else "commit"
        content = (
            f"object {object_sha}\ntype {object_type}\ntag {tag}\n"
            f"tagger {tagger.name} <{tagger.email}> {int(when.timestamp())}\n\n{message}"
        )
        sha = hashlib.sha1(content.encode(), usedforsecurity=False).hexdigest()
        tag_object = FakeTagObject(sha, tag, message, object_sha, object_type, tagger, when)
        self.tags.setdefault(sha, tag_object)
        return self.tags[sha]

    def peel(self, sha: str) -> str:
        """Follow annotated tags down to the commit they point at."""
        while sha in self.tags:
            sha = self.tags[sha].object_sha
        return sha

    def walk(self, head: str) -> Iterator[str]:
        """Commits reachable from ``head`` (inclusive), breadth first: nearest first."""
        seen = {head}
        queue = deque([head])
        while queue:
            sha = queue.popleft()
            yield sha
            for parent in self.commits[sha].parents:
                if parent not in seen:
                    seen.add(parent)
                    queue.append(parent)

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        return any(sha == ancestor for sha in self.walk(descendant))

    def merge_base(self, first: str, second: str) -> str | None:
        """The nearest common ancestor (breadth first from ``second``), None if unrelated."""
        first_history = set(self.walk(first))
        return next((sha for sha in self.walk(second) if sha in first_history), None)

    def commits_between(self, base: str, head: str) -> list[FakeCommit]:
        """Commits reachable from ``head`` but not ``base``, oldest first (parents first)."""
        excluded = set(self.walk(base))
        wanted = [sha for sha in self.walk(head) if sha not in excluded]
        return sorted(
            (self.commits[sha] for sha in wanted),
            key=lambda commit: len(set(self.walk(commit.sha)) - excluded),
        )
