"""The notices hotfix-bot sends (docs/BEHAVIOUR.md, 'Notices'): their built-in templates, the
`{placeholders}` each may use, and how one is filled in.

A repository may replace a template under `notices.templates.<name>`; a placeholder the
template does not know is a config error naming it. Filling in is plain replacement of the
known `{name}`s, in one pass: the values (a pull request's title, a reason someone typed)
are never read as a template themselves, and nothing else in the text is interpreted.
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from policies.accounts import named

P0_ALERT = "p0_alert"
RESOLUTION = "resolution"
ESCALATION = "escalation"
ROLLBACK = "rollback"

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")

# Every template may name the hotfix pull request these say.
_PULL_REQUEST = ("repository", "number", "title", "author", "severity")

PLACEHOLDERS: Mapping[str, tuple[str, ...]] = {
    P0_ALERT: (*_PULL_REQUEST, "started", "commander", "deadline", "reminders"),
    RESOLUTION: (
        *_PULL_REQUEST,
        "resolved_at",
        "resolution_time",
        "timeline",
        "tag",
        "report",
        "report_due",
    ),
    ESCALATION: (*_PULL_REQUEST, "mentions", "open_for", "deadline", "check"),
    ROLLBACK: (*_PULL_REQUEST, "reason", "rolled_back_by"),
}

# The hotfix procedures' communication templates, with what hotfix-bot knows filled in. The
# escalation's built-in wording depends on whom it mentions and on the deadline, so it is
# written in app/handlers/check_output.py; a repository's template replaces it.
DEFAULT_TEMPLATES: Mapping[str, str] = {
    P0_ALERT: (
        "🚨 CRITICAL INCIDENT - Production Down\n"
        "\n"
        "Status: Fix in review\n"
        "Started: {started}\n"
        "Incident Commander: {commander}\n"
        "Deadline: {deadline}\n"
        "\n"
        "Current Actions:\n"
        "- Reviewing the emergency fix, #{number}: {title}\n"
        "- {reminders}"
    ),
    RESOLUTION: (
        "✅ RESOLVED - Production Restored\n"
        "\n"
        "Status: Resolved\n"
        "Resolution Time: {resolution_time}\n"
        "Fix: #{number} {title}, merged {resolved_at}, tagged {tag}\n"
        "\n"
        "Timeline:\n"
        "{timeline}\n"
        "\n"
        "Incident report: {report}\n"
        "Thank you for your patience."
    ),
    ROLLBACK: (
        "🔄 ROLLBACK COMPLETE\n"
        "\n"
        "The hotfix has been rolled back due to {reason}.\n"
        "System is now stable on previous version.\n"
        "We are investigating the issue and will provide updates.\n"
        "\n"
        "{rolled_back_by}"
    ),
}


@dataclass(frozen=True, slots=True)
class RefusedNotice:
    """A notice of a pull request's that GitHub did not post (the P0 alert, an escalation
    step), as its `hotfix-policy` run tells of it."""

    name: str  # `P0 alert`, `Escalation after 15m (@acme/leads)`
    refusal: str  # GitHub's answer, in words
    in_chat: bool  # sent to chat all the same


def unknown_placeholders(template: str, known: Iterable[str]) -> list[str]:
    """The `{placeholders}` of `template` that are not among `known`, each once."""
    known_names = frozenset(known)
    found = (match[1] for match in _PLACEHOLDER.finditer(template))
    return list(dict.fromkeys(word for word in found if word not in known_names))


def fill(template: str, values: Mapping[str, str]) -> str:
    """`template` with each `{name}` of `values` replaced by its value."""
    return _PLACEHOLDER.sub(lambda match: values.get(match[1], match[0]), template)


def pull_request_values(
    repository: str, number: int, title: str, author: str, severity: str
) -> dict[str, str]:
    """The placeholders every template may use: the hotfix pull request's."""
    return {
        "repository": repository,
        "number": str(number),
        "title": title,
        "author": named(author),
        "severity": severity,
    }
