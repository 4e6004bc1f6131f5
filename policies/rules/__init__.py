"""The hotfix rules, in the order the check run lists them (CONTRACT §4.1).

Adding a rule: a module with `check(config, facts) -> RuleResult`, and one line here.
"""

from collections.abc import Callable

from policies.config import HotfixConfig
from policies.facts import PullRequestFacts
from policies.result import RuleResult
from policies.rules import approvals, branch_name, labels, severity, target_branch, version_bump

Rule = Callable[[HotfixConfig, PullRequestFacts], RuleResult]

RULES: list[Rule] = [
    branch_name.check,
    target_branch.check,
    labels.check,
    severity.check,
    approvals.check,
    version_bump.check,
]
