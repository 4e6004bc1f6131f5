"""An installation's own deliveries (event `installation`): what the App being unsuspended
on an account means for the work held meanwhile (docs/RELIABILITY.md, "Suspended and
reinstalled installations")."""

from __future__ import annotations

import dataclasses

from githubkit.exception import RequestFailed

from app.github.client import describe
from app.handlers.release.production import recheck_every_open_hotfix
from app.handlers.routing import Context, transience_of
from policies.wording import plural

UNSUSPEND_ACTIONS = ["unsuspend"]


async def on_unsuspend(context: Context) -> None:
    """The timers that came due while the installation was suspended were held (the worker
    queued them for a day later): they run now, as late as they are. GitHub sent nothing
    of what happened meanwhile (a review, a push, a label), so the open hotfix pull requests
    of every repository the installation covers are evaluated again, each in its own queue."""
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
            await recheck_every_open_hotfix(in_repository, repository["default_branch"], after)
        except RequestFailed as error:
            if transience_of(error, context.clock()).transient:
                raise  # tried again whole: what was kept for the others is kept once
            # One repository GitHub refuses (removed from the installation since the listing)
            # must not keep the others' hotfixes out of date.
            refused += 1
            context.log.warning(
                "the installation was unsuspended: %s's open hotfixes are not checked again: %s",
                name,
                describe(error),
            )
    context.log.info(
        "the installation was unsuspended: its open hotfix pull requests in %s are checked again",
        plural(len(usable) - refused, "repository", "repositories"),
    )
