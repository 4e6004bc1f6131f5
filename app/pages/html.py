"""The few HTML pages hotfix-bot serves (setup and status): one layout, escaped text, and
how their cookies are set."""

from __future__ import annotations

from html import escape
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import HTMLResponse

_STYLE = """
body { font: 16px/1.5 system-ui, sans-serif; color: #1f2328; background: #f6f8fa; margin: 0; }
main { max-width: 46rem; margin: 2.5rem auto; padding: 2rem 2.5rem; background: #fff;
       border: 1px solid #d0d7de; border-radius: 8px; }
h1 { font-size: 1.6rem; margin-top: 0; }
h2 { font-size: 1.15rem; margin-top: 1.8rem; }
code { font: 0.9em ui-monospace, monospace; background: #eff1f3; padding: 0.1em 0.3em;
       border-radius: 4px; overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 0.3rem 0.6rem; border-bottom: 1px solid #d0d7de; }
label { display: block; font-weight: 600; margin: 1rem 0 0.3rem; }
input[type=text] { font: inherit; padding: 0.4rem 0.6rem; width: 18rem;
                   border: 1px solid #d0d7de; border-radius: 6px; }
.hint { color: #59636e; font-size: 0.9rem; margin: 0.3rem 0; }
.button { display: inline-block; margin-top: 1.2rem; font: inherit; font-weight: 600;
          color: #fff; background: #1f883d; border: 0; border-radius: 6px;
          padding: 0.55rem 1.1rem; cursor: pointer; text-decoration: none; }
.problem { border-left: 4px solid #cf222e; padding-left: 1rem; }
"""


def html_page(
    title: str, body: str, status_code: int = 200, headers: dict[str, str] | None = None
) -> HTMLResponse:
    """A whole page around `body` (HTML the caller has escaped); never cached.

    The setup pages carry single-use values and the status page changes by the second, so
    neither browsers nor proxies should keep a copy. (No other site may frame them: every
    answer says so, app.intake.server.)
    """
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · hotfix-bot</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )
    headers = {
        "cache-control": "no-store",
        "referrer-policy": "no-referrer",
        **(headers or {}),
    }
    return HTMLResponse(document, status_code, headers=headers)


def problem_page(
    title: str, explanation: str, status_code: int, headers: dict[str, str] | None = None
) -> HTMLResponse:
    """A page saying what went wrong (`explanation` is plain text) and where to go next."""
    body = (
        f'<h1>{escape(title)}</h1><div class="problem"><p>{escape(explanation)}</p></div>'
        '<p><a href="/">Back to hotfix-bot</a></p>'
    )
    return html_page(title, body, status_code, headers)


def cookie_attributes(
    request: Request, path: str, same_site: Literal["Strict", "Lax"]
) -> dict[str, Any]:
    """How a page sets (or deletes) a cookie of hotfix-bot's, as keyword arguments of
    `Response.set_cookie`: sent to `path` only, `Secure` when the page came over https,
    `HttpOnly`, and `SameSite` spelled as docs/ADMIN.md writes it. Starlette writes the value
    it is given but types only the lower-case spelling, hence the mapping."""
    return {
        "path": path,
        "secure": request.url.scheme == "https",
        "httponly": True,
        "samesite": same_site,
    }
