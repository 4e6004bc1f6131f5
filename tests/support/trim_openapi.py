"""Write tests/support/github-openapi.json: the slice of GitHub's REST description the bot uses.

The fixture is vendored so tests never need the network. Regenerate it from the npm package
``@octokit/openapi`` (run from the repository root, with the venv active)::

    tmp="$(mktemp -d)" && (cd "$tmp" && npm pack @octokit/openapi && tar xzf octokit-openapi-*.tgz)
    python tests/support/trim_openapi.py "$tmp/package"

When hotfix-bot starts calling a new endpoint, add it to OPERATIONS and regenerate.

The output keeps, per operation, only ``operationId``, ``summary``, ``parameters`` (path-level ones
merged in) and ``requestBody``. Every ``$ref`` is inlined, so the fixture needs no ``components``;
responses and examples are dropped to keep it small.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

SOURCE_FILE = "generated/api.github.com.json"
DEFAULT_OUTPUT = Path(__file__).with_name("github-openapi.json")

OPERATIONS: tuple[tuple[str, str], ...] = (
    # GitHub App authentication and setup
    ("POST", "/app/installations/{installation_id}/access_tokens"),
    ("GET", "/app"),
    ("GET", "/app/installations"),
    # the repositories of an installation unsuspended, whose open hotfixes are checked again
    ("GET", "/installation/repositories"),
    ("POST", "/app-manifests/{code}/conversions"),
    # which installation covers a repository now (the App uninstalled and installed again)
    ("GET", "/repos/{owner}/{repo}/installation"),
    # repositories and pull requests
    ("GET", "/repos/{owner}/{repo}"),
    ("GET", "/repos/{owner}/{repo}/pulls"),
    ("POST", "/repos/{owner}/{repo}/pulls"),
    ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}"),
    ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews"),
    ("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers"),
    ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/files"),
    ("GET", "/repos/{owner}/{repo}/commits/{commit_sha}/pulls"),
    # git data
    ("GET", "/repos/{owner}/{repo}/contents/{path}"),
    ("GET", "/repos/{owner}/{repo}/git/ref/{ref}"),
    ("GET", "/repos/{owner}/{repo}/git/matching-refs/{ref}"),
    ("POST", "/repos/{owner}/{repo}/git/refs"),
    ("PATCH", "/repos/{owner}/{repo}/git/refs/{ref}"),
    ("DELETE", "/repos/{owner}/{repo}/git/refs/{ref}"),
    ("POST", "/repos/{owner}/{repo}/git/tags"),
    ("GET", "/repos/{owner}/{repo}/git/tags/{tag_sha}"),
    ("GET", "/repos/{owner}/{repo}/git/trees/{tree_sha}"),
    ("POST", "/repos/{owner}/{repo}/git/trees"),
    ("POST", "/repos/{owner}/{repo}/git/commits"),
    ("GET", "/repos/{owner}/{repo}/git/commits/{commit_sha}"),
    ("GET", "/repos/{owner}/{repo}/git/blobs/{file_sha}"),
    ("GET", "/repos/{owner}/{repo}/branches/{branch}"),
    ("GET", "/repos/{owner}/{repo}/compare/{basehead}"),
    ("POST", "/repos/{owner}/{repo}/merges"),
    # checks
    ("POST", "/repos/{owner}/{repo}/check-runs"),
    ("PATCH", "/repos/{owner}/{repo}/check-runs/{check_run_id}"),
    ("GET", "/repos/{owner}/{repo}/check-runs/{check_run_id}"),
    ("GET", "/repos/{owner}/{repo}/commits/{ref}/check-runs"),
    ("GET", "/repos/{owner}/{repo}/check-suites/{check_suite_id}/check-runs"),
    # comments
    ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}"),
    # comment commands: who may give them, the answer, the retroactive review issue
    ("GET", "/repos/{owner}/{repo}/collaborators/{username}/permission"),
    ("POST", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions"),
    ("GET", "/repos/{owner}/{repo}/issues"),
    ("POST", "/repos/{owner}/{repo}/issues"),
    # the incident report's reminder
    ("GET", "/repos/{owner}/{repo}/issues/{issue_number}"),
    # the incident report, naming the release a re-run made
    ("PATCH", "/repos/{owner}/{repo}/issues/{issue_number}"),
    # releases
    ("GET", "/repos/{owner}/{repo}/releases/tags/{tag}"),
    ("GET", "/repos/{owner}/{repo}/releases/latest"),
    ("POST", "/repos/{owner}/{repo}/releases"),
    ("PATCH", "/repos/{owner}/{repo}/releases/{release_id}"),
    # teams
    ("GET", "/orgs/{org}/teams/{team_slug}/members"),
    ("GET", "/orgs/{org}/teams/{team_slug}/memberships/{username}"),
)

# Schema keywords whose values are data, not subschemas: never rewritten.
_DATA_KEYWORDS = frozenset({"enum", "const", "default", "required"})
# Schema keywords whose values map names to subschemas: the names are data.
_SCHEMA_MAP_KEYWORDS = frozenset({"properties", "patternProperties"})
_EXAMPLE_KEYWORDS = frozenset({"example", "examples"})


def _resolve(node: Any, document: dict[str, Any], stack: tuple[str, ...] = ()) -> Any:
    """Inline every local $ref; a cycle would make inlining infinite, so it is an error."""
    if isinstance(node, list):
        return [_resolve(item, document, stack) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str):
        if ref in stack:
            raise ValueError(f"recursive $ref {ref} cannot be inlined (via {' -> '.join(stack)})")
        if not ref.startswith("#/"):
            raise ValueError(f"only local $refs are supported, got {ref}")
        target: Any = document
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        return _resolve(target, document, (*stack, ref))
    return {key: _resolve(value, document, stack) for key, value in node.items()}


def _strip_schema(schema: Any) -> Any:
    """Drop examples from a schema, descending only through keyword positions."""
    if isinstance(schema, list):
        return [_strip_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _EXAMPLE_KEYWORDS:
            continue
        if key in _DATA_KEYWORDS:
            out[key] = value
        elif key in _SCHEMA_MAP_KEYWORDS:
            out[key] = {name: _strip_schema(sub) for name, sub in value.items()}
        else:
            out[key] = _strip_schema(value)
    return out


def _strip_parameter(parameter: dict[str, Any]) -> dict[str, Any]:
    out = {key: value for key, value in parameter.items() if key not in _EXAMPLE_KEYWORDS}
    if "schema" in out:
        out["schema"] = _strip_schema(out["schema"])
    return out


def _strip_request_body(body: dict[str, Any]) -> dict[str, Any]:
    out = {key: value for key, value in body.items() if key != "content"}
    out["content"] = {
        media_type: {"schema": _strip_schema(media["schema"])}
        for media_type, media in body["content"].items()
        if "schema" in media
    }
    return out


def _merged_parameters(path_item: dict[str, Any], operation: dict[str, Any]) -> list[Any]:
    # OpenAPI: operation parameters override path-level ones with the same (name, in).
    merged = {(p["name"], p["in"]): p for p in path_item.get("parameters", [])}
    merged.update({(p["name"], p["in"]): p for p in operation.get("parameters", [])})
    return [_strip_parameter(p) for p in merged.values()]


def trim(document: dict[str, Any], version: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for method, template in OPERATIONS:
        try:
            path_item = _resolve(document["paths"][template], document)
            operation = path_item[method.lower()]
        except KeyError:
            raise SystemExit(f"{method} {template} is not in {SOURCE_FILE}") from None
        kept: dict[str, Any] = {
            "operationId": operation["operationId"],
            "summary": operation.get("summary", ""),
            "parameters": _merged_parameters(path_item, operation),
        }
        if "requestBody" in operation:
            kept["requestBody"] = _strip_request_body(operation["requestBody"])
        paths.setdefault(template, {})[method.lower()] = kept
    return {
        "openapi": document["openapi"],
        "info": {"title": document["info"]["title"], "version": document["info"]["version"]},
        "servers": document["servers"],
        "x-source": {"package": "@octokit/openapi", "version": version, "file": SOURCE_FILE},
        "paths": paths,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package_dir", type=Path, help="unpacked @octokit/openapi npm package")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()
    package = json.loads((args.package_dir / "package.json").read_text(encoding="utf-8"))
    document = json.loads((args.package_dir / SOURCE_FILE).read_text(encoding="utf-8"))
    fixture = trim(document, package["version"])
    args.output.write_text(
        json.dumps(fixture, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print(f"wrote {args.output} ({args.output.stat().st_size} bytes) from {package['version']}")


if __name__ == "__main__":
    main()
