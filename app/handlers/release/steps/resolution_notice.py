"""Resolution notice: after a P0 or P1 hotfix merges, the hotfix procedures' "Resolution
Notice" on its pull request, once (docs/BEHAVIOUR.md, 'The record and the notices'): how long
the incident took, the timeline's key rows, the tag and when the incident report is due.
Posted while the incident report was not opened yet, it says so, and is edited to link the
report once a re-run opens it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.github.reads import Look
from app.handlers import timeline
from app.handlers.notices import Sent, comments_look, find_marked, marker, send_notice
from app.handlers.release.plan import ReleasePlan
from app.handlers.release.step import (
    Step,
    StepOutcome,
    StepRun,
    StepStatus,
    commands_if_it_fails,
    hotfixes_only,
    no_commands,
    with_text_on_stdin,
)
from app.handlers.release.steps import incident_report
from policies.incident import RESOLVED_SEVERITIES, Incident, report_words, resolution_values
from policies.notices import DEFAULT_TEMPLATES, RESOLUTION, fill
from policies.timeline import rolled_back_by


def _notice_id(plan: ReleasePlan) -> str:
    return f"resolution:{plan.repository}#{plan.number}"


async def post_resolution_notice(run: StepRun) -> StepOutcome:
    plan = run.plan
    incident = incident_report.incident_of(run)
    if incident is None or incident.severity not in RESOLVED_SEVERITIES:
        return StepOutcome(StepStatus.NOT_NEEDED, "a resolution notice is for P0 and P1")
    events = await timeline.load(run.context, incident.number)
    notice_id = _notice_id(plan)
    # Read before posting, so that a refusal to post leaves commands that post no second.
    comments = await run.look(comments_look(plan.repository, incident.number))
    rollback = rolled_back_by(events)
    if rollback is not None and find_marked(comments, marker(notice_id)) is None:
        # Its run came after the rollback's (a refused release re-run, deliveries out of
        # order): the notice would say production was restored by what was already undone,
        # after the rollback notice.
        return StepOutcome(
            StepStatus.SKIPPED,
            f"not posted: rollback #{rollback} undid the hotfix before it, so the hotfix did "
            "not restore production",
        )
    # Posted once, and its chat message is never corrected: it waits for the tag it names.
    if incident.tag is None:
        return StepOutcome(StepStatus.BLOCKED, "needs the tag, which failed: the notice names it")
    opened = run.earlier.get(incident_report.STEP.key)
    # Its outcome links the report once it is open, even failed (GitHub refused an edit since).
    link = opened.link if opened is not None else None
    report = f"[{link.text}]({link.url})" if link else None
    template = plan.config.notices.template(RESOLUTION) or DEFAULT_TEMPLATES[RESOLUTION]
    text = fill(template, resolution_values(incident, events, report))
    post = f"gh pr comment {incident.number} --body-file -"
    with commands_if_it_fails([with_text_on_stdin(post, f"{marker(notice_id)}\n{text}")]):
        sent = await send_notice(
            run.context,
            incident.number,
            notice_id,
            text,
            chat=plan.config.notify.chat,
            reads=run.reads,
        )
    posted = sent is Sent.POSTED
    if link is None and incident.due_at is not None:
        # The report failed: the notice says it is not opened yet, and the re-run that opens
        # it (or finds it opened by hand) edits the notice to link it.
        said = (
            "posted the resolution notice" if posted else "the resolution notice was posted before"
        )
        return StepOutcome(
            StepStatus.WAITING, f"{said}; it waits for the incident report to link it"
        )
    if posted:
        return StepOutcome(StepStatus.DONE, "posted the resolution notice on the pull request")
    if link is not None and await _link_the_report(run, incident, comments, notice_id, report):
        return StepOutcome(
            StepStatus.DONE, f"the resolution notice links the incident report {link.text} now"
        )
    return StepOutcome(StepStatus.ALREADY_DONE, "the resolution notice was posted before")


async def _link_the_report(
    run: StepRun,
    incident: Incident,
    comments: Sequence[dict[str, Any]],
    notice_id: str,
    report: str | None,
) -> bool:
    """The notice posted while the incident report was not opened yet: its words saying so
    become `report`, linked, in one edit (chat had it once, and is not told again). False
    when it says something else: it links the report already, or people changed it."""
    hidden_line = marker(notice_id)
    notice = find_marked(comments, hidden_line)
    if notice is None:
        return False
    body = notice.get("body") or ""
    unopened, linked = report_words(incident, None), report_words(incident, report)
    if unopened not in body or linked in body:
        return False
    path = f"/repos/{run.plan.repository}/issues/comments/{notice['id']}"
    await run.github.request("PATCH", path, body={"body": body.replace(unopened, linked)})
    return True


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
    # It holds the timeline's key rows: a run writes it, and sends it to chat; refused, its
    # outcome gives the command that posts it whole.
    no_commands,
    # It links the incident report and, through what that needs, the tag, the release and
    # their rows of the timeline.
    needs=(incident_report.STEP,),
    applies=hotfixes_only,
    looks=resolution_notice_looks,
)
