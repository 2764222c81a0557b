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
        # Real time: a slow database is a peer whose wall time the worker lives with (its
        # lanes go on sending meanwhile, up to the bound); the clock plays no part in it.
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
            # Real time, as a rate-capped relay takes it: what runs beside a send on wall
            # time (the heartbeat, every ``heartbeat`` seconds) gets its turns.
            await asyncio.sleep(self.pause)
        self.clock.advance(minutes=self.minutes)
        self.sent.append(recipient)

    async def close(self) -> None:
        pass


class GatedRelay:
    """A relay that holds each message until the test lets it go (``release``), and the
    worker's lane with it; it records whom it was given and whom it sent to."""

    def __init__(self) -> None:
        self.holding: list[str] = []  # given, not yet let go
        self.sent: list[str] = []
        self._gate: asyncio.Queue[None] = asyncio.Queue()
        self._open = False

    def release(self) -> None:
        """Let the message held (or the next one given) go through."""
        self._gate.put_nowait(None)

    def open(self) -> None:
        """Let everything through from now on: the test is over, the worker may stop."""
        self._open = True
        for _ in self.holding:
            self._gate.put_nowait(None)

    async def send(self, message: bytes, *, sender: str, recipient: str) -> None:
        self.holding.append(recipient)
        if not self._open:
            await self._gate.get()
        self.holding.remove(recipient)
        self.sent.append(recipient)

    async def close(self) -> None:
        pass


class Claims:
    """Records the worker's claims: when, on its clock, and which rows each took."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.made: list[tuple[datetime, list[int]]] = []
        claim = mail_queue.claim

        async def recorded_claim(*args: Any, **kwargs: Any) -> list[mail_queue.Claimed]:
            claimed = await claim(*args, **kwargs)
            self.made.append((kwargs["now"], [c.id for c in claimed]))
            return claimed

        monkeypatch.setattr(mail_queue, "claim", recorded_claim)

    def since(self, moment: datetime) -> list[list[int]]:
        """The rows taken by each claim made at ``moment`` or later."""
        return [ids for now, ids in self.made if now >= moment]


class Database:
    """Makes the worker's writes fail while ``away``, and its claims while ``claims_away``;
    counts the writes and claims that failed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.away = True
        self.claims_away = False
        self.failed_writes = self.failed_claims = 0
        record, claim = mail_queue.record, mail_queue.claim

        async def flaky_record(*args: Any, **kwargs: Any) -> None:
            if self.away:
                self.failed_writes += 1
                raise ConnectionError("the database is away")
            await record(*args, **kwargs)

        async def flaky_claim(*args: Any, **kwargs: Any) -> list[mail_queue.Claimed]:
            if self.claims_away:
                self.failed_claims += 1
                raise ConnectionError("the database is away")
            return await claim(*args, **kwargs)

        monkeypatch.setattr(mail_queue, "record", flaky_record)
        monkeypatch.setattr(mail_queue, "claim", flaky_claim)
