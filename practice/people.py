"""What learning into practice holds about a person: in their export, and gone (or unnamed)
with their erasure. The subscriber's own data is subscribers.subscriptions'; this adds to it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from practice.acknowledgements import service as acknowledgements
from practice.discussions import service as discussions
from subscribers.subscriptions import service as subscriptions
from subscribers.subscriptions.models import Subscriber


async def export(session: AsyncSession, subscriber: Subscriber) -> dict[str, Any]:
    """Their acknowledgements and the team discussions they recorded."""
    return {
        "acknowledgements": await acknowledgements.export(session, subscriber.id),
        "team_discussions": await discussions.held_for(session, subscriber.email),
    }


async def erase(session: AsyncSession, subscriber: Subscriber) -> None:
    """Erase the person: their acknowledgements go with their row (ON DELETE CASCADE); the
    discussions they recorded are the team's and stay, with nobody named as recorder."""
    await discussions.forget(session, subscriber.email)
    await subscriptions.erase(session, subscriber)
