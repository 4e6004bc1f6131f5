"""One comment command: which command it is, whether the commenter may give it (each
command's `permitted`), and its answer.

Every command is answered: a `+1` reaction on the comment when it is carried out, a reply
that quotes it, says why and lists the accepted forms when it is not. Each comment acts
once: its id is kept in the state store once it is answered, so a redelivery or a re-run
finds it answered; everything before that is safe to repeat after a crash or a retry (a
reply is found again by its hidden line, a reaction GitHub keeps once).

A command an error stops for good (one that will not pass, or one still there on the
delivery's last attempt) is answered too: a reply saying it could not be carried out, why,
and what to do. It is not kept answered: the delivery is recorded failed, and running it
again (`hotfix-bot redeliver`) carries the command out once the cause is gone.
"""

from __future__ import annotations

from typing import Any

from app.github.client import Transience, describe, describe_with_wait, from_github, timestamp
from app.handlers.commands import COMMANDS
from app.handlers.commands.command import Invocation, NotShown, Refusal
from app.handlers.config_files import base_config
from app.handlers.notices import comment_once
from app.handlers.records import PullRecords
from app.handlers.routing import Context, transience_of
from app.intake.delivery import Delivery
from policies.commands import (
    QUOTED_LINE,
    Parsed,
    ParseError,
    accepted_forms,
    command_line,
    parse,
)
from policies.config import CONFIG_PATH, ConfigError
from policies.wording import fence_for, shortened

ACTIONS = ("created",)  # an edited comment is not a command


def is_command(delivery: Delivery) -> bool:
    """A person's comment whose first line is a command, on a pull request whose number was
    read (`app.intake.delivery` reads none GitHub could not send)."""
    return (
        delivery.comment_is_command
        and delivery.issue_is_pull_request
        and delivery.pr_number is not None
        and not delivery.comment_by_bot
    )


async def on_command(context: Context) -> None:
    """issue_comment `created` (see `is_command`)."""
    comment = context.payload["comment"]
    number = context.delivery.pr_number
    assert number is not None  # is_command: the comment is on a pull request
    answered_key = f"command:{context.repository}:{comment['id']}"
    if await context.state.get_state(answered_key) is not None:
        context.log.info("comment %s was answered before; nothing to do", comment["id"])
        return
    parsed = parse(comment["body"], [command.syntax for command in COMMANDS])
    try:
        if isinstance(parsed, ParseError):
            raise Refusal(parsed.reason)
        await _carry_out(context, number, comment, parsed)
    except Refusal as refusal:
        await _refuse(context, number, comment, str(refusal))
        outcome = f"refused: {refusal}"
    except NotShown as not_shown:
        error = not_shown.error
        if _retried(context, error):
            raise error from None
        # Carried out: answered as such, with what did not show it, and kept answered (the
        # next evaluation or a re-run of the check shows what it recorded).
        await _react(context, comment["id"])
        await _report_failure(context, number, comment, error, _not_shown(context, error))
        await context.state.set_state(answered_key, f"carried out, not shown: {describe(error)}")
        raise error from None
    except Exception as error:
        if not _retried(context, error):
            await _report_failure(context, number, comment, error, _not_carried_out(context, error))
        raise  # the worker tries the delivery again, or records it failed
    else:
        await _react(context, comment["id"])
        outcome = "carried out"
    await context.state.set_state(answered_key, outcome)
    context.log.info("command %r %s", command_line(comment["body"]), outcome)


async def _carry_out(
    context: Context, number: int, comment: dict[str, Any], parsed: Parsed[Any]
) -> None:
    pull = await context.github.get_json(f"/repos/{context.repository}/pulls/{number}")
    try:
        config = await base_config(context.github, context.repository, pull)
    except ConfigError as error:
        problem = error.problems[0] if isinstance(error, ConfigError) else str(error)
        raise Refusal(
            f"`{CONFIG_PATH}` on `{pull['base']['ref']}` cannot be used: {problem}"
        ) from None
    invocation = Invocation(
        context,
        number,
        comment["user"]["login"],
        comment["id"],
        timestamp(comment.get("created_at")) or context.now(),
        pull,
        config,
        await PullRecords.load(context, number),
    )
    command = next(command for command in COMMANDS if command.syntax is parsed.syntax)
    await command.permitted(invocation, parsed.arguments)
    await command.run(invocation, parsed.arguments)


async def _react(context: Context, comment_id: int) -> None:
    # GitHub answers 200 for a reaction already there: a repeat adds nothing.
    await context.github.request(
        "POST",
        f"/repos/{context.repository}/issues/comments/{comment_id}/reactions",
        body={"content": "+1"},
    )


async def _refuse(context: Context, number: int, comment: dict[str, Any], reason: str) -> None:
    forms = "\n".join(f"- `{form}`" for form in accepted_forms([c.syntax for c in COMMANDS]))
    await _reply(
        context,
        number,
        comment,
        "reply",
        f"did not carry this out: {reason}.\n\n"
        f"Commands hotfix-bot takes, as the first line of a pull request comment:\n{forms}",
    )


async def _report_failure(
    context: Context, number: int, comment: dict[str, Any], error: Exception, answer: str
) -> None:
    """Say what `error` stopped, once the worker will not try it again. A reply refused as
    well (an installation whose access was revoked refuses both) is logged: the error that
    stopped the command stays the delivery's cause."""
    try:
        await _reply(context, number, comment, "failure reply", answer)
    except Exception as reply_error:
        context.log.warning(
            "%s; the reply saying so could not be posted: %s",
            describe(error),
            describe(reply_error),
        )


def _retried(context: Context, error: Exception) -> bool:
    """Whether the worker tries the delivery again after `error`: then nothing is said yet."""
    return transience_of(error, context.clock()).retriable and not context.last_attempt


def _reason(context: Context, error: Exception) -> str:
    # GitHub's answer is shown as the journal keeps it; a fault of hotfix-bot's own only by
    # its kind, as its message is no one's business on a pull request.
    if from_github(error):
        return describe_with_wait(error, context.clock())
    return f"it ran into an error of its own ({type(error).__name__})"


def _not_carried_out(context: Context, error: Exception) -> str:
    transience = transience_of(error, context.clock())
    return (
        f"could not carry this out: {_reason(context, error)}.\n\n{_what_to_do(error, transience)}"
    )


def _not_shown(context: Context, error: Exception) -> str:
    return (
        "recorded this, but could not update the pull request's checks with it: "
        f"{_reason(context, error)}.\n\n"
        "They show it at the pull request's next event, or when the check is re-run."
    )


def _what_to_do(error: Exception, transience: Transience) -> str:
    if transience.transient:
        return "This may pass: post the command again, in a new comment, later."
    if from_github(error):
        return (
            "Whoever administers hotfix-bot's GitHub App can check that it has the "
            "permissions and access this needs; then post the command again, in a new comment."
        )
    return (
        "Whoever runs hotfix-bot finds the error with `hotfix-bot deliveries --status "
        "failed`; post the command again, in a new comment, once it is fixed."
    )


async def _reply(
    context: Context, number: int, comment: dict[str, Any], kind: str, answer: str
) -> None:
    """The `kind` of reply to `comment`, quoting it, once: a run that stopped after posting
    it, before keeping the comment answered (or a redelivery of a failed one), finds it again
    by its hidden line."""
    body = (
        f"> {_code_span(shortened(command_line(comment['body']), QUOTED_LINE))}\n\n"
        f"@{comment['user']['login']}, hotfix-bot {answer}"
    )
    hidden_line = f"<!-- hotfix-bot {kind} to comment {comment['id']} -->"
    await comment_once(context, number, hidden_line, body)


def _code_span(text: str) -> str:
    """`text` as inline code, so that the @mentions it quotes notify nobody again: fenced by
    more backticks than it holds in a row (CommonMark)."""
    fence = fence_for(text)
    padding = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{padding}{text}{padding}{fence}"
