"""Mailing many people: the one way through for alerts, digests and withdrawal notices.

A job hands ``queue_in_bulk`` its work in batches (recipients, people of a digest run). Each
batch's emails are composed and rendered on the read side (a read session: on SQLite a
write session would hold the write lock while rendering) while the batch before is inserted
in short write transactions; the job is told after each commit, so that the mail worker is
woken and starts on the first emails while the rest are being rendered.

Everything is keyed (``Outgoing.key``), so a job that fails half-way and runs again queues
nothing twice. What must be queued in the same transaction as another change (a digest
rewritten as the old one is cancelled) uses ``service.mail.service.enqueue_many`` instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, Collection, Iterable, Sequence
from datetime import datetime
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.mail.compose import Composer
from service.mail.service import (
    RENDER_SLICE,
    Drafts,
    Outgoing,
    Prepared,
    enqueue_prepared,
    overlapped,
    prepare_many,
)

Sessions = async_sessionmaker[AsyncSession]
B = TypeVar("B")
# A batch is inserted in transactions of at most this many emails: on SQLite the mail worker
# writes its outcomes through the same connection, and waits for at most one of them.
PER_TRANSACTION = 250

Compose = Callable[[AsyncSession, B], Awaitable[Sequence[Outgoing]]]
# In the write transaction, before the batch's emails are inserted: the keys that may be
# (None: all). A digest run writes its per-person rows here and admits those that are new.
Admit = Callable[[AsyncSession, B, Sequence[Outgoing]], Awaitable[Collection[str] | None]]
Written = Callable[[B, int], Awaitable[None]]  # after a batch is committed: (batch, new)
Rendered = tuple[B, Sequence[Outgoing], list[Prepared]]


async def queue_in_bulk(
    batches: Iterable[B],
    compose: Compose[B],
    *,
    reads: Sessions,
    writes: Sessions,
    composer: Composer,
    now: datetime,
    drafts: Drafts | None = None,
    admit: Admit[B] | None = None,
    written: Written[B] | None = None,
    wake: Callable[[], None] | None = None,
) -> int:
    """Compose, render and queue each batch's emails; how many were new.

    ``wake`` is told after each commit. A failure stops the job at the next batch and is
    raised; what was committed stays, and a rerun skips it by key. ``drafts`` is shared by
    the calls of one job (a digest run planned again passes a new one).
    """
    drafts = Drafts() if drafts is None else drafts
    new = 0

    async def prepared() -> AsyncGenerator[Rendered[B], None]:
        for batch in batches:
            async with reads() as session:
                outgoing = await compose(session, batch)
                rendered = await prepare_many(
                    session, outgoing, composer=composer, now=now, drafts=drafts
                )
            yield batch, outgoing, rendered

    async def write(item: Rendered[B]) -> None:
        nonlocal new
        batch, outgoing, rendered = item
        by_key = {p.outgoing.key: p for p in rendered}
        count = 0
        for start in range(0, len(outgoing), PER_TRANSACTION):
            part = outgoing[start : start + PER_TRANSACTION]
            async with writes.begin() as session:
                admitted = await admit(session, batch, part) if admit else None
                emails = [
                    by_key[o.key]
                    for o in part
                    if o.key in by_key and (admitted is None or o.key in admitted)
                ]
                count += await enqueue_prepared(session, emails)
            if wake:
                wake()  # the mail worker starts on these while the rest are written
        new += count
        if written:
            await written(batch, count)

    await overlapped(prepared(), write)
    return new


async def turn(n: int) -> None:
    """Between composing two emails: give the event loop (the mail worker's lanes) its
    turn every few, as rendering does."""
    if n % RENDER_SLICE == 0:
        await asyncio.sleep(0)
