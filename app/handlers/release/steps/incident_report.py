"""Incident report: one issue `Incident report: <title>` after a hotfix whose severity has an
`incident_report`, following the hotfix procedures' template with its summary and timeline
filled in (docs/BEHAVIOUR.md, 'The record and the notices'). The number a run recorded, or a
hidden marker in its body, finds it again, so no redelivery, re-run or run cut short after
creating it opens a second.
When it is due, a timer reminds its assignee once if it is still open.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from app.github.issues import find_opened_issue, open_issue
from app.github.reads import Look
from app.handlers import timeline
from app.handlers.notices import comments_look, find_marked, find_or_post
from app.handlers.records import VerbalRecord
from app.handlers.release.plan import ReleasePlan
from app.handlers.release.step import (
    Link,
    Step,
    StepOutcome,
    StepRun,
    StepStatus,
    commands_if_it_fails,
    hotfixes_only,
    no_commands,
    open_issue_commands,
    with_text_on_stdin,
)
from app.handlers.release.steps import back_merge, release, retro_review, tag, verbal_approvals
from app.handlers.repository import former_names
from app.handlers.routing import Context
from policies.accounts import AUTHOR_DELETED
from policies.facts import BreakGlass
from policies.incident import (
    UNTAGGED,
    Incident,
    release_words,
    report_body,
    report_title,
    timeline_continued,
    while_failing,
)
from policies.timeline import Kind, TimelineEvent, approval_key, step_key
from policies.wording import cell, join_words, when

LABEL = "incident-report"
REMINDER = "incident-report-due"  # the timer's kind: its handler is app/handlers/incident.py


def _approvals_seen_key(repository: str, number: int) -> str:
    return f"incident-report-approvals:{repository}#{number}"


async def approvals_unseen(context: Context, number: int) -> bool:
    """Whether hotfix #`number`'s timeline holds approvals this step has not looked at since
    it opened its report (or a report opened before it kept them)."""
    approvals = _approval_keys(await timeline.load(context, number))
    if not approvals:
        return False
    seen = await context.state.get_state(_approvals_seen_key(context.repository, number))
    return seen is None or not approvals <= set(json.loads(seen))


def _approval_keys(events: Sequence[TimelineEvent]) -> set[str]:
    return {event.key for event in events if event.kind is Kind.APPROVAL}


async def _approvals_looked_at(run: StepRun, number: int, events: Sequence[TimelineEvent]) -> None:
    """Keep the approvals of `events`, the timeline the report was opened from or compared
    with, as seen (`approvals_unseen`)."""
    key, seen = _approvals_seen_key(run.plan.repository, number), sorted(_approval_keys(events))
    if await run.context.state.get_state(key) != json.dumps(seen):
        await run.context.state.set_state(key, json.dumps(seen))


def _marker(repository: str, number: int | None) -> str:
    return f"<!-- hotfix-bot:incident-report {repository}#{number} -->"


def incident_of(run: StepRun) -> Incident | None:
    """The merged hotfix as the report tells of it, with the tag and release this run made;
    None for a merge without one severity label (or a push to the trunk)."""
    plan = run.plan
    number, severity, opened_at, merged_at = (
        plan.number,
        plan.severity,
        plan.opened_at,
        plan.merged_at,
    )
    if number is None or severity is None or opened_at is None or merged_at is None:
        return None
    policy = plan.config.severities[severity]
    tag_url = _made(run, tag.STEP)
    return Incident(
        repository=plan.repository,
        number=number,
        title=plan.title,
        url=plan.hotfix_url,
        author=plan.author,
        severity=severity,
        opened_at=opened_at,
        merged_at=merged_at,
        deadline=policy.deadline,
        report_due=policy.incident_report.due if policy.incident_report else None,
        tag=plan.tag if tag_url else None,
        tag_url=tag_url,
        release_url=_made(run, release.STEP),
    )


def _made(run: StepRun, step: Step) -> str | None:
    """The link of what `step` made (or found made) in this run; None if it did not."""
    outcome = run.earlier.get(step.key)
    if outcome is None or not outcome.status.finished or outcome.link is None:
        return None
    return outcome.link.url


async def open_incident_report(run: StepRun) -> StepOutcome:
    plan = run.plan
    incident = incident_of(run)
    due_at = incident.due_at if incident else None
    if incident is None or due_at is None:
        return StepOutcome(StepStatus.NOT_NEEDED, "no incident report for this severity")
    existing = await existing_report(run, incident.number, recorded_report(run.previous))
    if existing is not None:
        # Read once: each addition below compares the report with the same timeline.
        events = await timeline.load(run.context, incident.number)
        issue, news = await _note_the_verbal_approvals(run, incident, existing, events)
        issue, review = await _name_the_review(run, issue)
        outcome = StepOutcome(
            StepStatus.ALREADY_DONE,
            f"issue #{issue['number']} already holds the incident report, due {when(due_at)}",
            _link(issue),
        )
        if review:
            news.append(f"names the retroactive review {review}")
        # One comment at most: each adds every row the report lacks, late approvals included.
        if await _name_the_release(run, incident, issue, events):
            news.append(f"names {incident.tag}")
        elif await _add_the_back_merge(run, incident, issue, events):
            news.append("has the back-merge in its timeline")
        elif await _add_late_approvals(run, incident, issue, events):
            news.append("has the approvals given before the merge in its timeline")
        await _approvals_looked_at(run, incident.number, events)
        if news:
            outcome = StepOutcome(
                StepStatus.DONE,
                f"issue #{issue['number']} {join_words(news)} now, due {when(due_at)}",
                outcome.link,
            )
    else:
        events = await timeline.load(run.context, incident.number)
        body = f"{_marker(plan.repository, incident.number)}\n"
        body += report_body(incident, events, _notes(run))
        labels = [LABEL, plan.config.labels.severities[plan.severity or ""]]
        fields = {"title": report_title(plan.title), "body": body, "labels": labels}
        with commands_if_it_fails(_open_by_hand(report_title(plan.title), labels, plan, body)):
            issue, assigned = await open_issue(
                run.github, plan.repository, fields, plan.author_to_ask
            )
        await _approvals_looked_at(run, incident.number, events)
        if plan.author_to_ask is None:
            to = f"unassigned: {AUTHOR_DELETED}"
        else:
            to = f"{'assigned to' if assigned else 'GitHub would not assign it to'} @{plan.author}"
        outcome = StepOutcome(
            StepStatus.DONE,
            f"opened issue #{issue['number']} ({to}), due {when(due_at)}",
            _link(issue),
        )
    if incident.tag is None or release.STEP.key in run.outstanding_needs:
        # Not finished: a re-run, once they are made, puts the tag and release in the report
        # (a release skipped by `release: false` is not waited for: the tag alone is named).
        outcome = StepOutcome(
            StepStatus.WAITING,
            f"{outcome.detail}; it waits for the tag and release to name them",
            outcome.link,
        )
    if retro_review.STEP.key in run.outstanding_needs:
        # Nor while the retroactive review is still to be opened: the re-run that opens it
        # writes it into the break-glass line.
        outcome = StepOutcome(
            StepStatus.WAITING,
            f"{outcome.detail}; it waits for the retroactive review to name it",
            outcome.link,
        )
    if back_merge.STEP.key in run.outstanding_needs:
        # Nor while people have the back-merge: the re-run that finds it done adds its row.
        outcome = StepOutcome(
            StepStatus.WAITING,
            f"{outcome.detail}; it waits for the back-merge to add it to its timeline",
            outcome.link,
        )
    waiting = verbal_approvals.unconfirmed(plan)
    if waiting:
        # Not finished either: the run a confirmation starts writes it into the report.
        once = "it is" if len(waiting) == 1 else "they are"
        outcome = StepOutcome(
            StepStatus.WAITING,
            f"{outcome.detail}; it will show {_approvals_of(waiting)} confirmed once {once}",
            outcome.link,
        )
    reminder = {"hotfix": incident.number, "author": plan.author, "chat": plan.config.notify.chat}
    await run.context.timers.schedule(
        REMINDER, "due", due_at, reminder, number=int(issue["number"])
    )
    return outcome


def _open_by_hand(title: str, labels: Sequence[str], plan: ReleasePlan, body: str) -> list[str]:
    """The commands that open the report as the step would: the body whole, marker and all,
    so that a re-run finds it and opens no second."""
    return open_issue_commands(title, labels, plan.author_to_ask, body)


def _link(issue: dict[str, Any]) -> Link:
    return Link(f"#{issue['number']}", issue["html_url"])


async def _name_the_release(
    run: StepRun, incident: Incident, issue: dict[str, Any], events: Sequence[TimelineEvent]
) -> bool:
    """A report opened while the tag or the release failed: the words saying so become the
    tag and release a re-run made, and one comment adds their rows to its timeline. False
    when the report had them already."""
    body = issue.get("body") or ""
    named = release_words(incident)
    unnamed = (UNTAGGED, release_words(replace(incident, release_url=None)))
    earlier = next((words for words in unnamed if words != named and words in body), None)
    if incident.tag is None or earlier is None or named in body:
        return False
    edited = body.replace(earlier, named)
    # Known before the edit: once the words name the release, no run writes this comment.
    rows = await _rows_to_add(run, {**issue, "body": edited}, events, incident.tag)
    issue = await _edit_body(run, issue, edited, then=rows)
    if rows is not None:
        await _continue_the_timeline(run, issue, rows)
    return True


async def _add_the_back_merge(
    run: StepRun, incident: Incident, issue: dict[str, Any], events: Sequence[TimelineEvent]
) -> bool:
    """A report opened while the back-merge waited for people (or failed): once a re-run
    finds it done, one comment adds its row to the report's timeline. False when the report
    had it already."""
    merged_back = run.earlier.get(back_merge.STEP.key)
    if merged_back is None or not merged_back.status.finished:
        return False
    key, body = step_key(back_merge.STEP.key, merged_back.status), issue.get("body") or ""
    if not any(event.key == key and cell(event.text) not in body for event in events):
        return False  # the report was opened after it
    rows = await _rows_to_add(run, issue, events, "back-merge")
    if rows is None:
        return False
    await _continue_the_timeline(run, issue, rows)
    return True


async def _add_late_approvals(
    run: StepRun, incident: Incident, issue: dict[str, Any], events: Sequence[TimelineEvent]
) -> bool:
    """Approvals given before the merge that joined the timeline after the report was opened
    (GitHub delivered their reviews after the merge, or only the evaluation as of the merge
    counted them): one comment adds the rows neither the report nor its comments show,
    found again by the first one's key. False when there are none."""
    approvals = [e for e in events if e.kind is Kind.APPROVAL and e.at <= incident.merged_at]
    return bool(approvals) and await _post_late_approvals(run, issue, approvals)


async def _post_late_approvals(
    run: StepRun, issue: dict[str, Any], approvals: Sequence[TimelineEvent]
) -> bool:
    """The comment adding those of `approvals` the report and its comments do not show."""
    comments = await run.look(comments_look(run.plan.repository, int(issue["number"])))
    shown = [issue.get("body") or ""] + [comment.get("body") or "" for comment in comments]
    late = [e for e in approvals if not any(cell(e.text) in text for text in shown)]
    if not late:
        return False
    rows = await _rows_to_add(run, issue, late, f"approvals {late[0].key}")
    if rows is None:
        return False
    await _continue_the_timeline(run, issue, rows)
    return True


@dataclass(frozen=True, slots=True)
class _TimelineRows:
    """A comment adding rows to the report's timeline: headed by its hidden line, it is
    found again."""

    hidden_line: str
    text: str

    def by_hand(self, issue: dict[str, Any]) -> str:
        post = f"gh issue comment {issue['number']} --body-file -"
        return with_text_on_stdin(post, f"{self.hidden_line}\n{self.text}")


async def _rows_to_add(
    run: StepRun, issue: dict[str, Any], events: Sequence[TimelineEvent], name: str
) -> _TimelineRows | None:
    """The comment adding to the report the rows of `events` (its timeline) that neither its
    body nor an earlier such comment shows (they happened after it was opened), found again
    by a hidden line carrying `name`. None when there are none, or it was posted before."""
    missing = [event for event in events if cell(event.text) not in (issue.get("body") or "")]
    if not missing:
        return None
    comments = await run.look(comments_look(run.plan.repository, int(issue["number"])))
    hidden_line = f"<!-- hotfix-bot:incident-timeline {name} -->"
    if find_marked(comments, hidden_line) is not None:
        return None
    shown = [comment.get("body") or "" for comment in comments]
    missing = [event for event in missing if not any(cell(event.text) in text for text in shown)]
    return _TimelineRows(hidden_line, timeline_continued(missing)) if missing else None


async def _continue_the_timeline(run: StepRun, issue: dict[str, Any], rows: _TimelineRows) -> None:
    """`rows` posted on the report; refused, the command that posts them is given."""
    with commands_if_it_fails([rows.by_hand(issue)], _link(issue)):
        await find_or_post(run.context, issue["number"], rows.hidden_line, rows.text, run.reads)


def _notes(run: StepRun) -> list[str]:
    """What the summary says besides the template's lines: the severities it was labelled
    with when more than one, a merge while `hotfix-policy` was failing, the verbal approvals
    that let the hotfix merge, and the retroactive review of a break-glass."""
    plan, notes = run.plan, []
    if len(plan.labelled_severities) > 1:
        notes.append(_several_severities_note(plan))
    failing = plan.failing_at_merge
    if failing is not None:
        clause = while_failing(failing.failing, failing.title, failing.head_sha)
        notes.append(f"**Policy check:** merged {clause}.")
    verbal = _verbal_approvals_note(plan)
    if verbal is not None:
        notes.append(verbal)
    if plan.break_glass is not None:
        notes.append(_break_glass_note(plan.break_glass.glass, _review_of(run)))
    return notes


def _several_severities_note(plan: ReleasePlan) -> str:
    names = plan.config.labels.severities
    labels = join_words([f"`{names[severity]}`" for severity in plan.labelled_severities])
    return (
        f"**Severity:** the pull request was labelled {labels}, more than one severity; this "
        f"report takes {plan.severity}, the first of them in the config's order. Correct it "
        "here if the incident was of another."
    )


def _break_glass_note(glass: BreakGlass, review: Link | None) -> str:
    where = f"; retroactive review in [{review.text}]({review.url})" if review else ""
    return f"**Break-glass:** by @{glass.by}: {glass.reason}{where}"


def _review_of(run: StepRun) -> Link | None:
    """The retroactive review issue, when the run opened or found it."""
    review = run.earlier.get(retro_review.STEP.key)
    return review.link if review is not None else None


async def _name_the_review(
    run: StepRun, issue: dict[str, Any]
) -> tuple[dict[str, Any], str | None]:
    """A report opened while the retroactive review failed: its break-glass line, as written
    then, gains the review a re-run opened. The issue as it is then, and the review named
    (None when the line had it, or people changed it)."""
    glass, review = run.plan.break_glass, _review_of(run)
    if glass is None or review is None:
        return issue, None
    unnamed = re.compile(
        rf"^- {re.escape(_break_glass_note(glass.glass, None))}(?=\r?$)", re.MULTILINE
    )
    body = issue.get("body") or ""
    named = f"- {_break_glass_note(glass.glass, review)}"
    edited = unnamed.sub(lambda _: named, body, count=1)
    if edited == body:
        return issue, None
    return await _edit_body(run, issue, edited), review.text


_VERBAL_APPROVALS = "**Verbal approvals:**"
# Its line in the summary, as `report_body` writes a note; the end of a line is left out, be
# it GitHub's `\r\n` after an edit in the browser.
_VERBAL_APPROVALS_LINE = re.compile(rf"^- {re.escape(_VERBAL_APPROVALS)} [^\r\n]*", re.MULTILINE)
# The summary line a line of verbal approvals comes before, as `report_body` orders its notes.
_AFTER_THE_VERBAL_APPROVALS = re.compile(r"^- \*\*(?:Break-glass|Impact):\*\*", re.MULTILINE)


def _verbal_approvals_note(plan: ReleasePlan) -> str | None:
    """The verbal approvals that counted: those still **unconfirmed**, then each confirmed
    one, how and when; None when none counted."""
    waiting = verbal_approvals.unconfirmed(plan)
    parts = (
        [f"{join_words([str(r.approval) for r in waiting])}, **unconfirmed**"] if waiting else []
    )
    parts += [
        f"{record.approval}, {verbal_approvals.confirmation_words(record.confirmation)} at "
        f"{when(record.confirmation.at)}"
        for record in plan.verbal_approvals
        if record.confirmation is not None
    ]
    return f"{_VERBAL_APPROVALS} {'; '.join(parts)}" if parts else None


async def _note_the_verbal_approvals(
    run: StepRun, incident: Incident, issue: dict[str, Any], events: Sequence[TimelineEvent]
) -> tuple[dict[str, Any], list[str]]:
    """The report's line of verbal approvals written again with what was told since it was
    written: the verbal approvals told of only after it was opened (the line is added when
    there was none) and the confirmations given since. The issue as it is then, and what it
    shows now, in words (none when the line said so already, or people removed a line that
    had them)."""
    plan = run.plan
    note = _verbal_approvals_note(plan)
    if note is None:
        return issue, []
    body = issue.get("body") or ""
    told_late = _verbal_approvals_told_late(run, events, body)
    confirmed = [record for record in plan.verbal_approvals if record.confirmation is not None]
    line = f"- {note}"
    if _VERBAL_APPROVALS_LINE.search(body):
        edited = _VERBAL_APPROVALS_LINE.sub(lambda _: line, body, count=1)
    elif told_late:
        newline = "\r\n" if "\r\n" in body else "\n"  # GitHub's, after an edit in the browser
        edited = _AFTER_THE_VERBAL_APPROVALS.sub(lambda after: line + newline + after[0], body, 1)
    else:
        edited = body
    if not (told_late or confirmed) or edited == body:
        return issue, []
    news = [f"lists {_approvals_of(told_late)}"] if told_late else []
    if confirmed:
        news.append(f"shows {_approvals_of(confirmed)} confirmed")
    return await _edit_body(run, issue, edited), news


def _verbal_approvals_told_late(
    run: StepRun, events: Sequence[TimelineEvent], body: str
) -> list[VerbalRecord]:
    """The verbal approvals that let the hotfix merge that the report's body lacks, its
    timeline row and its summary alike: it was written before hotfix-bot heard of them
    (GitHub delivered the command after the merge), and no run listed them since."""
    rows = {event.key: event for event in events}
    late = []
    for record in run.plan.verbal_approvals:
        approval = record.approval
        row = rows.get(approval_key(approval.approver, approval.head_sha, verbal=True))
        if row is not None and cell(row.text) not in body and str(approval) not in body:
            late.append(record)
    return late


async def _edit_body(
    run: StepRun, issue: dict[str, Any], body: str, *, then: _TimelineRows | None = None
) -> dict[str, Any]:
    """`issue`, its body replaced with `body` on GitHub, the marker put back first when people
    took it out, so that the issue is found by it again. Refused, the commands that finish the
    job by hand are given: this edit, and the comment adding `then` to the timeline that was
    to follow it."""
    marker = _marker(run.plan.repository, run.plan.number)
    if marker not in body:
        body = f"{marker}\n{body}"
    edit = with_text_on_stdin(f"gh issue edit {issue['number']} --body-file -", body)
    commands = [edit, then.by_hand(issue)] if then is not None else [edit]
    path = f"/repos/{run.plan.repository}/issues/{issue['number']}"
    with commands_if_it_fails(commands, _link(issue)):
        await run.github.request("PATCH", path, body={"body": body})
    return {**issue, "body": body}


def _approvals_of(records: Sequence[VerbalRecord]) -> str:
    """`the verbal approval of lena`, `the verbal approvals of lena and max`."""
    approvers = join_words([record.approval.approver for record in records])
    return f"the verbal approval{'s' if len(records) > 1 else ''} of {approvers}"


async def existing_report(run: StepRun, number: int, recorded: int | None) -> dict[str, Any] | None:
    """The incident report issue of hotfix pull request `number`, if it was opened: issue
    #`recorded` (`recorded_report`) while it is there, whatever people made of its body, else
    the one listed under its label that carries the marker, of the repository's name or of
    one it had when the report was opened (app/handlers/repository.py)."""
    repository = run.plan.repository
    labelled = await run.look(_reports(repository))
    names = [repository, *await former_names(run.context)]
    markers = [_marker(name, number) for name in names]
    return await find_opened_issue(run.github, repository, labelled, markers, recorded)


def recorded_report(outcome: StepOutcome | None) -> int | None:
    """The number of the report issue an outcome of this step (as the journal kept it)
    links; None when it links none."""
    return int(outcome.link.text.removeprefix("#")) if outcome and outcome.link else None


def _reports(repository: str) -> Look:
    # GitHub lists pull requests among issues; only an issue carries the marker.
    return Look(f"/repos/{repository}/issues?labels={LABEL}&state=all", every_page=True)


def incident_report_looks(plan: ReleasePlan) -> Sequence[Look]:
    # A hotfix's report is opened by its post-merge run alone, which holds the release lock.
    policy = plan.config.severities.get(plan.severity or "")
    if plan.number is None or policy is None or policy.incident_report is None:
        return ()
    return (_reports(plan.repository),)


STEP = Step(
    "incident-report",
    "Incident report",
    open_incident_report,
    # Its body holds the timeline and the other steps' links: a run writes it, and, refused,
    # its outcome gives the commands that open it whole, or make the edit and the comment
    # the run was making on it.
    no_commands,
    # It links the tag, the release and the retroactive review, and its timeline holds the
    # rows of the tag, the release and the back-merge.
    needs=(tag.STEP, release.STEP, back_merge.STEP, retro_review.STEP),
    applies=hotfixes_only,
    looks=incident_report_looks,
)
