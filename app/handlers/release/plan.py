"""What the post-merge steps work on: one merged hotfix pull request and its config."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

from app.handlers.records import BreakGlassRecord, VerbalRecord, Waived
from policies.config import HotfixConfig
from policies.versions import Version, tag_name


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
    # The latest open release branch (gitflow), else the development branch.
    back_merge_target: str
    # What comment commands left on the pull request before it merged.
    verbal_approvals: tuple[VerbalRecord, ...] = ()
    break_glass: BreakGlassRecord | None = None
    waived: Waived = field(default_factory=Waived)  # what the break-glass waived, last checked

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
        return f"Merge hotfix {self._tag_or_number} back into {self.back_merge_target}"

    @property
    def back_merge_target_words(self) -> str:
        """The back-merge target as the report names it, saying when it is a release branch."""
        target = f"`{self.back_merge_target}`"
        return (
            target if self.back_merge_target == self.development else f"the release branch {target}"
        )

    @property
    def version_resolution_message(self) -> str:
        """The message of the commit that settles a back-merge whose only conflicts are in
        version files."""
        return f"chore: keep {self.back_merge_target}'s version after {self._tag_or_number}"

    @property
    def _tag_or_number(self) -> str:
        # Without a version there is no tag to name the hotfix by; the PR number is unique.
        return self.tag or f"#{self.number}"

    @property
    def development(self) -> str:
        return self.config.branches.development

    @property
    def short_sha(self) -> str:
        return self.merge_sha[:7]

    def commit_url(self, sha: str) -> str:
        return f"{self.repository_url}/commit/{sha}"


def path_part(text: str) -> str:
    """A branch or tag name inside a URL path (slashes kept, as GitHub's routes expect)."""
    return quote(text, safe="/")
