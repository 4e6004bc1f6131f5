"""What every HTML page of hotfix-bot sends."""

from __future__ import annotations

import httpx


def assert_not_framable(page: httpx.Response) -> None:
    """No other site may frame the page (clickjacking), in old browsers and new."""
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
