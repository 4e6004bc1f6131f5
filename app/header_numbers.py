"""The whole numbers HTTP headers carry (`Retry-After: 60`, `Content-Length`,
`X-RateLimit-Reset`), read as HTTP writes them, for the GitHub client and the intake alike."""

from __future__ import annotations


def whole_number(header: str | None, most_digits: int) -> int | None:
    """`header`'s whole number; None for any other text, or one of more than `most_digits`
    digits. Only ASCII digits are one: Python reads `²` as a digit too, which HTTP does not,
    and `int()` fails on it, and on thousands of digits."""
    if header is None or not (header.isascii() and header.isdigit()):
        return None
    return int(header) if len(header) <= most_digits else None
