"""The OpenAPI 3.1 description, generated from the endpoint table and its pydantic models."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema

from handlers.api import Endpoint
from service.schemas import MAX_ID

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {},
            },
        }
    },
}


def build(endpoints: list[Endpoint], version: str) -> dict[str, Any]:
    models: list[tuple[type[BaseModel], Any]] = []
    for e in endpoints:
        models += [(e.body, "validation")] if e.body else []
        models += [(e.response, "serialization")] if e.response else []
    refs, defs = models_json_schema(models, ref_template="#/components/schemas/{model}")
    paths: dict[str, dict[str, Any]] = {}
    for e in endpoints:
        path = re.sub(r"{(\w+):[^}]+}", r"{\1}", e.path)  # aiohttp's {id:\d+} is {id} there
        paths.setdefault(path, {})[e.method.lower()] = _operation(e, refs)
    schemas = dict(defs.get("$defs", {}), Error=ERROR_SCHEMA)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Learnhub API", "version": version},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"staffToken": {"type": "http", "scheme": "bearer"}},
        },
    }


def _operation(e: Endpoint, refs: dict[Any, Any]) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": e.summary,
        "operationId": e.view.__name__ if e.view.__name__ != "view" else _op_id(e),
        "tags": [e.tag],
        "parameters": _path_params(e.path) + _query_params(e.query),
        "responses": {str(e.status): _response(e, refs), **_errors(e), "default": _error()},
    }
    if e.body:
        schema = refs[(e.body, "validation")]
        # An empty body is read as {}: it is required only if {} is refused.
        try:
            e.body.model_validate({})
            required = False
        except ValidationError:
            required = True
        content = {"application/json": {"schema": schema}}
        op["requestBody"] = {"required": required, "content": content}
    if e.role:
        op["security"] = [{"staffToken": []}]
        op["description"] = f"Needs a staff token with the {e.role.value} role."
    return op


def _op_id(e: Endpoint) -> str:
    return e.method.lower() + "_" + re.sub(r"\W+", "_", e.path).strip("_")


def _response(e: Endpoint, refs: dict[Any, Any]) -> dict[str, Any]:
    if not e.response:
        return {"description": "OK"}
    schema = refs[(e.response, "serialization")]
    return {"description": "OK", "content": {"application/json": {"schema": schema}}}


def _error(description: str = "An error") -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/Error"}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(e: Endpoint) -> dict[str, Any]:
    """The errors the route's declaration alone makes possible, each in the contract's shape."""
    found: dict[str, str] = {}
    if e.query:
        found["400"] = "A query parameter is unknown or invalid"
    if e.body:
        found["400"] = "The body is not valid JSON"
        found["415"] = "The body is not sent as application/json"
        found["422"] = "A field is missing, unknown or invalid (details name each)"
    if e.role:
        found["401"] = "No staff token, or not a valid one"
        found["403"] = f"The token's staff member is not {e.role.value}"
    if "{" in e.path:
        found["404"] = "Nothing at this address"
    return {status: _error(text) for status, text in sorted(found.items())}


def _path_params(path: str) -> list[dict[str, Any]]:
    return [
        {"name": name, "in": "path", "required": True, "schema": _path_schema(pattern)}
        for name, pattern in re.findall(r"{(\w+)(?::([^}]+))?}", path)
    ]


def _path_schema(pattern: str) -> dict[str, Any]:
    # Numeric ids are read by handlers.inputs.path_id: 1 to the database's largest integer.
    if pattern == r"\d+":
        return {"type": "integer", "minimum": 1, "maximum": MAX_ID}
    return {"type": "string", "minLength": 1}


def _query_params(model: type[BaseModel] | None) -> list[dict[str, Any]]:
    if model is None:
        return []
    schema = model.model_json_schema()
    return [
        {
            "name": name,
            "in": "query",
            "required": name in schema.get("required", []),
            "schema": prop,
        }
        for name, prop in schema["properties"].items()
    ]


def handler(document: dict[str, Any]) -> Any:
    async def openapi(_request: web.Request) -> web.Response:
        return web.json_response(document)

    return openapi
