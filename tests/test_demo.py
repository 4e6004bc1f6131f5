"""`python3 dev.py demo`, the README's first quickstart command, run as written."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from support.titles import all_rules_pass, rules_fail

ROOT = Path(__file__).resolve().parent.parent


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
