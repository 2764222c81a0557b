"""Partners' webhook endpoints over the API (admins only): docs/webhooks.md."""

from __future__ import annotations

from aiohttp import web

from handlers.api import Api
from handlers.inputs import path_id
from learnhub.keys import clock_key, readonly_key, sessions_key, settings_key, tagging_key
from service.staff.models import Role, StaffMember
from service.webhooks import service as webhooks
from service.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from service.webhooks.schemas import (
    DeliveryList,
    DeliveryOut,
    DeliveryQuery,
    WebhookCreate,
    WebhookCreated,
    WebhookList,
    WebhookOut,
)

api = Api()
TAG = "webhooks"
ID = "{id:\\d+}"


def _id(request: web.Request) -> int:
    return path_id(request, "webhook endpoint")


def _out(endpoint: WebhookEndpoint) -> WebhookOut:
    return WebhookOut.model_validate(endpoint)


def _delivery(delivery: WebhookDelivery) -> DeliveryOut:
    out = DeliveryOut.model_validate(delivery)
    if delivery.status != DeliveryStatus.pending:
        out.next_attempt_at = None  # only a pending delivery has a next attempt
    return out


@api.route(
    "POST",
    "/api/v1/webhooks",
    summary="Register a partner's endpoint; its signing secret is shown this once",
    tag=TAG,
    body=WebhookCreate,
    response=WebhookCreated,
    status=201,
    role=Role.admin,
)
async def create_webhook(
    request: web.Request, body: WebhookCreate, staff: StaffMember
) -> WebhookCreated:
    app = request.app
    async with app[sessions_key].begin() as session:
        endpoint = await webhooks.create(
            session,
            body,
            taxonomy=app[tagging_key].taxonomy,
            allow_private=app[settings_key].webhooks_allow_private,
            staff=staff,
            now=app[clock_key](),
        )
        return WebhookCreated.model_validate(
            {**_out(endpoint).model_dump(), "secret": endpoint.secret}
        )


@api.route(
    "GET", "/api/v1/webhooks", summary="Every endpoint", tag=TAG, response=WebhookList,
    role=Role.admin,
)  # fmt: skip
async def list_webhooks(request: web.Request, staff: StaffMember) -> WebhookList:
    async with request.app[readonly_key]() as session:
        return WebhookList(items=[_out(e) for e in await webhooks.get_all(session)])


@api.route(
    "GET", f"/api/v1/webhooks/{ID}", summary="One endpoint", tag=TAG, response=WebhookOut,
    role=Role.admin,
)  # fmt: skip
async def get_webhook(request: web.Request, staff: StaffMember) -> WebhookOut:
    async with request.app[readonly_key]() as session:
        return _out(await webhooks.get(session, _id(request)))


@api.route(
    "DELETE",
    f"/api/v1/webhooks/{ID}",
    summary="Delete an endpoint and its deliveries",
    tag=TAG,
    status=204,
    role=Role.admin,
)
async def delete_webhook(request: web.Request, staff: StaffMember) -> web.Response:
    app = request.app
    async with app[sessions_key].begin() as session:
        await webhooks.delete_one(session, _id(request), staff=staff, now=app[clock_key]())
    return web.Response(status=204)


@api.route(
    "POST",
    f"/api/v1/webhooks/{ID}/enable",
    summary="Send to a disabled endpoint again, from the next event on",
    tag=TAG,
    response=WebhookOut,
    role=Role.admin,
)
async def enable_webhook(request: web.Request, staff: StaffMember) -> WebhookOut:
    app = request.app
    async with app[sessions_key].begin() as session:
        endpoint = await webhooks.enable(session, _id(request), staff=staff, now=app[clock_key]())
        return _out(endpoint)


@api.route(
    "GET",
    f"/api/v1/webhooks/{ID}/deliveries",
    summary="An endpoint's deliveries, newest first: attempts, status, last answer",
    tag=TAG,
    query=DeliveryQuery,
    response=DeliveryList,
    role=Role.admin,
)
async def list_deliveries(
    request: web.Request, query: DeliveryQuery, staff: StaffMember
) -> DeliveryList:
    async with request.app[readonly_key]() as session:
        items, cursor = await webhooks.deliveries(
            session, _id(request), cursor=query.cursor, limit=query.limit
        )
        return DeliveryList(items=[_delivery(d) for d in items], next_cursor=cursor)
