"""The fake GitHub: its state, the setup helpers tests use, and the ASGI request pipeline."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import re
import secrets
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from sandbox import events, shapes
from sandbox.api import ApiError, Call, Reply, Route, not_found
from sandbox.endpoints import ROUTES
from sandbox.git import Author
from sandbox.models import (
    FakeApp,
    FakeInstallation,
    FakeManifestCode,
    FakeMergeGroup,
    FakeTeam,
    FakeToken,
    InjectedFault,
    RecordedRequest,
    Violation,
)
from sandbox.repo import FakeRepo

RequestValidator = Callable[[str, str, dict[str, str], Any], list[str]]

RATE_LIMIT = 5000
TOKEN_LIFETIME = timedelta(hours=1)
JWT_MAX_LIFETIME = 600
CLOCK_SKEW = 60
DEFAULT_PERMISSIONS = {
    "checks": "write",
    "contents": "write",
    "issues": "write",
    "metadata": "read",
    "members": "read",
    "merge_queues": "read",
    "pull_requests": "write",
}


def new_private_key_pem() -> str:
    """A fresh RSA 2048 key in PEM, as GitHub hands an App (about 0.1 s to make)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


class FakeGitHub:
    """GitHub's REST API over plain Python state; ``asgi`` is the app to serve."""

    def __init__(self, request_validator: RequestValidator | None = None) -> None:
        self.request_validator = request_validator
        self.lock = threading.RLock()
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        # Set by serve_fake; used in the URLs of JSON bodies and Link headers.
        self.api_url = "https://api.github.com"
        # Set by serve_fake under a path prefix: GitHub Enterprise Server's web host is the
        # API's host. Used in the `html_url`s of JSON bodies.
        self.web_url = shapes.GITHUB_WEB_URL
        self.apps: dict[int, FakeApp] = {}
        self.installations: dict[int, FakeInstallation] = {}
        self.tokens: dict[str, FakeToken] = {}
        self.tokens_minted: dict[int, int] = {}
        self.repos: dict[str, FakeRepo] = {}
        self.teams: dict[tuple[str, str], FakeTeam] = {}
        # Casefolded logins of the accounts that are people, not organizations (no teams).
        self.personal_accounts: set[str] = set()
        # Casefolded logins of the accounts deleted: see `delete_account`.
        self.deleted_accounts: set[str] = set()
        self.manifest_codes: dict[str, FakeManifestCode] = {}
        self.requests: list[RecordedRequest] = []
        self.violations: list[Violation] = []
        self.faults: list[InjectedFault] = []
        self.latency = 0.0
        # Real GitHub refuses a merges-API write to a protected branch with 409 (required
        # checks or reviews) or 403 (push restrictions); tests can switch to either.
        self.protected_merge_status = 409
        self.rate_limit_used: dict[str, int] = {}
        self.rate_limit_reset = int(time.time()) + 3600
        self.stopping = threading.Event()
        self._ids = itertools.count(1000)
        self._user_ids: dict[str, int] = {}

    # --- helpers the repositories and shapes use -----------------------------------------

    def now(self) -> datetime:
        return self.clock()

    @property
    def web_host(self) -> str:
        """The web host and any port, as git's `git@HOST:` and `git://HOST/` URLs name it."""
        return urlsplit(self.web_url).netloc

    def next_id(self) -> int:
        return next(self._ids)

    def user_id(self, login: str) -> int:
        """A stable numeric id per login (GitHub's ``user.id``)."""
        with self.lock:
            return self._user_ids.setdefault(login, self.next_id())

    def is_personal(self, login: str) -> bool:
        """Whether `login` is a person's account rather than an organization."""
        return login.casefold() in self.personal_accounts

    def is_deleted(self, login: str) -> bool:
        return login.casefold() in self.deleted_accounts

    def find_repo(self, owner: str, name: str) -> FakeRepo | None:
        return self.repos.get(f"{owner}/{name}".lower())

    def repo(self, full_name: str) -> FakeRepo:
        return self.repos[full_name.lower()]

    # --- setup ---------------------------------------------------------------------------

    def create_app(
        self, slug: str = "hotfix-bot", name: str = "hotfix-bot", private_key_pem: str | None = None
    ) -> FakeApp:
        """Register an App with a fresh RSA 2048 key, or the given PEM (saves ~0.1 s per app)."""
        if private_key_pem is None:
            private_key_pem = new_private_key_pem()
        # Skipping the (slow) RSA consistency check is fine: the key only signs test JWTs.
        key = serialization.load_pem_private_key(
            private_key_pem.encode(), None, unsafe_skip_rsa_key_validation=True
        )
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("a GitHub App key must be an RSA private key")
        with self.lock:
            fake_app = FakeApp(self.next_id(), slug, name, private_key_pem, key.public_key())
            self.apps[fake_app.id] = fake_app
        return fake_app

    def register_manifest_code(
        self, name: str = "hotfix-bot", private_key_pem: str | None = None
    ) -> FakeManifestCode:
        """An App registered from a manifest, as if someone had just confirmed it on GitHub.

        Its credentials are handed over once, by `POST /app-manifests/{code}/conversions`
        with the returned `code`; the App exists already, so its JWTs verify afterwards.
        """
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        fake_app = self.create_app(slug, name, private_key_pem)
        registration = FakeManifestCode(
            code=secrets.token_hex(10),
            app=fake_app,
            webhook_secret=secrets.token_hex(20),
            client_id=f"Iv1.{secrets.token_hex(8)}",
            client_secret=secrets.token_hex(20),
        )
        with self.lock:
            self.manifest_codes[registration.code] = registration
        return registration

    def add_installation(
        self,
        app_id: int,
        account: str = "acme",
        permissions: Mapping[str, str] | None = None,
        *,
        personal: bool = False,
    ) -> int:
        """An installation on the organization `account`, or with `personal` on a person's
        account, which has no teams."""
        with self.lock:
            if personal:
                self.personal_accounts.add(account.casefold())
            installation = FakeInstallation(
                self.next_id(), app_id, account, dict(permissions or DEFAULT_PERMISSIONS)
            )
            self.installations[installation.id] = installation
            self.tokens_minted[installation.id] = 0
        return installation.id

    def suspend_installation(self, installation_id: int) -> None:
        """Its owner suspends the installation: GitHub mints no token for it (`403`, "This
        installation has been suspended") and those it minted no longer work."""
        with self.lock:
            self.installations[installation_id].suspended_at = self.now()
            self._revoke_tokens(installation_id)

    def unsuspend_installation(self, installation_id: int) -> None:
        with self.lock:
            self.installations[installation_id].suspended_at = None

    def reinstall(self, installation_id: int) -> int:
        """The App uninstalled from the installation's account and installed there again:
        a new installation, of a new id, covers the same repositories; the old id is
        unknown from now on (`404`), and its tokens no longer work."""
        with self.lock:
            old = self.installations.pop(installation_id)
            self._revoke_tokens(installation_id)
            new_id = self.add_installation(old.app_id, old.account, old.permissions)
            for repo in self.repos.values():
                if repo.installation_id == installation_id:
                    repo.installation_id = new_id
        return new_id

    def _revoke_tokens(self, installation_id: int) -> None:
        for token in [t for t in self.tokens.values() if t.installation_id == installation_id]:
            del self.tokens[token.token]

    def add_repo(
        self,
        full_name: str,
        installation_id: int,
        default_branch: str = "main",
        files: Mapping[str, str] | None = None,
    ) -> FakeRepo:
        owner, name = full_name.split("/")
        with self.lock:
            repo = FakeRepo(self, self.next_id(), owner, name, installation_id, default_branch)
            initial = repo.objects.make_commit(
                dict(files or {"README.md": f"# {name}\n"}),
                (),
                "Initial commit",
                Author.for_login(owner),
                self.now(),
            )
            repo.set_branch(default_branch, initial.sha)
            self.repos[full_name.lower()] = repo
        return repo

    def rename_repo(
        self, repo: FakeRepo | str, name: str, sender: str = "octocat"
    ) -> dict[str, Any]:
        """Rename the repository to `name`; the `repository` payload GitHub sends of it
        (`renamed`). Its old name is not found from then on: GitHub redirects it for a while,
        and an App must not count on that."""
        with self.lock:
            fake_repo = self._as_repo(repo)
            before = fake_repo.name
            self._move_repo(fake_repo, fake_repo.owner, name, fake_repo.installation_id)
            return events.repository_renamed_event(self, fake_repo, before, sender)

    def transfer_repo(
        self,
        repo: FakeRepo | str,
        owner: str,
        installation_id: int | None = None,
        sender: str = "octocat",
    ) -> dict[str, Any]:
        """Transfer the repository to the account `owner`, where the App's installation
        `installation_id` (by default the one it had) has it from then on; the `repository`
        payload GitHub sends of it (`transferred`)."""
        with self.lock:
            fake_repo = self._as_repo(repo)
            before = fake_repo.owner
            installation = installation_id or fake_repo.installation_id
            self._move_repo(fake_repo, owner, fake_repo.name, installation)
            return events.repository_transferred_event(self, fake_repo, before, sender)

    def delete_account(self, login: str) -> None:
        """The account `login` is deleted: what it wrote stays, by `ghost` where GitHub's
        description requires a user, with a null user where it lets one be null (reviews,
        comments, commits, `merged_by`)."""
        with self.lock:
            self.deleted_accounts.add(login.casefold())

    def delete_repo(self, full_name: str) -> None:
        """The repository is deleted; a pull request from it (a fork) stays, its head naming
        no repository (`head.repo: null`)."""
        with self.lock:
            del self.repos[full_name.lower()]

    def _move_repo(self, repo: FakeRepo, owner: str, name: str, installation_id: int) -> None:
        del self.repos[repo.full_name.lower()]
        repo.owner, repo.name, repo.installation_id = owner, name, installation_id
        self.repos[repo.full_name.lower()] = repo

    def add_team(
        self, org: str, slug: str, members: list[str] | None = None, parent: str | None = None
    ) -> FakeTeam:
        """Team `slug` of `org`, nested in team `parent` when one is named."""
        if self.is_personal(org):
            raise ValueError(f"{org} is a personal account: it has no teams")
        with self.lock:
            if parent is not None and (org.lower(), parent) not in self.teams:
                raise ValueError(f"{org} has no team {parent} to nest {slug} in")
            team = FakeTeam(self.next_id(), org, slug, slug, list(members or []), parent)
            self.teams[(org.lower(), slug)] = team
        return team

    def team_members(self, org: str, slug: str) -> list[str]:
        """Who is in the team as GitHub lists them: its members, then those of its child
        teams, however deeply nested, once each."""
        nested = [
            login
            for (team_org, child), team in self.teams.items()
            if team_org == org.lower() and team.parent == slug
            for login in self.team_members(org, child)
        ]
        return list(dict.fromkeys([*self.teams[(org.lower(), slug)].members, *nested]))

    def inject(
        self,
        method: str,
        path_regex: str,
        status: int | None = None,
        times: int | None = 1,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        delay: float = 0.0,
        hang: bool = False,
        apply: bool = False,
        drip: float = 0.0,
    ) -> InjectedFault:
        """Answer the next ``times`` matching requests (None = all) with a fault.

        ``status`` answers with that error, ``delay`` adds latency before the answer,
        ``hang`` never answers until the client disconnects or the server stops.
        ``apply`` carries the request out first, so that only its answer goes wrong: a
        client cut off or told of an error after GitHub did what it asked. ``drip`` sends
        the answer's status and headers at once, then its body one byte every ``drip``
        seconds, until the client disconnects or the server stops.
        """
        if status is None and not delay and not hang and not drip:
            raise ValueError("a fault needs a status, a delay, a drip or hang=True")
        fault = InjectedFault(
            method.upper(),
            re.compile(path_regex),
            status,
            times,
            dict(headers or {}),
            body,
            delay,
            hang,
            apply,
            drip,
        )
        with self.lock:
            self.faults.append(fault)
        return fault

    def expire_tokens(self) -> None:
        """Make every installation token minted so far expired (answers 401 from now on)."""
        with self.lock:
            for token in self.tokens.values():
                token.expires_at = datetime.now(UTC) - timedelta(seconds=1)

    def requests_to(self, method: str, path_prefix: str) -> list[RecordedRequest]:
        with self.lock:
            return [
                request
                for request in self.requests
                if request.method == method.upper() and request.path.startswith(path_prefix)
            ]

    # --- webhook payloads ----------------------------------------------------------------

    def pull_request_event(
        self,
        repo: FakeRepo | str,
        number: int,
        action: str,
        sender: str = "octocat",
        label: str | None = None,
    ) -> dict[str, Any]:
        return events.pull_request_event(self, self._as_repo(repo), number, action, sender, label)

    def installation_event(
        self, installation_id: int, action: str, sender: str = "octocat"
    ) -> dict[str, Any]:
        """An `installation` delivery (`created`, `suspend`, `unsuspend`, ...)."""
        return events.installation_event(self, self.installations[installation_id], action, sender)

    def review_event(
        self,
        repo: FakeRepo | str,
        number: int,
        review_id: int | None = None,
        action: str = "submitted",
        sender: str | None = None,
    ) -> dict[str, Any]:
        """A ``pull_request_review`` payload; the latest review of the pull by default."""
        fake_repo = self._as_repo(repo)
        return events.review_event(self, fake_repo, number, review_id, action, sender)

    def check_run_event(
        self,
        repo: FakeRepo | str,
        run_id: int,
        action: str = "rerequested",
        sender: str = "octocat",
    ) -> dict[str, Any]:
        return events.check_run_event(self, self._as_repo(repo), run_id, action, sender)

    def check_suite_event(
        self,
        repo: FakeRepo | str,
        head_sha: str,
        action: str = "rerequested",
        sender: str = "octocat",
        app_id: int | None = None,
    ) -> dict[str, Any]:
        fake_repo = self._as_repo(repo)
        return events.check_suite_event(self, fake_repo, head_sha, action, sender, app_id)

    def merge_group_event(
        self,
        repo: FakeRepo | str,
        group: FakeMergeGroup,
        action: str = "checks_requested",
        sender: str = "octocat",
        reason: str | None = None,
    ) -> dict[str, Any]:
        fake_repo = self._as_repo(repo)
        return events.merge_group_event(self, fake_repo, group, action, sender, reason)

    def issue_comment_event(
        self,
        repo: FakeRepo | str,
        comment_id: int,
        action: str = "created",
        previous_body: str | None = None,
    ) -> dict[str, Any]:
        fake_repo = self._as_repo(repo)
        return events.issue_comment_event(self, fake_repo, comment_id, action, previous_body)

    def push_event(
        self,
        repo: FakeRepo | str,
        ref: str,
        before: str,
        after: str | None = None,
        sender: str = "octocat",
        forced: bool = False,
    ) -> dict[str, Any]:
        """A ``push`` payload: ``ref`` (``refs/heads/main``, ``refs/tags/v1``) moved from
        ``before`` to ``after`` (default: where the ref is now). ``events.NO_COMMIT`` as
        ``before`` creates the ref, as ``after`` deletes it."""
        fake_repo = self._as_repo(repo)
        if after is None:
            after = fake_repo.resolve(ref) or events.NO_COMMIT
        return events.push_event(self, fake_repo, ref, before, after, sender, forced)

    def _as_repo(self, repo: FakeRepo | str) -> FakeRepo:
        return repo if isinstance(repo, FakeRepo) else self.repo(repo)

    # --- the ASGI pipeline ---------------------------------------------------------------

    async def asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        received_at = time.monotonic()
        request = Request(scope, receive)
        raw_body = await request.body()
        headers = {name.lower(): value for name, value in request.headers.items()}
        try:
            body = json.loads(raw_body) if raw_body.strip() else None
            parse_error = False
        except ValueError:
            body, parse_error = None, True
        record = RecordedRequest(
            method=request.method,
            path=request.url.path,
            query=dict(request.query_params),
            headers=headers,
            json=body,
            installation_id=self._installation_of(headers),
            received_at=received_at,
        )
        with self.lock:
            self.requests.append(record)
        response = await self._answer(request, record, parse_error)
        record.status = response.status_code
        await response(scope, receive, send)
        record.answered_at = time.monotonic()

    @staticmethod
    async def _lifespan(receive: Receive, send: Send) -> None:
        """Nothing to start or stop; acknowledge so any ASGI server or TestClient can run us."""
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _answer(
        self, request: Request, record: RecordedRequest, parse_error: bool
    ) -> Response:
        if self.latency:
            await asyncio.sleep(self.latency)
        fault = self._take_fault(record.method, record.path)
        if fault is None:
            return self._finish(record, self._reply(record, parse_error))
        applied = self._reply(record, parse_error) if fault.apply else None
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.hang:
            await self._hang(request)
            return self._finish(record, Reply(504, {"message": "Gateway Timeout"}))
        if fault.status is not None:
            default_body = {"message": HTTPStatus(fault.status).phrase}
            body = default_body if fault.body is None else fault.body
            answer = self._finish(record, Reply(fault.status, body, dict(fault.headers)))
        else:
            if applied is None:  # not carried out before the fault: now, after its delay
                applied = self._reply(record, parse_error)
            answer = self._finish(record, applied)
        return self._dripping(answer, fault.drip) if fault.drip else answer

    def _dripping(self, answer: Response, pause: float) -> Response:
        """`answer`, its body sent a byte every `pause` seconds (chunked: the server may stop
        before the last one)."""
        body = bytes(answer.body)

        async def one_byte_at_a_time() -> AsyncIterator[bytes]:
            for at in range(len(body)):
                if self.stopping.is_set():
                    return
                yield body[at : at + 1]
                await asyncio.sleep(pause)

        headers = {
            name: value for name, value in answer.headers.items() if name != "content-length"
        }
        return StreamingResponse(one_byte_at_a_time(), answer.status_code, headers)

    def _reply(self, record: RecordedRequest, parse_error: bool) -> Reply:
        try:
            return self._dispatch(record, parse_error)
        except ApiError as error:
            return Reply(error.status, error.body(), error.headers)

    def _dispatch(self, record: RecordedRequest, parse_error: bool) -> Reply:
        if parse_error:
            raise ApiError(400, "Problems parsing JSON")
        if self.request_validator is not None:
            errors = self.request_validator(record.method, record.path, record.query, record.json)
            if errors:
                with self.lock:
                    self.violations.append(Violation(record, errors))
                raise ApiError(422, "Invalid request", errors=errors)
        route, params = self._route(record.method, record.path)
        authorization = record.headers.get("authorization", "")
        app_id = None
        if route.auth == "jwt":
            app_id = self._verify_jwt(authorization).id
        elif route.auth == "installation" and record.installation_id is None:
            raise ApiError(401, "Bad credentials")
        call = Call(
            self,
            record.method,
            record.path,
            params,
            record.query,
            record.json,
            record.installation_id,
            app_id,
        )
        with self.lock:
            return route.handler(call)

    def _route(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        for route in ROUTES:
            params = route.match(method, path.rstrip("/") or "/")
            if params is not None:
                return route, params
        raise not_found()

    def _finish(self, record: RecordedRequest, reply: Reply) -> Response:
        """Add rate-limit headers, and ETag / 304 for successful GETs, like GitHub."""
        headers = {**self._rate_limit_headers(record), **reply.headers}
        if reply.status == 204 or (reply.body is None and reply.status < 300):
            return Response(status_code=reply.status, headers=headers)
        response = JSONResponse(reply.body, status_code=reply.status, headers=headers)
        if record.method == "GET" and reply.status == 200:
            etag = f'"{hashlib.sha1(response.body, usedforsecurity=False).hexdigest()}"'
            response.headers["etag"] = etag
            if record.headers.get("if-none-match", "").removeprefix("W/") == etag:
                return Response(status_code=304, headers={**headers, "etag": etag})
        return response

    def _rate_limit_headers(self, record: RecordedRequest) -> dict[str, str]:
        bucket = f"installation:{record.installation_id}"
        with self.lock:
            used = self.rate_limit_used[bucket] = self.rate_limit_used.get(bucket, 0) + 1
        return {
            "x-ratelimit-limit": str(RATE_LIMIT),
            "x-ratelimit-remaining": str(max(RATE_LIMIT - used, 0)),
            "x-ratelimit-reset": str(self.rate_limit_reset),
            "x-ratelimit-used": str(used),
            "x-ratelimit-resource": "core",
        }

    def _take_fault(self, method: str, path: str) -> InjectedFault | None:
        with self.lock:
            fault = next((f for f in self.faults if f.matches(method, path)), None)
            if fault is not None:
                fault.hits += 1
            return fault

    async def _hang(self, request: Request) -> None:
        # Polled: the stop signal comes from another thread and disconnects have no event.
        while not self.stopping.is_set() and not await request.is_disconnected():  # noqa: ASYNC110
            await asyncio.sleep(0.02)

    # --- authentication ------------------------------------------------------------------

    def _installation_of(self, headers: Mapping[str, str]) -> int | None:
        """The installation of a live ``token ghs_...``/``Bearer ghs_...`` credential."""
        scheme, _, credential = headers.get("authorization", "").partition(" ")
        if scheme.lower() not in ("token", "bearer"):
            return None
        with self.lock:
            token = self.tokens.get(credential.strip())
        if token is None or token.expires_at <= datetime.now(UTC):
            return None
        return token.installation_id

    def _verify_jwt(self, authorization: str) -> FakeApp:
        """GitHub's checks of an App JWT: RS256 by the app's key, iat/exp within 10 minutes."""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer":
            raise ApiError(401, "A JSON web token could not be decoded")
        try:
            unverified = jwt.decode(token.strip(), options={"verify_signature": False})
            fake_app = self.apps[int(str(unverified.get("iss")))]
        except (jwt.PyJWTError, ValueError, KeyError) as error:
            raise ApiError(401, "A JSON web token could not be decoded") from error
        try:
            claims = jwt.decode(
                token.strip(),
                fake_app.public_key,
                algorithms=["RS256"],
                options={"require": ["iat", "exp", "iss"]},
                leeway=CLOCK_SKEW,
            )
        except jwt.ExpiredSignatureError as error:
            raise ApiError(
                401,
                "'Expiration time' claim ('exp') must be a numeric value representing the "
                "future time at which the assertion expires",
            ) from error
        except jwt.PyJWTError as error:
            raise ApiError(401, "A JSON web token could not be decoded") from error
        now = time.time()
        too_long = claims["exp"] - claims["iat"] > JWT_MAX_LIFETIME
        if too_long or claims["exp"] > now + JWT_MAX_LIFETIME + CLOCK_SKEW:
            raise ApiError(401, "'Expiration time' claim ('exp') is too far in the future")
        return fake_app

    def mint_token(self, installation_id: int) -> FakeToken:
        token = FakeToken(
            "ghs_" + secrets.token_urlsafe(27).replace("-", "a").replace("_", "b")[:36],
            installation_id,
            datetime.now(UTC).replace(microsecond=0) + TOKEN_LIFETIME,
        )
        with self.lock:
            self.tokens[token.token] = token
            self.tokens_minted[installation_id] += 1
        return token
