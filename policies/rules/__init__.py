"""The hotfix rules, in the order the check run lists them (docs/BEHAVIOUR.md, 'Rules').

Adding a rule: a module defining `RULE = Rule(NAME, check)` (with `needs` when it reads
anything from GitHub), and one line here; and in `ROLLBACK_RULES` when it judges rollbacks too.
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

# A rollback's branch and labels are the Revert button's, and its severity is the reverted
# hotfix's (docs/BEHAVIOUR.md, "Rollbacks").
ROLLBACK_RULES: tuple[Rule, ...] = (
    target_branch.RULE,
    approvals.RULE,
    version_bump.ROLLBACK_RULE,
)
