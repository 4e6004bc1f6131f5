"""Facts several rules read the same way."""

from collections.abc import Iterable

from policies.config import HotfixConfig, SeverityPolicy


def has_label(labels: Iterable[str], wanted: str) -> bool:
    # GitHub label names are unique regardless of case.
    return any(label.casefold() == wanted.casefold() for label in labels)


def is_hotfix(config: HotfixConfig, head_ref: str, labels: Iterable[str]) -> bool:
    """A hotfix PR: head branch starts with the prefix (any case) or it has the hotfix label."""
    prefix = config.branches.hotfix_prefix
    return head_ref.casefold().startswith(prefix.casefold()) or has_label(
        labels, config.labels.hotfix
    )


def labelled_severities(config: HotfixConfig, labels: Iterable[str]) -> list[str]:
    """The severities whose label the pull request carries, in config order."""
    present = {label.casefold() for label in labels}
    return [
        severity
        for severity, label in config.labels.severities.items()
        if label.casefold() in present
    ]


def single_severity(
    config: HotfixConfig, labels: Iterable[str]
) -> tuple[str, SeverityPolicy] | None:
    """The severity when exactly one severity label is present, else None."""
    severities = labelled_severities(config, labels)
    if len(severities) != 1:
        return None
    return severities[0], config.severities[severities[0]]


def severity_labels(config: HotfixConfig, *, allowed_only: bool = False) -> list[str]:
    return [
        config.labels.severities[name]
        for name, policy in config.severities.items()
        if policy.hotfix_allowed or not allowed_only
    ]
