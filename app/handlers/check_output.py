"""Check-run output as maintainers read it: a one-line title, a table, then how to fix."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.github.client import LongWait
from policies.accounts import AUTHOR_DELETED
from policies.clock import RequestOutcome
from policies.config import CONFIG_PATH, ConfigError
from policies.evaluate import Conclusion, Verdict
from policies.facts import BreakGlass
from policies.notices import RefusedNotice, fill
from policies.result import RuleResult, Status
from policies.rollback import Rollback
from policies.rules import ROLLBACK_RULES, RULES
from policies.timeline import EarlierRollback
from policies.versions import Version, next_patch
from policies.wording import (
    cell,
    duration_words,
    join_words,
    pull_numbers,
    sentence,
    time_left,
    when,
    when_beside,
)

# GitHub refuses check-run output fields longer than this.
CHECK_NAME = "hotfix-policy"  # the run every evaluation of a pull request or merge group writes

MAX_OUTPUT_BYTES = 65_535  # GitHub counts the summary's UTF-8 bytes, not its characters
_TRUNCATED = "\n\n… (cut to fit GitHub's limit of 65,535 bytes)"
# A title is one line, shown where a line fits: one longer is cut, ending with an ellipsis.
MAX_TITLE_BYTES = 1_000
_TITLE_CUT = "…"

_RESULT = {
    Status.PASS: "✅ pass",
    Status.FAIL: "❌ fail",
    Status.PENDING: "⏳ waiting",
    Status.NOT_APPLICABLE: "➖ not checked",
    Status.WAIVED: "⚠️ waived",
}


@dataclass(frozen=True, slots=True)
class CheckOutput:
    title: str
    summary: str

    def as_json(self) -> dict[str, str]:
        return {
            "title": fit(self.title, MAX_TITLE_BYTES, _TITLE_CUT),
            "summary": fit(self.summary),
        }


def fit(text: str, limit: int = MAX_OUTPUT_BYTES, cut: str = _TRUNCATED) -> str:
    """`text`, or as much of it as fits in `limit` bytes followed by `cut`."""
    encoded = text.encode()
    if len(encoded) <= limit:
        return text
    room = limit - len(cut.encode())
    # A character cut in two at the end is left out whole.
    return encoded[:room].decode(errors="ignore") + cut


@dataclass(frozen=True)
class ConfigChange:
    """A pull request into `base_ref` whose head branch changes the repository's config file,
    and the problems of the file as it leaves it (none: it can be used). `org_wide`: the file
    is its organization's defaults too. `rechecks`: the file as it leaves it names `base_ref`
    the production branch, so the push of its merge has the open hotfix pull requests into
    it evaluated again (docs/BEHAVIOUR.md, 'Triggers')."""

    base_ref: str
    head_ref: str
    problems: tuple[str, ...]
    org_wide: bool = False
    rechecks: bool = False

    def lines(self) -> list[str]:
        """What it does, told under a file on `base_ref` that can be used."""
        judged = (
            f"This pull request changes `{CONFIG_PATH}`, but is judged by the file on "
            f"`{self.base_ref}`: a pull request cannot change its own policy."
        )
        if not self.problems:
            return [
                f"{judged} Its change applies to the pull requests {self._whose} after its merge."
            ]
        return self._unusable(
            f"{judged} As it leaves the file, the file cannot be used, and every pull request "
            f"{self._whose} after its merge would fail on it:"
        )

    def fixing_lines(self) -> list[str]:
        """What it does, told under a file on `base_ref` that cannot be used: whether it fixes
        that file, and then why its own check cannot pass before its merge."""
        if self.problems:
            return self._unusable(
                f"This pull request changes `{CONFIG_PATH}`, but as it leaves the file, the "
                "file cannot be used either:"
            )
        base = self.base_ref
        # The push of the merge evaluates only the open hotfixes, and only this repository's:
        # any other run that failed on the file stays as it is until something evaluates its
        # pull request again.
        into = f"this repository's `{base}`" if self.org_wide else f"`{base}`"
        again = (
            f"the open hotfix pull requests into {into} are evaluated again at its merge, "
            "any other at its next event or when its check is re-run"
            if self.rechecks
            else "each is evaluated again at its next event, or when its check is re-run"
        )
        return [
            f"This pull request fixes `{CONFIG_PATH}`: as it leaves the file, the config can "
            f"be used. This check judges it by the file on `{base}` all the same (a pull "
            "request cannot change its own policy), so it cannot pass before the merge: where "
            f"`{CHECK_NAME}` is a required check on `{base}`, only someone allowed to bypass "
            "that requirement (as a repository admin may be) can merge it. Once merged, its "
            f"file applies to the pull requests {self._whose}: {again}."
        ]

    @property
    def _whose(self) -> str:
        """Those the file judges once merged: a hotfix is judged by its own base branch's."""
        return "of the organization's repositories" if self.org_wide else f"into `{self.base_ref}`"

    def _unusable(self, said: str) -> list[str]:
        return [
            said,
            "",
            *(f"- {problem}" for problem in self.problems),
            "",
            f"Fix it on `{self.head_ref}` before the merge; `hotfix-bot config validate` checks "
            "it offline.",
        ]


def policy_output(
    verdict: Verdict,
    config_used: str,
    review_requests: Sequence[RequestOutcome] = (),
    refused_notices: Sequence[RefusedNotice] = (),
    rolled_back_already: EarlierRollback | None = None,
    config_change: ConfigChange | None = None,
) -> CheckOutput:
    """The run of a pull request; `config_used` is the line saying which files made the
    config (`Config: ...`), `config_change` what the pull request's change of it would do. A
    rollback's first lines say what it rolls back (and the rollback of it merged before,
    `rolled_back_already`), where a hotfix's say its severity and deadline;
    `refused_notices`, the notices of the pull request's that GitHub did not post."""
    rollback = verdict.rollback
    why_not, to_make_it_one = _not_a_rollback(verdict.not_a_rollback)
    if not verdict.results:  # not a hotfix pull request
        lines = [
            f"This pull request is not a hotfix: its head branch {verdict.not_a_hotfix}, so "
            f"`{CONFIG_PATH}` does not apply.",
            "",
            *why_not,
            config_used,
            *(["", *config_change.lines()] if config_change is not None else []),
            *to_make_it_one,
        ]
        return CheckOutput(verdict.title, "\n".join(lines))
    lines = _rollback_lines(rollback, rolled_back_already) if rollback is not None else why_not
    if verdict.severity is not None:
        lines += [f"**Severity {verdict.severity}**{_deadline_words(verdict)}.", ""]
    if verdict.break_glass is not None:
        lines += [
            f"{_break_glass(verdict.break_glass)} Every rule that fails or waits is waived; "
            "after the merge an issue asks for a retroactive review. `/hotfix break-glass off` "
            "withdraws it.",
            "",
        ]
    if verdict.dormant_break_glass is not None:
        # A rollback follows the severity of the hotfix it rolls back.
        label = "the pull request's" if rollback is None else "the rolled-back hotfix's"
        lines += [
            f"{_break_glass(verdict.dormant_break_glass)} It is **not in force**: a break-glass "
            f"waives the rules only while {label} one severity label allows a hotfix "
            "and a break-glass. `/hotfix break-glass off` withdraws it.",
            "",
        ]
    if review_requests:
        lines += _review_requests(verdict.severity, review_requests)
    if refused_notices:
        lines += _refused_notices(refused_notices)
    lines += [config_used, ""]
    if config_change is not None:
        lines += [*config_change.lines(), ""]
    lines += ["| Rule | Result | Found | Expected |", "| --- | --- | --- | --- |"]
    lines += [
        f"| `{r.rule}` | {_RESULT[r.status]} | {cell(r.found)} | {cell(r.expected)} |"
        for r in verdict.results
    ]
    lines += _fixes(verdict.results)
    lines += to_make_it_one
    return CheckOutput(verdict.title, "\n".join(lines))


def _refused_notices(refused: Sequence[RefusedNotice]) -> list[str]:
    lines = ["**Notices not posted on this pull request**:"]
    for notice in refused:
        told = "sent to chat only" if notice.in_chat else "not sent to chat either"
        lines.append(f"- {notice.name}: {notice.refusal}; {told}")
    return [*lines, ""]


def _deadline_words(verdict: Verdict) -> str:
    """`: merge within 2h of opening, by 2026-12-05 04:10 UTC: 1h45m left as of 02:25 UTC`,
    as far as the severity and the evaluation know it."""
    words = f": merge within {verdict.deadline} of opening" if verdict.deadline is not None else ""
    due, left = verdict.due, verdict.time_left
    if due is None:
        return words
    words += f", by {when(due)}"
    if left is None:
        return words
    # The summary stays up until the next evaluation, hours later maybe: the time left is
    # true only with the time of the evaluation (`due - left`) beside it.
    said = f"**{time_left(left)}**" if verdict.overdue else time_left(left)
    return f"{words}: {said} as of {when_beside(due - left, due)}"


def _break_glass(glass: BreakGlass) -> str:
    return f"**Break-glass** by @{glass.by} at {when(glass.at)}: {glass.reason}."


def _review_requests(severity: str | None, outcomes: Sequence[RequestOutcome]) -> list[str]:
    lines = [f"**Review requests** (made once for {severity}):"]
    for outcome in outcomes:
        if outcome.refused is None:
            lines.append(f"- {outcome.group}: asked {outcome.who}")
        elif outcome.asked_again:
            lines.append(
                f"- {outcome.group}: GitHub did not take the review request for {outcome.who} "
                f"({outcome.refused}); hotfix-bot asks again at the pull request's next event"
            )
        else:
            lines.append(
                f"- {outcome.group}: GitHub refused to ask {outcome.who} ({outcome.refused}); "
                "ask them yourself"
            )
    return [*lines, ""]


def escalation_comment(
    pull_request: Mapping[str, str],
    mentions: Sequence[str],
    opened_at: datetime,
    now: datetime,
    verdict: Verdict,
    template: str | None = None,
    *,
    author_deleted: bool = False,
) -> str:
    """An escalation step's reminder on a hotfix pull request (docs/BEHAVIOUR.md, 'The
    incident clock'): the built-in wording, or the repository's `template` filled in with
    `pull_request`'s values (`notices.pull_request_values`) and the step's. `author_deleted`:
    the step notifies the author, whose account was deleted, and `mentions` lacks them."""
    severity, open_for = pull_request["severity"], duration_words(now - opened_at)
    if verdict.due is not None and verdict.deadline is not None and verdict.time_left is not None:
        deadline = (
            f"Deadline {when(verdict.due)} ({verdict.deadline} after opening): "
            f"**{time_left(verdict.time_left)}**."
        )
    else:
        deadline = f"{severity} has no deadline."
    if template is not None:
        values = {"mentions": " ".join(mentions), "open_for": open_for, "deadline": deadline}
        return fill(template, {**pull_request, **values, "check": verdict.title})
    opening = f"this **{severity}** hotfix has been open for **{open_for}**."
    to = f"{' '.join(mentions)}: {opening}" if mentions else opening[0].upper() + opening[1:]
    text = f"{to} {deadline}\n\n`hotfix-policy`: {verdict.title}"
    if author_deleted:
        text += f"\n\n{AUTHOR_DELETED.capitalize()}: this reminder cannot mention them."
    return text


def _rollback_lines(rollback: Rollback, rolled_back_already: EarlierRollback | None) -> list[str]:
    """What a rollback reverts (and whether another rollback of it came first), why some
    rules do not judge it, and whether a verbal approval counts."""
    if rollback.several:
        named = pull_numbers(rollback.several)
        return [
            f"**Rollback of more than one pull request**: this pull request is a rollback "
            f"because {rollback.recognised_by}, and its description names {named} as the "
            "pull requests it reverts. A rollback reverts one hotfix, whose severity its "
            "approvals follow: its rules judge it once it names one.",
            "",
        ]
    assert rollback.reverted is not None  # named whenever a rollback is judged by rules
    reverted = rollback.reverted
    kind = f"a {rollback.severity} hotfix" if rollback.severity else "a hotfix"
    # By name: a rule may judge a rollback with a check of its own (`version-bump`).
    applying = {rule.name for rule in ROLLBACK_RULES}
    left_out = join_words([f"`{rule.name}`" for rule in RULES if rule.name not in applying])
    verbal = _verbal_words(rollback, reverted.number)
    earlier = rolled_back_already
    return [
        f"**Rollback of #{reverted.number}** ({reverted.title}), {kind}: this pull request "
        f"is a rollback because {rollback.recognised_by}.",
        "",
        *(
            [
                f"{earlier.words(reverted.number, strong=True)}: make sure this one is still "
                "wanted. Merged, it is a rollback like that one: tagged and released, and "
                f"told in the notes of #{reverted.number}'s release, on #{reverted.number}, "
                "in chat and in the incident report.",
                "",
            ]
            if earlier is not None
            else []
        ),
        f"{left_out} do not apply to a rollback: it is recognised by its branch or label, "
        "and its approvals are those of `rollback.approvals`, by default one from any "
        f"approval group of the rolled-back hotfix's severity. {verbal}",
        "",
    ]


def _verbal_words(rollback: Rollback, reverted: int) -> str:
    """Whether `/hotfix verbal-approval` counts on a rollback, and why not when it does not:
    the rolled-back hotfix's severity decides."""
    severity = rollback.severity
    if severity is None:
        return (
            f"A verbal approval does not count: #{reverted} has no single "
            "severity label to allow it."
        )
    if not rollback.verbal_approval:
        return (
            f"A verbal approval does not count: {severity} does not take them "
            f"(`severities.{severity}.verbal_approval`)."
        )
    return f"A verbal approval (`/hotfix verbal-approval`) counts, as {severity} takes them."


def _not_a_rollback(looks_like_one: Rollback | None) -> tuple[list[str], list[str]]:
    """For whoever meant the pull request as a rollback, when it looks like one but is none:
    the lines above the table saying why, and those at the end saying what would make it one."""
    refusal = looks_like_one.refusal if looks_like_one is not None else None
    if looks_like_one is None or refusal is None:
        return [], []
    why_not = (
        f"It is not taken as a rollback, though {looks_like_one.recognised_by}: a rollback "
        "goes into the production branch and reverts a merged hotfix pull request, but "
        f"{refusal.problem}."
    )
    return [why_not, ""], ["", "## If it is meant as a rollback", "", f"{refusal.how_to_fix}."]


def _fixes(results: tuple[RuleResult, ...]) -> list[str]:
    """What to do for each rule that fails, or waits (whom to ask for approval)."""
    open_rules = [
        result
        for result in results
        if result.status in (Status.FAIL, Status.PENDING) and result.how_to_fix
    ]
    if not open_rules:
        return []
    lines = ["", "## How to fix"]
    for result in open_rules:
        lines += ["", f"### `{result.rule}`", "", result.summary, "", result.how_to_fix]
    return lines


def config_error_output(
    verdict: Verdict,
    error: ConfigError,
    config_used: str,
    base_branch: str,
    merged: bool,
    config_change: ConfigChange | None = None,
) -> CheckOutput:
    """The run of a pull request into `base_branch` whose config files cannot be used;
    `merged`: judged as it stood at its merge; `config_change`: what the pull request's own
    change of the repository's file does, which is then what it is told to do."""
    problems = "\n".join(f"- {problem}" for problem in error.problems)
    if error.file is None:
        where = f"`{CONFIG_PATH}` on the base branch `{base_branch}`"
        if merged:
            # Its file is the one at the merge commit's first parent: no fix reaches it, but
            # the post-merge steps read the branch's file as it is now (docs/BEHAVIOUR.md,
            # 'Where it is read').
            fix = (
                "This pull request merged while the file could not be used: it is judged by "
                "the file as it stood at its merge, which fixing the file does not change, so "
                f"re-running this check changes nothing. The file on `{base_branch}` applies "
                "to the pull requests to come, and re-running the merge commit's "
                "`hotfix-release` check runs the post-merge steps by it."
            )
        elif config_change is not None:
            # Its own change of the file is the fix, or what keeps it from being one.
            fix = "\n".join(config_change.fixing_lines())
        else:
            fix = (
                f"Fix the file on `{base_branch}` (a pull request cannot change its own "
                "policy), then re-run this check. `hotfix-bot config validate` checks a file "
                "offline."
            )
    else:
        # The organization's file is read as it is now, also for a merged pull request.
        where = f"`{error.file}`, the organization's defaults,"
        fix = (
            f"Fix `{error.file}` on its repository's default branch, then re-run this check. "
            "`hotfix-bot config validate --org-file` checks it offline."
        )
    return CheckOutput(
        verdict.title,
        f"{where} cannot be used, so no rule was checked:\n\n{problems}\n\n{config_used}\n\n{fix}",
    )


def closed_while_waiting_output(number: int) -> CheckOutput:
    """The run of pull request `number`, closed without a merge while it waited for approval
    (docs/BEHAVIOUR.md, 'Closed while waiting')."""
    return CheckOutput(
        "Closed without being merged while waiting for approval",
        f"#{number} was closed without being merged while this check waited for approval, so "
        "nothing waits for that approval any more. Reopening the pull request evaluates it "
        "again.",
    )


def replaced_while_waiting_output(number: int, replaced: str, head_sha: str) -> CheckOutput:
    """The run of `replaced`, the head commit of pull request `number` until a push moved it
    to `head_sha` while the run waited for approval (docs/BEHAVIOUR.md, 'Replaced while
    waiting')."""
    old, new = replaced[:7], head_sha[:7]
    return CheckOutput(
        f"Replaced by a push: evaluated on {new}",
        f"A push moved the head of #{number} from {old} to {new} while this check waited for "
        f"approval. The hotfix-policy run of {new} is the one that counts now.",
    )


def error_output(title: str, reason: str) -> CheckOutput:
    return CheckOutput(
        title,
        f"hotfix-bot could not finish: {sentence(reason)}\n\nRe-run this check once the cause "
        "is fixed; `hotfix-bot deliveries --status failed` lists what failed on the server.",
    )


def long_wait_output(title: str, reason: str, long_wait: LongWait) -> CheckOutput:
    return CheckOutput(
        f"GitHub rate-limited hotfix-bot until {long_wait.when}"
        if long_wait.rate_limited
        else f"GitHub asked hotfix-bot to wait until {long_wait.when}",
        f"{title}: {sentence(reason)}\n\n{long_wait}; re-run this check then.",
    )


@dataclass(frozen=True)
class QueuedVersions:
    """The version a hotfix in a merge queue ships (`shipped`), and the one the queue ahead
    of it holds (`ahead`, released as `ahead_tag`) at the commit its group is built on
    (`group_base`)."""

    group_base: str
    shipped: Version
    ahead: Version
    ahead_tag: str


# What a merge group's run says of the pull request it adds, by that pull request's
# conclusion: what was found, and what follows for the group.
_QUEUED_PULL: dict[Conclusion | None, tuple[str, str]] = {
    Conclusion.SUCCESS: ("passes the hotfix policy", ", so this merge group may merge."),
    Conclusion.NEUTRAL: ("is not a hotfix pull request", ", so this merge group may merge."),
    Conclusion.FAILURE: (
        "does not pass the hotfix policy",
        ". The merge queue removes it: fix what is shown below, then add it to the queue again.",
    ),
    None: (
        "still waits for approval",
        ". A merge group cannot wait, so the merge queue removes it: add it to the queue "
        "again once the approvals below are in.",
    ),
}


# A break-glass passes a pull request by waiving its rules, not by their passing.
_BROKEN_GLASS = (
    "is let through by a break-glass, which waives what fails or waits,",
    ", so this merge group may merge.",
)


def merge_group_output(
    number: int,
    title: str,
    head_sha: str,
    conclusion: Conclusion | None,
    policy: CheckOutput,
    warning: str | None = None,
    *,
    broken_glass: bool = False,
) -> CheckOutput:
    """The `hotfix-policy` run of a merge group, from the result (`conclusion`, `policy`) of
    the pull request it adds, evaluated on that pull request's head commit; `warning`, when
    given, follows what the result means for the group. `broken_glass`: a break-glass in
    force concluded that result, waiving the rules it passes by."""
    found, then = _BROKEN_GLASS if broken_glass else _QUEUED_PULL[conclusion]
    warned = "" if warning is None else f"\n\n{warning}"
    return CheckOutput(
        f"Pull request #{number}: {policy.title}",
        f"Pull request #{number} ({title}) {found} on its head commit `{head_sha[:7]}`{then}"
        f"{warned}\n\n---\n\n{policy.summary}",
    )


def version_taken_in_queue_warning(pull: Mapping[str, Any], queued: QueuedVersions) -> str:
    """What a merge group's run warns of when `pull`, a hotfix that passes on its own, is
    built on the commit the queue ahead of it leaves, whose version is as high as the one
    `pull` ships or higher (`queued`). The group still passes, as the pull request does on its
    own; the warning says what merging after the queue ahead would do, and how to avoid it."""
    number, head, base = pull["number"], pull["head"]["ref"], pull["base"]["ref"]
    return (
        f"⚠️ **Warning:** this merge group is built on `{queued.group_base[:7]}`, which "
        f"already holds version {queued.ahead}, raised by the pull requests queued ahead of "
        f"it; #{number} ships {queued.shipped}. Merged after them, #{number} would not raise "
        f"the version: the tag its release needs, `{queued.ahead_tag}`, would be theirs. Take "
        f"#{number} out of the merge queue: once they have merged, bring `{head}` up to date "
        f"with `{base}` (`git merge origin/{base}`), set the version to "
        f"{next_patch(queued.ahead)}, and once its own hotfix-policy check passes on that "
        # The push leaves the approvals on an older commit: they are given again first.
        "commit (approvals count for the head commit only), add it to the queue again."
    )


def unnamed_merge_group_output(head_ref: object) -> CheckOutput:
    """The `hotfix-policy` run of a merge group whose branch names no pull request."""
    return CheckOutput(
        "No pull request named by this merge group",
        f"The merge group's ref `{head_ref}` is not of the form "
        "`refs/heads/gh-readonly-queue/<base>/pr-<number>-<sha>`, so hotfix-bot cannot tell "
        "which pull request it adds, nor whether that one is a hotfix that passes the policy. "
        "Rather than let an unchecked change into the branch, the group fails: the merge "
        "queue removes it and goes on with the next.",
    )
