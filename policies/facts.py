"""A snapshot of one pull request: everything the rules look at, read by the app."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from policies.config import HotfixConfig
from policies.versions import (
    Version,
    VersionFileError,
    parse_version_file,
    version_files_to_read,
)


@dataclass(frozen=True, slots=True)
class UnreadableText:
    """A file that exists but cannot be read as text (too large, not UTF-8), and why."""

    problem: str  # "is not UTF-8 text": follows the file's path in a sentence


# A file as the app read it: its text, why it is unreadable, or None when there is none.
FileText = str | UnreadableText | None


class ReviewState(StrEnum):
    APPROVED = "APPROVED"
    CHANGES_REQUESTED = "CHANGES_REQUESTED"
    COMMENTED = "COMMENTED"
    DISMISSED = "DISMISSED"
    PENDING = "PENDING"


@dataclass(frozen=True)
class Review:
    reviewer: str  # login
    state: ReviewState
    commit_id: str | None  # the head commit the review was given on


@dataclass(frozen=True)
class PullRequestFacts:
    number: int
    title: str
    author: str  # login
    head_ref: str
    head_sha: str
    base_ref: str
    base_sha: str
    head_repo_full_name: str
    head_is_same_repo: bool  # False for a pull request from a fork
    labels: frozenset[str]
    default_branch: str
    reviews: Sequence[Review]  # every review, in the order GitHub lists them (oldest first)
    # Team slug -> the reviewers' logins known to be in that team. Only `team:` groups are
    # read from here; the config alone decides `users:` groups.
    team_members: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # Path -> text on the base and head commits; None or a missing path = no such file.
    base_version_files: Mapping[str, FileText] = field(default_factory=dict)
    head_version_files: Mapping[str, FileText] = field(default_factory=dict)
    existing_tags: frozenset[str] = frozenset()  # tags the app looked up and found
    opened_at: datetime | None = None  # when the pull request was opened (its deadline's start)


def tag_name(config: HotfixConfig, version: str) -> str:
    # Plain replacement: str.format on an admin's text could reach object attributes.
    return config.tag.format.replace("{version}", version)


def tag_to_check(config: HotfixConfig, base_version_files: Mapping[str, FileText]) -> str | None:
    """The tag the hotfix's version (the base's, patch + 1) would be released as, for the app
    to look up first.

    None when no version file on the base can be read; the version-bump rule says why.
    """
    version = declared_version(config, base_version_files)
    return None if version is None else tag_name(config, str(version.bump_patch()))


def declared_version(config: HotfixConfig, version_files: Mapping[str, FileText]) -> Version | None:
    """The version of the first readable version file, in `version_files_to_read` order."""
    for path in version_files_to_read(config):
        read = read_version(path, version_files.get(path))
        if isinstance(read, Version):
            return read
    return None


def read_version(path: str, text: FileText) -> Version | VersionFileError | None:
    """The file's version, the reason it has none hotfix-bot can read, or None when absent."""
    if text is None:
        return None
    if isinstance(text, UnreadableText):
        return VersionFileError(f"{path} {text.problem}")
    try:
        return parse_version_file(path, text)
    except VersionFileError as error:
        return error
