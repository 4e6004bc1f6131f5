"""The report of a post-merge run, as text: the `hotfix-release` check run's title and summary
and the comment on the hotfix pull request saying the same, one row per step, and what is
left for people to do. Pure: `app.handlers.release.comment` and `app.handlers.checks` write them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.handlers.check_output import CheckOutput, fit
from app.handlers.release.plan import CHECK_NAME, ReleasePlan
from app.handlers.release.step import Link, Step, StepOutcome, StepStatus
from app.handlers.release.steps import back_merge
from policies.config import ConfigError
from policies.evaluate import config_error_verdict
from policies.incident import while_failing
from policies.wording import cell, fence_for, join_words, plural, pull_numbers, sentence, when

# Finds the one report comment again when the journal no longer knows its id.
COMMENT_MARKER = "<!-- hotfix-bot:hotfix-release -->"

_OUTCOME = {
    StepStatus.DONE: "✅ done",
    StepStatus.ALREADY_DONE: "✅ already done",
    StepStatus.SKIPPED: "➖ skipped",
    StepStatus.BLOCKED: "➖ skipped",
    StepStatus.WAITING: "⏳ waiting",
    StepStatus.FAILED: "❌ failed",
}


# Each step with its outcome, in the order the steps ran.
StepOutcomes = Sequence[tuple[Step, StepOutcome]]


@dataclass(frozen=True, slots=True)
class Report:
    output: CheckOutput
    conclusion: str
    details_url: str


def steps_report(
    plan: ReleasePlan, outcomes: StepOutcomes, *, resumes_by_itself: bool = False
) -> Report:
    """`resumes_by_itself`: a timer runs the steps again once GitHub's wait is over, when
    GitHub asked a step for one too long to wait in line (`waited_for`); else people re-run
    the check then."""
    outcomes = [item for item in outcomes if item[1].status is not StepStatus.NOT_NEEDED]
    failed = [step.key for step, outcome in outcomes if outcome.status is StepStatus.FAILED]
    skipped = [outcome for _, outcome in outcomes if outcome.status is StepStatus.SKIPPED]
    lines = [
        _what_happened(plan),
        "",
        "| Step | Outcome | Details | Link |",
        "| --- | --- | --- | --- |",
    ]
    for step, outcome in outcomes:
        link = f"[{cell(outcome.link.text)}]({outcome.link.url})" if outcome.link else " "
        lines.append(
            f"| {step.title} | {_OUTCOME[outcome.status]} | {cell(outcome.detail)} | {link} |"
        )
    # Both sections can apply: a failed tag does not stop a back-merge pull request.
    if failed:
        by_hand = _finish_by_hand(plan, outcomes)
        until = waited_for(outcomes)
        if until is not None:
            by_hand = f"{_after_the_wait(until, resumes_by_itself)}\n\n{by_hand}"
        lines += ["", "## Finish by hand", "", by_hand]
    pending = _waiting_back_merge(outcomes)
    if pending is not None:
        lines += [
            "",
            "## Waiting for people",
            "",
            f"GitHub did not take the back-merge into `{plan.back_merge_target}` directly. "
            f"Review and merge [{pending.text}]({pending.url}), then re-run the `{CHECK_NAME}` "
            "check to turn it green.",
        ]
    summary = "\n".join(lines)
    if failed:
        title = f"{len(failed)} of {plural(len(outcomes), 'step')} failed: {join_words(failed)}"
        return Report(CheckOutput(title, summary), "failure", plan.hotfix_url)
    if pending is not None:
        title = f"Back-merge into {plan.back_merge_target} waits for review in {pending.text}"
        return Report(CheckOutput(title, summary), "action_required", pending.url)
    title = f"All steps done for {plan.tag}"
    if skipped:
        title += f" ({len(skipped)} skipped)"
    return Report(CheckOutput(title, summary), "success", plan.hotfix_url)


def waited_for(outcomes: StepOutcomes) -> datetime | None:
    """The latest time GitHub asked a failed step to wait until, when that was too long to
    wait in line: by then every such step may be tried again."""
    return max(
        (
            outcome.waits_until
            for _, outcome in outcomes
            if outcome.status is StepStatus.FAILED and outcome.waits_until is not None
        ),
        default=None,
    )


def _after_the_wait(until: datetime, resumes_by_itself: bool) -> str:
    if resumes_by_itself:
        return (
            f"GitHub asked hotfix-bot to wait until {when(until)}: hotfix-bot runs the steps "
            f"not done again by itself then, as a re-run of the `{CHECK_NAME}` check does."
        )
    return (
        f"GitHub asked hotfix-bot to wait until {when(until)}: re-run the `{CHECK_NAME}` "
        "check after that time to run the steps not done again."
    )


def _what_happened(plan: ReleasePlan) -> str:
    production = plan.config.branches.production
    commit = f"[`{plan.short_sha}`]({plan.commit_url(plan.merge_sha)})"
    if plan.number is None:
        return (
            f"{commit} ({plan.title}) was pushed to `{production}` and raises the version by "
            f"one patch, to {plan.version}: a hotfix."
        )
    failing = plan.failing_at_merge
    if failing is None:
        return f"{plan.description} was merged into `{production}` as {commit}."
    clause = while_failing(failing.failing, failing.title, failing.head_sha)
    return f"{plan.description} was merged into `{production}` as {commit}, {clause}."


def not_a_hotfix_push_report(
    repository_url: str, sha: str, title: str, branch: str, reason: str
) -> Report:
    """The run of commit `sha` pushed to the trunk, no hotfix of its own for the `reason` a
    clause gives: written only over a run that could not tell."""
    commit_url = f"{repository_url}/commit/{sha}"
    summary = (
        f"[`{sha[:7]}`]({commit_url}) ({title}) was pushed to `{branch}` and is not a hotfix "
        f"of its own: {reason}. Nothing to release here."
    )
    return Report(CheckOutput("Not a hotfix push", summary), "neutral", commit_url)


def _waiting_back_merge(outcomes: StepOutcomes) -> Link | None:
    """The back-merge pull request that waits for people, if there is one."""
    return next(
        (
            outcome.link
            for step, outcome in outcomes
            if step.key == back_merge.STEP.key and outcome.status is StepStatus.WAITING
        ),
        None,
    )


def config_problem_report(pull_url: str, production: str, error: ConfigError) -> Report:
    problems = "\n".join(f"- {problem}" for problem in error.problems)
    file = error.file_named(production)
    fix = f"the file on `{production}`" if error.file is None else file
    summary = (
        f"{file} cannot be used, so no post-merge step ran:\n\n"
        f"{problems}\n\nFix {fix}, then re-run this check."
    )
    return Report(CheckOutput(config_error_verdict(error).title, summary), "failure", pull_url)


def several_reverted_report(
    pull: Mapping[str, Any], production: str, several: Sequence[int]
) -> Report:
    """The run of a rollback merged while it names more than one pull request it reverts
    (`several`): no step runs, as a rollback reverts one hotfix and follows it."""
    number, merge_sha = pull["number"], pull["merge_commit_sha"]
    named = pull_numbers(several)
    commit = f"[`{merge_sha[:7]}`]({pull['base']['repo']['html_url']}/commit/{merge_sha})"
    summary = (
        f"Rollback #{number} ({pull['title']}) was merged into `{production}` as {commit}, "
        f"but its description names more than one pull request it reverts: {named}. A "
        "rollback reverts one hotfix, so no post-merge step ran: nothing was tagged or "
        "released, no release is marked rolled back and no hotfix is told.\n\n"
        "To run the steps of a rollback of one of them, keep only that one's `Reverts` line "
        "in this pull request's description, then re-run this check. Record any other by "
        "hand: `Rolled back in <tag>` at the end of its release's notes, and a comment on its "
        "pull request."
    )
    title = f"No post-merge step ran: a rollback reverts one hotfix, #{number} names {named}"
    return Report(CheckOutput(title, summary), "failure", pull["html_url"])


def without_comment(report: Report, number: int, answer: str) -> Report:
    """`report` as the check run shows it when its comment on pull request `number` could not
    be written (GitHub's `answer`): failed, as a run with any part unfinished is, until the
    re-run that writes the comment shows what the steps earned; the steps' table is kept."""
    summary = (
        f"{report.output.summary}\n\n## Report comment not posted\n\n"
        f"The comment with this report could not be posted on #{number}: {sentence(answer)} "
        "This check run is the only copy of the report: once the cause is fixed, re-run the "
        f"`{CHECK_NAME}` check to post it."
    )
    title = f"{report.output.title}; the report comment could not be posted"
    return Report(CheckOutput(title, summary), "failure", report.details_url)


def comment_body(report: Report) -> str:
    return fit(
        f"{COMMENT_MARKER}\n### `{CHECK_NAME}`: {report.output.title}\n\n{report.output.summary}"
    )


def _finish_by_hand(plan: ReleasePlan, outcomes: StepOutcomes) -> str:
    """What finishes, by hand, each step that failed or was blocked: the words of those
    whose own commands would not (`StepOutcome.by_hand`), then the commands of the others
    (those their run wrote, `StepOutcome.commands`, else the step's own), but for the steps
    the former blocked (a failed step that needs one still has its own: it ran without what
    that one makes); and the steps that have no command, which a re-run does once what
    stopped them is fixed."""
    unfinished = {StepStatus.FAILED, StepStatus.BLOCKED}
    told = {
        step.key: outcome.by_hand
        for step, outcome in outcomes
        if outcome.status in unfinished and outcome.by_hand is not None
    }
    commands = []
    for step, outcome in outcomes:
        blocked_by_told = outcome.status is StepStatus.BLOCKED and step.all_needs & told.keys()
        if outcome.status in unfinished and step.key not in told and not blocked_by_told:
            own = outcome.commands
            commands.append((step, list(own) if own is not None else step.manual_commands(plan)))
    script = "\n".join(line for _, lines in commands for line in lines)
    rerun_only = [f"*{step.title}*" for step, lines in commands if not lines]
    parts = list(dict.fromkeys(told.values()))  # words two steps share, once
    if script:
        # Longer than any run of backticks a body in the commands holds: nothing ends it.
        fence = fence_for(script, at_least=3)
        parts.append(
            f"Run these in a clone of `{plan.repository}`, then re-run the `{CHECK_NAME}` "
            f"check to confirm:\n\n{fence}sh\ngit fetch origin\n{script}\n{fence}"
        )
    if rerun_only:
        one = len(rerun_only) == 1
        parts.append(
            f"{join_words(rerun_only)} {'has' if one else 'have'} no command: hotfix-bot writes "
            f"{'it' if one else 'them'} from what it recorded of the hotfix. Fix what "
            f"{'its row names' if one else 'their rows name'}, then re-run the `{CHECK_NAME}` "
            "check."
        )
    return "\n\n".join(parts)
