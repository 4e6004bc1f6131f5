"""The incident clock's timers coming due (docs/BEHAVIOUR.md, 'The incident clock').

The `hotfix-policy` evaluation schedules them (app/handlers/policy.py); here they fire. Each
first evaluates the pull request again, as it is now: a timer whose reason has gone (the
pull request merged or closed) does nothing more. An escalation step that cannot be sent
for a reason that may pass (the pull request closed, which may be reopened, or of another
severity now, the step not in its config now, the config unusable) is forgotten, so that
the next evaluation that finds the step due schedules it again, and it is sent then, once.
Only an open pull request's evaluation schedules: a step forgotten while its pull request
is closed stays so until it is reopened.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.handlers import timeline
from app.handlers.check_output import escalation_comment
from app.handlers.notices import Sent, send_timer_notice
from app.handlers.policy import Evaluation, NotOpen, evaluate_pull_request
from app.handlers.routing import Context
from app.journal.timers import FiredTimer
from policies.accounts import is_deleted
from policies.clock import escalation_step, hotfix_policy, mentions
from policies.notices import ESCALATION, pull_request_values
from policies.timeline import escalated
from policies.wording import duration_words, join_words

# A config that cannot be used is most likely being fixed, and a fix in the organization's
# `.github` repository (or on a base branch other than the production branch, whose pushes
# evaluate its open hotfixes: release/production.py) brings no event of the pull request's:
# after a step met it, the pull request is evaluated again this often, this many times at
# most, so that the fixed config sends the step.
CONFIG_RECHECK = "config-recheck"
CONFIG_RECHECK_EVERY = timedelta(minutes=5)
CONFIG_RECHECKS = 12


async def on_escalation(context: Context) -> None:
    """An escalation step came due: one comment mentioning its notify list, while the pull
    request is open, unmerged and still of the step's severity. Sent before the pull
    request's run is written, so that the run tells of GitHub refusing it."""
    timer = FiredTimer.of(context.delivery)

    async def escalate(evaluation: Evaluation) -> None:
        await _escalate(context, timer, evaluation)

    # Called for an open pull request only. A merged one's step is spent: there is nothing
    # left to remind of; a closed one's waits for a reopening.
    evaluation = await evaluate_pull_request(context, timer.number, before_writing=escalate)
    if evaluation is NotOpen.CLOSED:
        await _not_sent(context, timer, "the pull request is closed now")


async def _escalate(context: Context, timer: FiredTimer, evaluation: Evaluation) -> None:
    config, facts, verdict = evaluation.config, evaluation.facts, evaluation.verdict
    severity = timer.data["severity"]
    if config is None:
        await _not_sent(context, timer, "the config files cannot be used now")
        await _recheck_config(context, timer, 1)
        return
    if facts is None or facts.opened_at is None or verdict.severity != severity:
        await _not_sent(context, timer, f"the pull request is not a {severity} hotfix now")
        return
    step = escalation_step(config, severity, timedelta(seconds=timer.data["after"]))
    policy = hotfix_policy(config, verdict)
    if step is None or policy is None:
        await _not_sent(context, timer, f"{severity} allows no hotfix or has no such step now")
        return
    notify = mentions(step, policy, verdict, facts, context.owner)
    now = datetime.fromtimestamp(context.clock(), UTC)
    pull_request = pull_request_values(
        context.repository, facts.number, facts.title, facts.author, severity
    )
    template = config.notices.template(ESCALATION)
    author_deleted = "author" in step.notify and is_deleted(facts.author)
    text = escalation_comment(
        pull_request, notify, facts.opened_at, now, verdict, template, author_deleted=author_deleted
    )
    name = f"Escalation after {step.after}" + (f" ({join_words(notify)})" if notify else "")
    sent = await send_timer_notice(context, timer, text, chat=config.notify.chat, shown_as=name)
    if sent is Sent.POSTED:
        context.log.info("%s: reminded %s", timer.id, " ".join(notify) or "nobody")
    event = escalated(
        severity,
        str(step.after),
        notify,
        now,
        refused=sent is Sent.REFUSED,
        author_deleted=author_deleted,
    )
    await timeline.record(context, timer.number, [event])


async def _not_sent(context: Context, timer: FiredTimer, why: str) -> None:
    """The step is not spent: the next evaluation that finds it due schedules it again."""
    await context.timers.forget(timer)
    context.log.info("%s: %s; nothing sent until an evaluation finds it due again", timer.id, why)


async def _recheck_config(context: Context, fired: FiredTimer, recheck: int) -> None:
    """Evaluate the pull request again after `CONFIG_RECHECK_EVERY`, the `recheck`th time
    for the step `fired` (the step's timer, or its last recheck) names, unless that is more
    than `CONFIG_RECHECKS`."""
    if recheck > CONFIG_RECHECKS:
        context.log.info("%s: the config still cannot be used; not looked at again", fired.id)
        return
    severity, after = fired.data["severity"], fired.data["after"]
    step = f"{severity}:{duration_words(timedelta(seconds=after), to_the_second=True)}"
    await context.timers.schedule(
        CONFIG_RECHECK,
        f"{step}:{recheck}",
        context.now() + CONFIG_RECHECK_EVERY,
        {"severity": severity, "after": after, "recheck": recheck},
        number=fired.number,
    )


async def on_config_recheck(context: Context) -> None:
    """A step met a config that could not be used: evaluate again, which schedules the step
    again, due already, once the config can be used; else look again later."""
    timer = FiredTimer.of(context.delivery)
    evaluation = await evaluate_pull_request(context, timer.number)
    if isinstance(evaluation, Evaluation) and evaluation.config is None:
        await _recheck_config(context, timer, timer.data["recheck"] + 1)


async def on_overdue(context: Context) -> None:
    """The deadline came: evaluate again, so that the check run's title says `Overdue:`."""
    await evaluate_pull_request(context, FiredTimer.of(context.delivery).number)
