"""Reach: who is subscribed, and how many people each brief was sent to.

Read-only counts over the subscriber and mail tables; nothing here is personal data.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from aiohttp import web
from sqlalchemy import ColumnElement, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.console.auth import page, staff_only
from service.briefs.models import Brief
from service.keys import readonly_key, tagging_key
from service.mail.models import MailDelivery, MailMessage, MailStatus
from service.taxonomy import Facet
from subscribers.masks import MASK
from subscribers.models import Personal, Subscriber, SubscriptionCode

routes = web.RouteTableDef()
EVERYTHING = ""  # in by_code's answer: those who left the facet empty


def _confirmed() -> list[ColumnElement[bool]]:
    return [Subscriber.status == Personal.active.value, Subscriber.confirmed_at.is_not(None)]


async def by_frequency(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(Subscriber.frequency, func.count())
        .where(*_confirmed())
        .group_by(Subscriber.frequency)
    )
    return {frequency: count for frequency, count in rows}


async def by_code(session: AsyncSession, facet: Facet) -> dict[str, int]:
    """Confirmed subscribers per chosen code; EVERYTHING counts those who left the facet empty."""
    rows = await session.execute(
        select(SubscriptionCode.code, func.count())
        .join(Subscriber, Subscriber.id == SubscriptionCode.subscriber_id)
        .where(SubscriptionCode.facet == facet, *_confirmed())
        .group_by(SubscriptionCode.code)
    )
    everything = await session.scalar(select(func.count()).where(MASK[facet] == 0, *_confirmed()))
    return {code: count for code, count in rows} | {EVERYTHING: everything or 0}


async def sent_counts(
    session: AsyncSession, brief_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """How many different people were sent each brief, in any revision, by alert or digest."""
    if not brief_ids:
        return {}
    rows = await session.execute(
        select(MailDelivery.brief_id, func.count(distinct(MailMessage.recipient)))
        .join(MailMessage, MailMessage.id == MailDelivery.message_id)
        .where(MailMessage.status == MailStatus.sent.value, MailDelivery.brief_id.in_(brief_ids))
        .group_by(MailDelivery.brief_id)
    )
    return {brief_id: count for brief_id, count in rows}


@routes.get("/staff/reach")
@staff_only()
async def reach(request: web.Request) -> web.Response:
    taxonomy = request.app[tagging_key].taxonomy
    async with request.app[readonly_key]() as session:
        frequencies = await by_frequency(session)
        agencies = await by_code(session, "agencies")
        boroughs = await by_code(session, "boroughs")
        published = list(
            await session.scalars(
                select(Brief)
                .where(Brief.published_at.is_not(None))
                .order_by(Brief.published_at.desc())
            )
        )
        sent = await sent_counts(session, [b.id for b in published])
    context = {
        "total": sum(frequencies.values()),
        "frequencies": [
            (f.capitalize(), frequencies.get(f, 0)) for f in ("immediate", "daily", "weekly")
        ],
        "agencies": [("All agencies", agencies[EVERYTHING])]
        + [(t.label, agencies.get(t.code, 0)) for t in taxonomy.terms("agencies")],
        "boroughs": [("All of Merseyside", boroughs[EVERYTHING])]
        + [(t.label, boroughs.get(t.code, 0)) for t in taxonomy.terms("boroughs")],
        "briefs": [(b, sent.get(b.id, 0)) for b in published],
    }
    return page("console/reach.html", request, context)
