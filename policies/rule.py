"""What a rule is: its name, its check, and what it needs the app to look up first.

`policies` decides and `app` acts (docs/ARCHITECTURE.md): a rule says which files, tags and
team memberships it needs, the app fetches exactly those and hands them back as
`PullRequestFacts`, and the rule judges from plain data.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from policies.config import HotfixConfig
from policies.facts import PullRequestFacts
from policies.result import RuleResult


@dataclass(frozen=True)
class Lookups:
    """What the app must read from GitHub, and where the answers go in the facts."""

    version_files: tuple[str, ...] = ()  # base_version_files and head_version_files
    tags: tuple[str, ...] = ()  # existing_tags: those of these that exist
    teams: tuple[str, ...] = ()  # team_members: which of `approvers` are in each team
    approvers: frozenset[str] = frozenset()

    def __or__(self, other: "Lookups") -> "Lookups":
        return Lookups(
            _in_order(self.version_files, other.version_files),
            _in_order(self.tags, other.tags),
            _in_order(self.teams, other.teams),
            self.approvers | other.approvers,
        )


def _in_order(first: Iterable[str], then: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys([*first, *then]))


Check = Callable[[HotfixConfig, PullRequestFacts], RuleResult]
Needs = Callable[[HotfixConfig, PullRequestFacts], Lookups]


def needs_nothing(config: HotfixConfig, facts: PullRequestFacts) -> Lookups:
    return Lookups()


@dataclass(frozen=True)
class Rule:
    name: str  # as the check run lists it, e.g. "branch-name"
    check: Check
    # Called with the facts read so far, until what it asks for is in them: a rule may need
    # one answer (the base's version files) to know the next question (the tag).
    needs: Needs = needs_nothing
