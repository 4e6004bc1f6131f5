"""`python3 dev.py demo`, the README's first quickstart command, run as written."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from support.titles import all_rules_pass, rules_fail

ROOT = Path(__file__).resolve().parent.parent
TIME = r"\d{4}-\d\d-\d\d \d\d:\d\d UTC"
# The quickstart's hotfix #2 as its incident report's timeline tells it, in order.
QUICKSTART_TIMELINE = [
    "Opened by @dana",
    "Became a P1 hotfix",
    "Review requested for Engineering Lead: team engineering-leads",
    "Review requested for Product Manager: team product-managers",
    "Approved by @lena for Engineering Lead",
    "Approved by @pat for Product Manager",
    "Merged into main by @dana as {merge}",
    "Tag: annotated tag v1.2.4 on the merge commit {merge}",
    "Release: published release v1.2.4",
    "Back-merge: merged into develop as {develop}",
]
P0_TIMELINE = [
    "Opened by @dana",
    "Became a P0 hotfix",
    "Review requested for Engineering Lead: team engineering-leads",
    "Review requested for On-call Manager: team on-call-managers",
    "Escalation after 15m: reminded @acme/engineering-leads and @acme/on-call-managers",
    "Approved by @omar for On-call Manager",
    "Approved by @lena for Engineering Lead (verbal, recorded by @maya)",
    *QUICKSTART_TIMELINE[-4:],
]


def run_demo(tmp_path: Path, *arguments: str) -> str:
    """`python3 dev.py demo ARGUMENTS`; its output, once it has passed and left nothing."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    environment = {
        **os.environ,
        # Settings that would stop `hotfix-bot serve`: the demo must read none of them.
        "APP_ID": "not-a-number",
        "DATABASE_URL": "postgres://nowhere",
        # Where the demo's temporary directory goes, to see that it is removed.
        "TMPDIR": str(temporary),
    }

    finished = subprocess.run(
        ["python3", "dev.py", "demo", *arguments],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )

    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert finished.stderr == ""  # no log noise
    assert list(temporary.iterdir()) == []
    return finished.stdout


def incident_report(output: str, number: int) -> str:
    """What the demo prints of incident report issue #`number`, after the repository's refs."""
    return output.split("== acme/widgets at the end ==")[1].split(
        f"== Incident report issue #{number} ==\n\n"
    )[1]


def report_part(report: str, heading: str) -> list[str]:
    """The lines of one part of the printed report (Summary, Timeline), up to a blank line."""
    return report.split(f"\n  {heading}\n\n")[1].split("\n\n")[0].splitlines()


def timeline_events(report: str) -> list[str]:
    """The events of the printed timeline, once its rows are seen to be aligned columns of a
    UTC time, in order, and an event."""
    header, rule, *rows = report_part(report, "Timeline")
    assert header == "      Time                  Event"
    assert re.fullmatch(r"      -{20}  -+", rule)
    cells = [re.fullmatch(rf"      ({TIME})  (\S.*)", row) for row in rows]
    assert all(cells), rows
    times = [found[1] for found in cells if found]
    assert times == sorted(times)
    return back_merge_last([found[2] for found in cells if found])


def back_merge_last(events: list[str]) -> list[str]:
    """`events` with the back-merge's row last: the back-merge runs beside the release, once
    the tag is made, so its row comes where it ended, before or after the release's."""
    [back_merge] = [event for event in events if event.startswith("Back-merge: ")]
    assert events.index(back_merge) >= len(events) - 2  # after the tag's row
    return [event for event in events if event != back_merge] + [back_merge]


def with_commits(output: str, events: list[str]) -> list[str]:
    """`events` naming the commits of the hotfix's merge and back-merge, as printed."""
    final_refs = output.split("== acme/widgets at the end ==")[1]
    [merge] = re.findall(r"tag +v1\.2\.4 -> ([0-9a-f]{7})", final_refs)
    # The hotfix's report comes first, before a rollback's.
    back_merge = re.search(
        r"\| Back-merge \| ✅ done \| merged into `develop` as `(\w{7})`", output
    )
    assert back_merge
    return [event.format(merge=merge, develop=back_merge[1]) for event in events]


def test_the_quickstart_demo_walks_a_hotfix_from_failing_check_to_release(tmp_path: Path) -> None:
    output = run_demo(tmp_path)
    # 1: the failing check, with how to fix it.
    assert "hotfix-policy on " in output
    assert "(hotfix/Security_Patch) is completed: failure" in output
    assert rules_fail("branch-name", "labels", "version-bump") in output
    assert "git branch -m hotfix/Security_Patch hotfix/security-patch" in output
    # 2-3: waiting for approvals, one group after the other.
    assert "(hotfix/security-patch) is in_progress" in output
    assert "Waiting for approval: Engineering Lead and Product Manager" in output
    assert "Waiting for approval: Product Manager\n" in output
    # 4: passing.
    assert f"(hotfix/security-patch) is completed: success\n  {all_rules_pass()}" in output
    # 5: the post-merge report.
    assert "hotfix-release on " in output
    assert "All steps done for v1.2.4" in output
    assert "| Tag | ✅ done | annotated tag `v1.2.4` on the merge commit" in output
    assert "| Release | ✅ done | published release `v1.2.4`" in output
    assert "| Back-merge | ✅ done | merged into `develop` as `" in output
    assert "| Delete branch | ✅ done | deleted `hotfix/security-patch`" in output
    # The repository's final refs.
    final_refs = output.split("== acme/widgets at the end ==")[1]
    patterns = [
        r"branch +develop [0-9a-f]{7} \(Merge hotfix v1\.2\.4 back into develop\)",
        r"branch +main [0-9a-f]{7} \(Merge pull request #2 from acme/hotfix/security-patch\)",
        r"tag +v1\.2\.4 -> [0-9a-f]{7}, annotated: Hotfix: ",
        r"release +v1\.2\.4 \(tag v1\.2\.4\)",
        r"open PRs none",
    ]
    for pattern in patterns:
        assert re.search(pattern, final_refs), pattern
    assert re.findall(r"branch +(\S+)", final_refs) == ["develop", "main"]  # hotfix ones gone
    # Last, the incident report issue as GitHub shows it, read from the fake GitHub.
    report = incident_report(output, 3)
    assert report.startswith(
        "  Incident report: Fix SQL injection in the user lookup #3 (open)\n"
        "  labels     incident-report, P1\n"
        "  assignees  dana\n"
    )
    summary = report_part(report, "Summary")
    expected_summary = [
        r"      • Incident ID: INC-\d{4}-002",
        r"      • Severity: P1",
        rf"      • Start Time: {TIME} \(pull request opened\)",
        rf"      • End Time: {TIME} \(merged\)",
        r"      • Duration: 9m(\d+s)?",  # three steps of 3m, and the seconds they took
        rf"      • Deadline: met, with 23h5\dm to spare \(24h after opening: {TIME}\)",
        r"      • Release: v1\.2\.4, release v1\.2\.4",
        rf"      • Report due: {TIME} \(48h after the merge\)",
        r"      • Impact: \[Description of user/business impact\]",
    ]
    assert len(summary) == len(expected_summary), summary
    for line, pattern in zip(summary, expected_summary, strict=True):
        assert re.fullmatch(pattern, line), (line, pattern)
    assert timeline_events(report) == with_commits(output, QUICKSTART_TIMELINE)
    assert "<!--" not in output
    assert output.rstrip().endswith("Every step ended as expected.")


def test_the_version_conflict_demo_keeps_develops_version(tmp_path: Path) -> None:
    output = run_demo(tmp_path, "--scenario", "version-conflict")

    assert re.search(
        r"develop [0-9a-f]{7} \(chore: start 1\.3\.0-dev\), two commits ahead of main, "
        r"VERSION 1\.3\.0-dev\n",
        output,
    )
    assert (
        "| Back-merge | ✅ done | merged into `develop`; the version conflict was resolved by "
        "keeping `develop`'s version in `VERSION` | ["
    ) in output
    final_refs = output.split("== acme/widgets at the end ==")[1]
    assert re.search(
        r"branch +develop [0-9a-f]{7} \(Merge hotfix v1\.2\.4 back into develop\)", final_refs
    )
    assert re.findall(r"branch +(\S+)", final_refs) == ["develop", "main"]  # backmerge/v1.2.4 gone
    assert "open PRs none" in final_refs
    assert output.rstrip().endswith("Every step ended as expected.")


def test_the_p0_demo_escalates_takes_a_verbal_approval_and_reminds_to_confirm_it(
    tmp_path: Path,
) -> None:
    output = run_demo(tmp_path, "--scenario", "p0")

    # 1: a P0 hotfix, its reviews asked for at once.
    assert "labelled hotfix + P0 ==" in output
    assert (
        "**Review requests** (made once for P0):\n"
        "      - Engineering Lead: asked team engineering-leads\n"
        "      - On-call Manager: asked team on-call-managers\n"
    ) in output
    asked = (
        "GitHub shows #1 awaiting review from @acme/engineering-leads and @acme/on-call-managers."
    )
    assert f"{asked}\n" in output
    # 2: the first escalation step, as GitHub shows the comment (its hidden marker is not).
    assert re.search(
        r"hotfix-bot\[bot\] commented on #1:\n\n"
        r"      @acme/engineering-leads @acme/on-call-managers: this \*\*P0\*\* hotfix has been "
        r"open for \*\*15m\*\*\. Deadline \d{4}-\d\d-\d\d \d\d:\d\d UTC \(2h after opening\): "
        r"\*\*1h4[45]m left\*\*\.\n",
        output,
    )
    assert "<!--" not in output
    # 3: the approval given on the incident bridge counts.
    command = "/hotfix verbal-approval @lena Approved on the incident bridge"
    assert f"maya commented on #1: {command}\n" in output
    assert "hotfix-bot reacted with +1: the approval is recorded." in output
    assert f"(hotfix/security-patch) is completed: success\n  {all_rules_pass()}" in output
    assert re.search(
        r"\| `approvals` \| ✅ pass \| Engineering Lead: lena \(verbal, recorded by @maya at "
        r"\d\d:\d\d UTC\); On-call Manager: omar \|",
        output,
    )
    # 4: merged; the report lists the approval as unconfirmed, and the reminder is kept.
    assert "All steps done for v1.2.4" in output
    assert re.search(
        r"\| Verbal approvals \| ⏳ waiting \| lena \(verbal, recorded by @maya at "
        r"\d\d:\d\d UTC\): \*\*unconfirmed\*\*; @lena, approve the pull request or comment "
        r"`/hotfix confirm` \|",
        output,
    )
    assert re.search(
        r"\$ hotfix-bot timers\n(      .*\n)*"
        r"      \d{4}-\d\d-\d\d \d\d:\d\d:\d\d  scheduled  "
        r"confirmation-reminder:acme/widgets#1:1d\n",
        output,
    )
    # 5: a day later, the one reminder.
    reminder = output.split("== Step 5/5: ")[1]
    assert reminder.count(" commented on #1:") == 1
    assert (
        "hotfix-bot[bot] commented on #1:\n\n"
        "      @lena: a verbal approval recorded for you let hotfix #1 merge, and it is still "
        "unconfirmed. Please approve the pull request or comment `/hotfix confirm`.\n"
    ) in reminder
    assert "open PRs none" in output.split("== acme/widgets at the end ==")[1]
    # The incident report: its summary and timeline tell the incident, and the reminder of it,
    # due a day after the merge as the one to confirm is, follows.
    report = incident_report(output, 2)
    assert report.startswith(
        "  Incident report: Fix SQL injection in the user lookup #2 (open)\n"
        "  labels     incident-report, P0\n"
        "  assignees  dana\n"
    )
    summary = report_part(report, "Summary")
    assert re.fullmatch(r"      • Incident ID: INC-\d{4}-001", summary[0])
    assert re.fullmatch(
        r"      • Verbal approvals: lena \(verbal, recorded by @maya at \d\d:\d\d UTC\), "
        r"unconfirmed",
        summary[8],
    )
    assert timeline_events(report) == with_commits(output, P0_TIMELINE)
    assert re.search(
        r"\n\n  hotfix-bot\[bot\] commented on #2:\n\n"
        rf"      @dana: this incident report of #1 was due {TIME} and the issue is still open\. ",
        report,
    )
    assert output.rstrip().endswith("Every step ended as expected.")


def test_the_rollback_demo_reverts_the_hotfix_and_ships_the_rollback_as_the_next_patch(
    tmp_path: Path,
) -> None:
    output = run_demo(tmp_path, "--scenario", "rollback")

    # 1-5: the quickstart's hotfix, released as v1.2.4.
    assert "== Step 5/8: dana merges #2 into main ==" in output
    assert "All steps done for v1.2.4" in output
    rollback = output.split("== Step 6/8: ")[1]
    # 6: the Revert button's pull request takes VERSION back to 1.2.3.
    assert rollback.startswith("dana clicks Revert on #2 to roll v1.2.4 back ==\n")
    assert (
        "(revert-2-hotfix/security-patch) is completed: failure\n"
        "  1 of 3 rules fails: version-bump (rollback of #2)\n"
    ) in rollback
    # Its fix sets VERSION on the rollback's branch, commits and pushes it.
    assert (
        "      revert-2-hotfix/security-patch does not go past main's version, 1.2.4: the commands "
        "bring it up to date with main first, so that the bump merges cleanly. "
        "Set the version to 1.2.5 on revert-2-hotfix/security-patch, commit it and push it:\n"
        "\n"
        "      ```sh\n"
        "      git fetch origin &&\n"
        "      git checkout revert-2-hotfix/security-patch &&\n"
        "      git merge --ff-only origin/revert-2-hotfix/security-patch &&\n"
        "      git merge --no-edit origin/main &&\n"
        '      echo "1.2.5" > VERSION &&\n'
        "      git add VERSION &&\n"
        '      git commit -m "Bump the version to 1.2.5" &&\n'
        "      git push origin revert-2-hotfix/security-patch\n"
        "      ```\n"
    ) in rollback
    # 7: shipped as 1.2.5, one approval from any approval group of P1 is enough.
    assert "== Step 7/8: dana sets VERSION to 1.2.5, lena approves the rollback ==" in rollback
    assert (
        "(revert-2-hotfix/security-patch) is completed: success\n"
        "  All 3 rules pass (rollback of #2)\n"
    ) in rollback
    assert "| `approvals` | ✅ pass | Engineering Lead or Product Manager: lena |" in rollback
    # 8: merged and released; the old release marked, the hotfix told.
    merged = rollback.split("== Step 8/8: dana merges the rollback #4 into main ==")[1]
    assert "is completed: success\n  All steps done for v1.2.5\n" in merged
    assert (
        "| Old release | ✅ done | added `Rolled back in v1.2.5` to the notes of `v1.2.4` |"
    ) in merged
    assert re.search(
        r"  The new tag, its release, and the notes of the release it rolls back:\n\n"
        r"  tag      v1\.2\.5 -> [0-9a-f]{7}, annotated: Rollback of v1\.2\.4: "
        r'Revert "Fix SQL injection in the user lookup"\n'
        r'  release  v1\.2\.5 \(tag v1\.2\.5\): Rollback #4: Revert "Fix SQL injection in the '
        r'user lookup"\n'
        r"                                This release rolls back v1\.2\.4 \(hotfix #2: Fix SQL "
        r"injection in the user lookup\)\.\n"
        r"  release  v1\.2\.4 \(tag v1\.2\.4\): Hotfix #2: Fix SQL injection in the user lookup\n"
        r"                                Rolled back in v1\.2\.5\n",
        merged,
    )
    assert (
        "  hotfix-bot[bot] commented on #2:\n\n"
        "      🔄 ROLLBACK COMPLETE\n\n"
        "      The hotfix has been rolled back due to user lookups timing out on the production "
        "database since v1.2.4.\n"
        "      System is now stable on previous version.\n"
        "      We are investigating the issue and will provide updates.\n\n"
        '      Rolled back by #4 (Revert "Fix SQL injection in the user lookup"), released as '
        "v1.2.5.\n"
    ) in merged
    final_refs = output.split("== acme/widgets at the end ==")[1]
    assert re.search(
        r"branch +main [0-9a-f]{7} \(Merge pull request #4 from acme/revert-2-hotfix/", final_refs
    )
    assert re.findall(r"branch +(\S+)", final_refs) == ["develop", "main"]  # revert-2-... gone
    assert "open PRs none" in final_refs
    # The hotfix's incident report, the only one: a rollback opens none of its own.
    assert final_refs.count("== Incident report issue #") == 1
    report = incident_report(output, 3)
    assert report.startswith("  Incident report: Fix SQL injection in the user lookup #3 (open)\n")
    assert re.fullmatch(r"      • Incident ID: INC-\d{4}-002", report_part(report, "Summary")[0])
    assert timeline_events(report) == with_commits(output, QUICKSTART_TIMELINE)
    assert output.rstrip().endswith("Every step ended as expected.")
