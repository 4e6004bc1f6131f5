"""`target-branch`: the pull request merges into the production branch."""

import shlex

from policies.config import HotfixConfig
from policies.facts import PullRequestFacts
from policies.result import RuleResult, Status
from policies.rule import Rule

NAME = "target-branch"


def check(config: HotfixConfig, facts: PullRequestFacts) -> RuleResult:
    production = config.branches.production
    if facts.base_ref == production:
        return RuleResult(
            NAME,
            Status.PASS,
            facts.base_ref,
            production,
            f"Targets the production branch {production}",
        )
    return RuleResult(
        NAME,
        Status.FAIL,
        facts.base_ref,
        production,
        f"Targets {facts.base_ref}, but a hotfix must target the production branch {production}",
        f"gh pr edit {facts.number} --base {shlex.quote(production)}",
    )


RULE = Rule(NAME, check)
