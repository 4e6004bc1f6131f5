"""Check requests sent to a fake GitHub against GitHub's published OpenAPI description.

The description is the vendored slice in github-openapi.json (see trim_openapi.py). An
``OpenAPIValidator`` instance's ``validate`` fits a fake-GitHub hook
``(method, path, query, body) -> list[str]``: it returns human-readable problems, empty when the
request is a real GitHub REST operation with valid parameters and body.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast
from urllib.parse import unquote

from jsonschema import Draft4Validator, Draft202012Validator, FormatChecker, ValidationError
from jsonschema.protocols import Validator

FIXTURE = Path(__file__).with_name("github-openapi.json")

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_PARAM_SEGMENT = re.compile(r"\{([^{}/]+)\}")
# Keywords whose values are data (or maps of names) rather than subschemas.
_DATA_KEYWORDS = frozenset({"enum", "const", "default", "required", "example", "examples"})
_SCHEMA_MAP_KEYWORDS = frozenset({"properties", "patternProperties"})
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", re.ASCII
)

# jsonschema checks "date-time" only when the optional rfc3339-validator is installed, which it
# is not here; timestamps the app sends (check runs) are worth checking, so check them ourselves.
_FORMATS = FormatChecker(formats=())


@_FORMATS.checks("date-time", raises=ValueError)  # type: ignore[untyped-decorator]  # no stubs
def _is_date_time(instance: object) -> bool:
    if not isinstance(instance, str):
        return True
    if not _RFC3339.fullmatch(instance):
        return False
    datetime.fromisoformat(instance.upper())  # raises for e.g. month 13
    return True


@dataclass(frozen=True)
class _Parameter:
    name: str
    location: str
    required: bool
    schema: Mapping[str, Any]
    validator: Validator


@dataclass(frozen=True)
class _Operation:
    method: str
    template: str
    # One entry per template segment: a literal, or (parameter name, spans several segments).
    segments: tuple[str | tuple[str, bool], ...]
    parameters: tuple[_Parameter, ...]
    body_required: bool
    body_validator: Validator | None

    @property
    def literal_count(self) -> int:
        return sum(isinstance(segment, str) for segment in self.segments)


@functools.cache
def _load_fixture() -> Mapping[str, Any]:
    document: Mapping[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return document


def _oas30_schema(node: Any) -> Any:
    """Rewrite OpenAPI 3.0 ``nullable`` into draft-4 JSON Schema, which has no such keyword."""
    if isinstance(node, list):
        return [_oas30_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DATA_KEYWORDS:
            out[key] = value
        elif key in _SCHEMA_MAP_KEYWORDS:
            out[key] = {name: _oas30_schema(sub) for name, sub in value.items()}
        else:
            out[key] = _oas30_schema(value)
    if out.pop("nullable", False) is not True:
        return out
    if isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
        # An enum restricts values even when the type allows null, so null must be listed too.
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
        return out
    return {"anyOf": [out, {"type": "null"}]}


def _schema_validator(schema: Mapping[str, Any], openapi_version: str) -> Validator:
    # 3.0 schemas are a draft-4 dialect (boolean exclusiveMaximum, nullable); 3.1 schemas are
    # JSON Schema 2020-12, where type arrays express nullability.
    if openapi_version.startswith("3.0."):
        return Draft4Validator(_oas30_schema(schema), format_checker=_FORMATS)
    if openapi_version.startswith("3.1."):
        return Draft202012Validator(schema, format_checker=_FORMATS)
    raise ValueError(f"unsupported OpenAPI version {openapi_version}")


def _compile(document: Mapping[str, Any]) -> tuple[_Operation, ...]:
    version = str(document["openapi"])
    operations = []
    for template, path_item in document["paths"].items():
        for segment in template.split("/")[1:]:
            if "{" in segment and not _PARAM_SEGMENT.fullmatch(segment):
                raise ValueError(f"{template}: partial-segment parameters are not supported")
        for method in _METHODS:
            operation = path_item.get(method)
            if operation is None:
                continue
            multi = {
                p["name"]
                for p in operation.get("parameters", [])
                if p["in"] == "path" and p.get("x-multi-segment")
            }
            parameters = tuple(
                _Parameter(
                    name=p["name"],
                    location=p["in"],
                    required=bool(p.get("required", False)),
                    schema=p.get("schema", {}),
                    validator=_schema_validator(p.get("schema", {}), version),
                )
                for p in operation.get("parameters", [])
            )
            body = operation.get("requestBody")
            json_body = (body or {}).get("content", {}).get("application/json")
            operations.append(
                _Operation(
                    method=method.upper(),
                    template=template,
                    segments=tuple(
                        segment
                        if (m := _PARAM_SEGMENT.fullmatch(segment)) is None
                        else (m.group(1), m.group(1) in multi)
                        for segment in template.split("/")[1:]
                    ),
                    parameters=parameters,
                    body_required=bool(body and body.get("required", False)),
                    body_validator=(
                        None
                        if json_body is None
                        else _schema_validator(json_body.get("schema", {}), version)
                    ),
                )
            )
    return tuple(operations)


@functools.cache
def _fixture_operations() -> tuple[_Operation, ...]:
    return _compile(_load_fixture())


def _match(
    template: tuple[str | tuple[str, bool], ...], segments: tuple[str, ...]
) -> dict[str, str] | None:
    """Path parameters if ``segments`` fit ``template``, else None.

    GitHub marks parameters such as ``{ref}`` and ``{path}`` with ``x-multi-segment``: they take
    one or more whole segments (``git/ref/tags/v1.2.4``); others take exactly one.
    """
    if not template or not segments:
        return {} if not template and not segments else None
    head, rest = template[0], template[1:]
    if isinstance(head, str):
        return _match(rest, segments[1:]) if head == segments[0] else None
    name, multi_segment = head
    widths = range(len(segments) - len(rest), 0, -1) if multi_segment else (1,)
    for width in widths:
        if not all(segments[:width]):
            continue
        found = _match(rest, segments[width:])
        if found is not None:
            return {name: unquote("/".join(segments[:width])), **found}
    return None


def _schema_types(schema: Mapping[str, Any]) -> list[str]:
    declared = schema.get("type", [])
    return [declared] if isinstance(declared, str) else list(declared)


def _coerce(raw: str, schema: Mapping[str, Any]) -> object:
    """Turn a path or query string into the declared scalar type; keep it a string otherwise,
    so the schema check reports the mismatch."""
    for kind in _schema_types(schema):
        if kind == "integer" and re.fullmatch(r"-?[0-9]+", raw):
            return int(raw)
        if kind == "number" and re.fullmatch(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?", raw):
            return float(raw)
        if kind == "boolean" and raw in ("true", "false"):
            return raw == "true"
        if kind == "string":
            return raw
    return raw


def _location(prefix: str, path: Iterable[str | int]) -> str:
    return prefix + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path)


def _describe(error: ValidationError) -> str:
    if not error.context:
        return cast(str, error.message)  # jsonschema has no stubs
    # anyOf/oneOf: the top-level message repeats the whole instance; the per-branch reasons are
    # what tells a reader which field to fix.
    reasons = set()
    for sub in error.context:
        where = _location("", sub.relative_path).lstrip(".")
        reasons.add(f"[{sub.relative_schema_path[0]}] {where + ': ' if where else ''}{sub.message}")
    return f"matches no {error.validator} alternative: " + "; ".join(sorted(reasons))


def _schema_problems(validator: Validator, instance: object, where: str) -> list[str]:
    errors = sorted(validator.iter_errors(instance), key=lambda e: [str(p) for p in e.path])
    return [f"{_location(where, error.absolute_path)}: {_describe(error)}" for error in errors]


class OpenAPIValidator:
    """Validates (method, path, query, body) against the vendored GitHub REST operations.

    ``base_path`` is the path part of the API base URL the app was given (``/api/v3`` for
    ``https://HOST/api/v3``); it is stripped before matching, as the description's templates are
    relative to its ``servers`` URL, which has no path. ``document`` replaces the fixture, for
    testing the validator itself.
    """

    def __init__(self, base_path: str = "", document: Mapping[str, Any] | None = None) -> None:
        self._base_path = base_path.rstrip("/")
        self._operations = _fixture_operations() if document is None else _compile(document)

    def validate(
        self, method: str, path: str, query: Mapping[str, str], body: object | None
    ) -> list[str]:
        request = f"{method.upper()} {path}"
        if self._base_path:
            if path != self._base_path and not path.startswith(self._base_path + "/"):
                return [f"{request}: path is outside the API base path {self._base_path}"]
            path = path[len(self._base_path) :]
        matches = self._matches(path)
        if not matches:
            return [
                f"{request}: no GitHub REST operation in the fixture matches this path "
                "(new endpoint? add it to tests/support/trim_openapi.py and regenerate)"
            ]
        same_method = [(op, params) for op, params in matches if op.method == method.upper()]
        if not same_method:
            allowed = ", ".join(sorted({f"{op.method} {op.template}" for op, _ in matches}))
            return [f"{request}: method not allowed; the path matches {allowed}"]
        # Should templates overlap, the most specific one (most literal segments) wins.
        operation, path_params = max(same_method, key=lambda match: match[0].literal_count)
        return [
            f"{request} ({operation.template}): {problem}"
            for problem in self._parameter_problems(operation, path_params, query)
            + self._body_problems(operation, body)
        ]

    def operation(self, method: str, path: str) -> str | None:
        """``"METHOD /template"`` of the operation a request path (without base path) is."""
        same_method = [op for op, _ in self._matches(path) if op.method == method.upper()]
        if not same_method:
            return None
        operation = max(same_method, key=lambda op: op.literal_count)
        return f"{operation.method} {operation.template}"

    def _matches(self, path: str) -> list[tuple[_Operation, dict[str, str]]]:
        segments = tuple(path.split("/")[1:]) if path.startswith("/") else ()
        return [
            (operation, params)
            for operation in self._operations
            if (params := _match(operation.segments, segments)) is not None
        ]

    @staticmethod
    def _parameter_problems(
        operation: _Operation, path_params: Mapping[str, str], query: Mapping[str, str]
    ) -> list[str]:
        problems = []
        declared_query = {p.name for p in operation.parameters if p.location == "query"}
        problems += [
            f"query parameter {name!r} is not defined for this operation"
            for name in sorted(set(query) - declared_query)
        ]
        for parameter in operation.parameters:
            values = {"path": path_params, "query": query}.get(parameter.location)
            if values is None:
                continue  # headers and cookies are not part of what the hook sees
            if parameter.name not in values:
                if parameter.required:
                    problems.append(f"{parameter.location}.{parameter.name}: required, missing")
                continue
            value = _coerce(values[parameter.name], parameter.schema)
            problems += _schema_problems(
                parameter.validator, value, f"{parameter.location}.{parameter.name}"
            )
        return problems

    @staticmethod
    def _body_problems(operation: _Operation, body: object | None) -> list[str]:
        if body is None:
            return ["request body is required"] if operation.body_required else []
        if operation.body_validator is None:
            return ["a request body was sent but the operation defines no JSON body"]
        return _schema_problems(operation.body_validator, body, "body")
