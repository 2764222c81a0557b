"""Bounces and complaints that come back after sending, read from the MTA's pipe or a Maildir.

Each report is read (service.mail.reports), recorded against its message and address
(service.mail.bounces: hard bounces count towards a suspension, soft ones are kept), and a
complaint ends the person's subscription at once, as their own unsubscribe would, with
whatever is still queued for them cancelled.

The Maildir is read a batch at a time: the batch's reports are recorded in one transaction
and the files removed once it has committed. A crash in between leaves files that are read
again, and counted once: each report's key is unique with its address.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from contextlib import aclosing
from datetime import timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.clock import Clock
from service.mail import bounces, reports
from service.mail import maildir as maildir_reader
from service.mail.bounces import Recorded
from service.mail.reports import Report
from service.mail.verp import ReturnPath
from subscribers.subscriptions import service as subscriptions

logger = logging.getLogger(__name__)
EVERY = timedelta(minutes=1)
BATCH = 200
COMPLAINED = "recipient complained"


async def ingest(
    session: AsyncSession, raws: Sequence[bytes], *, return_path: ReturnPath | None, clock: Clock
) -> Recorded:
    """Record the reports the raw messages make, in the caller's transaction."""
    read = []
    for n, raw in enumerate(raws, start=1):
        read.append(reports.read(raw, return_path))
        if n % 8 == 0:
            await asyncio.sleep(0)  # reading is on the event loop: let others run
    return await record(session, read, clock=clock)


async def record(session: AsyncSession, read: Sequence[Report], *, clock: Clock) -> Recorded:
    """Record the reports, in the caller's transaction; complaints end subscriptions."""
    done = await bounces.record_many(session, read, now=clock())
    for email in dict.fromkeys(done.complaints):
        await _unsubscribe(session, email, clock)
    return done


async def _unsubscribe(session: AsyncSession, email: str, clock: Clock) -> None:
    subscriber = await subscriptions.by_email(session, email)
    if subscriber is not None:
        subscriptions.end(subscriber, clock())
    await bounces.cancel_pending(session, email, COMPLAINED)


async def poll(
    sessions: async_sessionmaker[AsyncSession],
    maildir: Path,
    *,
    return_path: ReturnPath | None,
    clock: Clock,
    batch: int = BATCH,
) -> Recorded:
    """Read every report in the Maildir, a batch a transaction; each file is removed once its
    batch has committed. Reports that arrive meanwhile are read too."""
    done = Recorded()
    while True:
        found, removing = 0, []
        read = maildir_reader.batches(maildir, return_path=return_path, size=batch)
        try:
            async with aclosing(read) as each:
                async for files in each:
                    found += len(files)
                    async with sessions.begin() as session:
                        recorded = await record(session, [r for _, r in files], clock=clock)
                    # Committed: its files go while the next batch is recorded (removing a
                    # file the MTA wrote costs about a millisecond, mostly waiting on disk).
                    paths = [path for path, _ in files]
                    removing.append(asyncio.create_task(_remove(paths)))
                    done.add(recorded)
        finally:
            await asyncio.gather(*removing)
        if not found:
            break
    if done.hard or done.soft or done.complaints or done.not_understood or done.unmatched:
        log(done, "maildir")
    return done


async def _remove(paths: Sequence[Path]) -> None:
    await asyncio.to_thread(maildir_reader.remove, paths)


def log(done: Recorded, source: str) -> None:
    logger.info(
        "bounces from the %s: %d hard, %d soft, %d complaints; %d addresses suspended; "
        "%d read before, %d about nothing we sent, %d not understood",
        source,
        len(done.hard),
        len(done.soft),
        len(done.complaints),
        len(done.suspended),
        done.repeated,
        done.unmatched,
        done.not_understood,
    )
