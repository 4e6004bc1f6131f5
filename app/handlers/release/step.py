"""A post-merge step: what the report and the journal know it by, what it does, what it needs,
and how people finish it by hand; and the outcome it leaves behind.

Outcomes are stored in the journal as JSON, so a later run can resume.
"""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from app.github.client import InstallationClient
from app.github.reads import Look, Reads
from app.handlers.release.plan import ReleasePlan
from app.handlers.routing import Context


class StepStatus(StrEnum):
    DONE = "done"
    ALREADY_DONE = "already done"
    # Nothing for it to make here, as the config or the repository stands (`release: false`,
    # no development branch): the steps that need it go on without what it would have made.
    SKIPPED = "skipped"
    BLOCKED = "blocked"  # skipped because a step it needs failed; a re-run tries again
    WAITING = "waiting"  # people have to act: review a back-merge, confirm an approval
    FAILED = "failed"
    # Nothing for this hotfix to do, for good (say, no incident report for its severity):
    # the report leaves the step out.
    NOT_NEEDED = "not needed"

    @property
    def happened(self) -> bool:
        """What it did, or found done, or opened for people, is an event of the hotfix."""
        return self in (StepStatus.DONE, StepStatus.ALREADY_DONE, StepStatus.WAITING)

    @property
    def finished(self) -> bool:
        """A re-run keeps this outcome without looking again."""
        return self in (StepStatus.DONE, StepStatus.ALREADY_DONE, StepStatus.NOT_NEEDED)

    @property
    def outstanding(self) -> bool:
        """What it was to make is still to come (it failed, was blocked, or waits for
        people): a step that needs it and names what it made waits for a re-run."""
        return self in (StepStatus.FAILED, StepStatus.BLOCKED, StepStatus.WAITING)


@dataclass(frozen=True, slots=True)
class Link:
    text: str
    url: str


@dataclass(frozen=True, slots=True)
class StepOutcome:
    status: StepStatus
    detail: str  # Markdown without links, e.g. "deleted `hotfix/fix-login`"
    link: Link | None = None
    # What people do instead when the step's commands (`Step.manual_commands`) would not
    # finish it, in Markdown: the report shows it in their place, and leaves out the commands
    # of the steps it blocked, which would act on what it did not make.
    by_hand: str | None = None
    # The shell commands that finish it by hand, when only its run could write them (a text
    # made from the hotfix's timeline): the report shows them in place of the step's own
    # (`Step.manual_commands`). Set by `StepCommandsKnown`.
    commands: tuple[str, ...] | None = None
    # The time GitHub asked to wait until, when that was too long to wait in line and so
    # failed the step (`LongWait.until`).
    waits_until: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        link = {"text": self.link.text, "url": self.link.url} if self.link else None
        return {
            "status": self.status.value,
            "detail": self.detail,
            "link": link,
            "by_hand": self.by_hand,
            "commands": list(self.commands) if self.commands is not None else None,
            "waits_until": self.waits_until.timestamp() if self.waits_until else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StepOutcome:
        link = data.get("link")
        return cls(
            StepStatus(data["status"]),
            data["detail"],
            Link(link["text"], link["url"]) if link else None,
            data.get("by_hand"),  # kept before outcomes had it: none
            tuple(commands) if (commands := data.get("commands")) is not None else None,
            datetime.fromtimestamp(until, UTC)
            if (until := data.get("waits_until")) is not None
            else None,
        )


class StepCommandsKnown(Exception):
    """`error` stopped a step that knew by then the commands that make, by hand, what it was
    making (`commands_if_it_fails`): its failed outcome carries them, and links `link`."""

    def __init__(self, error: Exception, commands: Sequence[str], link: Link | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.commands = tuple(commands)
        self.link = link


@contextmanager
def commands_if_it_fails(commands: Sequence[str], link: Link | None = None) -> Iterator[None]:
    """Around what a step makes from a text only its run could write: should it fail,
    `commands` (which make the same, `with_text_on_stdin`) finish it by hand. `link` is what
    it was changing, an issue an earlier run opened: the failed outcome links it still, so
    that the journal keeps it for the next run to find."""
    try:
        yield
    except Exception as error:
        raise StepCommandsKnown(error, commands, link) from error


@dataclass(frozen=True, slots=True)
class StepRun:
    """What a step works with: its own last outcome, and which of the steps it needs have
    their work outstanding (the step decides when that stops it: a step turned off in the
    config is skipped all the same)."""

    github: InstallationClient
    plan: ReleasePlan
    previous: StepOutcome | None
    outstanding_needs: tuple[str, ...]  # keys
    # The delivery's context, for the state store and timers, and the outcomes of the steps
    # it needs and of those they need, by key (this run's, or those a re-run kept).
    context: Context
    earlier: Mapping[str, StepOutcome]
    reads: Reads  # the run's: where the looks the steps declared were started

    def look(self, look: Look) -> asyncio.Task[Any]:
        """The answer to `look`: the one started with the run when the step declared it
        (`Step.looks`), else read now."""
        return look.start(self.reads, self.github)


def no_looks(plan: ReleasePlan) -> Sequence[Look]:
    """For the steps that declare no look to start early."""
    return ()


def no_commands(plan: ReleasePlan) -> list[str]:
    """For the steps whose text is written from what hotfix-bot recorded of the hotfix (its
    timeline, the other steps' outcomes): only their run knows it, and gives the commands with
    the outcome when it fails (`commands_if_it_fails`). A step stopped before it knew its text
    has none: the report says to fix the cause and re-run."""
    return []


def with_text_on_stdin(command: str, text: str, piped_to: str | None = None) -> str:
    """`command` (say `gh issue create ... --body-file -`) given `text` on its standard input
    in a here-document: its delimiter is quoted, so the shell keeps every character of `text`
    as it is, and is no line of `text`, so it ends the text where `text` ends. `piped_to`,
    written after the text, reads what `command` prints."""
    # Compared without the spaces and `\r` a copy from the browser may drop.
    lines = {line.strip() for line in text.split("\n")}
    delimiter = "EOF"
    while delimiter in lines:
        delimiter += "_"
    if piped_to is None:
        return f"{command} <<'{delimiter}'\n{text}\n{delimiter}"
    return f"{command} <<'{delimiter}' |\n{text}\n{delimiter}\n{piped_to}"


def open_issue_commands(
    title: str, labels: Sequence[str], assignee: str | None, body: str
) -> list[str]:
    """The commands that open an issue as `app.github.issues.open_issue` does. `gh` looks up
    each label and the assignee before it opens anything, and stops at one it does not find
    where GitHub's API would make the label or leave the issue unassigned: so each label is
    made first (`gh label create` refuses one that exists, leaving it as it is, where
    `--force` would give it a new color), and the issue is assigned once it is open, from
    the address `gh issue create` prints (unless `assignee` is None: nobody)."""
    make_labels = [f"gh label create {shlex.quote(label)} 2>/dev/null || true" for label in labels]
    options = "".join(f" --label {shlex.quote(label)}" for label in labels)
    create = f"gh issue create --title {shlex.quote(title)}{options} --body-file -"
    if assignee is None:
        return [*make_labels, with_text_on_stdin(create, body)]
    assign = f"xargs -I{{}} gh issue edit {{}} --add-assignee {shlex.quote(assignee)}"
    return [*make_labels, with_text_on_stdin(create, body, piped_to=assign)]


def every_merge(plan: ReleasePlan) -> bool:
    """For the steps of every hotfix and rollback."""
    return True


def hotfixes_only(plan: ReleasePlan) -> bool:
    """For the steps of a hotfix's own record and notices: a rollback adds itself to the
    rolled-back hotfix's instead, whatever its labels."""
    return plan.rolled_back is None


def rollbacks_only(plan: ReleasePlan) -> bool:
    """For the steps a merged rollback has besides a hotfix's."""
    return plan.rolled_back is not None


@dataclass(frozen=True, slots=True)
class Step:
    """One post-merge step; `app.handlers.release.steps.STEPS` lists them in the report's
    order."""

    key: str  # in the journal, and in the report's title when it fails
    title: str  # its row in the report
    # Looks before it acts, so that running it again finds its own earlier work done.
    action: Callable[[StepRun], Awaitable[StepOutcome]]
    # The shell commands that finish it by hand, shown when it failed or was blocked: they
    # make exactly what it would have (a text it writes given whole, `with_text_on_stdin`),
    # so that a re-run finds it done. No command (`no_commands`) when what it writes comes
    # from what only a run has: the outcome of the run carries them (`StepOutcome.commands`),
    # or, stopped before it knew its text, the report says to fix the cause and re-run.
    manual_commands: Callable[[ReleasePlan], list[str]]
    # Steps listed before it, which it starts after: every step whose outcome it reads, or
    # whose work must be done before its own. Those whose work is outstanding reach it as
    # `outstanding_needs`. Steps that need nothing of each other run at once.
    needs: tuple[Step, ...] = ()
    # Whether it runs, and is reported, for this merge (a rollback has steps of its own).
    applies: Callable[[ReleasePlan], bool] = every_merge
    # The reads its action looks at before acting (`StepRun.look`), started with the run so
    # that they cost the step no round trip once its needs have ended. Only reads whose
    # answer nothing but the step itself changes while the run holds the hotfix's lock (the
    # release lock every instance takes): started seconds before the step acts, they must
    # still say what it would have seen. None where the step will not look.
    looks: Callable[[ReleasePlan], Sequence[Look]] = no_looks

    @property
    def all_needs(self) -> frozenset[str]:
        """The keys of the steps it needs, directly or through the steps it needs."""
        return frozenset(key for need in self.needs for key in (need.key, *need.all_needs))
