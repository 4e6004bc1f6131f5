"""Setting variables in a `.env` file: other lines kept, owner-only permissions, atomic."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

_ASSIGNMENT = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=")


def update_env_file(path: Path, values: Mapping[str, str]) -> None:
    """Set `values` in the dotenv file at `path` (created if missing), mode 0600.

    A name already assigned keeps its place; names not yet there are appended. Values are
    written unquoted on one line, newlines as `\\n` escapes, which python-dotenv, Docker's
    `--env-file` and `fly secrets import` all read the same way.
    """
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    pending = dict(values)
    kept: list[str] = []
    for line in lines:
        assigned = _ASSIGNMENT.match(line)
        name = assigned.group(1) if assigned else None
        if name not in values:
            kept.append(line)
        elif name in pending:  # a second assignment of the same name is dropped
            kept.append(_assignment(name, pending.pop(name)))
    kept += [_assignment(name, value) for name, value in pending.items()]

    # Written beside the file and renamed over it, so a crash never leaves half a .env, and
    # created 0600, so the secrets are never readable by others, not even for a moment.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write("\n".join(kept) + "\n")
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o600)  # in case the file was left by an earlier, failed attempt
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _assignment(name: str, value: str) -> str:
    one_line = value.strip().replace("\r\n", "\n").replace("\n", "\\n")
    return f"{name}={one_line}"
