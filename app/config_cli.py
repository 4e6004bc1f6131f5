"""`hotfix-bot config validate|show`: a repository's `.github/hotfix.yml`, offline, laid over
its organization's when one is given.

The same model and messages as the `hotfix-policy` check (policies.config), and no settings:
an admin checks a file on a laptop that runs no server.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from policies.config import (
    CONFIG_PATH,
    ConfigError,
    HotfixConfig,
    OrgDefaults,
    config_as_yaml,
    load_config,
    unmatchable_prefix_advice,
)
from policies.files import FileText, decoded, too_large


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    config = commands.add_parser("config", help=f"check or show a {CONFIG_PATH} offline")
    actions = config.add_subparsers(dest="config_command", required=True)
    for name, help_text in (
        ("validate", "check the file as the hotfix-policy check would; exit 1 if it is invalid"),
        ("show", "print the effective configuration, every default filled in"),
    ):
        action = actions.add_parser(name, help=help_text)
        action.add_argument(
            "path",
            nargs="?",
            default=CONFIG_PATH,
            type=Path,
            metavar="PATH",
            help=f"the file (default {CONFIG_PATH})",
        )
        action.add_argument(
            "--default-branch",
            default="main",
            metavar="NAME",
            help="the repository's default branch: the production branch unless the file "
            "names one (default main)",
        )
        action.add_argument(
            "--org-file",
            type=Path,
            metavar="ORG_PATH",
            help=f"the organization's defaults ({CONFIG_PATH} of its .github repository), "
            "which the file is laid over; then PATH may be missing",
        )


class _CannotRead(Exception):
    """A file named on the command line cannot be read; the message says which and why."""


def _read(path: Path, required: bool) -> FileText:
    """The file's text, or why the check run would not read it (too large, not UTF-8); None
    when it does not exist and is not `required`."""
    try:
        with path.open("rb") as file:
            return too_large(os.fstat(file.fileno()).st_size) or decoded(file.read())
    except FileNotFoundError as error:
        if required:
            raise _CannotRead(f"cannot read {path}: {error.strerror}") from None
        return None
    except OSError as error:
        raise _CannotRead(f"cannot read {path}: {error.strerror}") from None


def run(arguments: argparse.Namespace) -> int:
    path: Path = arguments.path
    org_path: Path | None = arguments.org_file
    try:
        org_text = None if org_path is None else _read(org_path, required=True)
        text = _read(path, required=False)
    except _CannotRead as error:
        print(f"hotfix-bot: {error}", file=sys.stderr)
        return 2
    if text is None and org_text is None and arguments.config_command == "validate":
        print(
            f"hotfix-bot: {path} does not exist (a repository without it gets the defaults, "
            "which `hotfix-bot config show` prints)",
            file=sys.stderr,
        )
        return 2
    org = None if org_path is None or org_text is None else OrgDefaults(str(org_path), org_text)
    try:
        config = load_config(text, arguments.default_branch, org)
    except ConfigError as error:
        for problem in error.problems:
            print(f"{error.file or path}: {problem}")
        return 1
    # The files used, in the order they are laid over the defaults, as the check run says.
    used = [str(file) for file, read in ((org_path, org_text), (path, text)) if read is not None]
    beneath = "the organization's file over the defaults" if org else "the defaults"
    if arguments.config_command == "validate":
        if text is None:
            print(
                f"hotfix-bot: {path} does not exist; a repository without it gets {beneath}",
                file=sys.stderr,
            )
        if advice := unmatchable_prefix_advice(config):
            print(f"warning: {advice}")
        verb = "is" if len(used) == 1 else "are"
        print(f"OK: {', then '.join(used)} {verb} valid ({_summary(config)})")
    else:
        if text is None:
            print(f"hotfix-bot: {path} does not exist; these are {beneath}", file=sys.stderr)
        print(f"# Config: {', then '.join(used) or 'the defaults'}")
        print(config_as_yaml(config), end="")
    return 0


def _summary(config: HotfixConfig) -> str:
    hotfix_severities = [
        name for name, policy in config.severities.items() if policy.hotfix_allowed
    ]
    return (
        f"workflow {config.workflow}, production branch {config.branches.production}, "
        f"hotfix severities {', '.join(hotfix_severities) or 'none'}"
    )
