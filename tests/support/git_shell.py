"""Shell commands run as people paste them: by `sh`, with real git, git keeping its settings
in a home of the test's own and committing as one author."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path


def run_in_shell(
    script: str, directory: Path, home: Path, environment: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`script` run by `sh` in `directory`; `environment` adds to the process's own."""
    return subprocess.run(
        ["sh", "-c", script],
        cwd=directory,
        env={
            **os.environ,
            "HOME": str(home),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "Dev",
            "GIT_AUTHOR_EMAIL": "dev@example.com",
            "GIT_COMMITTER_NAME": "Dev",
            "GIT_COMMITTER_EMAIL": "dev@example.com",
            **(environment or {}),
        },
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=25,
    )
