"""Several workers (several instances) share the deliveries: none is posted twice, a live
worker's long batch is never taken by another, a dead worker's comes back after its lease,
and an outcome that comes too late changes nothing (decisions 0002 and 0010)."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from learnhub.keys import dispatcher_key
from service import db
from service.mail.compose import Composer
from service.settings import Settings
from service.webhooks import queue
from service.webhooks.models import WebhookDelivery
from service.webhooks.transport import Answer, Transport
from service.webhooks.worker import WebhookWorker
from tests.conftest import Clock
from tests.waiting import until
from tests.webhooks.conftest import Receiver, publish, register

LEASE = timedelta(seconds=30)


async def _fan_out(client: TestClient) -> None:
    app = client.server.app
    assert app is not None
    while await app[dispatcher_key].run_once():
        pass


async def _rows(sessions: async_sessionmaker[AsyncSession]) -> list[WebhookDelivery]:
    async with sessions() as session:
        return list(await session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def _worker(
    settings: Settings, clock: Clock, sessions: async_sessionmaker[AsyncSession], **options: Any
) -> WebhookWorker:
    options.setdefault("rng", random.Random(7))  # noqa: S311  # seeded jitter
    return WebhookWorker(
        sessions,
        clock,
        Transport(allow_private=True),
        composer=Composer.from_settings(settings),
        **options,
    )


async def test_two_instances_never_post_one_delivery_twice(
    hooks: TestClient,
    admin: dict[str, str],
    publisher: dict[str, str],
    receiver: Receiver,
    hook_settings: Settings,
    real_clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    for n in range(5):
        await register(hooks, admin, receiver.url(f"/partner{n}"))
    for n in range(8):
        await publish(hooks, publisher, title=f"Brief {n}")
    await _fan_out(hooks)
    receiver.delay = 0.005  # each answer takes a moment: the two overlap
    # Two instances: each its own database engine, claims and leases.
    databases = [db.Database.open(hook_settings.database_url) for _ in range(2)]
    workers = [
        _worker(hook_settings, real_clock, d.sessions, batch_size=6, poll_interval=0.05)
        for d in databases
    ]
    try:
        for worker in workers:
            worker.start()

        async def all_delivered() -> bool:
            return {r.status for r in await _rows(sessions)} == {"delivered"}

        await until(all_delivered, within=30, what="40 deliveries posted")
    finally:
        for worker in workers:
            await worker.stop()
            await worker.transport.close()
        for database in databases:
            await database.dispose()
    sent = Counter(g.id for g in receiver.got)
    assert len(sent) == 40 and set(sent.values()) == {1}
    assert {r.attempts for r in await _rows(sessions)} == {1}


async def test_a_live_workers_long_batch_is_never_claimed_by_another(
    hooks: TestClient,
    admin: dict[str, str],
    publisher: dict[str, str],
    receiver: Receiver,
    hook_settings: Settings,
    real_clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await register(hooks, admin, receiver.url("/slow"))
    for n in range(6):
        await publish(hooks, publisher, title=f"Brief {n}")
    await _fan_out(hooks)
    # Each answer takes 10 s of the clock (six: a minute, twice the lease) and a moment of
    # real time, in which the heartbeat gets its turns.
    receiver.before = lambda: real_clock.advance(seconds=10) and None
    receiver.delay = 0.2
    worker = _worker(hook_settings, real_clock, sessions, heartbeat=0.005, poll_interval=0.05)
    taken: list[int] = []

    async def another_worker_looks() -> bool:
        async with sessions.begin() as session:
            claimed = await queue.claim(session, now=real_clock(), lease=LEASE, limit=50)
        taken.extend(c.id for c in claimed)
        return {r.status for r in await _rows(sessions)} == {"delivered"}

    worker.start()
    try:
        await until(lambda: bool(receiver.got), within=5, what="the worker claims the batch")
        await until(another_worker_looks, within=15, what="the batch is posted", step=0.01)
    finally:
        await worker.stop()
        await worker.transport.close()
    assert taken == []
    assert len(receiver.got) == 6 and {r.attempts for r in await _rows(sessions)} == {1}


async def test_a_dead_workers_deliveries_go_after_its_lease_with_the_same_id(
    hooks: TestClient,
    admin: dict[str, str],
    publisher: dict[str, str],
    receiver: Receiver,
    hook_settings: Settings,
    real_clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await register(hooks, admin, receiver.url("/hook"))
    await publish(hooks, publisher)
    await _fan_out(hooks)
    async with sessions.begin() as session:  # a worker claims it, then dies
        [dead] = await queue.claim(session, now=real_clock(), lease=LEASE, limit=10)
    survivor = _worker(hook_settings, real_clock, sessions)
    try:
        assert await survivor.run_once() == 0  # held
        real_clock.advance(seconds=31)
        assert await survivor.run_once() == 1
    finally:
        await survivor.transport.close()
    [got] = receiver.got
    assert got.id == dead.message_id
    [row] = await _rows(sessions)
    assert (row.status, row.attempts) == ("delivered", 2)  # the dead one's attempt counts

    # The dead worker's outcome, come too late, changes nothing.
    async with sessions.begin() as session:
        late = await queue.record(
            session, dead, Answer(500, "HTTP 500"), now=real_clock(),
            policy=queue.RetryPolicy(), rng=random.Random(1),  # noqa: S311
        )  # fmt: skip
    assert not late.written
    [row] = await _rows(sessions)
    assert (row.status, row.response_status) == ("delivered", 200)


async def test_a_stopping_worker_hands_back_what_it_has_not_tried(
    hooks: TestClient,
    admin: dict[str, str],
    publisher: dict[str, str],
    receiver: Receiver,
    hook_settings: Settings,
    real_clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await register(hooks, admin, receiver.url("/hook"))
    for n in range(3):
        await publish(hooks, publisher, title=f"Brief {n}")
    await _fan_out(hooks)
    receiver.delay = 0.2
    worker = _worker(hook_settings, real_clock, sessions, poll_interval=0.05)
    worker.start()
    await until(lambda: bool(receiver.got), within=5, what="the first post")
    await worker.stop()
    await worker.transport.close()
    rows = await _rows(sessions)
    assert [r.status for r in rows] == ["delivered", "pending", "pending"]
    assert [r.attempts for r in rows] == [1, 0, 0] and all(r.leased_until is None for r in rows)
