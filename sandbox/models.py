"""Plain state objects of the fake GitHub; tests read and change them directly."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey


@dataclass
class FakeApp:
    id: int
    slug: str
    name: str
    private_key_pem: str
    public_key: RSAPublicKey

    @property
    def bot_login(self) -> str:
        return f"{self.slug}[bot]"


@dataclass
class FakeManifestCode:
    """What GitHub hands over once for an App registered from a manifest (see the conversion)."""

    code: str
    app: FakeApp
    webhook_secret: str
    client_id: str
    client_secret: str


@dataclass
class FakeInstallation:
    id: int
    app_id: int
    account: str
    permissions: dict[str, str]
    suspended_at: datetime | None = None


@dataclass
class FakeToken:
    token: str
    installation_id: int
    expires_at: datetime


@dataclass
class FakeBranch:
    name: str
    sha: str
    protected: bool = False


@dataclass
class FakeReview:
    id: int
    login: str
    state: str
    commit_id: str
    submitted_at: datetime
    body: str = ""


@dataclass
class FakePull:
    id: int
    number: int
    title: str
    body: str | None  # None: no description (GitHub's `body: null`)
    author: str
    head_ref: str
    base_ref: str
    head_sha: str
    base_sha: str
    created_at: datetime
    updated_at: datetime
    labels: list[str] = field(default_factory=list)
    draft: bool = False
    state: str = "open"
    merged: bool = False
    merge_commit_sha: str | None = None
    merged_at: datetime | None = None
    merged_by: str | None = None
    closed_at: datetime | None = None
    reviews: list[FakeReview] = field(default_factory=list)
    requested_reviewers: list[str] = field(default_factory=list)
    requested_teams: list[str] = field(default_factory=list)
    # A pull request from a fork: the fork's full name (a repository of the fake). Its
    # commits live in the base repository's object store, as GitHub keeps them under
    # refs/pull/N/head; None = the head branch is in the base repository.
    head_repo_full_name: str | None = None


@dataclass
class FakeMergeGroup:
    """A merge queue's entry: the pull request it adds, merged onto the queue's tip."""

    pull_number: int
    base_ref: str  # the branch the queue merges into
    base_sha: str  # the commit the group was built on: the branch's, or the group ahead's
    head_sha: str  # the merge of the pull request's head onto base_sha

    @property
    def branch(self) -> str:
        return f"gh-readonly-queue/{self.base_ref}/pr-{self.pull_number}-{self.base_sha}"


@dataclass
class FakeCheckRun:
    id: int
    name: str
    head_sha: str
    app_id: int
    check_suite_id: int
    status: str = "queued"
    conclusion: str | None = None
    output: dict[str, Any] = field(default_factory=dict)
    details_url: str | None = None
    external_id: str | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    # The GET shape of the run after each POST/PATCH, oldest first.
    history: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class FakeComment:
    id: int
    issue_number: int
    body: str
    author: str
    created_at: datetime
    updated_at: datetime


@dataclass
class FakeIssue:
    """An issue (not a pull request); it shares the repository's numbering with pulls."""

    id: int
    number: int
    title: str
    body: str
    author: str
    created_at: datetime
    updated_at: datetime
    labels: list[str] = field(default_factory=list)
    assignees: list[str] = field(default_factory=list)
    state: str = "open"
    closed_at: datetime | None = None


@dataclass
class FakeReaction:
    id: int
    comment_id: int
    content: str  # "+1", "heart", ...
    user: str
    created_at: datetime


@dataclass
class FakeRelease:
    id: int
    tag_name: str
    target_commitish: str
    name: str | None
    body: str | None
    draft: bool
    prerelease: bool
    author: str
    created_at: datetime
    # Published as the repository's latest release: GitHub's `make_latest` "true", its
    # default; "false" leaves the latest release as it was.
    make_latest: bool = True


@dataclass
class FakeTeam:
    id: int
    org: str
    slug: str
    name: str
    members: list[str] = field(default_factory=list)  # its own, not its child teams'
    parent: str | None = None  # the slug of the team it is nested in


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any
    installation_id: int | None
    # None while the request is still being answered (e.g. a hang in progress).
    status: int | None = None
    # time.monotonic() when the request arrived and when its answer was sent (None until
    # then): benchmarks read latencies and sequential round trips from them.
    received_at: float = field(default_factory=time.monotonic)
    answered_at: float | None = None


@dataclass
class Violation:
    request: RecordedRequest
    errors: list[str]


@dataclass
class InjectedFault:
    method: str
    path_pattern: re.Pattern[str]
    status: int | None
    times: int | None
    headers: dict[str, str]
    body: Any
    delay: float
    hang: bool
    apply: bool = False
    drip: float = 0.0
    hits: int = 0

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times

    def matches(self, method: str, path: str) -> bool:
        method_matches = self.method in ("*", method.upper())
        return not self.exhausted and method_matches and bool(self.path_pattern.search(path))
