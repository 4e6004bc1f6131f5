"""Each server's directory for the files behind /metrics, beside a journal others may share."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from stat import S_IMODE

from app.metrics_directory import MetricsDirectory


def test_a_server_removes_the_metrics_of_exited_servers_and_keeps_the_running_ones(
    tmp_path: Path,
) -> None:
    root = tmp_path / "journal.db.metrics"
    own = f"server-{os.getpid()}"
    for name in ("server-1", "server-2", own):  # 1 exited, 2 runs, and this pid's exited one
        (root / name).mkdir(parents=True)
        (root / name / "counter.db").write_bytes(name.encode())
    running = os.open(root / "server-2", os.O_RDONLY)
    fcntl.flock(running, fcntl.LOCK_EX)  # as its server holds it
    try:
        metrics = MetricsDirectory(root)
        try:
            while_running = {path.name: list(path.iterdir()) for path in root.glob("server-*")}
            mode = S_IMODE(metrics.path.stat().st_mode)
        finally:
            metrics.close()
        after = {path.name for path in root.iterdir()}
    finally:
        os.close(running)

    assert metrics.path == root / own
    assert while_running == {"server-2": [root / "server-2" / "counter.db"], own: []}
    assert (root / "server-2" / "counter.db").read_bytes() == b"server-2"
    assert mode == 0o700
    assert after == {"server-2", "setup.lock"}
