"""An installation's own deliveries (event `installation`): what the App being unsuspended
on an account means for the work held meanwhile (docs/RELIABILITY.md, "Suspended and
reinstalled installations")."""

from __future__ import annotations

from app.handlers.routing import Context
from policies.wording import plural

UNSUSPEND_ACTIONS = ["unsuspend"]


async def on_unsuspend(context: Context) -> None:
    """The timers that came due while the installation was suspended were held (the worker
    queued them for a day later): they run now, as late as they are."""
    released = await context.timers.release_waiting()
    held = plural(released, "held timer")
    context.log.info("the installation was unsuspended: running %s now", held)
