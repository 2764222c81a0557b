"""The dispatcher's leases: a batch of due events is claimed under a short lease, which is
renewed while the batch is in hand, and what is left of it is handed back when it stops.

A renewal writes the new lease only where the one held is still in place, so it never takes
an event another dispatcher has claimed since; those it finds gone are dropped from the
batch. It is tried only while the lease held has not run out: after that, another
dispatcher may have claimed the events, under a lease that a late renewal would match.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, Update, bindparam, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from service.clock import Clock
from service.db import UTCDateTime
from service.events.models import Event, EventStatus

log = logging.getLogger("service.events.dispatcher")


@dataclass(eq=False)
class Batch:
    """The events of one claim, those still in hand, and the lease they are held under.

    ``until`` is the lease the rows are known to hold; ``upper`` the latest a renewal may have
    written without hearing back (``until`` otherwise). Renewals are tried only before
    ``until``, so no other dispatcher can have claimed a row under a lease between the two.
    """

    ids: list[int]
    until: datetime
    upper: datetime = field(init=False)
    held: set[int] = field(init=False)  # neither finished here nor lost to another
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # renewals, and finishing writes

    def __post_init__(self) -> None:
        self.upper, self.held = self.until, set(self.ids)

    def __len__(self) -> int:
        return len(self.ids)


def _claiming() -> Update:
    """Lease up to :limit due events (due by :now) until :until, each only once those before
    it of its brief are done. Built once, run with the values: building it took ~1 ms, and
    the dispatcher claims after every commit that writes an event."""
    now = bindparam("now", type_=UTCDateTime())
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
        .limit(bindparam("limit", type_=Integer))
        .with_for_update(skip_locked=True, of=Event)
    )
    return (
        update(Event)
        .where(Event.id.in_(due.scalar_subquery()))
        .values(leased_until=bindparam("until", type_=UTCDateTime()))
        .returning(Event.id)
    )


_CLAIM = _claiming()


async def claim(session: AsyncSession, *, now: datetime, lease: timedelta, limit: int) -> Batch:
    """Lease up to ``limit`` due events, each only once those before it of its brief are done."""
    until = now + lease
    result = await session.execute(_CLAIM, {"now": now, "until": until, "limit": limit})
    return Batch(sorted(result.scalars()), until)


async def keep(
    sessions: async_sessionmaker[AsyncSession],
    batch: Batch,
    *,
    clock: Clock,
    lease: timedelta,
    every: float,
    done: asyncio.Event,
) -> None:
    """Renew the batch's lease every ``every`` seconds until ``done`` (not cancelled: a
    renewal in hand finishes its transaction)."""
    failures = 0
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), every)
        if done.is_set():
            return
        try:
            await _renew(sessions, batch, clock=clock, lease=lease)
        except Exception:
            failures += 1
            if failures == 1:  # once an outage, not once a heartbeat
                log.exception("event dispatcher: renewing the lease failed; trying again")
        else:
            if failures:
                log.info("event dispatcher: renewing the lease works again")
            failures = 0


async def _renew(
    sessions: async_sessionmaker[AsyncSession], batch: Batch, *, clock: Clock, lease: timedelta
) -> None:
    now = clock()
    if now >= batch.until:
        return  # run out: see the module's docstring
    async with batch.lock:
        if not batch.held:
            return
        # Before the write: if its commit goes unanswered, the rows may hold it.
        batch.upper = until = max(now + lease, batch.upper)
        async with sessions.begin() as session:
            result = await session.execute(
                update(Event)
                .where(Event.id.in_(sorted(batch.held)), *_held_by(batch))
                .values(leased_until=until)
                .returning(Event.id)
            )
            renewed = set(result.scalars())
        batch.until = until
        lost = batch.held - renewed
        if lost:
            log.warning("event dispatcher: events %s were claimed by another one", sorted(lost))
            batch.held = renewed


async def release(sessions: async_sessionmaker[AsyncSession], batch: Batch) -> None:
    """Hand back the events not begun: another dispatcher may take them at once."""
    async with batch.lock, sessions.begin() as session:
        await session.execute(
            update(Event)
            .where(Event.id.in_(sorted(batch.held)), *_held_by(batch))
            .values(leased_until=None)
        )
        batch.held.clear()


def _held_by(batch: Batch) -> tuple[Any, ...]:
    return (
        Event.status == EventStatus.pending.value,
        Event.leased_until >= batch.until,
        Event.leased_until <= batch.upper,
    )
