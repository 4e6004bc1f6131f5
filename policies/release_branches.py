"""Release branches (gitflow): the order in which a back-merge looks at them.

Any branch whose name starts with `branches.release_prefix` is a release branch. The
back-merge goes into the open one with the highest version in its name; whether one is
still open (not yet merged into production) is for the app to ask GitHub, from the first of
`release_branches_newest_first` down.
"""

import re
from collections.abc import Iterable

# The version a name starts with: dot-separated whole numbers after an optional `v`, then
# maybe a SemVer pre-release part; anything may follow (`1.10.x`, `v2.0`, `2.0.0-rc.1`).
_VERSION_IN_NAME = re.compile(
    r"v?(?P<numbers>[0-9]+(?:\.[0-9]+)*)(?:-(?P<prerelease>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
)

# A pre-release identifier as SemVer orders them: numeric ones by value, below alphanumeric
# ones, which compare as text.
_Identifier = tuple[int, int, str]
_Rank = tuple[bool, tuple[int, ...], bool, tuple[_Identifier, ...], str]


def _identifier(text: str) -> _Identifier:
    return (0, int(text), "") if text.isdigit() else (1, 0, text)


def _rank(prefix: str, name: str) -> _Rank:
    """Names with a version above those without; then the numbers (`1.3` < `1.3.0` <
    `1.10`); then a pre-release below its release; then the name."""
    found = _VERSION_IN_NAME.match(name.removeprefix(prefix))
    if found is None:
        return (False, (), False, (), name)
    numbers = tuple(int(part) for part in found["numbers"].split("."))
    prerelease = found["prerelease"]
    identifiers = () if prerelease is None else tuple(map(_identifier, prerelease.split(".")))
    return (True, numbers, prerelease is None, identifiers, name)


def release_branches_newest_first(prefix: str, branches: Iterable[str]) -> list[str]:
    """The branches starting with `prefix`, the highest version after it first."""
    candidates = [name for name in branches if name.startswith(prefix)]
    return sorted(candidates, key=lambda name: _rank(prefix, name), reverse=True)
