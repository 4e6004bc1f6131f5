#!/usr/bin/env python3
"""The commands of the quickstart; each needs only Python 3.11+ and pip.

    python3 dev.py demo    # rehearse a hotfix against a fake GitHub (`hotfix-bot demo`)
    python3 dev.py serve   # run hotfix-bot (`hotfix-bot serve`)
    python3 dev.py test    # ruff, mypy (strict), the import rules and the whole test suite

Each creates `.venv` on first use and reinstalls into it only when pyproject.toml or a lock
(requirements.lock, requirements-dev.lock) changes.
Any further arguments are passed on (`python3 dev.py test -k intake`).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".hotfix-bot-installed"
# The runtime dependencies at the versions the image ships, the test tools at theirs.
LOCKS = (ROOT / "requirements.lock", ROOT / "requirements-dev.lock")
INSTALLED_FROM = (ROOT / "pyproject.toml", *LOCKS)


def ensure_environment() -> None:
    if sys.version_info < (3, 11):
        sys.exit("hotfix-bot needs Python 3.11 or newer")
    wanted = hashlib.sha256(b"".join(path.read_bytes() for path in INSTALLED_FROM)).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not (BIN / "python").exists():
        print("creating .venv ...", flush=True)
        venv.create(VENV, with_pip=True)
    print("installing hotfix-bot and its test tools into .venv ...", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    # Pinned, so the tests check what runs in production and a new release upstream (a
    # library, a checker) changes nothing until a lock chooses it.
    constraints = [part for lock in LOCKS for part in ("--constraint", str(lock))]
    subprocess.run([*pip, *constraints, "--editable", f"{ROOT}[test]"], check=True)
    STAMP.write_text(wanted)


def run(*command: str) -> int:
    return subprocess.run(command, cwd=ROOT).returncode


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in ("demo", "serve", "test"):
        print(__doc__)
        return 2
    ensure_environment()
    command, extra = sys.argv[1], sys.argv[2:]
    if command in ("demo", "serve"):
        # Replace this process, so a stop signal reaches hotfix-bot itself.
        executable = str(BIN / "hotfix-bot")
        os.execv(executable, [executable, command, *extra])  # noqa: S606
    checks = [
        (str(BIN / "ruff"), "check", "."),
        (str(BIN / "ruff"), "format", "--check", "."),
        (str(BIN / "mypy"),),
        (str(BIN / "lint-imports"),),
    ]
    for check in checks:
        if (code := run(*check)) != 0:
            return code
    return run(str(BIN / "python"), "-m", "pytest", *extra)


if __name__ == "__main__":
    sys.exit(main())
