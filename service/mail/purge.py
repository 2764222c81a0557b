"""Old bodies are dropped: a message's body is kept 30 days after it was sent (decision 0002).

Its row stays, and so do its deliveries (which brief, at which revision, went in which
message), the board's evidence. This is a job of the service's scheduler, every ``EVERY``
and once at start-up (learnhub.schedule), not of the mail worker: it has nothing to do with
sending, and each instance may run it (a second purge finds nothing left to drop).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.clock import Clock
from service.mail.service import purge_bodies

logger = logging.getLogger(__name__)
EVERY = timedelta(hours=1)


async def purge(sessions: async_sessionmaker[AsyncSession], clock: Clock) -> int:
    """Drop the bodies of messages sent more than 30 days ago; returns how many."""
    async with sessions.begin() as session:
        purged = await purge_bodies(session, now=clock())
    if purged:
        logger.info("mail: dropped the bodies of %d old messages", purged)
    return purged
