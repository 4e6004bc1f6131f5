"""The verdict on a pull request: which rules pass, and the check run's conclusion."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import reduce

from policies.config import CONFIG_PATH, ConfigError, Duration, HotfixConfig
from policies.facts import PullRequestFacts
from policies.result import RuleResult, Status
from policies.rollback import Rollback, is_rollback, judge_rollback
from policies.rule import Lookups, Rule
from policies.rules import ROLLBACK_RULES, RULES
from policies.rules.common import is_hotfix as is_hotfix  # re-exported: the app asks here
from policies.rules.common import single_severity
from policies.wording import join_words, plural


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
    rollback: Rollback | None = None  # set for a rollback pull request


def rules_for(config: HotfixConfig, facts: PullRequestFacts) -> tuple[Rule, ...]:
    """The rules that judge the pull request: those of a hotfix, or the fewer of a rollback;
    none for any other pull request, nor for a rollback that reverts no merged hotfix."""
    if is_rollback(config, facts.head_ref, facts.labels):
        return ROLLBACK_RULES if judge_rollback(config, facts).refusal is None else ()
    return RULES if is_hotfix(config, facts.head_ref, facts.labels) else ()


def needed_lookups(config: HotfixConfig, facts: PullRequestFacts) -> Lookups:
    """What every rule needs looked up, given the facts read so far (see `Rule.needs`)."""
    rules = rules_for(config, facts)
    return reduce(Lookups.__or__, (rule.needs(config, facts) for rule in rules), Lookups())


def evaluate(config: HotfixConfig, facts: PullRequestFacts) -> Verdict:
    if is_rollback(config, facts.head_ref, facts.labels):
        return _rollback_verdict(config, facts)
    if not is_hotfix(config, facts.head_ref, facts.labels):
        return Verdict(Conclusion.NEUTRAL, "Not a hotfix pull request")
    results = tuple(rule.check(config, facts) for rule in RULES)
    labelled = single_severity(config, facts.labels)
    severity, deadline = (labelled[0], labelled[1].deadline) if labelled else (None, None)
    conclusion, title = _conclude(results)
    due = facts.opened_at + deadline.value if deadline and facts.opened_at else None
    return Verdict(conclusion, title, results, severity, deadline, due)


def _rollback_verdict(config: HotfixConfig, facts: PullRequestFacts) -> Verdict:
    """A rollback is judged by `ROLLBACK_RULES` once it names a merged hotfix pull request;
    its titles say which."""
    rollback = judge_rollback(config, facts)
    if rollback.refusal is not None:
        title = f"Not a rollback of a merged hotfix: {rollback.refusal.problem}"
        return Verdict(Conclusion.FAILURE, title, rollback=rollback)
    assert rollback.reverted is not None  # named whenever there is no refusal
    results = tuple(rule.check(config, facts) for rule in ROLLBACK_RULES)
    conclusion, title = _conclude(results)
    title += f" (rollback of #{rollback.reverted.number})"
    return Verdict(conclusion, title, results, rollback=rollback)


def _conclude(results: tuple[RuleResult, ...]) -> tuple[Conclusion | None, str]:
    """The conclusion (None: people still have to act) and title of the rules' results."""
    failed = [result.rule for result in results if result.status is Status.FAIL]
    waiting = [name for result in results for name in result.waiting_for]
    conclusion: Conclusion | None
    if failed:
        verb = "fails" if len(failed) == 1 else "fail"
        conclusion = Conclusion.FAILURE
        title = f"{len(failed)} of {plural(len(results), 'rule')} {verb}: {', '.join(failed)}"
    elif waiting:
        conclusion = None
        title = f"Waiting for approval: {join_words(waiting)}"
    else:
        conclusion = Conclusion.SUCCESS
        title = f"All {len(results)} rules pass"
    return conclusion, title


def config_error_verdict(error: ConfigError) -> Verdict:
    """The failure shown when `.github/hotfix.yml` cannot be used."""
    more = f" (and {len(error.problems) - 1} more)" if len(error.problems) > 1 else ""
    return Verdict(Conclusion.FAILURE, f"Invalid {CONFIG_PATH}: {error.problems[0]}{more}")
