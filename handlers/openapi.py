"""The OpenAPI 3.1 description, generated from the endpoint table and its pydantic models."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from handlers.api import Endpoint

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
        "responses": {str(e.status): _response(e, refs), "default": _error()},
    }
    if e.body:
        schema = refs[(e.body, "validation")]
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
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


def _error() -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/Error"}
    return {"description": "An error", "content": {"application/json": {"schema": schema}}}


def _path_params(path: str) -> list[dict[str, Any]]:
    names = re.findall(r"{(\w+)(?::[^}]+)?}", path)
    return [
        {"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in names
    ]


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
