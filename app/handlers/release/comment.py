"""The report comment on the hotfix pull request: one, edited in place on every run."""

from __future__ import annotations

from githubkit.exception import RequestFailed

from app.github.reads import Reads
from app.handlers.notices import comments_look
from app.handlers.release.report import COMMENT_MARKER
from app.handlers.routing import Context


async def write_comment(
    context: Context, number: int, body: str, comment_id: int | None, reads: Reads
) -> int:
    """Update the report comment, or post it when there is none; returns its id. Without
    `comment_id`, the look `look_for_comment` started in `reads` says which it is."""
    repository = context.repository
    if comment_id is None:
        comment_id = await _found_comment(reads, context, number)
    if comment_id is not None:
        try:
            await context.github.request(
                "PATCH", f"/repos/{repository}/issues/comments/{comment_id}", body={"body": body}
            )
            return comment_id
        except RequestFailed as error:
            if error.response.status_code != 404:
                raise  # 404: someone deleted the comment; post it again
    created = await context.github.request(
        "POST", f"/repos/{repository}/issues/{number}/comments", body={"body": body}
    )
    return int(created.json()["id"])


def look_for_comment(reads: Reads, context: Context, number: int) -> None:
    """Start looking for the report comment on pull request `number`, as one of `reads`."""
    comments_look(context.repository, number).start(reads, context.github)


async def _found_comment(reads: Reads, context: Context, number: int) -> int | None:
    # The look at the comments the resolution notice makes too: neither comment is the
    # other's, and only this run (under the release lock) writes either.
    comments = await comments_look(context.repository, number).start(reads, context.github)
    return next((int(c["id"]) for c in comments if COMMENT_MARKER in (c.get("body") or "")), None)
