"""The tag a hotfix is released as: the placeholders `tag.format` and `tag.message` may use,
and the name and message filled in (docs/ADMIN.md, "Reference")."""

import re

from policies.notices import fill

FORMAT_PLACEHOLDERS = ("version",)
MESSAGE_PLACEHOLDERS = ("title", "version")


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
