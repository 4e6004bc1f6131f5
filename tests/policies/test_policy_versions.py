import contextlib
import itertools
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from policy_factories import config

from policies.files import FileText, UnreadableText
from policies.versions import (
    MAX_VERSION_LENGTH,
    Version,
    VersionFileError,
    changed_beyond_version,
    lockfiles,
    next_patch,
    parse_version,
    parse_version_file,
    patch_bumped_text,
    tag_name,
    tag_version,
    version_files_to_read,
    version_tables,
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
        (  # a Poetry 2 project moving to [project]: both tables hold the version
            "pyproject.toml",
            '[project]\nversion = "2.0.1"\n[tool.poetry]\nversion = "2.0.1"\n',
            "2.0.1",
        ),
        ("VERSION", "1.2.3-rc.1+build.5", "1.2.3-rc.1+build.5"),
        ("package.json", '{"version": "v1.2.4-rc.1"}', "1.2.4-rc.1"),
        (
            "Cargo.toml",
            '[package]\nversion = "0.4.2-alpha.0+exp.sha.5114f85"\n',
            "0.4.2-alpha.0+exp.sha.5114f85",
        ),
    ],
)
def test_version_files_are_read(path: str, text: str, expected: str) -> None:
    assert str(parse_version_file(path, text)) == expected


@pytest.mark.parametrize(
    ("path", "text", "tables"),
    [
        ("Cargo.toml", '[package]\nversion = "0.4.2"\n', ("package",)),
        ("Cargo.toml", '[workspace.package]\nversion = "0.5.0"\n', ("workspace.package",)),
        (
            "Cargo.toml",
            '[package]\nversion.workspace = true\n[workspace.package]\nversion = "0.6.0"\n',
            ("workspace.package",),
        ),
        (  # a workspace root that is a crate of its own: [package] is read first
            "crates/Cargo.toml",
            '[package]\nversion = "0.4.2"\n[workspace.package]\nversion = "0.6.0"\n',
            ("package",),
        ),
        ("Cargo.toml", '[package]\nname = "x"\n', ("package",)),  # where it belongs
        ("pyproject.toml", '[project]\nversion = "2.0.1"\n', ("project",)),
        ("pyproject.toml", '[tool.poetry]\nversion = "3.1.4"\n', ("tool.poetry",)),
        (  # each table that holds the version, where both do
            "pyproject.toml",
            '[project]\nversion = "2.0.1"\n[tool.poetry]\nversion = "2.0.1"\n',
            ("project", "tool.poetry"),
        ),
        (  # ... even when they disagree: both are set
            "pyproject.toml",
            '[project]\nversion = "2.0.2"\n[tool.poetry]\nversion = "2.0.1"\n',
            ("project", "tool.poetry"),
        ),
        ("pyproject.toml", '[project]\ndynamic = ["version"]\n', ()),
        ("pyproject.toml", "[project\n", ()),
        ("package.json", '{"version": "1.0.0"}', ()),
        ("VERSION", "1.2.3", ()),
    ],
)
def test_version_tables_are_the_tables_the_version_is_read_from(
    path: str, text: str, tables: tuple[str, ...]
) -> None:
    assert version_tables(path, text) == tables


@pytest.mark.parametrize(
    ("path", "text", "tables"),
    [
        ("VERSION", "1.2.3\r\n", ()),
        ("package.json", '{"name": "x", "version": "1.2.3"}', ()),
        ("pyproject.toml", '[tool.poetry]\nversion = "1.2.3"\n', ("tool.poetry",)),
        ("Cargo.toml", '[workspace.package]\nversion = "1.2.3"\n', ("workspace.package",)),
    ],
)
def test_a_leading_byte_order_mark_is_read_past(
    path: str, text: str, tables: tuple[str, ...]
) -> None:
    with_mark = "\ufeff" + text  # as editors on Windows save UTF-8
    assert str(parse_version_file(path, with_mark)) == "1.2.3"
    assert version_tables(path, with_mark) == tables


@pytest.mark.parametrize(
    ("path", "text", "words"),
    [
        ("VERSION", "", "VERSION: declares no version (expected only the version"),
        ("VERSION", "1.2", 'VERSION: the version "1.2" is not of the form X.Y.Z'),
        ("VERSION", "01.2.3", 'the version "01.2.3" is not of the form X.Y.Z'),
        # SemVer 2.0 refuses leading zeros in numeric pre-release identifiers and empty ones.
        ("VERSION", "1.2.3-rc.01", 'the version "1.2.3-rc.01" is not of the form X.Y.Z'),
        ("VERSION", "1.2.3-rc..1", 'the version "1.2.3-rc..1" is not of the form X.Y.Z'),
        ("VERSION", "1.2.3+", 'the version "1.2.3+" is not of the form X.Y.Z'),
        ("VERSION", "1.2.\u0663", 'the version "1.2.\\u0663" is not of the form X.Y.Z'),
        ("pyproject.toml", "[tool.ruff]\nline-length = 100\n", "pyproject.toml: declares no"),
        ("pyproject.toml", '[project]\ndynamic = ["version"]\n', "the version is dynamic"),
        ("pyproject.toml", "[project\n", "pyproject.toml: is not valid TOML"),
        ("package.json", '{"name": "x"}', "package.json: declares no version"),
        ("package.json", "{", "package.json: is not valid JSON (line 1"),
        ("package.json", '{"version": 1}', "package.json: the version 1 is not of the form"),
        ("Cargo.toml", "[package]\nversion.workspace = true\n", "inherited from the workspace"),
        ("Cargo.toml", '[workspace]\nmembers = ["a"]\n', "the manifest of a virtual workspace"),
        ("package.json", '{"workspaces": ["a"]}', "the root of an npm workspace"),
        (  # each table that holds it is read: the one left behind is named
            "pyproject.toml",
            '[project]\nversion = "1.2.4"\n[tool.poetry]\nversion = "1.2.3"\n',
            'pyproject.toml: the tables that hold the version disagree: [project] "1.2.4" and '
            '[tool.poetry] "1.2.3"; both must hold the same version',
        ),
    ],
)
def test_unreadable_versions_name_the_file_and_what_to_do(path: str, text: str, words: str) -> None:
    with pytest.raises(VersionFileError) as raised:
        parse_version_file(path, text)
    assert words in str(raised.value)


def test_a_version_up_to_the_limit_is_read_and_a_longer_one_named_too_long() -> None:
    at_limit = "1.2.3-" + "a" * (MAX_VERSION_LENGTH - len("1.2.3-"))
    assert str(parse_version_file("VERSION", f"v{at_limit}\n")) == at_limit
    with pytest.raises(VersionFileError) as raised:
        parse_version_file("VERSION", f"v{at_limit}b\n")
    # The file's text is quoted cut short: a check run shows the message.
    quoted = '"v1.2.3-' + "a" * 70 + '…"'
    assert str(raised.value) == (
        f"VERSION: the version {quoted} is longer than 255 characters; a version is of the form "
        "X.Y.Z, e.g. 1.2.3"
    )


def test_an_unreadable_version_is_quoted_cut_short() -> None:
    with pytest.raises(VersionFileError) as raised:
        parse_version_file("VERSION", "1.2.3 the release after 1.2.2 " * 7)
    assert str(raised.value) == (
        'VERSION: the version "1.2.3 the release after 1.2.2 1.2.3 the release after 1.2.2 '
        '1.2.3 the release…" is not of the form X.Y.Z, e.g. 1.2.3'
    )


@pytest.mark.parametrize("text", ["\u00e9" * 300, "\u00e9" * 50, '"' * 100, "1.2.3 " * 100])
def test_an_unreadable_version_is_quoted_in_at_most_80_characters(text: str) -> None:
    with pytest.raises(VersionFileError) as raised:
        parse_version_file("VERSION", text)
    quoted = str(raised.value).removeprefix("VERSION: the version ").split(" is ")[0]
    assert len(quoted) <= 80 and quoted.startswith('"') and quoted.endswith('"'), quoted


@pytest.mark.parametrize("text", ['[project]\ndynamic = ["version"]\n', "[tool.x]\n"])
def test_pyproject_errors_suggest_version_files(text: str) -> None:
    with pytest.raises(VersionFileError, match=r"set version\.files"):
        parse_version_file("pyproject.toml", text)


PACKAGE = '{\n  "version": "%s",\n  "dependencies": {"lodash": "%s", "left-pad": "%s"}\n}\n'
PYPROJECT = '[project]\nname = "w"\nversion = "%s"\ndependencies = ["%s"]\n'
# Both tables hold the version (a Poetry 2 project moving to [project]); so does a dependency.
BOTH_TABLES = (
    '[project]\nversion = "%s"\ndependencies = ["shared==%s"]\n\n[tool.poetry]\nversion = "%s"\n'
)
UNREADABLE = UnreadableText("is not UTF-8 text")


def package_json(before: tuple[str, ...], after: tuple[str, ...]) -> tuple[str, str, str]:
    """A package.json changed from one (version, lodash, left-pad) to another."""
    return ("package.json", PACKAGE % before, PACKAGE % after)


@pytest.mark.parametrize(
    ("path", "before", "after"),
    [
        ("VERSION", "1.2.3\n", "1.2.4\n"),
        ("VERSION", "v1.2.3\n", "1.2.4-rc.1\n"),
        # A file that holds only the version: how it is written around it goes with it.
        ("VERSION", "\ufeff1.2.3  \r\n", "1.2.4\n"),
        package_json(("1.2.3", "4.17.20", "1.0.0"), ("1.2.4", "4.17.20", "1.0.0")),
        # The version is written twice; the change is in the place it is declared.
        package_json(("1.2.3", "4.17.20", "1.2.3"), ("1.2.4", "4.17.20", "1.2.3")),
        # ... and written first where it is not declared.
        (
            "package.json",
            '{"engines": {"self": "1.2.3"}, "version": "1.2.3"}\n',
            '{"engines": {"self": "1.2.3"}, "version": "1.2.4"}\n',
        ),
        ("pyproject.toml", PYPROJECT % ("1.2.3", "x"), PYPROJECT % ("1.2.4", "x")),
        # Set in both tables that hold it, the dependency at the same version left as it is.
        (
            "pyproject.toml",
            BOTH_TABLES % ("1.2.3", "1.2.3", "1.2.3"),
            BOTH_TABLES % ("1.2.4", "1.2.3", "1.2.4"),
        ),
        # The byte order mark an editor wrote, dropped by npm, and the final newline it adds.
        ("package.json", '\ufeff{"version": "1.2.3"}\n', '{"version": "1.2.4"}\n'),
        ("package.json", '{\n  "version": "1.2.3"\n}', '{\n  "version": "1.2.4"\n}\n'),
        package_json(("1.2.3", "4.17.20", "1.0.0"), ("1.2.3", "4.17.20", "1.0.0")),
        ("VERSION", None, None),
    ],
)
def test_a_change_of_the_version_alone_is_not_beyond_it(
    path: str, before: str | None, after: str | None
) -> None:
    assert not changed_beyond_version(path, before, after)


@pytest.mark.parametrize(
    ("path", "before", "after"),
    [
        # A dependency bumped beside the version.
        package_json(("1.2.3", "4.17.20", "1.0.0"), ("1.2.4", "4.17.21", "1.0.0")),
        # The same text as the version, bumped elsewhere than where it is declared.
        package_json(("1.2.3", "4.17.20", "1.2.3"), ("1.2.3", "4.17.20", "1.2.4")),
        package_json(("1.2.3", "4.17.20", "1.2.3"), ("1.2.4", "4.17.20", "1.2.4")),
        # Nothing but a dependency changed.
        ("pyproject.toml", PYPROJECT % ("1.2.3", "x"), PYPROJECT % ("1.2.3", "y")),
        # Both tables set, and the dependency at the same version bumped too.
        (
            "pyproject.toml",
            BOTH_TABLES % ("1.2.3", "1.2.3", "1.2.3"),
            BOTH_TABLES % ("1.2.4", "1.2.4", "1.2.4"),
        ),
        # One table of the two set: they disagree.
        (
            "pyproject.toml",
            BOTH_TABLES % ("1.2.3", "1.2.3", "1.2.3"),
            BOTH_TABLES % ("1.2.4", "1.2.3", "1.2.3"),
        ),
        # A line added after the version.
        ("VERSION", "1.2.3\n", "1.2.4\n# a comment\n"),
        # Only whitespace, outside the version.
        ("package.json", '{"version": "1.2.3"}\n', '{ "version": "1.2.4"}\n'),
        # The version written with an escape is not found as declared.
        ("package.json", '{"version": "1.2.3"}\n', '{"version": "1.2.\\u0034"}\n'),
        # No version to take out on one side.
        ("package.json", '{"version": "1.2.3"}\n', '{"version": 4}\n'),
        ("package.json", '{"version": "1.2.3"}\n', "{not json\n"),
        ("VERSION", "1.2.3\n", "next\n"),
        # Added, deleted, or unreadable on either side.
        ("VERSION", None, "1.2.4\n"),
        ("VERSION", "1.2.3\n", None),
        ("VERSION", UNREADABLE, UNREADABLE),
        ("VERSION", "1.2.3\n", UNREADABLE),
    ],
)
def test_anything_else_changed_or_not_told_is_beyond_the_version(
    path: str, before: FileText, after: FileText
) -> None:
    assert changed_beyond_version(path, before, after)


def test_the_version_set_in_both_tables_among_a_thousand_pins_at_it_is_told_apart() -> None:
    """Each table set, every dependency pinned at the same version left as it is: told as a
    change of the version alone; one pin bumped besides, as more. Two places among a
    thousand are half a million choices: the places are found where the texts differ."""
    pins = "".join(f'"package-{number}==1.2.3", ' for number in range(1000))
    text = (
        '[project]\nversion = "%s"\ndependencies = [' + pins + ']\n[tool.poetry]\nversion = "%s"\n'
    )
    before, after = text % ("1.2.3", "1.2.3"), text % ("1.2.4", "1.2.4")

    assert not changed_beyond_version("pyproject.toml", before, after)
    one_pin_more = after.replace("package-500==1.2.3", "package-500==1.2.4")
    assert changed_beyond_version("pyproject.toml", before, one_pin_more)


def test_files_to_read_default_to_the_four_known_files() -> None:
    assert version_files_to_read(config()) == [
        "VERSION",
        "pyproject.toml",
        "package.json",
        "Cargo.toml",
    ]
    assert version_files_to_read(config("version: {files: [app/VERSION]}")) == ["app/VERSION"]


numbers = st.integers(min_value=0, max_value=10**12)
# Identifiers as SemVer 2.0 allows them: numeric ones without leading zeros.
numeric_identifiers = st.integers(min_value=0, max_value=10**6).map(str)
alphanumeric_identifiers = st.from_regex(r"[0-9]*[A-Za-z-][0-9A-Za-z-]*", fullmatch=True)
# Each suffix at most 100 characters: with three numbers of up to 13 digits, a version stays
# within MAX_VERSION_LENGTH.
prereleases = (
    st.lists(numeric_identifiers | alphanumeric_identifiers, min_size=1)
    .map(".".join)
    .filter(lambda text: len(text) <= 100)
)
builds = st.from_regex(r"[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*", fullmatch=True).filter(
    lambda text: len(text) <= 100
)


@given(numbers, numbers, numbers, st.booleans())
def test_version_text_round_trips(major: int, minor: int, patch: int, v_prefix: bool) -> None:
    text = f"{'v' if v_prefix else ''}{major}.{minor}.{patch}"
    version = parse_version_file("VERSION", text)
    assert version == Version(major, minor, patch)
    assert str(version) == f"{major}.{minor}.{patch}"


@given(numbers, numbers, numbers, st.none() | prereleases, st.none() | builds)
def test_suffixes_parse_and_are_kept_as_written(
    major: int, minor: int, patch: int, prerelease: str | None, build: str | None
) -> None:
    text = f"{major}.{minor}.{patch}"
    text += f"-{prerelease}" if prerelease else ""
    text += f"+{build}" if build else ""
    version = parse_version_file("VERSION", f"v{text}\n")
    assert (version.major, version.minor, version.patch) == (major, minor, patch)
    assert (version.prerelease, version.build) == (prerelease, build)
    assert str(version) == text


@pytest.mark.parametrize(
    ("current", "next_release"),
    [
        ("1.2.3", "1.2.4"),
        ("1.2.3+build.7", "1.2.4"),
        ("0.9.9", "0.9.10"),
        # A pre-release's patch number goes up too: the pre-release part is not read.
        ("1.2.4-rc.1", "1.2.5"),
        ("1.2.4-rc.1+build.7", "1.2.5"),
        ("2.0.0-alpha", "2.0.1"),
    ],
)
def test_next_patch_is_the_next_release(current: str, next_release: str) -> None:
    assert str(next_patch(parse_version_file("VERSION", current))) == next_release


@given(numbers, numbers, numbers, st.none() | prereleases, st.none() | builds)
def test_next_patch_is_above_and_has_no_suffixes(
    major: int, minor: int, patch: int, prerelease: str | None, build: str | None
) -> None:
    current = Version(major, minor, patch, prerelease, build)
    bumped = next_patch(current)
    assert bumped > current
    assert (bumped.prerelease, bumped.build) == (None, None)
    assert (bumped.major, bumped.minor, bumped.patch) == (major, minor, patch + 1)


# --- precedence, as SemVer 2.0 orders versions ------------------------------------------------

SPEC_EXAMPLES = [
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
    "2.0.0",
    "2.1.0",
    "2.1.1",
]


def read(text: str) -> Version:
    version = parse_version(text)
    assert version is not None, text
    return version


def test_the_specs_examples_are_in_ascending_order() -> None:
    for lower, higher in itertools.pairwise(map(read, SPEC_EXAMPLES)):
        assert lower < higher
        assert higher > lower
        assert lower != higher


@given(st.permutations(SPEC_EXAMPLES))
def test_sorting_any_order_of_the_specs_examples_gives_the_specs_order(
    shuffled: list[str],
) -> None:
    assert [str(version) for version in sorted(map(read, shuffled))] == SPEC_EXAMPLES


def spec_precedence(text: str) -> tuple[Any, ...]:
    """SemVer 2.0's precedence rules written as a sort key, apart from the code under test."""
    core, _, prerelease = text.partition("+")[0].partition("-")
    numbers = tuple(int(part) for part in core.split("."))
    if not prerelease:
        return (numbers, 1)  # a release is above all of its pre-releases
    # Numeric identifiers compare as numbers and below alphanumeric ones, which compare in
    # ASCII order; a longer list of identifiers is higher when all before are equal.
    identifiers = tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part) for part in prerelease.split(".")
    )
    return (numbers, 0, identifiers)


# Few distinct parts, so that equal cores and shared identifiers are common.
small_numbers = st.integers(min_value=0, max_value=2) | numbers
small_prereleases = st.lists(
    st.sampled_from(["0", "1", "2", "11", "alpha", "beta", "rc", "rc1", "1a", "-", "Z"])
    | numeric_identifiers
    | alphanumeric_identifiers,
    min_size=1,
    max_size=4,
).map(".".join)
versions = st.builds(
    lambda major, minor, patch, prerelease, build: (
        f"{major}.{minor}.{patch}"
        + (f"-{prerelease}" if prerelease else "")
        + (f"+{build}" if build else "")
    ),
    small_numbers,
    small_numbers,
    small_numbers,
    st.none() | small_prereleases,
    st.none() | builds,
)


def compare(first: Version, second: Version) -> int:
    return (first > second) - (first < second)


@given(versions, versions)
def test_precedence_agrees_with_the_spec(first: str, second: str) -> None:
    key_first, key_second = spec_precedence(first), spec_precedence(second)
    expected = (key_first > key_second) - (key_first < key_second)
    assert compare(read(first), read(second)) == expected


@given(versions, versions)
def test_the_order_is_total_and_antisymmetric(first: str, second: str) -> None:
    a, b = read(first), read(second)
    assert [a < b, a == b, a > b].count(True) == 1
    assert compare(a, b) == -compare(b, a)
    if a <= b and b <= a:
        assert a == b


@given(versions, versions, versions)
def test_the_order_is_transitive(first: str, second: str, third: str) -> None:
    for a, b, c in itertools.permutations([read(first), read(second), read(third)]):
        if a <= b and b <= c:
            assert a <= c
            assert a < c or a == b == c


@given(versions, builds, versions)
def test_build_metadata_does_not_change_precedence(text: str, build: str, other: str) -> None:
    plain = read(text.partition("+")[0])
    with_build = read(f"{plain}+{build}")
    assert with_build == plain
    assert compare(with_build, read(other)) == compare(plain, read(other))
    assert str(with_build) == f"{plain}+{build}"  # yet kept as written


@given(st.text())
def test_any_text_is_a_version_or_a_version_file_error(text: str) -> None:
    for path in ("VERSION", "package.json", "pyproject.toml", "Cargo.toml"):
        with contextlib.suppress(VersionFileError):
            parse_version_file(path, text)


@pytest.mark.parametrize(
    ("tag_format", "tag", "version"),
    [
        ("v{version}", "v1.2.5", Version(1, 2, 5)),
        ("v{version}", "v1.2.4-rc.1+b.5", Version(1, 2, 4, "rc.1", "b.5")),
        ("release/{version}", "release/1.3.0", Version(1, 3, 0)),
        # Names `tag_name` never makes for a version: no version.
        ("v{version}", "vv1.2.5", None),
        ("v{version}", "v 1.2.5", None),
        ("v{version}", "v01.2.5", None),
        ("v{version}", "release-2024", None),
        ("release/{version}", "v1.3.0", None),
    ],
)
def test_a_tag_reads_as_the_version_its_format_named_it_after(
    tag_format: str, tag: str, version: Version | None
) -> None:
    tag_config = config(f'tag: {{format: "{tag_format}"}}')
    assert tag_version(tag_config, tag) == version
    if version is not None:
        assert tag_name(tag_config, str(version)) == tag


@pytest.mark.parametrize(
    ("path", "text", "bumped"),
    [
        ("VERSION", "1.2.3\n", "1.2.4\n"),
        ("VERSION", "v1.2.3\n", "v1.2.4\n"),
        ("VERSION", "1.2.4-rc.1\n", "1.2.5\n"),
        (
            "package.json",
            '{\n  "name": "web",\n  "version": "1.2.3"\n}\n',
            '{\n  "name": "web",\n  "version": "1.2.4"\n}\n',
        ),
        (
            "pyproject.toml",
            '[project]\nname = "api"\nversion = "2.0.9"\n',
            '[project]\nname = "api"\nversion = "2.0.10"\n',
        ),
        (
            "Cargo.toml",
            '[package]\nname = "core"\nversion = "0.3.1"\n',
            '[package]\nname = "core"\nversion = "0.3.2"\n',
        ),
        (  # both tables that hold the version
            "pyproject.toml",
            '[project]\nversion = "2.0.9"\n[tool.poetry]\nversion = "2.0.9"\n',
            '[project]\nversion = "2.0.10"\n[tool.poetry]\nversion = "2.0.10"\n',
        ),
    ],
)
def test_a_patch_bumped_text_is_the_base_text_with_the_next_patch(
    path: str, text: str, bumped: str
) -> None:
    assert patch_bumped_text(path, text) == bumped
    assert not changed_beyond_version(path, text, bumped)


@pytest.mark.parametrize(
    ("path", "text"),
    [
        # The version stands twice: which place a hotfix changes cannot be told.
        ("package.json", '{"version": "1.2.3", "dependencies": {"shared": "1.2.3"}}'),
        ("pyproject.toml", BOTH_TABLES % ("1.2.3", "1.2.3", "1.2.3")),
        ("VERSION", "not a version\n"),
        ("package.json", '{"name": "web"}'),
        ("VERSION", None),
        ("VERSION", UnreadableText("is not UTF-8 text")),
    ],
)
def test_no_patch_bumped_text_where_it_cannot_be_told(path: str, text: FileText) -> None:
    assert patch_bumped_text(path, text) is None


@pytest.mark.parametrize(
    ("path", "locks"),
    [
        ("package.json", ("package-lock.json", "npm-shrinkwrap.json")),
        ("web/package.json", ("web/package-lock.json", "web/npm-shrinkwrap.json")),
        ("Cargo.toml", ("Cargo.lock",)),
        ("crates/api/Cargo.toml", ("crates/api/Cargo.lock", "crates/Cargo.lock", "Cargo.lock")),
        # uv keeps its lockfile beside the project, or at the root of its workspace.
        ("pyproject.toml", ("uv.lock",)),
        ("api/pyproject.toml", ("api/uv.lock", "uv.lock")),
        ("VERSION", ()),
    ],
)
def test_the_lockfiles_that_record_a_version_file_s_version(
    path: str, locks: tuple[str, ...]
) -> None:
    assert lockfiles(path) == locks
