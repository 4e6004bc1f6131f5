"""Review requests: a hotfix pull request asks each approval group waited for (one more
approval from which would fill one more group, docs/BEHAVIOUR.md, 'Approval groups') to review
it, once per group and severity (docs/BEHAVIOUR.md, 'The incident clock').

What was asked, and what GitHub refused, is kept in the journal's state store: asking is
done once, and every later evaluation shows it in the `hotfix-policy` summary. A refusal
(a team without access to the repository, a missing permission) is shown there, never a
failure of the check. An error that may pass (a 5xx, a rate limit) is not kept: on an
attempt that is not the last, the run is written without the request and the delivery's
next attempt asks; on the last, the summary shows it with GitHub's answer, and that the next
evaluation asks.
"""

from __future__ import annotations

import json
from typing import Any

from app.handlers import timeline
from app.handlers.checks import PostLater, Refusal, post_later, refusal_shown
from app.handlers.routing import Context
from policies.clock import RequestOutcome, ReviewRequest
from policies.timeline import review_requested

# GitHub's answer to a request: None when it asked.
Answer = Refusal | PostLater | None


async def request_reviews(
    context: Context, number: int, severity: str, requests: list[ReviewRequest]
) -> tuple[list[RequestOutcome], PostLater | None]:
    """Ask for the reviews of `requests` that were not asked for under `severity` before.
    Returns every request made for that severity, in the order made, then those GitHub
    still failed on the last attempt with an error that may pass (asked again by the next
    evaluation); and, when GitHub failed one so on an attempt that is not the last, that
    error (`PostLater`): raised once the run is written, the delivery's next attempt asks."""
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
        return made, None
    answers = await _ask(context, number, new)
    settled = [_outcome(request, answer) for request, answer in answers if _settles(answer)]
    failing = [
        _outcome(request, answer)
        for request, answer in answers
        if isinstance(answer, Refusal) and not answer.for_good
    ]
    later = next((answer for _, answer in answers if isinstance(answer, PostLater)), None)
    if settled:
        made += settled
        by_severity[severity] = [
            {"group": outcome.group, "who": outcome.who, "refused": outcome.refused}
            for outcome in made
        ]
        # The rows first: a crash between the two asks again (GitHub takes a request twice),
        # where the other order would lose the rows for good.
        now = context.now()
        await timeline.record(
            context, number, [review_requested(severity, outcome, now) for outcome in settled]
        )
        await context.state.set_state(key, json.dumps(by_severity))
    return made + failing, later


def _settles(answer: Answer) -> bool:
    """Whether `answer` is kept: the group asked, or refused for good."""
    return answer is None or (isinstance(answer, Refusal) and answer.for_good)


def _outcome(request: ReviewRequest, answer: Answer) -> RequestOutcome:
    if not isinstance(answer, Refusal):
        return RequestOutcome(request.group, request.who)
    return RequestOutcome(request.group, request.who, answer.words, not answer.for_good)


async def _ask(
    context: Context, number: int, requests: list[ReviewRequest]
) -> list[tuple[ReviewRequest, Answer]]:
    """One request for all of them; when GitHub refuses it for good, one a group, so that a
    refusal is told of the group it concerns and does not keep the other groups from being
    asked. (An error that may pass says nothing of one group: it stands for all.)"""
    answer = await _answer_to(context, number, requests)
    if not isinstance(answer, Refusal) or not answer.for_good or len(requests) == 1:
        return [(request, answer) for request in requests]
    return [(request, await _answer_to(context, number, [request])) for request in requests]


async def _answer_to(context: Context, number: int, requests: list[ReviewRequest]) -> Answer:
    """Ask GitHub for `requests`."""
    try:
        await _post(context, number, requests)
    except Exception as error:
        answer = post_later(context, error) or refusal_shown(context, error)
        if answer is None:
            raise
        return answer
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
