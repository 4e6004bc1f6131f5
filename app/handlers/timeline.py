"""The timeline of a hotfix pull request, kept in the state store (docs/BEHAVIOUR.md, 'The
record and the notices').

One small list per pull request, never shortened (`replace` only moves a row): each handler
adds what it sees happen when it happens (an evaluation the opening, the severity and the
approvals; the review requests, escalations and commands theirs; the post-merge run the merge
and its steps), and an event already there (by its key) is not added again, so a handler run
twice adds nothing.
Only the group an approval row names follows the latest evaluation. The wording is
`policies.timeline`'s.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from app.handlers.routing import Context
from policies.config import HotfixConfig
from policies.evaluate import Verdict
from policies.facts import PullRequestFacts
from policies.timeline import (
    REWORDED_KINDS,
    EarlierRollback,
    Kind,
    TimelineEvent,
    evaluated,
    in_order,
    rolled_back_before,
)

_PREFIX = "timeline"


def _key(context: Context, number: int) -> str:
    return f"{_PREFIX}:{context.repository}#{number}"


def _item(event: TimelineEvent) -> dict[str, str]:
    return {
        "key": event.key,
        "at": event.at.isoformat(),
        "kind": event.kind.value,
        "text": event.text,
    }


async def load(context: Context, number: int) -> list[TimelineEvent]:
    """The events of pull request `number`, in time order."""
    stored = await context.state.get_state(_key(context, number))
    return in_order(
        [
            TimelineEvent(i["key"], datetime.fromisoformat(i["at"]), Kind(i["kind"]), i["text"])
            for i in json.loads(stored or "[]")
        ]
    )


def combined_on_move(key: str, old: str, new: str) -> str | None:
    """A repository renamed or transferred (app/handlers/repository.py) whose timeline a
    delivery of the new name began before the move: the rows from before the move, and those
    of the new name's that they lack. None for a key that is not a timeline."""
    if not key.startswith(f"{_PREFIX}:"):
        return None
    items = json.loads(old)
    held = {item["key"] for item in items}
    return json.dumps(items + [item for item in json.loads(new) if item["key"] not in held])


async def record(context: Context, number: int, events: Iterable[TimelineEvent]) -> None:
    """Add those of `events` whose key the timeline of `number` does not hold yet, and
    reword the rows of `REWORDED_KINDS` whose words changed."""
    # Read and written under one lock: the deliveries of a pull request run one at a time,
    # but a re-run of its post-merge steps is queued under its merge commit.
    async with context.locks.lock(_key(context, number)):
        stored = await context.state.get_state(_key(context, number))
        items = json.loads(stored or "[]")
        held = {item["key"]: item for item in items}
        changed = False
        for event in events:
            item = held.get(event.key)
            if item is None:
                item = _item(event)
                items.append(item)
                held[event.key] = item
            elif event.kind not in REWORDED_KINDS or item["text"] == event.text:
                continue
            item["text"] = event.text
            changed = True
        if changed:
            await context.state.set_state(_key(context, number), json.dumps(items))


async def replace(context: Context, number: int, key: str, event: TimelineEvent) -> None:
    """Put `event` in the place of the row `key`, which told of the same happening later than
    it happened (a command delivered before one written earlier that it repeats). Done again,
    it changes nothing."""
    async with context.locks.lock(_key(context, number)):
        stored = await context.state.get_state(_key(context, number))
        items = [item for item in json.loads(stored or "[]") if item["key"] != key]
        if all(item["key"] != event.key for item in items):
            items.append(_item(event))
        await context.state.set_state(_key(context, number), json.dumps(items))


async def record_evaluation(
    context: Context,
    config: HotfixConfig | None,
    verdict: Verdict,
    facts: PullRequestFacts | None,
) -> None:
    """What an evaluation of a hotfix pull request saw: its opening, its severity and the
    approvals that count (nothing when its config cannot be used)."""
    if config is None or facts is None or verdict.severity is None or not verdict.results:
        return  # not a hotfix pull request with one severity label: nothing to keep
    earlier = await load(context, facts.number)
    events = evaluated(config, verdict, facts, context.now(), earlier)
    await record(context, facts.number, events)


async def earlier_rollback(
    context: Context, hotfix: int, rollback: int, merged_at: datetime | None
) -> EarlierRollback | None:
    """The rollback of hotfix `hotfix` merged before rollback `rollback` (merged at
    `merged_at`, None while it is open), as the hotfix's timeline holds it; None when
    `rollback` is the first (docs/BEHAVIOUR.md, 'Rollbacks')."""
    return rolled_back_before(await load(context, hotfix), rollback, merged_at)
