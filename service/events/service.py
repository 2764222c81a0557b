"""Writing domain events to the outbox, inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.briefs.models import Audience, Brief
from service.events.models import Event, EventType

# PostgreSQL delivers a NOTIFY on this channel when the transaction that wrote events commits,
# so that dispatchers in every instance wake at once instead of at their next poll.
CHANNEL = "learnhub_events"


async def record(
    session: AsyncSession,
    brief: Brief,
    type_: EventType,
    *,
    now: datetime,
    payload: dict[str, Any],
    was_public: bool = False,
) -> Event:
    """Add an event row; it commits, or not, with the change it describes.

    The payload always names the brief's publication; ``was_public`` says the brief was
    public before this change (it is public after it if its audience is public now).
    """
    event = Event(
        type=type_.value,
        brief_id=brief.id,
        revision=brief.revision,
        public=was_public or brief.audience == Audience.public,
        occurred_at=now,
        available_at=now,
        payload={**payload, "publication": brief.publication},
        status="pending",
        attempts=0,
        handled=[],
    )
    session.add(event)
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(func.pg_notify(CHANNEL, "")))
    return event
