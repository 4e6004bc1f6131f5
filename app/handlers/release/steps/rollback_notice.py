"""Rollback notice (rollbacks): the rollback notice posted once on the rolled-back hotfix pull
request, found again by a hidden marker.

`rollback_notice` words it, so that every other place told of the rollback (a chat message,
the incident report's timeline) says the same: each is a step of its own after this one, with
`applies=rollbacks_only`.
"""

from __future__ import annotations

import shlex

from app.handlers.release.plan import ReleasePlan
from app.handlers.release.step import Link, Step, StepOutcome, StepRun, StepStatus, rollbacks_only
from app.handlers.release.steps import release

# docs/BEHAVIOUR.md, "Rollbacks": the rollback notice of the hotfix procedures, its
# `{placeholders}` filled by `rollback_notice`.
ROLLBACK_TEMPLATE = (
    "🔄 ROLLBACK COMPLETE\n"
    "\n"
    "The hotfix has been rolled back due to {reason}.\n"
    "System is now stable on previous version.\n"
    "We are investigating the issue and will provide updates.\n"
    "\n"
    "{rolled_back_by}"
)


def rollback_notice(plan: ReleasePlan) -> str:
    assert plan.rolled_back is not None  # a notice is of a rollback
    reason = plan.rolled_back.reason or f"a problem found after its release (see #{plan.number})"
    released = f", released as {plan.tag}" if plan.tag else ""
    rolled_back_by = f"Rolled back by #{plan.number} ({plan.title}){released}."
    # Plain replacement: str.format on people's text could reach object attributes.
    return ROLLBACK_TEMPLATE.replace("{reason}", reason).replace("{rolled_back_by}", rolled_back_by)


def _marker(plan: ReleasePlan) -> str:
    # Names the rollback: a hotfix re-applied and rolled back again gets a notice per rollback.
    return f"<!-- hotfix-bot:rollback-notice #{plan.number} -->"


def _comment_body(plan: ReleasePlan) -> str:
    return f"{_marker(plan)}\n{rollback_notice(plan)}"


async def post_notice(run: StepRun) -> StepOutcome:
    github, plan = run.github, run.plan
    assert plan.rolled_back is not None  # the step applies to rollbacks only
    number = plan.rolled_back.number
    comments_path = f"/repos/{plan.repository}/issues/{number}/comments"
    comments = await github.get_all(comments_path)
    posted = next((c for c in comments if _marker(plan) in (c.get("body") or "")), None)
    if posted is not None:
        return StepOutcome(
            StepStatus.ALREADY_DONE,
            f"the rollback notice was already on #{number}",
            Link(f"#{number}", posted["html_url"]),
        )
    created = await github.request("POST", comments_path, body={"body": _comment_body(plan)})
    return StepOutcome(
        StepStatus.DONE,
        f"posted the rollback notice on #{number}",
        Link(f"#{number}", created.json()["html_url"]),
    )


def notice_commands(plan: ReleasePlan) -> list[str]:
    assert plan.rolled_back is not None  # the step applies to rollbacks only
    return [f"gh pr comment {plan.rolled_back.number} --body {shlex.quote(_comment_body(plan))}"]


STEP = Step(
    "rollback-notice",
    "Rollback notice",
    post_notice,
    notice_commands,
    needs=(release.STEP,),  # it says the rollback was released as its tag
    applies=rollbacks_only,
)
