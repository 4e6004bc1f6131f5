"""The incident report's summary, as text (policies/incident.py)."""

from datetime import UTC, datetime, timedelta

import pytest
from policy_factories import config, facts

from policies.config import Duration
from policies.evaluate import evaluate
from policies.incident import Incident, p0_alert_values, reminder_words

OPENED = datetime(2026, 12, 31, 22, 30, tzinfo=UTC)


def incident(number: int = 7, merged_after: timedelta = timedelta(hours=1)) -> Incident:
    return Incident(
        repository="acme/widgets",
        number=number,
        title="Fix login",
        url="https://github.com/acme/widgets/pull/7",
        author="dev",
        severity="P0",
        opened_at=OPENED,
        merged_at=OPENED + merged_after,
        deadline=Duration("2h", timedelta(hours=2)),
        report_due=Duration("24h", timedelta(hours=24)),
        tag="v1.2.4",
    )


@pytest.mark.parametrize(
    ("number", "merged_after", "expected"),
    [
        (7, timedelta(hours=1), "INC-2026-007"),
        (42, timedelta(hours=1), "INC-2026-042"),
        (1234, timedelta(hours=1), "INC-2026-1234"),
        (7, timedelta(hours=2), "INC-2027-007"),  # merged in the new year
    ],
)
def test_the_incident_id_is_the_year_of_the_merge_and_the_number_in_three_digits_or_more(
    number: int, merged_after: timedelta, expected: str
) -> None:
    assert incident(number, merged_after).incident_id == expected


@pytest.mark.parametrize(
    ("merged_after", "expected"),
    [
        (timedelta(minutes=75), "met, with 45m to spare (2h after opening: 2027-01-01 00:30 UTC)"),
        # At the deadline itself it has passed, as the check run's `Overdue:` says then; no
        # side of it reads `0s`.
        (timedelta(hours=2), "missed by 1s (2h after opening: 2027-01-01 00:30 UTC)"),
        (
            timedelta(hours=2, milliseconds=3),
            "missed by 1s (2h after opening: 2027-01-01 00:30 UTC)",
        ),
        (
            timedelta(hours=2, seconds=1, milliseconds=500),
            "missed by 2s (2h after opening: 2027-01-01 00:30 UTC)",
        ),
        (
            timedelta(hours=1, minutes=59, seconds=59, milliseconds=600),
            "met, with 1s to spare (2h after opening: 2027-01-01 00:30 UTC)",
        ),
        (
            timedelta(hours=1, minutes=59, seconds=30),
            "met, with 30s to spare (2h after opening: 2027-01-01 00:30 UTC)",
        ),
        (
            timedelta(days=1, hours=5, minutes=12, seconds=40),
            "missed by 1d3h12m (2h after opening: 2027-01-01 00:30 UTC)",
        ),
        (
            timedelta(hours=5, minutes=12),
            "missed by 3h12m (2h after opening: 2027-01-01 00:30 UTC)",
        ),
    ],
)
def test_the_deadline_is_met_or_missed_by_how_much(merged_after: timedelta, expected: str) -> None:
    assert incident(merged_after=merged_after).deadline_words() == expected


@pytest.mark.parametrize(
    ("escalation", "expected"),
    [
        (
            "[{after: 15m, notify: [approvers]}, {after: 4h, notify: [approvers, author]}]",
            "Reminding the approvers at 15m and 4h, and the author at 4h after opening",
        ),
        (  # named together when reminded at the same times; as written, in time order
            "[{after: 1d, notify: ['@acme/sre', author]}, {after: 90m, notify: [approvers]}]",
            "Reminding the approvers at 90m, and `@acme/sre` and the author at 1d after opening",
        ),
        (  # named twice in a step, reminded once
            "[{after: 15m, notify: [author, approvers, author]}]",
            "Reminding the author and the approvers at 15m after opening",
        ),
        ("[]", "No reminders are set (severities.P0.escalation is empty)"),
    ],
)
def test_the_p0_alert_says_whom_the_escalation_steps_remind_and_when(
    escalation: str, expected: str
) -> None:
    steps = config(f"severities: {{P0: {{escalation: {escalation}}}}}\n").severities["P0"]
    assert reminder_words("P0", steps.escalation) == expected


@pytest.mark.parametrize(
    ("escalation", "expected"),
    [
        (
            "[{after: 15m, notify: [approvers]}, {after: 4h, notify: [approvers, author]}]",
            "Reminding the approvers at 15m and 4h after opening; not the author, whose "
            "account was deleted",
        ),
        (  # nobody else to remind at all
            "[{after: 15m, notify: [author]}]",
            "No reminders can be sent: the author's account was deleted",
        ),
    ],
)
def test_the_p0_alert_of_an_author_whose_account_was_deleted_says_they_are_not_reminded(
    escalation: str, expected: str
) -> None:
    steps = config(f"severities: {{P0: {{escalation: {escalation}}}}}\n").severities["P0"]
    assert reminder_words("P0", steps.escalation, author_deleted=True) == expected


@pytest.mark.parametrize(
    ("evaluated_after", "deadline"),
    [
        (timedelta(minutes=10), "2026-12-31 23:30 UTC (2h after opening)"),
        # Labelled P0 only once its deadline had passed.
        (
            timedelta(hours=3, minutes=12),
            "2026-12-31 23:30 UTC (2h after opening), overdue by 1h12m",
        ),
    ],
)
def test_the_p0_alert_says_when_the_deadline_has_passed(
    evaluated_after: timedelta, deadline: str
) -> None:
    opened = OPENED - timedelta(hours=1)
    judged = facts(opened_at=opened, evaluated_at=opened + evaluated_after)
    values = p0_alert_values("acme/widgets", evaluate(config(), judged), judged, ())
    assert values["deadline"] == deadline
