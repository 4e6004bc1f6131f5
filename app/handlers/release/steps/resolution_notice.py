"""Resolution notice: after a P0 or P1 hotfix merges, the hotfix procedures' "Resolution
Notice" on its pull request, once (docs/BEHAVIOUR.md, 'The record and the notices'): how long
the incident took, the timeline's key rows, the tag and when the incident report is due.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.github.reads import Look
from app.handlers import timeline
from app.handlers.notices import comments_look, send_notice
from app.handlers.release.plan import ReleasePlan
from app.handlers.release.step import (
    Step,
    StepOutcome,
    StepRun,
    StepStatus,
    hotfixes_only,
    no_commands,
)
from app.handlers.release.steps import incident_report
from policies.incident import RESOLVED_SEVERITIES, resolution_values
from policies.notices import DEFAULT_TEMPLATES, RESOLUTION, fill


def _notice_id(plan: ReleasePlan) -> str:
    return f"resolution:{plan.repository}#{plan.number}"


async def post_resolution_notice(run: StepRun) -> StepOutcome:
    plan = run.plan
    incident = incident_report.incident_of(run)
    if incident is None or incident.severity not in RESOLVED_SEVERITIES:
        return StepOutcome(StepStatus.NOT_NEEDED, "a resolution notice is for P0 and P1")
    # Posted once, never corrected (nor can chat be): it waits for what it names.
    if incident.tag is None:
        return StepOutcome(StepStatus.BLOCKED, "needs the tag, which failed: the notice names it")
    opened = run.earlier.get(incident_report.STEP.key)
    link = opened.link if opened is not None and opened.status.happened else None
    if link is None and incident.due_at is not None:
        return StepOutcome(
            StepStatus.BLOCKED, "needs the incident report, which failed: the notice links it"
        )
    events = await timeline.load(run.context, incident.number)
    values = resolution_values(incident, events, f"[{link.text}]({link.url})" if link else None)
    template = plan.config.notices.template(RESOLUTION) or DEFAULT_TEMPLATES[RESOLUTION]
    text, chat = fill(template, values), plan.config.notify.chat
    notice_id = _notice_id(plan)
    if await send_notice(run.context, incident.number, notice_id, text, chat=chat, reads=run.reads):
        return StepOutcome(StepStatus.DONE, "posted the resolution notice on the pull request")
    return StepOutcome(StepStatus.ALREADY_DONE, "the resolution notice was posted before")


def resolution_notice_looks(plan: ReleasePlan) -> Sequence[Look]:
    # The notice is posted by the hotfix's post-merge run alone, which holds the release
    # lock; other comments there do not carry its marker.
    if plan.number is None or plan.severity not in RESOLVED_SEVERITIES:
        return ()
    return (comments_look(plan.repository, plan.number),)


STEP = Step(
    "resolution-notice",
    "Resolution notice",
    post_resolution_notice,
    # It holds the timeline's key rows: a run writes it, and sends it to chat.
    no_commands,
    # It links the incident report and, through what that needs, the tag, the release and
    # their rows of the timeline.
    needs=(incident_report.STEP,),
    applies=hotfixes_only,
    looks=resolution_notice_looks,
)
