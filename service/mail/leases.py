"""The mail worker's heartbeat: it renews the leases of the messages it holds while it runs.

A lease is short (30 s by default), so that a dead worker's messages are sent by another
within half a minute; a live one renews its leases four times a lease. A renewal writes the
new lease only where the old one is still held, and the worker's copy moves only once that
is committed. Renewals and the writes of outcomes take turns (``lock``): an outcome is
written under the lease the row holds at that moment, never one a renewal is replacing.
Sends are cut short a quarter of a lease before their lease ends; a renewal moves that
moment too. When renewals fail (the database is away), the leases run out as they would
after a crash, and the lanes hand back what they have not sent before that.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.clock import Clock
from service.mail import queue
from service.mail.queue import Lease, Result

logger = logging.getLogger("service.mail.worker")


class LeaseKeeper:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        length: timedelta,
        *,
        every: float | None = None,
    ) -> None:
        self._sessions, self._clock, self.length = sessions, clock, length
        self.every = every if every is not None else length.total_seconds() / 4
        self.lock = asyncio.Lock()  # a renewal, or a write of outcomes, at a time
        self._leases: set[Lease] = set()
        self._deadlines: dict[asyncio.Timeout, Lease] = {}

    def hold(self, lease: Lease) -> None:
        """Keep this claim's lease from now on, until its outcomes are written."""
        if lease.ids:
            self._leases.add(lease)

    def written(self, results: Iterable[Result]) -> None:
        """These outcomes are committed: their rows are no longer held (call under ``lock``)."""
        for result in results:
            result.message.lease.ids.discard(result.message.id)
        self._leases = {lease for lease in self._leases if lease.ids}

    async def run(self, done: asyncio.Event) -> None:
        """Renew every ``every`` seconds until ``done``; say once when renewals fail.

        Told to stop, it finishes the renewal in hand rather than be cancelled in its
        transaction."""
        failures = 0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), self.every)
            if done.is_set():
                return
            try:
                await self.renew()
            except Exception:
                failures += 1
                if failures == 1:
                    logger.exception("mail worker: renewing leases failed; trying again")
            else:
                if failures:
                    logger.info("mail worker: renewing leases works again")
                failures = 0

    async def renew(self) -> None:
        """Renew each lease still held and not yet run out."""
        for lease in list(self._leases):
            now = self._clock()
            if now >= lease.until:
                # Run out: another worker may have claimed the rows, under a later lease.
                self._leases.discard(lease)
                continue
            async with self.lock:
                if lease.ids:
                    await self._renew(lease, max(now + self.length, lease.upper))

    async def _renew(self, lease: Lease, until: datetime) -> None:
        lease.upper = until  # before the write: if its commit goes unanswered, rows may hold it
        async with self._sessions.begin() as session:
            renewed = await queue.renew(session, lease, until=until)
        moved = (until - lease.until).total_seconds()
        lease.until = until
        lost = lease.ids - renewed
        if lost:
            logger.warning(
                "mail worker: %d messages held here were claimed by another worker; those not "
                "sent yet are left to it",
                len(lost),
            )
            lease.lost |= lost
            lease.ids -= lost
        for timeout, held in self._deadlines.items():
            when = timeout.when()
            if held is lease and moved and when is not None and not timeout.expired():
                timeout.reschedule(when + moved)

    @contextlib.asynccontextmanager
    async def deadline(self, lease: Lease) -> AsyncIterator[None]:
        """Cut what runs inside short a quarter of a lease before ``lease`` ends.

        A send must end well before its lease, for its outcome to be written under it: a
        server that answers each command just within its timeout could otherwise keep it
        going past the lease, while another worker claims the message and sends it too.
        """
        async with asyncio.timeout(self._left(lease)) as timeout:
            self._deadlines[timeout] = lease
            try:
                yield
            finally:
                del self._deadlines[timeout]

    def _left(self, lease: Lease) -> float:
        return (lease.until - self.length / 4 - self._clock()).total_seconds()
