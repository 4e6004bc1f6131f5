"""Rollback pull requests: recognising one, the pull request it reverts, and whether that one
is a merged hotfix that can be rolled back (docs/BEHAVIOUR.md, "Rollbacks").

GitHub's Revert button on a merged pull request #N opens a pull request from the branch
`revert-<N>-<its head branch>`, titled `Revert "<its title>"` and described
`Reverts owner/repo#N`; a rollback names the pull request it reverts in either place, and
reverts one: one naming more fails its check.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from policies.config import HotfixConfig
from policies.facts import PullRequestFacts, RevertedPull
from policies.pattern import search
from policies.rules.common import has_label, is_hotfix, single_severity
from policies.wording import REASON_LIMIT, shortened

# At most 18 digits, as for merge groups: a number the journal can keep.
_REVERT_BRANCH = re.compile(r"revert-([0-9]{1,18})-")
_REVERTS_LINE = re.compile(
    r"^[ \t]*Reverts[ \t]+([\w.-]+/[\w.-]+)?#([0-9]{1,18})[ \t\r]*$", re.MULTILINE | re.IGNORECASE
)
# What a pull request template leaves in a description besides the author's words: hidden
# comments, headings and checklist items.
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_TEMPLATE_LINES = re.compile(r"^[ \t]*(#{1,6}[ \t].*|[-*][ \t]+\[[ xX]\].*)$", re.MULTILINE)


@dataclass(frozen=True)
class Refusal:
    """Why a pull request that looks like a rollback is none: it is not into the production
    branch, or it reverts no merged hotfix. It is then judged as any other pull request."""

    problem: str  # reads after "but "
    how_to_fix: str  # what would make it a rollback, or why nothing would


@dataclass(frozen=True)
class Rollback:
    """What the check says of a pull request that looks like a rollback, besides its rules:
    a rollback when `refusal` is None, of the hotfix `reverted` unless it names `several`."""

    recognised_by: str  # why it looks like a rollback, in words
    reverted: RevertedPull | None  # a merged hotfix pull request when `refusal` is None
    refusal: Refusal | None
    severity: str | None  # the reverted hotfix's, when it carries exactly one severity label
    # Whether `/hotfix verbal-approval` counts on the rollback: that severity takes them.
    verbal_approval: bool = False
    # The pull requests it names as reverted, when more than one (then `reverted` and
    # `refusal` are None): a rollback reverts one hotfix, so it fails its check.
    several: tuple[int, ...] = ()


def is_rollback(config: HotfixConfig, head_ref: str, labels: Iterable[str]) -> bool:
    """Whether a pull request looks like a rollback: its head branch matches `rollback.pattern`
    or it has the rollback label. It is one when `rollback_refusal` finds nothing wrong."""
    return search(config.rollback.pattern, head_ref) or has_label(labels, config.rollback.label)


def reverted_numbers(head_ref: str, body: str, repository: str) -> tuple[int, ...]:
    """The pull requests a rollback names as the ones it reverts, each once, in the order
    named: the N of each `Reverts owner/repo#N` line of its description naming this
    repository (`Reverts #N` too), else of a `revert-<N>-` head branch. A line says which
    pull request it means, where a branch's number may be anything's (an issue's), so the
    lines win; the Revert button writes both, with the same number."""
    here = repository.casefold()
    named = [
        int(number)
        for of, number in (line.groups() for line in _REVERTS_LINE.finditer(body))
        if of is None or of.casefold() == here
    ]
    if named:
        return tuple(dict.fromkeys(named))
    branch = _REVERT_BRANCH.match(head_ref)
    return () if branch is None else (int(branch.group(1)),)


def reverted_number(head_ref: str, body: str, repository: str) -> int | None:
    """The one pull request a rollback names as the one it reverts (`reverted_numbers`): the
    one the app reads. None when it names none, or more than one."""
    named = reverted_numbers(head_ref, body, repository)
    return named[0] if len(named) == 1 else None


def rollback_reason(body: str) -> str | None:
    """Why the hotfix is rolled back, as the rollback's description says: its first paragraph
    other than the `Reverts` line, on one line, without a closing full stop and cut to
    `REASON_LIMIT` characters."""
    text = _TEMPLATE_LINES.sub("", _HTML_COMMENT.sub("", _REVERTS_LINE.sub("", body)))
    for paragraph in re.split(r"\n\s*\n", text):
        words = " ".join(paragraph.split()).rstrip(". ")  # `broke .` too
        if words:
            return shortened(words, REASON_LIMIT)
    return None


def judge_rollback(config: HotfixConfig, facts: PullRequestFacts) -> Rollback | None:
    """Whether a pull request that looks like a rollback is one, and what it reverts (read by
    the app into `facts.reverted`); None when it does not look like one."""
    if not is_rollback(config, facts.head_ref, facts.labels):
        return None
    pattern = config.rollback.pattern
    recognised_by = (
        f"its head branch `{facts.head_ref}` matches `rollback.pattern` (`{pattern}`)"
        if search(pattern, facts.head_ref)
        else f"it carries the label `{config.rollback.label}`"
    )
    named = reverted_numbers(facts.head_ref, facts.body, facts.repository)
    reverted = facts.reverted
    refusal = rollback_refusal(config, facts.repository, facts.base_ref, named, reverted)
    if refusal is None and len(named) > 1:
        return Rollback(recognised_by, None, None, None, several=named)
    labelled = single_severity(config, reverted.labels) if reverted else None
    return Rollback(
        recognised_by,
        reverted if refusal is None else None,
        refusal,
        labelled[0] if labelled else None,
        labelled[1].verbal_approval if labelled else False,
    )


def rollback_refusal(
    config: HotfixConfig,
    repository: str,
    base_ref: str,
    named: Sequence[int],
    reverted: RevertedPull | None,
) -> Refusal | None:
    """Why a pull request into `base_ref` that looks like a rollback of the pull requests
    `named` (`reverted_numbers`; the one named, as read: `reverted`) is none; None when it is
    one: into the production branch, reverting a hotfix merged there, or naming more than
    one pull request (a rollback that fails its check, `Rollback.several`)."""
    production = config.branches.production
    if base_ref != production:
        return Refusal(
            f"it is into {base_ref}, not the production branch {production}",
            f"A hotfix is rolled back where it shipped: change the base branch to {production}",
        )
    name_the_hotfix = (
        f"Add the line `Reverts {repository}#N` to this pull request's description, in place "
        "of any other `Reverts` line, N being the number of the merged hotfix pull request it "
        "reverts (that line names it, whatever the branch is called); or close it and use "
        "the **Revert** button of that pull request, which names it"
    )
    if not named:
        return Refusal("it names no pull request it reverts", name_the_hotfix)
    if len(named) > 1:
        return None
    number = named[0]
    if reverted is None:
        return Refusal(f"there is no pull request #{number}", name_the_hotfix)
    if reverted.state == "open":
        return Refusal(
            f"#{number} is still open",
            f"Nothing of #{number} is in {production} yet: close #{number} instead of "
            "rolling it back, and close this pull request",
        )
    if not reverted.merged:
        return Refusal(
            f"#{number} was closed without being merged",
            f"#{number} never reached {production}, so there is nothing to roll back: "
            "close this pull request",
        )
    if not is_hotfix(config, reverted.head_ref, reverted.labels):
        return Refusal(
            f"#{number} is not a hotfix pull request",
            "Only a hotfix is rolled back; any other change is reverted through the regular "
            f"release process. If this pull request reverts a hotfix, name it instead: "
            f"{name_the_hotfix[0].lower()}{name_the_hotfix[1:]}",
        )
    if reverted.base_ref != production:
        return Refusal(
            f"#{number} was merged into {reverted.base_ref}, not the production branch "
            f"{production}",
            f"#{number} shipped in no hotfix release of {production}: revert it through the "
            "regular release process, and close this pull request",
        )
    return None
