"""The worker while the database is slow or away: it neither sends twice nor hangs, and says
so once. (A second review's reproductions, kept as tests.)"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.mail import queue as mail_queue
from service.mail.compose import Composer
from service.mail.senders import SmtpSender
from tests.conftest import Clock
from tests.mail.conftest import MakeWorker
from tests.mail.helpers import (
    Database,
    mail,
    messages,
    queue,
    slow_writes,
    suppression,
    until_all_sent,
)
from tests.smtp import SmtpServer
from tests.waiting import until


async def test_a_running_worker_does_not_resend_what_it_could_not_record(
    sessions: async_sessionmaker[AsyncSession],
    composer: Composer,
    clock: Clock,
    smtp_server: SmtpServer,
    smtp_sender: SmtpSender,
    make_worker: MakeWorker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    database = Database(monkeypatch)
    worker = make_worker(smtp_sender, batch_size=200, poll_interval=0.05)
    await queue(sessions, composer, clock(), [mail(n) for n in range(3)])
    worker.start()
    await smtp_server.received(3)
    await until(lambda: database.failed_writes > 0, within=10, what="a write failed")
    clock.advance(minutes=6)  # the outage outlasts the lease: the rows are claimable again
    worker.wake()
    database.away = False
    # The recorder tries again a couple of seconds after its failure; claims work all the
    # while, and must not take the rows whose outcomes wait to be written.
    await until_all_sent(sessions)
    await worker.stop()
    assert Counter(smtp_server.recipients()) == {f"reader{n}@example.org": 1 for n in range(3)}


async def test_an_outage_longer_than_the_lease_sends_nothing_twice(
    sessions: async_sessionmaker[AsyncSession],
    composer: Composer,
    clock: Clock,
    smtp_server: SmtpServer,
    smtp_sender: SmtpSender,
    make_worker: MakeWorker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    database = Database(monkeypatch)  # the sends' outcomes cannot be written
    worker = make_worker(smtp_sender, batch_size=200, poll_interval=0.5)
    await queue(sessions, composer, clock(), [mail(n) for n in range(3)])
    worker.start()
    await smtp_server.received(3)
    database.claims_away = True  # then nothing works, for longer than the lease
    # (No claim is tried meanwhile: none is while outcomes cannot be written.)
    await until(lambda: database.failed_writes >= 2, within=10, what="a write tried again")
    clock.advance(minutes=6)
    database.away = database.claims_away = False
    # Claims work again at once, writes at the recorder's next try, seconds later.
    await until_all_sent(sessions)
    await worker.stop()
    assert Counter(smtp_server.recipients()) == {f"reader{n}@example.org": 1 for n in range(3)}
    assert {m.status for m in await messages(sessions)} == {"sent"}


async def test_run_once_in_an_outage_raises_and_the_next_one_works(
    sessions: async_sessionmaker[AsyncSession],
    composer: Composer,
    clock: Clock,
    smtp_server: SmtpServer,
    smtp_sender: SmtpSender,
    make_worker: MakeWorker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    database = Database(monkeypatch)
    worker = make_worker(smtp_sender, batch_size=20, concurrency=4)  # a write every 5
    await queue(sessions, composer, clock(), [mail(n) for n in range(20)])
    with pytest.raises(ConnectionError):
        await asyncio.wait_for(worker.run_once(), 15)
    sent_during = len(smtp_server.messages)
    assert sent_during <= 2 * 5 + 4  # the rest handed back untried
    database.away = False
    await queue(sessions, composer, clock(), [mail(100)])
    while await asyncio.wait_for(worker.run_once(), 10):
        pass
    # What was sent in the outage was written once the database was back, not sent again.
    assert Counter(smtp_server.recipients()).most_common(1)[0][1] == 1
    assert len(smtp_server.messages) == 21


@pytest.mark.parametrize("count", [17, 30])
async def test_run_once_ends_with_a_slow_database(
    sessions: async_sessionmaker[AsyncSession],
    composer: Composer,
    clock: Clock,
    smtp_server: SmtpServer,
    smtp_sender: SmtpSender,
    make_worker: MakeWorker,
    monkeypatch: pytest.MonkeyPatch,
    count: int,
) -> None:
    slow_writes(monkeypatch)
    worker = make_worker(smtp_sender, batch_size=count, concurrency=4)
    await queue(sessions, composer, clock(), [mail(n) for n in range(count)])
    assert await asyncio.wait_for(worker.run_once(), 15) == count
    assert {m.status for m in await messages(sessions)} == {"sent"}


async def test_outcomes_left_by_a_stop_in_an_outage_are_written_by_the_next_run(
    sessions: async_sessionmaker[AsyncSession],
    composer: Composer,
    clock: Clock,
    smtp_server: SmtpServer,
    smtp_sender: SmtpSender,
    make_worker: MakeWorker,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    database = Database(monkeypatch)
    monkeypatch.setattr("service.mail.worker.FINAL_TRIES", 0)
    worker = make_worker(smtp_sender, batch_size=200)
    await queue(sessions, composer, clock(), [mail(n) for n in range(3)])
    worker.start()
    await smtp_server.received(3)
    await worker.stop()
    assert any("3 outcomes unrecorded" in r.getMessage() for r in caplog.records)
    database.away = False
    clock.advance(minutes=6)
    while await worker.run_once():
        pass
    assert len(smtp_server.messages) == 3
    assert {m.status for m in await messages(sessions)} == {"sent"}


async def test_a_worker_started_again_after_a_stop_in_an_outage_sends_again(
    sessions: async_sessionmaker[AsyncSession],
    composer: Composer,
    clock: Clock,
    smtp_server: SmtpServer,
    smtp_sender: SmtpSender,
    make_worker: MakeWorker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    database = Database(monkeypatch)
    monkeypatch.setattr("service.mail.worker.FINAL_TRIES", 0)
    worker = make_worker(smtp_sender, batch_size=200)
    await queue(sessions, composer, clock(), [mail(n) for n in range(3)])
    worker.start()
    await smtp_server.received(3)
    await worker.stop()  # the outcomes unwritten
    database.away = False
    worker.start()  # writes them first, then claims as before
    await queue(sessions, composer, clock(), [mail(3)])
    worker.wake()
    await smtp_server.received(4)
    await until_all_sent(sessions)
    assert len(smtp_server.messages) == 4


async def test_a_late_permanent_failure_is_counted_once(
    sessions: async_sessionmaker[AsyncSession], composer: Composer, clock: Clock
) -> None:
    lease, address = timedelta(minutes=5), "gone@example.org"
    await queue(sessions, composer, clock(), [mail(1, recipient=address)])
    async with sessions.begin() as session:
        first = await mail_queue.claim(session, now=clock(), lease=lease, limit=10)
    clock.advance(minutes=6)
    async with sessions.begin() as session:
        second = await mail_queue.claim(session, now=clock(), lease=lease, limit=10)
    for claimed in (first[0], second[0]):  # the late worker's refusal, then the new one's
        async with sessions.begin() as session:
            await mail_queue.record(
                session,
                [mail_queue.Result(claimed, mail_queue.Outcome.permanent, "550 gone")],
                now=clock(),
                policy=mail_queue.RetryPolicy(),
                rng=random.Random(1),  # noqa: S311
            )
    state = await suppression(sessions, address)
    assert state is not None and state.consecutive_failures == 1


async def test_claims_failing_are_logged_once(
    smtp_sender: SmtpSender,
    make_worker: MakeWorker,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="service.mail.worker")
    database = Database(monkeypatch)
    database.claims_away = True
    worker = make_worker(smtp_sender, poll_interval=0.05)
    worker.start()
    await until(lambda: database.failed_claims >= 3, within=10, what="three claims failed")
    await worker.stop()
    assert sum("claiming failed" in r.getMessage() for r in caplog.records) == 1
