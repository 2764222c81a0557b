"""The mail worker's claimer: it claims due messages a batch ahead of the lanes, and keeps
their leases while they are held.

A claim leases up to a batch of due rows in a short transaction of its own (SKIP LOCKED on
PostgreSQL), and the messages are sent after its commit. The next batch is claimed once no
more than a batch is held (queued, being sent, or sent and not yet written), so no lane
waits for a claim and no more than two batches are ever in 'sending'. Nothing is claimed
while outcomes cannot be written: after their lease, this worker would claim its own
unrecorded rows and send them again.

Leases are short (30 s), so that a dead worker's messages come back within half a minute;
while the lanes run, the heartbeat (service.mail.leases) renews those of every claim not yet
written, so that a live worker's batch is never claimed by another (decision 0010).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.clock import Clock
from service.mail import queue
from service.mail.held import Held
from service.mail.leases import LeaseKeeper
from service.mail.queue import Claimed
from service.mail.recorder import Recorder

logger = logging.getLogger("service.mail.worker")


class Claimer:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        keeper: LeaseKeeper,
        held: Held,
        recorder: Recorder,
        *,
        batch_size: int,
        poll_interval: float,
    ) -> None:
        self._sessions, self._clock, self._keeper = sessions, clock, keeper
        self._held, self._recorder = held, recorder
        self._batch_size, self._poll_interval = batch_size, poll_interval
        self._wakeup = asyncio.Event()  # new mail, or stop

    def wake(self) -> None:
        """Look now rather than at the next poll."""
        self._wakeup.set()

    async def claim(self) -> tuple[int, list[Claimed]]:
        """How many due messages were claimed, and those of them that may be sent."""
        async with self._sessions.begin() as session:
            now = self._clock()
            claimed = await queue.claim(
                session, now=now, lease=self._keeper.length, limit=self._batch_size
            )
            sendable = await queue.drop_suppressed(session, claimed, now=now)
        if claimed:
            self._keeper.hold(claimed[0].lease)
        return len(claimed), sendable

    async def run(self, stopping: Callable[[], bool]) -> None:
        """Claim into the inbox as room frees up, until ``stopping()``; call ``wake`` (and
        ``held.changed``) when that turns true."""
        failures = 0
        while not stopping():
            self._wakeup.clear()
            # At most a batch held before claiming the next: the lanes stay busy during a
            # claim, and a claim is never far ahead.
            await self._held.until(lambda: stopping() or self._may_claim())
            if stopping():
                break
            try:
                claimed, sendable = await self.claim()
            except Exception:
                # Nothing is lost (rows stay pending, or come back when their lease ends),
                # so the loop outlives a database outage, saying so once.
                failures += 1
                if failures == 1:
                    logger.exception("mail worker: claiming failed; trying again")
                claimed, sendable = 0, []
            else:
                if failures:
                    logger.info("mail worker: claiming works again")
                failures = 0
            for message in sendable:
                self._held.inbox.put_nowait(message)
            if claimed < self._batch_size:
                await self.pause(min(self._poll_interval * 2 ** min(failures, 4), 60.0))

    async def pause(self, seconds: float | None = None) -> None:
        """Wait ``seconds`` (a poll interval), or less if woken."""
        seconds = self._poll_interval if seconds is None else seconds
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), seconds)

    @contextlib.asynccontextmanager
    async def heartbeat(self) -> AsyncIterator[None]:
        """Renew the leases held while the body runs. Told to stop, the heartbeat finishes
        the renewal in hand rather than be cancelled in its transaction."""
        stop = asyncio.Event()
        beating = asyncio.create_task(self._keeper.run(stop), name="mail-lease-heartbeat")
        try:
            yield
        finally:
            stop.set()
            await asyncio.gather(beating, return_exceptions=True)

    def _may_claim(self) -> bool:
        # Not while outcomes cannot be written: after their lease, this worker would claim
        # its own unrecorded rows and send them again.
        return len(self._held) <= self._batch_size and not self._recorder.failing
