"""Old bodies are dropped by a job of the service's scheduler, at start-up and every hour, not
by the mail worker (decision 0002: bodies are kept 30 days after they were sent)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from learnhub.app import create_app
from service.mail import purge
from service.mail.compose import Composer
from service.mail.models import MailMessage, MailStatus
from service.mail.service import enqueue_many
from service.settings import Settings
from tests.conftest import Clock
from tests.mail.helpers import mail, messages
from tests.waiting import until


async def sent(
    sessions: async_sessionmaker[AsyncSession], composer: Composer, n: int, at: datetime
) -> None:
    async with sessions.begin() as session:  # one transaction: no worker sends it meanwhile
        await enqueue_many(session, [mail(n)], composer=composer, now=at)
        await session.execute(
            update(MailMessage)
            .where(MailMessage.recipient == f"reader{n}@example.org")
            .values(status=MailStatus.sent.value, sent_at=at)
        )


async def bodies(sessions: async_sessionmaker[AsyncSession]) -> list[bool]:
    return [m.body is not None for m in await messages(sessions)]


async def test_purge_drops_the_bodies_sent_30_days_ago_and_says_so(
    sessions: async_sessionmaker[AsyncSession],
    composer: Composer,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="service.mail.purge")
    await sent(sessions, composer, 1, clock() - timedelta(days=31))
    await sent(sessions, composer, 2, clock() - timedelta(days=29))
    assert await purge.purge(sessions, clock) == 1
    assert await bodies(sessions) == [False, True]
    assert [r.getMessage() for r in caplog.records] == [
        "mail: dropped the bodies of 1 old messages"
    ]

    caplog.clear()
    assert await purge.purge(sessions, clock) == 0
    assert caplog.records == []  # nothing dropped, nothing said


@pytest.mark.parametrize("status", [MailStatus.failed, MailStatus.cancelled])
async def test_a_message_never_sent_loses_its_body_30_days_after_it_was_queued(
    sessions: async_sessionmaker[AsyncSession], composer: Composer, clock: Clock, status: str
) -> None:
    """Its body holds the person's own links: kept no longer than a sent one's (found by
    review: only sent messages were purged, failed and cancelled ones kept theirs)."""
    for n, age in ((1, 31), (2, 29)):
        async with sessions.begin() as session:
            queued = clock() - timedelta(days=age)
            await enqueue_many(session, [mail(n)], composer=composer, now=queued)
            await session.execute(
                update(MailMessage)
                .where(MailMessage.recipient == f"reader{n}@example.org")
                .values(status=status)
            )
    assert await purge.purge(sessions, clock) == 1
    assert await bodies(sessions) == [False, True]


async def test_the_service_drops_old_bodies_at_start_up_and_every_hour(
    aiohttp_client: Any,
    settings: Settings,
    clock: Clock,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    composer: Composer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(purge, "EVERY", timedelta(seconds=0.2))  # the hour, shortened
    await sent(sessions, composer, 1, clock() - timedelta(days=31))
    await aiohttp_client(create_app(settings, clock=clock))
    await until(lambda: _none_kept(sessions, 1), within=10, what="purged at start-up")

    await sent(sessions, composer, 2, clock() - timedelta(days=31))
    await until(lambda: _none_kept(sessions, 2), within=10, what="purged on schedule")


async def _none_kept(sessions: async_sessionmaker[AsyncSession], count: int) -> bool:
    return await bodies(sessions) == [False] * count
