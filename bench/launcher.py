"""Run a benchmark in the project's .venv, creating it first the way `dev.py` does."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def exec_in_venv(script: str) -> None:
    """Replace this process with `.venv/bin/python bench/<script>`, passing the arguments on."""
    sys.path.insert(0, str(ROOT))
    import dev

    dev.ensure_environment()
    python = str(dev.BIN / "python")
    # This tree's code first, ahead of the tree the .venv was installed from (a worktree's
    # .venv may be another checkout's).
    os.environ["PYTHONPATH"] = os.pathsep.join(
        path for path in (str(ROOT), os.environ.get("PYTHONPATH")) if path
    )
    # The project's own interpreter and script: no shell, nothing from outside.
    os.execv(python, [python, str(ROOT / "bench" / script), *sys.argv[1:]])  # noqa: S606
