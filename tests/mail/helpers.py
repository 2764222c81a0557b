"""Building and reading mail rows in tests."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.mail import queue as mail_queue
from service.mail.compose import Composer
from service.mail.models import MailMessage, MailSuppression
from service.mail.service import Outgoing, enqueue_many
from tests.conftest import Clock


def mail(
    n: int, *, recipient: str | None = None, key: str | None = None, **extra: object
) -> Outgoing:
    return Outgoing(
        kind="test",
        recipient=recipient or f"reader{n}@example.org",
        key=key or f"test:{n}",
        context={
            "subject": f"Learning brief {n}",
            "heading": f"What we learned, number {n}",
            "paragraphs": ["Professional curiosity & escalation.", "Think family."],
        },
        unsubscribe_url=f"https://learnhub.example/unsubscribe/token{n}",
        **extra,  # type: ignore[arg-type]
    )


async def queue(
    sessions: async_sessionmaker[AsyncSession],
    composer: Composer,
    now: datetime,
    outgoings: Sequence[Outgoing],
) -> int:
    async with sessions.begin() as session:
        return await enqueue_many(session, outgoings, composer=composer, now=now)


async def messages(sessions: async_sessionmaker[AsyncSession]) -> list[MailMessage]:
    async with sessions() as session:
        return list(await session.scalars(select(MailMessage).order_by(MailMessage.id)))


async def suppression(
    sessions: async_sessionmaker[AsyncSession], email: str
) -> MailSuppression | None:
    async with sessions() as session:
        return await session.get(MailSuppression, email)


async def until_all_sent(sessions: async_sessionmaker[AsyncSession], within: float = 10) -> None:
    """Wait until every message is recorded as sent (a running worker writes soon after)."""
    for _ in range(int(within / 0.02)):
        if {m.status for m in await messages(sessions)} == {"sent"}:
            return
        await asyncio.sleep(0.02)
    pytest.fail(f"not all sent: {Counter(m.status for m in await messages(sessions))}")


def slow_writes(monkeypatch: pytest.MonkeyPatch, seconds: float = 0.3) -> None:
    """The worker's writes of outcomes take ``seconds`` (the writer held by a large insert)."""
    record = mail_queue.record

    async def slow_record(*args: Any, **kwargs: Any) -> None:
        await asyncio.sleep(seconds)
        await record(*args, **kwargs)

    monkeypatch.setattr(mail_queue, "record", slow_record)


class TimedSender:
    """A sender each message of which takes ``minutes`` of the test clock (and ``pause`` real
    seconds, so that other tasks run meanwhile); it records whom it sent to."""

    def __init__(self, clock: Clock, *, minutes: float, pause: float = 0) -> None:
        self.clock = clock
        self.minutes = minutes
        self.pause = pause
        self.sent: list[str] = []

    async def send(self, message: bytes, *, sender: str, recipient: str) -> None:
        if self.pause:
            await asyncio.sleep(self.pause)
        self.clock.advance(minutes=self.minutes)
        self.sent.append(recipient)

    async def close(self) -> None:
        pass


class Database:
    """Makes the worker's writes fail while ``away``, and its claims while ``claims_away``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.away = True
        self.claims_away = False
        record, claim = mail_queue.record, mail_queue.claim

        async def flaky_record(*args: Any, **kwargs: Any) -> None:
            if self.away:
                raise ConnectionError("the database is away")
            await record(*args, **kwargs)

        async def flaky_claim(*args: Any, **kwargs: Any) -> list[mail_queue.Claimed]:
            if self.claims_away:
                raise ConnectionError("the database is away")
            return await claim(*args, **kwargs)

        monkeypatch.setattr(mail_queue, "record", flaky_record)
        monkeypatch.setattr(mail_queue, "claim", flaky_claim)
