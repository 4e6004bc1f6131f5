"""Reading the project version from the files that carry it."""

import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Self

from policies.config import HotfixConfig
from policies.files import FileText, UnreadableText

DEFAULT_VERSION_FILES = ("VERSION", "pyproject.toml", "package.json", "Cargo.toml")

# X.Y.Z with an optional leading v and optional semver -prerelease and +build parts;
# leading zeros are refused so that the text and the number always read the same.
_NUMBER = r"(0|[1-9][0-9]*)"
_IDENTIFIERS = r"[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*"
_VERSION = re.compile(
    rf"v?{_NUMBER}\.{_NUMBER}\.{_NUMBER}(?:-(?P<prerelease>{_IDENTIFIERS}))?"
    rf"(?:\+(?P<build>{_IDENTIFIERS}))?"
)
_CONFIGURE = "set version.files in .github/hotfix.yml to the file(s) that hold the version"


class VersionFileError(ValueError):
    """A version file has no version hotfix-bot can read; the message says what to do."""


@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int
    # Parsed so such files are accepted, but the hotfix rules compare X.Y.Z only.
    prerelease: str | None = None
    build: str | None = None

    @classmethod
    def parse(cls, text: str) -> Self | None:
        found = _VERSION.fullmatch(text.strip())
        if found is None:
            return None
        major, minor, patch = (int(found.group(index)) for index in (1, 2, 3))
        return cls(major, minor, patch, found["prerelease"], found["build"])

    @property
    def core(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)

    def bump_patch(self) -> "Version":
        return Version(self.major, self.minor, self.patch + 1)

    @property
    def full(self) -> str:
        """X.Y.Z with the -prerelease and +build parts, as the file gives them."""
        prerelease = f"-{self.prerelease}" if self.prerelease else ""
        build = f"+{self.build}" if self.build else ""
        return f"{self}{prerelease}{build}"

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


def version_files_to_read(config: HotfixConfig) -> list[str]:
    """The paths whose text the app fetches from the base and the head of a pull request."""
    return list(config.version.files) or list(DEFAULT_VERSION_FILES)


def _toml_table(document: dict[str, object], *keys: str) -> dict[str, object]:
    table: object = document
    for key in keys:
        table = table.get(key, {}) if isinstance(table, dict) else {}
    return table if isinstance(table, dict) else {}


def _pyproject_version(path: str, text: str) -> object:
    document = _load_toml(path, text)
    project = _toml_table(document, "project")
    poetry = _toml_table(document, "tool", "poetry")
    if "version" in project:
        return project["version"]
    if "version" in poetry:
        return poetry["version"]
    dynamic = project.get("dynamic")
    if isinstance(dynamic, list) and "version" in dynamic:
        raise VersionFileError(
            f"{path}: the version is dynamic (project.dynamic lists it), so it is not in the "
            f"file; {_CONFIGURE}, e.g. files: [VERSION]"
        )
    return None


def _cargo_version(path: str, text: str) -> object:
    document = _load_toml(path, text)
    package = _toml_table(document, "package")
    # A workspace root keeps the shared version in [workspace.package].
    workspace_version = _toml_table(document, "workspace", "package").get("version")
    version = package.get("version", workspace_version)
    if isinstance(version, dict) and version.get("workspace") is True:
        if workspace_version is None:
            raise VersionFileError(
                f"{path}: the version is inherited from the workspace (version.workspace = "
                f"true), so it is not in this file; {_CONFIGURE}, e.g. the workspace's Cargo.toml"
            )
        return workspace_version
    return version


def _package_json_version(path: str, text: str) -> object:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise VersionFileError(
            f"{path}: is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
        ) from None
    return document.get("version") if isinstance(document, dict) else None


def _load_toml(path: str, text: str) -> dict[str, object]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise VersionFileError(f"{path}: is not valid TOML ({error})") from None


# Files are told apart by name; any other name (VERSION, version.txt) holds just the version.
_READERS = {
    "pyproject.toml": (_pyproject_version, '[project] version = "1.2.3"'),
    "Cargo.toml": (_cargo_version, '[package] version = "1.2.3"'),
    "package.json": (_package_json_version, '"version": "1.2.3"'),
}


def parse_version_file(path: str, text: str) -> Version:
    """The version `text` declares, read the way the file's name says."""
    reader = _READERS.get(PurePosixPath(path).name)
    if reader is None:
        declared: object = text.strip()
        expected = "only the version, e.g. 1.2.3"
    else:
        read, expected = reader
        declared = read(path, text)
    if declared is None or declared == "":
        raise VersionFileError(f"{path}: declares no version (expected {expected}); {_CONFIGURE}")
    version = Version.parse(declared) if isinstance(declared, str) else None
    if version is None:
        raise VersionFileError(
            f"{path}: the version {json.dumps(declared, default=str)} "
            "is not of the form X.Y.Z, e.g. 1.2.3"
        )
    return version


def tag_name(config: HotfixConfig, version: str) -> str:
    # Plain replacement: str.format on an admin's text could reach object attributes.
    return config.tag.format.replace("{version}", version)


def tag_to_check(config: HotfixConfig, base_version_files: Mapping[str, FileText]) -> str | None:
    """The tag the hotfix's version (the base's, patch + 1) would be released as, for the app
    to look up first.

    None when no version file on the base can be read; the version-bump rule says why.
    """
    version = declared_version(config, base_version_files)
    return None if version is None else tag_name(config, str(version.bump_patch()))


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
