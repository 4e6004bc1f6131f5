"""What a comment command is given and how it refuses, and the checks several commands share.

A command module defines `COMMAND = Command(Syntax(...), permitted, run)`: its syntax (pure,
read by `policies.commands.parse`); `permitted`, which says who may give it; and `run`, which
acts and returns when the command is carried out. Both raise `Refusal` saying why it is not
(docs/BEHAVIOUR.md, 'Comment commands').
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic

from app.github.client import timestamp
from app.github.pulls import labels_of
from app.github.teams import members_among, owned_by_a_person
from app.handlers.policy import evaluate_pull_request, read_rolled_back_hotfix, several_reverted
from app.handlers.records import PullRecords
from app.handlers.release.handler import release_pull_request
from app.handlers.release.steps import incident_report
from app.handlers.routing import Context
from app.intake.delivery import author_of
from policies.accounts import GHOST, login_of
from policies.commands import Arguments, Syntax
from policies.config import ApprovalGroup, HotfixConfig, SeverityPolicy
from policies.evaluate import is_hotfix
from policies.facts import RevertedPull
from policies.rules.approvals import rollback_need
from policies.rules.common import not_a_hotfix_words, one_severity_label, single_severity
from policies.wording import join_words, pull_numbers


@dataclass(frozen=True, slots=True)
class Governing:
    """The severity a command follows on a pull request, and who approves it."""

    severity: str
    policy: SeverityPolicy
    approvals: tuple[ApprovalGroup, ...]  # the groups whose members approve the pull request
    rolled_back: int | None = None  # for a rollback: the hotfix whose severity this is

    @property
    def words(self) -> str:
        """`severity P0`, or `severity P0 (of hotfix #12, which this rolls back)`."""
        if self.rolled_back is None:
            return f"severity {self.severity}"
        return f"severity {self.severity} (of hotfix #{self.rolled_back}, which this rolls back)"


class Refusal(Exception):
    """The command is not carried out; the message says why, as a sentence without its
    full stop, and the reply quotes it."""


class NotShown(Exception):
    """The command is carried out (its record is saved), but showing it on the pull request
    (the check runs it changes) stopped on `error`."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


async def shown(showing: Awaitable[object]) -> None:
    """Show what a command recorded; `NotShown` when that fails, so that its answer does not
    say the command was not carried out."""
    try:
        await showing
    except Exception as error:
        raise NotShown(error) from error


def written_by(context: Context, written: dict[str, Any]) -> str:
    """The login of whoever wrote `written`, the delivery's comment or review (`author_of`);
    `ghost` when the delivery names neither its user nor its sender."""
    login = author_of(written, context.payload).get("login")
    return login if isinstance(login, str) else GHOST


@dataclass(frozen=True, slots=True)
class Invocation:
    """One command as written, and the pull request it was written on, as it is now."""

    context: Context
    number: int
    commenter: str  # login
    comment_id: int
    written_at: datetime
    pull: dict[str, Any]  # from the API
    config: HotfixConfig  # of the pull request's base branch
    records: PullRecords  # what earlier commands left

    @property
    def author(self) -> str:
        return login_of(self.pull["user"])

    @property
    def head_sha(self) -> str:
        return str(self.pull["head"]["sha"])

    @property
    def written_before_merge(self) -> bool:
        """Whether the pull request merged after the command was written: GitHub may deliver
        a comment after the merge, and the command is then judged as of the merge."""
        merged_at = timestamp(self.pull.get("merged_at")) if self.pull["merged"] else None
        return merged_at is not None and self.written_at < merged_at

    @property
    def personal_account(self) -> bool:
        """Whether the repository belongs to a person's account, which has no teams."""
        return owned_by_a_person(self.pull["base"]["repo"])

    def require_open(self) -> None:
        """A refusal unless the pull request is open, or was when the command was written."""
        if self.pull["merged"]:
            if not self.written_before_merge:
                raise Refusal("the pull request is already merged")
        elif self.pull["state"] != "open":
            raise Refusal("the pull request is closed")

    async def show(self) -> None:
        """Show what the command recorded on the pull request's checks; on one that merged
        after it was written, in the post-merge run as well, run again as `/hotfix confirm`
        runs it (a retroactive review to open, a verbal approval to list and remind of, and
        to add to an incident report opened before the command was delivered)."""
        await shown(evaluate_pull_request(self.context, self.number, show_merged=True))
        if self.pull["merged"]:
            report = incident_report.STEP
            await shown(release_pull_request(self.context, self.number, look_again=report))

    async def open_severity(self) -> Governing:
        """The severity whose rules commands follow on an open hotfix pull request (or one
        merged after the command was written), or on such a rollback the rolled-back
        hotfix's; a refusal for any other pull request (such as one that looks like a
        rollback, but is none and no hotfix)."""
        self.require_open()
        rolled_back = await self.rolled_back()
        if rolled_back is not None:
            return self._rollback_severity(rolled_back)
        several = several_reverted(self.config, self.context.repository, self.pull)
        if several:
            raise Refusal(
                "a rollback follows the severity of the one hotfix it reverts, and this one "
                f"names {pull_numbers(several)}: keep one `Reverts` line in its description"
            )
        labels = labels_of(self.pull)
        if not is_hotfix(self.config, self.pull["head"]["ref"], labels):
            raise Refusal(
                "this is not a hotfix pull request: its head branch "
                f"{not_a_hotfix_words(self.config)}; add that label to make it one"
            )
        labelled = single_severity(self.config, labels)
        if labelled is None:
            raise Refusal(
                "the pull request needs exactly one severity label first; "
                f"{one_severity_label(self.config, labels)}"
            )
        severity, policy = labelled
        return Governing(severity, policy, tuple(policy.approvals))

    async def rolled_back(self) -> RevertedPull | None:
        """The merged hotfix the pull request rolls back; None when it is no rollback."""
        context = self.context
        return await read_rolled_back_hotfix(
            context.github, context.repository, self.config, self.pull
        )

    def _rollback_severity(self, reverted: RevertedPull) -> Governing:
        """A rollback follows the severity of the hotfix it rolls back (docs/BEHAVIOUR.md,
        "Rollbacks"); its approvers are those of its own approvals."""
        labelled = single_severity(self.config, reverted.labels)
        if labelled is None:
            raise Refusal(
                f"#{reverted.number}, the hotfix this rolls back, needs exactly one severity "
                f"label first; on #{reverted.number}, "
                f"{one_severity_label(self.config, reverted.labels)}"
            )
        severity, policy = labelled
        return Governing(severity, policy, rollback_groups(self.config, severity), reverted.number)

    async def is_among(self, login: str, teams: Iterable[str], users: Iterable[str]) -> bool:
        """Whether `login` is one of `users` or a member of one of `teams`."""
        folded = login.casefold()
        if folded in {user.casefold() for user in users}:
            return True
        context = self.context
        found = await asyncio.gather(
            *(
                members_among(context.github, context.owner, slug, frozenset({login}))
                for slug in teams
            )
        )
        return any(folded in members for members in found)

    async def may_fill_a_group(self, login: str, groups: Sequence[ApprovalGroup]) -> bool:
        """Whether `login` is a member or a listed user of one of the approval `groups`."""
        teams = [group.team for group in groups if group.team]
        return await self.is_among(login, teams, [u for group in groups for u in group.users or ()])


def answered_key(context: Context, comment_id: int) -> str:
    """Where the state store keeps that a command's comment was answered."""
    return f"command:{context.repository}:{comment_id}"


def rollback_groups(config: HotfixConfig, severity: str) -> tuple[ApprovalGroup, ...]:
    """The approval groups a rollback of a `severity` hotfix is approved by."""
    need = rollback_need(config, severity)
    return tuple(group for seats in need.seats for group in seats.groups) if need else ()


def who(teams: Sequence[str], users: Sequence[str]) -> str:
    """`members of team engineering-leads or lena`: named, not mentioned, as a refusal need
    not notify them."""
    return join_words([f"members of team {team}" for team in teams] + list(users), "or")


@dataclass(frozen=True, slots=True)
class Command(Generic[Arguments]):
    syntax: Syntax[Arguments]
    # Raises Refusal when the commenter may not give this command, here and now; called
    # before `run`. Each command says who may (docs/BEHAVIOUR.md, 'Comment commands').
    permitted: Callable[[Invocation, Arguments], Awaitable[None]]
    # Acts (keeping what it records in `invocation.records`) or raises Refusal. Running it
    # again for the same comment, after a crash or a retry, must change nothing more.
    run: Callable[[Invocation, Arguments], Awaitable[None]]
