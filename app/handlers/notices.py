"""Notices: what hotfix-bot tells the people of a pull request, once each (docs/BEHAVIOUR.md,
'The record and the notices').

A notice is a comment on the pull request (or issue), marked with its id, so that running its
handler again (a retry, a restart, `hotfix-bot redeliver`) finds it and does not post it
twice; once it is posted, the state store remembers it, so that a handler that may send it
at every evaluation (the P0 alert) asks GitHub nothing more. This is the one way notices
leave hotfix-bot.

With NOTIFY_WEBHOOK_URL set and `notify.chat: true`, each notice (and a break-glass) also
goes to chat: as a timer of kind `chat` due at once, named after the notice, so it is sent
once, in a queue of its own. The worker runs it with its own retries and backoff, each
attempt bounded (app/chat.py): a chat that is down or hangs never holds up the pull
request's deliveries, nor fails its check. A notice GitHub will not take goes to chat all
the same, and the try that posts it later sends nothing more.

A notice the pull request's `hotfix-policy` run tells of (the P0 alert, an escalation step)
is, when GitHub refuses it, kept as refused instead of failing the delivery: the run's
summary shows it, and the evaluation that sent it goes on to its end. One that GitHub still
fails on the last attempt with an error that may pass (a 5xx, a rate limit) is shown so too,
but not kept from the next try: the next evaluation posts it, and its line goes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta
from enum import Enum
from typing import Any

from app.github.reads import Look, Reads
from app.handlers.checks import PostLater, is_final, post_later, refusal_shown
from app.handlers.routing import Context, transience_of
from app.journal.timers import FiredTimer
from policies.clock import hotfix_policy
from policies.config import HotfixConfig
from policies.evaluate import Verdict
from policies.facts import PullRequestFacts
from policies.incident import P0, p0_alert_values
from policies.notices import DEFAULT_TEMPLATES, P0_ALERT, RefusedNotice, fill
from policies.wording import duration_words, when

CHAT = "chat"  # the kind of the timer that sends a message to chat

# A timer's notice later than this says when it was due, whatever made it late: people read
# it as news otherwise.
LATE_NOTICE = timedelta(minutes=1)


def marker(notice_id: str) -> str:
    """The hidden line that marks a notice's comment."""
    return f"<!-- hotfix-bot notice {notice_id} -->"


class Sent(Enum):
    """What became of a notice."""

    POSTED = "posted now"
    BEFORE = "posted (or refused) before"
    REFUSED = "refused by GitHub now"


async def send_notice(
    context: Context,
    number: int,
    notice_id: str,
    text: str,
    *,
    chat: bool,
    reads: Reads | None = None,
    by_people_too: bool = True,
    shown_as: str | None = None,
    later_chance: bool = False,
) -> Sent:
    """Post `text` on pull request (or issue) `number` unless the notice `notice_id` is
    there already, and send it to chat too when `chat` (`notify.chat`). With `reads`, the
    look at the comments started there (`comments_look`) is the one that says whether it is
    there. `by_people_too`: a person's comment carrying the notice's marker counts, as one a
    Finish-by-hand command posts; otherwise only an App's does, so that nobody silences a
    reminder by posting its marker first. `shown_as`: the notice's name on the pull
    request's `hotfix-policy` run, which tells of GitHub refusing it (`refused_notices`)
    rather than the delivery failing: refused by an error that will not pass, it is not
    tried again; one that may pass, still there on the last attempt, is shown until a later
    try posts it. `later_chance`: the notice is a timer's, which the journal runs again later
    on an error that may pass (docs/RELIABILITY.md, 'Timers'): such an error is never shown
    as a refusal."""
    sent_key = f"notice:{context.repository}:{notice_id}"
    # Looked for and posted under a lock: the P0 alert comes from every evaluation, and a
    # re-run's is queued under its head commit, beside the pull request's own deliveries.
    async with context.locks.lock(sent_key):
        if await context.state.get_state(sent_key) is not None:
            return Sent.BEFORE
        try:
            _, posted = await post_and_chat(
                context,
                number,
                notice_id,
                marker(notice_id),
                text,
                chat=chat,
                reads=reads,
                by_people_too=by_people_too,
            )
        except Exception as error:
            if later_chance and transience_of(error, context.clock()).transient:
                raise
            if shown_as is None or (refusal := refusal_shown(context, error)) is None:
                raise
            in_chat = chat and context.chat is not None
            await _keep_refused(
                context, number, notice_id, RefusedNotice(shown_as, refusal.words, in_chat)
            )
            if refusal.for_good:
                await context.state.set_state(sent_key, "refused")
                context.log.warning("notice %s not posted: %s", notice_id, refusal.words)
            else:
                context.log.warning(
                    "notice %s not posted, tried again later: %s", notice_id, refusal.words
                )
            return Sent.REFUSED
        if not posted:
            context.log.info("notice %s was posted before; not again", notice_id)
        if shown_as is not None:  # a failure shown before is not there any more
            await _forget_refused(context, number, notice_id)
        await context.state.set_state(sent_key, "sent")
    return Sent.POSTED if posted else Sent.BEFORE


async def post_and_chat(
    context: Context,
    number: int,
    notice_id: str,
    hidden_line: str,
    text: str,
    *,
    chat: bool,
    reads: Reads | None = None,
    by_people_too: bool = True,
) -> tuple[dict[str, Any], bool]:
    """`find_or_post`, and the notice's message to chat when `chat`. When GitHub will not
    take the comment (a refusal, or the last attempt), the message goes without a link all
    the same, so that people hear of it: the try that posts the comment later finds the
    message kept already, by `notice_id`, and sends nothing more."""
    try:
        comment, posted = await find_or_post(
            context, number, hidden_line, text, reads, by_people_too=by_people_too
        )
    except Exception as error:
        if chat and is_final(context, error):
            await send_to_chat(context, number, notice_id, text, None)
        raise
    if chat:
        await send_to_chat(context, number, notice_id, text, comment.get("html_url"))
    return comment, posted


def _refused_key(context: Context, number: int) -> str:
    return f"refused-notices:{context.repository}#{number}"


async def refused_notices(context: Context, number: int) -> list[RefusedNotice]:
    """The notices of pull request `number` that GitHub refused, in the order refused."""
    stored = await context.state.get_state(_refused_key(context, number))
    return [
        RefusedNotice(item["name"], item["refusal"], item["in_chat"])
        for item in json.loads(stored or "[]")
    ]


async def _keep_refused(
    context: Context, number: int, notice_id: str, refused: RefusedNotice
) -> None:
    key = _refused_key(context, number)
    # The P0 alert and an escalation step may be refused at once, in two queues.
    async with context.locks.lock(key):
        items = json.loads(await context.state.get_state(key) or "[]")
        if all(item["id"] != notice_id for item in items):
            item = {"name": refused.name, "refusal": refused.refusal, "in_chat": refused.in_chat}
            items.append({"id": notice_id, **item})
            await context.state.set_state(key, json.dumps(items))


async def _forget_refused(context: Context, number: int, notice_id: str) -> None:
    """The notice `notice_id` is posted: no longer among those GitHub did not post."""
    key = _refused_key(context, number)
    async with context.locks.lock(key):
        stored = await context.state.get_state(key)
        items = json.loads(stored or "[]")
        kept = [item for item in items if item["id"] != notice_id]
        if kept != items:
            await context.state.set_state(key, json.dumps(kept))


async def comment_once(context: Context, number: int, hidden_line: str, text: str) -> bool:
    """Post `text` on pull request (or issue) `number`, headed by `hidden_line` (an HTML
    comment), unless a comment there has that line already; False when one had. A command's
    reply is posted so too: it is no notice, and goes nowhere else."""
    _, posted = await find_or_post(context, number, hidden_line, text)
    if not posted:
        context.log.info("%s was posted before; not again", hidden_line)
    return posted


async def find_or_post(
    context: Context,
    number: int,
    hidden_line: str,
    text: str,
    reads: Reads | None = None,
    *,
    by_people_too: bool = True,
) -> tuple[dict[str, Any], bool]:
    """The comment on pull request (or issue) `number` headed by `hidden_line`, posted with
    `text` when none is there yet; and whether it was posted now. With `reads`, the look at
    the comments started there is used; `by_people_too` as for `send_notice`."""
    look = comments_look(context.repository, number)
    comments = await (look.start(reads, context.github) if reads else look.read(context.github))
    found = find_marked(comments, hidden_line, by_people_too=by_people_too)
    if found is not None:
        return found, False
    created = await context.github.request(
        "POST", look.path, body={"body": f"{hidden_line}\n{text}"}
    )
    return created.json(), True


def find_marked(
    comments: Sequence[dict[str, Any]], hidden_line: str, *, by_people_too: bool = True
) -> dict[str, Any] | None:
    """The comment among `comments` headed by `hidden_line`. Its first line: the release
    report quotes markers in the commands it shows. Without `by_people_too`, only a
    comment an App wrote (GitHub's user type `Bot`) counts."""
    return next(
        (
            comment
            for comment in comments
            if (comment.get("body") or "").startswith(hidden_line)
            and (by_people_too or _written_by_an_app(comment))
        ),
        None,
    )


def _written_by_an_app(comment: dict[str, Any]) -> bool:
    user = comment.get("user")
    return not isinstance(user, dict) or user.get("type") in (None, "Bot")


def comments_look(repository: str, number: int) -> Look:
    """The look at every comment on pull request (or issue) `number`."""
    return Look(f"/repos/{repository}/issues/{number}/comments", every_page=True)


async def send_timer_notice(
    context: Context,
    timer: FiredTimer,
    text: str,
    *,
    chat: bool = False,
    shown_as: str | None = None,
) -> Sent:
    """`send_notice` for the timer `timer`, on its pull request (or issue); when it is sent
    late enough to say (`_late_to_say`), the comment (and the chat message) ends saying so."""
    if late_by := _late_to_say(context, timer):
        text += (
            f"\n\nThis reminder was due at {when(timer.expected_at)}; hotfix-bot sends it "
            f"{duration_words(late_by)} late."
        )
    # No Finish-by-hand command posts a timer's notice.
    return await send_notice(
        context,
        timer.number,
        timer.id,
        text,
        chat=chat,
        by_people_too=False,
        shown_as=shown_as,
        later_chance=True,
    )


def _late_to_say(context: Context, timer: FiredTimer) -> timedelta | None:
    """How late `timer`'s notice goes out now, when people should read it: it came due while
    hotfix-bot was down, or goes out more than `LATE_NOTICE` late (GitHub asked for a long
    wait, chat was down, it was redelivered by hand). None when on time."""
    late_by = timer.late_by(context.now())
    # Before this worker started, and fired late: no instance was up to fire it then (with
    # several, another may have fired it on time, and its run come here after a retry).
    came_due_while_down = timer.expected_at.timestamp() < context.up_since and timer.fired_late
    return late_by if came_due_while_down or late_by > LATE_NOTICE else None


async def send_to_chat(
    context: Context, number: int, notice_id: str, text: str, link: str | None
) -> None:
    """Send `text` about pull request `number` to chat once, when hotfix-bot has one;
    `link` is where it is on GitHub."""
    if context.chat is None:
        return
    where = f"{context.repository}#{number}" + (f": {link}" if link else "")
    await context.timers.schedule(
        CHAT,
        notice_id,
        context.now(),
        {"text": f"{where}\n{text}"},
        number=number,
        own_queue=True,
    )


async def on_chat(context: Context) -> None:
    """A message for chat came due: post it. A failure raises, and the worker tries again
    later, in the message's own queue."""
    timer = FiredTimer.of(context.delivery)
    if context.chat is None:
        context.log.warning("%s: NOTIFY_WEBHOOK_URL is not set any more; not sent", timer.id)
        return
    text = timer.data["text"]
    if late_by := _late_to_say(context, timer):  # chat, or hotfix-bot, was down
        text += (
            f"\n\n(Written {when(timer.expected_at)}; hotfix-bot sends it "
            f"{duration_words(late_by)} late.)"
        )
    await context.chat.post(text)
    context.log.info("%s: sent to chat", timer.id)


async def alert_p0(
    context: Context,
    config: HotfixConfig | None,
    verdict: Verdict,
    facts: PullRequestFacts | None,
) -> PostLater | None:
    """The P0 Initial Alert, once, when the evaluation finds a P0 hotfix pull request. An
    error that may pass, on an attempt that is not the last, is returned (`PostLater`): the
    evaluation writes its run all the same, then raises it, and the delivery is tried again
    for the alert (found again by its marker when GitHub posted it after all)."""
    if config is None or facts is None or verdict.severity != P0:
        return None
    policy = hotfix_policy(config, verdict)
    if policy is None or facts.opened_at is None:
        return None  # P0 allows no hotfix here: the clock does not run, and there is no alert
    template = config.notices.template(P0_ALERT) or DEFAULT_TEMPLATES[P0_ALERT]
    values = p0_alert_values(context.repository, verdict, facts, policy.escalation)
    text = fill(template, values)
    notice_id = f"p0-alert:{context.repository}#{facts.number}"
    try:
        sent = await send_notice(
            context,
            facts.number,
            notice_id,
            text,
            chat=config.notify.chat,
            by_people_too=False,
            shown_as="P0 alert",
        )
    except Exception as error:
        if (later := post_later(context, error)) is None:
            raise
        return later
    if sent is Sent.POSTED:
        context.log.info("pull request #%d: posted the P0 alert", facts.number)
    return None
