"""Release branches (gitflow): which one a back-merge goes into.

Any branch whose name starts with `branches.release_prefix` is a release branch, named after
the version it prepares, but for the production and development branches, whatever their
names. It is open while that version is above the one a hotfix releases: one at or below it
was released already, its branch kept. The back-merge goes into the open one with the
highest version, whether or not it has commits of its own yet.
"""

import re
from collections.abc import Iterable

from policies.versions import MAX_VERSION_LENGTH, Version

# The version a name starts with: dot-separated whole numbers after an optional `v`, then
# maybe a SemVer pre-release part; anything may follow (`1.10.x`, `v2.0`, `2.0.0-rc.1`).
_VERSION_IN_NAME = re.compile(
    r"v?(?P<numbers>[0-9]+(?:\.[0-9]+)*)(?:-(?P<prerelease>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
)

# A pre-release identifier as SemVer orders them: numeric ones by value, below alphanumeric
# ones, which compare as text.
_Identifier = tuple[int, int, str]
_Precedence = tuple[tuple[int, ...], bool, tuple[_Identifier, ...]]


def _identifier(text: str) -> _Identifier:
    return (0, int(text), "") if text.isdigit() else (1, 0, text)


def _precedence(numbers: Iterable[int], prerelease: str | None) -> _Precedence:
    """SemVer precedence for any count of numbers, a missing one being 0 (`1.3` is `1.3.0`):
    the numbers, then a pre-release below its release, then its identifiers."""
    significant = list(numbers)
    while significant and significant[-1] == 0:
        significant.pop()  # trailing zeros dropped, so `1.3` and `1.3.0` compare equal
    identifiers = () if prerelease is None else tuple(map(_identifier, prerelease.split(".")))
    return (tuple(significant), prerelease is None, identifiers)


def _name_version(prefix: str, name: str) -> _Precedence | None:
    """The version at the start of the name after `prefix`, None when it starts with none."""
    found = _VERSION_IN_NAME.match(name.removeprefix(prefix))
    if found is None or len(found[0]) > MAX_VERSION_LENGTH:
        return None  # none, or longer than any version (and than Python reads as a number)
    numbers = (int(part) for part in found["numbers"].split("."))
    return _precedence(numbers, found["prerelease"])


def open_release_branch(
    prefix: str, branches: Iterable[str], released: Version, *, production: str, development: str
) -> str | None:
    """Of the branches starting with `prefix` whose name's version is above `released`, the
    one with the highest (of two naming the same version, the last by name); None when none
    is. Named like one (`release/2024.06` for a maintenance line), the `production` and
    `development` branches are none: the hotfix merged into the one, and the other takes the
    back-merge when no release branch is open."""
    above = _precedence((released.major, released.minor, released.patch), released.prerelease)
    candidates = [
        (version, name)
        for name in branches
        if name.startswith(prefix)
        and name not in (production, development)
        and (version := _name_version(prefix, name)) is not None
        and version > above
    ]
    return max(candidates)[1] if candidates else None
