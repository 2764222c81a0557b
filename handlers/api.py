"""Declaring JSON endpoints: one decorator parses, authenticates and documents each route.

The declarations are also the source of the OpenAPI description (handlers/openapi.py), so
the documentation can't drift from what the code accepts.
"""

from __future__ import annotations

import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from handlers.errors import ApiError
from learnhub.keys import readonly_key
from service.staff import service as staff_service
from service.staff.models import Role, StaffMember

View = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    view: View
    summary: str
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    role: Role | None
    tag: str


class Api:
    """A table of endpoints, like aiohttp's RouteTableDef, with models attached."""

    def __init__(self) -> None:
        self.endpoints: list[Endpoint] = []

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        tag: str,
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        status: int = 200,
        role: Role | None = None,
    ) -> Callable[[View], View]:
        def register(view: View) -> View:
            self.endpoints.append(
                Endpoint(method, path, view, summary, body, query, response, status, role, tag)
            )
            return view

        return register

    def setup(self, app: web.Application) -> None:
        for endpoint in self.endpoints:
            app.router.add_route(endpoint.method, endpoint.path, _wrap(endpoint))


def _wrap(endpoint: Endpoint) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    wants = typing.get_type_hints(endpoint.view)

    async def handle(request: web.Request) -> web.StreamResponse:
        kwargs: dict[str, Any] = {}
        if "staff" in wants:
            kwargs["staff"] = await authenticate(request, endpoint.role)
        if endpoint.query is not None:
            kwargs["query"] = parse_query(request, endpoint.query)
        if endpoint.body is not None:
            kwargs["body"] = await parse_body(request, endpoint.body)
        result = await endpoint.view(request, **kwargs)
        if isinstance(result, web.StreamResponse):
            return result
        return json_response(result, endpoint.status)

    return handle


def json_response(model: BaseModel, status: int = 200) -> web.Response:
    return web.Response(
        text=model.model_dump_json(), status=status, content_type="application/json"
    )


async def authenticate(request: web.Request, role: Role | None) -> StaffMember | None:
    """The staff member behind the bearer token; required when ``role`` is set."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        if role is None:
            return None
        raise ApiError(
            401,
            "this route needs a staff API token: Authorization: Bearer TOKEN",
            headers={"WWW-Authenticate": "Bearer"},
        )
    async with request.app[readonly_key]() as session:
        staff = await staff_service.get_by_token(session, token.strip())
    if staff is None:
        raise ApiError(401, "the API token is not valid", headers={"WWW-Authenticate": "Bearer"})
    if role is not None and not staff.can(role):
        raise ApiError(403, f"this route needs the {role.value} role; you are {staff.role}")
    return staff


async def parse_body(request: web.Request, model: type[BaseModel]) -> BaseModel:
    raw = await request.read()  # aiohttp answers 413 past client_max_size (1 MiB)
    if not raw:  # no body at all; blank space is not JSON
        raw = b"{}"
    elif not is_json(request.content_type):
        raise ApiError(
            415,
            f"send the body as JSON, with Content-Type: application/json, "
            f"not {request.content_type}",
            details={"content_type": request.content_type},
        )
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        if any(error["type"] == "json_invalid" for error in exc.errors()):
            raise ApiError(400, "the request body is not valid JSON", code="bad_json") from None
        raise ApiError(422, "some fields are invalid", details=field_errors(exc)) from None


def is_json(content_type: str) -> bool:
    kind, _, subtype = content_type.partition("/")
    return kind == "application" and (subtype == "json" or subtype.endswith("+json"))


def parse_query(request: web.Request, model: type[BaseModel]) -> BaseModel:
    fields = model.model_fields
    unknown = sorted(set(request.query) - set(fields))
    if unknown:
        raise ApiError(
            400,
            f"unknown query parameter {unknown[0]!r}",
            details={"unknown": unknown, "valid": sorted(fields)},
        )
    values: dict[str, Any] = {}
    for name, field in fields.items():
        if name not in request.query:
            continue
        many = typing.get_origin(field.annotation) is list
        got = request.query.getall(name)
        if not many and len(got) > 1:
            raise ApiError(400, f"query parameter {name!r} may be given only once")
        values[name] = got if many else got[0]
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise ApiError(
            400, "some query parameters are invalid", details=field_errors(exc)
        ) from None


def field_errors(exc: ValidationError) -> list[dict[str, str]]:
    return [
        {"field": ".".join(str(part) for part in error["loc"]) or "(body)", "message": error["msg"]}
        for error in exc.errors()
    ]
