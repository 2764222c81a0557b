"""Making subscribers directly in the database, for tests that are not about subscribing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from subscribers.subscriptions.models import Subscriber, SubscriptionState
from subscribers.subscriptions.service import get_or_create, set_filters


async def person(
    session: AsyncSession,
    email: str,
    frequency: str = "immediate",
    *,
    since: datetime,
    status: str = "active",
    paused: bool = False,
    **filters: list[str],
) -> Subscriber:
    """A subscriber who confirmed (consented) at ``since``."""
    subscriber = await get_or_create(session, email, since)
    subscriber.status, subscriber.frequency = status, frequency
    if status == SubscriptionState.active:
        subscriber.confirmed_at = subscriber.consented_at = since
    subscriber.paused_at = since if paused else None
    await set_filters(session, subscriber, filters)  # type: ignore[arg-type]
    await session.flush()
    return subscriber
