"""Rollback in the report (rollbacks): the rollback added to the rolled-back hotfix's timeline,
and, when that hotfix has an incident report issue, one comment on it adding the rollback to
the report's timeline (docs/BEHAVIOUR.md, "Rollbacks"). A hidden line naming the rollback
finds the comment again.
"""

from __future__ import annotations

import shlex
from datetime import datetime

from app.handlers import timeline
from app.handlers.notices import find_or_post
from app.handlers.release.plan import ReleasePlan, RolledBack
from app.handlers.release.step import (
    Link,
    Step,
    StepOutcome,
    StepRun,
    StepStatus,
    no_commands,
    rollbacks_only,
    with_text_on_stdin,
)
from app.handlers.release.steps import incident_report, tag
from policies.incident import report_title, timeline_continued
from policies.timeline import TimelineEvent, rolled_back


def _hidden_line(plan: ReleasePlan) -> str:
    return f"<!-- hotfix-bot:incident-timeline rollback #{plan.number} -->"


async def add_to_report(run: StepRun) -> StepOutcome:
    plan, context = run.plan, run.context
    hotfix = plan.rolled_back
    assert hotfix is not None and plan.number is not None  # a merged rollback pull request
    if tag.STEP.key in run.outstanding_needs:
        # The row is written once: it waits to say what the rollback was released as.
        return StepOutcome(StepStatus.BLOCKED, "needs the tag, which failed: the row names it")
    event = _row(plan, plan.merged_at or context.now())
    await timeline.record(context, hotfix.number, [event])
    report = await incident_report.existing_report(run, hotfix.number, hotfix.report)
    if report is None:
        return StepOutcome(StepStatus.NOT_NEEDED, f"#{hotfix.number} has no incident report")
    number = report["number"]
    text = timeline_continued([event])
    comment, posted = await find_or_post(context, number, _hidden_line(plan), text)
    link = Link(f"#{number}", comment["html_url"])
    if not posted:
        detail = f"the incident report #{number} already had the rollback in its timeline"
        return StepOutcome(StepStatus.ALREADY_DONE, detail, link)
    return StepOutcome(
        StepStatus.DONE,
        f"added the rollback to the timeline of the incident report #{number}",
        link,
    )


def _row(plan: ReleasePlan, at: datetime) -> TimelineEvent:
    """The rollback's row in the rolled-back hotfix's timeline."""
    assert plan.number is not None and plan.rolled_back is not None  # a merged rollback
    return rolled_back(
        plan.number,
        plan.title,
        plan.config.branches.production,
        plan.merged_by,
        plan.short_sha,
        plan.tag,
        at,
        plan.rolled_back.already,
    )


def add_to_report_commands(plan: ReleasePlan) -> list[str]:
    assert plan.rolled_back is not None  # the step applies to rollbacks only
    if plan.merged_at is None:
        return no_commands(plan)  # the row's time is the run's
    comment = f"gh issue comment {_report_by_hand(plan.rolled_back)} --body-file -"
    text = timeline_continued([_row(plan, plan.merged_at)])
    return [with_text_on_stdin(comment, f"{_hidden_line(plan)}\n{text}")]


def _report_by_hand(hotfix: RolledBack) -> str:
    """The incident report issue of `hotfix` as a `gh` argument: the number its run recorded,
    as the step finds it (its label may have been taken off since); else the number `gh`
    lists under the label for the report's title."""
    if hotfix.report is not None:
        return str(hotfix.report)
    title = shlex.quote(f"{report_title(hotfix.title)} in:title")
    find = f"gh issue list --label {incident_report.LABEL} --state all --search {title}"
    return f"\"$({find} --json number --jq '.[0].number')\""


STEP = Step(
    "rollback-in-report",
    "Report timeline",
    add_to_report,
    add_to_report_commands,
    needs=(tag.STEP,),
    applies=rollbacks_only,
)
