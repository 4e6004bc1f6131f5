"""The hotfix rules, in the order the check run lists them (docs/BEHAVIOUR.md, 'Rules').

Adding a rule: a module defining `RULE = Rule(NAME, check)` (with `needs` when it reads
anything from GitHub), and one line here.
"""

from policies.rule import Rule
from policies.rules import approvals, branch_name, labels, severity, target_branch, version_bump

RULES: tuple[Rule, ...] = (
    branch_name.RULE,
    target_branch.RULE,
    labels.RULE,
    severity.RULE,
    approvals.RULE,
    version_bump.RULE,
)
