"""The mail worker's recorder: it writes the lanes' outcomes behind them, under their leases.

A message is marked sent only once the next hop accepted it and that is written, so an
outcome left in memory past its lease would have its row claimed and sent again. The
recorder writes a quarter of a batch at a time while mail flows (often enough that a crash
leaves few sent-but-unrecorded messages, seldom enough that a transaction per handful of
messages does not halve the throughput), at once when nothing is being sent or waiting to
be, and as soon as an outcome has waited ``flush_after`` on the worker's clock, the leases'
clock: an outcome must be written well before its lease ends.

Every write names the lease its rows were claimed under, or the heartbeat's renewal of it,
and takes its turn with the renewals (the keeper's lock), so an outcome that comes too late
changes nothing another worker has claimed since (decisions 0002 and 0010).

The lanes take no new message while twice a write's worth of outcomes are unwritten
(``has_room``): those, and the messages on the wire, are what a killed worker can send twice.

While writes fail (the database is away) the recorder tries again every few seconds, a
sixth of a lease apart at most, so that once the database is back the outcomes are written
before others may claim their rows; meanwhile nothing is claimed (``failing``). Outcomes it
could not write are kept and written first when the worker runs again (``write_leftovers``),
so the same process sends nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.clock import Clock
from service.mail import queue
from service.mail.held import Held
from service.mail.leases import LeaseKeeper
from service.mail.queue import Result, RetryPolicy

logger = logging.getLogger("service.mail.worker")


class Recorder:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        keeper: LeaseKeeper,
        held: Held,
        *,
        flush_every: int,
        flush_after: float,
        retry: RetryPolicy,
        rng: random.Random,
    ) -> None:
        self._sessions, self._clock, self._keeper, self._held = sessions, clock, keeper, held
        self._flush_every, self._flush_after = flush_every, flush_after
        self._retry, self._rng = retry, rng
        self.failing = False  # the last write failed: nothing is claimed until one works
        self._since: datetime | None = None  # when the oldest unwritten outcome came
        self._outcome = asyncio.Event()  # an outcome to write, or the lanes are done

    def add(self, result: Result) -> None:
        """A lane's outcome, to be written."""
        if not self._held.unwritten:
            self._since = self._clock()
        self._held.unwritten.append(result)
        self._outcome.set()

    def has_room(self) -> bool:
        """A lane may send another: fewer than twice a write's worth of outcomes are unwritten
        (those are what a crash would send twice)."""
        return len(self._held.unwritten) + self._held.writing < 2 * self._flush_every

    @contextlib.asynccontextmanager
    async def recording(
        self, *, final_tries: int, on_failure: Callable[[], None] | None = None
    ) -> AsyncIterator[None]:
        """Write outcomes while the lanes run (the body), and all that are left after them.

        A failed write is tried again while the lanes run; once they are done, ``final_tries``
        more times a few seconds apart before the error goes through. ``on_failure`` is told
        of each failure (run_once's lanes then hand back the rest of their batch).
        """
        done = asyncio.Event()
        task = asyncio.create_task(
            self._run(done, final_tries, on_failure or (lambda: None)), name="mail-recorder"
        )
        try:
            yield
        except BaseException:
            # Cancelled, or a bug: record what was sent, but let the first cause through.
            try:
                await self._last_write(done, task)
            except Exception:
                logger.exception("mail worker: recording the last outcomes failed")
            raise
        await self._last_write(done, task)

    async def write_leftovers(self) -> None:
        """Outcomes a stop or a failure left unwritten go first: their rows are still held
        under their lease until it ends, and once written they are not sent again."""
        if self._held.unwritten:
            await self._write()

    async def _last_write(self, done: asyncio.Event, task: asyncio.Task[None]) -> None:
        done.set()
        self._outcome.set()
        await task

    async def _run(
        self, done: asyncio.Event, final_tries: int, on_failure: Callable[[], None]
    ) -> None:
        held, failures = self._held, 0
        while True:
            self._outcome.clear()
            finished = done.is_set()
            # On the worker's clock, as the leases are.
            since = self._since
            waited = (self._clock() - since).total_seconds() if since else 0.0
            due = (
                finished
                or held.idle()
                or len(held.unwritten) >= self._flush_every
                or waited >= self._flush_after
            )
            if held.unwritten and due:
                try:
                    await self._write()
                except Exception:
                    failures += 1
                    self.failing = True
                    on_failure()
                    if finished and failures > final_tries:
                        raise
                    if failures == 1:  # once an outage, not once an attempt
                        logger.exception("mail worker: recording outcomes failed; retrying")
                    # Soon after the database is back: other workers may claim these rows
                    # once their lease has run out, and send them again.
                    delay = min(2.0**failures, self._keeper.length.total_seconds() / 6)
                    if finished:
                        await asyncio.sleep(delay)
                    else:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(done.wait(), delay)
                else:
                    if failures:
                        logger.info("mail worker: recording outcomes works again")
                    failures = 0
                continue
            if finished:
                return
            timeout = max(self._flush_after - waited, 0.05) if held.unwritten else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._outcome.wait(), timeout)

    async def _write(self) -> None:
        held = self._held
        results, since = held.unwritten, self._since
        held.unwritten, self._since = [], None
        held.writing = len(results)
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
            held.unwritten[:0] = results
            self._since = since
            raise
        finally:
            held.writing = 0
        self.failing = False
        held.changed()  # room to claim, and to send
