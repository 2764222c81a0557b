"""A worker killed (SIGKILL) mid-batch loses no email, and duplicates only what was on the wire.

The bound: a message is marked sent only after the server accepted it and the worker recorded
that, so the only messages that can reach a reader twice are those the dead worker had claimed
('sending') but not recorded. The worker holds at most two batches in 'sending', and the
duplicates are exactly among the rows still 'sending' when it died: the test checks every
duplicate is one of those. (test_worker_flow bounds the sent-but-unrecorded ones further.)
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.clock import utcnow
from service.mail.compose import Composer
from service.mail.senders import SmtpSender
from service.settings import Settings
from tests.conftest import Clock
from tests.mail.conftest import MakeWorker
from tests.mail.helpers import mail, messages, queue
from tests.smtp import SmtpServer

ROOT = Path(__file__).resolve().parents[2]
COUNT = 60
BATCH = 20
KILL_AFTER = 10  # in the middle of the first batch


async def test_a_killed_worker_loses_nothing_and_duplicates_at_most_its_batch(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    composer: Composer,
    smtp_server: SmtpServer,
    make_worker: MakeWorker,
) -> None:
    # The worker in the other process runs on real time, so the mail is due by real time.
    await queue(sessions, composer, utcnow(), [mail(n) for n in range(COUNT)])
    # A slow server: each message is in its hands 0.2 s before it says 250, so the kill
    # lands while the message that made us kill is still on the wire.
    smtp_server.data_delay = 0.2
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.mail.crash_worker",
        settings.database_url,
        smtp_server.url,
        str(BATCH),
        cwd=ROOT,
    )
    try:
        await smtp_server.received(KILL_AFTER, within=30)
    finally:
        worker.kill()
        await worker.wait()

    rows = await messages(sessions)
    on_the_wire = {m.recipient for m in rows if m.status == "sending"}
    assert 0 < len(on_the_wire) <= 2 * BATCH  # the batch being sent, and the next one claimed
    assert any(m.status == "pending" for m in rows)  # killed mid-run, not after it

    smtp_server.data_delay = 0
    after_the_lease = Clock(utcnow() + timedelta(minutes=5, seconds=1))
    sender = SmtpSender.from_url(smtp_server.url)
    recovery = make_worker(sender, clock=after_the_lease)
    while await recovery.run_once():
        pass
    await sender.close()

    per_recipient = Counter(smtp_server.recipients())
    assert set(per_recipient) == {f"reader{n}@example.org" for n in range(COUNT)}  # none lost
    duplicates = {r for r, n in per_recipient.items() if n > 1}
    assert duplicates <= on_the_wire
    assert max(per_recipient.values()) <= 2
    assert {m.status for m in await messages(sessions)} == {"sent"}
