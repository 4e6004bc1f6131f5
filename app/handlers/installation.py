"""An installation's own deliveries (event `installation`): when the App was suspended on an
account, and what its unsuspension means for the work held meanwhile (docs/RELIABILITY.md,
"Suspended and reinstalled installations")."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from githubkit.exception import RequestFailed

from app.github.client import describe, timestamp
from app.handlers import suspensions
from app.handlers.release.production import catch_up_after_suspension
from app.handlers.routing import Context, transience_of
from policies.wording import plural

SUSPEND_ACTIONS = ["suspend"]
UNSUSPEND_ACTIONS = ["unsuspend"]


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
        f"{datetime.fromtimestamp(began, UTC):%Y-%m-%d %H:%M:%S}",
    )


async def on_unsuspend(context: Context) -> None:
    """The timers that came due while the installation was suspended were held (the worker
    queued them for a day later): they run now, as late as they are. GitHub sent nothing
    of what happened meanwhile (a review, a push, a label, a merge), so the open hotfix pull
    requests of every repository the installation covers are evaluated again, and the
    hotfixes merged since the suspension began, when that is known, get their post-merge
    steps, each in its own queue."""
    installation_id = context.github.installation_id
    began = await suspensions.ongoing_since(context.state, installation_id)
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
    await suspensions.ended(context.state, installation_id, context.clock())
    context.log.info(
        "the installation was unsuspended: its open hotfix pull requests in %s are checked again",
        plural(len(usable) - refused, "repository", "repositories"),
    )
