"""Small helpers that keep the wording of every rule alike."""

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

# Where Markdown ends a line (CommonMark), as GitHub shows text: a carriage return alone
# ends one too.
LINE_END = re.compile(r"\r\n?|\n")


def fence_for(text: str, at_least: int = 1) -> str:
    """The backticks that fence `text` in Markdown, inline or as a block: more than any run
    of them it holds (CommonMark), and `at_least` (3 for a block)."""
    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    return "`" * max(at_least, longest + 1)


def code_span(text: str) -> str:
    """`text` as inline code, so that the @mentions it quotes notify nobody again: fenced by
    more backticks than it holds in a row (CommonMark), and spaced from a backtick at either
    end, which would otherwise join the fence."""
    fence = fence_for(text)
    padding = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{padding}{text}{padding}{fence}"


def shortened(text: str, limit: int) -> str:
    """`text`, cut to `limit` characters with `…` when longer: someone's words quoted in a
    reply, which GitHub takes up to 65,536 characters."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


# GitHub refuses an issue or pull request title longer than this.
TITLE_LIMIT = 256
# Characters kept of a reason someone wrote (a break-glass's, a rollback's description): the
# check run, the issues and the notices that show it take it whole, and GitHub takes 65,536
# characters in a comment or an issue, as many as the comment or description it came from.
REASON_LIMIT = 500


def title_of(prefix: str, title: str) -> str:
    """An issue title made of `prefix` and a pull request's `title`, which may already be as
    long as GitHub allows: the pull request's part is cut to fit."""
    return shortened(f"{prefix}{title}", TITLE_LIMIT)


def join_words(words: Sequence[str], conjunction: str = "and") -> str:
    """`A`, `A and B`, `A, B and C` (or `A, B or C`)."""
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} {conjunction} {words[-1]}"


def pull_numbers(numbers: Sequence[int]) -> str:
    """`#1`, `#1 and #3`, `#1, #3 and #5`."""
    return join_words([f"#{number}" for number in numbers])


def waiting_words(waiting: Sequence[Sequence[str]]) -> str:
    """Approval groups waited for, as alternatives (see `RuleResult.waiting`):
    `Engineering Lead and On-call Manager`, `Engineering Lead or Product Manager`."""
    return join_words([join_words(names, "or") for names in waiting])


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """`1 rule`, `2 rules`."""
    return f"{count} {singular if count == 1 else plural_form or singular + 's'}"


_DURATION_UNITS = (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1))


def duration_words(value: timedelta, *, to_the_second: bool = False) -> str:
    """`1d3h30m`: `value` in d, h, m and s (the notation of durations in `.github/hotfix.yml`),
    rounded down to the minute, beside times people read to the minute; under a minute, or
    `to_the_second`, exact to the second (`45s`); `0s` for under a second."""
    left = max(int(value.total_seconds()), 0)
    if left >= 60 and not to_the_second:
        left -= left % 60
    words = []
    for unit, seconds in _DURATION_UNITS:
        amount, left = divmod(left, seconds)
        if amount:
            words.append(f"{amount}{unit}")
    return "".join(words) or "0s"


def sentence(text: str) -> str:
    """`text` ending with a full stop: one is added unless it has one (GitHub's error
    messages may, or not)."""
    return text if text.endswith(".") else f"{text}."


def deadline_passed(left: timedelta) -> bool:
    """Whether a deadline `left` away (negative once behind) has passed: it has the moment it
    comes, when its timer fires, so that a merge at that moment missed it too."""
    return left <= timedelta(0)


_SECOND = timedelta(seconds=1)


def deadline_distance(left: timedelta) -> str:
    """How far a deadline `left` away is, either side, as `duration_words` writes it: rounded
    up to the whole second and at least `1s`, never `0s`, which would read as neither before
    nor past it (at the deadline itself it has passed)."""
    seconds = max(-(-abs(left) // _SECOND), 1)
    return duration_words(timedelta(seconds=seconds))


def time_left(left: timedelta) -> str:
    """`1h45m left`, or `overdue by 3h12m` once the deadline has passed."""
    if deadline_passed(left):
        return f"overdue by {deadline_distance(left)}"
    return f"{deadline_distance(left)} left"


def when(moment: datetime) -> str:
    """`2026-12-04 22:30 UTC`: hotfix-bot writes times in UTC, to the minute."""
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def when_beside(moment: datetime, shown: datetime) -> str:
    """`02:25 UTC` when `moment` falls on the UTC day of `shown`, a time written beside it;
    `when(moment)` otherwise."""
    if moment.astimezone(UTC).date() == shown.astimezone(UTC).date():
        return f"{moment.astimezone(UTC):%H:%M} UTC"
    return when(moment)


def cell(text: str) -> str:
    """Text safe inside one Markdown table cell: on one line, its pipes escaped."""
    escaped = text.replace("\\", "\\\\").replace("|", "\\|")
    return LINE_END.sub(" ", escaped).strip() or " "
