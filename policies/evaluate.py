"""The verdict on a pull request: which rules pass, and the check run's conclusion."""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from functools import reduce

from policies.config import CONFIG_PATH, ConfigError, Duration, HotfixConfig, SeverityPolicy
from policies.facts import BreakGlass, PullRequestFacts
from policies.result import RuleResult, Status
from policies.rollback import Rollback, judge_rollback
from policies.rule import Lookups, Rule
from policies.rules import ROLLBACK_RULES, RULES
from policies.rules.common import is_hotfix as is_hotfix  # re-exported: the app asks here
from policies.rules.common import not_a_hotfix_words, single_severity
from policies.wording import deadline_passed, plural, pull_numbers, waiting_words, when

# Begins the title of a hotfix pull request still open past its deadline (or, judged as of
# its merge, merged after it); the conclusion stays what the rules say (a late fix is still
# a fix).
OVERDUE = "Overdue: "
# The row of a rollback that names more than one pull request it reverts, in place of its rules.
ROLLBACK_ROW = "rollback"
# Begins the title of one that merged while it waited for approval, followed by the groups.
_MERGED_WHILE_WAITING = "Merged while waiting for approval: "


class Conclusion(StrEnum):
    """A completed check run's conclusion, as GitHub names it."""

    SUCCESS = "success"
    FAILURE = "failure"
    NEUTRAL = "neutral"


@dataclass(frozen=True)
class Verdict:
    conclusion: Conclusion | None  # None: not concluded, people still have to act
    title: str  # one line
    results: tuple[RuleResult, ...] = ()
    severity: str | None = None  # the one severity labelled, if exactly one is
    deadline: Duration | None = None  # that severity's time from opening to merge
    due: datetime | None = None  # when the deadline runs out, if the opening time is known
    # From the evaluation to `due` (negative once it has passed), if both are known.
    time_left: timedelta | None = None
    # The approval groups waited for: one more approval from any of them fills one more group.
    waiting_for: tuple[str, ...] = ()
    break_glass: BreakGlass | None = None  # in force: it concluded the verdict
    # Recorded, but not in force: the severity labelled now allows no break-glass.
    dormant_break_glass: BreakGlass | None = None
    rollback: Rollback | None = None  # set for a rollback pull request
    # Set for a pull request that looks like a rollback but is none (its refusal says why):
    # it is judged as any other pull request.
    not_a_rollback: Rollback | None = None
    # For a pull request that is no hotfix one: what its head branch and labels lack, by the
    # configured names (`not_a_hotfix_words`).
    not_a_hotfix: str = ""

    @property
    def overdue(self) -> bool:
        return self.time_left is not None and deadline_passed(self.time_left)

    @property
    def waived_rules(self) -> tuple[str, ...]:
        return tuple(result.rule for result in self.results if result.status is Status.WAIVED)

    @property
    def waived_groups(self) -> tuple[tuple[str, ...], ...]:
        """The approval groups waited for when the break-glass waived them, as alternatives
        (`RuleResult.waiting`): of each, one group went unfilled."""
        return tuple(
            names
            for result in self.results
            if result.status is Status.WAIVED
            for names in result.waiting
        )


def rules_for(config: HotfixConfig, facts: PullRequestFacts) -> tuple[Rule, ...]:
    """The rules that judge the pull request: the fewer of a rollback, or those of a hotfix;
    none for any other pull request."""
    rollback = judge_rollback(config, facts)
    if rollback is not None and rollback.refusal is None:
        return () if rollback.several else ROLLBACK_RULES
    return RULES if is_hotfix(config, facts.head_ref, facts.labels) else ()


def needed_lookups(config: HotfixConfig, facts: PullRequestFacts) -> Lookups:
    """What every rule needs looked up, given the facts read so far (see `Rule.needs`)."""
    rules = rules_for(config, facts)
    return reduce(Lookups.__or__, (rule.needs(config, facts) for rule in rules), Lookups())


def evaluate(config: HotfixConfig, facts: PullRequestFacts) -> Verdict:
    rollback = judge_rollback(config, facts)
    if rollback is not None and rollback.several:
        return _several_reverted_verdict(rollback)
    if rollback is not None and rollback.refusal is None:
        return _rollback_verdict(config, facts, rollback)
    return replace(_hotfix_verdict(config, facts), not_a_rollback=rollback)


def _hotfix_verdict(config: HotfixConfig, facts: PullRequestFacts) -> Verdict:
    """A hotfix pull request is judged by `RULES`; any other is `Not a hotfix pull request`."""
    if not is_hotfix(config, facts.head_ref, facts.labels):
        return Verdict(
            Conclusion.NEUTRAL, "Not a hotfix pull request", not_a_hotfix=not_a_hotfix_words(config)
        )
    results = tuple(rule.check(config, facts) for rule in RULES)
    labelled = single_severity(config, facts.labels)
    severity, deadline = (labelled[0], labelled[1].deadline) if labelled else (None, None)
    conclusion, title = _conclude(results)
    due = facts.opened_at + deadline.value if deadline and facts.opened_at else None
    time_left = due - facts.evaluated_at if due and facts.evaluated_at else None
    verdict = Verdict(
        conclusion, title, results, severity, deadline, due, time_left, _waiting_for(results)
    )
    verdict = _break_glass(verdict, facts, labelled[1] if labelled else None)
    verdict = _merged_while_waiting(verdict, facts.merged_at)
    return replace(verdict, title=OVERDUE + verdict.title) if verdict.overdue else verdict


def _rollback_verdict(config: HotfixConfig, facts: PullRequestFacts, rollback: Rollback) -> Verdict:
    """A rollback is judged by `ROLLBACK_RULES`; its titles say which hotfix it rolls back.
    It has no deadline of its own; a break-glass waives its rules as a hotfix's, while the
    rolled-back hotfix's severity allows one."""
    assert rollback.reverted is not None  # named whenever there is no refusal
    results = tuple(rule.check(config, facts) for rule in ROLLBACK_RULES)
    conclusion, title = _conclude(results)
    verdict = Verdict(
        conclusion, title, results, waiting_for=_waiting_for(results), rollback=rollback
    )
    labelled = single_severity(config, rollback.reverted.labels)
    verdict = _break_glass(verdict, facts, labelled[1] if labelled else None)
    verdict = _merged_while_waiting(verdict, facts.merged_at)
    return replace(verdict, title=f"{verdict.title} (rollback of #{rollback.reverted.number})")


def _several_reverted_verdict(rollback: Rollback) -> Verdict:
    """A rollback that names more than one pull request it reverts fails, in a row of its
    own: its rules follow the one hotfix it rolls back, so none judges it until it names one.
    No break-glass waives that, as no severity is known to allow one."""
    named = pull_numbers(rollback.several)
    result = RuleResult(
        ROLLBACK_ROW,
        Status.FAIL,
        named,
        "one merged hotfix pull request",
        f"It names more than one pull request it reverts: {named}",
        f"A rollback reverts one hotfix: open one rollback pull request for each of {named}, "
        "or keep one `Reverts` line in this pull request's description",
    )
    title = f"A rollback reverts one hotfix: this one names {named}"
    return Verdict(Conclusion.FAILURE, title, (result,), rollback=rollback)


def _conclude(results: tuple[RuleResult, ...]) -> tuple[Conclusion | None, str]:
    """The conclusion (None: people still have to act) and title of the rules' results."""
    failed = [result.rule for result in results if result.status is Status.FAIL]
    waiting = [names for result in results for names in result.waiting]
    conclusion: Conclusion | None
    if failed:
        verb = "fails" if len(failed) == 1 else "fail"
        conclusion = Conclusion.FAILURE
        title = f"{len(failed)} of {plural(len(results), 'rule')} {verb}: {', '.join(failed)}"
    elif waiting:
        conclusion = None
        title = f"Waiting for approval: {waiting_words(waiting)}"
    else:
        conclusion = Conclusion.SUCCESS
        title = f"All {len(results)} rules pass"
    return conclusion, title


def _waiting_for(results: tuple[RuleResult, ...]) -> tuple[str, ...]:
    return tuple(name for result in results for name in result.waiting_for)


def _break_glass(
    verdict: Verdict, facts: PullRequestFacts, severity: SeverityPolicy | None
) -> Verdict:
    """The verdict once a break-glass in force has waived what fails or waits; `severity` is
    the one labelled, which says whether one may be in force (for a rollback, the rolled-back
    hotfix's; None without one severity label)."""
    glass = facts.break_glass
    if glass is None:
        return verdict
    if not allows_break_glass(severity):
        return replace(verdict, dormant_break_glass=glass)
    # Every rule still runs, so the check run shows what the break-glass waived.
    return replace(
        verdict,
        conclusion=Conclusion.SUCCESS,
        title=f"Break-glass by @{glass.by}: {glass.reason}",
        results=tuple(_waived(result) for result in verdict.results),
        break_glass=glass,
    )


def _merged_while_waiting(verdict: Verdict, merged_at: datetime | None) -> Verdict:
    """The verdict on a pull request that merged (at `merged_at`) while it waited for
    approval: concluded, as no approval can count any more (docs/BEHAVIOUR.md, 'As of the
    merge'). Any other verdict stays as it was at the merge."""
    if merged_at is None or verdict.conclusion is not None:
        return verdict
    waiting = [names for result in verdict.results for names in result.waiting]
    return replace(
        verdict,
        conclusion=Conclusion.FAILURE,
        title=f"{_MERGED_WHILE_WAITING}{waiting_words(waiting)}",
        results=tuple(_merged_without(result, merged_at) for result in verdict.results),
    )


def _merged_without(result: RuleResult, merged_at: datetime) -> RuleResult:
    if result.status is not Status.PENDING:
        return result
    return replace(
        result,
        status=Status.FAIL,
        summary=f"{_MERGED_WHILE_WAITING}{waiting_words(result.waiting)}",
        how_to_fix=(
            f"Nothing can change this now: it merged on {when(merged_at)} without that "
            "approval, and an approval given after the merge does not count"
        ),
    )


def allows_break_glass(severity: SeverityPolicy | None) -> bool:
    """Whether the one severity labelled (None: not exactly one) allows a hotfix and names who
    may break the glass: only then is a break-glass in force and waives the rules, so that a
    pull request relabelled with a lower severity is judged by that severity's rules. The
    post-merge steps ask it of the merged severity."""
    return severity is not None and severity.hotfix_allowed and severity.break_glass is not None


def _waived(result: RuleResult) -> RuleResult:
    if result.status in (Status.FAIL, Status.PENDING):
        return replace(result, status=Status.WAIVED)
    return result


def config_error_verdict(error: ConfigError) -> Verdict:
    """The failure shown when `.github/hotfix.yml` (or the organization's) cannot be used."""
    more = f" (and {len(error.problems) - 1} more)" if len(error.problems) > 1 else ""
    file = error.file or CONFIG_PATH
    return Verdict(Conclusion.FAILURE, f"Invalid {file}: {error.problems[0]}{more}")
