"""Counting subscribers: how many confirmed subscribers chose each frequency and each code.

Read-only counts for the console's reach page; nothing here is personal data.
"""

from __future__ import annotations

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.taxonomy import FACETS, Facet
from subscribers.subscriptions.masks import MASK
from subscribers.subscriptions.models import Subscriber, SubscriptionCode, SubscriptionState

EVERYTHING = ""  # in confirmed_by_code's answer: those who left the facet empty

_CONFIRMED = (
    Subscriber.status == SubscriptionState.active.value,
    Subscriber.confirmed_at.is_not(None),
)


async def confirmed_by_frequency(session: AsyncSession) -> dict[str, int]:
    """Confirmed subscribers per frequency; a frequency nobody chose is absent."""
    rows = await session.execute(_BY_FREQUENCY)
    return {frequency: count for frequency, count in rows}


async def confirmed_by_code(session: AsyncSession, facet: Facet) -> dict[str, int]:
    """Confirmed subscribers per chosen code; EVERYTHING counts those who left the facet empty."""
    rows = await session.execute(_BY_CODE, {"facet": facet})
    everything = await session.scalar(_EVERYTHING[facet])
    return {code: count for code, count in rows} | {EVERYTHING: everything or 0}


# Statements built once.
_BY_FREQUENCY = (
    select(Subscriber.frequency, func.count()).where(*_CONFIRMED).group_by(Subscriber.frequency)
)
_BY_CODE = (
    select(SubscriptionCode.code, func.count())
    .join(Subscriber, Subscriber.id == SubscriptionCode.subscriber_id)
    .where(SubscriptionCode.facet == bindparam("facet"), *_CONFIRMED)
    .group_by(SubscriptionCode.code)
)
_EVERYTHING = {facet: select(func.count()).where(MASK[facet] == 0, *_CONFIRMED) for facet in FACETS}
