"""Webhook throughput: the real WebhookWorker and Transport against a bare aiohttp loop.

Usage: python bench/webhooks.py [--database-url URL] [-n 250] [--endpoints 20] [--rounds 3]

N events for each of 20 endpoints (N x 20 deliveries of a usual ~450-byte body) are posted
to one aiohttp receiver running in a separate process, answering 200 at once. The baseline
is the least any sender must do: the same bodies, signed beforehand, posted by 8 tasks
(the worker's concurrency) over one aiohttp ClientSession with keep-alive, no database. The
worker's run resets the rows to pending, then times its rounds of claim, post, and write of
each outcome under its lease, until none is due. Rounds interleave, best of each.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import aiohttp
from _common import HOST, peak_rss_mb, scratch_database, webhook_receiver
from sqlalchemy import delete, insert, update

from service import db
from service.clock import utcnow
from service.mail.compose import Composer
from service.migrate import upgrade
from service.staff.models import Role, StaffMember
from service.webhooks import signing
from service.webhooks.models import WebhookDelivery, WebhookEndpoint
from service.webhooks.transport import Transport
from service.webhooks.worker import WebhookWorker

CONCURRENCY = 8  # the worker's default
COMPOSER = Composer(mail_from="Learning Hub <learning@localhost>", base_url="https://x.example")


def body(n: int) -> str:
    brief = uuid.UUID(int=n)
    return (
        '{"type":"brief.published","timestamp":"2026-12-04T15:02:11.482113Z","data":{'
        f'"id":"{brief}","title":"Safer sleep and the crying baby: learning from Baby {n}",'
        f'"url":"https://learnhub.example/briefs/{brief}","audience":"public",'
        '"themes":["safer-sleep","parental-mental-health"],"agencies":["health-visiting"],'
        '"boroughs":["sefton"],"revision":1,"publication":1,'
        '"published_at":"2026-12-04T15:02:11.482113Z"}}'
    )


async def seed(sessions: Any, port: int, events: int, endpoints: int) -> list[tuple[str, str]]:
    """The endpoints and their deliveries; (url, body) of each, for the bare loop."""
    now = utcnow()
    async with sessions.begin() as session:
        await session.execute(delete(WebhookDelivery))
        await session.execute(delete(WebhookEndpoint))
        await session.execute(delete(StaffMember))
        staff = StaffMember(
            email="bench@x.example", role=Role.admin, token_hash="-" * 64, created_at=now
        )
        session.add(staff)
        await session.flush()
        ids = []
        for e in range(endpoints):
            endpoint = WebhookEndpoint(
                url=f"http://{HOST}:{port}/e{e}",
                event_types=["brief.published"],
                themes=[],
                agencies=[],
                boroughs=[],
                practitioner_trusted=False,
                secret=signing.new_secret(),
                status="active",
                created_at=now,
                created_by=staff.id,
            )
            session.add(endpoint)
            await session.flush()
            ids.append(endpoint.id)
        rows = [
            {
                "endpoint_id": ids[e],
                "event_id": n,
                "message_id": signing.new_message_id(),
                "type": "brief.published",
                "brief_id": uuid.UUID(int=n),
                "body": body(n),
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for n in range(events)
            for e in range(endpoints)
        ]
        await session.execute(insert(WebhookDelivery), rows)
    return [(f"http://{HOST}:{port}/e{r['endpoint_id']}", r["body"]) for r in rows]


async def bare(posts: list[tuple[str, str]], count: Any) -> float:
    secret = signing.new_secret()
    now = datetime.now(UTC)
    prepared = [
        (url, text.encode(), signing.headers(secret, signing.new_message_id(), text, now))
        for url, text in posts
    ]
    queue: asyncio.Queue[tuple[str, bytes, dict[str, str]]] = asyncio.Queue()
    for item in prepared:
        queue.put_nowait(item)
    count.value = 0
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def lane() -> None:
            while not queue.empty():
                url, data, headers = queue.get_nowait()
                async with session.post(url, data=data, headers=headers) as response:
                    await response.read()
                    assert response.status == 200

        start = time.perf_counter()
        await asyncio.gather(*(lane() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - start
    assert count.value == len(posts), (count.value, len(posts))
    return elapsed


async def worker_run(sessions: Any, n: int, count: Any) -> float:
    async with sessions.begin() as session:
        await session.execute(
            update(WebhookDelivery).values(
                status="pending", attempts=0, leased_until=None, next_attempt_at=utcnow()
            )
        )
    count.value = 0
    transport = Transport(allow_private=True)
    worker = WebhookWorker(sessions, utcnow, transport, composer=COMPOSER)
    start = time.perf_counter()
    while await worker.run_once():
        pass
    elapsed = time.perf_counter() - start
    await transport.close()
    assert count.value == n, (count.value, n)
    return elapsed


async def main(url: str | None, events: int, endpoints: int, rounds: int) -> None:
    async with scratch_database(url) as database_url:
        await upgrade(database_url)
        database = db.Database.open(database_url)
        try:
            with webhook_receiver() as (port, count):
                posts = await seed(database.sessions, port, events, endpoints)
                bare_runs, worker_runs = [], []
                for _ in range(rounds):
                    bare_runs.append(await bare(posts, count))
                    worker_runs.append(await worker_run(database.sessions, len(posts), count))
        finally:
            await database.dispose()
    n = len(posts)
    bare_rate, worker_rate = n / min(bare_runs), n / min(worker_runs)
    print(f"database            {database_url.split(':')[0]}")
    print(f"load average        {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"deliveries          {n} ({events} events x {endpoints} endpoints), {CONCURRENCY} at once"
    )
    print(f"bare aiohttp        {bare_rate:8.0f} posts/s  (runs: {_rates(n, bare_runs)})")
    print(f"WebhookWorker       {worker_rate:8.0f} posts/s  (runs: {_rates(n, worker_runs)})")
    print(f"ratio               {worker_rate / bare_rate:8.2f}")
    print(f"peak RSS            {peak_rss_mb():8.0f} MB")


def _rates(n: int, runs: list[float]) -> str:
    return ", ".join(f"{n / r:.0f}" for r in runs)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("-n", type=int, default=250, help="events (each to every endpoint)")
    parser.add_argument("--endpoints", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.database_url, args.n, args.endpoints, args.rounds))
