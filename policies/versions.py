"""Reading the project version from the files that carry it."""

import json
import tomllib
from collections.abc import Callable, Mapping
from pathlib import PurePosixPath

# Re-exported: the rules and the post-merge steps name versions by this type. It compares by
# SemVer 2.0 precedence (pre-release below its release, build metadata ignored), and its text
# is the version as written, -prerelease and +build parts included.
from semver import Version as Version

from policies.config import HotfixConfig
from policies.files import FileText, UnreadableText
from policies.tags import fill_format, format_version
from policies.wording import join_words, shortened

DEFAULT_VERSION_FILES = ("VERSION", "pyproject.toml", "package.json", "Cargo.toml")

_CONFIGURE = "set version.files in .github/hotfix.yml to the file(s) that hold the version"

# The longest version read, without its `v`: the limit semver 3.2 brought in, kept whichever
# semver is installed so a version means the same everywhere. A longer one is no release.
MAX_VERSION_LENGTH = 255
# Characters of an unreadable version quoted back: a file may hold anything, of any size.
_QUOTED_VERSION = 80

_NPM_LOCKFILES = ("package-lock.json", "npm-shrinkwrap.json")
# The lockfile at the root of the workspace a manifest is in, its own directory or one above.
_WORKSPACE_LOCKFILES = {"Cargo.toml": "Cargo.lock", "pyproject.toml": "uv.lock"}

# Editors on Windows begin UTF-8 files with one; JSON and TOML parsers refuse it.
_BYTE_ORDER_MARK = "\ufeff"


class VersionFileError(ValueError):
    """A version file has no version hotfix-bot can read; the message says what to do."""


class VersionKeptElsewhere(VersionFileError):
    """The file says its version is kept elsewhere (dynamic, a Cargo workspace's, or, at a
    workspace's root, its packages'): the config is what to change, not the file."""


def _without_v(text: str) -> str:
    return text.strip().removeprefix("v")


def parse_version(text: str) -> Version | None:
    """`text` as a SemVer 2.0 version (1.2.3, 1.2.4-rc.1+build.5), or None when it is not one.

    A leading `v` is accepted (v1.2.3), as tags often write it; leading zeros are refused, so
    the text and the number always read the same; so is a version over MAX_VERSION_LENGTH.
    """
    written = _without_v(text)
    if len(written) > MAX_VERSION_LENGTH:
        return None
    try:
        return Version.parse(written)
    except ValueError:
        return None


def next_patch(version: Version) -> Version:
    """The release a hotfix of `version` ships: X.Y.(Z+1), a pre-release included (1.2.4-rc.1
    becomes 1.2.5). The pre-release and build parts are dropped."""
    return version.bump_patch()


def version_files_to_read(config: HotfixConfig) -> list[str]:
    """The paths whose text the app fetches from the base and the head of a pull request."""
    return list(config.version.files) or list(DEFAULT_VERSION_FILES)


def _toml_table(document: dict[str, object], *keys: str) -> dict[str, object]:
    table: object = document
    for key in keys:
        table = table.get(key, {}) if isinstance(table, dict) else {}
    return table if isinstance(table, dict) else {}


# Where a file declares its version: the TOML table (None in a JSON file) and the version as
# written, once for each table that declares it.
_Declarations = list[tuple[str | None, object]]


def _pyproject_version(path: str, text: str) -> _Declarations:
    document = _load_toml(path, text)
    # A Poetry 2 project moving to [project] may declare the version in both tables: each is
    # read, so that the one left behind is named.
    declared: _Declarations = []
    for table in ("project", "tool.poetry"):
        version = _toml_table(document, *table.split(".")).get("version")
        if version is not None:
            declared.append((table, version))
    if declared:
        return declared
    dynamic = _toml_table(document, "project").get("dynamic")
    if isinstance(dynamic, list) and "version" in dynamic:
        raise VersionKeptElsewhere(
            f"{path}: the version is dynamic (project.dynamic lists it), so it is not in the "
            f"file; {_CONFIGURE}, e.g. files: [VERSION]"
        )
    return [("project", None)]


def _cargo_version(path: str, text: str) -> _Declarations:
    document = _load_toml(path, text)
    declared = _toml_table(document, "package").get("version")
    # A workspace root keeps the shared version in [workspace.package].
    workspace_version = _toml_table(document, "workspace", "package").get("version")
    inherited = isinstance(declared, dict) and declared.get("workspace") is True
    if inherited and workspace_version is None:
        raise VersionKeptElsewhere(
            f"{path}: the version is inherited from the workspace (version.workspace = "
            f"true), so it is not in this file; {_CONFIGURE}, e.g. the workspace's Cargo.toml"
        )
    if inherited or (declared is None and workspace_version is not None):
        return [("workspace.package", workspace_version)]
    if declared is None and "package" not in document and "workspace" in document:
        raise VersionKeptElsewhere(
            f"{path}: declares no version, as the manifest of a virtual workspace (no "
            f"[package]) does: its members hold theirs; {_CONFIGURE}, e.g. a member's "
            "Cargo.toml"
        )
    return [("package", declared)]


def _package_json_version(path: str, text: str) -> _Declarations:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise VersionFileError(
            f"{path}: is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
        ) from None
    if not isinstance(document, dict):
        return [(None, None)]
    if document.get("version") is None and "workspaces" in document:
        raise VersionKeptElsewhere(
            f"{path}: declares no version, as the root of an npm workspace does: its packages "
            f"(in workspaces) hold theirs; {_CONFIGURE}, e.g. a package's package.json"
        )
    return [(None, document.get("version"))]


def _load_toml(path: str, text: str) -> dict[str, object]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise VersionFileError(f"{path}: is not valid TOML ({error})") from None


# Files are told apart by name; any other name (VERSION, version.txt) holds just the version.
_READERS: dict[str, tuple[Callable[[str, str], _Declarations], str]] = {
    "pyproject.toml": (_pyproject_version, '[project] version = "1.2.3"'),
    "Cargo.toml": (_cargo_version, '[package] version = "1.2.3"'),
    "package.json": (_package_json_version, '"version": "1.2.3"'),
}


def _declared(path: str, text: str) -> tuple[object, str, int]:
    """What `text` declares as the version, as written, read the way the file's name says;
    what such a file is expected to hold; and in how many places it declares it, each of
    which must hold the same."""
    text = text.removeprefix(_BYTE_ORDER_MARK)
    reader = _READERS.get(PurePosixPath(path).name)
    if reader is None:
        return text.strip(), "only the version, e.g. 1.2.3", 1
    read, expected = reader
    declarations = read(path, text)
    (_, declared), *others = declarations
    if any(other != declared for _, other in others):
        listing = join_words([f"[{table}] {_quoted(value)}" for table, value in declarations])
        raise VersionFileError(
            f"{path}: the tables that hold the version disagree: {listing}; both must hold "
            "the same version"
        )
    return declared, expected, len(declarations)


def _quoted(declared: object) -> str:
    """`declared` as JSON in at most `_QUOTED_VERSION` characters, a string cut short inside
    its quotes: a file may hold anything."""
    quoted = json.dumps(declared, default=str)
    if len(quoted) <= _QUOTED_VERSION or not isinstance(declared, str):
        return shortened(quoted, _QUOTED_VERSION)
    kept = declared[:_QUOTED_VERSION]
    while len(json.dumps(kept)) > _QUOTED_VERSION - 1:  # escapes take more than one character
        kept = kept[:-1]
    return json.dumps(kept)[:-1] + '…"'


def parse_version_file(path: str, text: str) -> Version:
    """The version `text` declares, read the way the file's name says."""
    declared, expected, _ = _declared(path, text)
    if declared is None or declared == "":
        raise VersionFileError(f"{path}: declares no version (expected {expected}); {_CONFIGURE}")
    version = parse_version(declared) if isinstance(declared, str) else None
    if version is not None:
        return version
    quoted = _quoted(declared)
    if isinstance(declared, str) and len(_without_v(declared)) > MAX_VERSION_LENGTH:
        raise VersionFileError(
            f"{path}: the version {quoted} is longer than {MAX_VERSION_LENGTH} characters; a "
            "version is of the form X.Y.Z, e.g. 1.2.3"
        )
    raise VersionFileError(f"{path}: the version {quoted} is not of the form X.Y.Z, e.g. 1.2.3")


def changed_beyond_version(path: str, before: FileText, after: FileText) -> bool:
    """Whether version file `path`, `before` and `after` a change, differs in more than its
    version: with the version each declares, as written, taken out of the places it is
    declared in (one, or each table that holds it), the rest of the text is not the same (a
    file that holds only the version has no rest, and a byte order mark or the newlines it
    ends with are none of it). Taken as changed whenever that cannot be told: the file added,
    deleted or unreadable, or a version not found as declared (written with escapes, say)."""
    if before is None and after is None:
        return False
    if not isinstance(before, str) or not isinstance(after, str):
        return True
    # npm, which the check's fix runs, drops the mark an editor wrote and ends the file with
    # a newline.
    before, after = (text.removeprefix(_BYTE_ORDER_MARK).rstrip("\r\n") for text in (before, after))
    if before == after:
        return False
    written_before, written_after = _written_version(path, before), _written_version(path, after)
    if written_before is None or written_after is None:
        return True
    if holds_only_the_version(path):
        # Nothing but the version to lose: the way it is written around it (a line ending,
        # a byte order mark, spaces) goes with it, as the check's `echo` rewrites it.
        return False
    (old, places), (new, _) = written_before, written_after
    return not _replaced_in(before, after, old, new, places)


def _replaced_in(before: str, after: str, old: str, new: str, places: int) -> bool:
    """Whether `after` is `before` with `new` in place of `old` at `places` of the places
    `old` stands, in order: the version may be written elsewhere too (a dependency at the
    same version), which stays. The first place replaced begins where the texts first
    differ, or at most as far back as the versions are long; the rest of each text after it
    is compared the same way, so a text holding the version many times is read a few times
    over, not once for each choice of places."""
    if places == 0:
        return before == after
    same = _common_start(before, after)
    earliest = max(same - max(len(old), len(new)), 0)
    start = before.find(old, earliest, same + len(old))
    while start != -1 and start <= same:
        if after.startswith(new, start) and _replaced_in(
            before[start + len(old) :], after[start + len(new) :], old, new, places - 1
        ):
            return True
        start = before.find(old, start + 1, same + len(old))
    return False


def _common_start(first: str, second: str) -> int:
    """How many characters the two texts begin with alike: halved until found, each half
    compared at once rather than a character at a time."""
    low, high = 0, min(len(first), len(second))
    while low < high:
        middle = (low + high + 1) // 2
        if first[:middle] == second[:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def patch_bumped_text(path: str, text: FileText) -> str | None:
    """Version file `path`, `text` on the base branch, as a hotfix that changes nothing else
    writes it: its version, as written, replaced by the next patch's, a leading `v` kept (a
    head file git names as holding exactly this text is not fetched). None when that cannot
    be told: no version, or the version written in more places than it is declared in."""
    read = _written_version(path, text) if isinstance(text, str) else None
    if not isinstance(text, str) or read is None:
        return None
    written, places = read
    version = parse_version(written)
    if version is None or text.count(written) != places:
        return None
    return text.replace(written, f"{version_prefix(path, text)}{next_patch(version)}")


def version_prefix(path: str, text: FileText) -> str:
    """The `v` the version of `text` is written with (v1.2.3), or "": a version set in its
    place is written the same way."""
    read = _written_version(path, text) if isinstance(text, str) else None
    return "v" if read is not None and read[0].startswith("v") else ""


def _written_version(path: str, text: str) -> tuple[str, int] | None:
    """The version `text` declares, exactly as written, when it is one, and in how many
    places it declares it."""
    try:
        declared, _, places = _declared(path, text)
    except VersionFileError:
        return None
    if not isinstance(declared, str) or parse_version(declared) is None:
        return None
    return declared, places


def lockfiles(path: str) -> tuple[str, ...]:
    """The lockfiles that record version file `path`'s version too, where they exist: npm's
    beside a package.json, and the Cargo.lock of a Cargo.toml's workspace or the uv.lock of a
    pyproject.toml's, at its root: the file's directory or any above it, each named."""
    file = PurePosixPath(path)
    if file.name == "package.json":
        return tuple(str(file.with_name(name)) for name in _NPM_LOCKFILES)
    lockfile = _WORKSPACE_LOCKFILES.get(file.name)
    if lockfile is None:
        return ()
    return tuple(str(directory / lockfile) for directory in file.parents)


def holds_only_the_version(path: str) -> bool:
    """The file is one like VERSION, whose whole text is the version."""
    return PurePosixPath(path).name not in _READERS


def version_tables(path: str, text: FileText) -> tuple[str, ...]:
    """The TOML tables `path`'s version is read from, e.g. `workspace.package` for the
    shared version of a Cargo workspace, `project` and `tool.poetry` where both hold it
    (whether or not they agree), or where it belongs when the file has none; none for a file
    that is no TOML file or cannot be read."""
    reader = _READERS.get(PurePosixPath(path).name)
    if reader is None or not isinstance(text, str):
        return ()
    read, _ = reader
    try:
        declarations = read(path, text.removeprefix(_BYTE_ORDER_MARK))
    except VersionFileError:
        return ()
    return tuple(table for table, _ in declarations if table is not None)


def tag_name(config: HotfixConfig, version: str) -> str:
    return fill_format(config.tag.format, version)


def tag_version(config: HotfixConfig, tag: str) -> Version | None:
    """The version `tag_name` named `tag` after, or None when `tag` is no name it makes (a
    tag made by hand, or under another `tag.format`)."""
    text = format_version(config.tag.format, tag)
    version = None if text is None else parse_version(text)
    # `parse_version` reads past a leading `v` and spaces, which `tag_name` never writes.
    return version if version is not None and str(version) == text else None


def head_version(
    config: HotfixConfig,
    base_version_files: Mapping[str, FileText],
    head_version_files: Mapping[str, FileText],
) -> Version | None:
    """The version the head of a hotfix declares, read from the first of the base's version
    files (a file the hotfix adds is not one) that is readable on the head.

    None until the head's files are read, and when none of them is readable.
    """
    on_base = {
        path: text
        for path, text in head_version_files.items()
        if base_version_files.get(path) is not None
    }
    return declared_version(config, on_base)


def tag_to_check(
    config: HotfixConfig,
    base_version_files: Mapping[str, FileText],
    head_version_files: Mapping[str, FileText],
) -> str | None:
    """The tag the hotfix would be released as, for the app to look up first: made from the
    head's version exactly as written (v1.2.4-rc.1), as the post-merge steps make it.

    None until the head's files are read, and when none of them is readable; the
    version-bump rule then fails and says why.
    """
    version = head_version(config, base_version_files, head_version_files)
    return None if version is None else tag_name(config, str(version))


def declared_version(config: HotfixConfig, version_files: Mapping[str, FileText]) -> Version | None:
    """The version of the first readable version file, in `version_files_to_read` order."""
    for path in version_files_to_read(config):
        read = read_version(path, version_files.get(path))
        if isinstance(read, Version):
            return read
    return None


def read_version(path: str, text: FileText) -> Version | VersionFileError | None:
    """The file's version, the reason it has none hotfix-bot can read, or None when absent."""
    if text is None:
        return None
    if isinstance(text, UnreadableText):
        return VersionFileError(f"{path} {text.problem}")
    try:
        return parse_version_file(path, text)
    except VersionFileError as error:
        return error
