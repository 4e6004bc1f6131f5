"""A file as the app read it from GitHub, for the rules to judge."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class UnreadableText:
    """A file that exists but cannot be read as text (too large, not UTF-8), and why."""

    problem: str  # "is not UTF-8 text": follows the file's path in a sentence


# A file as the app read it: its text, why it is unreadable, or None when there is none.
FileText = str | UnreadableText | None
