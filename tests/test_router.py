"""The router: (event, action) and the payload -> handlers."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

from app.handlers import suspensions
from app.handlers.routing import Context, Router, StateStore
from app.handlers.table import build_router
from app.intake.delivery import Delivery, from_payload
from app.journal.sqlite import SqliteJournal
from app.journal.timers import TIMER_EVENT


async def first(context: Context) -> None: ...


async def second(context: Context) -> None: ...


async def every_action(context: Context) -> None: ...


def delivery(event: str, action: str | None, **payload: Any) -> Delivery:
    return from_payload("d-1", event, {"action": action, **payload})


def test_deliveries_route_to_the_handlers_registered_for_their_event_and_action() -> None:
    router = Router()
    router.add("pull_request", ["opened", "synchronize"], first)
    router.add("pull_request", ["opened"], second)
    router.add("check_suite", None, every_action)

    assert router.handlers_for(delivery("pull_request", "opened")) == [first, second]
    assert router.handlers_for(delivery("pull_request", "synchronize")) == [first]
    assert router.handlers_for(delivery("pull_request", "assigned")) == []
    assert router.handlers_for(delivery("check_suite", "rerequested")) == [every_action]
    assert router.handles(delivery("pull_request", "opened"))
    assert not router.handles(delivery("pull_request", "closed"))
    assert not router.handles(delivery("push", None))
    assert router.events == {"pull_request", "check_suite"}


def test_a_route_may_take_only_the_payloads_its_condition_accepts() -> None:
    router = Router()
    router.add("pull_request", ["closed"], first, when=lambda delivery: delivery.merged)

    def closed(merged: bool) -> Delivery:
        return delivery("pull_request", "closed", pull_request={"number": 7, "merged": merged})

    assert router.handlers_for(closed(merged=True)) == [first]
    assert not router.handles(closed(merged=False))
    assert not router.supersedable(closed(merged=True))


def test_a_timer_delivery_runs_its_kinds_handler_but_is_never_taken_from_outside() -> None:
    router = Router()
    router.add("pull_request", ["opened"], first)
    router.add(TIMER_EVENT, ["escalation"], second)
    fired = delivery(TIMER_EVENT, "escalation", timer={"number": 7})

    assert router.handlers_for(fired) == [second]  # as the worker runs it
    assert fired.pr_number == 7
    assert not router.handles(fired)  # the intake: a `timer` sent to the webhook is ignored
    assert router.events == {"pull_request"}  # what the App subscribes to


def test_an_internal_action_runs_its_handler_but_is_never_taken_from_outside() -> None:
    """hotfix-bot's own delivery of an event GitHub sends (an unsuspension a token granted
    told of): the worker runs it, the intake ignores one of that action however signed,
    and the event's other actions are GitHub's as before."""
    router = Router()
    router.add("installation", ["unsuspend"], first)
    router.add("installation", ["unsuspend-inferred"], second, internal=True)
    router.add("deployment", ["created"], every_action, internal=True)
    installation = {"id": 11}
    inferred = delivery("installation", "unsuspend-inferred", installation=installation)

    assert router.handlers_for(inferred) == [second]
    assert not router.handles(inferred)
    assert router.handles(delivery("installation", "unsuspend", installation=installation))
    assert router.events == set()  # installation is sent to every App; deployment is ours
    assert not build_router().handles(inferred)


def test_an_event_without_actions_is_routed_to_each_of_its_handlers_once() -> None:
    router = Router()
    router.add("push", None, first)

    assert router.handlers_for(delivery("push", None)) == [first]


def test_a_delivery_whose_handlers_keep_to_the_journal_runs_without_a_token() -> None:
    """An installation's suspension is kept without GitHub, which mints no token for it; a
    delivery one of whose handlers asks GitHub needs one."""
    router = Router()
    router.add("installation", ["suspend", "unsuspend"], first, without_github=True)
    router.add("installation", ["unsuspend"], second)
    installation = {"id": 11}

    assert not router.needs_github(delivery("installation", "suspend", installation=installation))
    assert router.needs_github(delivery("installation", "unsuspend", installation=installation))
    routes = build_router()
    assert not routes.needs_github(delivery("installation", "suspend", installation=installation))
    assert routes.needs_github(delivery("installation", "unsuspend", installation=installation))


def test_a_suspension_the_worker_met_is_kept_by_the_hook_the_table_registers(
    tmp_path: Path,
) -> None:
    """The worker meets an installation's suspension (GitHub refused a delivery's token)
    whatever the delivery, and tells the router, which knows what it means: nothing without
    a hook; with the table's, its start kept for the unsuspension."""
    met: list[tuple[int, float]] = []

    async def note(state: StateStore, installation_id: int, at: float) -> None:
        met.append((installation_id, at))

    journal = SqliteJournal(tmp_path / "journal.db")

    async def story() -> float | None:
        await Router().suspended(journal, 5, 1_000.0)
        hooked = Router()
        hooked.on_suspended(note)
        await hooked.suspended(journal, 5, 1_100.0)
        await build_router().suspended(journal, 5, 1_200.0)
        return await suspensions.ongoing_since(journal, 5)

    try:
        assert asyncio.run(story()) == 1_200.0
    finally:
        journal.close()
    assert met == [(5, 1_100.0)]


def test_the_worker_loads_the_routers_interface_and_no_handler() -> None:
    """The worker runs handlers through the router alone: importing it, as a process that
    has imported nothing else, loads the package of handlers and its interface, none of
    the handlers (docs/ARCHITECTURE.md, import rules)."""
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, app.journal.worker; "
            "print(*sorted(m for m in sys.modules if m.startswith('app.handlers')))",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert loaded.stdout.split() == ["app.handlers", "app.handlers.routing"]
