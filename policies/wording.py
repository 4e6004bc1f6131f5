"""Small helpers that keep the wording of every rule alike."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta


def join_words(words: Sequence[str], conjunction: str = "and") -> str:
    """`A`, `A and B`, `A, B and C` (or `A, B or C`)."""
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} {conjunction} {words[-1]}"


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """`1 rule`, `2 rules`."""
    return f"{count} {singular if count == 1 else plural_form or singular + 's'}"


_DURATION_UNITS = (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1))


def duration_words(value: timedelta, *, parts: int = 2) -> str:
    """`3h12m`: `value` in d, h, m and s (the notation of durations in `.github/hotfix.yml`),
    from its largest unit down over `parts` units, rounded down; `0s` for under a second.
    `parts=4` writes it exactly, to the second."""
    left = max(int(value.total_seconds()), 0)
    amounts = []
    for unit, seconds in _DURATION_UNITS:
        amount, left = divmod(left, seconds)
        amounts.append((amount, unit))
    first = next((index for index, (amount, _) in enumerate(amounts) if amount), None)
    if first is None:
        return "0s"
    return "".join(f"{amount}{unit}" for amount, unit in amounts[first : first + parts] if amount)


def sentence(text: str) -> str:
    """`text` ending with a full stop: one is added unless it has one (GitHub's error
    messages may, or not)."""
    return text if text.endswith(".") else f"{text}."


def time_left(left: timedelta) -> str:
    """`1h45m left`, or `overdue by 3h12m` once the deadline has passed."""
    if left <= timedelta(0):
        return f"overdue by {duration_words(-left)}"
    return f"{duration_words(left)} left"


def when(moment: datetime) -> str:
    """`2026-12-04 22:30 UTC`: hotfix-bot writes times in UTC, to the minute."""
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def cell(text: str) -> str:
    """Text safe inside one Markdown table cell."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").strip() or " "
