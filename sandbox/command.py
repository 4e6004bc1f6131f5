"""`hotfix-bot demo`: a command the sandbox adds to the service's CLI.

The service never imports the sandbox; `pyproject.toml` registers this module under the
`hotfix_bot.commands` entry point, and `app.cli` adds what it finds there.
"""

import argparse

from sandbox.scenarios import SCENARIOS

NAME = "demo"


def add_parser(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = commands.add_parser(
        NAME, help="rehearse a hotfix against a fake GitHub on this machine"
    )
    parser.add_argument(
        "--scenario",
        choices=tuple(SCENARIOS),
        default="quickstart",
        help=(
            "version-conflict: develop has its own VERSION, and the back-merge keeps it; "
            "p0: an incident's hotfix, with its escalation, a verbal approval and the "
            "reminder to confirm it; rollback: the quickstart's hotfix reverted with GitHub's "
            "Revert button and the rollback released as the next patch. Each ends with the "
            "incident report issue"
        ),
    )


def run(arguments: argparse.Namespace) -> int:
    from sandbox import demo  # imported on use: it brings the fake GitHub along

    return demo.run(arguments.scenario)  # builds its own settings: reads no .env
