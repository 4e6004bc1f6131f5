"""`severity`: the labelled severity may be fixed by a hotfix."""

from policies.config import HotfixConfig
from policies.facts import PullRequestFacts
from policies.result import RuleResult, Status
from policies.rule import Rule
from policies.rules.common import severity_labels, single_severity
from policies.wording import join_words

NAME = "severity"


def check(config: HotfixConfig, facts: PullRequestFacts) -> RuleResult:
    allowed_labels = severity_labels(config, allowed_only=True)
    expected = f"a severity that allows a hotfix ({', '.join(allowed_labels) or 'none does'})"
    labelled = single_severity(config, facts.labels)
    if labelled is None:
        return RuleResult(
            NAME,
            Status.NOT_APPLICABLE,
            "no single severity label",
            expected,
            "Not checked: the pull request needs exactly one severity label (see labels)",
        )
    severity, policy = labelled
    label = config.labels.severities[severity]
    # Found in the words of Expected: the label, and the severity it stands for.
    found = label if label == severity else f"{label} (severity {severity})"
    if policy.hotfix_allowed:
        deadline = f"; deadline {policy.deadline} from opening to merge" if policy.deadline else ""
        return RuleResult(
            NAME, Status.PASS, found, expected, f"{severity} may be fixed by a hotfix{deadline}"
        )
    # Opened again as it is, from the hotfix branch or with the hotfix label, the change
    # would be judged as a hotfix again, and fail again.
    regular = (
        f"as a regular change, from a branch that does not start with "
        f"`{config.branches.hotfix_prefix}` and without the `{config.labels.hotfix}` label"
    )
    if config.workflow == "gitflow":
        regular_route = (
            f"open the change again into {config.branches.development} {regular}, to ship in "
            "the next release"
        )
    else:
        regular_route = f"open the change again {regular}, to ship through the regular release"
    more_severe = (
        f"; if the issue is more severe, replace the label {label} "
        f"with {join_words(allowed_labels, 'or')}"
        if allowed_labels
        else ""
    )
    return RuleResult(
        NAME,
        Status.FAIL,
        found,
        expected,
        f"{severity} is not allowed as a hotfix; it goes into the next regular release",
        f"Close this pull request and {regular_route}{more_severe}",
    )


RULE = Rule(NAME, check)
