"""The mail worker: claims due messages in short transactions and sends them outside them.

Delivery is at least once. A message is marked sent only after the next hop accepted it, so a
worker that dies leaves its claimed rows in 'sending'; once their lease runs out any worker
claims them again. The only duplicates are the messages that were accepted by the server but
not yet recorded when the worker died: at most one batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.clock import Clock
from service.mail import queue
from service.mail.errors import PermanentFailure, TemporaryFailure
from service.mail.queue import Claimed, Outcome, Result, RetryPolicy
from service.mail.senders import Sender
from service.mail.service import purge_bodies

logger = logging.getLogger(__name__)


class MailWorker:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        sender: Sender,
        clock: Clock,
        *,
        envelope_from: str,
        concurrency: int = 4,
        batch_size: int = 100,
        lease: timedelta = timedelta(minutes=5),
        poll_interval: float = 5.0,
        retry: RetryPolicy | None = None,
        purge_every: timedelta = timedelta(hours=1),
        rng: random.Random | None = None,
    ) -> None:
        self._sessions = sessions
        self._sender = sender
        self._clock = clock
        self._envelope_from = envelope_from
        # Outcomes are written a quarter of a batch at a time: often enough that a crash
        # leaves few sent-but-unrecorded messages, seldom enough that a transaction per
        # handful of messages does not halve the throughput.
        self._flush_every = max(concurrency, batch_size // 4)
        self._batch_size = batch_size
        self._lease = lease
        self._poll_interval = poll_interval
        self._retry = retry or RetryPolicy()
        self._purge_every = purge_every
        self._rng = rng or random.Random()  # noqa: S311  # jitter, not secrecy
        self._slots = asyncio.Semaphore(concurrency)
        self._wakeup = asyncio.Event()
        self._results: list[Result] = []
        self._flush_lock = asyncio.Lock()
        self._stopping = False
        self._next_purge: datetime | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Run in the background until ``stop``."""
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="mail-worker")

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def wake(self) -> None:
        """New mail was committed: look now rather than at the next poll."""
        self._wakeup.set()

    async def stop(self) -> None:
        """Finish the sends in flight, record them, hand back the rest of the batch untried."""
        self._stopping = True
        self._wakeup.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def run_once(self) -> int:
        """Claim one batch, send it and record the outcomes; returns how many were claimed."""
        async with self._sessions.begin() as session:
            now = self._clock()
            claimed = await queue.claim(session, now=now, lease=self._lease, limit=self._batch_size)
            sendable = await queue.drop_suppressed(session, claimed, now=now)
        if sendable:
            await self._deliver(sendable)
        return len(claimed)

    async def purge(self) -> int:
        """Drop old bodies (retention); done about every ``purge_every`` by the loop."""
        async with self._sessions.begin() as session:
            return await purge_bodies(session, now=self._clock())

    async def _run(self) -> None:
        while not self._stopping:
            self._wakeup.clear()
            try:
                await self._purge_when_due()
                claimed = await self.run_once()
            except Exception:
                # The database or the network failed outside any one message. Nothing is
                # lost (rows stay pending, or come back when their lease ends), so the loop
                # must outlive the outage rather than die quietly in the background.
                logger.exception("mail worker: the batch failed; trying again after a pause")
                claimed = 0
            if claimed < self._batch_size and not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), self._poll_interval)

    async def _purge_when_due(self) -> None:
        now = self._clock()
        if self._next_purge is None or now >= self._next_purge:
            self._next_purge = now + self._purge_every
            purged = await self.purge()
            if purged:
                logger.info("mail worker: dropped the bodies of %d old messages", purged)

    async def _deliver(self, batch: Sequence[Claimed]) -> None:
        async with asyncio.TaskGroup() as group:
            for message in batch:
                group.create_task(self._deliver_one(message))
        await self._flush()

    async def _deliver_one(self, message: Claimed) -> None:
        async with self._slots:
            if self._stopping or not self._leased_long_enough(message):
                result = Result(message, Outcome.released)
            else:
                result = await self._attempt(message)
        self._results.append(result)
        if len(self._results) >= self._flush_every:
            await self._flush()

    def _leased_long_enough(self, message: Claimed) -> bool:
        # A slow server or a rate cap can keep the end of a batch waiting. Once half its lease
        # is gone, another worker may soon claim it too: hand it back rather than race.
        return self._clock() < message.leased_until - self._lease / 2

    async def _attempt(self, message: Claimed) -> Result:
        try:
            await self._sender.send(
                message.body, sender=self._envelope_from, recipient=message.recipient
            )
        except PermanentFailure as exc:
            return Result(message, Outcome.permanent, str(exc))
        except TemporaryFailure as exc:
            return Result(message, Outcome.temporary, str(exc))
        except Exception as exc:
            # An unexpected error is written on the row and retried like a temporary one,
            # so that one odd message cannot stop the queue; the traceback goes to the log.
            logger.exception("mail worker: sending message %d failed", message.id)
            return Result(message, Outcome.temporary, f"{type(exc).__name__}: {exc}")
        return Result(message, Outcome.sent)

    async def _flush(self) -> None:
        async with self._flush_lock:
            results, self._results = self._results, []
            if not results:
                return
            try:
                async with self._sessions.begin() as session:
                    await queue.record(
                        session, results, now=self._clock(), policy=self._retry, rng=self._rng
                    )
            except BaseException:
                # Keep them for the next flush: forgetting would mean sending them again.
                self._results[:0] = results
                raise
