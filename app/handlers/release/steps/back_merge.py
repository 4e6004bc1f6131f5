"""Back-merge (gitflow): the merge commit into the latest open release branch or
`development`; once a run opened a pull request for it, into that pull request's base.

The merges API merges directly. When the only conflicts are in version files, the step
settles them itself: on `backmerge/<tag>` at the merge commit it commits the target's own
version files, merges that branch and deletes it; so it does for a protected target, whose
pull request (below) then holds that commit. Any other refusal (a conflict elsewhere, a
protected branch) leaves `backmerge/<tag>` at the merge commit and one pull request from
it, saying why and asking the hotfix author to review; once people merged it, a re-run
names it as what did the back-merge. When a re-run merges back itself (or finds it merged
back another way), it closes that pull request if still open, saying so; and once the
pull request is closed or merged, it deletes `backmerge/<tag>` unless people added commits
to it that the target does not have. A run that stopped between pushing the branch and
opening its pull request leaves the branch without one: the next run opens the pull request
from it when the merge is still refused, else deletes the branch.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import shlex
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode

from githubkit.exception import RequestFailed

from app.github.client import InstallationClient, classify, error_message, path_part
from app.github.files import read_following_links
from app.github.reads import Look, Reads
from app.handlers.notices import comment_once
from app.handlers.release.plan import BACKMERGE_PREFIX, CHECK_NAME, ReleasePlan
from app.handlers.release.step import (
    Link,
    Step,
    StepOutcome,
    StepRun,
    StepStatus,
    commands_if_it_fails,
    with_text_on_stdin,
)
from app.handlers.release.steps import tag as tag_step
from policies.accounts import AUTHOR_DELETED
from policies.config import HotfixConfig
from policies.files import FileText, UnreadableText
from policies.line_merge import merge_lines
from policies.release_branches import open_release_branch
from policies.versions import (
    Version,
    changed_beyond_version,
    lockfiles,
    version_files_to_read,
)
from policies.wording import join_words


class Refusal(StrEnum):
    """Why the merges API did not merge; the back-merge pull request says it."""

    CONFLICT = "conflict"
    PROTECTED = "protected"


class _Refused(Exception):
    """The merges API refused to merge, with GitHub's words."""

    def __init__(self, refusal: Refusal, message: str) -> None:
        super().__init__(message)
        self.refusal = refusal
        self.message = message


async def release_branches(
    github: InstallationClient, repository: str, config: HotfixConfig
) -> list[str]:
    """The names of the release branches (gitflow; none with the other workflows)."""
    if config.workflow != "gitflow":
        return []
    prefix = config.branches.release_prefix
    # One request lists every branch starting with the prefix (GitHub pages it only when its
    # answer says so by a `link`); the trailing slash is left out of the path and checked on
    # the names.
    refs = await github.get_all(
        f"/repos/{repository}/git/matching-refs/{path_part(f'heads/{prefix}'.rstrip('/'))}",
        page_size=None,
    )
    return [ref["ref"].removeprefix("refs/heads/") for ref in refs]


def _target_afresh(config: HotfixConfig, branches: list[str], released: Version | None) -> str:
    """Of `branches`, the open release branch with the highest version, else `development`.
    Without the version the hotfix releases, no release branch can be told open."""
    named = config.branches
    if released is None:
        return named.development
    release_branch = open_release_branch(
        named.release_prefix,
        branches,
        released,
        production=named.production,
        development=named.development,
    )
    return release_branch or named.development


async def with_target(
    github: InstallationClient,
    reads: Reads,
    plan: ReleasePlan,
    previous: StepOutcome | None,
    branches: list[str],
) -> ReleasePlan:
    """`plan` with its back-merge target, `previous` being the step's last outcome and
    `branches` the release branches: the base of the pull request an earlier run opened
    (`_base_kept`), so that a release branch cut since gets no second pull request from the
    same branch, and the report never reads done beside one still open; else
    `_target_afresh`."""
    chosen = _target_afresh(plan.config, branches, plan.version)
    kept = await _base_kept(github, reads, plan, previous, branches)
    if kept is None or kept == chosen:
        return dataclasses.replace(plan, back_merge_target=chosen)
    passed_over = None if chosen == plan.development else chosen
    return dataclasses.replace(plan, back_merge_target=kept, release_branch_passed_over=passed_over)


async def _base_kept(
    github: InstallationClient,
    reads: Reads,
    plan: ReleasePlan,
    previous: StepOutcome | None,
    branches: list[str],
) -> str | None:
    """The base of the pull request from `backmerge/<tag>` that stands for the back-merge
    (the open one, else the merged one, else the latest closed; its base as it is now, should
    people have moved it), while that base is the development branch or one of `branches`
    (a release branch finished since is gone). None when no earlier run may have opened one:
    no request then."""
    if plan.config.workflow != "gitflow" or not _may_have_opened_pull(previous):
        return None
    pulls = await _pulls_from_branch(github, reads, plan)
    if not pulls:
        return None
    # GitHub lists the latest first; min keeps the first of the best.
    pull = min(pulls, key=lambda pull: (pull["state"] != "open", not pull.get("merged_at")))
    base = str(pull["base"]["ref"])
    return base if base == plan.development or base in branches else None


async def back_merge(run: StepRun) -> StepOutcome:
    github, plan = run.github, run.plan
    if plan.config.workflow != "gitflow":
        return StepOutcome(
            StepStatus.SKIPPED,
            f"`workflow: {plan.config.workflow}` has no development branch to merge into",
        )
    target = plan.back_merge_target
    # A release branch was just listed; the development branch may not exist.
    if target == plan.development and await run.look(_development_ref(plan)) is None:
        return StepOutcome(StepStatus.SKIPPED, f"there is no branch `{target}`")
    try:
        merged = await _merge(github, plan, plan.merge_sha)
    except _Refused as refused:
        return await _after_refusal(run, refused)
    if merged is not None:
        done = StepOutcome(
            StepStatus.DONE,
            f"merged into {plan.back_merge_target_words} as `{merged[:7]}`",
            Link(merged[:7], plan.commit_url(merged)),
        )
        if not _may_have_left_branch(run):
            return done
        pulls, head = await asyncio.gather(
            _earlier_back_merge_pulls(run, after_merging=True), _branch_head(github, plan)
        )
        return await _settle_back_merge_pulls(run, done, pulls, head)
    head, pulls = await asyncio.gather(
        _branch_head(github, plan), _earlier_back_merge_pulls(run, after_merging=False)
    )
    # A crash between merging `backmerge/<tag>` and deleting it left the branch behind; a
    # settlement on it merged by people through its pull request is named by that.
    if not any(pull.get("merged_at") for pull in pulls):
        finished = await _finish_resolution_left_behind(github, plan, head)
        if finished is not None:
            return finished
    already = StepOutcome(
        StepStatus.ALREADY_DONE,
        f"{plan.back_merge_target_words} already contains the merge commit `{plan.short_sha}`",
    )
    return await _settle_back_merge_pulls(run, already, pulls, head)


async def _merge(github: InstallationClient, plan: ReleasePlan, head: str) -> str | None:
    """Merge `head` into the target with the merges API: the new commit's SHA, None when the
    target already contains `head`; `_Refused` when GitHub will not merge."""
    try:
        merged = await github.request(
            "POST",
            f"/repos/{plan.repository}/merges",
            body={
                "base": plan.back_merge_target,
                "head": head,
                "commit_message": plan.backmerge_message,
            },
        )
    except RequestFailed as error:
        refusal = _refusal(error)
        if refusal is None:
            raise
        raise _Refused(refusal, error_message(error)) from error
    return None if merged.status_code == 204 else str(merged.json()["sha"])


def _refusal(error: RequestFailed) -> Refusal | None:
    """Why GitHub did not merge, or None for an error the step reports as such.

    A conflict is a 409 "Merge conflict". A branch's protection or rules refuse with 409,
    403 or 422 in many words ("Required status check "ci" is expected.", "Changes must be
    made through a pull request.", "Protected branch update failed ..."), and the pull
    request they ask for quotes GitHub's own. A rate limit's 403 (and a 401) is retried
    like any passing error, not taken for a refusal; nor is the 403 of a permission the App
    lacks, which refuses it every write, not this branch's: the step fails with it.
    """
    status, message = error.response.status_code, error_message(error)
    if classify(error).transient or (status == 403 and _MISSING_PERMISSION in message):
        return None
    if status == 409 and "conflict" in message.casefold():
        return Refusal.CONFLICT
    return Refusal.PROTECTED if status in (403, 409, 422) else None


# GitHub's answer to an App without the permission a request needs.
_MISSING_PERMISSION = "Resource not accessible by integration"


@dataclass(frozen=True, slots=True)
class _Entry:
    """One file of a tree as the git trees API lists it."""

    mode: str
    type: str  # blob, or commit for a submodule
    sha: str
    size: int  # bytes; 0 for a submodule


# GitHub merges a file both sides changed line by line; telling whether their changes
# overlap takes three blob reads per file. Beyond this many such files (version files
# aside), or in a file this large, the step does not look and leaves the merge to people.
_MAX_FILES_TO_MERGE = 50
_MAX_BYTES_TO_MERGE = 1_000_000


@dataclass(frozen=True, slots=True)
class _Trees:
    """The files of the merge base, of the target (ours) and of the merge commit (theirs)."""

    base: Mapping[str, _Entry]
    ours: Mapping[str, _Entry]
    theirs: Mapping[str, _Entry]
    theirs_sha: str  # the merge commit's tree

    @classmethod
    async def read(cls, github: InstallationClient, plan: ReleasePlan) -> _Trees | None:
        """From the compare API's merge base and three recursive tree reads; None when a
        tree is too large for GitHub to list whole."""
        repository = plan.repository
        compare = await github.get_json(
            f"/repos/{repository}/compare/{path_part(plan.back_merge_target)}...{plan.merge_sha}"
        )
        tree_shas = (
            compare["merge_base_commit"]["commit"]["tree"]["sha"],
            compare["base_commit"]["commit"]["tree"]["sha"],
            plan.merge_sha,  # the trees API takes a commit for its tree
        )
        base, ours, theirs = await asyncio.gather(
            *(
                github.get_immutable(f"/repos/{repository}/git/trees/{sha}?recursive=1")
                for sha in tree_shas
            )
        )
        if any(tree["truncated"] for tree in (base, ours, theirs)):
            return None
        return cls(_files(base), _files(ours), _files(theirs), theirs["sha"])

    async def conflicts(
        self, github: InstallationClient, repository: str, version_files: Collection[str]
    ) -> list[str]:
        """The paths whose changes on the two sides since the merge base overlap: every
        version file both sides changed, and each other file both changed whose changes do
        not merge line by line."""
        paths = self.base.keys() | self.ours.keys() | self.theirs.keys()
        sides = (self.base, self.ours, self.theirs)
        both_changed = sorted(
            path for path in paths if len({_sha(side, path) for side in sides}) == 3
        )
        to_merge = [
            path for path in both_changed if path not in version_files and self._mergeable(path)
        ]
        if len(to_merge) > _MAX_FILES_TO_MERGE:
            return both_changed
        merged = await asyncio.gather(
            *(self._merges_cleanly(github, repository, path) for path in to_merge)
        )
        clean = {path for path, cleanly in zip(to_merge, merged, strict=True) if cleanly}
        return [path for path in both_changed if path not in clean]

    async def changed_by_hotfix(
        self, github: InstallationClient, plan: ReleasePlan
    ) -> set[str] | None:
        """The paths the merge commit changed from its first parent (the production branch
        before the merge; the merge commit was read for the version released); None when
        GitHub cannot list that parent's tree whole."""
        repository = plan.repository
        commit = await github.get_immutable(f"/repos/{repository}/git/commits/{plan.merge_sha}")
        parent = commit["parents"][0]["sha"]
        tree = await github.get_immutable(f"/repos/{repository}/git/trees/{parent}?recursive=1")
        if tree["truncated"]:
            return None
        before = _files(tree)
        return {
            path
            for path in before.keys() | self.theirs.keys()
            if _sha(before, path) != _sha(self.theirs, path)
        }

    def kept_from_target(self, version_files: Collection[str]) -> list[str]:
        """The version files that keeping the target's own changes on the merge commit: those
        the two hold differently."""
        return sorted(
            path for path in version_files if _sha(self.ours, path) != _sha(self.theirs, path)
        )

    async def lost_by_keeping_target(
        self, github: InstallationClient, repository: str, version_files: Collection[str]
    ) -> list[str]:
        """Of the version files keeping the target's own would change, those the merge
        commit's side changed since the merge base in more than their version: keeping the
        target's would drop that change. The merge base, not the merge commit's parent, as
        the side's earlier commits (of a rebase merge, or on the production branch since the
        target last took it) would be dropped as well. Only files that side changed are read;
        their blobs were mostly read already, for the version released."""
        changed = [
            path
            for path in self.kept_from_target(version_files)
            if self.base.get(path) != self.theirs.get(path)
        ]
        texts = await asyncio.gather(
            *(
                asyncio.gather(
                    _version_file_text(github, repository, self.base, path),
                    _version_file_text(github, repository, self.theirs, path),
                )
                for path in changed
            )
        )
        return [
            path
            for path, (before, after) in zip(changed, texts, strict=True)
            if changed_beyond_version(path, before, after)
        ]

    def _mergeable(self, path: str) -> bool:
        """A file on all three sides that a line merge may settle (added on both sides,
        deleted on one, a submodule or a large file always conflicts)."""
        entries = [side.get(path) for side in (self.base, self.ours, self.theirs)]
        return all(
            entry is not None and entry.type == "blob" and entry.size <= _MAX_BYTES_TO_MERGE
            for entry in entries
        )

    async def _merges_cleanly(self, github: InstallationClient, repository: str, path: str) -> bool:
        base, ours, theirs = await asyncio.gather(
            *(
                _blob_text(github, repository, side[path].sha)
                for side in (self.base, self.ours, self.theirs)
            )
        )
        if base is None or ours is None or theirs is None:
            return False  # a binary file: git does not merge it
        return merge_lines(base, ours, theirs) is not None


async def _blob_text(github: InstallationClient, repository: str, sha: str) -> str | None:
    """A blob's text (bytes that are not UTF-8 kept as they are), None when git takes it for
    binary: a NUL byte near the start. Read afresh, not cached: rarely read twice, and large."""
    blob = await github.get_json(f"/repos/{repository}/git/blobs/{sha}")
    data = base64.b64decode(blob["content"])
    return None if b"\0" in data[:8000] else data.decode(errors="surrogateescape")


async def _version_file_text(
    github: InstallationClient, repository: str, side: Mapping[str, _Entry], path: str
) -> FileText:
    """Version file `path` of `side` as the hotfix-policy check reads it: a symbolic link is
    read where it points."""
    entry = side.get(path)
    if entry is not None and entry.type != "blob":
        return UnreadableText("is a submodule")

    async def blob_at(at: str) -> dict[str, object] | None:
        entry = side.get(at)
        if entry is None or entry.type != "blob":
            return None
        return {"mode": entry.mode, "sha": entry.sha, "size": entry.size}

    return await read_following_links(github, repository, path, blob_at)


def _files(tree: Mapping[str, Any]) -> dict[str, _Entry]:
    return {
        entry["path"]: _Entry(entry["mode"], entry["type"], entry["sha"], entry.get("size", 0))
        for entry in tree["tree"]
        if entry["type"] != "tree"
    }


def _sha(side: Mapping[str, _Entry], path: str) -> str | None:
    entry = side.get(path)
    return None if entry is None else entry.sha


async def _after_refusal(run: StepRun, refused: _Refused) -> StepOutcome:
    """Settled here when every conflicting path is a version file; else a pull request. A
    protected target is looked at for conflicts too: its pull request holds the settlement
    (or lists the conflicts), so that people can merge it as it is."""
    github, plan = run.github, run.plan
    version_files = set(version_files_to_read(plan.config))
    conflicts: list[str] | None = None
    not_only_versions: list[str] = []
    settled: _Settled | None = None
    try:
        trees = await _Trees.read(github, plan)
        if trees is not None:
            conflicts = await trees.conflicts(github, plan.repository, version_files)
            if conflicts and set(conflicts) <= version_files:
                not_only_versions = await trees.lost_by_keeping_target(
                    github, plan.repository, version_files
                )
    except RequestFailed:
        if refused.refusal is not Refusal.PROTECTED:
            raise
        # A protected target gets its pull request (docs/BEHAVIOUR.md, section 5) whether or
        # not its conflicts can be read: opened as it is, people see them there.
        trees, conflicts, not_only_versions = None, None, []
    if trees is not None:
        if conflicts and set(conflicts) <= version_files and not not_only_versions:
            settled = await _keep_target_versions(github, plan, trees, version_files)
        # A protected target refuses the settled branch as it refused the merge commit.
        if settled is not None and refused.refusal is Refusal.CONFLICT:
            try:
                await _merge(github, plan, plan.backmerge_branch)
            except _Refused as refused_again:  # protected since, or the target moved on anew
                refused = refused_again
            else:
                await _delete_backmerge_branch(github, plan)
                return _resolved(plan, settled.paths, settled.commit)
    return await _back_merge_pull(run, refused, trees, conflicts, not_only_versions, settled)


@dataclass(frozen=True, slots=True)
class _Settled:
    """The step's own commit on `backmerge/<tag>` keeping the target's version files."""

    paths: list[str]
    commit: str


async def _keep_target_versions(
    github: InstallationClient, plan: ReleasePlan, trees: _Trees, version_files: Collection[str]
) -> _Settled | None:
    """On `backmerge/<tag>` at the merge commit, one commit putting back the target's own
    version files, all of them (not only those in conflict: the target keeps its version
    everywhere); an earlier run's is found again. None when the branch holds other work:
    people decide then."""
    head = await _branch_head(github, plan)
    if head is None:
        await github.request(
            "POST",
            f"/repos/{plan.repository}/git/refs",
            body={"ref": f"refs/heads/{plan.backmerge_branch}", "sha": plan.merge_sha},
        )
        head = plan.merge_sha
    if head == plan.merge_sha:
        kept = trees.kept_from_target(version_files)
        return _Settled(kept, await _commit_target_versions(github, plan, trees, kept))
    paths = await _version_resolution_paths(github, plan, head)
    return None if paths is None else _Settled(paths, head)


async def _commit_target_versions(
    github: InstallationClient, plan: ReleasePlan, trees: _Trees, paths: list[str]
) -> str:
    """The commit on `backmerge/<tag>` that takes the target's side of each of `paths`,
    made with the git data API from blobs the target already has."""
    entries: list[dict[str, str | None]] = []
    for path in paths:
        ours, theirs = trees.ours.get(path), trees.theirs.get(path)
        if ours is not None:
            entries.append({"path": path, "mode": ours.mode, "type": ours.type, "sha": ours.sha})
        elif theirs is not None:  # the target deleted it: delete it here too
            entries.append({"path": path, "mode": theirs.mode, "type": theirs.type, "sha": None})
    repository = plan.repository
    tree = await github.request(
        "POST",
        f"/repos/{repository}/git/trees",
        body={"base_tree": trees.theirs_sha, "tree": entries},
    )
    commit = await github.request(
        "POST",
        f"/repos/{repository}/git/commits",
        body={
            "message": plan.version_resolution_message,
            "tree": tree.json()["sha"],
            "parents": [plan.merge_sha],
        },
    )
    sha = str(commit.json()["sha"])
    await github.request(
        "PATCH",
        f"/repos/{repository}/git/refs/heads/{path_part(plan.backmerge_branch)}",
        body={"sha": sha},
    )
    return sha


async def _version_resolution_paths(
    github: InstallationClient, plan: ReleasePlan, head: str
) -> list[str] | None:
    """The paths the commit `head` changed, when it is the step's own commit on the merge
    commit (see `_commit_target_versions`); None when it is anything else."""
    compare = await github.get_json(f"/repos/{plan.repository}/compare/{plan.merge_sha}...{head}")
    commits = compare["commits"]
    own = (
        compare["status"] == "ahead"
        and len(commits) == 1
        and commits[0]["commit"]["message"] == plan.version_resolution_message
        and [parent["sha"] for parent in commits[0]["parents"]] == [plan.merge_sha]
    )
    return sorted(entry["filename"] for entry in compare.get("files") or []) if own else None


async def _finish_resolution_left_behind(
    github: InstallationClient, plan: ReleasePlan, head: str | None
) -> StepOutcome | None:
    """The target contains the merge commit: when through the step's own version commit
    on `backmerge/<tag>` (at `head`) and the branch is still there, the branch is deleted
    now."""
    if head is None or head == plan.merge_sha:
        return None
    paths = await _version_resolution_paths(github, plan, head)
    if paths is None:
        return None
    await _delete_backmerge_branch(github, plan)
    return _resolved(plan, paths, head)


def _resolved(plan: ReleasePlan, paths: list[str], commit_sha: str) -> StepOutcome:
    files = join_words([f"`{path}`" for path in paths])
    return StepOutcome(
        StepStatus.DONE,
        f"merged into {plan.back_merge_target_words}; the version conflict was resolved by "
        f"keeping `{plan.back_merge_target}`'s version in {files}",
        Link(commit_sha[:7], plan.commit_url(commit_sha)),
    )


def _may_have_opened_pull(previous: StepOutcome | None) -> bool:
    """Whether an earlier run may have opened a back-merge pull request: it waited on one,
    or failed, and a failure's outcome replaces the waiting one's."""
    return previous is not None and previous.status in (StepStatus.WAITING, StepStatus.FAILED)


def _may_have_left_branch(run: StepRun) -> bool:
    """Whether `backmerge/<tag>` may be there, with or without a pull request from it: an
    earlier run may have opened one, or an attempt before this one stopped with no outcome
    kept (a crash, an error tried again), maybe once it had pushed the branch."""
    return _may_have_opened_pull(run.previous) or run.context.attempt > 1


async def _list_pulls_from_branch(
    github: InstallationClient, plan: ReleasePlan
) -> list[dict[str, Any]]:
    """Every pull request from `backmerge/<tag>`, open or closed, whatever its base."""
    owner = plan.repository.split("/")[0]
    pulls: list[dict[str, Any]] = await github.get_json(
        f"/repos/{plan.repository}/pulls",
        {"head": f"{owner}:{plan.backmerge_branch}", "state": "all"},
    )
    return pulls


def _pulls_from_branch(
    github: InstallationClient, reads: Reads, plan: ReleasePlan
) -> asyncio.Task[list[dict[str, Any]]]:
    """`_list_pulls_from_branch` as one of the run's `reads`: listed once to choose the
    target, read again by the step."""
    key = ("back-merge pull requests", plan.repository, plan.backmerge_branch)
    return reads.start(key, lambda: _list_pulls_from_branch(github, plan))


async def _earlier_back_merge_pulls(run: StepRun, *, after_merging: bool) -> list[dict[str, Any]]:
    """The pull requests from `backmerge/<tag>` into the target, open or closed, when an
    earlier run or attempt may have opened one (`_may_have_left_branch`); none otherwise,
    without a request. The listing made to choose the target, or a new one `after_merging`:
    GitHub marks a pull request merged once its base holds its head, as this run's merge may
    have made it."""
    github, plan = run.github, run.plan
    if not _may_have_left_branch(run):
        return []
    if after_merging:
        pulls = await _list_pulls_from_branch(github, plan)
    else:
        pulls = await _pulls_from_branch(github, run.reads, plan)
    return [pull for pull in pulls if pull["base"]["ref"] == plan.back_merge_target]


async def _settle_back_merge_pulls(
    run: StepRun, outcome: StepOutcome, pulls: list[dict[str, Any]], head: str | None
) -> StepOutcome:
    """The target contains the merge commit, as `outcome` says; `pulls` are the back-merge
    pull requests (`_earlier_back_merge_pulls`) and `head` is where `backmerge/<tag>` points.

    One that people merged is named as what did the back-merge, when this run merged nothing
    (closed unmerged: someone merged back another way). One still open asks people to merge
    what is merged already: it is closed, with a comment saying where the hotfix went. The
    branch is deleted when all it holds is in the target: it is still at the merge commit
    (with a pull request, or without one: a run stopped between pushing the branch and
    opening it), or at the head of the merged pull request (GitHub may have deleted it on
    the merge)."""
    github, plan = run.github, run.plan
    merged_pull = next((pull for pull in pulls if pull.get("merged_at")), None)
    if merged_pull is not None and outcome.status is StepStatus.ALREADY_DONE:
        number = merged_pull["number"]
        outcome = StepOutcome(
            StepStatus.ALREADY_DONE,
            f"pull request #{number} merged into {plan.back_merge_target_words}",
            Link(f"#{number}", merged_pull["html_url"]),
        )
    merged_work = {plan.merge_sha}
    if merged_pull is not None:
        merged_work.add(merged_pull["head"]["sha"])
    branch_done_with = head in merged_work
    open_pull = next((pull for pull in pulls if pull["state"] == "open"), None)
    if open_pull is not None:
        number = open_pull["number"]
        kept = None if branch_done_with else head
        await _close_back_merge_pull(run, number, outcome, kept)
        outcome = dataclasses.replace(outcome, detail=f"{outcome.detail}; closed #{number}")
    if branch_done_with:
        await _delete_backmerge_branch(github, plan)
    return outcome


_CLOSING_MARKER = "<!-- hotfix-bot:back-merge-closed -->"


async def _close_back_merge_pull(
    run: StepRun, number: int, outcome: StepOutcome, kept_head: str | None
) -> None:
    """Close back-merge pull request `number`, commented once (a retry finds the comment);
    `kept_head` is where `backmerge/<tag>` points when people added commits to it, which
    keep it."""
    plan = run.plan
    by = " by hotfix-bot" if outcome.status is StepStatus.DONE else ""
    text = f"The back-merge is done: {outcome.detail}{by}; closing this pull request."
    if kept_head is not None:
        text += (
            f" `{plan.backmerge_branch}` is kept: it has commits besides the merge commit "
            f"(at `{kept_head[:7]}`)."
        )
    await comment_once(run.context, number, _CLOSING_MARKER, text)
    # The issues API closes a pull request as it closes an issue.
    await run.github.request(
        "PATCH", f"/repos/{plan.repository}/issues/{number}", body={"state": "closed"}
    )


async def _branch_head(github: InstallationClient, plan: ReleasePlan) -> str | None:
    """Where `backmerge/<tag>` points, None when there is no such branch."""
    ref_path = f"/repos/{plan.repository}/git/ref/heads/{path_part(plan.backmerge_branch)}"
    ref = await github.get_optional(ref_path)
    return None if ref is None else str(ref["object"]["sha"])


async def _delete_backmerge_branch(github: InstallationClient, plan: ReleasePlan) -> None:
    branch_ref = f"/repos/{plan.repository}/git/refs/heads/{path_part(plan.backmerge_branch)}"
    try:
        await github.request("DELETE", branch_ref)
    except RequestFailed as error:
        # Deleted already (by a run before, or by GitHub once it merged the pull request):
        # 422 "Reference does not exist", or a 404.
        status = error.response.status_code
        if status != 404 and (status != 422 or "does not exist" not in error_message(error)):
            raise


async def _back_merge_pull(
    run: StepRun,
    refused: _Refused,
    trees: _Trees | None,
    conflicts: list[str] | None,
    not_only_versions: list[str],
    settled: _Settled | None,
) -> StepOutcome:
    """Branch `backmerge/<tag>` at the merge commit (or at `settled`, the step's commit
    keeping the target's version files) and one pull request from it, its description
    rewritten when what it says has changed since (the back-merge of an earlier hotfix opened
    or merged meanwhile). `trees`, `conflicts`: as read for the refusal, None when GitHub
    could not list the trees whole. `not_only_versions`: the version files whose other
    changes kept a conflict in version files alone from being settled by keeping the
    target's."""
    github, plan = run.github, run.plan
    said = _Said(refused, conflicts, not_only_versions, settled)
    # An existing branch is kept as it is: people may have resolved the conflict on it.
    head = await _branch_head(github, plan)
    pushed = head is not None
    # Unless it lacks the hotfix: left by an earlier attempt, its pull request would not hold
    # it. The step's own settlement holds it; so may a branch its open pull request waits on,
    # which people rebased to resolve the conflict (a rebase drops the merge commit).
    if head is not None and head != plan.merge_sha and settled is None:
        own, _ = await _open_back_merge_pulls(github, plan)
        if own is None and not await _holds_merge_commit(github, plan, head):
            return _not_this_hotfixs_branch(plan, head)
    if refused.refusal is Refusal.PROTECTED:
        # People may not push to the protected target either: by hand, they open the pull
        # request hotfix-bot could not.
        with commands_if_it_fails(_open_pull_commands(plan, said, pushed)):
            pull = await _open_or_reuse_pull(run, said, trees, pushed)
    else:
        pull = await _open_or_reuse_pull(run, said, trees, pushed)
    # Asked once per pull request: a redelivery or re-run while it waits does not ask again.
    previous = run.previous
    already_asked = (
        previous is not None
        and previous.status is StepStatus.WAITING
        and previous.link is not None
        and previous.link.url == pull["html_url"]
    )
    if not already_asked and plan.author_to_ask is not None:
        await _ask_author_to_review(github, plan.repository, plan.author_to_ask, pull["number"])
    why = (
        f"{plan.back_merge_target_words} is protected"
        if refused.refusal is Refusal.PROTECTED
        else f"the hotfix conflicts with {plan.back_merge_target_words}"
    )
    branch = plan.backmerge_branch
    waits_for = (
        f"@{plan.author}" if plan.author_to_ask else f"review (nobody was asked: {AUTHOR_DELETED})"
    )
    detail = f"{why}: pull request #{pull['number']} from `{branch}` waits for {waits_for}"
    if plan.release_branch_passed_over is not None:
        detail += (
            "; the back-merge keeps to its pull request's base rather than the release "
            f"branch `{plan.release_branch_passed_over}`"
        )
    return StepOutcome(StepStatus.WAITING, detail, Link(f"#{pull['number']}", pull["html_url"]))


async def _holds_merge_commit(github: InstallationClient, plan: ReleasePlan, head: str) -> bool:
    compare = await github.get_json(f"/repos/{plan.repository}/compare/{plan.merge_sha}...{head}")
    return compare["status"] in ("ahead", "identical")


def _not_this_hotfixs_branch(plan: ReleasePlan, head: str) -> StepOutcome:
    """The outcome when `backmerge/<tag>` is at `head`, which does not hold the merge commit:
    people decide what of it to keep."""
    branch, sha = plan.backmerge_branch, plan.merge_sha
    return StepOutcome(
        StepStatus.FAILED,
        f"`{branch}` is there already, at `{head[:7]}`, and does not hold the merge commit "
        f"`{plan.short_sha}`: it is not this hotfix's back-merge",
        by_hand=(
            f"`{branch}` is left from an earlier attempt and does not hold this hotfix. Merge "
            f"the merge commit into it (`git fetch origin && git checkout {branch} && git merge "
            f"{sha} && git push origin {branch}`), or delete it if nothing on it is needed "
            f"(`git push origin --delete {branch}`), then re-run the `{CHECK_NAME}` check."
        ),
    )


async def _open_or_reuse_pull(
    run: StepRun, said: _Said, trees: _Trees | None, pushed: bool
) -> dict[str, Any]:
    """`backmerge/<tag>` pushed at the merge commit unless it is there (`pushed`), and the
    open pull request from it, opened now or found again."""
    github, plan = run.github, run.plan
    branch, target = plan.backmerge_branch, plan.back_merge_target
    if not pushed:
        await github.request(
            "POST",
            f"/repos/{plan.repository}/git/refs",
            body={"ref": f"refs/heads/{branch}", "sha": plan.merge_sha},
        )
    own, open_others = await _open_back_merge_pulls(github, plan)
    others = await _contained(github, plan, open_others)
    not_the_hotfixs: list[str] = []
    if others and trees is not None and said.conflicts:
        changed = await trees.changed_by_hotfix(github, plan)
        if changed is not None:
            not_the_hotfixs = [path for path in said.conflicts if path not in changed]
    body = _back_merge_body(plan, said, others, not_the_hotfixs)
    if own is None:
        created = await github.request(
            "POST",
            f"/repos/{plan.repository}/pulls",
            body={"title": _pull_title(plan), "head": branch, "base": target, "body": body},
        )
        pull: dict[str, Any] = created.json()
        return pull
    # Only a description as hotfix-bot wrote it, naming no other back-merge, gains the
    # ones opened since: people's edits are theirs.
    as_written = _back_merge_body(plan, said, [], [])
    if (own.get("body") or "") == as_written != body:
        # The issues API edits a pull request's description as it does an issue's.
        await github.request(
            "PATCH", f"/repos/{plan.repository}/issues/{own['number']}", body={"body": body}
        )
    return own


def _pull_title(plan: ReleasePlan) -> str:
    return f"Back-merge {plan.own_tag or f'hotfix #{plan.number}'} into {plan.back_merge_target}"


def _open_pull_commands(plan: ReleasePlan, said: _Said, pushed: bool) -> list[str]:
    """What opens the back-merge pull request by hand, as the step would have: the branch
    pushed at the merge commit unless it is there (`pushed`), and the pull request with the
    description the step writes."""
    branch, target = shlex.quote(plan.backmerge_branch), shlex.quote(plan.back_merge_target)
    push = [] if pushed else [f"git push origin {plan.merge_sha}:refs/heads/{branch}"]
    create = (
        f"gh pr create --base {target} --head {branch} --title {shlex.quote(_pull_title(plan))} "
        "--body-file -"
    )
    return [
        f"# {plan.back_merge_target} is protected: open the back-merge pull request into it",
        *push,
        with_text_on_stdin(create, _back_merge_body(plan, said, [], [])),
    ]


async def _open_back_merge_pulls(
    github: InstallationClient, plan: ReleasePlan
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The open pull request from `backmerge/<tag>` into the target, if any, and those from
    the other `backmerge/` branches of the repository into it, oldest first: one listing of
    the open pull requests into the target."""
    query = urlencode({"state": "open", "base": plan.back_merge_target})
    pulls = await github.get_all(f"/repos/{plan.repository}/pulls?{query}")
    from_here = [
        pull
        for pull in pulls
        if (pull["head"].get("repo") or {}).get("id") == pull["base"]["repo"]["id"]
    ]
    own = next((pull for pull in from_here if pull["head"]["ref"] == plan.backmerge_branch), None)
    others = sorted(
        (
            pull
            for pull in from_here
            if pull["head"]["ref"].startswith(BACKMERGE_PREFIX)
            and pull["head"]["ref"] != plan.backmerge_branch
        ),
        key=lambda pull: int(pull["number"]),
    )
    return own, others


async def _contained(
    github: InstallationClient, plan: ReleasePlan, pulls: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Of `pulls`, those whose head the merge commit contains: the back-merges of hotfixes
    merged before this one (one of a later hotfix holds this one's changes instead). One
    compare each, side by side; none without `pulls`. A branch people added commits to is
    no longer contained, and is left out."""
    compared = await asyncio.gather(
        *(
            github.get_json(
                f"/repos/{plan.repository}/compare/{pull['head']['sha']}...{plan.merge_sha}"
            )
            for pull in pulls
        )
    )
    return [
        pull
        for pull, compare in zip(pulls, compared, strict=True)
        if compare["status"] in ("ahead", "identical")
    ]


async def _ask_author_to_review(
    github: InstallationClient, repository: str, author: str, number: int
) -> None:
    try:
        await github.request(
            "POST",
            f"/repos/{repository}/pulls/{number}/requested_reviewers",
            body={"reviewers": [author]},
        )
    except RequestFailed as error:
        # GitHub refuses some people as reviewers (422: not a collaborator, the pull
        # request's author; 403: not allowed to this App). The pull request is open and its
        # body names them, so the step still waits on it; a rate limit is retried.
        if error.response.status_code not in (403, 422) or classify(error).transient:
            raise


@dataclass(frozen=True, slots=True)
class _Said:
    """What the back-merge pull request's description says of why it is there: GitHub's
    refusal, the conflicting files (None when not known), the version files whose other
    changes kept their conflict from being settled, and the settlement the branch holds."""

    refused: _Refused
    conflicts: list[str] | None
    not_only_versions: list[str]
    settled: _Settled | None


def _back_merge_body(
    plan: ReleasePlan, said: _Said, others: list[dict[str, Any]], not_the_hotfixs: list[str]
) -> str:
    """`others`: the back-merge pull requests of earlier hotfixes still open into the target;
    `not_the_hotfixs`: the conflicting paths the hotfix did not change."""
    target = plan.back_merge_target
    what = (
        f"This merges hotfix #{plan.number} ({plan.title}), merge commit `{plan.short_sha}`, "
        f"back into `{target}`."
    )
    waiting = _others_waiting(others, not_the_hotfixs)
    review = f"{_addressed(plan)}please review and merge it."
    if said.refused.refusal is Refusal.CONFLICT:
        why = (
            f"**Why a pull request:** the hotfix conflicts with `{target}`, so GitHub "
            "could not merge it automatically."
        )
        return "\n\n".join([what, why, *_resolving(plan, said, waiting)])
    message = said.refused.message
    quoted = f' (GitHub: "{message}")' if message else ""
    why = (
        f"**Why a pull request:** `{target}` is protected{quoted}, so hotfix-bot may not "
        "merge into it directly."
    )
    if said.settled is not None:
        commit = said.settled.commit
        files = join_words([f"`{path}`" for path in said.settled.paths])
        settled = (
            f"The hotfix's version conflicts with `{target}`'s own: hotfix-bot kept `{target}`'s "
            f"version in {files}, in [`{commit[:7]}`]({plan.commit_url(commit)}) on "
            f"`{plan.backmerge_branch}`, so this pull request merges without a conflict."
        )
        return "\n\n".join([what, why, settled, *waiting, review])
    if said.conflicts:  # conflicts besides: people resolve them before they may merge
        return "\n\n".join([what, why, *_resolving(plan, said, waiting)])
    return "\n\n".join([what, why, *waiting, review])


def _addressed(plan: ReleasePlan) -> str:
    """Whom the description asks to finish the back-merge: `@dev, `, the hotfix's author; when
    their account was deleted, it says so and asks whoever reads it."""
    if plan.author_to_ask is None:
        return f"Nobody was asked to review: {AUTHOR_DELETED}. Whoever knows the change, "
    return f"@{plan.author}, "


def _resolving(plan: ReleasePlan, said: _Said, waiting: list[str]) -> list[str]:
    """The paragraphs that list the conflicting files and tell people how to resolve them
    on `backmerge/<tag>`, `waiting` among them."""
    target, branch, conflicts = plan.back_merge_target, plan.backmerge_branch, said.conflicts
    listing = (
        "Files changed on both sides since they diverged (the conflicts are in these):\n\n"
        + _path_list(conflicts)
        if conflicts
        else "GitHub did not say which files conflict."
    )
    not_settled = (
        [
            f"hotfix-bot settles a conflict in version files alone by keeping `{target}`'s, "
            f"but that would drop more than the version: "
            f"{join_words([f'`{path}`' for path in said.not_only_versions])} changed beyond "
            f"{'its version' if len(said.not_only_versions) == 1 else 'their versions'} "
            "on the hotfix's side."
        ]
        if said.not_only_versions
        else []
    )
    # Both sides of a version file cannot be kept: the hotfix's version is the production
    # branch's, and taken into the target it would set that branch's version back. The same
    # goes for a lockfile the version-bump fix sets with it.
    version_files = version_files_to_read(plan.config)
    versioned = {*version_files, *(lock for path in version_files for lock in lockfiles(path))}
    versions = [path for path in conflicts or [] if path in versioned]
    not_the_hotfixs_version = f" {plan.version}" if plan.version is not None else ""
    keep_version = (
        f" (but `{target}`'s own version in {join_words([f'`{path}`' for path in versions])}, "
        f"not the hotfix's{not_the_hotfixs_version})"
        if versions
        else ""
    )
    return [
        listing,
        *not_settled,
        *waiting,
        f"{_addressed(plan)}please resolve the conflicts on `{branch}`, keeping both the "
        f"hotfix and the work on `{target}`{keep_version}, then merge:",
        "```sh\n"
        f"git fetch origin\ngit checkout {branch}\ngit merge origin/{target}\n"
        f"# resolve, commit\ngit push origin {branch}\n```",
    ]


# GitHub takes a pull request's body up to 65,536 characters, and branches long apart may
# both have changed thousands of files: the merge in a clone lists them all.
_PATHS_LISTED = 100


def _path_list(paths: list[str]) -> str:
    """`paths` as a Markdown list, the first `_PATHS_LISTED` of them."""
    lines = [f"- `{path}`" for path in paths[:_PATHS_LISTED]]
    if len(paths) > _PATHS_LISTED:
        lines.append(f"- and {len(paths) - _PATHS_LISTED} more, which `git merge` below lists")
    return "\n".join(lines)


def _others_waiting(others: list[dict[str, Any]], not_the_hotfixs: list[str]) -> list[str]:
    """The paragraphs naming the back-merge pull requests of earlier hotfixes still open
    (`others`), whose changes the merge commit holds too, and the conflicts that are theirs
    (`not_the_hotfixs`); none when there are none."""
    if not others:
        return []
    one = len(others) == 1
    named = join_words([f"`{pull['head']['ref']}` (#{pull['number']})" for pull in others])
    numbers = join_words([f"#{pull['number']}" for pull in others])
    paragraphs = [
        f"**{'Another back-merge is' if one else 'Other back-merges are'} still open:** "
        f"{named}. Merge {'it' if one else 'them'} first: {'its' if one else 'their'} changes "
        "are in this branch too, so this pull request may then have nothing left to resolve."
    ]
    if not_the_hotfixs:
        named_files = [f"`{path}`" for path in not_the_hotfixs[:_PATHS_LISTED]]
        if len(not_the_hotfixs) > _PATHS_LISTED:
            named_files.append(f"{len(not_the_hotfixs) - _PATHS_LISTED} more files")
        files = join_words(named_files, "or")
        paragraphs.append(
            f"This hotfix did not change {files}: "
            f"{'that conflict comes' if len(not_the_hotfixs) == 1 else 'those conflicts come'} "
            f"from the earlier {'hotfix' if one else 'hotfixes'} still waiting in {numbers}, "
            "not from this one."
        )
    return paragraphs


def back_merge_commands(plan: ReleasePlan) -> list[str]:
    """The merge into the target in a clone. A hotfix's version nearly always conflicts with
    the target's own, so a conflict in version files alone is settled as the step settles it:
    the target keeps its version (`-X ours` takes the target's side of the conflicting lines
    only, so the hotfix's other changes to those files stay). Any other conflict is left in
    the clone, listed, for people to resolve."""
    target = shlex.quote(plan.back_merge_target)
    message = shlex.quote(plan.backmerge_message)
    version_files = " ".join(
        f"-e {shlex.quote(path)}" for path in version_files_to_read(plan.config)
    )
    return [
        f"git checkout {target}",
        f"git pull origin {target}",
        f"git merge --no-ff {plan.merge_sha} -m {message} ||",
        f"  # Version files alone in conflict: keep {target}'s version of them",
        f"  {{ ! git diff --name-only --diff-filter=U | grep -vxF {version_files} &&",
        f"    git merge --abort && git merge --no-ff -X ours {plan.merge_sha} -m {message}; }}",
        f"git push origin {target}",
    ]


def _development_ref(plan: ReleasePlan) -> Look:
    return Look(f"/repos/{plan.repository}/git/ref/heads/{path_part(plan.development)}")


def back_merge_looks(plan: ReleasePlan) -> Sequence[Look]:
    # Only whether the development branch exists is read, which people do not change in the
    # seconds of a run (its commits are not read). Started before the release branches are
    # listed, so also when one of them turns out to be the target.
    return (_development_ref(plan),) if plan.config.workflow == "gitflow" else ()


STEP = Step(
    "back-merge",
    "Back-merge",
    back_merge,
    back_merge_commands,
    # As gitflow finishes a hotfix: merged back once the tag step has ended, so that GitHub
    # has the tag first; whatever the tag's outcome, as the merge uses nothing it made.
    needs=(tag_step.STEP,),
    looks=back_merge_looks,
)
