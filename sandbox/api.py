"""Request context, answers, errors and routing shared by the fake's handlers."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import unquote, urlencode

from starlette.convertors import Convertor
from starlette.routing import compile_path

from sandbox.repo import FakeRepo

if TYPE_CHECKING:
    from sandbox.fake import FakeGitHub

DOCS_URL = "https://docs.github.com/rest"
T = TypeVar("T")


class ApiError(Exception):
    """An error answer in GitHub's shape: ``{"message", "documentation_url", "errors"?}``."""

    def __init__(
        self,
        status: int,
        message: str,
        errors: Sequence[Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message, "documentation_url": DOCS_URL}
        if self.errors is not None:
            body["errors"] = list(self.errors)
        body["status"] = str(self.status)
        return body


def not_found() -> ApiError:
    return ApiError(404, "Not Found")


def found(value: T | None) -> T:
    """`value`, looked up for a request; GitHub's 404 when there is none."""
    if value is None:
        raise not_found()
    return value


def validation_failed(resource: str, field_name: str, code: str = "invalid") -> ApiError:
    error = {"resource": resource, "field": field_name, "code": code}
    return ApiError(422, "Validation Failed", errors=[error])


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Call:
    """One authenticated request, as a handler sees it."""

    fake: FakeGitHub
    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    installation_id: int | None
    app_id: int | None

    @property
    def repo(self) -> FakeRepo:
        """The addressed repository; 404 unless the token's installation can see it."""
        repo = self.fake.find_repo(self.params["owner"], self.params["repo"])
        if repo is None or repo.installation_id != self.installation_id:
            raise not_found()
        return repo

    @property
    def bot_login(self) -> str:
        if self.installation_id is None:
            raise ApiError(403, "Resource not accessible by integration")
        return self.fake.apps[self.fake.installations[self.installation_id].app_id].bot_login

    def field(self, name: str, kind: type[T], resource: str) -> T:
        """A required body field of the given type; 422 like GitHub when missing or wrong."""
        value = self.body.get(name) if isinstance(self.body, dict) else None
        if not isinstance(value, kind):
            raise validation_failed(resource, name, "missing_field" if value is None else "invalid")
        return value

    def optional(self, name: str, kind: type[T], default: T) -> T:
        value = self.body.get(name, default) if isinstance(self.body, dict) else default
        if not isinstance(value, kind):
            message = (
                f"Invalid request.\n\nFor 'properties/{name}', {value!r} is not a {kind.__name__}."
            )
            raise ApiError(422, message)
        return value

    def query_int(self, name: str, default: int) -> int:
        """An integer query parameter; GitHub ignores values that are not numbers."""
        value = self.query.get(name, "")
        return int(value) if value.isdigit() else default

    def page(self, items: Sequence[Any]) -> Reply:
        """One page of ``items`` with GitHub's ``Link`` header (per_page max 100)."""
        per_page = min(max(self.query_int("per_page", 30), 1), 100)
        page = max(self.query_int("page", 1), 1)
        last = max((len(items) + per_page - 1) // per_page, 1)
        links = {"first": 1, "prev": page - 1} if page > 1 else {}
        if page < last:
            links |= {"next": page + 1, "last": last}
        base = f"{self.fake.api_url}{self.path}"
        header = ", ".join(
            f'<{base}?{urlencode({**self.query, "page": str(number)})}>; rel="{rel}"'
            for rel, number in links.items()
        )
        chunk = list(items[(page - 1) * per_page : page * per_page])
        return Reply(200, chunk, {"link": header} if header else {})


Handler = Callable[[Call], Reply]
# "none": the manifest conversion, which GitHub answers without any credential.
AuthKind = Literal["jwt", "installation", "none"]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: str
    handler: Handler
    auth: AuthKind = "installation"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        regex, convertors = _compiled(self.pattern)
        found = regex.match(path) if method == self.method else None
        if found is None:
            return None
        # GitHub reads a percent-encoded name (`rel%231.2.4`) as the name it encodes.
        return {
            name: convertors[name].convert(unquote(value))
            for name, value in found.groupdict().items()
        }


_COMPILED: dict[str, tuple[re.Pattern[str], dict[str, Convertor[Any]]]] = {}


def _compiled(pattern: str) -> tuple[re.Pattern[str], dict[str, Convertor[Any]]]:
    if pattern not in _COMPILED:
        regex, _, convertors = compile_path(pattern)
        _COMPILED[pattern] = (regex, convertors)
    return _COMPILED[pattern]
