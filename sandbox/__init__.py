"""A stateful fake of GitHub's REST API for tests, the demo command and benchmarks."""

from sandbox.fake import FakeGitHub, RequestValidator, new_private_key_pem
from sandbox.git import Author, FakeCommit, FakeTagObject, merge_trees
from sandbox.models import (
    FakeApp,
    FakeBranch,
    FakeCheckRun,
    FakeComment,
    FakeInstallation,
    FakeIssue,
    FakeManifestCode,
    FakeMergeGroup,
    FakePull,
    FakeReaction,
    FakeRelease,
    FakeReview,
    FakeTeam,
    FakeToken,
    InjectedFault,
    RecordedRequest,
    Violation,
)
from sandbox.repo import FakeRepo, MergeConflictError
from sandbox.serve import serve_asgi, serve_fake

__all__ = [
    "Author",
    "FakeApp",
    "FakeBranch",
    "FakeCheckRun",
    "FakeComment",
    "FakeCommit",
    "FakeGitHub",
    "FakeInstallation",
    "FakeIssue",
    "FakeManifestCode",
    "FakeMergeGroup",
    "FakePull",
    "FakeReaction",
    "FakeRelease",
    "FakeRepo",
    "FakeReview",
    "FakeTagObject",
    "FakeTeam",
    "FakeToken",
    "InjectedFault",
    "MergeConflictError",
    "RecordedRequest",
    "RequestValidator",
    "Violation",
    "merge_trees",
    "new_private_key_pem",
    "serve_asgi",
    "serve_fake",
]
