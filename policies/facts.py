"""A snapshot of one pull request: everything the rules look at, read by the app."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from urllib.parse import urlsplit

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
    submitted_at: datetime | None = None  # None for a draft, which has not been submitted


@dataclass(frozen=True)
class VerbalApproval:
    """`/hotfix verbal-approval @approver`: an approval given outside GitHub, recorded by
    someone with write access; it counts as an approving review of `head_sha` at `recorded_at`."""

    approver: str  # login
    recorder: str  # login
    recorded_at: datetime
    head_sha: str  # the head commit when it was recorded

    def __str__(self) -> str:
        """As the check run and the report name it: `lena (verbal, recorded by @dana at
        14:32 UTC)`."""
        recorded = self.recorded_at.astimezone(UTC)
        return f"{self.approver} (verbal, recorded by @{self.recorder} at {recorded:%H:%M} UTC)"


@dataclass(frozen=True)
class BreakGlass:
    """`/hotfix break-glass <reason>`: every rule that fails or waits is waived until it is
    withdrawn."""

    by: str  # login
    reason: str
    at: datetime


@dataclass(frozen=True)
class RevertedPull:
    """The pull request a rollback names as the one it reverts, as read from the API."""

    number: int
    title: str
    author: str  # login
    head_ref: str
    base_ref: str
    labels: frozenset[str]
    state: str  # "open" or "closed"
    merged: bool
    merge_commit_sha: str | None


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
    # Team slug -> GitHub's answer refusing the app its members for good (the App lacking the
    # organization's Members permission): who in it approved is not known.
    unreadable_teams: Mapping[str, str] = field(default_factory=dict)
    # Team slugs whose members list GitHub answered 404 to (most likely no such team): their
    # approvers' memberships were asked one by one.
    unlisted_teams: frozenset[str] = frozenset()
    # Path -> text on the base and head commits; None or a missing path = no such file.
    base_version_files: Mapping[str, FileText] = field(default_factory=dict)
    head_version_files: Mapping[str, FileText] = field(default_factory=dict)
    existing_tags: frozenset[str] = frozenset()  # tags the app looked up and found
    opened_at: datetime | None = None  # when the pull request was opened (its deadline's start)
    verbal_approvals: Sequence[VerbalApproval] = ()
    break_glass: BreakGlass | None = None
    # When it is evaluated: the app's clock, from which the time left to the deadline runs.
    # A merged pull request is evaluated as it stood at its merge: at `merged_at`.
    evaluated_at: datetime | None = None
    merged_at: datetime | None = None  # None while it is not merged
    repository: str = ""  # owner/name of the base repository
    # Its URL to fetch from, which a clone of a fork has no remote for (GitHub Enterprise
    # Server's host is not github.com).
    clone_url: str = ""
    # The base repository belongs to a person's account, which has no teams, not to an
    # organization.
    personal_account: bool = False
    body: str = ""  # the description
    # For a rollback: the pull request it names, read by the app; None when there is none.
    reverted: RevertedPull | None = None

    @property
    def owner(self) -> str:
        """The organization or person the base repository belongs to."""
        return self.repository.partition("/")[0]

    @property
    def gh_repository(self) -> str:
        """The base repository as gh's `--repo` names it: gh takes `OWNER/REPO` to be on its
        default host, github.com for anyone also signed in there, so a repository on another
        host (GitHub Enterprise Server) is `HOST/OWNER/REPO`, the host as its clone URL has it."""
        host = urlsplit(self.clone_url).netloc
        return self.repository if host in ("", "github.com") else f"{host}/{self.repository}"
