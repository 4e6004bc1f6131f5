import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from policy_factories import config

from policies.versions import (
    Version,
    VersionFileError,
    parse_version_file,
    version_files_to_read,
)


@pytest.mark.parametrize(
    ("path", "text", "expected"),
    [
        ("VERSION", "1.2.3\n", "1.2.3"),
        ("VERSION", "  v1.2.3  \n", "1.2.3"),
        ("sub/version.txt", "0.0.9", "0.0.9"),
        ("pyproject.toml", '[project]\nname = "x"\nversion = "2.0.1"\n', "2.0.1"),
        ("pyproject.toml", '[tool.poetry]\nname = "x"\nversion = "3.1.4"\n', "3.1.4"),
        (
            "pyproject.toml",
            '[project]\ndynamic = ["version"]\n[tool.poetry]\nversion = "3.1.4"\n',
            "3.1.4",
        ),
        ("package.json", '{"name": "x", "version": "10.20.30"}', "10.20.30"),
        ("packages/web/package.json", '{"version": "v1.0.0"}', "1.0.0"),
        ("Cargo.toml", '[package]\nname = "x"\nversion = "0.4.2"\n', "0.4.2"),
        ("Cargo.toml", '[workspace.package]\nversion = "0.5.0"\n', "0.5.0"),
        (
            "Cargo.toml",
            '[package]\nversion.workspace = true\n[workspace.package]\nversion = "0.6.0"\n',
            "0.6.0",
        ),
        ("VERSION", "1.2.3-rc.1+build.5", "1.2.3"),
    ],
)
def test_version_files_are_read(path: str, text: str, expected: str) -> None:
    assert str(parse_version_file(path, text)) == expected


@pytest.mark.parametrize(
    ("path", "text", "words"),
    [
        ("VERSION", "", "VERSION: declares no version (expected only the version"),
        ("VERSION", "1.2", 'VERSION: the version "1.2" is not of the form X.Y.Z'),
        ("VERSION", "01.2.3", 'the version "01.2.3" is not of the form X.Y.Z'),
        ("pyproject.toml", "[tool.ruff]\nline-length = 100\n", "pyproject.toml: declares no"),
        ("pyproject.toml", '[project]\ndynamic = ["version"]\n', "the version is dynamic"),
        ("pyproject.toml", "[project\n", "pyproject.toml: is not valid TOML"),
        ("package.json", '{"name": "x"}', "package.json: declares no version"),
        ("package.json", "{", "package.json: is not valid JSON (line 1"),
        ("package.json", '{"version": 1}', "package.json: the version 1 is not of the form"),
        ("Cargo.toml", "[package]\nversion.workspace = true\n", "inherited from the workspace"),
    ],
)
def test_unreadable_versions_name_the_file_and_what_to_do(path: str, text: str, words: str) -> None:
    with pytest.raises(VersionFileError) as raised:
        parse_version_file(path, text)
    assert words in str(raised.value)


@pytest.mark.parametrize("text", ['[project]\ndynamic = ["version"]\n', "[tool.x]\n"])
def test_pyproject_errors_suggest_version_files(text: str) -> None:
    with pytest.raises(VersionFileError, match=r"set version\.files"):
        parse_version_file("pyproject.toml", text)


def test_files_to_read_default_to_the_four_known_files() -> None:
    assert version_files_to_read(config()) == [
        "VERSION",
        "pyproject.toml",
        "package.json",
        "Cargo.toml",
    ]
    assert version_files_to_read(config("version: {files: [app/VERSION]}")) == ["app/VERSION"]


numbers = st.integers(min_value=0, max_value=10**12)
identifiers = st.from_regex(r"[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*", fullmatch=True)


@given(numbers, numbers, numbers, st.booleans())
def test_version_text_round_trips(major: int, minor: int, patch: int, v_prefix: bool) -> None:
    text = f"{'v' if v_prefix else ''}{major}.{minor}.{patch}"
    version = parse_version_file("VERSION", text)
    assert version == Version(major, minor, patch)
    assert str(version) == f"{major}.{minor}.{patch}"


@given(numbers, numbers, numbers, st.none() | identifiers, st.none() | identifiers)
def test_suffixes_parse_and_keep_the_core(
    major: int, minor: int, patch: int, prerelease: str | None, build: str | None
) -> None:
    full = Version(major, minor, patch, prerelease, build).full
    version = parse_version_file("VERSION", full)
    assert version.core == (major, minor, patch)
    assert version.full == full
    assert str(version) == f"{major}.{minor}.{patch}"


@given(numbers, numbers, numbers, st.none() | identifiers)
def test_bump_patch_adds_one_to_the_patch_only(
    major: int, minor: int, patch: int, prerelease: str | None
) -> None:
    bumped = Version(major, minor, patch, prerelease).bump_patch()
    assert bumped == Version(major, minor, patch + 1)
    assert parse_version_file("VERSION", str(bumped)) == bumped


@given(st.text())
def test_any_text_is_a_version_or_a_version_file_error(text: str) -> None:
    for path in ("VERSION", "package.json", "pyproject.toml", "Cargo.toml"):
        with contextlib.suppress(VersionFileError):
            parse_version_file(path, text)
