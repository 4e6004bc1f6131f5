"""An installation's own deliveries (event `installation`): when the App was suspended on an
account, and what its unsuspension means for the work held meanwhile (docs/RELIABILITY.md,
"Suspended and reinstalled installations"), told by GitHub's `unsuspend` or, that one lost,
by the first token GitHub grants the installation again."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

from githubkit.exception import RequestFailed

from app.github.client import describe, timestamp
from app.handlers import suspensions
from app.handlers.release.production import catch_up_after_suspension
from app.handlers.routing import (
    INSTALLATION_EVENT,
    Context,
    DeliveryQueue,
    TokenGranted,
    transience_of,
)
from app.intake.delivery import from_payload
from policies.wording import plural

SUSPEND_ACTIONS = ["suspend"]
UNSUSPEND_ACTIONS = ["unsuspend"]
# hotfix-bot's own delivery of an unsuspension a token GitHub granted told of
# (`on_token_granted`): GitHub sends no such action.
INFERRED_UNSUSPEND = "unsuspend-inferred"


def _utc(at: float) -> str:
    return f"{datetime.fromtimestamp(at, UTC):%Y-%m-%d %H:%M:%S}"


async def on_suspend(context: Context) -> None:
    """Keep when the suspension began, as GitHub says (or, should it not, now: no earlier
    merge is then taken for one made during it), for the unsuspension. A journal write
    alone: GitHub lets a suspended installation do nothing."""
    installation = context.payload.get("installation") or {}
    said = timestamp(installation.get("suspended_at"))
    began = said.timestamp() if said is not None else context.clock()
    if not await suspensions.began(context.state, context.github.installation_id, began):
        return  # delivered after its unsuspension, or of a suspension known to begin earlier
    context.log.info(
        "the installation was suspended at %s UTC: its unsuspension runs the post-merge steps "
        "of the hotfixes merged since",
        _utc(began),
    )


async def on_unsuspend(context: Context) -> None:
    """GitHub's word that the installation was unsuspended: the catch-up (`_catch_up`),
    unless a token GitHub granted told of this unsuspension first, and it ran then."""
    installation_id = context.github.installation_id
    suspension = await suspensions.kept(context.state, installation_id)
    if suspension is not None and suspension.inferred and suspension.ended is not None:
        context.log.info(
            "the installation was unsuspended: that was inferred at %s UTC from a token "
            "GitHub granted it, and caught up then: nothing more to do",
            _utc(suspension.ended),
        )
        # GitHub's word has come: the next `unsuspend` is of another suspension.
        await suspensions.ended(context.state, installation_id, context.clock())
        return
    await _catch_up(context, None if suspension is None else suspension.ongoing_since)


async def on_token_granted(journal: DeliveryQueue, grant: TokenGranted) -> bool:
    """GitHub granted the installation a token, asked for after a suspension of it began
    that is kept going: it was unsuspended, and GitHub's `unsuspend` never reached
    hotfix-bot (it was down, or answered an error: GitHub delivers none again). The
    catch-up is queued as the installation's own delivery, one per suspension however
    many tokens, instances or attempts tell of it (its id names the suspension's start):
    whether it was queued now. One read of the journal for each token, none more when no
    suspension is kept going."""
    if grant.delivery.event == INSTALLATION_EVENT:
        return False  # GitHub's `unsuspend` catches up itself; the inferred one is the catch-up
    installation_id = grant.installation_id
    began = await suspensions.ongoing_since(journal, installation_id)
    # A token asked for before the suspension began tells nothing of its end.
    if began is None or grant.at <= began:
        return False
    start = datetime.fromtimestamp(began, UTC).isoformat()
    delivery_id = f"{INFERRED_UNSUSPEND}:{installation_id}:{start}"
    payload = {
        "action": INFERRED_UNSUSPEND,
        "installation": {"id": installation_id},
        "granted": {"at": grant.at, "for": grant.delivery.id},
    }
    delivery = from_payload(delivery_id, INSTALLATION_EVENT, payload)
    if await journal.record(delivery, json.dumps(payload).encode(), handled=True) != "queued":
        return False  # queued already, by another instance or an earlier token
    grant.log.info(
        "installation %d was unsuspended, though GitHub's unsuspend delivery never came: it "
        "granted a token at %s UTC for this delivery; the unsuspension's catch-up is queued "
        "as %s",
        installation_id,
        _utc(grant.at),
        delivery_id,
    )
    return True


async def on_unsuspend_inferred(context: Context) -> None:
    """The unsuspension a token GitHub granted told of (`on_token_granted`): the catch-up
    GitHub's `unsuspend` would have run, unless one was handled since this was queued
    (GitHub's, come after all)."""
    installation_id = context.github.installation_id
    began = await suspensions.ongoing_since(context.state, installation_id)
    if began is None:
        context.log.info("the installation's unsuspension was handled already: nothing to do")
        return
    await _catch_up(context, began, inferred=True)


async def _catch_up(context: Context, began: float | None, *, inferred: bool = False) -> None:
    """The timers that came due while the installation was suspended were held (the worker
    queued them for a day later): they run now, as late as they are. GitHub sent nothing
    of what happened meanwhile (a review, a push, a label, a merge), so the open hotfix pull
    requests of every repository the installation covers are evaluated again, and the
    hotfixes merged since the suspension `began`, when that is known, get their post-merge
    steps, each in its own queue. Then the suspension is kept as ended (`inferred`: told by
    a token GitHub granted)."""
    installation_id = context.github.installation_id
    since = None if began is None else datetime.fromtimestamp(began, UTC)
    if since is None:
        context.log.warning(
            "the installation was unsuspended: when its suspension began is not known, so a "
            "hotfix merged meanwhile gets no post-merge steps: run them by hand"
        )
    released = await context.timers.release_waiting()
    held = plural(released, "held timer")
    context.log.info("the installation was unsuspended: running %s now", held)
    repositories = await context.github.get_all(
        "/installation/repositories", listed_in="repositories"
    )
    after = f"unsuspend@{context.delivery.id}"
    # Read-only or blocked: nothing in it changed meanwhile, and GitHub lets nothing be done.
    usable = [repo for repo in repositories if not (repo.get("archived") or repo.get("disabled"))]
    refused = 0
    for repository in usable:
        name = repository["full_name"]
        in_repository = dataclasses.replace(
            context, repository=name, timers=context.timers.for_repository(name)
        )
        try:
            await catch_up_after_suspension(
                in_repository, repository["default_branch"], after, since
            )
        except RequestFailed as error:
            if transience_of(error, context.clock()).transient:
                raise  # tried again whole: what was kept for the others is kept once
            # One repository GitHub refuses (removed from the installation since the listing)
            # must not keep the others' hotfixes out of date.
            refused += 1
            context.log.warning(
                "the installation was unsuspended: %s's open hotfixes are not checked again, "
                "nor its merges released: %s",
                name,
                describe(error),
            )
    # Only once every repository is done: a retry looks back as far as the first attempt.
    await suspensions.ended(context.state, installation_id, context.clock(), inferred=inferred)
    context.log.info(
        "the installation was unsuspended: its open hotfix pull requests in %s are checked again",
        plural(len(usable) - refused, "repository", "repositories"),
    )
