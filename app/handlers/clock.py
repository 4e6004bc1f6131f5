"""The incident clock's timers coming due (docs/BEHAVIOUR.md, 'The incident clock').

The `hotfix-policy` evaluation schedules them (app/handlers/policy.py); here they fire. Each
first evaluates the pull request again, as it is now: a timer whose reason has gone (the
pull request merged or closed, its severity changed, the step no longer configured) does
nothing more.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.handlers import timeline
from app.handlers.check_output import escalation_comment
from app.handlers.notices import send_timer_notice
from app.handlers.policy import evaluate_pull_request
from app.handlers.routing import Context
from app.journal.timers import FiredTimer
from policies.clock import escalation_step, hotfix_policy, mentions
from policies.notices import ESCALATION, pull_request_values
from policies.timeline import escalated


async def on_escalation(context: Context) -> None:
    """An escalation step came due: one comment mentioning its notify list, while the pull
    request is open, unmerged and still of the step's severity."""
    timer = FiredTimer.of(context.delivery)
    evaluation = await evaluate_pull_request(context, timer.number)
    if evaluation is None:
        return  # merged or closed: the evaluation said so
    config, facts, verdict = evaluation.config, evaluation.facts, evaluation.verdict
    severity = timer.data["severity"]
    if config is None or facts is None or facts.opened_at is None or verdict.severity != severity:
        context.log.info(
            "%s: the pull request is not a %s hotfix now; nothing sent", timer.id, severity
        )
        return
    step = escalation_step(config, severity, timedelta(seconds=timer.data["after"]))
    policy = hotfix_policy(config, verdict)
    if step is None or policy is None:
        context.log.info(
            "%s: %s allows no hotfix or has no such step now; nothing sent", timer.id, severity
        )
        return
    notify = mentions(step, policy, verdict, facts, context.owner)
    now = datetime.fromtimestamp(context.clock(), UTC)
    pull_request = pull_request_values(
        context.repository, facts.number, facts.title, facts.author, severity
    )
    template = config.notices.template(ESCALATION)
    text = escalation_comment(pull_request, notify, facts.opened_at, now, verdict, template)
    if await send_timer_notice(context, timer, text, chat=config.notify.chat):
        context.log.info("%s: reminded %s", timer.id, " ".join(notify) or "nobody")
    await timeline.record(
        context, timer.number, [escalated(severity, str(step.after), notify, now)]
    )


async def on_overdue(context: Context) -> None:
    """The deadline came: evaluate again, so that the check run's title says `Overdue:`."""
    await evaluate_pull_request(context, FiredTimer.of(context.delivery).number)
