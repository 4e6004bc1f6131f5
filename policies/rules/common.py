"""Facts several rules read the same way."""

from collections.abc import Iterable

from policies.config import HotfixConfig, SeverityPolicy
from policies.wording import join_words


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


def one_severity_label(config: HotfixConfig, labels: Iterable[str]) -> str:
    """What leaves a pull request labelled `labels` with exactly one severity label, by the
    labels' configured names, in words beginning in lower case."""
    present = [config.labels.severities[name] for name in labelled_severities(config, labels)]
    if len(present) > 1:
        kept = ", ".join(f"`{label}`" for label in present)
        return f"keep one of the labels {kept} and remove the others"
    allowed = severity_labels(config, allowed_only=True) or severity_labels(config)
    return f"add one severity label: {join_words([f'`{a}`' for a in allowed], 'or')}"


def not_a_hotfix_words(config: HotfixConfig) -> str:
    """Why a pull request is no hotfix one, by the configured prefix and label: the words
    that follow "its head branch"."""
    return (
        f"does not start with `{config.branches.hotfix_prefix}` and it has no "
        f"`{config.labels.hotfix}` label"
    )
