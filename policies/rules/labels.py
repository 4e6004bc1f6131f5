"""`labels`: the hotfix label and exactly one severity label are present."""

from policies.config import HotfixConfig
from policies.facts import PullRequestFacts
from policies.result import RuleResult, Status
from policies.rule import Rule
from policies.rules.common import has_label, labelled_severities, severity_labels
from policies.wording import join_words

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
        fixes.append(f"Add the label `{hotfix_label}`")
    if not present:
        allowed = severity_labels(config, allowed_only=True) or all_severity_labels
        problems.append(f"no severity label ({', '.join(all_severity_labels)})")
        fixes.append(f"Add one severity label: {join_words([f'`{a}`' for a in allowed], 'or')}")
    elif len(present) > 1:
        problems.append(f"several severity labels ({', '.join(present)})")
        fixes.append(
            f"Keep one of the labels {', '.join(f'`{p}`' for p in present)} and remove the others"
        )

    if not problems:
        return RuleResult(
            NAME, Status.PASS, found, expected, f"Labelled {hotfix_label} and {present[0]}"
        )
    summary = "; ".join(problems)
    return RuleResult(
        NAME, Status.FAIL, found, expected, summary[0].upper() + summary[1:], "; ".join(fixes)
    )


RULE = Rule(NAME, check)
