"""After a hotfix merges into production: the post-merge steps and their report.

`handler` runs them; `steps` holds one module per step and the list that orders them.
"""

from app.handlers.release.handler import (
    PULL_REQUEST_ACTIONS,
    merged,
    on_pull_request_closed,
    on_rerequest,
)

__all__ = ["PULL_REQUEST_ACTIONS", "merged", "on_pull_request_closed", "on_rerequest"]
