"""Building and reading mail rows in tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.mail.compose import Composer
from service.mail.models import MailMessage, MailSuppression
from service.mail.service import Outgoing, enqueue_many


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
