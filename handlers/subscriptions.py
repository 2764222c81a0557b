"""JSON routes for subscribers: subscribe, confirm, and the manage-token routes."""

from __future__ import annotations

import json

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.api import Api
from handlers.common import limit, mail, subscription_out, wake_requests
from learnhub.keys import clock_key, links_key, readonly_key, sessions_key, tagging_key
from practice import people
from subscribers.groups import service as groups
from subscribers.subscriptions import export, service
from subscribers.subscriptions.models import Subscriber
from subscribers.subscriptions.schemas import (
    Accepted,
    SubscribeRequest,
    SubscriptionOut,
    SubscriptionUpdate,
)
from subscribers.subscriptions.tokens import Purpose

api = Api()
TAG = "subscriptions"


@api.route(
    "POST",
    "/api/v1/subscriptions",
    summary="Ask to subscribe; the same answer for any address",
    tag=TAG,
    body=SubscribeRequest,
    response=Accepted,
    status=202,
)
async def subscribe(request: web.Request, body: SubscribeRequest) -> Accepted:
    await limit(request, body.email)
    app = request.app
    async with app[sessions_key].begin() as session:
        await service.ask(session, body, taxonomy=app[tagging_key].taxonomy, now=app[clock_key]())
    wake_requests(app)
    return Accepted()


@api.route(
    "POST",
    "/api/v1/subscriptions/confirm/{token}",
    summary="Confirm a subscription",
    tag=TAG,
    response=SubscriptionOut,
)
async def confirm(request: web.Request) -> SubscriptionOut:
    app = request.app
    async with app[sessions_key].begin() as session:
        subscriber = await service.confirm(
            session, mail(request), request.match_info["token"], app[clock_key]()
        )
        return subscription_out(request, subscriber)


@api.route(
    "GET",
    "/api/v1/subscriptions/{token}",
    summary="Read a subscription (manage token)",
    tag=TAG,
    response=SubscriptionOut,
)
async def read(request: web.Request) -> SubscriptionOut:
    async with request.app[readonly_key]() as session:
        subscriber = await _holder(request, session)
        return subscription_out(request, subscriber)


@api.route(
    "PATCH",
    "/api/v1/subscriptions/{token}",
    summary="Change filters, frequency or pause",
    tag=TAG,
    body=SubscriptionUpdate,
    response=SubscriptionOut,
)
async def change(request: web.Request, body: SubscriptionUpdate) -> SubscriptionOut:
    app = request.app
    async with app[sessions_key].begin() as session:
        subscriber = await _holder(request, session)
        taxonomy, now = app[tagging_key].taxonomy, app[clock_key]()
        await service.update(session, subscriber, body, taxonomy=taxonomy, now=now)
        await session.flush()
        return subscription_out(request, subscriber)


@api.route(
    "DELETE",
    "/api/v1/subscriptions/{token}",
    summary="Unsubscribe from everything",
    tag=TAG,
    response=SubscriptionOut,
)
async def end(request: web.Request) -> SubscriptionOut:
    async with request.app[sessions_key].begin() as session:
        subscriber = await _holder(request, session)
        service.end(subscriber, request.app[clock_key]())
        await session.flush()
        return subscription_out(request, subscriber)


@api.route(
    "GET",
    "/api/v1/subscriptions/{token}/export",
    summary="Everything held about the address",
    tag=TAG,
)
async def download(request: web.Request) -> web.Response:
    async with request.app[readonly_key]() as session:
        subscriber = await _holder(request, session)
        data = await export.everything(session, subscriber, request.app[links_key])
        data.update(await people.export(session, subscriber))
    return web.Response(
        text=json.dumps(data, indent=2, default=str),
        content_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="learnhub-my-data.json"'},
    )


@api.route(
    "POST",
    "/api/v1/subscriptions/{token}/erase",
    summary="Erase everything held",
    tag=TAG,
    status=204,
)
async def erase(request: web.Request) -> web.Response:
    async with request.app[sessions_key].begin() as session:
        await people.erase(session, await _holder(request, session))
    return web.Response(status=204)


@api.route(
    "DELETE",
    "/api/v1/subscriptions/{token}/groups/{group_id:\\d+}",
    summary="Leave one group",
    tag=TAG,
    response=SubscriptionOut,
)
async def leave(request: web.Request) -> SubscriptionOut:
    async with request.app[sessions_key].begin() as session:
        subscriber = await _holder(request, session)
        groups.leave(subscriber, int(request.match_info["group_id"]), request.app[clock_key]())
        await session.flush()
        return subscription_out(request, subscriber)


async def _holder(request: web.Request, session: AsyncSession) -> Subscriber:
    token = request.match_info["token"]
    return await service.by_token(session, mail(request), token, Purpose.manage, lock=True)
