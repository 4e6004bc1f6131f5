"""The Markdown hotfix-bot writes, as GitHub shows it, in terminal text: what the demo prints of
the incident report. Only what its Summary and Timeline use is rendered: list items, tables,
links, bold, code spans, backslash escapes and hidden comments."""

from __future__ import annotations

import re

HIDDEN = re.compile(r"<!--.*?-->\n?", re.DOTALL)
HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
LINK = re.compile(r"\[([^\]]*)\]\([^)\s]*\)")
STRONG = re.compile(r"\*\*(.+?)\*\*")
CODE = re.compile(r"`([^`]*)`")
ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")  # Markdown escapes ASCII punctuation only
# A table row's cells: each runs up to the next `|` that is not escaped.
CELL = re.compile(r"((?:[^|\\]|\\.)*)\|")
TABLE_RULE = re.compile(r"^\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?$")
COLUMN_GAP = "  "


def section(markdown: str, heading: str) -> str:
    """What stands under the heading `heading`, up to the next heading of its level or
    above; empty when there is no such heading."""
    lines = HIDDEN.sub("", markdown).splitlines()
    for start, line in enumerate(lines):
        found = HEADING.match(line)
        if found and found[2].strip() == heading:
            level = len(found[1])
            body = []
            for following in lines[start + 1 :]:
                next_heading = HEADING.match(following)
                if next_heading and len(next_heading[1]) <= level:
                    break
                body.append(following)
            return "\n".join(body).strip("\n")
    return ""


def render(markdown: str) -> str:
    """Terminal text: tables in aligned columns, list items as bullets, links, bold and code
    spans as their text, hidden comments dropped."""
    lines = HIDDEN.sub("", markdown).splitlines()
    rendered: list[str] = []
    index = 0
    while index < len(lines):
        if _starts_table(lines, index):
            end = index + 2
            while end < len(lines) and lines[end].lstrip().startswith("|"):
                end += 1
            rendered.extend(_table([lines[index], *lines[index + 2 : end]]))
            index = end
            continue
        line = lines[index]
        rendered.append("• " + inline(line[2:]) if line.startswith("- ") else inline(line))
        index += 1
    return "\n".join(rendered)


def inline(text: str) -> str:
    """A line's text as GitHub shows it: links as their text, no bold or code marks."""
    return ESCAPED.sub(r"\1", CODE.sub(r"\1", STRONG.sub(r"\1", LINK.sub(r"\1", text))))


def _starts_table(lines: list[str], index: int) -> bool:
    return (
        lines[index].lstrip().startswith("|")
        and index + 1 < len(lines)
        and TABLE_RULE.match(lines[index + 1].strip()) is not None
    )


def _table(rows: list[str]) -> list[str]:
    """The header and the rows in columns as wide as their widest cell, a rule under the
    header."""
    cells = [
        [inline(cell.strip()) for cell in CELL.findall(row.strip().removeprefix("|"))]
        for row in rows
    ]
    columns = max(len(row) for row in cells)
    cells = [row + [""] * (columns - len(row)) for row in cells]
    widths = [max(len(row[column]) for row in cells) for column in range(columns)]
    header, *body = cells
    rule = ["-" * width for width in widths]
    return [
        COLUMN_GAP.join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, rule, *body]
    ]
