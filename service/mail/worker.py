"""The mail worker: claims due messages in short transactions and sends them outside them.

Delivery is at least once. A message is marked sent only after the next hop accepted it, so a
worker that dies leaves its claimed rows in 'sending'; once their lease runs out any worker
claims them again. The only duplicates are the messages that were accepted by the server but
not yet recorded when the worker died: they are among the rows it held, at most two batches.

The shape is the one of the plainest fast sender: one lane per connection, each sending
message after message from a shared queue. The loop claims the next batch into that queue
while the lanes are still busy with the last one, so no connection waits for a claim; the
outcomes are written by a task of their own, so no connection waits for a write either.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
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
        batch_size: int = 200,
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
        self._concurrency = concurrency
        # Outcomes are written a quarter of a batch at a time: often enough that a crash
        # leaves few sent-but-unrecorded messages, seldom enough that a transaction per
        # handful of messages does not halve the throughput.
        self._flush_every = max(concurrency, batch_size // 4)
        self._batch_size = batch_size
        # When no more than this many claimed messages wait for a lane, the next batch is
        # claimed: enough to keep every connection busy while the claim takes its turn.
        self._low_water = max(2 * concurrency, batch_size // 2)
        self._lease = lease
        self._poll_interval = poll_interval
        self._retry = retry or RetryPolicy()
        self._purge_every = purge_every
        self._rng = rng or random.Random()  # noqa: S311  # jitter, not secrecy
        self._room = asyncio.Event()
        self._wakeup = asyncio.Event()
        self._results: list[Result] = []
        self._flush_lock = asyncio.Lock()
        self._flusher: asyncio.Task[None] | None = None
        self._sending = 0  # messages a lane holds, from leaving the inbox to their outcome
        self._inbox: asyncio.Queue[Claimed | None] = asyncio.Queue()
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
        """Finish the sends in flight, record them, hand back the rest untried."""
        self._stopping = True
        self._wakeup.set()
        self._room.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def run_once(self) -> int:
        """Claim one batch, send it and record the outcomes; returns how many were claimed."""
        claimed, sendable = await self._claim()
        if sendable:
            inbox: asyncio.Queue[Claimed | None] = asyncio.Queue()
            for message in sendable:
                inbox.put_nowait(message)
            await self._drain(inbox, persistent=False)
        return claimed

    async def purge(self) -> int:
        """Drop old bodies (retention); done about every ``purge_every`` by the loop."""
        async with self._sessions.begin() as session:
            return await purge_bodies(session, now=self._clock())

    async def _claim(self) -> tuple[int, list[Claimed]]:
        """How many due messages were claimed, and those of them that may be sent."""
        async with self._sessions.begin() as session:
            now = self._clock()
            claimed = await queue.claim(session, now=now, lease=self._lease, limit=self._batch_size)
            return len(claimed), await queue.drop_suppressed(session, claimed, now=now)

    async def _run(self) -> None:
        inbox: asyncio.Queue[Claimed | None] = asyncio.Queue()
        lanes = asyncio.create_task(self._drain(inbox, persistent=True))
        while not self._stopping:
            self._wakeup.clear()
            try:
                await self._purge_when_due()
                if self._results and self._idle():
                    await self._flush()  # left over by a write that failed
                claimed, sendable = await self._claim()
            except Exception:
                # The database failed outside any one message. Nothing is lost (rows stay
                # pending, or come back when their lease ends), so the loop must outlive the
                # outage rather than die quietly in the background.
                logger.exception("mail worker: claiming failed; trying again after a pause")
                claimed, sendable = 0, []
            for message in sendable:
                inbox.put_nowait(message)
            if self._stopping:
                break
            if claimed == self._batch_size:
                # More may be due: claim again once this batch is well under way.
                await self._until_room(inbox)
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), self._poll_interval)
        for _ in range(self._concurrency):
            inbox.put_nowait(None)  # after what is queued, which the lanes hand back
        try:
            await lanes
        except Exception:
            # Recording failed (the database is away): unrecorded rows come back when their
            # lease ends. Nothing is lost.
            logger.exception("mail worker: recording the last outcomes failed")

    async def _until_room(self, inbox: asyncio.Queue[Claimed | None]) -> None:
        self._room.clear()
        while inbox.qsize() > self._low_water and not self._stopping:
            await self._room.wait()
            self._room.clear()

    async def _drain(self, inbox: asyncio.Queue[Claimed | None], *, persistent: bool) -> None:
        """Send what is in ``inbox`` on every connection, then record every outcome.

        A persistent drain (the loop's) waits for more until it meets a None for each lane;
        the other (run_once's) ends when the inbox is empty.
        """
        self._inbox = inbox
        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(self._concurrency):
                    group.create_task(self._lane(inbox, persistent))
        finally:
            if self._flusher is not None:
                await asyncio.wait([self._flusher])
            await self._flush()

    async def _lane(self, inbox: asyncio.Queue[Claimed | None], persistent: bool) -> None:
        while persistent or not inbox.empty():
            message = await inbox.get()
            if message is None:
                return
            if inbox.qsize() <= self._low_water:
                self._room.set()
            self._sending += 1
            try:
                if self._stopping or not self._leased_long_enough(message):
                    result = Result(message, Outcome.released)
                else:
                    result = await self._attempt(message)
            finally:
                self._sending -= 1
            self._record(result)

    def _idle(self) -> bool:
        """Nothing is being sent, nor waiting to be."""
        return self._sending == 0 and self._inbox.empty()

    def _record(self, result: Result) -> None:
        # Written a batch at a time while mail flows, and at once when it stops: an outcome
        # must not wait in memory (its row would come back when its lease ends, and be sent
        # again).
        self._results.append(result)
        due = len(self._results) >= self._flush_every or self._idle()
        if due and (self._flusher is None or self._flusher.done()):
            self._flusher = asyncio.create_task(self._flush_logged())

    async def _flush_logged(self) -> None:
        try:
            await self._flush(at_least=self._flush_every)
            if self._idle():
                await self._flush()  # the rest, which came in while we wrote
        except Exception:
            # The results stay for the next flush; the sends go on meanwhile.
            logger.exception("mail worker: recording outcomes failed; trying again later")

    def _leased_long_enough(self, message: Claimed) -> bool:
        # A slow server or a rate cap can keep the end of a batch waiting. Once half its lease
        # is gone, another worker may soon claim it too: hand it back rather than race.
        return self._clock() < message.leased_until - self._lease / 2

    async def _purge_when_due(self) -> None:
        now = self._clock()
        if self._next_purge is None or now >= self._next_purge:
            self._next_purge = now + self._purge_every
            purged = await self.purge()
            if purged:
                logger.info("mail worker: dropped the bodies of %d old messages", purged)

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

    async def _flush(self, at_least: int = 1) -> None:
        """Write the outcomes, ``at_least`` at a time, until fewer are left."""
        async with self._flush_lock:
            # Outcomes that arrive during a write go in the next one.
            while len(self._results) >= at_least:
                results, self._results = self._results, []
                try:
                    async with self._sessions.begin() as session:
                        await queue.record(
                            session, results, now=self._clock(), policy=self._retry, rng=self._rng
                        )
                except BaseException:
                    # Keep them for the next flush: forgetting would mean sending them again.
                    self._results[:0] = results
                    raise
