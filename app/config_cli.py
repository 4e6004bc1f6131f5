"""`hotfix-bot config validate|show`: a repository's `.github/hotfix.yml`, offline.

The same model and messages as the `hotfix-policy` check (policies.config), and no settings:
an admin checks a file on a laptop that runs no server.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from policies.config import CONFIG_PATH, ConfigError, HotfixConfig, config_as_yaml, load_config


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


def run(arguments: argparse.Namespace) -> int:
    path: Path = arguments.path
    try:
        text: str | None = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = None
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        print(f"hotfix-bot: cannot read {path}: {reason}", file=sys.stderr)
        return 2
    if text is None and arguments.config_command == "validate":
        print(
            f"hotfix-bot: {path} does not exist (a repository without it gets the defaults, "
            "which `hotfix-bot config show` prints)",
            file=sys.stderr,
        )
        return 2
    try:
        config = load_config(text, arguments.default_branch)
    except ConfigError as error:
        for problem in error.problems:
            print(f"{path}: {problem}")
        return 1
    if arguments.config_command == "validate":
        print(f"OK: {path} is valid ({_summary(config)})")
    else:
        if text is None:
            print(f"hotfix-bot: {path} does not exist; these are the defaults", file=sys.stderr)
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
