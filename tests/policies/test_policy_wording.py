"""How far a deadline is, as every text about it says it (policies/wording.py)."""

from datetime import UTC, datetime, timedelta

import pytest
from policy_factories import config, facts

from policies.config import Duration
from policies.evaluate import evaluate
from policies.incident import Incident
from policies.wording import time_left


@pytest.mark.parametrize(
    ("left", "expected"),
    [
        (timedelta(hours=1, minutes=45), "1h45m left"),
        (timedelta(seconds=45), "45s left"),
        (timedelta(milliseconds=400), "1s left"),
        # The deadline passes the moment it comes: its timer, firing then or a little late,
        # says by at least a second.
        (timedelta(0), "overdue by 1s"),
        (-timedelta(milliseconds=3), "overdue by 1s"),
        (-timedelta(seconds=1, milliseconds=500), "overdue by 2s"),
        (-timedelta(hours=2, seconds=30), "overdue by 2h"),
    ],
)
def test_the_time_left_is_never_0s_either_side_of_the_deadline(
    left: timedelta, expected: str
) -> None:
    assert time_left(left) == expected


OPENED = datetime(2026, 12, 4, 20, 40, 30, tzinfo=UTC)
DUE = OPENED + timedelta(hours=2)


@pytest.mark.parametrize(
    ("moment", "overdue", "deadline"),
    [
        (DUE - timedelta(milliseconds=1), False, "met, with 1s to spare"),
        (DUE, True, "missed by 1s"),
        (DUE + timedelta(milliseconds=3), True, "missed by 1s"),
    ],
)
def test_the_check_run_and_the_incident_report_agree_on_the_same_moment(
    moment: datetime, overdue: bool, deadline: str
) -> None:
    """The deadline's timer and the merge at one moment: the check run evaluated then is
    overdue exactly when the report says the deadline was missed."""
    verdict = evaluate(config(), facts(opened_at=OPENED, evaluated_at=moment))
    incident = Incident(
        repository="acme/widgets",
        number=2,
        title="Fix login",
        url="https://github.com/acme/widgets/pull/2",
        author="dev",
        severity="P0",
        opened_at=OPENED,
        merged_at=moment,
        deadline=Duration("2h", timedelta(hours=2)),
        report_due=None,
        tag="v1.2.4",
    )
    assert (verdict.overdue, verdict.title.startswith("Overdue: ")) == (overdue, overdue)
    assert incident.deadline_words() == f"{deadline} (2h after opening: 2026-12-04 22:40 UTC)"
