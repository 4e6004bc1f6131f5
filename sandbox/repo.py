"""A fake repository: a real commit graph plus the GitHub objects living on it."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Concatenate, Literal, ParamSpec, Protocol, TypeVar

from sandbox.git import Author, FakeCommit, FakeTagObject, ObjectStore, merge_trees
from sandbox.models import (
    FakeBranch,
    FakeCheckRun,
    FakeComment,
    FakeIssue,
    FakeMergeGroup,
    FakePull,
    FakeReaction,
    FakeRelease,
    FakeReview,
)

MergeMethod = Literal["merge", "squash", "rebase"]
ReviewState = Literal["APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED"]
# A collaborator's role; GitHub's `permission` maps maintain to write and triage to read.
Role = Literal["admin", "maintain", "write", "triage", "read"]


class Site(Protocol):
    """What a repository needs from the fake GitHub that owns it."""

    lock: threading.RLock

    def now(self) -> datetime: ...

    def next_id(self) -> int: ...


class MergeConflictError(Exception):
    def __init__(self, paths: list[str]) -> None:
        super().__init__(f"merge conflict in {', '.join(paths)}")
        self.paths = paths


class UnknownRefError(LookupError):
    pass


P = ParamSpec("P")
R = TypeVar("R")


def locked(method: Callable[Concatenate[FakeRepo, P], R]) -> Callable[Concatenate[FakeRepo, P], R]:
    """Serialise test-side changes with the server thread answering requests."""

    @functools.wraps(method)
    def wrapper(self: FakeRepo, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self.site.lock:
            return method(self, *args, **kwargs)

    return wrapper


@dataclass
class FakeRepo:
    site: Site = field(repr=False)
    id: int
    owner: str
    name: str
    installation_id: int
    default_branch: str
    objects: ObjectStore = field(default_factory=ObjectStore, repr=False)
    branches: dict[str, FakeBranch] = field(default_factory=dict)
    # tag name -> sha of the commit (lightweight tag) or of the annotated tag object
    tags: dict[str, str] = field(default_factory=dict)
    pulls: dict[int, FakePull] = field(default_factory=dict)
    check_runs: dict[int, FakeCheckRun] = field(default_factory=dict)
    check_suites: dict[tuple[int, str], int] = field(default_factory=dict)
    comments: dict[int, FakeComment] = field(default_factory=dict)
    reactions: list[FakeReaction] = field(default_factory=list)
    issues: dict[int, FakeIssue] = field(default_factory=dict)
    releases: dict[str, FakeRelease] = field(default_factory=dict)
    # Each base branch's merge queue, oldest entry first.
    merge_queues: dict[str, list[FakeMergeGroup]] = field(default_factory=dict)
    # login -> role; anyone else has no access
    collaborators: dict[str, Role] = field(default_factory=dict)
    # The repository's labels: GitHub's API makes each missing one it is given on an issue or
    # pull request, and keeps it when taken off again.
    labels: set[str] = field(default_factory=set)
    # GitHub's other answer to an assignee it will not take on a new issue: when the App
    # may not push, the assignees are dropped silently rather than refused.
    drops_assignees: bool = False
    archived: bool = False  # read-only; the fake still answers writes as it would otherwise
    next_number: int = 1

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    # --- reading -------------------------------------------------------------------------

    def resolve(self, ref: str) -> str | None:
        """Commit sha for a branch, tag, ``refs/...`` name or (abbreviated) sha."""
        for prefix in ("refs/heads/", "heads/"):
            if ref.startswith(prefix) and ref.removeprefix(prefix) in self.branches:
                return self.branches[ref.removeprefix(prefix)].sha
        for prefix in ("refs/tags/", "tags/"):
            if ref.startswith(prefix) and ref.removeprefix(prefix) in self.tags:
                return self.objects.peel(self.tags[ref.removeprefix(prefix)])
        if ref in self.branches:
            return self.branches[ref].sha
        if ref in self.tags:
            return self.objects.peel(self.tags[ref])
        if len(ref) >= 7:
            matches = [sha for sha in self.objects.commits if sha.startswith(ref.lower())]
            if len(matches) == 1:
                return matches[0]
        return None

    def get_commit(self, ref: str) -> FakeCommit:
        sha = self.resolve(ref)
        if sha is None:
            raise UnknownRefError(ref)
        return self.objects.commits[sha]

    def read_file(self, ref: str, path: str) -> str | None:
        return self.get_commit(ref).tree.get(path)

    def tag_object(self, tag: str) -> FakeTagObject | None:
        return self.objects.tags.get(self.tags.get(tag, ""))

    def head_owner(self, pull: FakePull) -> str:
        """The owner of the repository the pull request's head branch lives in."""
        return (pull.head_repo_full_name or self.full_name).split("/")[0]

    def comments_on(self, number: int) -> list[FakeComment]:
        return [comment for comment in self.comments.values() if comment.issue_number == number]

    def reactions_to(self, comment_id: int) -> list[FakeReaction]:
        return [reaction for reaction in self.reactions if reaction.comment_id == comment_id]

    def runs_named(self, name: str, head_sha: str | None = None) -> list[FakeCheckRun]:
        return [
            run
            for run in self.check_runs.values()
            if run.name == name and head_sha in (None, run.head_sha)
        ]

    # --- branches, commits, tags ---------------------------------------------------------

    @locked
    def commit(
        self,
        branch: str,
        files: Mapping[str, str | None],
        message: str = "Update files",
        author: str = "octocat",
    ) -> str:
        """Commit on ``branch`` (created from the default branch if new); None deletes a file."""
        parent_ref = branch if branch in self.branches else self.default_branch
        parent = self.get_commit(parent_ref)
        tree = dict(parent.tree)
        for path, text in files.items():
            if text is None:
                tree.pop(path, None)
            else:
                tree[path] = text
        commit = self.objects.make_commit(
            tree, (parent.sha,), message, Author.for_login(author), self.site.now()
        )
        self.set_branch(branch, commit.sha)
        return commit.sha

    @locked
    def create_branch(self, name: str, from_ref: str | None = None) -> str:
        sha = self.get_commit(from_ref or self.default_branch).sha
        self.set_branch(name, sha)
        return sha

    @locked
    def set_branch(self, name: str, sha: str) -> None:
        """Point ``name`` at ``sha``; open pull requests follow their head and base."""
        if name in self.branches:
            self.branches[name].sha = sha
        else:
            self.branches[name] = FakeBranch(name, sha)
        for pull in self.pulls.values():
            if pull.state != "open":
                continue
            if pull.head_ref == name and pull.head_repo_full_name is None:
                pull.head_sha = sha
                pull.updated_at = self.site.now()
            if pull.base_ref == name:
                pull.base_sha = sha

    @locked
    def delete_branch(self, name: str) -> None:
        del self.branches[name]

    @locked
    def protect(self, branch: str, protected: bool = True) -> None:
        self.branches[branch].protected = protected

    @locked
    def create_tag(self, name: str, ref: str, message: str | None = None) -> str:
        """A lightweight tag, or an annotated one when ``message`` is given; returns the ref sha."""
        target = self.get_commit(ref).sha
        if message is not None:
            tagger = Author.for_login("octocat")
            target = self.objects.make_tag(name, message, target, tagger, self.site.now()).sha
        self.tags[name] = target
        return target

    @locked
    def create_release(
        self,
        tag: str,
        target: str | None = None,
        name: str | None = None,
        body: str = "",
        author: str = "octocat",
        draft: bool = False,
        prerelease: bool = False,
        make_latest: bool = True,
    ) -> FakeRelease:
        """A release of ``tag``; like GitHub, a missing tag is made (lightweight) at ``target``."""
        commitish = target or self.default_branch
        if tag not in self.tags:
            self.tags[tag] = self.get_commit(commitish).sha
        release = FakeRelease(
            id=self.site.next_id(),
            tag_name=tag,
            target_commitish=commitish,
            name=name if name is not None else tag,
            body=body,
            draft=draft,
            prerelease=prerelease,
            author=author,
            created_at=self.site.now(),
            make_latest=make_latest,
        )
        self.releases[tag] = release
        return release

    def latest_release(self) -> FakeRelease | None:
        """The release GitHub calls the repository's latest: of the published full releases
        (no draft, no pre-release, which GitHub never makes latest), the one made latest
        most recently."""
        made_latest = [
            release
            for release in self.releases.values()
            if release.make_latest and not release.draft and not release.prerelease
        ]
        return max(made_latest, key=lambda release: (release.created_at, release.id), default=None)

    @locked
    def merge_refs(self, base_branch: str, head_ref: str, message: str, author: str) -> str | None:
        """Merge ``head_ref`` into ``base_branch`` with a merge commit.

        Returns the new commit's sha, or None when the base already contains the head.
        Raises MergeConflictError listing the conflicting paths.
        """
        base = self.get_commit(base_branch)
        head = self.get_commit(head_ref)
        if self.objects.is_ancestor(head.sha, base.sha):
            return None
        tree = self._merged_tree(base, head)
        commit = self.objects.make_commit(
            tree, (base.sha, head.sha), message, Author.for_login(author), self.site.now()
        )
        self.set_branch(base_branch, commit.sha)
        return commit.sha

    def _merged_tree(self, ours: FakeCommit, theirs: FakeCommit) -> dict[str, str]:
        base_sha = self.objects.merge_base(ours.sha, theirs.sha)
        base_tree = self.objects.commits[base_sha].tree if base_sha else {}
        tree, conflicts = merge_trees(base_tree, ours.tree, theirs.tree)
        if conflicts:
            raise MergeConflictError(conflicts)
        return tree

    # --- pull requests -------------------------------------------------------------------

    @locked
    def open_pull(
        self,
        head: str,
        base: str | None = None,
        title: str = "Pull request",
        author: str = "octocat",
        labels: Iterable[str] = (),
        body: str | None = "",
        draft: bool = False,
        from_fork: str | None = None,
    ) -> FakePull:
        """Open a pull request from ``head``; ``from_fork`` names the fork it comes from.

        A fork's head is read from the branch ``head`` of this repository at opening (the
        test commits there), and then no longer follows it.
        """
        base_ref = base or self.default_branch
        now = self.site.now()
        pull = FakePull(
            id=self.site.next_id(),
            number=self.take_number(),
            title=title,
            body=body,
            author=author,
            head_ref=head,
            base_ref=base_ref,
            head_sha=self.branches[head].sha,
            base_sha=self.branches[base_ref].sha,
            created_at=now,
            updated_at=now,
            labels=list(labels),
            draft=draft,
            head_repo_full_name=from_fork,
        )
        self.labels.update(pull.labels)
        self.pulls[pull.number] = pull
        return pull

    def take_number(self) -> int:
        """Pull requests and issues share one numbering per repository."""
        number = self.next_number
        self.next_number += 1
        return number

    @locked
    def review(
        self,
        pull_number: int,
        login: str,
        state: ReviewState,
        commit_id: str | None = None,
        body: str = "",
    ) -> FakeReview:
        pull = self.pulls[pull_number]
        review = FakeReview(
            id=self.site.next_id(),
            login=login,
            state=state,
            commit_id=commit_id or pull.head_sha,
            submitted_at=self.site.now(),
            body=body,
        )
        pull.reviews.append(review)
        if login in pull.requested_reviewers:
            pull.requested_reviewers.remove(login)
        return review

    @locked
    def dismiss_review(self, pull_number: int, review_id: int) -> FakeReview:
        review = next(r for r in self.pulls[pull_number].reviews if r.id == review_id)
        review.state = "DISMISSED"
        return review

    @locked
    def merge_pull(
        self, pull_number: int, method: MergeMethod = "merge", merged_by: str = "octocat"
    ) -> str:
        """Merge like the green button; raises MergeConflictError on conflicts."""
        pull = self.pulls[pull_number]
        if pull.state != "open":
            raise ValueError(f"pull request #{pull_number} is not open")
        base = self.get_commit(pull.base_ref)
        head = self.objects.commits[pull.head_sha]
        by = Author.for_login(merged_by)
        if method == "merge":
            message = f"Merge pull request #{pull.number} from {self.owner}/{pull.head_ref}"
            tree = self._merged_tree(base, head)
            parents: tuple[str, ...] = (base.sha, head.sha)
            sha = self.objects.make_commit(
                tree, parents, f"{message}\n\n{pull.title}", by, self.site.now()
            ).sha
        elif method == "squash":
            tree = self._merged_tree(base, head)
            sha = self.objects.make_commit(
                tree, (base.sha,), f"{pull.title} (#{pull.number})", by, self.site.now()
            ).sha
        else:
            sha = self._replay(base, head)
        self.set_branch(pull.base_ref, sha)
        self._close_merged(pull, sha, merged_by)
        return sha

    def _close_merged(self, pull: FakePull, merge_commit_sha: str, merged_by: str) -> None:
        pull.state = "closed"
        pull.merged = True
        pull.merge_commit_sha = merge_commit_sha
        pull.merged_at = pull.closed_at = pull.updated_at = self.site.now()
        pull.merged_by = merged_by

    @locked
    def revert_pull(self, pull_number: int, author: str = "octocat") -> FakePull:
        """What GitHub's Revert button on a merged pull request makes: the branch
        `revert-<N>-<head branch>` from its base with one commit undoing its merge commit
        (against the merge commit's first parent), and a pull request from it into the base,
        titled `Revert "<title>"` and described `Reverts owner/repo#N`."""
        pull = self.pulls[pull_number]
        if not pull.merged or pull.merge_commit_sha is None:
            raise ValueError(f"pull request #{pull_number} is not merged")
        merged = self.objects.commits[pull.merge_commit_sha]
        before = self.objects.commits[merged.parents[0]]
        current = self.get_commit(pull.base_ref)
        tree, conflicts = merge_trees(merged.tree, current.tree, before.tree)
        if conflicts:
            raise MergeConflictError(conflicts)
        branch = f"revert-{pull.number}-{pull.head_ref}"
        commit = self.objects.make_commit(
            tree,
            (current.sha,),
            f'Revert "{pull.title}"\n\nThis reverts commit {merged.sha}.',
            Author.for_login(author),
            self.site.now(),
        )
        self.set_branch(branch, commit.sha)
        return self.open_pull(
            branch,
            pull.base_ref,
            title=f'Revert "{pull.title}"',
            author=author,
            body=f"Reverts {self.full_name}#{pull.number}",
        )

    @locked
    def enqueue(self, pull_number: int) -> FakeMergeGroup:
        """Add the pull request to its base branch's merge queue: like GitHub, a merge
        commit of its head onto the last group queued (or the branch), on a read-only
        branch `gh-readonly-queue/<base>/pr-<number>-<sha>`; raises MergeConflictError."""
        pull = self.pulls[pull_number]
        queue = self.merge_queues.setdefault(pull.base_ref, [])
        base = self.get_commit(queue[-1].head_sha if queue else pull.base_ref)
        head = self.objects.commits[pull.head_sha]
        message = f"Merge pull request #{pull.number} from {self.owner}/{pull.head_ref}"
        commit = self.objects.make_commit(
            self._merged_tree(base, head),
            (base.sha, head.sha),
            f"{message}\n\n{pull.title}",
            Author.for_login("github-merge-queue[bot]"),
            self.site.now(),
        )
        group = FakeMergeGroup(pull.number, pull.base_ref, base.sha, commit.sha)
        queue.append(group)
        self.set_branch(group.branch, group.head_sha)
        return group

    @locked
    def merge_group(self, group: FakeMergeGroup, merged_by: str = "octocat") -> None:
        """The queue merges its oldest group, once its checks pass: the base branch moves on
        to the group's commit, which becomes the pull request's merge commit, and the group's
        branch goes."""
        queue = self.merge_queues.get(group.base_ref, [])
        if not queue or queue[0] is not group:
            raise ValueError(f"{group.branch} is not the oldest group of its queue")
        queue.pop(0)
        self.set_branch(group.base_ref, group.head_sha)
        self.delete_branch(group.branch)
        self._close_merged(self.pulls[group.pull_number], group.head_sha, merged_by)

    @locked
    def dequeue(self, pull_number: int) -> list[FakeMergeGroup]:
        """Take the pull request out of its base branch's merge queue, as its page's button
        does: its group goes, and the groups queued after it are built again on what is left
        ahead of them, as GitHub builds them (each asking for its checks anew). Returns
        those new groups."""
        queue = self.merge_queues.get(self.pulls[pull_number].base_ref, [])
        index = next(i for i, group in enumerate(queue) if group.pull_number == pull_number)
        removed = queue[index:]
        del queue[index:]
        for group in removed:
            self.delete_branch(group.branch)
        return [self.enqueue(group.pull_number) for group in removed[1:]]

    def _replay(self, onto: FakeCommit, head: FakeCommit) -> str:
        """Rebase-merge: re-apply each non-merge commit of the head onto the base."""
        current = onto
        for original in self.objects.commits_between(onto.sha, head.sha):
            if len(original.parents) != 1:
                continue
            parent_tree = self.objects.commits[original.parents[0]].tree
            tree, conflicts = merge_trees(parent_tree, current.tree, original.tree)
            if conflicts:
                raise MergeConflictError(conflicts)
            current = self.objects.make_commit(
                tree, (current.sha,), original.message, original.author, self.site.now()
            )
        return current.sha

    @locked
    def close_pull(self, pull_number: int) -> None:
        pull = self.pulls[pull_number]
        pull.state = "closed"
        pull.closed_at = pull.updated_at = self.site.now()

    @locked
    def reopen_pull(self, pull_number: int) -> None:
        """Reopen a pull request closed without a merge, as its page's button does."""
        pull = self.pulls[pull_number]
        if pull.state != "closed" or pull.merged:
            raise ValueError(f"pull request #{pull_number} is not closed without a merge")
        pull.state = "open"
        pull.closed_at = None
        pull.updated_at = self.site.now()

    @locked
    def edit_pull(self, number: int, title: str, body: str) -> FakePull:
        """Pull request `number` with its title and description as its page's edit leaves
        them."""
        pull = self.pulls[number]
        pull.title, pull.body, pull.updated_at = title, body, self.site.now()
        return pull

    # --- issues and comments -------------------------------------------------------------

    @locked
    def open_issue(
        self,
        title: str,
        author: str = "octocat",
        body: str = "",
        labels: Iterable[str] = (),
        assignees: Iterable[str] = (),
    ) -> FakeIssue:
        now = self.site.now()
        issue = FakeIssue(
            self.site.next_id(),
            self.take_number(),
            title,
            body,
            author,
            now,
            now,
            list(labels),
            list(assignees),
        )
        self.labels.update(issue.labels)
        self.issues[issue.number] = issue
        return issue

    @locked
    def assign(self, number: int, *logins: str) -> None:
        issue = self.issues[number]
        issue.assignees.extend(login for login in logins if login not in issue.assignees)

    @locked
    def edit_issue(self, number: int, title: str, body: str) -> FakeIssue:
        """Issue `number` with its title and body as its page's edit leaves them."""
        issue = self.issues[number]
        issue.title, issue.body, issue.updated_at = title, body, self.site.now()
        return issue

    @locked
    def close_issue(self, number: int) -> None:
        issue = self.issues[number]
        issue.state = "closed"
        issue.closed_at = issue.updated_at = self.site.now()

    @locked
    def add_comment(self, number: int, author: str, body: str) -> FakeComment:
        """A comment on the conversation of pull request or issue `number`."""
        if number not in self.pulls and number not in self.issues:
            raise KeyError(number)
        now = self.site.now()
        comment = FakeComment(self.site.next_id(), number, body, author, now, now)
        self.comments[comment.id] = comment
        return comment

    @locked
    def edit_comment(self, comment_id: int, body: str) -> FakeComment:
        comment = self.comments[comment_id]
        comment.body = body
        comment.updated_at = self.site.now()
        return comment

    @locked
    def react(self, comment_id: int, content: str, user: str) -> tuple[FakeReaction, bool]:
        """`user`'s reaction to a comment; False when it was there already (GitHub's 200)."""
        for reaction in self.reactions_to(comment_id):
            if (reaction.content, reaction.user) == (content, user):
                return reaction, False
        reaction = FakeReaction(self.site.next_id(), comment_id, content, user, self.site.now())
        self.reactions.append(reaction)
        return reaction, True

    def issue_like(self, number: int) -> FakePull | FakeIssue:
        """The pull request or issue `number` (they share one numbering)."""
        return self.pulls.get(number) or self.issues[number]

    @locked
    def create_label(self, name: str) -> None:
        self.labels.add(name)

    @locked
    def add_labels(self, number: int, *labels: str) -> None:
        item = self.issue_like(number)
        item.labels.extend(label for label in labels if label not in item.labels)
        self.labels.update(labels)

    @locked
    def remove_label(self, number: int, label: str) -> None:
        self.issue_like(number).labels.remove(label)
