"""What comment commands leave on a pull request: the verbal approvals recorded, the
break-glass in force and when the glass was last withdrawn (docs/BEHAVIOUR.md, 'Comment
commands'). Kept in the state store as one JSON value per pull request, which only commands
write and the hotfix-policy check and the post-merge steps read; what a break-glass waived,
the check keeps beside it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from app.handlers.routing import Context
from policies.facts import BreakGlass, VerbalApproval

ConfirmedBy = Literal["review", "comment"]


@dataclass(frozen=True, slots=True)
class Confirmation:
    """After the merge, the approver confirmed a verbal approval."""

    by: ConfirmedBy  # an approving review, or `/hotfix confirm`
    at: datetime


@dataclass(frozen=True, slots=True)
class VerbalRecord:
    approval: VerbalApproval
    comment_id: int  # the command that recorded it
    confirmation: Confirmation | None = None

    @property
    def written(self) -> tuple[datetime, int]:
        return written_order(self.approval.recorded_at, self.comment_id)


@dataclass(frozen=True, slots=True)
class BreakGlassRecord:
    glass: BreakGlass
    comment_id: int  # the command that broke it
    # The severity labelled then: its approvers may withdraw it whatever the labels are now.
    severity: str
    # The command whose chat message told of it when not this one: the same command posted
    # again, delivered first, which this one took the place of.
    told: int | None = None

    @property
    def written(self) -> tuple[datetime, int]:
        return written_order(self.glass.at, self.comment_id)

    @property
    def told_by(self) -> int:
        """The command whose chat message tells of it: one message for one break-glass."""
        return self.comment_id if self.told is None else self.told


@dataclass(frozen=True, slots=True)
class Withdrawal:
    """The latest `/hotfix break-glass off` carried out: a break-glass written before it,
    delivered after it, is withdrawn all the same."""

    by: str  # login
    at: datetime  # when the comment was written
    comment_id: int

    @property
    def written(self) -> tuple[datetime, int]:
        return written_order(self.at, self.comment_id)


def written_order(at: datetime, comment_id: int) -> tuple[datetime, int]:
    """Orders commands as they were written, whatever order they are delivered in: by the
    comment's time, which GitHub gives to the second, then by its id, which grows."""
    return at, comment_id


@dataclass(frozen=True, slots=True)
class Waived:
    """What a break-glass waived at the latest evaluation: the retroactive review asks
    about it. Kept under its own key, by the check, so that it never writes over a command."""

    severity: str | None = None
    rules: tuple[str, ...] = ()
    # The approval groups waited for when it waived them, as alternatives (`Verdict`).
    groups: tuple[tuple[str, ...], ...] = ()

    @staticmethod
    def _key(context: Context, number: int, record: BreakGlassRecord) -> str:
        return f"break-glass-waived:{context.repository}#{number}:{record.comment_id}"

    @classmethod
    async def load(cls, context: Context, number: int, record: BreakGlassRecord) -> Waived:
        stored = await context.state.get_state(cls._key(context, number, record))
        if stored is None:
            return cls()
        data = json.loads(stored)
        # A journal of an earlier version kept each group on its own, a name.
        groups = tuple(
            (names,) if isinstance(names, str) else tuple(names) for names in data["groups"]
        )
        return cls(data["severity"], tuple(data["rules"]), groups)

    async def save(self, context: Context, number: int, record: BreakGlassRecord) -> None:
        data = {"severity": self.severity, "rules": self.rules, "groups": self.groups}
        await context.state.set_state(self._key(context, number, record), json.dumps(data))


@dataclass(slots=True)
class PullRecords:
    key: str
    verbal: list[VerbalRecord] = field(default_factory=list)
    break_glass: BreakGlassRecord | None = None
    glass_withdrawn: Withdrawal | None = None

    @classmethod
    async def load(cls, context: Context, number: int) -> PullRecords:
        key = f"commands:{context.repository}#{number}"
        stored = await context.state.get_state(key)
        if stored is None:
            return cls(key)
        data = json.loads(stored)
        glass = data["break_glass"]
        withdrawn = data.get("glass_withdrawn")  # absent from records kept before it was
        return cls(
            key,
            [_verbal_from_json(item) for item in data["verbal"]],
            _break_glass_from_json(glass) if glass else None,
            _withdrawal_from_json(withdrawn) if withdrawn else None,
        )

    async def save(self, context: Context) -> None:
        glass, withdrawn = self.break_glass, self.glass_withdrawn
        data = {
            "verbal": [_verbal_as_json(record) for record in self.verbal],
            "break_glass": _break_glass_as_json(glass) if glass else None,
            "glass_withdrawn": _withdrawal_as_json(withdrawn) if withdrawn else None,
        }
        await context.state.set_state(self.key, json.dumps(data))

    @property
    def verbal_approvals(self) -> tuple[VerbalApproval, ...]:
        return tuple(record.approval for record in self.verbal)

    def verbal_of(self, login: str) -> VerbalRecord | None:
        return next(
            (r for r in self.verbal if r.approval.approver.casefold() == login.casefold()), None
        )

    def record_verbal(self, record: VerbalRecord) -> None:
        """The approver's verbal approval, replacing one written before it, whatever order
        they are delivered in."""
        kept = self.verbal_of(record.approval.approver)
        if kept is not None and not kept.written < record.written:
            # Written after this one, delivered first; or the same command again, which keeps
            # the head commit it was recorded on.
            return
        self.verbal = [r for r in self.verbal if r is not kept] + [record]

    def confirm(self, login: str, confirmation: Confirmation) -> bool:
        """Mark `login`'s verbal approval confirmed; False when there is none to confirm."""
        record = self.verbal_of(login)
        if record is None or record.confirmation is not None:
            return False
        self.verbal = [
            replace(r, confirmation=confirmation) if r is record else r for r in self.verbal
        ]
        return True


def _verbal_as_json(record: VerbalRecord) -> dict[str, Any]:
    approval, confirmation = record.approval, record.confirmation
    return {
        "approver": approval.approver,
        "recorder": approval.recorder,
        "recorded_at": approval.recorded_at.isoformat(),
        "head_sha": approval.head_sha,
        "comment_id": record.comment_id,
        "confirmation": (
            {"by": confirmation.by, "at": confirmation.at.isoformat()} if confirmation else None
        ),
    }


def _verbal_from_json(data: dict[str, Any]) -> VerbalRecord:
    approval = VerbalApproval(
        data["approver"],
        data["recorder"],
        datetime.fromisoformat(data["recorded_at"]),
        data["head_sha"],
    )
    confirmation = data["confirmation"]
    return VerbalRecord(
        approval,
        data["comment_id"],
        Confirmation(confirmation["by"], datetime.fromisoformat(confirmation["at"]))
        if confirmation
        else None,
    )


def _break_glass_as_json(record: BreakGlassRecord) -> dict[str, Any]:
    glass = record.glass
    return {
        "by": glass.by,
        "reason": glass.reason,
        "at": glass.at.isoformat(),
        "comment_id": record.comment_id,
        "severity": record.severity,
        "told": record.told,
    }


def _break_glass_from_json(data: dict[str, Any]) -> BreakGlassRecord:
    return BreakGlassRecord(
        BreakGlass(data["by"], data["reason"], datetime.fromisoformat(data["at"])),
        data["comment_id"],
        data["severity"],
        data.get("told"),  # absent from records kept before it was
    )


def _withdrawal_as_json(withdrawal: Withdrawal) -> dict[str, Any]:
    return {
        "by": withdrawal.by,
        "at": withdrawal.at.isoformat(),
        "comment_id": withdrawal.comment_id,
    }


def _withdrawal_from_json(data: dict[str, Any]) -> Withdrawal:
    return Withdrawal(data["by"], datetime.fromisoformat(data["at"]), data["comment_id"])
