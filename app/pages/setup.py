"""Setup mode: register the GitHub App from `app.yml` with GitHub's manifest flow.

1. `GET /` (no credentials yet) shows a form that posts the manifest, with this server's
   own URLs filled in, to GitHub's new-App page for a personal account or an organization,
   carrying a `state` that this server signed, which the browser also keeps in a cookie.
2. Once the App exists, GitHub redirects to `/setup/callback?code=...&state=...`. Only the
   browser that holds the state's cookie gets further: the code is exchanged for the App's
   credentials (`POST /app-manifests/{code}/conversions`), they are written to `.env`
   (mode 0600) and the running server switches to configured. Those the environment sets
   too are replaced there, and named: the environment wins over `.env` at the next start.

No page shows a secret, and neither the code nor a credential is logged.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import httpx
import yaml
from pydantic import SecretStr
from starlette.requests import Request
from starlette.responses import Response

from app.env_file import update_env_file
from app.github.client import TIMEOUTS, USER_AGENT, MeteredTransport
from app.pages.html import cookie_attributes, html_page, problem_page
from policies.wording import join_words

if TYPE_CHECKING:
    from app.services import Services

log = logging.getLogger("hotfix_bot.setup")

MANIFEST_FILE = "app.yml"
CALLBACK_PATH = "/setup/callback"
# GitHub's manifest codes last an hour; a setup page left open longer starts again.
STATE_LIFETIME = 3600
STATE_COOKIE = "hotfix-bot-setup"


class ManifestError(Exception):
    """`app.yml` is missing or is not a mapping."""


def manifest_path() -> Path:
    """`app.yml` in the working directory (as in Probot), else the one packaged with the
    code: the repository's own app.yml, which a clone, an editable install and a wheel all
    have in this package."""
    candidates = [Path.cwd() / MANIFEST_FILE, Path(__file__).parents[1] / MANIFEST_FILE]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ManifestError(f"no {MANIFEST_FILE} in {' or '.join(str(c.parent) for c in candidates)}")


def load_manifest(path: Path) -> dict[str, Any]:
    manifest = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(manifest, dict):
        raise ManifestError(f"{path} is not a GitHub App manifest (a mapping of settings)")
    return manifest


def manifest_for_server(
    manifest: dict[str, Any], base_url: str, webhook_path: str
) -> dict[str, Any]:
    """The manifest with this server as the App's homepage, webhook and redirect target."""
    hook = {**manifest.get("hook_attributes", {}), "url": f"{base_url}{webhook_path}"}
    return {
        **manifest,
        "url": f"{base_url}/",
        "hook_attributes": hook,
        "redirect_url": f"{base_url}{CALLBACK_PATH}",
    }


def github_web_url(api_url: str) -> str:
    """GitHub's web address for a REST base URL.

    `https://api.github.com` -> `https://github.com`; GitHub Enterprise Server's
    `https://HOST/api/v3` -> `https://HOST`; GHE.com's `https://api.SUB.ghe.com` ->
    `https://SUB.ghe.com`; anything else (a local fake) is its own web host.
    """
    parts = urlsplit(api_url)
    if parts.path.rstrip("/").endswith("/api/v3"):
        return f"{parts.scheme}://{parts.netloc}"  # its host is the web host, `api.` or not
    host = parts.netloc.removeprefix("api.")
    return f"{parts.scheme}://{host}"


def registration_urls(web_url: str, state: str) -> tuple[str, str]:
    """Where the form posts: a personal account's new-App page, and an organization's."""
    query = f"?state={quote(state)}"
    return (
        f"{web_url}/settings/apps/new{query}",
        f"{web_url}/organizations/{{organization}}/settings/apps/new{query}",
    )


class SetupStates:
    """`state` values signed by this server, each valid for STATE_LIFETIME seconds.

    Nothing is kept per state, so however often anyone loads the setup page, no browser's
    state is crowded out. The key lives in memory: after a restart, start again.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._key = secrets.token_bytes(32)
        self._clock = clock

    def issue(self) -> str:
        # The random part keeps two browsers' states apart even within one second.
        unsigned = f"{int(self._clock()) + STATE_LIFETIME}.{secrets.token_urlsafe(16)}"
        return f"{unsigned}.{self._sign(unsigned)}"

    def valid(self, state: str) -> bool:
        """Whether `state` was issued here and has not expired."""
        unsigned, _, signature = state.rpartition(".")
        # The expiry is read only once the signature shows it is one that issue() wrote.
        signed = hmac.compare_digest(signature.encode(), self._sign(unsigned).encode())
        return signed and int(unsigned.partition(".")[0]) > self._clock()

    def _sign(self, unsigned: str) -> str:
        return hmac.new(self._key, unsigned.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class RegisteredApp:
    """GitHub's answer to the conversion: the App, and its credentials (never shown)."""

    id: int
    name: str
    html_url: str
    pem: str = field(repr=False)
    # GitHub's description lets the conversion leave these out (null, or absent).
    webhook_secret: str | None = field(repr=False)
    client_id: str | None = field(repr=False)
    client_secret: str = field(repr=False)

    @property
    def install_url(self) -> str:
        return f"{self.html_url}/installations/new"

    def settings_values(self) -> dict[str, str]:
        """The variables of these credentials that hotfix-bot's settings read."""
        values = {"APP_ID": str(self.id), "PRIVATE_KEY": self.pem}
        if self.webhook_secret is not None:
            values["WEBHOOK_SECRET"] = self.webhook_secret
        return values

    def env_values(self) -> dict[str, str]:
        values = {**self.settings_values(), "GITHUB_CLIENT_SECRET": self.client_secret}
        if self.client_id is not None:
            values["GITHUB_CLIENT_ID"] = self.client_id
        return values


DELIVERIES_REFUSED = (
    "GitHub gave no webhook secret, so every delivery is refused: set one in the App's "
    "settings, {settings_url}, and give it to hotfix-bot as WEBHOOK_SECRET"
)


class ConversionFailed(Exception):
    """GitHub did not hand over the App's credentials; the message is safe to show."""


async def convert_code(
    api_url: str, code: str, transport: httpx.AsyncBaseTransport | None = None
) -> RegisteredApp:
    """Exchange the code GitHub redirected with for the new App's credentials (no auth)."""
    # MeteredTransport never closes the transport it wraps, which the caller may share.
    metered = MeteredTransport(transport) if transport is not None else None
    headers = {"accept": "application/vnd.github+json", "user-agent": USER_AGENT}
    async with httpx.AsyncClient(
        transport=metered, timeout=TIMEOUTS.per_part, headers=headers
    ) as client:
        try:
            response = await client.post(
                f"{api_url}/app-manifests/{quote(code, safe='')}/conversions"
            )
        except httpx.HTTPError as error:
            raise ConversionFailed(
                f"could not reach GitHub at {api_url} ({type(error).__name__})"
            ) from None
    if response.status_code != 201:
        raise ConversionFailed(
            f"GitHub answered {response.status_code} ({_message(response)}). A code works "
            "once and for an hour: register the App again from the setup page."
            + _registration_hint(api_url, response.headers)
        )
    body = response.json()
    return RegisteredApp(
        id=int(body["id"]),
        name=str(body["name"]),
        html_url=str(body["html_url"]),
        pem=str(body["pem"]),
        webhook_secret=_text_or_none(body.get("webhook_secret")),
        client_id=_text_or_none(body.get("client_id")),
        client_secret=str(body["client_secret"]),
    )


def enterprise_api_hint(api_url: str, answer: httpx.Headers) -> str | None:
    """What GITHUB_API_URL must be when it names no API but a web host, as a GitHub
    Enterprise Server's address without `/api/v3` does: its web pages answer in the API's
    place, knowing none of its paths, with a page rather than the API's JSON (`answer`: the
    headers of that answer). None for an API's address, or an answer in JSON (an API at
    the root of a host, a proxy's, said what it did not know)."""
    if github_web_url(api_url) != api_url:  # api.github.com, HOST/api/v3, api.SUB.ghe.com
        return None
    if "json" in answer.get("content-type", ""):
        return None
    return (
        f"If {api_url} is a GitHub Enterprise Server, GITHUB_API_URL must be its API, "
        f"{api_url}/api/v3"
    )


def _registration_hint(api_url: str, answer: httpx.Headers) -> str:
    """The App was created on the web host all the same, and registering again alone would
    fail again: the way out when GITHUB_API_URL names no API."""
    hint = enterprise_api_hint(api_url, answer)
    if hint is None:
        return ""
    return (
        f" {hint}: set it and restart hotfix-bot before registering again, and delete the App "
        "just created there, which has no credentials here."
    )


def _text_or_none(value: object) -> str | None:
    """A credential GitHub may leave out: None rather than the text "None", which would
    become a secret anyone can guess."""
    return value if isinstance(value, str) and value else None


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase
    message = body.get("message") if isinstance(body, dict) else None
    return message if isinstance(message, str) else response.reason_phrase


class SetupFlow:
    """The two setup routes, bound to the running server's services."""

    def __init__(self, services: Services, env_file: Path = Path(".env")) -> None:
        self._services = services
        self._env_file = env_file
        self._states = SetupStates()
        # One conversion at a time: a second callback finds the server configured.
        self._lock = asyncio.Lock()

    async def page(self, request: Request) -> Response:
        """`GET /` in setup mode: the registration form."""
        try:
            manifest = load_manifest(manifest_path())
        except (ManifestError, OSError, yaml.YAMLError) as error:
            return problem_page("The App manifest cannot be read", str(error), 500)
        base_url = str(request.base_url).rstrip("/")
        settings = self._services.settings
        filled = manifest_for_server(manifest, base_url, settings.webhook_path)
        web_url = github_web_url(settings.github_api_url)
        state = self._states.issue()
        personal, organization = registration_urls(web_url, state)
        page = html_page("Set up", _registration_body(filled, web_url, personal, organization))
        page.set_cookie(STATE_COOKIE, state, max_age=STATE_LIFETIME, **_state_cookie(request))
        return page

    async def callback(self, request: Request) -> Response:
        """`GET /setup/callback`: where GitHub sends the browser once the App exists."""
        code = request.query_params.get("code", "")
        state = request.query_params.get("state", "")
        async with self._lock:
            if self._services.github is not None:
                return problem_page(
                    "hotfix-bot is already set up",
                    "This server already has a GitHub App; this link changes nothing.",
                    409,
                )
            if not code or not self._states.valid(state):
                return problem_page(
                    "This setup link is not valid",
                    "It is missing its code or its state, or the state was not issued by this "
                    "server (or before it restarted) or expired. Start again from the setup page.",
                    400,
                )
            held = request.cookies.get(STATE_COOKIE, "")
            if not hmac.compare_digest(held.encode(), state.encode()):
                return problem_page(
                    "This setup link is not for this browser",
                    "The registration was started from the setup page in another browser, or "
                    "this browser loaded the setup page again since, or it no longer holds the "
                    "cookie that page gave it (used already, expired, or cookies blocked). "
                    "Open the setup page in this browser and register again.",
                    403,
                )
            answer = await self._register(code)
        # The state is spent: this browser cannot follow the same link again.
        answer.delete_cookie(STATE_COOKIE, **_state_cookie(request))
        return answer

    async def _register(self, code: str) -> Response:
        """Exchange the code for the App's credentials, save them and switch to configured."""
        try:
            app = await convert_code(
                self._services.settings.github_api_url, code, self._services.transport
            )
        except ConversionFailed as error:
            return problem_page("GitHub did not hand over the App", str(error), 502)
        try:
            update_env_file(self._env_file, app.env_values())
        except OSError as error:
            return problem_page(
                "The credentials could not be saved",
                f"GitHub created the App {app.name}, but {self._env_file} could not be "
                f"written ({error.strerror}). Generate a private key and set a webhook "
                f"secret on the App's settings page, {app.html_url}, and give them to "
                "hotfix-bot as APP_ID, PRIVATE_KEY and WEBHOOK_SECRET.",
                500,
            )
        overridden = _take_over_environment(app.settings_values())
        self._services.configure(
            self._services.settings.model_copy(
                update={
                    "app_id": app.id,
                    "private_key": SecretStr(app.pem),
                    "private_key_path": None,
                    "webhook_secret": (
                        None if app.webhook_secret is None else SecretStr(app.webhook_secret)
                    ),
                }
            )
        )
        log.info("registered as GitHub App %s (id %d); credentials saved to .env", app.name, app.id)
        if overridden:
            log.warning("%s", _environment_warning(overridden))
        if app.webhook_secret is None:
            log.warning("%s", DELIVERIES_REFUSED.format(settings_url=app.html_url))
        return html_page("Registered", _registered_body(app, self._env_file, overridden))


def _take_over_environment(values: dict[str, str]) -> list[str]:
    """Set those of `values` that this process's environment sets already (a blank one counts
    as unset, as in the settings) to their new values there, where they win over .env: the
    processes the server starts from now on inherit them. Returns their names."""
    overridden = [name for name in values if os.environ.get(name)]
    for name in overridden:
        os.environ[name] = values[name]
    return overridden


def _environment_warning(names: list[str]) -> str:
    """What the environment does to the new values at the next start: names, no values."""
    one = len(names) == 1
    subject = f"{join_words(names)} {'is' if one else 'are'}"
    them, values = ("it", "the new value") if one else ("them", "the new values")
    return (
        f"{subject} also set in the environment, which overrides .env at the next start: "
        f"remove {them} there, or set {them} there to {values} from .env"
    )


def _registration_body(
    manifest: dict[str, Any], web_url: str, personal_action: str, organization_action: str
) -> str:
    permissions = "".join(
        f"<tr><td><code>{escape(str(name))}</code></td><td>{escape(str(access))}</td></tr>"
        for name, access in manifest.get("default_permissions", {}).items()
    )
    events = ", ".join(f"<code>{escape(str(event))}</code>" for event in manifest["default_events"])
    webhook_url = manifest["hook_attributes"]["url"]
    return f"""
<h1>Set up hotfix-bot</h1>
<p>hotfix-bot is running but has no GitHub App yet. Register one from <code>app.yml</code>:
GitHub shows you the App before creating it, then sends you back here. The App's
credentials are saved to <code>.env</code> in the server's working directory, readable by
its owner only, and the server starts receiving deliveries at once, without a restart.</p>

<h2>What GitHub will be asked for</h2>
<table>
<tr><th>Permission</th><th>Access</th></tr>
{permissions}
</table>
<p>Events: {events}</p>
<p>Deliveries go to <code>{escape(webhook_url)}</code>. GitHub must be able to reach that
address; behind a proxy that ends TLS, set <code>FORWARDED_ALLOW_IPS</code> so that it reads
as <code>https://</code> here.</p>
{_loopback_warning(webhook_url)}

<h2>Register the App</h2>
<form id="register" method="post" action="{escape(personal_action)}"
      data-personal-action="{escape(personal_action)}"
      data-organization-action="{escape(organization_action)}">
<input type="hidden" name="manifest" value="{escape(json.dumps(manifest))}">
<label for="organization">Organization (optional)</label>
<input type="text" id="organization" placeholder="your personal account" autocomplete="off">
<p class="hint">Leave it empty to own the App yourself, or name an organization you
administer on <code>{escape(web_url)}</code>.</p>
<button class="button" type="submit">Register hotfix-bot on GitHub</button>
</form>
<script>
const form = document.getElementById("register");
document.getElementById("organization").addEventListener("input", (event) => {{
  const organization = event.target.value.trim();
  form.action = organization
    ? form.dataset.organizationAction.replace("{{organization}}", encodeURIComponent(organization))
    : form.dataset.personalAction;
}});
</script>
"""


def _loopback_warning(webhook_url: str) -> str:
    host = urlsplit(webhook_url).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name
        loopback = False
    if not loopback:
        return ""
    return (
        '<div class="problem"><p>This is a loopback address, which GitHub cannot reach. '
        "Open this page through the server's public address (or a tunnel to it) before "
        "registering, or change the webhook URL in the App's settings afterwards.</p></div>"
    )


def _registered_body(app: RegisteredApp, env_file: Path, overridden: list[str]) -> str:
    warnings = [_environment_warning(overridden)] if overridden else []
    if app.webhook_secret is None:
        warnings.append(DELIVERIES_REFUSED.format(settings_url=app.html_url))
    warning = "".join(f'<div class="problem"><p>{escape(text)}.</p></div>' for text in warnings)
    receives = "now receives" if app.webhook_secret is not None else "is ready for"
    return f"""
<h1>hotfix-bot is registered</h1>
<p>GitHub created the App <strong>{escape(app.name)}</strong> (id {app.id}). Its
credentials are saved in <code>{escape(str(env_file))}</code> (mode 0600) and this server
{receives} its deliveries.</p>
{warning}
<a class="button" href="{escape(app.install_url)}">Install {escape(app.name)}</a>
<h2>Next</h2>
<ol>
<li>Install the App on the repositories it should watch.</li>
<li>Make <code>hotfix-policy</code> a required status check on the production branch.</li>
<li>Optionally add <code>.github/hotfix.yml</code>; check it with
<code>hotfix-bot config validate</code>.</li>
</ol>
<p><a href="/">Status page</a></p>
"""


def _state_cookie(request: Request) -> dict[str, Any]:
    """Where the state cookie is sent, and how. Lax, not Strict: the callback is GitHub's
    redirect, a navigation from another site."""
    return cookie_attributes(request, CALLBACK_PATH, "Lax")
