"""A three-way merge of one text file, line by line, as git merges it (diff3).

Each side's changes to the base are found with difflib; they apply together unless a change
of one side overlaps or touches (no unchanged line between them) a change of the other,
which is a conflict, as in git. The same change made on both sides is taken once.
"""

from dataclasses import dataclass
from difflib import SequenceMatcher


@dataclass(frozen=True, slots=True)
class _Change:
    """The base's lines [start, end) replaced by `lines` (an insertion when start == end)."""

    start: int
    end: int
    lines: list[str]


def _lines(text: str) -> list[str]:
    """The lines of `text` as git counts them: split after each newline, the last line
    possibly without one."""
    parts = text.split("\n")
    return [part + "\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def _changes(base: list[str], other: list[str]) -> list[_Change]:
    """What `other` changed in `base`, in base order."""
    # The common ends first (as git does): cheap, and most of a large file is unchanged.
    limit = min(len(base), len(other))
    prefix = 0
    while prefix < limit and base[prefix] == other[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and base[-1 - suffix] == other[-1 - suffix]:
        suffix += 1
    base_middle = base[prefix : len(base) - suffix]
    other_middle = other[prefix : len(other) - suffix]
    opcodes = SequenceMatcher(None, base_middle, other_middle, autojunk=False).get_opcodes()
    return [
        _Change(prefix + base_start, prefix + base_end, other_middle[other_start:other_end])
        for tag, base_start, base_end, other_start, other_end in opcodes
        if tag != "equal"
    ]


def _apply(base: list[str], start: int, end: int, changes: list[_Change]) -> list[str]:
    """The base's lines [start, end) with `changes` (inside that range, in order) made."""
    result: list[str] = []
    position = start
    for change in changes:
        result += base[position : change.start] + change.lines
        position = change.end
    return result + base[position:end]


def merge_lines(base: str, ours: str, theirs: str) -> str | None:
    """Both sides' changes to `base` in one text; None when they conflict."""
    base_lines = _lines(base)
    sides = (_changes(base_lines, _lines(ours)), _changes(base_lines, _lines(theirs)))
    changes = sorted(
        ((change, side) for side, side_changes in enumerate(sides) for change in side_changes),
        key=lambda item: (item[0].start, item[0].end),
    )
    merged: list[str] = []
    position = index = 0
    while index < len(changes):
        # A region: changes that overlap or touch one another, from either side.
        start, end = changes[index][0].start, changes[index][0].end
        region: tuple[list[_Change], list[_Change]] = ([], [])
        while index < len(changes) and changes[index][0].start <= end:
            change, side = changes[index]
            region[side].append(change)
            end = max(end, change.end)
            index += 1
        ours_text, theirs_text = (_apply(base_lines, start, end, side) for side in region)
        if region[0] and region[1] and ours_text != theirs_text:
            return None
        merged += base_lines[position:start] + (ours_text if region[0] else theirs_text)
        position = end
    return "".join(merged + base_lines[position:])
