"""The incident report of a merged hotfix and the notices about it, as text
(docs/BEHAVIOUR.md, 'The record and the notices'): the report follows the hotfix procedures'
"Incident Documentation Template", its summary and timeline filled in and the rest left as
the template's prompts for people.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from policies.accounts import AUTHOR_DELETED, NOT_THE_DELETED_AUTHOR, is_deleted
from policies.config import Duration, EscalationStep
from policies.evaluate import Verdict
from policies.facts import BreakGlass, PullRequestFacts
from policies.notices import pull_request_values
from policies.timeline import TimelineEvent, key_rows
from policies.wording import (
    cell,
    code_span,
    deadline_distance,
    deadline_passed,
    duration_words,
    join_words,
    time_left,
    title_of,
    when,
)

# The hotfix procedures' alert is for production down; their resolution notice closes a P0 or
# a P1 incident.
P0 = "P0"
RESOLVED_SEVERITIES = frozenset({"P0", "P1"})


def report_title(title: str) -> str:
    """The report issue's title, from the pull request's."""
    return title_of("Incident report: ", title)


@dataclass(frozen=True)
class Incident:
    """A merged hotfix pull request, as the report and the notices tell of it."""

    repository: str
    number: int
    title: str
    url: str  # the pull request's page
    author: str
    severity: str
    opened_at: datetime
    merged_at: datetime
    deadline: Duration | None  # the severity's, from the opening
    report_due: Duration | None  # after the merge; None: the severity has no report
    tag: str | None  # None: the tag step has not made it
    tag_url: str | None = None
    release_url: str | None = None  # None: no release published

    @property
    def incident_id(self) -> str:
        """`INC-2026-007`: the year of the merge, the number in at least 3 digits."""
        return f"INC-{self.merged_at.astimezone(UTC).year}-{self.number:03d}"

    @property
    def duration(self) -> timedelta:
        return self.merged_at - self.opened_at

    @property
    def due_at(self) -> datetime | None:
        """When the report is due."""
        return None if self.report_due is None else self.merged_at + self.report_due.value

    def deadline_words(self) -> str:
        """`met, with 45m to spare (2h after opening: 2026-12-04 22:30 UTC)`, or `missed by
        1h5m (...)`: a merge at the deadline itself missed it, as the check run then says."""
        if self.deadline is None:
            return f"none ({self.severity} has no deadline)"
        due = self.opened_at + self.deadline.value
        spare = due - self.merged_at
        outcome = (
            f"missed by {deadline_distance(spare)}"
            if deadline_passed(spare)
            else f"met, with {deadline_distance(spare)} to spare"
        )
        return f"{outcome} ({self.deadline} after opening: {when(due)})"


def while_failing(rules: Sequence[str], title: str, head_sha: str) -> str:
    """`while `hotfix-policy` was failing on its head commit `abc1234`: `labels` failed`: how
    a pull request merged against its check run on the merged head commit `head_sha`, which
    showed `rules` failing, or, when no rule did (its config could not be used), `title`."""
    what = f"{join_words([f'`{rule}`' for rule in rules])} failed" if rules else code_span(title)
    return f"while `hotfix-policy` was failing on its head commit `{head_sha[:7]}`: {what}"


def report_body(
    incident: Incident,
    timeline: Sequence[TimelineEvent],
    notes: Sequence[str] = (),
) -> str:
    """The report issue's Markdown; `notes` are more summary lines (what a break-glass left
    to review, verbal approvals not confirmed yet)."""
    due_at = incident.due_at
    due = f"{when(due_at)} ({incident.report_due} after the merge)" if due_at else "none"
    return "\n".join(
        [
            f"# Incident Report: {incident.title}",
            "",
            "## Summary",
            f"- **Incident ID:** {incident.incident_id}",
            f"- **Severity:** {incident.severity}",
            f"- **Start Time:** {when(incident.opened_at)} (pull request opened)",
            f"- **End Time:** {when(incident.merged_at)} (merged)",
            f"- **Duration:** {duration_words(incident.duration)}",
            f"- **Deadline:** {incident.deadline_words()}",
            f"- **Release:** {release_words(incident)}",
            f"- **Report due:** {due}",
            *(f"- {note}" for note in notes),
            "- **Impact:** [Description of user/business impact]",
            "",
            "## Root Cause",
            "[Detailed explanation of what went wrong and why]",
            "",
            "## Timeline",
            *timeline_table(timeline),
            "",
            "## Resolution",
            "[What was done to fix the issue]",
            "",
            # Its words may be that it is not tagged yet.
            f"Fixed by [#{incident.number}]({incident.url}) ({incident.title}); "
            f"release: {release_words(incident)}.",
            "",
            "## Lessons Learned",
            "### What went well",
            "- [e.g. Quick detection through monitoring]",
            "",
            "### What could be improved",
            "- [e.g. Earlier detection possible with better alerting]",
            "",
            "## Action Items",
            "- [ ] Improve monitoring for [specific area]",
            "- [ ] Add automated test for [specific scenario]",
            "- [ ] Update documentation for [specific process]",
            "- [ ] Training on [specific topic] for team",
            "",
            "## Prevention Measures",
            "[How we'll prevent this from happening again]",
        ]
    )


def timeline_table(events: Sequence[TimelineEvent]) -> list[str]:
    """The lines of the report's timeline table: one row per event, with its UTC time."""
    rows = [f"| {when(event.at)} | {cell(event.text)} |" for event in events]
    return ["| Time | Event |", "|------|-------|", *rows]


def timeline_continued(events: Sequence[TimelineEvent]) -> str:
    """A comment on a report adding `events`, which happened after it was opened, to its
    timeline."""
    return "\n".join(["**Timeline, continued**", "", *timeline_table(events)])


UNTAGGED = "not tagged yet (see the `hotfix-release` check)"


def release_words(incident: Incident) -> str:
    """The tag and release as the report names them; `UNTAGGED` until the tag is made."""
    if incident.tag is None:
        return UNTAGGED
    tag = f"[`{incident.tag}`]({incident.tag_url})" if incident.tag_url else f"`{incident.tag}`"
    if incident.release_url is None:
        return tag
    return f"{tag}, [release {incident.tag}]({incident.release_url})"


def report_words(incident: Incident, report: str | None) -> str:
    """The incident report as the resolution notice names it: `report` (the issue, None
    while none was opened) with its due time, or that its severity keeps none."""
    due_at = incident.due_at
    if due_at is None:
        return f"none for {incident.severity}"
    if report is None:
        return f"not opened yet, due {when(due_at)}"
    return f"{report}, due {when(due_at)}"


def resolution_values(
    incident: Incident, timeline: Sequence[TimelineEvent], report: str | None
) -> Mapping[str, str]:
    """The resolution notice's placeholders; `report` names the report issue (None: none
    was opened)."""
    due_at = incident.due_at
    return {
        **pull_request_values(
            incident.repository, incident.number, incident.title, incident.author, incident.severity
        ),
        "resolved_at": when(incident.merged_at),
        "resolution_time": duration_words(incident.duration),
        "timeline": "\n".join(f"{when(event.at)} - {event.text}" for event in key_rows(timeline)),
        "tag": incident.tag or "not tagged yet",
        "report": report_words(incident, report),
        "report_due": when(due_at) if due_at else "none",
    }


def report_reminder(mentions: Sequence[str], hotfix: int, due_at: datetime) -> str:
    """The one comment on a report still open when it is due; without `mentions`, it says
    why it mentions nobody: nobody is assigned, and the author's account was deleted."""
    overdue = f"incident report of #{hotfix} was due {when(due_at)} and the issue is still open"
    please = "Please fill it in, and close the issue once it is reviewed."
    if not mentions:
        return f"This {overdue}; nobody is assigned to it, and {AUTHOR_DELETED}. {please}"
    return f"{' '.join(mentions)}: this {overdue}. {please}"


def p0_alert_values(
    repository: str,
    verdict: Verdict,
    facts: PullRequestFacts,
    escalation: Sequence[EscalationStep],
) -> Mapping[str, str]:
    """The P0 alert's placeholders: the clock started when the pull request was opened, its
    author is the incident commander, and `escalation` (the severity's steps) says who will
    be reminded when."""
    severity = verdict.severity or P0
    started = when(facts.opened_at) if facts.opened_at else "unknown"
    deadline = (
        f"{when(verdict.due)} ({verdict.deadline} after opening)"
        if verdict.due is not None and verdict.deadline is not None
        else f"none ({severity} has no deadline)"
    )
    if verdict.overdue and verdict.time_left is not None:  # labelled P0 only after it passed
        deadline += f", {time_left(verdict.time_left)}"
    deleted = is_deleted(facts.author)
    return {
        **pull_request_values(repository, facts.number, facts.title, facts.author, severity),
        "started": started,
        "commander": f"none ({AUTHOR_DELETED})" if deleted else f"@{facts.author}",
        "deadline": deadline,
        "reminders": reminder_words(severity, escalation, author_deleted=deleted),
    }


# Whom an escalation step's `notify` names, in words. Any other entry is an `@` mention, shown
# as code so that the alert does not notify now those a step is to notify later.
_NOTIFIED = {"approvers": "the approvers", "author": "the author"}


def reminder_words(
    severity: str, escalation: Sequence[EscalationStep], *, author_deleted: bool = False
) -> str:
    """`Reminding the approvers at 15m and 4h, and the author at 4h after opening`: what the
    escalation steps of `severity` will do, each recipient with the times they are reminded.
    `author_deleted`: the author's account was deleted, and no step can remind them."""
    if not escalation:
        return f"No reminders are set (severities.{severity}.escalation is empty)"
    times: dict[str, list[str]] = {}
    author_left_out = False
    for step in sorted(escalation, key=lambda step: step.after.value):
        for mention in step.notify:
            if mention == "author" and author_deleted:
                author_left_out = True
                continue
            at = times.setdefault(_NOTIFIED.get(mention, f"`{mention}`"), [])
            if str(step.after) not in at:
                at.append(str(step.after))
    # Those reminded at the same times are named together.
    recipients: dict[tuple[str, ...], list[str]] = {}
    for recipient, at in times.items():
        recipients.setdefault(tuple(at), []).append(recipient)
    clauses = [f"{join_words(whom)} at {join_words(at)}" for at, whom in recipients.items()]
    if not clauses:  # every step reminds the author alone
        return f"No reminders can be sent: {AUTHOR_DELETED}"
    words = f"Reminding {', and '.join(clauses)} after opening"
    return f"{words}; {NOT_THE_DELETED_AUTHOR}" if author_left_out else words


def glass_broken_message(glass: BreakGlass, number: int, title: str) -> str:
    """What chat is told of a break-glass."""
    return (
        f"🔓 BREAK-GLASS on #{number} ({title}) by @{glass.by}: {glass.reason}\n"
        "Its hotfix-policy check passes with every failing or waiting rule waived; a "
        "retroactive review is opened after the merge."
    )


def glass_mended_message(by: str, number: int, title: str) -> str:
    """What chat is told of a break-glass withdrawn."""
    return (
        f"🔒 BREAK-GLASS WITHDRAWN on #{number} ({title}) by @{by}\n"
        "Its hotfix-policy check follows the rules again: nothing is waived any more."
    )
