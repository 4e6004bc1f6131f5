"""The OpenAPI request validator used by the fake GitHub, against the vendored GitHub slice."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from support.openapi import FIXTURE, OpenAPIValidator

SHA = "ce587453ced02b1526dfb4cb910479d431683101"


@dataclass(frozen=True)
class Case:
    id: str
    method: str
    path: str
    body: object | None = None
    query: dict[str, str] = field(default_factory=dict)
    # Substrings every one of which must appear in the problems; empty means "valid".
    expect: tuple[str, ...] = ()


def assert_problems(problems: list[str], expect: tuple[str, ...]) -> None:
    """None when none are expected; else each expected fragment stands in one of them."""
    if not expect:
        assert problems == []
    else:
        missing = [fragment for fragment in expect if not any(fragment in p for p in problems)]
        assert missing == [], problems


FIXTURE_CASES = [
    Case(
        "check-run create",
        "POST",
        "/repos/o/r/check-runs",
        {"name": "hotfix-policy", "head_sha": SHA, "status": "in_progress"},
    ),
    Case(
        "check-run create, conclusion outside enum",
        "POST",
        "/repos/o/r/check-runs",
        {"name": "hotfix-policy", "head_sha": SHA, "conclusion": "passed"},
        expect=("body.conclusion", "'passed' is not one of"),
    ),
    # The create schema says "conclusion is required with status completed" only in prose, so
    # the validator must not enforce it; the update schema does encode it (next case).
    Case(
        "check-run create, completed without conclusion (not in the schema)",
        "POST",
        "/repos/o/r/check-runs",
        {"name": "hotfix-policy", "head_sha": SHA, "status": "completed"},
    ),
    Case(
        "check-run update, completed without conclusion",
        "PATCH",
        "/repos/o/r/check-runs/42",
        {"status": "completed"},
        expect=("matches no anyOf alternative", "'conclusion' is a required property"),
    ),
    Case(
        "check-run create, bad timestamp",
        "POST",
        "/repos/o/r/check-runs",
        {"name": "n", "head_sha": SHA, "started_at": "2024-05-04 01:14"},
        expect=("body.started_at", "is not a 'date-time'"),
    ),
    Case(
        "check-run create without body",
        "POST",
        "/repos/o/r/check-runs",
        expect=("request body is required",),
    ),
    Case("unknown path", "GET", "/repos/o/r/hotfixes", expect=("no GitHub REST operation",)),
    Case(
        "wrong method",
        "PUT",
        "/repos/o/r/merges",
        {"base": "main", "head": "hotfix"},
        expect=("method not allowed", "POST /repos/{owner}/{repo}/merges"),
    ),
    Case("ref with slashes", "GET", "/repos/o/r/git/ref/tags/v1.2.4"),
    Case("ref delete with slashes", "DELETE", "/repos/o/r/git/refs/heads/hotfix/1.2.4"),
    Case(
        "ref delete with body",
        "DELETE",
        "/repos/o/r/git/refs/heads/hotfix",
        {"sha": SHA},
        expect=("defines no JSON body",),
    ),
    Case("compare across branch names with slashes", "GET", "/repos/o/r/compare/main...hotfix/1.2"),
    Case(
        "tag create missing type",
        "POST",
        "/repos/o/r/git/tags",
        {"tag": "v1.2.4", "message": "v1.2.4", "object": SHA},
        expect=("'type' is a required property",),
    ),
    Case(
        "merge missing head",
        "POST",
        "/repos/o/r/merges",
        {"base": "main"},
        expect=("'head' is a required property",),
    ),
    Case(
        "contents with ref",
        "GET",
        "/repos/o/r/contents/.github/hotfix.yml",
        query={"ref": "main"},
    ),
    Case("percent-encoded contents path", "GET", "/repos/o/r/contents/.github%2Fhotfix.yml"),
    Case(
        "pull list with filters",
        "GET",
        "/repos/o/r/pulls",
        query={"state": "closed", "base": "main", "per_page": "100"},
    ),
    Case(
        "pull list, state outside enum",
        "GET",
        "/repos/o/r/pulls",
        query={"state": "merged"},
        expect=("query.state", "'merged' is not one of"),
    ),
    Case(
        "pull list, non-integer per_page",
        "GET",
        "/repos/o/r/pulls",
        query={"per_page": "all"},
        expect=("query.per_page", "is not of type 'integer'"),
    ),
    Case(
        "undeclared query parameter",
        "GET",
        "/repos/o/r/pulls",
        query={"status": "open"},
        expect=("query parameter 'status' is not defined",),
    ),
    Case(
        "non-integer path parameter",
        "GET",
        "/repos/o/r/pulls/abc",
        expect=("path.pull_number", "is not of type 'integer'"),
    ),
    Case("empty segment", "GET", "/repos/o//pulls", expect=("no GitHub REST operation",)),
    Case("token without body", "POST", "/app/installations/7/access_tokens"),
    Case(
        "token with a bad permission level",
        "POST",
        "/app/installations/7/access_tokens",
        {"permissions": {"contents": "admin"}},
        expect=("body.permissions.contents",),
    ),
]


@pytest.mark.parametrize("case", FIXTURE_CASES, ids=lambda case: case.id)
def test_fixture_operations(case: Case) -> None:
    problems = OpenAPIValidator().validate(case.method, case.path, case.query, case.body)
    assert_problems(problems, case.expect)


@pytest.mark.parametrize(
    ("base_path", "path", "expect"),
    [
        ("/api/v3", "/api/v3/repos/o/r/git/ref/heads/main", ()),
        ("/api/v3/", "/api/v3/app", ()),
        ("/api/v3", "/repos/o/r/git/ref/heads/main", ("outside the API base path /api/v3",)),
        ("", "/api/v3/app", ("no GitHub REST operation",)),
    ],
)
def test_base_path_is_stripped(base_path: str, path: str, expect: tuple[str, ...]) -> None:
    problems = OpenAPIValidator(base_path).validate("GET", path, {}, None)
    assert_problems(problems, expect)


def test_fixture_records_its_source() -> None:
    source = json.loads(FIXTURE.read_text(encoding="utf-8"))["x-source"]
    assert source["package"] == "@octokit/openapi"
    assert source["file"] == "generated/api.github.com.json"
    assert source["version"]


def _document(openapi: str, label_schema: dict[str, Any]) -> dict[str, Any]:
    """A one-operation description: the fixture has no nullable fields or required query."""
    return {
        "openapi": openapi,
        "paths": {
            "/labels": {
                "post": {
                    "parameters": [
                        {"name": "color", "in": "query", "required": True, "schema": label_schema}
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {"label": label_schema},
                                }
                            }
                        },
                    },
                }
            }
        },
    }


OAS30 = _document("3.0.3", {"type": "string", "enum": ["red", "blue"], "nullable": True})
OAS31 = _document("3.1.0", {"type": ["string", "null"], "enum": ["red", "blue", None]})


@pytest.mark.parametrize("document", [OAS30, OAS31], ids=["3.0 nullable", "3.1 type array"])
@pytest.mark.parametrize(
    ("query", "body", "expect"),
    [
        ({"color": "red"}, {"label": None}, ()),
        ({"color": "red"}, {"label": "blue"}, ()),
        ({"color": "red"}, {"label": "green"}, ("body.label",)),
        ({"color": "red"}, {"label": 3}, ("body.label",)),
        ({}, {"label": "red"}, ("query.color: required, missing",)),
    ],
)
def test_nullable_schemas_and_required_query(
    document: dict[str, Any], query: dict[str, str], body: object, expect: tuple[str, ...]
) -> None:
    problems = OpenAPIValidator(document=document).validate("POST", "/labels", query, body)
    assert_problems(problems, expect)
