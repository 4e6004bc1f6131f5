"""`branch-name`: the head branch fully matches `branches.hotfix_pattern`."""

import re
import shlex

from policies.config import HotfixConfig, unmatchable_prefix_advice
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


def _move_to(config: HotfixConfig, facts: PullRequestFacts, new_branch: str) -> str:
    """The commands that rename the head branch to `new_branch`, push it and, for a pull
    request from a fork, open the new pull request."""
    rename = f"git branch -m {shlex.quote(facts.head_ref)} {shlex.quote(new_branch)}"
    push = f"git push origin -u {shlex.quote(new_branch)}"
    if facts.head_is_same_repo:
        # The new pull request keeps this one's title, description and labels (its severity
        # among them), so that its check and clock start as this one's did.
        labels = "".join(f" --label {shlex.quote(label)}" for label in sorted(facts.labels))
        create = (
            f"gh pr view {facts.number} --json body --jq .body |\n"
            f"  gh pr create --base {shlex.quote(config.branches.production)} "
            f"--head {shlex.quote(new_branch)} --title {shlex.quote(facts.title)}{labels} "
            "--body-file -"
        )
        close = f"gh pr close {facts.number}"
        return (
            f"Rename the branch, push it, open a new pull request from {new_branch} and close "
            f"this one:\n\n```sh\n{rename}\n{push}\n{create}\n{close}\n```"
        )
    # The branch is the fork's: only its clone has it, with the fork as `origin`, and the base
    # repository usually takes no push from the contributor. gh would open a pull request into
    # that clone's `origin`, so --repo names the base repository; the head is the branch just
    # pushed with -u (`--head owner:branch` takes no organization's fork).
    create = (
        f"gh pr create --repo {shlex.quote(facts.gh_repository)} "
        f"--base {shlex.quote(config.branches.production)}"
    )
    fork = facts.head_repo_full_name or "the fork"  # a deleted fork has no name
    head = f"{fork.split('/', 1)[0]}:{new_branch}" if facts.head_repo_full_name else new_branch
    return (
        f"In your clone of {fork}, where `origin` is the fork, rename the branch, push it, then "
        f"open a new pull request from {head} into {facts.repository} and close this one:"
        f"\n\n```sh\n{rename}\n{push}\n{create}\n```"
    )


def moved_to(config: HotfixConfig, facts: PullRequestFacts) -> str | None:
    """The branch this rule's fix moves the work to: the tidied name when the head branch
    fails the rule and that name fits; None when it passes or the fix names no branch."""
    if full_match(config.branches.hotfix_pattern, facts.head_ref):
        return None
    return _suggested_name(config, facts.head_ref)


def check(config: HotfixConfig, facts: PullRequestFacts) -> RuleResult:
    pattern = config.branches.hotfix_pattern
    branch = facts.head_ref
    expected = f"a branch name that fully matches `{pattern}`"
    if full_match(pattern, branch):
        return RuleResult(
            NAME, Status.PASS, branch, expected, f"Branch {branch} matches `{pattern}`"
        )
    # No rename can pass when the pattern disagrees with the prefix: the config needs the fix.
    config_fix = unmatchable_prefix_advice(config)
    suggestion = moved_to(config, facts)
    # A pull request keeps its head branch, so a renamed branch needs a new pull request.
    if config_fix is not None:
        fix = config_fix
    elif suggestion is None:
        # As `_move_to`'s commands do: the new pull request carries the labels (its severity
        # among them), and this one, whose branch can never pass, is closed.
        labels = ", ".join(f"`{label}`" for label in sorted(facts.labels))
        keep = f" with this one's labels ({labels})" if labels else ""
        fix = (
            f"Push the work to a branch whose name fully matches `{pattern}`, open a new pull "
            f"request from it into {config.branches.production}{keep} and close this one"
        )
    else:
        fix = _move_to(config, facts, suggestion)
    return RuleResult(
        NAME,
        Status.FAIL,
        branch,
        expected,
        f"Branch {branch} does not match `{pattern}`",
        fix,
    )


RULE = Rule(NAME, check)
