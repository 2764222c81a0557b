"""The running worker under uneven flow: a slow relay that never lets it idle, a database that
is slow or away while outcomes are written, a send that is cancelled, mail that arrives in
small batches, and failures and successes to one address in one write."""

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
    GatedRelay,
    mail,
    messages,
    queue,
    slow_writes,
    suppression,
    until_all_sent,
)
from tests.smtp import SmtpServer
from tests.waiting import until


async def test_a_busy_worker_writes_outcomes_before_their_lease_ends(
    sessions: async_sessionmaker[AsyncSession],
    composer: Composer,
    clock: Clock,
    make_worker: MakeWorker,
) -> None:
    # Mail arrives a little faster than the relay takes it (a minute a message): the worker
    # is never idle, and far fewer than a write's worth of outcomes (50) come in per lease
    # (5 minutes). Each must still be written in time, or its row would be claimed again
    # and sent twice. The test moves the clock and lets each message through itself, so
    # what happens in what order is the same however busy the machine is.
    count = 20
    relay = GatedRelay()
    worker = make_worker(relay, concurrency=1, batch_size=200, lease=timedelta(minutes=5))
    worker.start()

    async def reaches(n: int, status: str) -> None:
        async def there() -> bool:
            return (reader(n), status) in {
                (m.recipient, m.status) for m in await messages(sessions)
            }

        await until(there, within=10, what=f"message {n} {status}", step=0.005)

    async def arrives(n: int) -> None:
        await queue(sessions, composer, clock(), [mail(n)])
        worker.wake()
        await reaches(n, "sending")  # claimed

    async def on_the_relay(n: int) -> None:
        await until(lambda: relay.holding == [reader(n)], within=10, what=f"{n} on the relay")

    try:
        await arrives(0)
        await arrives(1)
        for n in range(count):
            await on_the_relay(n)
            if n + 2 < count:
                # Claimed after n + 1 was: n + 1 waits in the inbox as n ends, so the lane
                # never idles.
                await arrives(n + 2)
            clock.advance(minutes=1)
            relay.release()  # n is sent, a minute after n - 1
            if n > 0:
                # Written a minute after it was sent at most, where a write's worth takes 50.
                await reaches(n - 1, "sent")
    finally:
        relay.open()  # passed or failed, the worker may stop
    await until_all_sent(sessions)
    await worker.stop()
    assert Counter(relay.sent) == {reader(n): 1 for n in range(count)}
    # Each is stamped with the minute it went, not the time its outcome was written.
    stamps = [m.sent_at for m in await messages(sessions)]
    assert len(set(stamps)) == count


def reader(n: int) -> str:
    return f"reader{n}@example.org"


async def test_small_arrivals_never_hold_more_than_two_batches(
    sessions: async_sessionmaker[AsyncSession],
    composer: Composer,
    clock: Clock,
    smtp_server: SmtpServer,
    smtp_sender: SmtpSender,
    make_worker: MakeWorker,
) -> None:
    # A slow server (wall time: the peer is what is slow), and nine messages more each time
    # it has taken one: more arrive than go, and the worker could always claim more.
    smtp_server.data_delay = 0.2
    worker = make_worker(smtp_sender, concurrency=1, batch_size=10)
    worker.start()

    async def sending() -> int:
        return sum(m.status == "sending" for m in await messages(sessions))

    for n in range(6):
        await queue(sessions, composer, clock(), [mail(100 * n + m) for m in range(9)])
        worker.wake()
        await smtp_server.received(n + 1)
        assert await sending() <= 2 * 10
    assert 0 < await sending() <= 2 * 10


async def test_a_slow_database_bounds_what_is_sent_and_not_yet_recorded(
    sessions: async_sessionmaker[AsyncSession],
    composer: Composer,
    clock: Clock,
    smtp_server: SmtpServer,
    smtp_sender: SmtpSender,
    make_worker: MakeWorker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The bound on what a crash could send twice: twice a write's worth (2 x 50), and the
    # messages on the wire (4 connections).
    slow_writes(monkeypatch)
    worker = make_worker(smtp_sender, batch_size=200)
    await queue(sessions, composer, clock(), [mail(n) for n in range(400)])
    peak, watching = 0, True

    async def watch() -> None:
        nonlocal peak
        while watching:
            # Accepted first, then recorded: what is accepted during the query is not
            # counted as unrecorded.
            accepted = len(smtp_server.messages)
            recorded = sum(m.status == "sent" for m in await messages(sessions))
            peak = max(peak, accepted - recorded)
            await asyncio.sleep(0.02)  # a sample every 20 ms of the run, not a wait for it

    watcher = asyncio.create_task(watch())
    worker.start()
    await smtp_server.received(400, within=30)
    await until_all_sent(sessions)
    watching = False
    await watcher
    await worker.stop()
    assert 0 < peak <= 2 * 50 + 4
    assert len(smtp_server.messages) == 400


async def test_outcomes_wait_out_a_database_outage_and_it_is_logged_once(
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
    worker = make_worker(smtp_sender, batch_size=200)
    await queue(sessions, composer, clock(), [mail(n) for n in range(300)])
    worker.start()
    await smtp_server.received(100, within=10)
    # Sending stops once a bounded number of outcomes wait to be written: every lane is
    # held back, none has a message on the wire.
    held = worker._held
    await until(
        lambda: held.sending == 0 and len(held.unwritten) >= 2 * 50,
        within=10,
        what="the lanes held back",
    )
    assert 100 <= len(smtp_server.messages) <= 2 * 50 + 4
    assert database.failed_writes >= 1
    database.away = False
    await smtp_server.received(300, within=30)
    await until_all_sent(sessions, within=30)
    await worker.stop()
    assert Counter(smtp_server.recipients()) == {f"reader{n}@example.org": 1 for n in range(300)}
    outage = [r for r in caplog.records if "recording outcomes failed" in r.getMessage()]
    assert len(outage) == 1


class CancelledOnce:
    """A sender whose library lets one cancellation escape a send."""

    def __init__(self, inner: SmtpSender) -> None:
        self.inner = inner
        self.calls = 0

    async def send(self, message: bytes, *, sender: str, recipient: str) -> None:
        self.calls += 1
        if self.calls == 1:
            raise asyncio.CancelledError
        await self.inner.send(message, sender=sender, recipient=recipient)

    async def close(self) -> None:
        pass


async def test_a_cancelled_send_fails_its_message_not_the_lane(
    sessions: async_sessionmaker[AsyncSession],
    composer: Composer,
    clock: Clock,
    smtp_server: SmtpServer,
    smtp_sender: SmtpSender,
    make_worker: MakeWorker,
) -> None:
    worker = make_worker(CancelledOnce(smtp_sender), concurrency=1, batch_size=10)
    worker.start()
    await queue(sessions, composer, clock(), [mail(n) for n in range(5)])
    worker.wake()
    await smtp_server.received(4)
    await worker.stop()
    assert worker.running is False
    statuses = Counter((m.status, m.last_error) for m in await messages(sessions))
    assert statuses == {("sent", None): 4, ("pending", "the send was cancelled"): 1}


async def test_a_success_between_two_failures_resets_the_count(
    sessions: async_sessionmaker[AsyncSession],
    composer: Composer,
    clock: Clock,
    smtp_server: SmtpServer,
    smtp_sender: SmtpSender,
    make_worker: MakeWorker,
) -> None:
    address = "flaky@example.org"
    worker = make_worker(smtp_sender, concurrency=1, batch_size=4)
    smtp_server.answer_rcpt("550 5.1.1 no such mailbox")  # the first refused, the second not
    await queue(sessions, composer, clock(), [mail(n, recipient=address) for n in (1, 2)])
    await worker.run_once()
    smtp_server.answer_rcpt("550 5.1.1 no such mailbox", "550 5.1.1 no such mailbox")
    await queue(sessions, composer, clock(), [mail(n, recipient=address) for n in (3, 4)])
    await worker.run_once()
    state = await suppression(sessions, address)
    assert state is not None and (state.consecutive_failures, state.suspended_at) == (2, None)


@pytest.fixture(autouse=True)
def _errors_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="service.mail.worker")


async def test_an_outcome_after_the_lease_ended_changes_nothing(
    sessions: async_sessionmaker[AsyncSession], composer: Composer, clock: Clock
) -> None:
    lease = timedelta(minutes=5)
    await queue(sessions, composer, clock(), [mail(1)])
    async with sessions.begin() as session:
        first = await mail_queue.claim(session, now=clock(), lease=lease, limit=10)
    clock.advance(minutes=6)  # the first worker is too slow: another claims the row again
    async with sessions.begin() as session:
        second = await mail_queue.claim(session, now=clock(), lease=lease, limit=10)
    assert [c.id for c in second] == [c.id for c in first]
    async with sessions.begin() as session:
        late = [mail_queue.Result(first[0], mail_queue.Outcome.released)]
        await mail_queue.record(
            session,
            late,
            now=clock(),
            policy=mail_queue.RetryPolicy(),
            rng=random.Random(1),  # noqa: S311
        )
    (row,) = await messages(sessions)
    assert (row.status, row.leased_until, row.attempts) == ("sending", second[0].leased_until, 2)


async def test_a_claim_takes_lapsed_leases_first_then_the_earliest_due(
    sessions: async_sessionmaker[AsyncSession], composer: Composer, clock: Clock
) -> None:
    lease = timedelta(minutes=5)
    start = clock()
    await queue(sessions, composer, start, [mail(1)])
    async with sessions.begin() as session:
        (lapsed,) = await mail_queue.claim(session, now=clock(), lease=lease, limit=10)
    clock.advance(minutes=6)  # the worker holding it died: its lease has run out
    await queue(sessions, composer, clock(), [mail(2)])  # due now
    await queue(sessions, composer, start + timedelta(minutes=1), [mail(3)])  # due before it
    await queue(sessions, composer, clock() + timedelta(hours=1), [mail(4)])  # not yet due
    ids = {m.recipient: m.id for m in await messages(sessions)}
    async with sessions.begin() as session:
        first = await mail_queue.claim(session, now=clock(), lease=lease, limit=2)
    async with sessions.begin() as session:
        rest = await mail_queue.claim(session, now=clock(), lease=lease, limit=10)
    assert [c.id for c in first] == [lapsed.id, ids["reader3@example.org"]]
    assert [c.id for c in rest] == [ids["reader2@example.org"]]
    assert [c.attempts for c in first + rest] == [2, 1, 1]
