"""Chat: the incoming webhook of a chat (Slack, Mattermost, a Teams workflow) that notices are
posted to as well, `{"text": ...}` (docs/BEHAVIOUR.md, 'The record and the notices').

Notices hold text people wrote (a pull request's title, a reason, logins), which must not
ping a channel or disguise a link there. hotfix-bot cannot tell the three kinds apart (the
URL of a Mattermost server or a Teams workflow is anyone's), so it sends one text each reads
safely (`chat_text`, docs/BEHAVIOUR.md, 'Chat').

The webhook's URL is its credential (`NOTIFY_WEBHOOK_URL`, a secret): it is never logged nor
put in an error. A message is sent by a timer of its own (`app/handlers/notices.py`), which
the worker retries as it retries GitHub; each attempt is bounded by `timeout`.
"""

from __future__ import annotations

import asyncio
import re
import urllib.request
from dataclasses import dataclass

import httpx
from pydantic import SecretStr

from app.github.client import retry_after_seconds
from app.settings import Settings

CHAT_TIMEOUT = 5.0  # seconds an attempt may take, from connecting to the answer's last byte


# Mattermost pings the whole channel for `@channel`, `@all` or `@here`, in any case, when its
# mention parser finds one as a word: it splits the text at what is not a letter, a digit or
# one of `_.-:@`, trims `_.-:` off a word's ends, and splits again at `.-:`. So a ping is an
# `@` that follows no letter or digit, and a name that no letter or digit follows (past
# underscores).
_CHANNEL_WIDE = re.compile(r"(?<![^\W_])@(?=(?:channel|all|here)(?!_*[^\W_]))", re.IGNORECASE)
# Invisible, and not a letter or digit: Mattermost splits the word there, leaving a bare `@`.
_JOINER = "\u200d"


def chat_text(text: str) -> str:
    """`text` as sent to chat, pinging nobody it does not mention by name:
    - `&`, `<` and `>` as `&amp;`, `&lt;` and `&gt;`: Slack reads `<!channel>`, `<@U123>`
      and `<https://evil|click>` as a channel ping, a mention and a link with other words,
      and asks that these three be escaped so in text; Mattermost turns the same
      `<!channel>` into a ping, and a Teams workflow posts the text as HTML. Slack and
      Teams show the entities as the characters, and so does Mattermost's Markdown outside
      code. hotfix-bot writes none of these forms itself: its links are URLs as they are,
      and Markdown.
    - a zero-width joiner after the `@` of Mattermost's `@channel`, `@all` and `@here`,
      which Slack and Teams read as plain words. A login or a team (`@acme/leads`) is
      left as it is."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _CHANNEL_WIDE.sub("@" + _JOINER, escaped)


class ChatUndelivered(httpx.TransportError):
    """Chat did not take a message: a failure on the way to it, which the worker retries
    with backoff as it does a network error (`app.github.client.classify`), or after `wait`
    seconds when chat named them (`Retry-After`), as it does a GitHub rate limit
    (`app.handlers.routing.transience_of`). Its words never hold the URL."""

    def __init__(self, message: str, wait: float | None = None) -> None:
        super().__init__(message)
        self.wait = wait


@dataclass(frozen=True)
class ChatWebhook:
    url: SecretStr
    timeout: float = CHAT_TIMEOUT

    async def post(self, text: str) -> None:
        """Send `text` (as `chat_text`); ChatUndelivered unless chat answers 2xx within
        `timeout`."""
        request = httpx.Request("POST", self.url.get_secret_value(), json={"text": chat_text(text)})
        # The transport alone, not a client: httpx's client logs every request's URL.
        transport = _transport(request.url)
        try:
            async with asyncio.timeout(self.timeout):
                response = await transport.handle_async_request(request)
                await response.aread()
        except TimeoutError:
            raise ChatUndelivered(f"chat did not answer within {self.timeout:g} s") from None
        except httpx.HTTPError as error:
            raise ChatUndelivered(f"could not reach chat: {type(error).__name__}") from None
        finally:
            await transport.aclose()
        if not response.is_success:
            # Slack and Teams answer a burst with 429 and the seconds to wait.
            wait = retry_after_seconds(response.headers.get("retry-after"))
            asks = f", asking to wait {wait:g} s" if wait is not None else ""
            raise ChatUndelivered(f"chat answered {response.status_code}{asks}", wait)


def _transport(url: httpx.URL) -> httpx.AsyncHTTPTransport:
    """Through the proxy the environment names for `url` (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY,
    less NO_PROXY), as GitHub's requests go: behind a proxy, chat is reached too."""
    proxies = urllib.request.getproxies()
    proxy = proxies.get(url.scheme) or proxies.get("all")
    if proxy is None or urllib.request.proxy_bypass(url.host):
        return httpx.AsyncHTTPTransport()
    # `proxy.corp:3128` is common, and means HTTP, as httpx reads it for GitHub's requests.
    return httpx.AsyncHTTPTransport(proxy=proxy if "://" in proxy else f"http://{proxy}")


def chat_webhook(settings: Settings, timeout: float = CHAT_TIMEOUT) -> ChatWebhook | None:
    """The chat notices go to, when NOTIFY_WEBHOOK_URL is set."""
    url = settings.notify_webhook_url
    return None if url is None else ChatWebhook(url, timeout)
