"""What a check run's output is cut to: GitHub refuses a summary over 65,535 bytes (its
documentation says characters; its answer counts UTF-8 bytes)."""

from __future__ import annotations

from app.handlers.check_output import CheckOutput


def test_a_long_summary_is_cut_to_65535_bytes_and_says_so() -> None:
    summary = CheckOutput("Invalid .github/hotfix.yml", "— a dash of 3 bytes " * 5_000).as_json()[
        "summary"
    ]
    assert len(summary.encode()) <= 65_535
    assert len(summary.encode()) > 65_535 - 8  # cut at the limit, not far before it
    assert summary.endswith("\n\n… (cut to fit GitHub's limit of 65,535 bytes)")
    assert summary.startswith("— a dash of 3 bytes — a dash")


def test_a_summary_within_the_limit_is_left_whole() -> None:
    text = "é" * 32_000  # 64,000 bytes
    assert CheckOutput("t", text).as_json()["summary"] == text
