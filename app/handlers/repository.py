"""A repository renamed or transferred (docs/BEHAVIOUR.md, 'A repository renamed or
transferred'): what hotfix-bot keeps under its full name, the state of its hotfixes, their
timers and the deliveries still queued, is kept under the new one from then on, so that an
incident under way goes on as it was.

The names it had are kept too (`former_names`): the issues hotfix-bot opened before carry
the name of then in their hidden markers.
"""

from __future__ import annotations

import json
from typing import Any

from app.handlers import timeline
from app.handlers.routing import Context
from app.journal.base import RepositoryMove, former_names_key
from policies.wording import plural

ACTIONS = ("renamed", "transferred")


def name_before(payload: dict[str, Any]) -> str | None:
    """The repository's full name before the change the delivery tells of: its old name
    (`renamed`), or its old owner's (`transferred`, from an organization or a person). None
    when a transfer names no old owner: GitHub's description lets `user` be null."""
    repository, changes = payload["repository"], payload["changes"]
    if payload["action"] == "renamed":
        return f"{repository['owner']['login']}/{changes['repository']['name']['from']}"
    owner = changes["owner"]["from"]
    account = owner.get("organization") or owner.get("user")
    return None if account is None else f"{account['login']}/{repository['name']}"


async def on_repository_moved(context: Context) -> None:
    """Move what is kept under the name before to the name now, in one transaction of the
    journal, and the deliveries that failed, for `hotfix-bot redeliver` to run as the new
    name's. It waits for a delivery of the old name that runs (tried again later), except on
    its last attempt: better all but what that delivery writes then than nothing. Run again
    (a redelivery), it finds nothing more to move."""
    old = name_before(context.payload)
    if old is None:
        context.log.warning(
            "%s was transferred from an account GitHub does not name: what was kept under its "
            "old name cannot be found, and stays there",
            context.repository,
        )
        return
    if old == context.repository:
        return
    installation_id = context.delivery.installation_id
    assert installation_id is not None  # the worker runs no delivery without one
    moved = await context.state.move_repository(
        RepositoryMove(
            old,
            context.repository,
            installation_id,
            waits_for_running=not context.last_attempt,
            combine=timeline.combined_on_move,
        )
    )
    context.log.info(
        "%s is %s now: moved %s, %s, %s and %s to it",
        old,
        context.repository,
        plural(moved.state, "state key"),
        plural(moved.timers, "timer"),
        plural(moved.deliveries, "queued delivery", "queued deliveries"),
        plural(moved.failed, "failed delivery", "failed deliveries"),
    )


async def former_names(context: Context) -> list[str]:
    """The full names the repository had before, newest first."""
    stored = await context.state.get_state(former_names_key(context.repository))
    return list(json.loads(stored or "[]"))
