"""A mail worker in a process of its own, for test_crash to kill mid-batch.

python -m tests.mail.crash_worker DATABASE_URL SMTP_URL BATCH_SIZE
"""

from __future__ import annotations

import asyncio
import sys

from service import db
from service.clock import utcnow
from service.mail.senders import SmtpSender
from service.mail.worker import MailWorker


async def main(database_url: str, smtp_url: str, batch_size: int) -> None:
    engine = db.create_engine(database_url)
    sender = SmtpSender.from_url(smtp_url, concurrency=4)
    worker = MailWorker(
        db.sessionmaker(engine),
        sender,
        utcnow,
        envelope_from="learning@localhost",
        concurrency=4,
        batch_size=batch_size,
    )
    worker.start()
    await asyncio.Event().wait()  # until SIGKILL


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
