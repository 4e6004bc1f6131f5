"""The tag a hotfix is released as: its name and message (policies/tags.py)."""

import pytest

from policies.tags import fill_format, fill_message, format_version


def test_the_message_fills_title_and_version_once_and_reads_nothing_else() -> None:
    template = "Hotfix {version}: {title} {titel} {0}"

    assert fill_message(template, "Fix {version} {x}", "1.2.4") == (
        "Hotfix 1.2.4: Fix {version} {x} {titel} {0}"
    )


def test_the_name_fills_the_version_as_written() -> None:
    assert fill_format("release/v{version}", "1.2.4-rc.1+b.5") == "release/v1.2.4-rc.1+b.5"


@pytest.mark.parametrize(
    ("tag_format", "tag", "version"),
    [
        ("v{version}", "v1.2.4-rc.1+b.5", "1.2.4-rc.1+b.5"),
        ("release/{version}", "release/v1.2.4", "v1.2.4"),
        ("{version}/v{version}", "1.2.4/v1.2.4", "1.2.4"),
        ("a.b{version}", "a.b1", "1"),
    ],
)
def test_the_version_a_name_was_filled_with_is_read_back(
    tag_format: str, tag: str, version: str
) -> None:
    assert format_version(tag_format, tag) == version
    assert fill_format(tag_format, version) == tag


@pytest.mark.parametrize(
    ("tag_format", "tag"),
    [
        ("v{version}", "1.2.4"),
        ("v{version}", "v"),
        ("release/{version}", "release-1.2.4"),
        # "." is no pattern: "a.b" is not "axb".
        ("a.b{version}", "axb1"),
        ("{version}/v{version}", "1.2.4/v1.2.5"),
    ],
)
def test_a_name_the_format_does_not_make_has_no_version(tag_format: str, tag: str) -> None:
    assert format_version(tag_format, tag) is None
