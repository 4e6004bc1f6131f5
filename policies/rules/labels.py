"""`labels`: the hotfix label and exactly one severity label are present."""

from policies.config import HotfixConfig
from policies.facts import PullRequestFacts
from policies.result import RuleResult, Status
from policies.rule import Rule
from policies.rules.common import (
    has_label,
    labelled_severities,
    one_severity_label,
    severity_labels,
)

NAME = "labels"


def check(config: HotfixConfig, facts: PullRequestFacts) -> RuleResult:
    hotfix_label = config.labels.hotfix
    all_severity_labels = severity_labels(config)
    present = [config.labels.severities[name] for name in labelled_severities(config, facts.labels)]
    found = f"labels {', '.join(sorted(facts.labels))}" if facts.labels else "no labels"
    expected = f"{hotfix_label} and exactly one of {', '.join(all_severity_labels)}"

    problems: list[str] = []
    fixes: list[str] = []
    if not has_label(facts.labels, hotfix_label):
        problems.append(f"the label {hotfix_label} is missing")
        fixes.append(f"add the label `{hotfix_label}`")
    if not present:
        problems.append(f"no severity label ({', '.join(all_severity_labels)})")
    elif len(present) > 1:
        problems.append(f"several severity labels ({', '.join(present)})")
    if len(present) != 1:
        fixes.append(one_severity_label(config, facts.labels))

    if not problems:
        return RuleResult(
            NAME, Status.PASS, found, expected, f"Labelled {hotfix_label} and {present[0]}"
        )
    return RuleResult(
        NAME, Status.FAIL, found, expected, _capitalised(problems), _capitalised(fixes)
    )


def _capitalised(clauses: list[str]) -> str:
    """`clauses` as one sentence: joined by semicolons, its first letter in upper case."""
    joined = "; ".join(clauses)
    return joined[0].upper() + joined[1:]


RULE = Rule(NAME, check)
