"""The mail worker: claims due messages in short transactions and sends them outside them.

Delivery is at least once. A message is marked sent only after the next hop accepted it, so a
worker that dies leaves its claimed rows in 'sending'; once their lease runs out any worker
claims them again. The only duplicates are the messages that were accepted by the server but
not yet recorded when the worker died: at most twice ``flush_every`` and the messages on the
wire, for the lanes take no new message while that many outcomes wait to be written.

The shape is the one of the plainest fast sender: one lane per connection, each sending
message after message from a shared queue. A claimer fills that queue a batch ahead, so no
connection waits for a claim; a recorder writes the outcomes, so none waits for a write. It
writes a quarter of a batch at a time, and sooner when an outcome has waited ``flush_after``
or nothing else is being sent: an outcome must be written well before its lease ends, or
its row would be claimed and sent again. Every write names the lease it was claimed under
(or a renewal of it: see service.mail.leases, the heartbeat), so an outcome that comes too
late changes nothing another worker has claimed since.
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
from service.mail import queue
from service.mail.errors import PermanentFailure, TemporaryFailure
from service.mail.leases import LeaseKeeper
from service.mail.outages import OutageLog
from service.mail.queue import Claimed, Outcome, Result, RetryPolicy
from service.mail.senders import Sender
from service.mail.service import purge_bodies

logger = logging.getLogger(__name__)
FINAL_TRIES = 3  # writes of the last outcomes as the loop stops, a few seconds apart


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
        lease: timedelta = timedelta(seconds=30),
        heartbeat: float | None = None,
        poll_interval: float = 5.0,
        flush_after: float = 1.0,
        retry: RetryPolicy | None = None,
        purge_every: timedelta = timedelta(hours=1),
        rng: random.Random | None = None,
    ) -> None:
        self._sessions = sessions
        self._sender = sender
        self._clock = clock
        self._envelope_from = envelope_from
        self._concurrency = concurrency
        self._batch_size = batch_size
        # Outcomes are written a quarter of a batch at a time: often enough that a crash
        # leaves few sent-but-unrecorded messages, seldom enough that a transaction per
        # handful of messages does not halve the throughput.
        self._flush_every = max(concurrency, batch_size // 4)
        self._flush_after = flush_after
        self._lease = lease
        self._keeper = LeaseKeeper(sessions, clock, lease, every=heartbeat)
        self._outage = OutageLog(clock, threshold=max(concurrency, 3))
        self._poll_interval = poll_interval
        self._retry = retry or RetryPolicy()
        self._purge_every = purge_every
        self._rng = rng or random.Random()  # noqa: S311  # jitter, not secrecy
        self._wakeup = asyncio.Event()  # new mail, or stop
        self._room = asyncio.Event()  # fewer held: the claimer may claim
        self._outcome = asyncio.Event()  # an outcome to write, or the lanes are done
        self._written = asyncio.Event()  # outcomes written: lanes held back may go on
        self._inbox: asyncio.Queue[Claimed | None] = asyncio.Queue()
        self._sending = 0  # messages a lane holds, from leaving the inbox to their outcome
        self._results: list[Result] = []  # outcomes not yet written
        self._writing = 0  # outcomes being written
        self._since: datetime | None = None  # when the oldest of them came
        self._halted = False  # run_once could not record: the lanes hand back the rest
        self._record_failing = False  # no claims until outcomes can be written again
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
        for event in (self._wakeup, self._room, self._written):
            event.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def run_once(self) -> int:
        """Claim one batch, send it and record the outcomes; returns how many were claimed."""
        if self.running:
            raise RuntimeError("run_once drives a worker that is not running in the background")
        self._stopping = False
        await self._write_leftovers()
        claimed, sendable = await self._claim()
        if sendable:
            await self._serve(sendable)
        return claimed

    async def purge(self) -> int:
        """Drop old bodies (retention); done about every ``purge_every`` by the loop."""
        async with self._sessions.begin() as session:
            return await purge_bodies(session, now=self._clock())

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self._serve(None)
            except Exception:
                if self._stopping:
                    # The database is away as we stop: the messages sent meanwhile will go
                    # again when their lease ends. Said plainly, for whoever reads the log.
                    logger.exception(
                        "mail worker: stopped with %d outcomes unrecorded; those sent will be "
                        "sent again when their lease ends",
                        len(self._results),
                    )
                    return
                # A bug: the rows held come back when their lease ends, so nothing is lost,
                # and the worker must not die quietly.
                logger.exception("mail worker: failed; starting again after a pause")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), self._poll_interval)

    async def _serve(self, batch: Sequence[Claimed] | None) -> None:
        """Send ``batch`` (run_once), or what the claimer claims until ``stop`` (the loop)."""
        if batch is None:
            await self._write_leftovers()
        inbox: asyncio.Queue[Claimed | None] = asyncio.Queue()
        self._inbox, self._halted = inbox, False
        if batch is not None:
            for message in batch:
                inbox.put_nowait(message)
            for _ in range(self._concurrency):
                inbox.put_nowait(None)  # each lane ends when it takes one
        lanes_done = asyncio.Event()
        recorder = asyncio.create_task(self._recorder(lanes_done, persistent=batch is None))
        beating = asyncio.Event()  # set: the heartbeat stops
        heartbeat = asyncio.create_task(self._keeper.run(beating), name="mail-lease-heartbeat")
        try:
            async with asyncio.TaskGroup() as lanes:
                if batch is None:
                    lanes.create_task(self._claimer(inbox))
                for _ in range(self._concurrency):
                    lanes.create_task(self._lane(inbox))
        except BaseException:
            # Cancelled, or a bug: record what was sent, but let the first cause through.
            try:
                await self._last_write(lanes_done, recorder)
            except Exception:
                logger.exception("mail worker: recording the last outcomes failed")
            raise
        else:
            await self._last_write(lanes_done, recorder)
        finally:
            beating.set()
            await asyncio.gather(heartbeat, return_exceptions=True)

    async def _last_write(self, lanes_done: asyncio.Event, recorder: asyncio.Task[None]) -> None:
        """The lanes are done: the recorder writes what is left, and ends."""
        lanes_done.set()
        self._outcome.set()
        await recorder

    async def _claimer(self, inbox: asyncio.Queue[Claimed | None]) -> None:
        failures = 0
        try:
            while not self._stopping:
                self._wakeup.clear()
                # At most a batch held (queued, being sent, or unwritten) before claiming the
                # next: the lanes stay busy during a claim, and a claim is never far ahead.
                # Nothing is claimed while outcomes cannot be written: after their lease,
                # this worker would claim its own unrecorded rows and send them again.
                await self._until(self._may_claim, self._room)
                if self._stopping:
                    break
                try:
                    await self._purge_when_due()
                    claimed, sendable = await self._claim()
                except Exception:
                    # Nothing is lost (rows stay pending, or come back when their lease
                    # ends), so the loop outlives a database outage, saying so once.
                    failures += 1
                    if failures == 1:
                        logger.exception("mail worker: claiming failed; trying again")
                    claimed, sendable = 0, []
                else:
                    if failures:
                        logger.info("mail worker: claiming works again")
                    failures = 0
                for message in sendable:
                    inbox.put_nowait(message)
                if claimed < self._batch_size:
                    pause = min(self._poll_interval * 2 ** min(failures, 4), 60.0)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wakeup.wait(), pause)
        finally:
            for _ in range(self._concurrency):
                inbox.put_nowait(None)  # after what is queued, which the lanes hand back

    async def _lane(self, inbox: asyncio.Queue[Claimed | None]) -> None:
        while True:
            # Bounded unwritten outcomes: what a crash could send twice.
            await self._until(self._may_send, self._written)
            message = await inbox.get()
            if message is None:
                return
            self._sending += 1
            try:
                if self._stopping or self._halted or not self._leased_long_enough(message):
                    result = Result(message, Outcome.released)
                else:
                    result = await self._attempt(message)
                    self._outage.tell(result)
            finally:
                self._sending -= 1
            if not self._results:
                self._since = self._clock()
            self._results.append(result)
            self._outcome.set()

    async def _recorder(self, lanes_done: asyncio.Event, *, persistent: bool) -> None:
        """Write outcomes while the lanes run, and all that are left when they are done.

        While writes fail, no more is claimed and (past the bound) nothing more is sent; the
        loop's last write, as it stops, is tried a few times before it gives up and says so.
        run_once's lanes hand back the rest of their batch, and its caller hears of it.
        """
        failures = 0
        while True:
            self._outcome.clear()
            finished = lanes_done.is_set()
            # On the worker's clock, as the leases are.
            since = self._since
            waited = (self._clock() - since).total_seconds() if since else 0.0
            due = (
                finished
                or self._idle()
                or len(self._results) >= self._flush_every
                or waited >= self._flush_after
            )
            if self._results and due:
                try:
                    await self._write()
                except Exception:
                    failures += 1
                    self._record_failing = True
                    if not persistent:
                        self._halted = True
                        self._written.set()
                    if finished and (not persistent or failures > FINAL_TRIES):
                        raise
                    if failures == 1:  # once an outage, not once an attempt
                        logger.exception("mail worker: recording outcomes failed; retrying")
                    # Soon after the database is back: other workers may claim these rows
                    # once their lease has run out, and send them again.
                    delay = min(2.0**failures, self._lease.total_seconds() / 6)
                    if finished:
                        await asyncio.sleep(delay)
                    else:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(lanes_done.wait(), delay)
                else:
                    if failures:
                        logger.info("mail worker: recording outcomes works again")
                    failures = 0
                    self._record_failing = False
                continue
            if finished:
                return
            timeout = max(self._flush_after - waited, 0.05) if self._results else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._outcome.wait(), timeout)

    async def _write(self) -> None:
        results, since = self._results, self._since
        self._results, self._since = [], None
        self._writing = len(results)
        try:
            # Under the lease the rows hold now: no renewal moves it during the write.
            async with self._keeper.lock:
                async with self._sessions.begin() as session:
                    await queue.record(
                        session, results, now=self._clock(), policy=self._retry, rng=self._rng
                    )
                self._keeper.written(results)
        except BaseException:
            # Keep them for the next write: forgetting would mean sending them again.
            self._results[:0] = results
            self._since = since
            raise
        finally:
            self._writing = 0
        self._room.set()
        self._written.set()

    async def _write_leftovers(self) -> None:
        """Outcomes a stop or a failure left unwritten go first: their rows are still held
        under their lease until it ends, and once written they are not sent again."""
        if self._results:
            await self._write()

    async def _until(self, condition: Callable[[], bool], event: asyncio.Event) -> None:
        while not condition() and not self._stopping:
            event.clear()
            await event.wait()

    def _may_send(self) -> bool:
        return self._halted or len(self._results) + self._writing < 2 * self._flush_every

    def _may_claim(self) -> bool:
        return self._held() <= self._batch_size and not self._record_failing

    def _held(self) -> int:
        return self._inbox.qsize() + self._sending + len(self._results) + self._writing

    def _idle(self) -> bool:
        """Nothing is being sent, nor waiting to be."""
        return self._sending == 0 and self._inbox.empty()

    async def _claim(self) -> tuple[int, list[Claimed]]:
        """How many due messages were claimed, and those of them that may be sent."""
        async with self._sessions.begin() as session:
            now = self._clock()
            claimed = await queue.claim(session, now=now, lease=self._lease, limit=self._batch_size)
            sendable = await queue.drop_suppressed(session, claimed, now=now)
        if claimed:
            self._keeper.hold(claimed[0].lease)
        return len(claimed), sendable

    def _leased_long_enough(self, message: Claimed) -> bool:
        # A slow server or a rate cap can keep the end of a batch waiting, and renewals can
        # fail. Once half its lease is gone, another worker may soon claim it too: hand it
        # back rather than race. One claimed by another worker already is not ours to send.
        if message.id in message.lease.lost:
            return False
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
            # Cut short a quarter of a lease before the lease ends (renewals move it).
            async with self._keeper.deadline(message.lease):
                await self._sender.send(
                    message.body, sender=self._envelope_from, recipient=message.recipient
                )
        except TimeoutError:  # ours: the sender's own timeouts are TemporaryFailure
            return Result(message, Outcome.temporary, "the send did not end well within its lease")
        except PermanentFailure as exc:
            return Result(message, Outcome.permanent, str(exc))
        except TemporaryFailure as exc:
            return Result(message, Outcome.temporary, str(exc))
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is None or task.cancelling():
                raise  # we are being cancelled
            # A library's own cancellation leaking out of a send: a failure of that message,
            # not a reason for its lane to stop.
            logger.error("mail worker: sending message %d was cancelled", message.id)
            return Result(message, Outcome.temporary, "the send was cancelled")
        except Exception as exc:
            # An unexpected error is written on the row and retried like a temporary one,
            # so that one odd message cannot stop the queue; the traceback goes to the log.
            logger.exception("mail worker: sending message %d failed", message.id)
            return Result(message, Outcome.temporary, f"{type(exc).__name__}: {exc}")
        return Result(message, Outcome.sent, at=self._clock())
