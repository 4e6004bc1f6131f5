"""What an evaluation adds to the incident timeline (policies/timeline.py)."""

from datetime import UTC, datetime, timedelta

from policy_factories import config, facts

from policies.evaluate import evaluate
from policies.timeline import Kind, TimelineEvent, evaluated, pushed

T0 = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
A, B, C = "a" * 40, "b" * 40, "c" * 40


def approval(login: str, sha: str, at: datetime) -> TimelineEvent:
    return TimelineEvent(
        f"approval:{login}:{sha}:review", at, Kind.APPROVAL, f"Approved by @{login} for Lead"
    )


def test_a_push_voids_an_approval_given_again_at_the_time_of_the_previous_push_row() -> None:
    # x approved A; the first evaluation after the push to B already saw x approve B, so its
    # push row took that approval's time. Now the head is C: x's approval of B is void too.
    at_b = T0 + timedelta(minutes=10)
    earlier = [approval("x", A, T0), pushed(B, ["x"], at_b), approval("x", B, at_b)]
    now = T0 + timedelta(minutes=20)
    judged = facts(head_sha=C, labels={"hotfix", "P1"}, evaluated_at=now)

    events = evaluated(config(), evaluate(config(), judged), judged, now, earlier)

    assert [event for event in events if event.kind is Kind.PUSHED] == [pushed(C, ["x"], now)]
