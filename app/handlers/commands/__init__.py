"""Comment commands: `/hotfix ...` on a pull request (docs/BEHAVIOUR.md, 'Comment commands').

Adding a command: a module here defining `COMMAND` (see `command.py`), and one line below.
`dispatch.py` reads each comment against these and answers it.
"""

from typing import Any

from app.handlers.commands import break_glass, confirm, verbal_approval
from app.handlers.commands.command import Command

COMMANDS: tuple[Command[Any], ...] = (
    verbal_approval.COMMAND,
    break_glass.COMMAND,
    confirm.COMMAND,
)
