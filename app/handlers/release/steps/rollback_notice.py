"""Rollback notice (rollbacks): the rollback notice posted once on the rolled-back hotfix pull
request, found again by a hidden marker, and sent to chat (docs/BEHAVIOUR.md, "Rollbacks").

`rollback_notice` words it from the repository's `notices.templates.rollback` or the built-in
one, so that every other place told of the rollback says the same.
"""

from __future__ import annotations

from app.handlers.notices import post_and_chat
from app.handlers.release.plan import ReleasePlan
from app.handlers.release.step import (
    Link,
    Step,
    StepOutcome,
    StepRun,
    StepStatus,
    rollbacks_only,
    with_text_on_stdin,
)
from app.handlers.release.steps import release, tag
from policies.notices import DEFAULT_TEMPLATES, ROLLBACK, fill, pull_request_values


def rollback_notice(plan: ReleasePlan) -> str:
    hotfix = plan.rolled_back
    assert hotfix is not None  # a notice is of a rollback
    # A hotfix without a tag has no release to speak of: the problem was found after its merge.
    found_after = "release" if hotfix.tag is not None else "merge"
    reason = hotfix.reason or f"a problem found after its {found_after} (see #{plan.number})"
    # With `release: false` there is no release to name: the tag alone says what shipped.
    shipped = "released as" if plan.config.release else "tagged"
    shipped_as = f", {shipped} {plan.tag}" if plan.tag else ""
    values = pull_request_values(
        plan.repository, hotfix.number, hotfix.title, hotfix.author, hotfix.severity or ""
    )
    values["reason"] = reason
    # In the value a repository's template fills too: a second rollback says so wherever told.
    already = "" if hotfix.already is None else f" {hotfix.already}."
    values["rolled_back_by"] = f"Rolled back by #{plan.number} ({plan.title}){shipped_as}.{already}"
    template = plan.config.notices.template(ROLLBACK) or DEFAULT_TEMPLATES[ROLLBACK]
    return fill(template, values)


def _marker(plan: ReleasePlan) -> str:
    # Names the rollback: a hotfix re-applied and rolled back again gets a notice per rollback.
    return f"<!-- hotfix-bot:rollback-notice #{plan.number} -->"


async def post_notice(run: StepRun) -> StepOutcome:
    plan = run.plan
    assert plan.rolled_back is not None  # the step applies to rollbacks only
    if run.outstanding_needs:
        # Posted once, never corrected: it waits for the tag it names, and for the release
        # it speaks of (one skipped by `release: false` is not waited for).
        need = "tag" if tag.STEP.key in run.outstanding_needs else "release"
        return StepOutcome(
            StepStatus.BLOCKED, f"needs the {need}, which failed: the notice names it"
        )
    number, text = plan.rolled_back.number, rollback_notice(plan)
    notice_id = f"rollback:{plan.repository}#{plan.number}"
    comment, posted = await post_and_chat(
        run.context, number, notice_id, _marker(plan), text, chat=plan.config.notify.chat
    )
    link = Link(f"#{number}", comment["html_url"])
    if not posted:
        return StepOutcome(
            StepStatus.ALREADY_DONE, f"the rollback notice was already on #{number}", link
        )
    return StepOutcome(StepStatus.DONE, f"posted the rollback notice on #{number}", link)


def notice_commands(plan: ReleasePlan) -> list[str]:
    assert plan.rolled_back is not None  # the step applies to rollbacks only
    comment = f"gh pr comment {plan.rolled_back.number} --body-file -"
    return [with_text_on_stdin(comment, f"{_marker(plan)}\n{rollback_notice(plan)}")]


STEP = Step(
    "rollback-notice",
    "Rollback notice",
    post_notice,
    notice_commands,
    needs=(tag.STEP, release.STEP),  # it names the rollback's tag, and its release if any
    applies=rollbacks_only,
)
