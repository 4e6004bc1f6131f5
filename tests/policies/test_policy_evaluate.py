"""The verdict over all rules, hotfix detection and the tag the app must look up."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from policy_factories import OLD_SHA, config, facts, review
from support.titles import all_rules_pass, rules_fail

from policies.config import ConfigError, load_config
from policies.evaluate import Conclusion, Verdict, config_error_verdict, evaluate, is_hotfix
from policies.facts import BreakGlass
from policies.result import Status
from policies.versions import tag_to_check


@pytest.mark.parametrize(
    ("head_ref", "labels", "expected"),
    [
        ("hotfix/x", [], True),
        ("HOTFIX/x", [], True),
        ("Hotfix-x", [], False),
        ("feature/x", ["hotfix"], True),
        ("feature/x", ["HotFix"], True),
        ("feature/x", ["P0"], False),
    ],
)
def test_is_hotfix(head_ref: str, labels: list[str], expected: bool) -> None:
    assert is_hotfix(config(), head_ref, labels) is expected


def test_other_pull_requests_are_neutral() -> None:
    verdict = evaluate(config(), facts(head_ref="feature/login", labels={"P0"}))
    assert verdict.conclusion is Conclusion.NEUTRAL
    assert verdict.title == "Not a hotfix pull request"
    assert verdict.results == ()


def test_a_complete_hotfix_succeeds() -> None:
    verdict = evaluate(config(), facts())
    assert verdict.conclusion is Conclusion.SUCCESS
    assert verdict.title == all_rules_pass()
    assert all(result.status is Status.PASS for result in verdict.results)
    assert verdict.severity == "P0"
    assert verdict.deadline is not None and verdict.deadline.value == timedelta(hours=2)


def test_the_deadline_runs_from_the_opening_of_the_pull_request() -> None:
    opened = datetime(2026, 11, 27, 15, 30, tzinfo=UTC)
    assert evaluate(config(), facts(opened_at=opened)).due == opened + timedelta(hours=2)
    assert evaluate(config(), facts(labels={"hotfix", "P1"})).due is None  # opening unknown
    assert evaluate(config(), facts(opened_at=opened, labels={"hotfix", "P2"})).due is None


def test_the_time_left_runs_to_the_deadline_and_then_the_title_says_overdue() -> None:
    opened = datetime(2026, 11, 27, 15, 30, tzinfo=UTC)
    waiting = [review("lead")]  # the On-call Manager has not approved

    def at(hour: int, minute: int, **changes: object) -> Verdict:
        now = datetime(2026, 11, 27, hour, minute, tzinfo=UTC)
        return evaluate(config(), facts(opened_at=opened, evaluated_at=now, **changes))

    early, due, late = at(16, 45), at(17, 30), at(18, 42, reviews=waiting)
    assert (early.title, early.time_left, early.overdue) == (
        all_rules_pass(),
        timedelta(minutes=45),
        False,
    )
    # The deadline is passed the moment it comes; the conclusion stays the rules'.
    assert (due.title, due.conclusion, due.overdue) == (
        f"Overdue: {all_rules_pass()}",
        Conclusion.SUCCESS,
        True,
    )
    assert (late.title, late.conclusion, late.time_left) == (
        "Overdue: Waiting for approval: On-call Manager",
        None,
        -timedelta(hours=1, minutes=12),
    )
    assert late.waiting_for == ("On-call Manager",)


def test_failures_are_counted_and_named() -> None:
    verdict = evaluate(
        config(),
        facts(head_ref="hotfix/Fix_Login", labels={"P0"}, head_version_files={"VERSION": "1.2.3"}),
    )
    assert verdict.conclusion is Conclusion.FAILURE
    assert verdict.title == rules_fail("branch-name", "labels", "version-bump")


def test_one_failure_reads_in_the_singular() -> None:
    verdict = evaluate(config(), facts(base_ref="develop"))
    assert verdict.title == rules_fail("target-branch")


def test_a_failure_outranks_waiting_approvals() -> None:
    verdict = evaluate(config(), facts(base_ref="develop", reviews=[]))
    assert verdict.conclusion is Conclusion.FAILURE


@pytest.mark.parametrize(
    ("reviews", "title"),
    [
        ([review("lead")], "Waiting for approval: On-call Manager"),
        ([], "Waiting for approval: Engineering Lead and On-call Manager"),
        (
            [review("lead", commit_id=OLD_SHA), review("manager")],
            "Waiting for approval: Engineering Lead",
        ),
    ],
)
def test_outstanding_approvals_are_in_progress(reviews: list[object], title: str) -> None:
    verdict = evaluate(config(), facts(reviews=reviews))
    assert verdict.conclusion is None
    assert verdict.title == title


MERGED_AT = datetime(2026, 11, 27, 16, 5, tzinfo=UTC)


def test_a_pull_request_merged_while_waiting_for_approval_fails_saying_so() -> None:
    verdict = evaluate(config(), facts(reviews=[review("lead")], merged_at=MERGED_AT))

    assert (verdict.conclusion, verdict.title) == (
        Conclusion.FAILURE,
        "Merged while waiting for approval: On-call Manager",
    )
    [approvals] = [result for result in verdict.results if result.rule == "approvals"]
    assert (approvals.status, approvals.summary, approvals.how_to_fix) == (
        Status.FAIL,
        "Merged while waiting for approval: On-call Manager",
        "Nothing can change this now: it merged on 2026-11-27 16:05 UTC without that approval, "
        "and an approval given after the merge does not count",
    )


@pytest.mark.parametrize(
    "changes",
    [
        {},  # every rule passed
        {"base_ref": "develop", "reviews": []},  # a rule failed, approvals outstanding
        {"reviews": [], "break_glass": BreakGlass("lead", "down", MERGED_AT)},
    ],
    ids=["passed", "failed", "break-glass"],
)
def test_any_other_verdict_on_a_merged_pull_request_is_the_one_it_had_open(
    changes: dict[str, object],
) -> None:
    assert evaluate(config(), facts(merged_at=MERGED_AT, **changes)) == evaluate(
        config(), facts(**changes)
    )


def test_the_title_joins_groups_either_of_which_would_do_with_or() -> None:
    shared = {"engineering-leads": frozenset({"lead", "pm"}), "product-managers": {"pm"}}
    verdict = evaluate(
        config(), facts(reviews=[review("pm")], team_members=shared, labels={"hotfix", "P1"})
    )

    assert verdict.title == "Waiting for approval: Engineering Lead or Product Manager"
    assert verdict.waiting_for == ("Engineering Lead", "Product Manager")


def test_a_p2_hotfix_fails_and_approvals_are_not_applicable() -> None:
    verdict = evaluate(config(), facts(labels={"hotfix", "P2"}))
    by_rule = {result.rule: result.status for result in verdict.results}
    assert verdict.title == rules_fail("severity")
    assert by_rule["approvals"] is Status.NOT_APPLICABLE
    assert (verdict.severity, verdict.deadline) == ("P2", None)


def test_a_break_glass_concludes_success_and_waives_what_fails_or_waits() -> None:
    glass = BreakGlass("dana", "checkout is down", datetime(2026, 12, 4, 14, 32, tzinfo=UTC))
    verdict = evaluate(
        config(), facts(base_ref="develop", reviews=[review("lead")], break_glass=glass)
    )

    assert verdict.conclusion is Conclusion.SUCCESS
    assert verdict.title == "Break-glass by @dana: checkout is down"
    assert {result.rule: result.status for result in verdict.results} == {
        "branch-name": Status.PASS,
        "target-branch": Status.WAIVED,
        "labels": Status.PASS,
        "severity": Status.PASS,
        "approvals": Status.WAIVED,
        "version-bump": Status.PASS,
    }
    assert verdict.waived_rules == ("target-branch", "approvals")
    assert verdict.waived_groups == (("On-call Manager",),)
    assert verdict.break_glass == glass


@pytest.mark.parametrize(
    "labels",
    [
        {"hotfix", "P2"},  # a severity that allows no hotfix
        {"hotfix", "P1"},  # a hotfix severity that names no break_glass
        {"hotfix"},  # no severity label
        {"hotfix", "P0", "P1"},  # more than one
    ],
    ids=["P2", "P1", "no severity", "two severities"],
)
def test_a_break_glass_is_not_in_force_under_a_severity_that_allows_none(
    labels: set[str],
) -> None:
    """Broken under P0, then relabelled: the rules decide, and the verdict keeps the record."""
    glass = BreakGlass("dana", "checkout is down", datetime(2026, 12, 4, 14, 32, tzinfo=UTC))

    verdict = evaluate(config(), facts(labels=labels, reviews=[], break_glass=glass))

    without_glass = evaluate(config(), facts(labels=labels, reviews=[]))
    assert verdict == replace(without_glass, dormant_break_glass=glass)
    assert (verdict.break_glass, verdict.waived_rules) == (None, ())


def test_a_break_glass_named_by_a_severity_that_allows_no_hotfix_is_not_in_force() -> None:
    glass = BreakGlass("dana", "checkout is down", datetime(2026, 12, 4, 14, 32, tzinfo=UTC))
    p2_names_one = config("severities:\n  P2:\n    break_glass: {users: [dana]}\n")
    labels = {"hotfix", "P2"}

    verdict = evaluate(p2_names_one, facts(labels=labels, reviews=[], break_glass=glass))

    assert (verdict.conclusion, verdict.title) == (
        Conclusion.FAILURE,
        "1 of 6 rules fails: severity",
    )
    assert (verdict.break_glass, verdict.dormant_break_glass) == (None, glass)


def test_a_break_glass_is_in_force_under_any_severity_that_names_break_glass() -> None:
    glass = BreakGlass("dana", "checkout is down", datetime(2026, 12, 4, 14, 32, tzinfo=UTC))
    p1_too = config("severities:\n  P1:\n    break_glass: {users: [sre]}\n")

    verdict = evaluate(p1_too, facts(labels={"hotfix", "P1"}, reviews=[], break_glass=glass))

    assert (verdict.conclusion, verdict.title, verdict.waived_rules) == (
        Conclusion.SUCCESS,
        "Break-glass by @dana: checkout is down",
        ("approvals",),
    )


def test_a_pathological_pattern_fails_the_branch_promptly() -> None:
    catastrophic = config("branches: {hotfix_pattern: '^(a+)+$'}")
    verdict = evaluate(catastrophic, facts(head_ref="hotfix/" + "a" * 40 + "!"))
    assert verdict.results[0].status is Status.FAIL


def test_config_error_verdict_names_the_problem() -> None:
    with pytest.raises(ConfigError) as raised:
        load_config("brnches: {}\nrelease: maybe\n", "main")
    verdict = config_error_verdict(raised.value)
    assert verdict.conclusion is Conclusion.FAILURE
    assert verdict.title == f"Invalid .github/hotfix.yml: {raised.value.problems[0]} (and 1 more)"
    assert 'unknown key "brnches" at top level (did you mean "branches"?)' in raised.value.problems


@pytest.mark.parametrize(
    ("base_files", "head_files", "config_text", "tag"),
    [
        ({"VERSION": "1.2.3\n"}, {"VERSION": "1.2.4\n"}, None, "v1.2.4"),
        ({"VERSION": "1.2.3"}, {"VERSION": "v1.2.4-rc.1+build.5"}, None, "v1.2.4-rc.1+build.5"),
        (  # VERSION is not on the base, so the one the hotfix adds is not a version file
            {"VERSION": None, "package.json": '{"version": "2.0.0"}'},
            {"VERSION": "9.9.9", "package.json": '{"version": "2.0.1"}'},
            None,
            "v2.0.1",
        ),
        (
            {"VERSION": "garbage", "Cargo.toml": '[package]\nversion = "0.1.0"'},
            {"VERSION": "garbage", "Cargo.toml": '[package]\nversion = "0.1.1"'},
            None,
            "v0.1.1",
        ),
        (
            {"VERSION": "1.2.4-rc.1"},
            {"VERSION": "1.2.4"},
            "tag: {format: 'release/{version}'}",
            "release/1.2.4",
        ),
        (
            {"app/VERSION": "2.9.9"},
            {"app/VERSION": "2.9.10-hotfix.1"},
            "version: {files: [app/VERSION]}",
            "v2.9.10-hotfix.1",
        ),
        ({"VERSION": "1.2.3"}, {}, None, None),  # the head is not read yet
        ({}, {"VERSION": "1.2.4"}, None, None),
        ({"VERSION": "1.2.3"}, {"VERSION": "nope"}, None, None),
    ],
)
def test_tag_to_check_is_made_from_the_heads_version_as_written(
    base_files: dict[str, str | None],
    head_files: dict[str, str | None],
    config_text: str | None,
    tag: str | None,
) -> None:
    assert tag_to_check(config(config_text), base_files, head_files) == tag


def test_the_tag_format_is_not_a_python_format_string() -> None:
    odd = config("tag: {format: '{version.__class__}-{version}'}")
    tag = tag_to_check(odd, {"VERSION": "1.0.0"}, {"VERSION": "1.0.1"})
    assert tag == "{version.__class__}-1.0.1"
