"""Retroactive review: after a break-glass in force at the merge, one issue asks the approval
groups it waived to review the hotfix as it merged (docs/BEHAVIOUR.md, 'Comment commands'),
assigned to whoever broke the glass when GitHub takes them as an assignee, else unassigned. A
hidden marker in its body finds it again, so redeliveries and re-runs never open a second.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from app.github.issues import find_opened_issue, open_issue
from app.handlers.records import BreakGlassRecord
from app.handlers.release.plan import ReleasePlan
from app.handlers.release.step import (
    Link,
    Step,
    StepOutcome,
    StepRun,
    StepStatus,
    open_issue_commands,
)
from app.handlers.repository import former_names
from policies.config import ApprovalGroup
from policies.rules.approvals import rollback_need
from policies.wording import join_words, title_of

LABEL = "hotfix-retro-review"


def _marker(plan: ReleasePlan, repository: str | None = None) -> str:
    """The issue's hidden marker, of the repository's name (or of `repository`, a name it
    had before)."""
    return f"<!-- hotfix-bot:retro-review {repository or plan.repository}#{plan.number} -->"


def _title(plan: ReleasePlan) -> str:
    return title_of("Retroactive review: ", plan.title)


async def open_retro_review(run: StepRun) -> StepOutcome:
    github, plan, glass = run.github, run.plan, run.plan.break_glass
    assert glass is not None  # the step applies only after a break-glass
    by = glass.glass.by
    existing = await _existing_issue(run)
    if existing is not None:
        return StepOutcome(
            StepStatus.ALREADY_DONE,
            f"issue #{existing['number']} already asks for a review of the break-glass by @{by}",
            Link(f"#{existing['number']}", existing["html_url"]),
        )
    fields = {"title": _title(plan), "body": _body(plan, glass), "labels": [LABEL]}
    issue, assigned = await open_issue(github, plan.repository, fields, by)
    to = "assigned to them" if assigned else "unassigned (GitHub would not assign it to them)"
    return StepOutcome(
        StepStatus.DONE,
        f"opened issue #{issue['number']} for the break-glass by @{by}, {to}",
        Link(f"#{issue['number']}", issue["html_url"]),
    )


async def _existing_issue(run: StepRun) -> dict[str, Any] | None:
    github, plan = run.github, run.plan
    # GitHub lists pull requests among issues; only an issue carries the marker.
    issues = await github.get_all(f"/repos/{plan.repository}/issues?labels={LABEL}&state=all")
    markers = [_marker(plan), *(_marker(plan, name) for name in await former_names(run.context))]
    return await find_opened_issue(github, plan.repository, issues, markers)


def _body(plan: ReleasePlan, record: BreakGlassRecord) -> str:
    glass = record.glass
    groups = ", ".join(
        join_words([f"{group.name} ({_mentions(plan, group)})" for group in alternatives], "or")
        for alternatives in _waived_groups(plan)
    )
    waived = [
        f"- `{rule}`: {groups}" if rule == "approvals" and groups else f"- `{rule}`"
        for rule in plan.waived.rules
    ] or ["- nothing: every rule passed when it was last checked"]
    # With nothing waived the usual checks did pass: the issue must not say they were skipped.
    merged = (
        "so it merged without the usual checks"
        if plan.waived.rules
        else "and it merged while the break-glass was in force"
    )
    return "\n\n".join(
        [
            _marker(plan),
            f"@{glass.by} broke the glass on [#{plan.number}]({plan.hotfix_url}) ({plan.title}) "
            f"at {glass.at.astimezone(UTC):%Y-%m-%d %H:%M} UTC, {merged}. "
            f"The reason given: {glass.reason}",
            "What the break-glass waived:\n" + "\n".join(waived),
            f"Please review the change as it merged, [`{plan.short_sha}`]"
            f"({plan.commit_url(plan.merge_sha)}), and close this issue once it is reviewed.",
        ]
    )


def _waived_groups(plan: ReleasePlan) -> list[list[ApprovalGroup]]:
    """The approval groups the break-glass waived, as alternatives: one group of each went
    unfilled (someone who approved could count for either; a rollback's one approval from any
    group of the hotfix's severity)."""
    if plan.rolled_back is not None:
        # A rollback's approvals: `rollback.approvals`, or any group of the rolled-back
        # hotfix's severity (kept as the severity of what was waived).
        need = rollback_need(plan.config, plan.waived.severity)
        seats = need.seats if need is not None else ()
        alternatives = [
            [group for one in seats if one.name in names for group in one.groups]
            for names in plan.waived.groups
        ]
    else:
        policy = plan.config.severities.get(plan.waived.severity or "")
        approvals = policy.approvals if policy is not None else ()
        alternatives = [
            [group for group in approvals if group.name in names] for names in plan.waived.groups
        ]
    return [groups for groups in alternatives if groups]


def _mentions(plan: ReleasePlan, group: ApprovalGroup) -> str:
    if group.team is not None:
        return f"@{plan.repository.split('/')[0]}/{group.team}"
    return ", ".join(f"@{user}" for user in group.users or ())


def retro_review_commands(plan: ReleasePlan) -> list[str]:
    glass = plan.break_glass
    assert glass is not None  # the step applies only after a break-glass
    # The whole body, marker and all: a re-run finds the issue and opens no second.
    return open_issue_commands(_title(plan), [LABEL], glass.glass.by, _body(plan, glass))


def _after_a_break_glass(plan: ReleasePlan) -> bool:
    # Not an outcome kept for good: a break-glass written before the merge and delivered
    # after it runs the step again, on a run that had none.
    return plan.break_glass is not None


STEP = Step(
    "retro-review",
    "Retroactive review",
    open_retro_review,
    retro_review_commands,
    applies=_after_a_break_glass,
)
