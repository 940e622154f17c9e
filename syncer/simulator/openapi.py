"""The OpenAPI 3.1 description of what the simulator serves, generated from its own route tables.

Paths come from ``api.ROUTES`` and ``control.CONTROL_ROUTES`` and schemas from the resource specs
and the pydantic knobs, so the description cannot drift from the implementation. Version 3.1
because its schemas are JSON Schema 2020-12, which is what pydantic emits.
"""

from __future__ import annotations

import re
from typing import Any, Final

from syncer.simulator.api import API_PREFIX, ROUTES, Route
from syncer.simulator.config import Faults, Limits
from syncer.simulator.control import CONTROL_ROUTES, ControlRoute
from syncer.simulator.dialect import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Dialect
from syncer.simulator.resources import SPECS, FieldRule, FieldType

OPENAPI_PATH: Final = "/_sim/openapi.json"
_RATE_HEADERS: Final = {
    name: {"schema": {"type": "integer"}, "description": text}
    for name, text in (
        ("x-ratelimit-burst-capacity", "Tokens the bucket holds at most"),
        ("x-ratelimit-replenish-rate", "Tokens added per second"),
        ("x-ratelimit-requested-tokens", "Tokens this request costs"),
        ("x-ratelimit-remaining", "Tokens left after this request; -1 when failing open"),
    )
}
_ERROR_REF: Final = {"$ref": "#/components/schemas/Error"}
_ERRORS: Final = {
    "400": "Validation failed or bad search/paging",
    "401": "Missing, unknown, expired or revoked token; bad credentials on auth/token",
    "403": "The API client is read-only",
    "404": "Unknown firm or CWGuid",
    "409": "The natural key is already used",
    "500": "Injected server error",
    "503": "Injected server error",
}
_SCALAR: Final[dict[FieldType, dict[str, Any]]] = {
    FieldType.STRING: {"type": "string"},
    FieldType.INT: {"type": "integer"},
    FieldType.BOOL: {"type": "boolean"},
    FieldType.DATE: {"type": "string", "format": "date"},
    FieldType.INT_LIST: {"type": "array", "items": {"type": "integer"}},
}


def _property(rule: FieldRule) -> dict[str, Any]:
    schema: dict[str, Any] = dict(_SCALAR[rule.type])
    if rule.max_length is not None:
        schema["maxLength"] = rule.max_length
    if rule.choices is not None:
        schema["enum"] = list(rule.choices)
    if rule.read_only:
        schema["readOnly"] = True
    if rule.type is not FieldType.INT_LIST and not rule.required:
        schema["type"] = [schema["type"], "null"]
    return schema


def _schemas() -> dict[str, Any]:
    schemas: dict[str, Any] = {
        spec.name: {
            "type": "object",
            "properties": {r.name: _property(r) for r in spec.fields},
            "required": [r.name for r in spec.fields if r.required],
        }
        for spec in SPECS.values()
    }
    schemas["Error"] = {
        "type": "object",
        "properties": {
            "message": {"type": "string"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                },
            },
        },
    }
    for knobs in (Limits, Faults, Dialect):
        schema = knobs.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas |= schema.pop("$defs", {})
        schemas[knobs.__name__] = schema
    return schemas


def _path_parameters(path: str) -> list[dict[str, Any]]:
    return [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"{(\w+)}", path)
    ]


def _parameters(route: Route) -> list[dict[str, Any]]:
    params = _path_parameters(API_PREFIX + route.path)
    if route.returns in ("list", "guids"):
        params += [
            {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
            {
                "name": "pageSize",
                "in": "query",
                "schema": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": MAX_PAGE_SIZE,
                    "default": DEFAULT_PAGE_SIZE,
                },
            },
        ]
    if route.returns == "list":
        params.append(
            {
                "name": "search",
                "in": "query",
                "description": "<Field><op><Value>; op one of = < > <>; strings quoted with ''",
                "schema": {"type": "string"},
            }
        )
    return params


def _request_body(route: Route) -> dict[str, Any] | None:
    if route.body is None:
        return None
    if route.body == "credentials":
        props = {name: {"type": "string"} for name in ("ClientId", "ClientSecret", "Language")}
        schema: dict[str, Any] = {"type": "object", "properties": props}
    elif route.body.startswith("assignment:"):
        members = route.body.split(":", 1)[1]
        schema = {
            "type": "object",
            "properties": {
                members: {"type": "array", "items": {"type": "string"}},
                "isRemove": {"type": "boolean"},
            },
            "required": [members],
        }
    else:
        assert route.spec is not None
        schema = {"$ref": f"#/components/schemas/{route.spec.name}"}
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _success(route: Route) -> tuple[str, dict[str, Any]]:
    ref = {"$ref": f"#/components/schemas/{route.spec.name}"} if route.spec else {}
    bodies: dict[str, dict[str, Any] | None] = {
        "object": ref,
        "list": {"type": "array", "items": ref},
        "id": {"type": "integer"},
        "guids": {"type": "array", "items": {"type": "string"}},
        "token": {"type": "object", "properties": {"Token": {"type": "string"}}},
        "none": None,
    }
    body = bodies[route.returns]
    if body is None:
        return "204", {"description": "Done", "headers": _RATE_HEADERS}
    content = {"application/json": {"schema": body}}
    return "200", {"description": "OK", "headers": _RATE_HEADERS, "content": content}


def _operation(route: Route) -> dict[str, Any]:
    status, success = _success(route)
    responses: dict[str, Any] = {status: success}
    responses["429"] = {"description": "Rate limited (empty body)", "headers": _RATE_HEADERS}
    for code, text in _ERRORS.items():
        responses[code] = {
            "description": text,
            "content": {"application/json": {"schema": _ERROR_REF}},
        }
    operation: dict[str, Any] = {
        "summary": route.summary,
        "tags": [route.family],
        "parameters": _parameters(route),
        "responses": responses,
    }
    if route.family != "auth":
        operation["security"] = [{"bearer": []}]
    if (body := _request_body(route)) is not None:
        operation["requestBody"] = body
    return operation


def _control_operation(control: ControlRoute) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": control.summary,
        "tags": ["control"],
        "parameters": _path_parameters(control.path),
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": {}}}},
            "204": {"description": "Done"},
            "400": {
                "description": "Bad input",
                "content": {"application/json": {"schema": _ERROR_REF}},
            },
        },
    }
    if control.method != "GET":
        schema = {"$ref": f"#/components/schemas/{control.body}"} if control.body else {}
        operation["requestBody"] = {"content": {"application/json": {"schema": schema}}}
    return operation


def openapi_document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        paths.setdefault(API_PREFIX + route.path, {})[route.method.lower()] = _operation(route)
    for control in CONTROL_ROUTES:
        paths.setdefault(control.path, {})[control.method.lower()] = _control_operation(control)
    paths[OPENAPI_PATH] = {
        "get": {
            "summary": "This description",
            "tags": ["control"],
            "responses": {"200": {"description": "OK"}},
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Caseware Cloud API v2 (syncer simulator)",
            "version": "2",
            "description": "What syncer's simulator implements; see docs/cloud-api.md.",
        },
        "paths": paths,
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
