"""Review requests: a hotfix pull request asks each approval group waited for (one more
approval from which would fill one more group, docs/BEHAVIOUR.md, 'Approval groups') to review
it, once per group and severity (docs/BEHAVIOUR.md, 'The incident clock').

What was asked, and what GitHub refused, is kept in the journal's state store: asking is
done once, and every later evaluation shows it in the `hotfix-policy` summary. A refusal
(a team without access to the repository, a missing permission) is shown there, never a
failure of the check.
"""

from __future__ import annotations

import json
from typing import Any

from app.handlers import timeline
from app.handlers.checks import refusal_shown
from app.handlers.routing import Context
from policies.clock import RequestOutcome, ReviewRequest
from policies.timeline import review_requested


async def request_reviews(
    context: Context, number: int, severity: str, requests: list[ReviewRequest]
) -> list[RequestOutcome]:
    """Ask for the reviews of `requests` that were not asked for under `severity` before;
    returns every request made for that severity, in the order made."""
    key = f"review-requests:{context.repository}#{number}"
    stored = await context.state.get_state(key)
    by_severity: dict[str, list[dict[str, Any]]] = json.loads(stored) if stored else {}
    made = [
        RequestOutcome(outcome["group"], outcome["who"], outcome["refused"])
        for outcome in by_severity.get(severity, [])
    ]
    asked = {outcome.group for outcome in made}
    new = [request for request in requests if request.group not in asked]
    if not new:
        return made
    asked_now = await _ask(context, number, new)
    made += asked_now
    by_severity[severity] = [
        {"group": outcome.group, "who": outcome.who, "refused": outcome.refused} for outcome in made
    ]
    # The rows first: a crash between the two asks again (GitHub takes a request twice),
    # where the other order would lose the rows for good.
    now = context.now()
    await timeline.record(
        context, number, [review_requested(severity, outcome, now) for outcome in asked_now]
    )
    await context.state.set_state(key, json.dumps(by_severity))
    return made


async def _ask(
    context: Context, number: int, requests: list[ReviewRequest]
) -> list[RequestOutcome]:
    """One request for all of them; when GitHub refuses it, one a group, so that a refusal
    is told of the group it concerns and does not keep the other groups from being asked."""
    refused = await _refusal_of(context, number, requests)
    if refused is None or len(requests) == 1:
        return [RequestOutcome(request.group, request.who, refused) for request in requests]
    return [
        RequestOutcome(request.group, request.who, await _refusal_of(context, number, [request]))
        for request in requests
    ]


async def _refusal_of(context: Context, number: int, requests: list[ReviewRequest]) -> str | None:
    """Ask GitHub for `requests`: None when it did, else its refusal, in words."""
    try:
        await _post(context, number, requests)
    except Exception as error:
        refusal = refusal_shown(context, error)
        if refusal is None:
            raise
        return refusal
    return None


async def _post(context: Context, number: int, requests: list[ReviewRequest]) -> None:
    body: dict[str, list[str]] = {}
    reviewers = [login for request in requests for login in request.reviewers]
    teams = [slug for request in requests for slug in request.team_reviewers]
    if reviewers:
        body["reviewers"] = reviewers
    if teams:
        body["team_reviewers"] = teams
    await context.github.request(
        "POST", f"/repos/{context.repository}/pulls/{number}/requested_reviewers", body=body
    )
