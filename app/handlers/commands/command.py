"""What a comment command is given and how it refuses, and the checks several commands share.

A command module defines `COMMAND = Command(Syntax(...), run)`: its syntax (pure, read by
`policies.commands.parse`) and `run`, which acts and returns when the command is carried
out, or raises `Refusal` saying why it is not (docs/BEHAVIOUR.md, 'Comment commands').
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic

from app.github.teams import members_among
from app.handlers.records import PullRecords
from app.handlers.routing import Context
from policies.commands import Arguments, Syntax
from policies.config import HotfixConfig, SeverityPolicy
from policies.evaluate import is_hotfix
from policies.rules.common import single_severity


class Refusal(Exception):
    """The command is not carried out; the message says why, as a sentence without its
    full stop, and the reply quotes it."""


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
        return str(self.pull["user"]["login"])

    @property
    def head_sha(self) -> str:
        return str(self.pull["head"]["sha"])

    def require_open(self) -> None:
        """A refusal unless the pull request is open."""
        if self.pull["merged"]:
            raise Refusal("the pull request is already merged")
        if self.pull["state"] != "open":
            raise Refusal("the pull request is closed")

    def open_hotfix_severity(self) -> tuple[str, SeverityPolicy]:
        """The severity of an open hotfix pull request; a refusal for any other."""
        self.require_open()
        labels = [label["name"] for label in self.pull["labels"]]
        if not is_hotfix(self.config, self.pull["head"]["ref"], labels):
            raise Refusal("this is not a hotfix pull request")
        labelled = single_severity(self.config, labels)
        if labelled is None:
            raise Refusal("the pull request needs exactly one severity label first")
        return labelled

    async def commenter_in(self, teams: Iterable[str], users: Iterable[str]) -> bool:
        """Whether the commenter is one of `users` or a member of one of `teams`."""
        login = self.commenter.casefold()
        if login in {user.casefold() for user in users}:
            return True
        context = self.context
        found = await asyncio.gather(
            *(
                members_among(context.github, context.owner, slug, frozenset({self.commenter}))
                for slug in teams
            )
        )
        return any(login in members for members in found)


@dataclass(frozen=True, slots=True)
class Command(Generic[Arguments]):
    syntax: Syntax[Arguments]
    # Acts (keeping what it records in `invocation.records`) or raises Refusal. Running it
    # again for the same comment, after a crash or a retry, must change nothing more.
    run: Callable[[Invocation, Arguments], Awaitable[None]]
