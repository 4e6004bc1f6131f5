"""Small helpers that keep the wording of every rule alike."""

from collections.abc import Sequence


def join_words(words: Sequence[str], conjunction: str = "and") -> str:
    """`A`, `A and B`, `A, B and C` (or `A, B or C`)."""
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} {conjunction} {words[-1]}"


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """`1 rule`, `2 rules`."""
    return f"{count} {singular if count == 1 else plural_form or singular + 's'}"
