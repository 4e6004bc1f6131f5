"""The router: (event, action) -> handlers."""

from __future__ import annotations

from app.router import Context, Router


async def first(context: Context) -> None: ...


async def second(context: Context) -> None: ...


async def every_action(context: Context) -> None: ...


def test_deliveries_route_to_the_handlers_registered_for_their_event_and_action() -> None:
    router = Router()
    router.add("pull_request", ["opened", "synchronize"], first)
    router.add("pull_request", ["opened"], second)
    router.add("check_suite", None, every_action)

    assert router.handlers_for("pull_request", "opened") == [first, second]
    assert router.handlers_for("pull_request", "synchronize") == [first]
    assert router.handlers_for("pull_request", "assigned") == []
    assert router.handlers_for("check_suite", "rerequested") == [every_action]
    assert router.handles("pull_request", "opened")
    assert not router.handles("pull_request", "closed")
    assert not router.handles("push", None)
    assert router.events == {"pull_request", "check_suite"}
