"""Whether a hotfix was rolled back already when another rollback of it comes (two people
rolling back the same hotfix in a hurry, one not seeing the other's; docs/BEHAVIOUR.md,
'Rollbacks').

The hotfix's timeline tells once the first rollback's post-merge run has added its row.
"""

from __future__ import annotations

from datetime import datetime

from app.handlers import timeline
from app.handlers.routing import Context
from policies.config import HotfixConfig
from policies.facts import RevertedPull
from policies.timeline import EarlierRollback, rolled_back_before


async def earlier_rollback(
    context: Context,
    config: HotfixConfig,
    hotfix: RevertedPull,
    rollback: int,
    merged_at: datetime | None,
) -> EarlierRollback | None:
    """The rollback of `hotfix` merged before rollback `rollback` (merged at `merged_at`,
    None while it is open); None when `rollback` is the first."""
    return rolled_back_before(await timeline.load(context, hotfix.number), rollback, merged_at)
