"""The routing fields the intake reads from a body equal those a whole parse gives."""

from __future__ import annotations

import json
import tracemalloc
from typing import Any

import pytest
from support.large_bodies import LARGE_BODIES

from app.intake.delivery import from_body, from_payload

MIB = 1024 * 1024

PULL = {"number": 7, "title": "Fix login", "head": {"sha": "abc", "ref": "hotfix/x"}}
DANA = {"login": "dana", "type": "User"}


def delivered(**fields: object) -> dict[str, Any]:
    """A payload from acme/widgets, delivered to installation 42."""
    return {**fields, "installation": {"id": 42}, "repository": {"full_name": "acme/widgets"}}


def commented(
    body: object = "/hotfix confirm",
    user: object = DANA,
    issue: object = None,
    **fields: object,
) -> dict[str, Any]:
    """A new comment, by default on pull request 7."""
    on = {"number": 7, "pull_request": {"url": "u"}} if issue is None else issue
    return delivered(
        action="created", issue=on, comment={"id": 1, "body": body, "user": user}, **fields
    )


SHAPES: dict[str, dict[str, Any]] = {
    "pull_request": {
        "action": "opened",
        "number": 7,
        "pull_request": PULL,
        "installation": {"id": 42, "node_id": "x"},
        "repository": {"full_name": "acme/widgets", "owner": {"login": "acme"}},
    },
    "pull_request closed with a merge": delivered(
        action="closed", pull_request={**PULL, "merged": True, "draft": False}
    ),
    "merged given as text": delivered(action="closed", pull_request={**PULL, "merged": "true"}),
    "check_run for one pull request": delivered(
        action="rerequested",
        check_run={"head_sha": "abc", "pull_requests": [{"number": 7, "head": {}}]},
    ),
    "check_suite for two pull requests": delivered(
        action="rerequested",
        check_suite={"head_sha": "def", "pull_requests": [{"number": 7}, {"number": 8}]},
    ),
    "merge_group": delivered(
        action="checks_requested",
        merge_group={
            "head_sha": "f00",
            "head_ref": f"refs/heads/gh-readonly-queue/release/1.x/pr-7-{'a' * 40}",
            "base_ref": "refs/heads/release/1.x",
        },
    ),
    "check_run on a merge group's commit": delivered(
        action="rerequested",
        check_run={
            "head_sha": "f00",
            "pull_requests": [],
            "check_suite": {"head_branch": f"gh-readonly-queue/main/pr-7-{'a' * 40}"},
        },
    ),
    "check_suite on a merge group's commit": delivered(
        action="rerequested",
        check_suite={
            "head_sha": "f00",
            "head_branch": f"gh-readonly-queue/main/pr-7-{'a' * 40}",
            "pull_requests": [],
        },
    ),
    "merge_group naming no pull request": delivered(
        action="checks_requested",
        merge_group={"head_sha": "f00", "head_ref": "refs/heads/gh-readonly-queue/main/x"},
    ),
    "review of a merged pull request": delivered(
        action="submitted",
        review={"state": "approved"},
        pull_request={**PULL, "merged_at": "2026-12-04T14:32:00Z"},
    ),
    "a command on a pull request": commented(
        "/hotfix confirm\nthanks",
        issue={"number": 7, "pull_request": {"url": "u", "merged_at": None}},
    ),
    "a command by a bot": commented(user={"login": "ci[bot]", "type": "Bot"}),
    # A deleted account's comment may come with no user: its sender wrote it.
    "a command of a deleted account": commented(user=None, sender=DANA),
    "a command naming no author": commented(user=None),
    "a command on an issue": commented(issue={"number": 9}),
    "a comment that is no command": commented("LGTM /hotfix confirm"),
    "a comment of odd types": commented(7, "me", {"number": "7", "pull_request": True}),
    "no installation": {"action": "created", "repository": {"full_name": "acme/widgets"}},
    "odd types": {
        "action": 3,
        "installation": {"id": "42"},
        "repository": {"full_name": None},
        "pull_request": {"number": True},
    },
    "objects where GitHub sends none": {
        "action": "opened",
        "installation": "42",
        "repository": ["acme/widgets"],
        "pull_request": 7,
    },
    "empty": {},
}


def routing(delivery: Any) -> tuple[object, ...]:
    return (
        delivery.action,
        delivery.installation_id,
        delivery.repository,
        delivery.pr_number,
        delivery.ordering_key,
        delivery.merged,
        delivery.issue_is_pull_request,
        delivery.comment_is_command,
        delivery.comment_by_person,
        delivery.on_merge_group,
    )


@pytest.mark.parametrize("payload", SHAPES.values(), ids=SHAPES.keys())
def test_the_intake_routes_as_a_whole_parse_would(payload: dict[str, Any]) -> None:
    whole = from_payload("d-1", "pull_request", payload)
    read = from_body("d-1", "pull_request", json.dumps(payload).encode())

    assert routing(read) == routing(whole)


def test_the_routing_fields_are_read_as_github_sends_them() -> None:
    read = from_body(
        "d-1", "check_run", json.dumps(SHAPES["check_suite for two pull requests"]).encode()
    )

    assert routing(read) == (
        "rerequested",
        42,
        "acme/widgets",
        None,
        "acme/widgets@def",
        False,
        False,
        False,
        False,
        False,
    )


@pytest.mark.parametrize(
    ("head_ref", "pr_number", "ordering_key"),
    [
        (f"refs/heads/gh-readonly-queue/main/pr-7-{'a' * 40}", 7, "acme/widgets#7"),
        (f"refs/heads/gh-readonly-queue/release/1.x/pr-12-{'b' * 40}", 12, "acme/widgets#12"),
        (f"gh-readonly-queue/main/pr-7-{'a' * 40}", 7, "acme/widgets#7"),
        (f"refs/heads/gh-readonly-queue/main/pr-7-{'aB3' * 13}F", 7, "acme/widgets#7"),
        ("refs/heads/gh-readonly-queue/main/pr-7", None, "acme/widgets@f00"),
        (f"refs/heads/main/pr-7-{'a' * 40}", None, "acme/widgets@f00"),
        (f"refs/heads/gh-readonly-queue/main/pr-{'9' * 19}-{'a' * 40}", None, "acme/widgets@f00"),
        (None, None, "acme/widgets@f00"),
    ],
    ids=[
        "main",
        "base with slashes",
        "without refs/heads/",
        "upper-case sha",
        "no sha",
        "not the queue",
        "too big",
        "none",
    ],
)
def test_a_merge_group_runs_with_the_pull_request_its_ref_names(
    head_ref: str | None, pr_number: int | None, ordering_key: str
) -> None:
    payload = delivered(
        action="checks_requested", merge_group={"head_sha": "f00", "head_ref": head_ref}
    )

    read = from_body("d-1", "merge_group", json.dumps(payload).encode())

    assert (read.pr_number, read.ordering_key) == (pr_number, ordering_key)


@pytest.mark.parametrize("event", ["check_run", "check_suite"])
@pytest.mark.parametrize(
    ("head_branch", "pr_number", "ordering_key", "on_merge_group"),
    [
        (f"gh-readonly-queue/main/pr-7-{'a' * 40}", 7, "acme/widgets#7", True),
        (f"refs/heads/gh-readonly-queue/release/1.x/pr-12-{'b' * 40}", 12, "acme/widgets#12", True),
        ("gh-readonly-queue/main/pr-7", None, "acme/widgets@f00", False),
        ("hotfix/login", None, "acme/widgets@f00", False),
        (None, None, "acme/widgets@f00", False),
    ],
    ids=["merge group", "base with slashes", "no sha", "a pull request's branch", "none"],
)
def test_a_rerun_on_a_merge_groups_commit_runs_with_the_pull_request_the_group_adds(
    event: str,
    head_branch: str | None,
    pr_number: int | None,
    ordering_key: str,
    on_merge_group: bool,
) -> None:
    suite: dict[str, object] = {"head_sha": "f00", "head_branch": head_branch, "pull_requests": []}
    check = suite if event == "check_suite" else {"head_sha": "f00", "check_suite": suite}
    payload = delivered(action="rerequested", **{event: check})

    read = from_body("d-1", event, json.dumps(payload).encode())

    assert (read.pr_number, read.ordering_key, read.on_merge_group) == (
        pr_number,
        ordering_key,
        on_merge_group,
    )


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        ("review of a merged pull request", (7, True, False, False, False)),
        ("a command on a pull request", (7, False, True, True, True)),
        ("a command by a bot", (7, False, True, True, False)),
        ("a command of a deleted account", (7, False, True, True, True)),
        ("a command naming no author", (7, False, True, True, False)),
        ("a command on an issue", (None, False, False, True, True)),
        ("a comment that is no command", (7, False, True, False, True)),
        ("a comment of odd types", (None, False, False, False, False)),
    ],
)
def test_comments_and_reviews_are_read_as_github_sends_them(
    shape: str, expected: tuple[object, ...]
) -> None:
    """A command is told from other comments at the intake, from the body as received."""
    read = from_body("d-1", "issue_comment", json.dumps(SHAPES[shape]).encode())

    assert (
        read.pr_number,
        read.merged,
        read.issue_is_pull_request,
        read.comment_is_command,
        read.comment_by_person,
    ) == expected


PUSH = {
    "ref": "refs/heads/main",
    "before": "a" * 40,
    "after": "b" * 40,
    "created": False,
    "deleted": False,
    "forced": False,
    "installation": {"id": 42},
    "repository": {"full_name": "acme/widgets", "default_branch": "main"},
}


@pytest.mark.parametrize(
    ("change", "pushed_branch", "ordering_key"),
    [
        ({}, "main", "acme/widgets:refs/heads/main"),
        ({"ref": "refs/heads/release/1.x"}, "release/1.x", "acme/widgets:refs/heads/release/1.x"),
        ({"ref": "refs/tags/v1.2.4"}, None, "delivery:d-1"),
        ({"created": True}, None, "delivery:d-1"),
        ({"deleted": True}, None, "delivery:d-1"),
        ({"forced": True}, None, "delivery:d-1"),
        ({"forced": None}, None, "delivery:d-1"),
    ],
    ids=["main", "slashes", "tag", "created", "deleted", "forced", "not said"],
)
def test_a_push_names_the_branch_it_moved_forward_and_runs_in_its_order(
    change: dict[str, Any], pushed_branch: str | None, ordering_key: str
) -> None:
    payload = {**PUSH, **change}

    read = from_body("d-1", "push", json.dumps(payload).encode())
    whole = from_payload("d-1", "push", payload)

    assert (read.action, read.pushed_branch, read.default_branch, read.ordering_key) == (
        None,
        pushed_branch,
        "main",
        ordering_key,
    )
    assert (whole.pushed_branch, whole.ordering_key) == (read.pushed_branch, read.ordering_key)


@pytest.mark.parametrize(
    ("length", "is_command"),
    [(512 * 1024, True), (512 * 1024 + 1, False)],
    ids=["512 KiB", "512 KiB + 1 byte"],
)
def test_a_text_longer_than_github_sends_is_not_read(length: int, is_command: bool) -> None:
    """No comment is over 65,536 characters; a longer routing text would only cost memory."""
    payload = dict(SHAPES["a command on a pull request"])
    text = "/hotfix confirm"
    payload["comment"] = {
        "body": text + " " * (length - len(text) - 2),
        "user": DANA,
    }
    body = json.dumps(payload).encode()
    assert len(json.dumps(payload["comment"]["body"])) == length

    read = from_body("d-1", "issue_comment", body)

    assert (read.comment_is_command, read.pr_number) == (is_command, 7)


@pytest.mark.parametrize(
    ("number", "read"),
    [(2**63 - 1, 2**63 - 1), (-(2**63), -(2**63)), (2**63, None), (-(2**63) - 1, None)],
    ids=["largest", "smallest", "one over", "one under"],
)
def test_a_number_is_read_when_the_journal_can_keep_it(number: int, read: int | None) -> None:
    """The journal keeps ids and numbers as 64-bit integers: a number beyond them is not
    read, as one of another type is not."""
    payload = {"installation": {"id": number}, "pull_request": {"number": number}}

    delivery = from_body("d-1", "pull_request", json.dumps(payload).encode())

    assert (delivery.installation_id, delivery.pr_number) == (read, read)


REPOSITORY = {"full_name": "acme/widgets"}


@pytest.mark.parametrize(
    ("payload", "read"),
    [
        ({"action": "open\u0000ed", "repository": REPOSITORY}, (None, "acme/widgets", None, None)),
        (
            {"repository": {"full_name": "acme/\u0000widgets", "default_branch": "ma\u0000in"}},
            (None, None, None, None),
        ),
        (
            {"ref": "refs/heads/ma\u0000in", "created": False, "deleted": False, "forced": False},
            (None, None, None, None),
        ),
    ],
    ids=["action", "repository", "pushed branch"],
)
def test_a_text_holding_a_nul_is_not_read(
    payload: dict[str, Any], read: tuple[object, ...]
) -> None:
    """No text GitHub sends holds one, and PostgreSQL's text cannot."""
    delivery = from_body("d-1", "push", json.dumps(payload).encode())

    fields = (delivery.action, delivery.repository, delivery.default_branch)
    assert (*fields, delivery.pushed_branch) == read


def test_a_head_sha_holding_a_nul_orders_nothing() -> None:
    payload = {"check_run": {"head_sha": "a\u0000b"}, "repository": REPOSITORY}

    delivery = from_body("d-1", "check_run", json.dumps(payload).encode())

    assert delivery.ordering_key == "delivery:d-1"


@pytest.mark.parametrize("name", LARGE_BODIES)
def test_a_body_of_25_mib_is_read_in_a_few_mib(name: str) -> None:
    """Checked whole, but never decoded whole, nor built beyond the routing fields."""
    event, make = LARGE_BODIES[name]
    body = make()
    tracemalloc.start()
    try:
        from_body("d-1", event, body)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert peak < 8 * MIB


def test_an_installation_s_own_deliveries_run_in_one_queue_in_arrival_order() -> None:
    """Its unsuspension reads what its suspension kept."""
    suspend, unsuspend = (
        from_payload(f"d-{action}", "installation", {"action": action, "installation": {"id": 11}})
        for action in ("suspend", "unsuspend")
    )

    assert suspend.ordering_key == unsuspend.ordering_key == "installation:11"
