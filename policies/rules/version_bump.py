"""`version-bump`: the head carries the base's version with the patch number + 1.

Every version file on the base must be on the head with that version (a file the hotfix
adds is not a version file), and the release tag for it must not exist yet. Versions are
SemVer 2.0: MAJOR.MINOR.PATCH[-pre] wants MAJOR.MINOR.(PATCH+1), a pre-release of which
passes only with `version.allow_prerelease`, and the tag is made from the head's version as
written (docs/ADMIN.md, "Pre-release versions").
"""

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from policies.config import HotfixConfig
from policies.facts import PullRequestFacts
from policies.files import FileText
from policies.result import RuleResult, Status
from policies.rule import Lookups, Rule
from policies.rules import branch_name
from policies.versions import (
    Version,
    VersionFileError,
    VersionKeptElsewhere,
    declared_version,
    head_version,
    holds_only_the_version,
    lockfiles,
    next_patch,
    read_version,
    tag_name,
    tag_to_check,
    version_files_to_read,
    version_prefix,
    version_tables,
)
from policies.wording import fence_for, join_words

NAME = "version-bump"

# A push to the base branch sends no pull request event: a fix made there needs a re-run.
_RERUN = "then re-run this check"


@dataclass(frozen=True)
class _Edit:
    """What sets one version file on the head branch to `version`: commands run from the
    repository's root, then what to change by hand (a TOML table's version, which no
    command sets)."""

    path: str
    version: Version
    commands: tuple[str, ...] = ()
    by_hand: str = ""
    # Run once the file is changed by hand (Cargo's or uv's lockfile brought up to the new
    # version).
    then: tuple[str, ...] = ()
    # Files the commands update too where they exist (npm's, Cargo's and uv's lockfiles):
    # committed with the version file when git tracks them, so that the pushed files agree.
    lockfiles: tuple[str, ...] = ()
    from_base: bool = False  # the commands take the file from the base branch


@dataclass(frozen=True)
class _Problem:
    what: str
    fix: str = ""  # in words: what to do elsewhere than in the head's version files
    edits: tuple[_Edit, ...] = ()  # of the head's version files, pushed in one commit


@dataclass(frozen=True)
class _Change:
    """The version files on two sides: a pull request's base and head, or the commits before
    and after a push."""

    base: str  # how the text names each side
    head: str
    base_files: Mapping[str, FileText]
    head_files: Mapping[str, FileText]
    number: int = 0  # the pull request's; 0 for a push
    # owner/name of the fork the head branch is in ("" once the fork is deleted); None for a
    # branch of the repository itself
    fork: str | None = None
    clone_url: str = ""  # where a fork's commands fetch the base branch from
    # The branch `branch-name`'s fix moves the work to, when it does: followed first, it
    # leaves the head branch behind, so the bump is committed and pushed there.
    moved_to: str | None = None
    # Why the bump is made on the head brought up to date with the base, in words; "" when
    # it is not. The base may have raised its version since the branch was cut (another
    # hotfix of the same version merged first, or the base caught up with the latest
    # release), and a bump from the version the branch was cut at would conflict with that
    # at the merge. Only the production branch is merged in (`_merges_base`).
    merged_first: str = ""


def _describe(read: Version | VersionFileError | None) -> str:
    if read is None:
        return "missing"
    return str(read) if isinstance(read, Version) else "unreadable"


def _set_version(change: _Change, path: str, version: Version) -> _Edit:
    """What sets `path`'s version on the head, in the tables the version is read from there
    (or on the base, when the head's file cannot say)."""
    file = PurePosixPath(path)
    if file.name == "package.json":
        # --prefix makes npm edit that directory's package.json and nothing else; run inside
        # a workspace's member, npm would install the whole workspace too.
        directory = str(file.parent)
        prefix = "" if directory == "." else f"--prefix {shlex.quote(directory)} "
        return _Edit(
            path,
            version,
            (f"npm {prefix}version {version} --no-git-tag-version",),
            lockfiles=lockfiles(path),
        )
    tables = version_tables(path, change.head_files.get(path)) or version_tables(
        path, change.base_files.get(path)
    )
    if not tables:
        # Written as the base writes it: a `v` there stays (the tag is made from the version).
        written = version_prefix(path, change.base_files.get(path)) + str(version)
        return _Edit(path, version, (f'echo "{written}" > {shlex.quote(path)}',))
    under = join_words([f"`[{table}]`" for table in tables])
    by_hand = f'set `version = "{version}"` under {under} in `{path}`'
    at_root = file.parent == PurePosixPath(".")
    if file.name == "Cargo.toml":
        # Cargo.lock records the package at its version: `cargo build --locked` refuses a
        # stale one.
        relock = "cargo update --workspace"
        if not at_root:
            relock += f" --manifest-path {shlex.quote(path)}"
    elif "project" in tables:
        # uv.lock records a [project] at its version: `uv lock --locked` and `uv sync
        # --locked` refuse a stale one. A workspace's member locks the workspace.
        relock = "uv lock"
        if not at_root:
            relock += f" --project {shlex.quote(str(file.parent))}"
    else:
        return _Edit(path, version, by_hand=by_hand)
    # Only where git tracks it: in a project that keeps none, cargo or uv would resolve (and
    # read the package index for) a whole new lockfile to leave behind, untracked.
    tracked = f"$(git ls-files {_quoted(lockfiles(path))})"
    return _Edit(
        path,
        version,
        by_hand=by_hand,
        then=(f'{{ [ -z "{tracked}" ] || {relock}; }}',),
        lockfiles=lockfiles(path),
    )


def _restore(change: _Change, path: str, version: Version) -> _Edit:
    """What brings back `path`, deleted on the head, holding `version`: a file that holds
    more than the version comes back from the base first."""
    set_version = _set_version(change, path, version)
    if holds_only_the_version(path):
        return set_version
    checkout = f"git checkout {_base(change)[1]} -- {shlex.quote(path)}"
    return replace(set_version, commands=(checkout, *set_version.commands), from_base=True)


def _base(change: _Change) -> tuple[list[str], str]:
    """The commands that fetch the base branch, run once the branch to bump is checked out,
    and the revision that names the base then. In a clone of a fork, `origin` is the fork,
    whose copy of the base branch may be behind this repository's: a fork's commands fetch
    it from this repository (gh's checkout fetches too, so they come after it)."""
    if change.fork is None:
        return [], shlex.quote(f"origin/{change.base}")
    fetch = f"git fetch {shlex.quote(change.clone_url)} {shlex.quote(change.base)}"
    return [fetch], "FETCH_HEAD"


def _shell_block(commands: list[str]) -> str:
    """`commands` as a Markdown block to copy and paste, each run only if the one before
    succeeded: pasted one per line, the edits and the commit would go on after a checkout
    that failed, onto whatever branch is checked out."""
    text = " &&\n".join(commands)
    fence = fence_for(text, 3)
    return f"{fence}sh\n{text}\n{fence}"


def _quoted(paths: Sequence[str]) -> str:
    return " ".join(dict.fromkeys(shlex.quote(path) for path in paths))


def _check_out_and_push(change: _Change) -> tuple[list[str], str, str]:
    """The commands that check the branch to bump out as it is on GitHub and push it back,
    and where the push goes, in words to end the sentence that introduces them."""
    fork = f"the fork {change.fork}" if change.fork else "the fork"
    if change.fork is None or change.moved_to is not None:
        # The branch may have moved on on GitHub since it was last checked out here, and a
        # commit on the older tip could not be pushed. Where the copy here has commits GitHub
        # does not have, --ff-only stops (`checkout -B` would drop them). A fork's branch
        # moved by `branch-name`'s fix is in the clone of the fork it was renamed in, whose
        # `origin` is the fork.
        branch = change.moved_to or change.head
        upstream = shlex.quote(f"origin/{branch}")
        checkout = [f"git checkout {shlex.quote(branch)}", f"git merge --ff-only {upstream}"]
        where = "" if change.fork is None else f" to {fork}, in the clone it was renamed in"
        return checkout, f"git push origin {shlex.quote(branch)}", where
    # No remote of a clone of this repository holds the fork's branch: gh fetches it from the
    # pull request (fast-forwarding a copy checked out before, or stopping as above) and has
    # `git push` push it to the fork.
    where = (
        f" to {fork}. In a clone of this repository, `gh pr checkout` has `git push` push "
        "there if the pull request allows edits by maintainers; the fork's owner can run "
        "these in a clone of the fork too"
    )
    return [f"gh pr checkout {change.number}"], "git push", where


def _commit_and_push(change: _Change, edits: Sequence[_Edit], lead: str = "Set") -> str:
    """`edits` made on the head branch, committed once and pushed: only what is pushed
    changes the pull request. The commands are a block to paste, cut in two around what is
    changed by hand; `lead` begins the sentence that introduces them."""
    version = edits[0].version
    checkout, push, where = _check_out_and_push(change)
    on = change.head
    if change.moved_to is not None:
        on = f"{change.moved_to} once `branch-name`'s fix has moved the work there"
    fetch_base, base = _base(change)
    if change.merged_first or any(edit.from_base for edit in edits):
        checkout += fetch_base
    intro = f"{lead} the version to {version} on {on}, commit it and push it{where}:"
    if change.merged_first:
        # Changed the same way on both sides, the version files merge cleanly.
        checkout.append(f"git merge --no-edit {base}")
        intro = f"{change.merged_first} {intro}"
    start = [
        "git fetch origin",
        *checkout,
        *(command for edit in edits for command in edit.commands),
    ]
    add = f"git add {_quoted([edit.path for edit in edits])}"
    lockfiles = [lockfile for edit in edits for lockfile in edit.lockfiles]
    if lockfiles:  # git add refuses a path that is not there: ls-files names those it tracks
        add += f" $(git ls-files {_quoted(lockfiles)})"
    then = dict.fromkeys(command for edit in edits for command in edit.then)
    finish = [*then, add, f'git commit -m "Bump the version to {version}"', push]
    by_hand = join_words([edit.by_hand for edit in edits if edit.by_hand])
    if not by_hand:
        return f"{intro}\n\n{_shell_block(start + finish)}"
    return f"{intro}\n\n{_shell_block(start)}\n\nThen {by_hand}, and:\n\n{_shell_block(finish)}"


def _is_next_patch(version: Version, current: Version, allow_prerelease: bool) -> bool:
    """`version` is what a hotfix of `current` may ship: its next patch release (build
    metadata aside), or a pre-release of that when pre-releases are allowed (any of which is
    above `current`, whose patch number is lower)."""
    target = next_patch(current)
    if version.prerelease is None:
        return version == target  # SemVer precedence ignores build metadata
    return allow_prerelease and version.finalize_version() == target


def _wanted(current: Version, allow_prerelease: bool) -> str:
    """The versions `_is_next_patch` accepts, in words."""
    target = next_patch(current)
    return f"{target} or a pre-release of it" if allow_prerelease else str(target)


def _disagreement(ref: str, versions: dict[str, Version], fix: str) -> _Problem | None:
    """The version files on `ref` do not all hold the same version, as written."""
    if len({str(version) for version in versions.values()}) < 2:
        return None
    listing = join_words([f"{path} {version}" for path, version in versions.items()])
    return _Problem(f"The version files on {ref} disagree: {listing}", fix)


def _result(
    change: _Change,
    status: Status,
    found: str,
    expected: str,
    problems: list[_Problem],
    *,
    then: str = "",
    after: str = "",
) -> RuleResult:
    """A failing result: the problems' fixes in words (`then` ending them), their edits of
    the head as one commit pushed, and `after` in a paragraph of its own."""
    summary = problems[0].what
    if len(problems) > 1:
        summary += f" (and {len(problems) - 1} more)"
    words = "; ".join(
        [problem.fix for problem in problems if problem.fix] + ([then] if then else [])
    )
    edits = [edit for problem in problems for edit in problem.edits]
    pushed = _commit_and_push(change, edits) if edits else ""
    how_to_fix = "\n\n".join(part for part in (words, pushed, after) if part)
    return RuleResult(NAME, status, found, expected, summary, how_to_fix)


def _head_problems(
    change: _Change,
    on_base: list[str],
    head_reads: dict[str, Version | VersionFileError | None],
    current: Version,
    allow_prerelease: bool,
) -> tuple[list[_Problem], str]:
    """What is wrong with the head's version files, and a note when a pre-release would pass
    if pre-releases were allowed."""
    head, target, wanted = change.head, next_patch(current), _wanted(current, allow_prerelease)
    problems: list[_Problem] = []
    note = ""
    head_versions: dict[str, Version] = {}
    for path in on_base:
        read = head_reads[path]
        edit = _set_version(change, path, target)
        if read is None:
            problems.append(
                _Problem(f"{path} is missing on {head}", edits=(_restore(change, path, target),))
            )
        elif isinstance(read, VersionFileError):
            problems.append(_Problem(str(read), edits=(edit,)))
        elif not _is_next_patch(read, current, allow_prerelease):
            problems.append(
                _Problem(f"{path} is {read} on {head}, expected {wanted}", edits=(edit,))
            )
            if _is_next_patch(read, current, allow_prerelease=True):
                note = (
                    f"To ship the pre-release {read} instead, set `version.allow_prerelease: "
                    f"true` in `.github/hotfix.yml` on {change.base}"
                )
        else:
            head_versions[path] = read
    disagreement = _disagreement(
        head, head_versions, "Write the same version in each: the tag is made from it"
    )
    if not problems and disagreement:
        problems.append(disagreement)
    return problems, note


def _add_version_file(config: HotfixConfig, change: _Change) -> str:
    """How to give the base a version file: the files `version.files` names, or a `VERSION`
    file holding the version before the head's when the head has one to go by."""
    if config.version.files:
        return (
            f"Add {join_words(config.version.files)} to {change.base}, holding the current "
            "version, or set `version.files` in `.github/hotfix.yml` to the files that hold it"
        )
    declared = declared_version(config, change.head_files)
    if declared is not None and declared.patch > 0:
        current = Version(declared.major, declared.minor, declared.patch - 1)
        command = f'`echo "{current}" > VERSION` if {declared}, on {change.head}, is its next patch'
    else:
        command = '`echo "<current version>" > VERSION`'
    return (
        f"Add a `VERSION` file holding the current version to {change.base} ({command}), "
        "or set `version.files` in `.github/hotfix.yml` to the file that holds it"
    )


def _released(
    config: HotfixConfig,
    change: _Change,
    on_base: list[str],
    current: Version,
    shipped: Version,
    existing_tags: frozenset[str],
) -> _Problem | None:
    """The base's next patch, or the version the head ships, was released already: the base
    is behind the latest release. The tags are those `needs` had looked up."""
    catch_up = (
        f"Bring the version files on {change.base} up to the latest release first, then bump "
        f"its patch number here (if {change.head} holds that version already, {_RERUN})"
    )
    target = next_patch(current)
    target_tag = tag_name(config, str(target))
    if target_tag in existing_tags:
        what = (
            f"The tag {target_tag} already exists, so {change.base} ({current}) is behind "
            "the latest release"
        )
        if shipped.prerelease is not None:
            what += f" ({shipped} is a pre-release of {target}, so below it)"
        elif str(shipped) != str(target):
            what += f" ({shipped} is {target}: build metadata does not make another version)"
        return _Problem(what, _catch_up_with(config, change, on_base, current))
    tag = tag_name(config, str(shipped))
    if tag not in existing_tags:
        return None
    if shipped.prerelease is not None:
        next_prerelease = shipped.bump_prerelease()
        edits = [_set_version(change, path, next_prerelease) for path in on_base]
        lead = "Or ship the next pre-release instead: set"
        catch_up += f"\n\n{_commit_and_push(change, edits, lead)}"
    return _Problem(f"The tag {tag} already exists, so {shipped} was released before", catch_up)


def _merges_base(config: HotfixConfig, change: _Change) -> bool:
    """Whether the commands may merge the base into the head: only the production branch
    is, since a hotfix aimed at another base by mistake (`target-branch` fails) would take
    that branch's unreleased work along."""
    return change.base == config.branches.production


def _merging_first(change: _Change, why: str, whom: str, then: str = "") -> _Change:
    """`change` with its commands merging the base into the head (`whom`) before the bump,
    saying so after `why` (a clause ending in `,` or `:`), and `then`."""
    said = (
        f"{why} the commands bring {whom} up to date with {change.base} first, so that the "
        f"bump merges cleanly.{then}"
    )
    return replace(change, merged_first=said)


def _catch_up_with(
    config: HotfixConfig, change: _Change, on_base: list[str], current: Version
) -> str:
    """How to follow the release of `current`'s next patch, which the base is behind: the
    base's version files set to it, then the head's to its next patch, by name and number.
    A later release than the one looked up is not known, so the words allow for one."""
    released = next_patch(current)
    tag, after = tag_name(config, str(released)), next_patch(released)
    base, head = change.base, change.moved_to or change.head
    catch_up = (
        f"Set {join_words(on_base)} on {base} to {released}, the version tagged {tag}, "
        f"first (if a later version was released, use that one, and its next patch instead of "
        f"{after})"
    )
    heads = [read_version(path, change.head_files.get(path)) for path in on_base]
    if all(isinstance(read, Version) and str(read) == str(after) for read in heads):
        holds = f"{catch_up}; {head} holds {after} already"
        if not _merges_base(config, change):
            return f"{holds}, so {_RERUN}"
        # The base's new version and the head's each replace the one the branch was cut at.
        return (
            f"{holds}, but GitHub would then find {join_words(on_base)} conflicting with "
            f"{base}'s: merge {base} into {head}, keep {after} there, commit the merge and "
            "push it (the push runs this check again)"
        )
    if _merges_base(config, change):
        # Bumped by the hotfix to the version the base is set to, the head's files change as
        # the base's do; left as the branch was cut, they take the base's.
        changed = [
            path
            for path, read in zip(on_base, heads, strict=True)
            if isinstance(read, Version) and str(read) != str(current)
        ]
        # git commits a merge only once each conflicting file is added back.
        conflict = (
            f" If {base} then holds another version than {head} in {join_words(changed)} (a "
            f"later release, say), the merge stops on a conflict there: keep {base}'s version "
            f"(`git checkout --theirs -- {_quoted(changed)} && git add {_quoted(changed)} && "
            "git commit --no-edit`), and run the commands after the merge."
            if changed
            else ""
        )
        change = _merging_first(change, f"Once {base} holds it,", head, conflict)
    edits = [
        (_set_version if isinstance(read, Version) else _restore)(change, path, after)
        for path, read in zip(on_base, heads, strict=True)
    ]
    return f"{catch_up}.\n\n{_commit_and_push(change, edits, 'Then set')}"


def check(config: HotfixConfig, facts: PullRequestFacts) -> RuleResult:
    """As a rollback is judged: `branch-name` does not judge one, so its branch stays."""
    return _judge(config, _pull_change(facts), facts.existing_tags)


def check_hotfix(config: HotfixConfig, facts: PullRequestFacts) -> RuleResult:
    """As a hotfix is judged, after `branch-name`: its fix's commands bump the branch that
    rule's fix moves the work to, if it does, so that both followed in order lead to green."""
    change = replace(_pull_change(facts), moved_to=branch_name.moved_to(config, facts))
    return _judge(config, change, facts.existing_tags)


def _pull_change(facts: PullRequestFacts) -> _Change:
    return _Change(
        facts.base_ref,
        facts.head_ref,
        facts.base_version_files,
        facts.head_version_files,
        facts.number,
        None if facts.head_is_same_repo else facts.head_repo_full_name,
        facts.clone_url,
    )


def bumped_version(
    config: HotfixConfig, base_files: Mapping[str, FileText], head_files: Mapping[str, FileText]
) -> Version | None:
    """The version `head_files` ship when they hold `base_files`' next patch as this rule
    wants it, the tag aside; None when they do not. A push to the trunk is a hotfix when
    this finds a version (docs/BEHAVIOUR.md, "Trunk-based hotfixes")."""
    result = _judge(config, _Change("before", "after", base_files, head_files), frozenset())
    if result.status is not Status.PASS:
        return None
    return head_version(config, base_files, head_files)


def _judge(config: HotfixConfig, change: _Change, existing_tags: frozenset[str]) -> RuleResult:
    base, head = change.base, change.head
    paths = version_files_to_read(config)
    base_reads = {path: read_version(path, change.base_files.get(path)) for path in paths}
    head_reads = {path: read_version(path, change.head_files.get(path)) for path in paths}
    seen = [path for path in paths if base_reads[path] is not None or head_reads[path] is not None]
    found = "; ".join(
        f"{path}: {_describe(base_reads[path])} on {base}, {_describe(head_reads[path])} on {head}"
        for path in seen
    )

    # The version files are those on the base (docs/BEHAVIOUR.md, 'Rules'): one the hotfix
    # adds is not one.
    on_base = [path for path in paths if base_reads[path] is not None]
    if not on_base:
        return _result(
            change,
            Status.FAIL,
            found or f"no version file on {base}",
            f"a version file on {base}: {' or '.join(paths)}",
            [
                _Problem(
                    f"No version file on {base} (looked for {', '.join(paths)})",
                    _add_version_file(config, change),
                )
            ],
            then=_RERUN,
        )

    problems: list[_Problem] = []
    if config.version.files:
        problems += [
            _Problem(
                f"{path} is listed in version.files but is not on {base}",
                f"Add {path} to {base} or remove it from version.files",
            )
            for path in paths
            if base_reads[path] is None
        ]
    base_versions: dict[str, Version] = {}
    for path in on_base:
        read = base_reads[path]
        if isinstance(read, Version):
            base_versions[path] = read
        else:
            fix = f"Fix {path} on {base}"
            if isinstance(read, VersionKeptElsewhere):
                fix = (
                    f"Leave {path} as it is and set `version.files` in `.github/hotfix.yml` on "
                    f"{base}, where the config is read from"
                )
            problems.append(_Problem(f"On {base}, {read}", fix))
    if problems:  # on_base is not empty, so no problem means base_versions is not either
        return _result(
            change,
            Status.FAIL,
            found,
            f"a readable version in every version file on {base}",
            problems,
            then=_RERUN,
        )

    base_disagree = _disagreement(base, base_versions, f"Make them agree on {base}")
    if base_disagree:
        return _result(
            change,
            Status.FAIL,
            found,
            f"one version in all version files on {base}",
            [base_disagree],
            then=_RERUN,
        )

    current = next(iter(base_versions.values()))
    target = next_patch(current)
    allow_prerelease = config.version.allow_prerelease
    wanted = _wanted(current, allow_prerelease)
    # The tag is made from the head's version as written; until the head has an acceptable
    # one, the expectation names the next patch's.
    shipped = head_version(config, change.base_files, change.head_files)
    if shipped is None or not _is_next_patch(shipped, current, allow_prerelease):
        shipped = target
    tag = tag_name(config, str(shipped))
    tags = join_words(list(dict.fromkeys([tag, tag_name(config, str(target))])), "or")
    expected = f"{wanted} ({current} + 1 patch) in {', '.join(on_base)}, and no tag {tags} yet"
    released = _released(config, change, on_base, current, shipped, existing_tags)
    heads = [head_reads[path] for path in on_base]
    behind = any(isinstance(read, Version) and read <= current for read in heads)
    if behind and _merges_base(config, change):
        behind_base = f"{change.moved_to or head} does not go past {base}'s version, {current}:"
        change = _merging_first(change, behind_base, "it")
    problems, note = _head_problems(change, on_base, head_reads, current, allow_prerelease)
    if released is not None:  # setting the head's files as asked would not help
        problems, note = [released], ""
    if problems:
        return _result(change, Status.FAIL, found, expected, problems, after=note)
    return RuleResult(
        NAME,
        Status.PASS,
        found,
        expected,
        f"Version {current} becomes {shipped} in {join_words(on_base)}; tag {tag} is free",
    )


def needs(config: HotfixConfig, facts: PullRequestFacts) -> Lookups:
    """The version files on both sides, then the tag the head's version would be released as;
    and when the head holds anything but the base's next patch as a plain X.Y.Z, the tag of
    that next patch too. A pre-release or build of it would ship a version released already
    if that tag exists, and for a version this rule refuses, the fixes would ask for it: in
    both cases the base is behind."""
    base_files, head_files = facts.base_version_files, facts.head_version_files
    tags = [tag_to_check(config, base_files, head_files)]
    current = declared_version(config, base_files)
    if current is not None:
        target = next_patch(current)
        shipped = head_version(config, base_files, head_files)
        # Compared as written: SemVer equality ignores build metadata.
        if shipped is None or str(shipped) != str(target):
            tags.append(tag_name(config, str(target)))
    files = tuple(version_files_to_read(config))
    return Lookups(version_files=files, tags=tuple(tag for tag in tags if tag))


RULE = Rule(NAME, check_hotfix, needs)
ROLLBACK_RULE = Rule(NAME, check, needs)
