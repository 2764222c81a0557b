"""Writing domain events to the outbox, inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.briefs.models import Brief
from service.events.models import Event, EventType


def record(
    session: AsyncSession, brief: Brief, type_: EventType, *, now: datetime, payload: dict[str, Any]
) -> Event:
    """Add an event row; it commits, or not, with the change it describes."""
    event = Event(
        type=type_.value,
        brief_id=brief.id,
        revision=brief.revision,
        occurred_at=now,
        available_at=now,
        payload=payload,
        status="pending",
        attempts=0,
        handled=[],
    )
    session.add(event)
    return event
