"""Checks HTTP requests and responses against a vendor's published OpenAPI 3.0 or Swagger 2.0
contract: the operation exists, path and query parameters are the documented ones with values of
the documented type, required ones are present, and JSON bodies match their schemas.

The emulators run every request they receive and every response they send through here, so a
connector that drifts from the vendor's contract fails its tests."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema_rs
import yaml

from colis.core.specs import spec_path


class SpecViolation(Exception):
    """A request or response that the contract does not allow; `problems` lists each one."""

    def __init__(self, where: str, problems: list[str]) -> None:
        super().__init__(f"{where}: " + "; ".join(problems))
        self.where = where
        self.problems = problems


@dataclass(frozen=True, kw_only=True)
class Operation:
    operation_id: str
    method: str
    template: str
    parameters: tuple[dict[str, Any], ...]
    body_schema: dict[str, Any] | None
    body_required: bool
    responses: dict[str, Any]


@dataclass(kw_only=True)
class Matched:
    operation: Operation
    path_params: dict[str, str] = field(default_factory=dict)


_SCHEMA_KEYS = (
    "type",
    "format",
    "enum",
    "items",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
)


def _nullable(node: Any) -> Any:
    """OpenAPI 3.0's `nullable: true` as JSON Schema understands it (type or null)."""
    if isinstance(node, list):
        return [_nullable(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _nullable(value) for key, value in node.items()}
    if out.get("nullable") is True or out.get("x-nullable") is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        if isinstance(out.get("enum"), list) and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
        if "$ref" in out:
            out = {"anyOf": [{"$ref": out.pop("$ref")}, {"type": "null"}], **out}
    return out


class OpenApiSpec:
    """One contract file. `prefix` is the path before the documented paths (eBay's
    `/sell/fulfillment/v1`, BigCommerce's `/stores/{store_hash}/v2`)."""

    def __init__(self, path: Path, *, prefix: str = "") -> None:
        text = path.read_text(encoding="utf-8")
        doc = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        self.swagger = doc.get("swagger") == "2.0"
        self._doc = _nullable(doc) if not self.swagger else doc
        self._roots = {
            "definitions": self._doc.get("definitions", {}),
            "components": self._doc.get("components", {}),
        }
        self._validators: dict[int, Any] = {}
        self._param_schemas: dict[int, dict[str, Any]] = {}
        self.operations: dict[str, Operation] = {}
        self._routes: list[tuple[str, re.Pattern[str], Operation]] = []
        for template, item in self._doc.get("paths", {}).items():
            shared = [self._deref(p) for p in item.get("parameters", [])]
            for method, op in item.items():
                if method not in {"get", "post", "put", "patch", "delete"}:
                    continue
                params = {(p["in"], p["name"]): p for p in shared}
                params.update(
                    {(p["in"], p["name"]): p for p in map(self._deref, op.get("parameters", []))}
                )
                body_schema, required = self._body(op, params)
                operation = Operation(
                    operation_id=op.get("operationId", f"{method} {template}"),
                    method=method.upper(),
                    template=template,
                    parameters=tuple(p for p in params.values() if p["in"] != "body"),
                    body_schema=body_schema,
                    body_required=required,
                    responses=op.get("responses", {}),
                )
                self.operations[operation.operation_id] = operation
                pattern = re.escape(prefix + template)
                pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", pattern)
                self._routes.append((operation.method, re.compile(f"^{pattern}$"), operation))
        # Literal paths before templated ones (/orders/count before /orders/{order_id}).
        self._routes.sort(key=lambda r: r[2].template.count("{"))

    def _deref(self, node: dict[str, Any]) -> dict[str, Any]:
        while isinstance(node, dict) and "$ref" in node:
            target: Any = self._doc
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    def _body(
        self, op: dict[str, Any], params: dict[tuple[str, str], dict[str, Any]]
    ) -> tuple[dict[str, Any] | None, bool]:
        if self.swagger:
            body = next((p for (where, _), p in params.items() if where == "body"), None)
            return (body["schema"], bool(body.get("required"))) if body else (None, False)
        request = self._deref(op.get("requestBody", {}))
        content = request.get("content", {})
        media = content.get("application/json") or next(iter(content.values()), None)
        if not media or "schema" not in media:
            return None, False
        return media["schema"], bool(request.get("required"))

    def _param_schema(self, param: dict[str, Any]) -> dict[str, Any]:
        """The schema of a parameter (Swagger 2.0 keeps it on the parameter itself), built once
        per parameter so its compiled validator is reused."""
        key = id(param)
        found = self._param_schemas.get(key)
        if found is None:
            found = param.get("schema") or {k: param[k] for k in _SCHEMA_KEYS if k in param}
            self._param_schemas[key] = found
        return found

    def _validator(self, schema: dict[str, Any]) -> Any:
        key = id(schema)
        found = self._validators.get(key)
        if found is None:
            root = {**self._roots, "allOf": [schema]}
            found = jsonschema_rs.Draft4Validator(root, validate_formats=False)
            self._validators[key] = (found, schema)
            return found
        return found[0]

    def _problems(self, schema: dict[str, Any], value: Any, where: str) -> list[str]:
        problems = []
        for error in self._validator(schema).iter_errors(value):
            path = "/".join(str(p) for p in error.instance_path)
            problems.append(f"{where}{'/' + path if path else ''}: {error.message}"[:400])
            if len(problems) >= 10:
                break
        return problems

    def match(self, method: str, path: str) -> Matched | None:
        for route_method, pattern, operation in self._routes:
            if route_method != method.upper():
                continue
            found = pattern.match(path)
            if found:
                return Matched(operation=operation, path_params=found.groupdict())
        return None

    def check_request(
        self,
        method: str,
        path: str,
        query: Mapping[str, list[str]],
        headers: Mapping[str, str],
        body: bytes | None,
    ) -> Matched:
        """The documented operation this request calls. Raises SpecViolation."""
        matched = self.match(method, path)
        if matched is None:
            raise SpecViolation(f"{method} {path}", ["no such operation in the contract"])
        op = matched.operation
        problems: list[str] = []
        lowered = {k.lower(): v for k, v in headers.items()}
        known_query = set()
        for param in op.parameters:
            where, name = param["in"], param["name"]
            if where == "query":
                known_query.add(name)
                raw = query.get(name)
            elif where == "path":
                raw = [matched.path_params.get(name, "")]
            elif where == "header":
                raw = [lowered[name.lower()]] if name.lower() in lowered else None
            else:
                continue
            if raw is None:
                if param.get("required"):
                    problems.append(f"{where} parameter {name} is required")
                continue
            schema = self._param_schema(param)
            value = _coerce(schema, raw, param)
            problems += self._problems(schema, value, f"{where} parameter {name}")
        unknown = sorted(set(query) - known_query)
        if unknown:
            problems.append(f"undocumented query parameters: {', '.join(unknown)}")
        if op.body_schema is not None:
            if not body:
                if op.body_required:
                    problems.append("a JSON body is required")
            else:
                try:
                    parsed = json.loads(body)
                except ValueError:
                    problems.append("the body is not JSON")
                else:
                    problems += self._problems(op.body_schema, parsed, "body")
        elif body and method.upper() in {"GET", "DELETE"}:
            problems.append("this operation takes no body")
        if problems:
            raise SpecViolation(f"request {op.operation_id}", problems)
        return matched

    def check_response(self, operation: Operation, status: int, body: bytes | None) -> None:
        """Raises SpecViolation when the contract does not document this answer."""
        spec = operation.responses.get(str(status)) or operation.responses.get("default")
        if spec is None:
            raise SpecViolation(
                f"response {operation.operation_id}", [f"status {status} is not documented"]
            )
        spec = self._deref(spec)
        if self.swagger:
            schema = spec.get("schema")
        else:
            content = spec.get("content") or {}
            media = content.get("application/json") or next(iter(content.values()), None)
            schema = (media or {}).get("schema")
        if schema is None:
            return
        if not body:
            raise SpecViolation(f"response {operation.operation_id}", ["a JSON body is documented"])
        problems = self._problems(schema, json.loads(body), f"response {status}")
        if problems:
            raise SpecViolation(f"response {operation.operation_id}", problems)


def _coerce(schema: dict[str, Any], raw: list[str], param: dict[str, Any]) -> Any:
    """A query/path value as the type its schema documents (strings stay strings if not)."""
    kind = schema.get("type")
    if kind == "array":
        parts: list[str] = []
        for value in raw:
            explode = param.get("explode", param.get("style", "form") == "form")
            fmt = param.get("collectionFormat", "csv")
            if param.get("in") == "query" and (
                fmt == "multi" or (not param.get("collectionFormat") and explode and len(raw) > 1)
            ):
                parts.append(value)
            else:
                parts += value.split(",")
        return [_coerce(schema.get("items", {}), [p], {}) for p in parts]
    value = raw[-1]
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            return float(value)
    except ValueError:
        return value
    if kind == "boolean":
        return {"true": True, "false": False}.get(value, value)
    return value


@lru_cache(maxsize=16)
def spec_load(relative: str, prefix: str = "") -> OpenApiSpec:
    """A contract from the specs folder, parsed once per process. Raises SpecsMissing."""
    return OpenApiSpec(spec_path(relative), prefix=prefix)
