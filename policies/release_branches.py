"""Release branches (gitflow): which one a hotfix is merged back into.

Any branch whose name starts with `branches.release_prefix` is an open release branch. The
back-merge goes into the latest: the one whose name carries the highest version.
"""

import re
from collections.abc import Iterable

# `1.3`, `1.10`, `v2.0.1`: dot-separated whole numbers, with an optional leading v.
_VERSION_IN_NAME = re.compile(r"v?([0-9]+(?:\.[0-9]+)*)")


def _version_in_name(rest: str) -> tuple[int, ...] | None:
    found = _VERSION_IN_NAME.fullmatch(rest)
    return None if found is None else tuple(int(part) for part in found.group(1).split("."))


def latest_release_branch(prefix: str, branches: Iterable[str]) -> str | None:
    """The release branch with the highest version after `prefix` (`1.3` < `1.3.0` < `1.10`);
    names without a version rank below every name with one, then by name. None when no
    branch starts with `prefix`."""

    def rank(name: str) -> tuple[bool, tuple[int, ...], str]:
        version = _version_in_name(name.removeprefix(prefix))
        return (version is not None, version or (), name)

    candidates = [name for name in branches if name.startswith(prefix)]
    return max(candidates, key=rank, default=None)
