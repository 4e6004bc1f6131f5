"""The tag a hotfix is released as: the placeholders `tag.format` and `tag.message` may use,
the message filled in, and the names git accepts for a tag (docs/ADMIN.md, "Reference")."""

import json
import re

from policies.notices import fill

FORMAT_PLACEHOLDERS = ("version",)
MESSAGE_PLACEHOLDERS = ("title", "version")

# What git's check-ref-format refuses anywhere in a tag name, and the words for it.
_REFUSED_CHARACTERS = {
    " ": "a space",
    "~": '"~"',
    "^": '"^"',
    ":": '":"',
    "?": '"?"',
    "*": '"*"',
    "[": '"["',
    "\\": "a backslash",
}
_REFUSED_SEQUENCES = ("..", "@{", "//")
_DELETE = "\x7f"


# Plain replacement of the known placeholders: str.format on an admin's text could reach
# object attributes, and a title is never read as a template itself.
def fill_format(tag_format: str, version: str) -> str:
    """The tag name `tag.format` makes for `version`."""
    return fill(tag_format, {"version": version})


def format_version(tag_format: str, tag: str) -> str | None:
    """The text `fill_format` fills `tag_format` with to name `tag`, the same at each
    `{version}`; None when no text would make `tag`."""
    literal_parts = [re.escape(part) for part in tag_format.split("{version}")]
    # The first `{version}` reads the text; any other must repeat it.
    pattern = literal_parts[0] + "(.+)" + r"\1".join(literal_parts[1:])
    match = re.fullmatch(pattern, tag, re.DOTALL)
    return None if match is None else match[1]


def fill_message(template: str, title: str, version: str) -> str:
    """The message `tag.message` makes for the hotfix titled `title`, released as `version`."""
    return fill(template, {"title": title, "version": version})


def tag_name_problem(name: str) -> str | None:
    """Why git refuses `name` as a tag name, worded to follow "a tag name" ("cannot contain
    a space"); None when it is valid. The rules are `git check-ref-format`'s, with `git tag`'s
    own refusal of a leading "-"."""
    for character in name:
        if character < " " or character == _DELETE:
            return f"cannot contain the control character {json.dumps(character)}"
        if character in _REFUSED_CHARACTERS:
            return f"cannot contain {_REFUSED_CHARACTERS[character]}"
    for sequence in _REFUSED_SEQUENCES:
        if sequence in name:
            return f'cannot contain "{sequence}"'
    if name[:1] in ("-", "/"):
        return f'cannot begin with "{name[0]}"'
    if name[-1:] in ("/", "."):
        return f'cannot end with "{name[-1]}"'
    for part in name.split("/"):
        if part.startswith("."):
            return 'cannot have a part between slashes that begins with "."'
        if part.endswith(".lock"):
            return 'cannot have a part between slashes that ends with ".lock"'
    return None
