"""The line-by-line three-way merge of one file, as git merges it (`git merge-file`)."""

import pytest

from policies.line_merge import merge_lines

BASE = "".join(f"line {number}\n" for number in range(1, 31))


def edited(text: str, **lines: str) -> str:
    """`text` with `line N` replaced, e.g. edited(BASE, line_2="two")."""
    for name, replacement in lines.items():
        text = text.replace(f"{name.replace('_', ' ')}\n", replacement)
    return text


def test_changes_in_different_places_are_both_kept() -> None:
    ours = edited(BASE, line_1="line 1, fixed\n")
    theirs = edited(BASE, line_20="line 20, new feature\n", line_30="")
    assert merge_lines(BASE, ours, theirs) == edited(
        BASE, line_1="line 1, fixed\n", line_20="line 20, new feature\n", line_30=""
    )


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (edited(BASE, line_5="five\n"), edited(BASE, line_5="FIVE\n")),  # the same line
        (edited(BASE, line_5="five\n"), edited(BASE, line_6="six\n")),  # adjacent lines touch
        (edited(BASE, line_5="line 5\nnew\n"), edited(BASE, line_6="six\n")),
        (edited(BASE, line_5="line 5\nnew\n"), edited(BASE, line_5="line 5\nother\n")),
        (edited(BASE, line_5=""), edited(BASE, line_5="five\n")),  # deleted and changed
        (edited(BASE, line_5="", line_6=""), edited(BASE, line_6="six\n")),
    ],
    ids=[
        "same line",
        "adjacent lines",
        "an insertion touching a change",
        "insertions at one place",
        "deleted and changed",
        "a deletion over a change",
    ],
)
def test_changes_that_overlap_or_touch_conflict(ours: str, theirs: str) -> None:
    assert merge_lines(BASE, ours, theirs) is None
    assert merge_lines(BASE, theirs, ours) is None


def test_one_line_apart_is_apart() -> None:
    ours, theirs = edited(BASE, line_5="five\n"), edited(BASE, line_7="seven\n")
    assert merge_lines(BASE, ours, theirs) == edited(BASE, line_5="five\n", line_7="seven\n")


def test_the_same_change_on_both_sides_is_taken_once() -> None:
    both = edited(BASE, line_5="five\n")
    assert merge_lines(BASE, both, edited(both, line_20="twenty\n")) == edited(
        both, line_20="twenty\n"
    )
    assert merge_lines(BASE, both, both) == both


def test_a_change_on_one_side_only_is_that_side() -> None:
    ours = edited(BASE, line_5="five\n")
    assert merge_lines(BASE, ours, BASE) == ours
    assert merge_lines(BASE, BASE, ours) == ours


def test_lines_are_split_at_newlines_only() -> None:
    # A carriage return or a form feed is inside a line, as git reads it; a missing last
    # newline makes the last line differ.
    base = "a\rb\nc\x0cd\ne\nf"
    assert merge_lines(base, "A\rb\nc\x0cd\ne\nf", "a\rb\nc\x0cd\ne\nF\n") == (
        "A\rb\nc\x0cd\ne\nF\n"
    )
    assert merge_lines("", "x\n", "y\n") is None
