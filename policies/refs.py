"""The names git accepts for a branch or a tag (docs/ADMIN.md, "Reference")."""

import json

# What git's check-ref-format refuses anywhere in a name, and the words for it.
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


def ref_name_problem(name: str) -> str | None:
    """Why git refuses `name` as a branch or tag name, worded to follow "a tag name" or "a
    branch name" ("cannot contain a space"); None when it is valid. The rules are `git
    check-ref-format`'s, with `git branch`'s and `git tag`'s own refusal of a leading "-"."""
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
