"""A snapshot of one pull request: everything the rules look at, read by the app."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from policies.files import FileText


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
    # When it is evaluated: the app's clock, from which the time left to the deadline runs.
    evaluated_at: datetime | None = None
