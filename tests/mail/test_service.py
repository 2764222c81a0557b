"""Queueing: idempotent by key, in bulk without a query per message, never to suspended
addresses; retention drops bodies but keeps the evidence of who was sent what."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import event, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from service.mail.compose import Composer
from service.mail.models import MailDelivery, MailMessage, MailStatus, MailSuppression
from service.mail.service import MESSAGES_A_PAGE, Carried, enqueue, purge_bodies, suppressed
from tests.conftest import Clock
from tests.mail.helpers import mail, messages, queue

BRIEF = uuid.UUID("7d5e0c1a-4a61-4f43-9a55-5d8d6a1f0b11")


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


async def test_the_same_key_twice_is_one_email(
    sessions: async_sessionmaker[AsyncSession], composer: Composer, clock: Clock
) -> None:
    first = mail(1, briefs=[Carried(BRIEF, 2, 1, "A brief")])
    async with sessions.begin() as session:
        assert await enqueue(session, first, composer=composer, now=clock()) is True
    async with sessions.begin() as session:
        assert await enqueue(session, first, composer=composer, now=clock()) is False
    # Within one call too: the first of two messages with one key wins.
    assert await queue(sessions, composer, clock(), [mail(2), mail(3, key="test:2")]) == 1

    rows = await messages(sessions)
    assert [(m.idempotency_key, m.recipient, m.status) for m in rows] == [
        ("test:1", "reader1@example.org", "pending"),
        ("test:2", "reader2@example.org", "pending"),
    ]
    async with sessions() as session:
        deliveries = (
            await session.execute(select(MailDelivery.brief_id, MailDelivery.revision))
        ).all()
    assert [tuple(d) for d in deliveries] == [(BRIEF, 2)]


async def test_bulk_queueing_is_a_few_statements_per_500_messages(
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    composer: Composer,
    clock: Clock,
) -> None:
    outgoings = [
        mail(i, briefs=[Carried(BRIEF, 1, 1, "A"), Carried(uuid.uuid4(), 1, 1, "B")])
        for i in range(1001)
    ]
    with statements(engine) as seen:
        assert await queue(sessions, composer, clock(), outgoings) == 1001
    inserts = [s for s in seen if s.lstrip().upper().startswith("INSERT")]
    # Three chunks (500, 500, 1): each a look-up of known keys, one of suspended addresses,
    # the messages' INSERT in pages of MESSAGES_A_PAGE rows and one INSERT of deliveries;
    # nothing per message.
    pages = 2 * -(-500 // MESSAGES_A_PAGE) + 1
    assert len(inserts) == pages + 3
    assert len(seen) <= pages + 9 + 2  # and BEGIN, COMMIT where the driver shows them
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(MailDelivery)) == 2002
    # A rerun of the whole lot queues nothing, and renders nothing either.
    with statements(engine) as seen:
        assert await queue(sessions, composer, clock(), outgoings) == 0
    assert not [s for s in seen if s.lstrip().upper().startswith("INSERT")]


async def test_suspended_addresses_are_not_queued(
    sessions: async_sessionmaker[AsyncSession], composer: Composer, clock: Clock
) -> None:
    async with sessions.begin() as session:
        session.add(
            MailSuppression(
                email="reader1@example.org", consecutive_failures=3, suspended_at=clock()
            )
        )
        session.add(MailSuppression(email="reader2@example.org", consecutive_failures=2))
    async with sessions() as session:
        assert await suppressed(session, ["READER1@example.org", "reader2@example.org"]) == {
            "reader1@example.org"
        }
    assert await queue(sessions, composer, clock(), [mail(1), mail(2)]) == 1
    assert [m.recipient for m in await messages(sessions)] == ["reader2@example.org"]


async def test_retention_drops_old_bodies_and_keeps_deliveries(
    sessions: async_sessionmaker[AsyncSession], composer: Composer, clock: Clock
) -> None:
    await queue(
        sessions, composer, clock(), [mail(i, briefs=[Carried(BRIEF, 1, 1, "A")]) for i in range(3)]
    )
    first, second, _pending = await messages(sessions)
    async with sessions.begin() as session:
        for message, sent_at in ((first, clock()), (second, clock() + timedelta(days=20))):
            await session.execute(
                update(MailMessage)
                .where(MailMessage.id == message.id)
                .values(status=MailStatus.sent.value, sent_at=sent_at)
            )

    clock.advance(days=31)
    async with sessions.begin() as session:
        assert await purge_bodies(session, now=clock()) == 1
    bodies = [m.body is not None for m in await messages(sessions)]
    assert bodies == [False, True, True]  # the pending one is never touched
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(MailDelivery)) == 3
        assert await session.scalar(select(func.count()).select_from(MailMessage)) == 3
