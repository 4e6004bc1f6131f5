"""What one rule found about a pull request."""

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    PASS = "pass"  # noqa: S105  # a rule status, not a password
    FAIL = "fail"
    PENDING = "pending"  # nothing is wrong yet, but people still have to act
    NOT_APPLICABLE = "not_applicable"  # a rule it depends on did not give it an input
    WAIVED = "waived"  # failed or waited, and a break-glass waived it


@dataclass(frozen=True)
class RuleResult:
    rule: str  # its name in docs/BEHAVIOUR.md, 'Rules', e.g. "branch-name"
    status: Status
    found: str
    expected: str
    summary: str  # one line
    how_to_fix: str = ""  # empty when there is nothing to fix
    # The approval groups it waits for, as alternatives: one more approval from any group of
    # an alternative fills one more group (("Engineering Lead", "Product Manager") where
    # someone who approved counts for either).
    waiting: tuple[tuple[str, ...], ...] = ()

    @property
    def waiting_for(self) -> tuple[str, ...]:
        """Every approval group it waits for."""
        return tuple(name for names in self.waiting for name in names)
