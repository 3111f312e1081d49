"""Validate JSON against response schemas of Atlassian's OpenAPI 3.0 documents (with `$ref`, `nullable`)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from jsonschema import Draft7Validator

SD = "openapi-service-management.json"
PLATFORM = "openapi-jira-platform.json"


def _convert(node):
    """OpenAPI 3.0 -> JSON Schema: `nullable: true` becomes `anyOf [..., null]`."""
    if isinstance(node, list):
        return [_convert(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _convert(v) for k, v in node.items() if k not in ("example", "examples")}
    if out.pop("nullable", False):
        return {"anyOf": [out, {"type": "null"}]}
    return out


@cache
def _spec(folder: Path, name: str) -> dict:
    return json.loads((folder / name).read_text())


@cache
def _components(folder: Path, name: str) -> dict:
    return _convert(_spec(folder, name)["components"])


def response_schema(folder: Path, name: str, path: str, method: str, status: int) -> dict:
    """The documented JSON schema of one response (raises KeyError when the spec has none)."""
    op = _spec(folder, name)["paths"][path][method.lower()]
    return _convert(op["responses"][str(status)]["content"]["application/json"]["schema"])


def validate(folder: Path, name: str, path: str, method: str, status: int, body) -> None:
    """Raise jsonschema.ValidationError when `body` does not match the documented response."""
    schema = response_schema(folder, name, path, method, status)
    validator = Draft7Validator({**schema, "components": _components(folder, name)})
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
    if errors:
        e = errors[0]
        raise AssertionError(f"{method} {path} {status}: {len(errors)} schema errors; first at "
                             f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}")


def validate_schema(folder: Path, name: str, component: str, body) -> None:
    """Validate against a named component schema (for operations documented without a body schema)."""
    validator = Draft7Validator({"$ref": f"#/components/schemas/{component}",
                                 "components": _components(folder, name)})
    errors = list(validator.iter_errors(body))
    if errors:
        raise AssertionError(f"{component}: {errors[0].message[:300]} at {list(errors[0].absolute_path)}")
