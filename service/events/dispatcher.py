"""The outbox dispatcher: claims event rows and runs the handlers registered for each type.

Any number of dispatchers, in any number of processes, share the work: a claim leases rows
(SKIP LOCKED on PostgreSQL; SQLite has one writer at a time). Each handler runs in its own
transaction together with the note that it ran, so a retry after a crash or an error repeats
no handler that had finished. Events of one brief are handled in order (a withdrawal after
its publication); a failing event is retried with backoff and never holds up other briefs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from service.clock import Clock
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


class Dispatcher:
    def __init__(
        self,
        sessions: Sessions,
        clock: Clock,
        registrations: Sequence[Registration],
        *,
        batch: int = 20,
        lease: timedelta = timedelta(minutes=2),
        poll: float = 5.0,
        after: Callable[[], None] = lambda: None,
    ) -> None:
        self.sessions, self.clock, self.registrations = sessions, clock, list(registrations)
        self.after = after  # told after each event: e.g. wake the mail worker
        self.batch, self.lease, self.poll = batch, lease, poll
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._rng = random.Random()  # noqa: S311  # jitter, not secrets

    def wake(self) -> None:
        """Look for events now: something was just committed."""
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
        ids = await self._claim()
        for event_id in ids:
            if self._stopping:
                break  # the lease runs out and another dispatcher takes the rest
            await self._handle(event_id)
            self.after()
        return len(ids)

    async def _claim(self) -> list[int]:
        now = self.clock()
        earlier = aliased(Event)
        blocked = exists().where(
            earlier.brief_id == Event.brief_id,
            earlier.id < Event.id,
            earlier.status == EventStatus.pending.value,
        )
        due = (
            select(Event.id)
            .where(
                Event.status == EventStatus.pending.value,
                Event.available_at <= now,
                or_(Event.leased_until.is_(None), Event.leased_until < now),
                ~blocked,
            )
            .order_by(Event.id)
            .limit(self.batch)
            .with_for_update(skip_locked=True, of=Event)
        )
        async with self.sessions.begin() as session:
            result = await session.execute(
                update(Event)
                .where(Event.id.in_(due.scalar_subquery()))
                .values(leased_until=now + self.lease)
                .returning(Event.id)
            )
            return sorted(result.scalars())

    async def _handle(self, event_id: int) -> None:
        for registration in self.registrations:
            try:
                await self._run_handler(event_id, registration)
            except Later as later:
                log.info("handler %s deferred event %s: %s", registration.name, event_id, later)
                await self._later(event_id, later)
                return
            except Exception as exc:
                log.exception("handler %s failed on event %s", registration.name, event_id)
                await self._failed(event_id, f"{registration.name}: {type(exc).__name__}: {exc}")
                return
        async with self.sessions.begin() as session:
            await session.execute(
                update(Event)
                .where(Event.id == event_id)
                .values(status=EventStatus.done.value, processed_at=self.clock(), leased_until=None)
            )

    async def _run_handler(self, event_id: int, registration: Registration) -> None:
        if registration.chunked is not None:
            async with self.sessions() as session:
                event = await session.get(Event, event_id)
            if event is not None and registration.name not in event.handled:
                if event.type in registration.types:
                    await registration.chunked(self.sessions, event, self.after)
                await self._mark(event_id, registration.name)
            return
        async with self.sessions.begin() as session:
            event = await session.scalar(
                select(Event).where(Event.id == event_id).with_for_update()
            )
            if event is None or registration.name in event.handled:
                return
            if event.type in registration.types and registration.handler is not None:
                await registration.handler(session, event)
            event.handled = [*event.handled, registration.name]

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
