"""What each kind of link request does, once answered: the work that differs by address."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from learnhub.keys import composer_key, links_key, settings_key, tagging_key
from service.requests.worker import Handler
from service.staff import sessions as staff_sessions
from service.staff.sessions import STAFF_SIGN_IN
from subscribers.subscriptions import emails
from subscribers.subscriptions import service as subscribers
from subscribers.subscriptions.choices import Schedule
from subscribers.subscriptions.schemas import SubscribeRequest
from subscribers.subscriptions.service import LOST, SUBSCRIBE


def link_handlers(app: web.Application) -> dict[str, Handler]:
    mail = emails.Mail(composer=app[composer_key], links=app[links_key])
    taxonomy = app[tagging_key].taxonomy
    base_url = app[settings_key].base_url
    schedule = Schedule.of(app[settings_key])

    async def subscribe(
        session: AsyncSession, email: str, payload: Mapping[str, Any], when: datetime
    ) -> None:
        data = SubscribeRequest.model_validate({**payload, "email": email})
        await subscribers.request(
            session, data, mail=mail, taxonomy=taxonomy, schedule=schedule, now=when
        )

    async def staff_sign_in(
        session: AsyncSession, email: str, payload: Mapping[str, Any], when: datetime
    ) -> None:
        await staff_sessions.request_link(
            session, email, composer=mail.composer, base_url=base_url, now=when
        )

    async def lost_link(
        session: AsyncSession, email: str, payload: Mapping[str, Any], when: datetime
    ) -> None:
        await subscribers.send_lost_link(
            session, email, mail=mail, taxonomy=taxonomy, schedule=schedule, now=when
        )

    return {SUBSCRIBE: subscribe, LOST: lost_link, STAFF_SIGN_IN: staff_sign_in}
