"""What the post-merge steps work on and what they leave behind: the plan and the outcomes.

Outcomes are stored in the journal as JSON, so a later run can resume.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import quote

from app.github import InstallationClient
from policies.config import HotfixConfig
from policies.facts import tag_name
from policies.versions import Version


class StepStatus(StrEnum):
    DONE = "done"
    ALREADY_DONE = "already done"
    SKIPPED = "skipped"
    BLOCKED = "blocked"  # skipped because a step it needs failed; a re-run tries again
    WAITING = "waiting"  # a back-merge pull request waits for people
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        """A re-run keeps this outcome without looking again."""
        return self in (StepStatus.DONE, StepStatus.ALREADY_DONE)


@dataclass(frozen=True, slots=True)
class Link:
    text: str
    url: str


@dataclass(frozen=True, slots=True)
class StepOutcome:
    status: StepStatus
    detail: str  # Markdown without links, e.g. "deleted `hotfix/fix-login`"
    link: Link | None = None

    def as_json(self) -> dict[str, Any]:
        link = {"text": self.link.text, "url": self.link.url} if self.link else None
        return {"status": self.status.value, "detail": self.detail, "link": link}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StepOutcome:
        link = data.get("link")
        return cls(
            StepStatus(data["status"]),
            data["detail"],
            Link(link["text"], link["url"]) if link else None,
        )


@dataclass(frozen=True, slots=True)
class ReleasePlan:
    """What the steps act on: one merged hotfix pull request and the config it obeys."""

    repository: str
    repository_url: str  # the repository's html_url
    number: int
    title: str
    author: str
    pull_url: str
    merge_sha: str
    head_ref: str
    head_sha: str
    head_repository: str | None  # full name; None when a fork was deleted since
    head_in_repository: bool
    default_branch: str
    config: HotfixConfig
    version: Version | None  # None when no version file at the merge commit can be read

    @property
    def tag(self) -> str | None:
        return None if self.version is None else tag_name(self.config, str(self.version))

    @property
    def tag_message(self) -> str:
        # Plain replacement, as for the tag name: str.format could reach object attributes.
        version = "" if self.version is None else str(self.version)
        return self.config.tag.message.replace("{title}", self.title).replace("{version}", version)

    @property
    def backmerge_branch(self) -> str:
        # Without a version there is no tag to name the branch after; the PR number is unique.
        return f"backmerge/{self.tag or f'pr-{self.number}'}"

    @property
    def backmerge_message(self) -> str:
        return f"Merge hotfix {self.tag or f'#{self.number}'} back into {self.development}"

    @property
    def development(self) -> str:
        return self.config.branches.development

    @property
    def short_sha(self) -> str:
        return self.merge_sha[:7]

    def commit_url(self, sha: str) -> str:
        return f"{self.repository_url}/commit/{sha}"


@dataclass(frozen=True, slots=True)
class StepRun:
    """What a step works with: the outcomes of the steps before it and its own last one."""

    github: InstallationClient
    plan: ReleasePlan
    earlier: Mapping[str, StepOutcome]
    previous: StepOutcome | None


@dataclass(frozen=True, slots=True)
class Step:
    key: str  # in the journal
    title: str  # in the report
    run: Callable[[StepRun], Awaitable[StepOutcome]]


def path_part(text: str) -> str:
    """A branch or tag name inside a URL path (slashes kept, as GitHub's routes expect)."""
    return quote(text, safe="/")
