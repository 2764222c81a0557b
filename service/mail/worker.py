"""The mail worker: claims due messages in short transactions and sends them outside them.

Delivery is at least once. A message is marked sent only after the next hop accepted it, so a
worker that dies leaves its claimed rows in 'sending'; once their lease runs out any worker
claims them again. The only duplicates are the messages that were accepted by the server but
not yet recorded when the worker died: at most twice a write's worth (a quarter of a batch)
and the messages on the wire, for the lanes take no new message while that many outcomes
wait to be written.

The shape is the one of the plainest fast sender, in parts with one job each:

- the claimer (service.mail.claimer) keeps the inbox a batch ahead, so no connection waits
  for a claim, and its heartbeat renews the leases held;
- the lanes (service.mail.lanes), one per connection, send message after message from it;
- the recorder (service.mail.recorder) writes the outcomes behind them, so none waits for a
  write: a quarter of a batch at a time, and sooner when an outcome has waited
  ``flush_after`` or nothing else is being sent. An outcome must be written well before its
  lease ends, or its row would be claimed and sent again. Every write names the lease it was
  claimed under (or a renewal of it), so an outcome that comes too late changes nothing
  another worker has claimed since.

What they hold between them is ``service.mail.held.Held``. This class only drives them:
``start`` runs rounds of claiming and sending in the background until ``stop``; ``run_once``
sends one claim and records it (tests, and commands). Dropping old bodies is a job of the
service's scheduler (service.mail.purge), not the worker's.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.clock import Clock
from service.mail.claimer import Claimer
from service.mail.held import Held
from service.mail.lanes import Lanes
from service.mail.leases import LeaseKeeper
from service.mail.outages import OutageLog
from service.mail.queue import RetryPolicy
from service.mail.recorder import Recorder
from service.mail.senders import Sender

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
        return_path: Callable[[int], str] | None = None,
        concurrency: int = 4,
        batch_size: int = 200,
        lease: timedelta = timedelta(seconds=30),
        heartbeat: float | None = None,
        poll_interval: float = 5.0,
        flush_after: float = 1.0,
        retry: RetryPolicy | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._held = held = Held()
        keeper = LeaseKeeper(sessions, clock, lease, every=heartbeat)
        self._recorder = Recorder(
            sessions,
            clock,
            keeper,
            held,
            # A quarter of a batch at a time: often enough that a crash leaves few
            # sent-but-unrecorded messages, seldom enough that a transaction per handful
            # of messages does not halve the throughput.
            flush_every=max(concurrency, batch_size // 4),
            flush_after=flush_after,
            retry=retry or RetryPolicy(),
            rng=rng or random.Random(),  # noqa: S311  # jitter, not secrecy
        )
        self._claimer = Claimer(
            sessions,
            clock,
            keeper,
            held,
            self._recorder,
            batch_size=batch_size,
            poll_interval=poll_interval,
        )
        # Each round of sending has lanes of its own, over an empty inbox.
        self._new_lanes = functools.partial(
            Lanes,
            held,
            self._recorder,
            keeper,
            OutageLog(clock, threshold=max(concurrency, 3)),
            sender,
            clock,
            envelope_from=envelope_from,
            count=concurrency,
            return_path=return_path,
        )
        self._lanes: Lanes | None = None  # those of the loop's round
        self._stopping = False
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
        self._claimer.wake()

    async def stop(self) -> None:
        """Finish the sends in flight, record them, hand back the rest untried."""
        self._stopping = True
        self._claimer.wake()
        if self._lanes is not None:
            self._lanes.hand_back()
        self._held.changed()
        if self._task is not None:
            await self._task
            self._task = None

    async def run_once(self) -> int:
        """Claim one batch, send it and record the outcomes; returns how many were claimed.

        If the outcomes cannot be written, the lanes hand back the rest of the batch and the
        error goes through; the outcomes are kept for the next run."""
        if self.running:
            raise RuntimeError("run_once drives a worker that is not running in the background")
        await self._recorder.write_leftovers()
        claimed, sendable = await self._claimer.claim()
        if sendable:
            lanes = self._new_lanes()
            lanes.put(sendable)
            lanes.close()
            async with (
                self._claimer.heartbeat(),
                self._recorder.recording(final_tries=0, on_failure=lanes.hand_back),
            ):
                await lanes.run()
        return claimed

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self._round()
            except Exception:
                if self._stopping:
                    # The database is away as we stop: the messages sent meanwhile will go
                    # again when their lease ends. Said plainly, for whoever reads the log.
                    logger.exception(
                        "mail worker: stopped with %d outcomes unrecorded; those sent will be "
                        "sent again when their lease ends",
                        len(self._held.unwritten),
                    )
                    return
                # A bug: the rows held come back when their lease ends, so nothing is lost,
                # and the worker must not die quietly.
                logger.exception("mail worker: failed; starting again after a pause")
                await self._claimer.pause()

    async def _round(self) -> None:
        """Send what the claimer claims, until ``stop``; write what the last round left first."""
        await self._recorder.write_leftovers()
        self._lanes = lanes = self._new_lanes()
        async with (
            self._claimer.heartbeat(),
            self._recorder.recording(final_tries=FINAL_TRIES),
            asyncio.TaskGroup() as tasks,
        ):
            tasks.create_task(self._claim(lanes))
            tasks.create_task(lanes.run())

    async def _claim(self, lanes: Lanes) -> None:
        try:
            await self._claimer.run(stopping=lambda: self._stopping)
        finally:
            lanes.close()  # after what is queued, which the lanes hand back
