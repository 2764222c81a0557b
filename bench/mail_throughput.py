"""Mail throughput: the real MailWorker and SmtpSender against a bare aiosmtplib loop.

Usage: python bench/mail_throughput.py [--database-url URL] [-n 10000] [--concurrency 4]

Both send N messages of about 6 KB (multipart text and HTML, from the ``test`` template) to
one aiosmtpd sink running in a separate process, over the same number of connections. The
baseline is the least any sender must do: prebuilt messages, one sendmail after another on
each connection, no database. The worker run queues the N messages first (timed apart), then
times from ``start()`` until the sink holds all N. The database's mail tables are emptied
first: point --database-url at a scratch database.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import resource
import socket
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiosmtplib import SMTP  # noqa: E402
from sqlalchemy import delete, update  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker  # noqa: E402

from service import db  # noqa: E402
from service.clock import utcnow  # noqa: E402
from service.mail.compose import Composer  # noqa: E402
from service.mail.models import MailDelivery, MailMessage  # noqa: E402
from service.mail.senders import SmtpSender  # noqa: E402
from service.mail.service import Outgoing, enqueue_many  # noqa: E402
from service.mail.worker import MailWorker  # noqa: E402
from service.migrate import upgrade  # noqa: E402

HOST = "127.0.0.1"
PARAGRAPH = (
    "Practitioners across agencies held pieces of information about the household; nobody "
    "held the whole picture. Professional curiosity, and escalation when a plan is not working, "
    "would have brought the concerns about neglect and the hidden adult male together sooner. "
)
COMPOSER = Composer(
    mail_from="Learning Hub <learning@localhost>", base_url="https://learnhub.example"
)


def outgoing(n: int) -> Outgoing:
    return Outgoing(
        kind="test",
        recipient=f"reader{n}@example.org",
        key=f"bench:{n}",
        context={
            "subject": f"Learning brief {n}: Child R, neglect and escalation",
            "heading": "What we learned",
            "paragraphs": [PARAGRAPH] * 8,
        },
        unsubscribe_url=f"https://learnhub.example/unsubscribe/{n:040d}",
    )


# The sink, in a process of its own so that it does not share our event loop or GIL.


def sink(port: int, count: Any, ready: Any) -> None:
    from aiosmtpd.controller import Controller

    class Counter:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            with count.get_lock():
                count.value += 1
            return "250 OK"

    controller = Controller(Counter(), hostname=HOST, port=port)
    controller.start()
    ready.set()
    multiprocessing.Event().wait()  # until terminated


async def until(count: Any, target: int) -> None:
    # The count lives in another process: polling it is the simplest way to see it change.
    while count.value < target:  # noqa: ASYNC110
        await asyncio.sleep(0.005)


async def bare(port: int, messages: list[bytes], concurrency: int, count: Any) -> float:
    count.value = 0
    start = time.perf_counter()

    async def connection(share: list[bytes]) -> None:
        async with SMTP(hostname=HOST, port=port) as smtp:
            for n, message in enumerate(share):
                await smtp.sendmail("learning@localhost", [f"bare{n}@example.org"], message)

    await asyncio.gather(*(connection(messages[i::concurrency]) for i in range(concurrency)))
    await until(count, len(messages))
    return time.perf_counter() - start


async def queue_all(sessions: async_sessionmaker[AsyncSession], n: int) -> float:
    async with sessions.begin() as session:
        await session.execute(delete(MailDelivery))
        await session.execute(delete(MailMessage))
    start = time.perf_counter()
    for first in range(0, n, 2000):
        async with sessions.begin() as session:
            batch = [outgoing(i) for i in range(first, min(n, first + 2000))]
            await enqueue_many(session, batch, composer=COMPOSER, now=utcnow())
    return time.perf_counter() - start


async def worker_run(
    sessions: async_sessionmaker[AsyncSession], port: int, n: int, concurrency: int, count: Any
) -> float:
    async with sessions.begin() as session:
        await session.execute(
            update(MailMessage).values(
                status="pending",
                attempts=0,
                sent_at=None,
                leased_until=None,
                next_attempt_at=utcnow(),
            )
        )
    count.value = 0
    sender = SmtpSender.from_url(f"smtp://{HOST}:{port}", concurrency=concurrency)
    worker = MailWorker(
        sessions, sender, utcnow, envelope_from="learning@localhost", concurrency=concurrency
    )
    start = time.perf_counter()
    worker.start()
    await until(count, n)
    elapsed = time.perf_counter() - start
    await worker.stop()
    await sender.close()
    return elapsed


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def main(url: str, n: int, concurrency: int, rounds: int) -> None:
    await upgrade(url)
    engine = db.create_engine(url)
    sessions = db.sessionmaker(engine)
    port = free_port()
    spawn = multiprocessing.get_context("spawn")
    count = spawn.Value("i", 0)
    ready = spawn.Event()
    process = spawn.Process(target=sink, args=(port, count, ready), daemon=True)
    process.start()
    await asyncio.to_thread(ready.wait)
    try:
        now = utcnow()
        messages = [
            COMPOSER.compose(
                "test", o.recipient, o.context, now=now, unsubscribe_url=o.unsubscribe_url
            ).message
            for o in map(outgoing, range(n))
        ]
        queued = await queue_all(sessions, n)
        # Interleaved rounds, best of each: on a shared machine the least disturbed run is
        # the closest to what the code costs.
        bare_runs, worker_runs = [], []
        for _ in range(rounds):
            bare_runs.append(await bare(port, messages, concurrency, count))
            worker_runs.append(await worker_run(sessions, port, n, concurrency, count))
    finally:
        process.terminate()
        process.join()
        await engine.dispose()
    report(url, n, concurrency, sum(map(len, messages)) / n, queued, bare_runs, worker_runs)


def report(
    url: str,
    n: int,
    concurrency: int,
    size: float,
    queued: float,
    bare_runs: list[float],
    worker_runs: list[float],
) -> None:
    bare_rate, worker_rate = n / min(bare_runs), n / min(worker_runs)
    print(f"database            {url.split(':')[0]}")
    print(f"messages            {n} of {size / 1024:.1f} KB, {concurrency} connections")
    print(f"bare aiosmtplib     {bare_rate:8.0f} messages/s  (runs: {_rates(n, bare_runs)})")
    print(f"MailWorker          {worker_rate:8.0f} messages/s  (runs: {_rates(n, worker_runs)})")
    print(f"ratio               {worker_rate / bare_rate:8.2f}  (aim >= 0.7)")
    print(f"queueing            {n / queued:8.0f} messages/s  (render + INSERT, not in the ratio)")
    print(f"peak RSS            {peak_rss_mb():8.0f} MB")


def _rates(n: int, runs: list[float]) -> str:
    return ", ".join(f"{n / r:.0f}" for r in runs)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="sqlite+aiosqlite:////tmp/learnhub-mail-bench.db")
    parser.add_argument("-n", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.database_url, args.n, args.concurrency, args.rounds))
