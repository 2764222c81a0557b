"""An SMTP outage is said in the log, once as it starts and once as it ends, with how much
mail it deferred (issue 16, finding 9); one message's own temporary failure is not one."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.mail.compose import Composer
from service.mail.senders import SmtpSender
from tests.conftest import Clock
from tests.mail.conftest import MakeWorker
from tests.mail.helpers import mail, messages, queue, until_all_sent
from tests.smtp import SmtpServer
from tests.waiting import until

WORKER = "service.mail.worker"


def said(caplog: pytest.LogCaptureFixture, level: int, words: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == WORKER and r.levelno == level and words in r.getMessage()
    ]


async def tried(sessions: async_sessionmaker[AsyncSession], times: int) -> bool:
    queued = await messages(sessions)
    return bool(queued) and all(m.attempts == times and m.status == "pending" for m in queued)


async def test_an_smtp_outage_is_logged_once_as_it_starts_and_once_as_it_ends(
    sessions: async_sessionmaker[AsyncSession],
    composer: Composer,
    clock: Clock,
    smtp_server: SmtpServer,
    smtp_sender: SmtpSender,
    make_worker: MakeWorker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=WORKER)
    smtp_server.stop()
    worker = make_worker(smtp_sender, poll_interval=0.05)
    await queue(sessions, composer, clock(), [mail(n) for n in range(8)])
    worker.start()
    await until(lambda: tried(sessions, 1), within=10, what="all tried once")
    clock.advance(minutes=2)  # past the first backoff: all are tried, and fail, again
    worker.wake()
    await until(lambda: tried(sessions, 2), within=10, what="all tried twice")
    [started] = said(caplog, logging.WARNING, "sending is failing")
    assert "cannot connect" in started
    assert said(caplog, logging.INFO, "works again") == []

    smtp_server.start()
    clock.advance(minutes=5)
    worker.wake()
    await until_all_sent(sessions)
    await worker.stop()
    [ended] = said(caplog, logging.INFO, "sending works again")
    assert "after 420 s; 8 messages were deferred during the outage (16 failed attempts)" in ended
    assert len(said(caplog, logging.WARNING, "sending is failing")) == 1


async def test_one_messages_temporary_failure_is_not_an_outage(
    sessions: async_sessionmaker[AsyncSession],
    composer: Composer,
    clock: Clock,
    smtp_server: SmtpServer,
    smtp_sender: SmtpSender,
    make_worker: MakeWorker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=WORKER)
    smtp_server.refuse("greylisted@example.org", "451 4.7.1 Greylisted, try later")
    worker = make_worker(smtp_sender, concurrency=1)
    await queue(
        sessions,
        composer,
        clock(),
        [mail(n) for n in range(3)] + [mail(9, recipient="greylisted@example.org")],
    )
    assert await worker.run_once() == 4
    clock.advance(minutes=2)
    assert await worker.run_once() == 1
    assert len(smtp_server.messages) == 3
    assert said(caplog, logging.WARNING, "") == []
