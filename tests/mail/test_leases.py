"""Short leases renewed by a heartbeat (issue 16, finding 8): a dead worker's mail goes again
within half a minute, a live worker's never, and every outcome is written under the lease
its row holds, renewed or not (decision 0002's bound, decision 0010)."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.mail import queue as mail_queue
from service.mail.compose import Composer
from service.mail.leases import LeaseKeeper
from service.mail.senders import SmtpSender
from tests.conftest import Clock
from tests.mail.conftest import MakeWorker
from tests.mail.helpers import TimedSender, mail, messages, queue
from tests.smtp import SmtpServer
from tests.waiting import until

LEASE = timedelta(seconds=30)


async def test_a_dead_workers_mail_goes_again_after_half_a_minute(
    sessions: async_sessionmaker[AsyncSession],
    composer: Composer,
    clock: Clock,
    smtp_server: SmtpServer,
    smtp_sender: SmtpSender,
    make_worker: MakeWorker,
) -> None:
    await queue(sessions, composer, clock(), [mail(n) for n in range(3)])
    dead = make_worker(smtp_sender)
    assert (await dead._claimer.claim())[0] == 3  # a worker claims them, then dies
    survivor = make_worker(smtp_sender)
    assert await survivor.run_once() == 0  # held
    clock.advance(seconds=31)
    assert await survivor.run_once() == 3
    assert sorted(smtp_server.recipients()) == [f"reader{n}@example.org" for n in range(3)]


async def test_a_live_workers_long_batch_is_never_claimed_by_another(
    sessions: async_sessionmaker[AsyncSession],
    composer: Composer,
    clock: Clock,
    make_worker: MakeWorker,
) -> None:
    # Twelve messages of six seconds each: the batch takes 72 s, more than twice its lease.
    relay = TimedSender(clock, minutes=0.1, pause=0.02)
    worker = make_worker(relay, concurrency=1, lease=LEASE, heartbeat=0.005, poll_interval=0.05)
    await queue(sessions, composer, clock(), [mail(n) for n in range(12)])
    worker.start()
    taken: list[int] = []

    async def another_worker_looks() -> bool:
        async with sessions.begin() as session:
            claimed = await mail_queue.claim(session, now=clock(), lease=LEASE, limit=50)
        taken.extend(c.id for c in claimed)
        return len(relay.sent) + len(taken) >= 12

    await until(lambda: bool(relay.sent), within=10, what="the worker claims the batch")
    await until(another_worker_looks, within=10, what="the batch is sent", step=0.01)
    await worker.stop()
    assert taken == []
    assert Counter(relay.sent) == {f"reader{n}@example.org": 1 for n in range(12)}
    rows = await messages(sessions)
    assert {(m.status, m.attempts) for m in rows} == {("sent", 1)}  # none handed back


async def test_a_lease_that_ran_out_is_not_renewed(
    sessions: async_sessionmaker[AsyncSession], composer: Composer, clock: Clock
) -> None:
    await queue(sessions, composer, clock(), [mail(0)])
    keeper = LeaseKeeper(sessions, clock, LEASE)
    async with sessions.begin() as session:
        [first] = await mail_queue.claim(session, now=clock(), lease=LEASE, limit=1)
    keeper.hold(first.lease)
    clock.advance(seconds=20)
    await keeper.renew()
    assert first.leased_until == clock() + LEASE
    clock.advance(seconds=31)  # no heartbeat came in time (the database was away)
    async with sessions.begin() as session:  # so another worker claims it
        [second] = await mail_queue.claim(session, now=clock(), lease=LEASE, limit=1)
    clock.advance(seconds=1)
    await keeper.renew()
    [row] = await messages(sessions)
    assert row.leased_until == second.leased_until != first.leased_until


async def test_an_outcome_is_written_even_if_the_renewals_commit_went_unanswered(
    sessions: async_sessionmaker[AsyncSession], composer: Composer, clock: Clock
) -> None:
    await queue(sessions, composer, clock(), [mail(0)])
    async with sessions.begin() as session:
        [claimed] = await mail_queue.claim(session, now=clock(), lease=LEASE, limit=1)
    clock.advance(seconds=10)
    lease = claimed.lease
    lease.upper = clock() + LEASE  # the renewal is written, its answer never comes
    async with sessions.begin() as session:
        assert await mail_queue.renew(session, lease, until=lease.upper) == {claimed.id}
    assert lease.until < lease.upper
    async with sessions.begin() as session:
        result = mail_queue.Result(claimed, mail_queue.Outcome.sent, at=clock())
        policy, rng = mail_queue.RetryPolicy(), random.Random(7)  # noqa: S311
        await mail_queue.record(session, [result], now=clock(), policy=policy, rng=rng)
    [row] = await messages(sessions)
    assert (row.status, row.leased_until) == ("sent", None)


async def test_a_send_lives_as_long_as_its_lease_is_renewed(
    sessions: async_sessionmaker[AsyncSession],
    composer: Composer,
    clock: Clock,
    smtp_server: SmtpServer,
    make_worker: MakeWorker,
) -> None:
    # A 2 s lease cuts a send short after 1.5 s, unless renewals move its end.
    smtp_server.data_delay = 2.5
    sender = SmtpSender.from_url(smtp_server.url, concurrency=1)
    ticking = Ticking(clock)
    worker = make_worker(
        sender,
        clock=ticking,
        concurrency=1,
        batch_size=1,
        lease=timedelta(seconds=2),
        heartbeat=0.1,
    )
    await queue(sessions, composer, clock(), [mail(0)])
    assert await worker.run_once() == 1
    await sender.close()
    [row] = await messages(sessions)
    assert (row.status, row.attempts) == ("sent", 1)


class Ticking:
    """The test clock, moving with real time from the moment it is made."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.start = asyncio.get_running_loop().time()

    def __call__(self) -> datetime:
        elapsed = asyncio.get_running_loop().time() - self.start
        return self.clock() + timedelta(seconds=elapsed)
