"""After a hotfix merges into production: the post-merge steps and their report.

`handler` runs them for a merged pull request, `push` for a hotfix pushed to the trunk;
`steps` holds one module per step and the lists that order them.
"""

from app.handlers.release import push
from app.handlers.release.handler import (
    PULL_REQUEST_ACTIONS,
    RESUME,
    merged,
    on_pull_request_closed,
    on_rerequest,
    on_resume,
)

__all__ = [
    "PULL_REQUEST_ACTIONS",
    "RESUME",
    "merged",
    "on_pull_request_closed",
    "on_rerequest",
    "on_resume",
    "push",
]
