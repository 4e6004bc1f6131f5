"""What the post-merge steps work on: one merged hotfix (or rollback) pull request, or one
hotfix pushed to the trunk, and its config."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from app.handlers.policy_result import PolicyResult
from app.handlers.records import BreakGlassRecord, VerbalRecord, Waived
from policies.accounts import is_deleted
from policies.config import HotfixConfig
from policies.tags import fill_message
from policies.timeline import EarlierRollback
from policies.versions import Version, tag_name

# The check run that reports the steps.
CHECK_NAME = "hotfix-release"
# The branches of the back-merge pull requests: `backmerge/<tag>`.
BACKMERGE_PREFIX = "backmerge/"


@dataclass(frozen=True, slots=True)
class TagOfAnother:
    """The tag of a rolled-back hotfix's version, found on another commit than the hotfix's
    merge commit: most likely the release of another hotfix of the same version, merged
    first. The rolled-back hotfix was never released under a tag."""

    tag: str
    commit: str  # the commit the tag names


@dataclass(frozen=True, slots=True)
class RolledBack:
    """The hotfix a merged rollback reverts, and why (docs/BEHAVIOUR.md, "Rollbacks")."""

    number: int
    title: str
    author: str  # login
    severity: str | None  # its one severity label; None when it has not exactly one
    merge_sha: str  # its merge commit
    # The tag its own run made, or (that run still to come) the tag it will make. None when it
    # has none: its version's tag names another commit (`tag_of_another`), or no version file
    # at its merge commit declares a version.
    tag: str | None
    tag_of_another: TagOfAnother | None
    reason: str | None  # the rollback's own words, from its description
    # Its incident report issue, as its own post-merge run recorded it: found by this number
    # when people have taken its label off since. None when that run recorded none.
    report: int | None
    # The rollback of the hotfix merged before this one, which what this one writes tells of:
    # as the hotfix's timeline holds it, once that rollback's run has written its row.
    earlier: EarlierRollback | None

    @property
    def tag_or_number(self) -> str:
        return self.tag or f"#{self.number}"

    @property
    def already(self) -> str | None:
        """That the hotfix was rolled back already, and by which rollback, when it was."""
        return None if self.earlier is None else self.earlier.words(self.number)


@dataclass(frozen=True, slots=True)
class ReleasePlan:
    """What the steps act on: one merged hotfix (or rollback) pull request, or one hotfix
    pushed to the trunk (`workflow: trunk`), and the config it obeys."""

    repository: str
    repository_url: str  # the repository's html_url
    number: int | None  # the pull request's; None for a push to the trunk
    title: str  # the pull request's, or the pushed hotfix's (see `push`)
    author: str
    hotfix_url: str  # the pull request's page, or the pushed commit's: the report's link
    merge_sha: str  # the merge commit, or the pushed commit
    head_ref: str
    head_sha: str
    head_repository: str | None  # full name; None when a fork was deleted since
    head_in_repository: bool
    default_branch: str
    config: HotfixConfig
    version: Version | None  # None when none of the base's version files reads at the merge commit
    # Where the back-merge goes (`back_merge.with_target`): the base of the pull request an
    # earlier run opened for it, else the latest open release branch (gitflow), else the
    # development branch.
    back_merge_target: str
    # What comment commands left on the pull request before it merged, as they counted under
    # the merged severity: the verbal approvals that counted for the merged head commit (with
    # their confirmations since), the break-glass in force.
    verbal_approvals: tuple[VerbalRecord, ...] = ()
    break_glass: BreakGlassRecord | None = None
    waived: Waived = field(default_factory=Waived)  # what the break-glass waived, last checked
    # A break-glass recorded but not in force at the merge: only the timeline tells of it.
    dormant_break_glass: BreakGlassRecord | None = None
    rolled_back: RolledBack | None = None  # set when the pull request is a rollback
    # The open release branch the back-merge would go into, when it keeps to the base of its
    # earlier pull request instead: the report says so.
    release_branch_passed_over: str | None = None
    # The tag of its version names another commit (most likely the release of another
    # hotfix of that version, merged first): the tag is not this hotfix's to name its
    # back-merge after.
    tag_names_another: bool = False

    @property
    def description(self) -> str:
        """The merged pull request as the report names it."""
        if self.rolled_back is None:
            return f"Hotfix {self.reference} ({self.title})"
        return f"Rollback {self.reference} ({self.title}) of hotfix #{self.rolled_back.number}"

    # A merged pull request's: its severity (the first of `labelled_severities` in the config's
    # order), every severity it was labelled with, when it was opened and merged, by whom.
    severity: str | None = None
    labelled_severities: tuple[str, ...] = ()
    opened_at: datetime | None = None
    merged_at: datetime | None = None
    merged_by: str | None = None
    # The merged head commit's `hotfix-policy` run as last written before the merge, when it
    # was failing then: the pull request was merged against it.
    failing_at_merge: PolicyResult | None = None

    @property
    def author_to_ask(self) -> str | None:
        """The author, to assign the incident report to and ask to review the back-merge;
        None when their account was deleted: there is nobody to ask."""
        return None if is_deleted(self.author) else self.author

    @property
    def tag(self) -> str | None:
        return None if self.version is None else tag_name(self.config, str(self.version))

    @property
    def tag_message(self) -> str:
        if self.rolled_back is not None:
            return f"Rollback of {self.rolled_back.tag_or_number}: {self.title}"
        version = "" if self.version is None else str(self.version)
        return fill_message(self.config.tag.message, self.title, version)

    @property
    def own_tag(self) -> str | None:
        """The tag that is this hotfix's: None without a version, or when the tag of its
        version names another commit."""
        return None if self.tag_names_another else self.tag

    @property
    def backmerge_branch(self) -> str:
        # Without a tag of its own there is none to name the branch after; the PR number is
        # unique.
        return f"{BACKMERGE_PREFIX}{self.own_tag or f'pr-{self.number}'}"

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
        # Without a tag of its own there is none to name the hotfix by.
        return self.own_tag or self.reference

    @property
    def reference(self) -> str:
        """The hotfix by a name that is unique without its tag: `#12`, or a pushed commit's
        short SHA."""
        return self.short_sha if self.number is None else f"#{self.number}"

    @property
    def commit_words(self) -> str:
        """The commit the steps tag, as the report calls it."""
        return "the pushed commit" if self.number is None else "the merge commit"

    @property
    def development(self) -> str:
        return self.config.branches.development

    @property
    def short_sha(self) -> str:
        return self.merge_sha[:7]

    def commit_url(self, sha: str) -> str:
        return f"{self.repository_url}/commit/{sha}"
