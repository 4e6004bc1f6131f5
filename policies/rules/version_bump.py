"""`version-bump`: the head carries the base's version with the patch number + 1.

Every version file on the base must be on the head with that version (a file the hotfix
adds is not a version file), and the release tag for it must not exist yet.
"""

import shlex
from dataclasses import dataclass
from pathlib import PurePosixPath

from policies.config import HotfixConfig
from policies.facts import PullRequestFacts
from policies.result import RuleResult, Status
from policies.rule import Lookups, Rule
from policies.versions import (
    Version,
    VersionFileError,
    read_version,
    tag_name,
    tag_to_check,
    version_files_to_read,
)
from policies.wording import join_words

NAME = "version-bump"


@dataclass(frozen=True)
class _Problem:
    what: str
    fix: str


def _describe(read: Version | VersionFileError | None) -> str:
    if read is None:
        return "missing"
    return read.full if isinstance(read, Version) else "unreadable"


def _set_version_command(path: str, version: Version) -> str:
    name = PurePosixPath(path).name
    if name == "package.json":
        return f"`npm version {version} --no-git-tag-version`"
    if name == "pyproject.toml":
        return f'set `version = "{version}"` in `{path}`'
    if name == "Cargo.toml":
        return f'set `version = "{version}"` under `[package]` in `{path}`'
    return f'`echo "{version}" > {shlex.quote(path)}`'


def _result(status: Status, found: str, expected: str, problems: list[_Problem]) -> RuleResult:
    summary = problems[0].what
    if len(problems) > 1:
        summary += f" (and {len(problems) - 1} more)"
    return RuleResult(
        NAME, status, found, expected, summary, "; ".join(problem.fix for problem in problems)
    )


def check(config: HotfixConfig, facts: PullRequestFacts) -> RuleResult:
    base, head = facts.base_ref, facts.head_ref
    paths = version_files_to_read(config)
    base_reads = {path: read_version(path, facts.base_version_files.get(path)) for path in paths}
    head_reads = {path: read_version(path, facts.head_version_files.get(path)) for path in paths}
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
            Status.FAIL,
            found or f"no version file on {base}",
            f"a version file on {base}: {' or '.join(paths)}",
            [
                _Problem(
                    f"No version file on {base} (looked for {', '.join(paths)})",
                    f"Add a `VERSION` file holding the current version to {base} "
                    '(`echo "1.2.3" > VERSION`), or set `version.files` in '
                    "`.github/hotfix.yml` to the file that holds it",
                )
            ],
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
            problems.append(_Problem(f"On {base}, {read}", f"Fix {path} on {base}"))
    if problems:  # on_base is not empty, so no problem means base_versions is not either
        return _result(
            Status.FAIL, found, f"a readable version in every version file on {base}", problems
        )

    distinct = {version.core for version in base_versions.values()}
    if len(distinct) > 1:
        listing = join_words([f"{path} {version.full}" for path, version in base_versions.items()])
        return _result(
            Status.FAIL,
            found,
            f"one version in all version files on {base}",
            [
                _Problem(
                    f"The version files on {base} disagree: {listing}",
                    f"Make them agree on {base} first",
                )
            ],
        )

    current = next(iter(base_versions.values()))
    target = current.bump_patch()
    tag = tag_name(config, str(target))
    expected = f"{target} ({current} + 1 patch) in {', '.join(on_base)}, and no tag {tag} yet"
    for path in on_base:
        read = head_reads[path]
        fix = _set_version_command(path, target)
        if read is None:
            problems.append(_Problem(f"{path} is missing on {head}", f"Restore {path}: {fix}"))
        elif isinstance(read, VersionFileError):
            problems.append(_Problem(str(read), fix))
        elif read.core != target.core:
            problems.append(_Problem(f"{path} is {read.full} on {head}, expected {target}", fix))
    if not problems and tag in facts.existing_tags:
        problems.append(
            _Problem(
                f"The tag {tag} already exists, so {target} was released before",
                f"Bring the version files on {base} up to the latest release first, "
                "then bump its patch number here",
            )
        )
    if problems:
        return _result(Status.FAIL, found, expected, problems)
    return RuleResult(
        NAME,
        Status.PASS,
        found,
        expected,
        f"Version {current} becomes {target} in {join_words(on_base)}; tag {tag} is free",
    )


def needs(config: HotfixConfig, facts: PullRequestFacts) -> Lookups:
    """The version files on both sides, then the tag their base version would be bumped to."""
    tag = tag_to_check(config, facts.base_version_files)
    return Lookups(version_files=tuple(version_files_to_read(config)), tags=(tag,) if tag else ())


RULE = Rule(NAME, check, needs)
