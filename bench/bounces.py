"""How fast bounces are read: 10,000 DSNs (Postfix-style, each to its message's VERP
address) in a Maildir, read by the poll ``learnhub serve`` runs. Aim: under 30 s.

    .venv/bin/python bench/bounces.py [--count 10000] [--database-url postgresql+asyncpg://…/new]

Every 20th DSN is a delay (soft), every message's recipient gets several hard bounces, so
suspensions are counted too; the raw limit is parsing the same messages with flufl.bounce
alone.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import mailbox
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from flufl.bounce import all_failures
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import scratch_database, table
from service import db
from service.mail.models import MailMessage
from service.mail.verp import ReturnPath
from service.migrate import upgrade
from subscribers.subscriptions.bounces import poll
from tests.mail.reports import postfix_dsn

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
RETURN_PATH = ReturnPath("bounces@learnhub.example", "bench-key")


async def main(count: int, url: str | None) -> None:
    async with scratch_database(url) as database_url:
        await upgrade(database_url)
        engine = db.create_engine(database_url)
        sessions = db.sessionmaker(engine)
        people = max(count // 4, 1)
        async with sessions.begin() as session:
            rows = [
                {
                    "idempotency_key": f"bench:{n}",
                    "kind": "alert",
                    "recipient": f"reader{n % people}@nhs.example",
                    "subject": "New learning brief",
                    "body": None,
                    "status": "sent",
                    "attempts": 1,
                    "next_attempt_at": NOW,
                    "created_at": NOW,
                    "sent_at": NOW,
                }
                for n in range(1, count + 1)
            ]
            await session.execute(insert(MailMessage), rows)
        with tempfile.TemporaryDirectory(prefix="learnhub-bounces-") as tmp:
            box = mailbox.Maildir(Path(tmp) / "bounces", create=True)
            raws = []
            for n in range(1, count + 1):
                delayed = n % 20 == 0
                raw = postfix_dsn(
                    f"reader{n % people}@nhs.example",
                    envelope_to=RETURN_PATH.address(n),
                    action="delayed" if delayed else "failed",
                    status="4.4.1" if delayed else "5.1.1",
                )
                raws.append(raw)
                box.add(raw)
            start = time.perf_counter()
            for raw in raws:
                all_failures(email.message_from_bytes(raw))
            parsing = time.perf_counter() - start
            start = time.perf_counter()
            done = await poll(
                sessions, Path(tmp) / "bounces", return_path=RETURN_PATH, clock=lambda: NOW
            )
            took = time.perf_counter() - start
        await engine.dispose()
    dialect = "PostgreSQL" if database_url.startswith("postgresql") else "SQLite"
    table(
        [
            "database",
            "DSNs",
            "read and recorded",
            "per second",
            "hard / soft / suspended",
            "flufl.bounce alone",
        ],
        [
            [
                dialect,
                count,
                f"{took:.1f} s",
                f"{count / took:,.0f}",
                f"{len(done.hard)} / {len(done.soft)} / {len(done.suspended)}",
                f"{parsing:.1f} s",
            ]
        ],
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--database-url")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.count, arguments.database_url))
