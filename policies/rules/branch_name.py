"""`branch-name`: the head branch fully matches `branches.hotfix_pattern`."""

import re
import shlex

from policies.config import HotfixConfig
from policies.facts import PullRequestFacts
from policies.pattern import full_match
from policies.result import RuleResult, Status
from policies.rule import Rule

NAME = "branch-name"


def _suggested_name(config: HotfixConfig, branch: str) -> str | None:
    """The branch name tidied into the usual `prefix/words-with-dashes` form, if it fits."""
    prefix = config.branches.hotfix_prefix
    rest = branch[len(prefix) :] if branch.casefold().startswith(prefix.casefold()) else branch
    words = re.sub(r"[^a-z0-9]+", "-", rest.lower()).strip("-") or "describe-the-fix"
    candidate = prefix.lower() + words
    return candidate if full_match(config.branches.hotfix_pattern, candidate) else None


def check(config: HotfixConfig, facts: PullRequestFacts) -> RuleResult:
    pattern = config.branches.hotfix_pattern
    branch = facts.head_ref
    expected = f"a branch name that fully matches `{pattern}`"
    if full_match(pattern, branch):
        return RuleResult(
            NAME, Status.PASS, branch, expected, f"Branch {branch} matches `{pattern}`"
        )
    suggestion = _suggested_name(config, branch)
    # A pull request keeps its head branch, so a renamed branch needs a new pull request.
    if suggestion is None:
        fix = (
            f"Push the work to a branch whose name fully matches `{pattern}` "
            "and open a new pull request from it"
        )
    else:
        fix = (
            f"Rename the branch, push it, then open a new pull request from {suggestion} "
            "and close this one:\n\n```sh\n"
            f"git branch -m {shlex.quote(branch)} {shlex.quote(suggestion)}\n"
            f"git push origin -u {shlex.quote(suggestion)}\n```"
        )
    return RuleResult(
        NAME,
        Status.FAIL,
        branch,
        expected,
        f"Branch {branch} does not match `{pattern}`",
        fix,
    )


RULE = Rule(NAME, check)
