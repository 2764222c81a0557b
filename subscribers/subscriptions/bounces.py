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
import mailbox
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.clock import Clock
from service.mail import bounces, reports
from service.mail.bounces import Recorded
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
    done = Recorded()
    for n, raw in enumerate(raws, start=1):
        report = reports.read(raw, return_path)
        recorded = await bounces.record(session, report, now=clock())
        for email in recorded.complaints:
            await _unsubscribe(session, email, clock)
        done.add(recorded)
        if n % 8 == 0:
            await asyncio.sleep(0)  # reading is on the event loop: let others run
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
    batch has committed."""
    box = mailbox.Maildir(maildir, create=True)
    done = Recorded()
    while True:
        keys, raws = await asyncio.to_thread(_take, box, batch)
        if not keys:
            break
        async with sessions.begin() as session:
            recorded = await ingest(session, raws, return_path=return_path, clock=clock)
        await asyncio.to_thread(_remove, box, keys)
        done.add(recorded)
        if len(keys) < batch:
            break
    if done.hard or done.soft or done.complaints or done.not_understood or done.unmatched:
        log(done, "maildir")
    return done


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


def _take(box: mailbox.Maildir, batch: int) -> tuple[list[str], list[bytes]]:
    keys, raws = [], []
    for key in sorted(box.iterkeys())[:batch]:
        try:
            raws.append(box.get_bytes(key))
        except KeyError:  # taken by another instance since it was listed
            continue
        keys.append(key)
    return keys, raws


def _remove(box: mailbox.Maildir, keys: Sequence[str]) -> None:
    for key in keys:
        box.discard(key)
