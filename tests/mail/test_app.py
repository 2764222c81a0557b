"""The app builds the composer, the sender from the settings and the worker, and runs it."""

from __future__ import annotations

import mailbox
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from learnhub.app import create_app
from learnhub.keys import composer_key, mail_worker_key, sessions_key
from service.mail.service import enqueue
from service.settings import Settings
from tests.conftest import Clock
from tests.mail.helpers import mail


async def test_without_workers_the_test_drives_the_worker(
    aiohttp_client: Any, settings: Settings, clock: Clock, engine: AsyncEngine
) -> None:
    app = create_app(settings, clock=clock, run_workers=False)
    await aiohttp_client(app)
    worker = app[mail_worker_key]
    assert not worker.running
    async with app[sessions_key].begin() as session:
        await enqueue(session, mail(1), composer=app[composer_key], now=clock())
    assert await worker.run_once() == 1
    # No LEARNHUB_SMTP_URL in the test settings: the mail went to the Maildir.
    [letter] = mailbox.Maildir(settings.maildir, create=False)
    assert letter["To"] == "reader1@example.org"


async def test_the_worker_runs_with_the_app(
    aiohttp_client: Any, settings: Settings, clock: Clock, engine: AsyncEngine
) -> None:
    app = create_app(settings, clock=clock)
    await aiohttp_client(app)
    assert app[mail_worker_key].running
