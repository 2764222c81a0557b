"""The webhook worker: claims due deliveries in short transactions and posts them outside.

The mail worker's design (decisions 0002 and 0010), simpler, for the few deliveries of an
event: a batch is claimed under a 30-second lease that a heartbeat renews while the batch
is in hand, and each outcome is written as soon as it is known (with those of the other
lanes that come meanwhile: ``recorder``), under the lease its row holds, so a late one
changes nothing another worker has claimed since. An attempt starts only with half its
lease left, and is cut short a quarter of a lease before it ends. The only duplicate a
crash can cause is the attempt on the wire, or answered and not yet written, when the
process died: it goes again, with the same ``webhook-id``, which is what receivers
deduplicate on.

Endpoints are served side by side (``concurrency`` at once), each endpoint's deliveries of
a batch one after another, first tries first (a delivery the endpoint keeps refusing then
never holds up the others), each in order; after a failed attempt the rest of that
endpoint's batch is handed back untried, due when the failed one is tried again, so an
endpoint that is down costs one attempt per retry, not one per queued delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.clock import Clock
from service.mail.compose import Composer
from service.webhooks import queue, signing
from service.webhooks.queue import Claimed, Lease, RetryPolicy
from service.webhooks.recorder import Recorder
from service.webhooks.transport import TIMEOUT, Answer, Transport

log = logging.getLogger(__name__)
WRITE_TRIES = 4  # an outcome's write, a second, two and four apart, while the lease lasts


class WebhookWorker:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        transport: Transport,
        *,
        composer: Composer,
        after: Callable[[], None] = lambda: None,
        batch_size: int = 50,
        concurrency: int = 8,
        lease: timedelta = timedelta(seconds=30),
        heartbeat: float | None = None,
        poll_interval: float = 5.0,
        timeout: float = TIMEOUT,
        policy: RetryPolicy | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.sessions, self.clock, self.transport = sessions, clock, transport
        self.composer = composer
        self.after = after  # told when an admin's email was queued: wake the mail worker
        self.batch_size, self.lease, self.poll_interval = batch_size, lease, poll_interval
        self.heartbeat = heartbeat if heartbeat is not None else lease.total_seconds() / 4
        self.timeout = timeout
        self.policy = policy or RetryPolicy()
        self.rng = rng or random.Random()  # noqa: S311  # jitter, not secrets
        self.recorder = Recorder(
            sessions, clock, composer=composer, policy=self.policy, rng=self.rng, after=after
        )
        self._slots = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Deliveries were committed: look now rather than at the next poll."""
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="webhook-worker")

    async def stop(self) -> None:
        """Finish the attempts in flight and write them; hand back the rest untried."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def run_once(self) -> int:
        """Claim one batch and send it; how many deliveries were claimed."""
        async with self.sessions.begin() as session:
            claimed = await queue.claim(
                session, now=self.clock(), lease=self.lease, limit=self.batch_size
            )
        if claimed:
            await self._send(claimed)
        return len(claimed)

    async def _run(self) -> None:
        failures = 0
        while not self._stopping:
            self._wake.clear()
            try:
                while not self._stopping and await self.run_once() == self.batch_size:
                    pass
            except Exception:
                # Nothing is lost: rows stay pending, or come back when their lease ends.
                failures += 1
                if failures == 1:
                    log.exception("webhook worker: failed; trying again after the poll interval")
            else:
                if failures:
                    log.info("webhook worker: works again")
                failures = 0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)

    async def _send(self, claimed: list[Claimed]) -> None:
        lease = claimed[0].lease
        by_endpoint: dict[int, list[Claimed]] = {}
        for c in sorted(claimed, key=lambda c: (c.attempts > 1, c.id)):
            by_endpoint.setdefault(c.endpoint_id, []).append(c)
        done = asyncio.Event()
        beating = asyncio.create_task(self._keep(lease, done), name="webhook-lease-heartbeat")
        try:
            async with asyncio.TaskGroup() as group:
                for deliveries in by_endpoint.values():
                    group.create_task(self._send_endpoint(deliveries))
        finally:
            done.set()
            await asyncio.gather(beating, return_exceptions=True)

    async def _send_endpoint(self, deliveries: list[Claimed]) -> None:
        async with self._slots:
            for n, c in enumerate(deliveries):
                lease, now = c.lease, self.clock()
                if self._stopping or lease.until - now < self.lease / 2:
                    await self._release(deliveries[n:], at=now)
                    return
                if c.id not in lease.ids:
                    continue  # claimed by another worker since: it sends it
                answer = await self._attempt(c)
                retry_at = await self._write(c, answer)
                if not answer.delivered:
                    log.info(
                        "webhook worker: delivery %d to endpoint %d failed (attempt %d): %s",
                        c.id, c.endpoint_id, c.attempts, answer.error,
                    )  # fmt: skip
                    await self._release(deliveries[n + 1 :], at=retry_at or self.clock())
                    return

    async def _attempt(self, c: Claimed) -> Answer:
        now = self.clock()
        # Cut short a quarter of a lease before the lease ends, on the leases' clock.
        left = (c.lease.until - self.lease / 4 - now).total_seconds()
        headers = signing.headers(c.secret, c.message_id, c.body, now)
        return await self.transport.post(
            c.url, c.body.encode("utf-8"), headers, within=min(self.timeout, left)
        )

    async def _write(self, c: Claimed, answer: Answer) -> datetime | None:
        """Write the outcome; when it is tried again (None: not). A write that fails is
        tried again while the lease lasts, then the error goes through: the row comes back
        when its lease ends and is sent again, under the same webhook-id."""
        for attempt in range(WRITE_TRIES):
            try:
                return await self.recorder.write(c, answer)
            except Exception:
                if attempt == WRITE_TRIES - 1 or self.clock() >= c.lease.until:
                    raise
                log.warning("webhook worker: writing an outcome failed; trying again")
                await asyncio.sleep(2.0**attempt)
        return None

    async def _release(self, rest: Sequence[Claimed], *, at: datetime) -> None:
        held = [c for c in rest if c.id in c.lease.ids]
        if not held:
            return
        lease = held[0].lease
        async with lease.lock, self.sessions.begin() as session:
            await queue.release(session, held, at=at)
            lease.ids.difference_update(c.id for c in held)

    async def _keep(self, lease: Lease, done: asyncio.Event) -> None:
        """Renew the claim's lease every ``heartbeat`` seconds until ``done``."""
        failures = 0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), self.heartbeat)
            if done.is_set():
                return
            try:
                await self._renew(lease)
            except Exception:
                failures += 1
                if failures == 1:
                    log.exception("webhook worker: renewing the lease failed; trying again")
            else:
                failures = 0

    async def _renew(self, lease: Lease) -> None:
        now = self.clock()
        if now >= lease.until:
            return  # run out: another worker may hold the rows now, under a later lease
        async with lease.lock:
            if not lease.ids:
                return
            lease.upper = until = max(now + self.lease, lease.upper)
            async with self.sessions.begin() as session:
                renewed = await queue.renew(session, lease, until=until)
            lease.until = until
            lost = lease.ids - renewed
            if lost:
                log.warning("webhook worker: deliveries %s were claimed by another", sorted(lost))
                lease.ids = renewed
