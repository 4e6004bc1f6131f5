"""One comment command: which command it is, whether the commenter may give it (each
command's `permitted`), and its answer.

Every command is answered: a `+1` reaction on the comment when it is carried out, a reply
that quotes it, says why and lists the accepted forms when it is not. Each comment acts
once: its id is kept in the state store once it is answered, so a redelivery or a re-run
finds it answered; everything before that is safe to repeat after a crash or a retry (a
reply is found again by its hidden line, a reaction GitHub keeps once).

A command carried out is answered as such whatever GitHub refuses afterwards: when its
check runs could not show it, or GitHub refused the reaction, a reply says it was carried out
(and what GitHub answered), and the command is not carried out again for its answer. An
error that may pass on the reaction or a reply is retried with the delivery, for the answer
alone: the comment is kept carried out (with what its checks could not show) until it is
answered, and only a refusal, or the error still there on the last attempt, ends it. GitHub
refusing both the reaction and the reply leaves it carried out, unanswered: its delivery is
recorded failed, and running it again (`hotfix-bot redeliver`) answers it alone.

A command an error stops for good (one that will not pass, or one still there on the
delivery's last attempt) is answered too: a reply saying it could not be carried out, why,
and what to do. It is not kept answered: the delivery is recorded failed, and running it
again (`hotfix-bot redeliver`) carries the command out once the cause is gone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from app.github.client import Transience, describe, describe_with_wait, from_github, timestamp
from app.handlers.commands import COMMANDS
from app.handlers.commands.command import (
    Invocation,
    NotShown,
    Refusal,
    answered_key,
    written_by,
)
from app.handlers.config_files import base_config
from app.handlers.notices import comment_once
from app.handlers.records import PullRecords
from app.handlers.routing import Context, GitHubRefused, transience_of
from app.intake.delivery import Delivery
from policies.commands import (
    QUOTED_LINE,
    Parsed,
    ParseError,
    accepted_forms,
    command_line,
    parse,
)
from policies.config import ConfigError
from policies.wording import code_span, shortened

ACTIONS = ("created",)  # an edited comment is not a command
# The kinds of reply that an error makes, each with its own hidden line: a command carried
# out after one that could not be (`hotfix-bot redeliver`) is still answered.
NOT_CARRIED_OUT = "failure reply"
CARRIED_OUT = "carried-out reply"


def is_command(delivery: Delivery) -> bool:
    """A person's comment whose first line is a command, on a pull request whose number was
    read (`app.intake.delivery` reads none GitHub could not send)."""
    return (
        delivery.comment_is_command
        and delivery.issue_is_pull_request
        and delivery.pr_number is not None
        and delivery.comment_by_person
    )


async def on_command(context: Context) -> None:
    """issue_comment `created` (see `is_command`)."""
    comment = context.payload["comment"]
    number = context.delivery.pr_number
    assert number is not None  # is_command: the comment is on a pull request
    answered = answered_key(context, comment["id"])
    if await context.state.get_state(answered) is not None:
        context.log.info("comment %s was answered before; nothing to do", comment["id"])
        return
    carried_key = f"command-carried-out:{context.repository}:{comment['id']}"
    kept = await context.state.get_state(carried_key)
    if kept is None:
        carried = await _carried_out(context, number, comment, answered)
        if carried is None:
            return  # refused, and answered so
    else:
        carried = _CarriedOut.read(kept)
        context.log.info("comment %s was carried out before; answering it", comment["id"])
    # Carried out (and shown, or no longer tried again to be): answered as such, whatever
    # GitHub refuses now. The next evaluation or a re-run of the check shows what it
    # recorded; carrying it out again for its answer would add nothing, only hold back the
    # pull request's later deliveries.
    try:
        await _answer_carried_out(context, number, comment, carried.not_shown)
    except Exception:
        # An error that may pass, or GitHub refusing every answer, kept it from its answer:
        # the next attempt, or running the delivery again, answers it alone.
        await context.state.set_state(carried_key, carried.kept())
        raise
    outcome = "carried out"
    if carried.not_shown is not None:
        outcome += f", not shown: {carried.not_shown.described}"
    await _keep_answered(context, answered, comment, outcome)
    if carried.not_shown is not None:
        raise carried.not_shown.cause()


class Unanswered(GitHubRefused):
    """A command carried out that GitHub let hotfix-bot answer neither with its reaction nor
    with a reply. Of no kind that may pass: its delivery is recorded failed saying so, not
    tried again; the command is kept carried out, so that running the delivery again answers
    it without carrying it out again."""


class ChecksNotUpdated(GitHubRefused):
    """A command carried out whose checks an earlier attempt could not update, answered by a
    later one (the message is what GitHub answered then): its delivery is recorded failed
    saying so, as that attempt's would have been."""


@dataclass(frozen=True, slots=True)
class _NotShown:
    """What kept a command's checks from showing what it recorded: `described` for the
    journal, `reason` for its reply; `error` itself in the attempt it happened in."""

    described: str
    reason: str
    error: Exception | None = None

    def cause(self) -> Exception:
        """What the delivery fails with once the command is answered."""
        return self.error if self.error is not None else ChecksNotUpdated(self.described)


@dataclass(frozen=True, slots=True)
class _CarriedOut:
    """A command carried out, waiting for its answer: kept in the state store when an error
    that may pass stopped the answer, so that the next attempt answers it without carrying
    it out again."""

    not_shown: _NotShown | None = None

    def kept(self) -> str:
        shown = self.not_shown
        if shown is None:
            return json.dumps({})
        return json.dumps({"not_shown": {"described": shown.described, "reason": shown.reason}})

    @classmethod
    def read(cls, kept: str) -> _CarriedOut:
        not_shown = json.loads(kept).get("not_shown")
        if not_shown is None:
            return cls()
        return cls(_NotShown(not_shown["described"], not_shown["reason"]))


async def _carried_out(
    context: Context, number: int, comment: dict[str, Any], answered: str
) -> _CarriedOut | None:
    """Carry the command out; None when it is refused (and answered and kept so). An error
    that stops it is answered once the worker will not try it again, and raised."""
    parsed = parse(comment["body"], [command.syntax for command in COMMANDS])
    try:
        if isinstance(parsed, ParseError):
            raise Refusal(parsed.reason)
        await _carry_out(context, number, comment, parsed)
    except Refusal as refusal:
        await _refuse(context, number, comment, str(refusal))
        await _keep_answered(context, answered, comment, f"refused: {refusal}")
        return None
    except NotShown as stopped_showing:
        error = stopped_showing.error
        if _retried(context, error):
            raise error from None
        return _CarriedOut(_NotShown(describe(error), _reason(context, error), error))
    except Exception as error:
        if not _retried(context, error):
            answer = _not_carried_out(context, error)
            await _report_failure(
                context, number, comment, describe(error), NOT_CARRIED_OUT, answer
            )
        raise  # the worker tries the delivery again, or records it failed
    return _CarriedOut()


async def _keep_answered(
    context: Context, answered: str, comment: dict[str, Any], outcome: str
) -> None:
    await context.state.set_state(answered, outcome)
    context.log.info("command %r %s", command_line(comment["body"]), outcome)


async def _answer_carried_out(
    context: Context, number: int, comment: dict[str, Any], not_shown: _NotShown | None
) -> None:
    """The `+1` on the comment, and a reply when the checks could not show what the command
    recorded (`not_shown`) or when GitHub refused the reaction: either way the commenter
    learns that it was carried out. `Unanswered` is raised when GitHub refused the reply too;
    an error that may pass, on the reaction or the reply, is raised as it is: the delivery is
    tried again for the answer."""
    refused: Exception | None = None
    try:
        await _react(context, comment["id"])
    except Exception as error:
        if _retried(context, error):
            raise
        refused = error
    if not_shown is not None:
        if refused is not None:  # its reply says that the command was carried out
            context.log.warning("the +1 reaction was refused: %s", describe(refused))
        answer = _not_shown(not_shown.reason)
        await _report_failure(context, number, comment, not_shown.described, CARRIED_OUT, answer)
        return
    if refused is None:
        return
    answer = _reaction_refused(context, refused)
    reply_error = await _refused_reply(context, number, comment, CARRIED_OUT, answer)
    if reply_error is None:
        return
    unanswered = (
        f"GitHub refused both its +1 reaction ({describe(refused)}) and the reply saying so "
        f"({describe(reply_error)})"
    )
    context.log.warning(
        "command %r carried out, unanswered: %s; running its delivery again "
        "(`hotfix-bot redeliver`) answers it",
        command_line(comment["body"]),
        unanswered,
    )
    raise Unanswered(f"carried out, but {unanswered}")


async def _carry_out(
    context: Context, number: int, comment: dict[str, Any], parsed: Parsed[Any]
) -> None:
    pull = await context.github.get_json(f"/repos/{context.repository}/pulls/{number}")
    try:
        config = await base_config(context.github, context.repository, pull)
    except ConfigError as error:
        problems = "; ".join(error.problems)
        # Said what to do: the fix on the base branch brings no event that would run it.
        raise Refusal(
            f"{error.file_named(pull['base']['ref'])} cannot be used: {problems}; once it is "
            "fixed there, post the command again, in a new comment"
        ) from None
    invocation = Invocation(
        context,
        number,
        written_by(context, comment),
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
    context: Context,
    number: int,
    comment: dict[str, Any],
    stopped_by: str,
    kind: str,
    answer: str,
) -> None:
    """Say in a reply (`answer`, of its `kind`) what an error (`stopped_by`, described)
    stopped, the command or its answer, once the worker will not try it again. A reply
    refused as well (an installation whose access was revoked refuses both) is logged: the
    error stays the cause."""
    reply_error = await _refused_reply(context, number, comment, kind, answer)
    if reply_error is not None:
        context.log.warning(
            "%s; the reply saying so could not be posted: %s",
            stopped_by,
            describe(reply_error),
        )


async def _refused_reply(
    context: Context, number: int, comment: dict[str, Any], kind: str, answer: str
) -> Exception | None:
    """Post the reply (`answer`, of its `kind`); GitHub's refusal of it, when it refused. An
    error that may pass is raised instead, so that the delivery is tried again for the
    reply."""
    try:
        await _reply(context, number, comment, kind, answer)
    except Exception as reply_error:
        if _retried(context, reply_error):
            raise
        return reply_error
    return None


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


def _not_shown(reason: str) -> str:
    return (
        "recorded this, but could not update the pull request's checks with it: "
        f"{reason}.\n\n"
        "They show it at the pull request's next event, or when the check is re-run."
    )


def _reaction_refused(context: Context, error: Exception) -> str:
    return (
        f"carried this out, but could not add the `+1` reaction that says so: "
        f"{_reason(context, error)}.\n\nThere is no need to post the command again."
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
        f"> {code_span(shortened(command_line(comment['body']), QUOTED_LINE))}\n\n"
        f"@{written_by(context, comment)}, hotfix-bot {answer}"
    )
    hidden_line = f"<!-- hotfix-bot {kind} to comment {comment['id']} -->"
    await comment_once(context, number, hidden_line, body)
