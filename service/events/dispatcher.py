"""The outbox dispatcher: claims event rows and runs the handlers registered for each type.

Any number of dispatchers, in any number of processes, share the work: a claim leases rows
(SKIP LOCKED on PostgreSQL; SQLite has one writer at a time). The lease is short and renewed
while the batch is in hand, so a long fan-out is never claimed by a second dispatcher, and
a dead one's events come back within a lease. Each handler runs in its own transaction
together with the note that it ran, so a retry after a crash or an error repeats no handler
that had finished. Events of one brief are handled in order (a withdrawal after its
publication); a failing event is retried with backoff and never holds up other briefs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from service.clock import Clock
from service.events import leases
from service.events.leases import Batch
from service.events.listener import Listener
from service.events.models import Event, EventStatus

log = logging.getLogger(__name__)
Handler = Callable[[AsyncSession, Event], Awaitable[None]]
Sessions = async_sessionmaker[AsyncSession]
# A handler that commits as it goes (in chunks), so that its effects start sooner; it must
# be idempotent on its own, since a retry repeats the chunks that had committed.
ChunkedHandler = Callable[[Sessions, Event, Callable[[], None]], Awaitable[None]]
MAX_ATTEMPTS = 12


class Later(Exception):  # not an error: a handler asking to be run again later
    """Raised by a handler that must wait for something outside it to settle first (an email
    carrying a withdrawn brief is being sent, and its outcome decides who must be told).

    The event is tried again after ``delay`` without counting as a failed attempt; what the
    handler committed before raising stays, so it must be idempotent, as chunked ones are.
    """

    def __init__(self, reason: str, delay: timedelta = timedelta(seconds=5)) -> None:
        super().__init__(reason)
        self.delay = delay


@dataclass(frozen=True)
class Registration:
    name: str
    types: frozenset[str]
    handler: Handler | None = None
    chunked: ChunkedHandler | None = None
    # Of the events of its types, those it has anything to do for (decided by what the event
    # row says, so a retry decides the same). Others are passed over without a transaction
    # or a note that it ran.
    when: Callable[[Event], bool] | None = None

    def wants(self, event: Event) -> bool:
        return event.type in self.types and (self.when is None or self.when(event))


class Dispatcher:
    def __init__(
        self,
        sessions: Sessions,
        clock: Clock,
        registrations: Sequence[Registration],
        *,
        batch: int = 20,
        lease: timedelta = timedelta(seconds=30),
        heartbeat: float | None = None,
        poll: float = 5.0,
        after: Callable[[], None] = lambda: None,
        woken: Callable[[], None] = lambda: None,
    ) -> None:
        self.sessions, self.clock, self.registrations = sessions, clock, list(registrations)
        self.after = after  # told after each event: e.g. wake the mail worker
        # Told at each wake, before the event is handled: something was just committed, here
        # or (by NOTIFY) in another instance; e.g. drop what was rendered from the content.
        self.woken = woken
        self.batch, self.lease, self.poll = batch, lease, poll
        # Renewed four times a lease: a renewal or two may fail before the lease runs out.
        self.heartbeat = heartbeat if heartbeat is not None else lease.total_seconds() / 4
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._rng = random.Random()  # noqa: S311  # jitter, not secrets

    def wake(self) -> None:
        """Look for events now: something was just committed."""
        self.woken()
        self._wake.set()

    def start(self, engine: AsyncEngine | None = None) -> None:
        """Run in the background; with a PostgreSQL engine, also wake on other instances' events."""
        self._tasks = [asyncio.create_task(self._run(), name="event-dispatcher")]
        if engine is not None and engine.dialect.name == "postgresql":
            listener = Listener(engine, self.wake, retry=self.poll)
            self._tasks.append(asyncio.create_task(listener.run(), name="event-listener"))

    async def stop(self) -> None:
        """Finish the event in hand, then stop; cancelling mid-transaction could strand it."""
        self._stopping = True
        self._wake.set()
        for task in self._tasks[1:]:
            task.cancel()  # listeners hold no transaction
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                while not self._stopping and await self.run_once():
                    pass
            except Exception:
                log.exception("the event dispatcher failed; retrying after the poll interval")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll)

    async def run_once(self) -> int:
        """Handle one batch of due events; returns how many were claimed."""
        batch = await self._claim()
        if not batch:
            return 0
        done = asyncio.Event()
        heartbeat = asyncio.create_task(
            leases.keep(
                self.sessions,
                batch,
                clock=self.clock,
                lease=self.lease,
                every=self.heartbeat,
                done=done,
            ),
            name="event-lease-heartbeat",
        )
        try:
            for event_id in batch.ids:
                if self._stopping:
                    break
                if event_id in batch.held:  # else another dispatcher has it now
                    await self._handle(event_id, batch)
                    self.after()
        finally:
            done.set()
            await asyncio.gather(heartbeat, return_exceptions=True)
        if self._stopping and batch.held:
            await leases.release(self.sessions, batch)
        return len(batch)

    async def _claim(self) -> Batch:
        async with self.sessions.begin() as session:
            return await leases.claim(session, now=self.clock(), lease=self.lease, limit=self.batch)

    async def _handle(self, event_id: int, batch: Batch) -> None:
        # Read once: which handlers it concerns, and which had finished before (a retry).
        async with self.sessions() as session:
            event = await session.get(Event, event_id)
        for registration in self.registrations:
            if event is None or registration.name in event.handled:
                continue
            if not registration.wants(event):
                continue
            try:
                await self._run_handler(event, registration)
            except Later as later:
                log.info("handler %s deferred event %s: %s", registration.name, event_id, later)
                async with batch.lock:
                    await self._later(event_id, later)
                    batch.held.discard(event_id)
                return
            except Exception as exc:
                log.exception("handler %s failed on event %s", registration.name, event_id)
                async with batch.lock:
                    await self._failed(
                        event_id, f"{registration.name}: {type(exc).__name__}: {exc}"
                    )
                    batch.held.discard(event_id)
                return
        async with batch.lock, self.sessions.begin() as session:
            await session.execute(
                update(Event)
                .where(Event.id == event_id)
                .values(status=EventStatus.done.value, processed_at=self.clock(), leased_until=None)
            )
            batch.held.discard(event_id)

    async def _run_handler(self, event: Event, registration: Registration) -> None:
        """Run one handler the event concerns, and note that it ran."""
        if registration.chunked is not None:
            await registration.chunked(self.sessions, event, self.after)
            await self._mark(event.id, registration.name)
            return
        async with self.sessions.begin() as session:
            locked = await session.scalar(
                select(Event).where(Event.id == event.id).with_for_update()
            )
            if locked is None or registration.name in locked.handled:
                return
            if registration.handler is not None:
                await registration.handler(session, locked)
            locked.handled = [*locked.handled, registration.name]

    async def _mark(self, event_id: int, name: str) -> None:
        async with self.sessions.begin() as session:
            event = await session.get(Event, event_id, with_for_update=True)
            if event is not None and name not in event.handled:
                event.handled = [*event.handled, name]

    async def _later(self, event_id: int, later: Later) -> None:
        async with self.sessions.begin() as session:
            event = await session.get(Event, event_id, with_for_update=True)
            if event is not None:
                event.leased_until = None
                event.available_at = self.clock() + later.delay
                event.last_error = f"waiting: {later}"[:2000]

    async def _failed(self, event_id: int, error: str) -> None:
        async with self.sessions.begin() as session:
            event = await session.get(Event, event_id, with_for_update=True)
            if event is None:
                return
            event.attempts += 1
            event.last_error = error[:2000]
            event.leased_until = None
            if event.attempts >= MAX_ATTEMPTS:
                event.status = EventStatus.failed.value
            else:
                event.available_at = self.clock() + self._backoff(event.attempts)

    def _backoff(self, attempts: int) -> timedelta:
        base = min(timedelta(seconds=15) * 2 ** (attempts - 1), timedelta(hours=1))
        return base * self._rng.uniform(0.8, 1.2)
