"""Fixtures of the mail tests: a real SMTP server, a sender on it, workers on the test clock."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.mail.compose import Composer
from service.mail.senders import Sender, SmtpSender
from service.mail.worker import MailWorker
from service.settings import Settings
from tests.conftest import Clock
from tests.smtp import SmtpServer, smtp_server

__all__ = ["smtp_server"]


@pytest.fixture
def composer(settings: Settings) -> Composer:
    return Composer.from_settings(settings)


@pytest.fixture
async def smtp_sender(smtp_server: SmtpServer) -> AsyncIterator[SmtpSender]:
    sender = SmtpSender.from_url(smtp_server.url, concurrency=4)
    yield sender
    await sender.close()


MakeWorker = Callable[..., MailWorker]


@pytest.fixture
async def make_worker(
    sessions: async_sessionmaker[AsyncSession], clock: Clock, composer: Composer
) -> AsyncIterator[MakeWorker]:
    """Workers on the test clock, with a seeded jitter; each is stopped after the test."""
    made: list[MailWorker] = []

    def make(sender: Sender, **options: Any) -> MailWorker:
        options.setdefault("rng", random.Random(7))  # noqa: S311  # seeded jitter
        options.setdefault("batch_size", 50)
        worker = MailWorker(
            options.pop("sessions", sessions),
            sender,
            options.pop("clock", clock),
            envelope_from=composer.envelope_from,
            **options,
        )
        made.append(worker)
        return worker

    yield make
    for worker in made:
        await worker.stop()
