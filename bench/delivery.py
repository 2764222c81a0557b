"""Alert delivery: one publication to 10,000 immediate subscribers, through the real path.

Usage: python bench/delivery.py [--database-url URL] [-n 10000] [--concurrency 4] [--rounds 3]
                                [--webhook-endpoints 20]

N immediate subscribers whose filters all match the brief are inserted directly. Then
``learnhub serve`` runs in a subprocess with LEARNHUB_SMTP_URL pointing at an aiosmtpd sink
in another process; a brief is created and published through the API, and the path is the
real one: event -> dispatcher -> alerts -> mail queue -> MailWorker -> SmtpSender -> sink.
Timed from the publish request: the first message accepted by the sink, and all N. The
baseline, in the same run: a bare aiosmtplib loop sending the same N messages (read back
from the queue) over the same number of connections. Aim: ratio >= 0.7. A PostgreSQL
--database-url must name a database that does not exist: it is created and dropped.

On a small shared machine the bare loop's own rate moves by a third from one minute to the
next, so each round publishes a new brief and runs the bare loop right after it; the ratio
printed is the median of the rounds' ratios (each round's figures are printed too).

``--webhook-endpoints 20``: 20 partners' endpoints (an aiohttp receiver in another process,
answering 200 at once) are registered through the API and told of every publication, as
the same instance sends its mail: does posting them slow the mail path? Each round then
also waits for the 20 posts, and prints when the last came (from the publish request).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp
from _common import (
    PRACTITIONER_DOMAINS,
    THEMES,
    Mix,
    add_subscribers,
    bare_smtp,
    learnhub,
    learnhub_env,
    scratch_database,
    serve,
    sink,
    table,
    webhook_receiver,
)
from sqlalchemy import select

from service import db
from service.clock import utcnow
from service.mail.models import MailMessage
from tests.briefs_data import brief_body

TAGS = {"themes": ["safer-sleep", "infants"], "agencies": ["midwifery"], "boroughs": ["sefton"]}


def matching_filters(rng: random.Random) -> dict[str, list[str]]:
    """A filter the brief matches: empty, its own codes, a parent ("health"), or a mixture."""
    return {
        "themes": rng.choice([[], ["safer-sleep"], ["infants", rng.choice(THEMES)]]),
        "agencies": rng.choice([[], ["health"], ["midwifery", "police"]]),
        "boroughs": rng.choice([[], ["sefton"], ["sefton", "wirral"]]),
    }


async def seed(url: str, n: int) -> None:
    engine = db.create_engine(url)
    try:
        async with db.sessionmaker(engine).begin() as session:
            mix = Mix(n, immediate=1.0, daily=0, inactive=0, groups=0)
            await add_subscribers(
                session, mix, now=utcnow() - timedelta(days=1), filters=matching_filters
            )
    finally:
        await engine.dispose()


async def publish(base: str, token: str) -> float:
    """Create a draft, then publish it; the time.monotonic() the publish request was sent."""
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(base_url=base, headers=headers) as http:
        async with http.post("/api/v1/briefs", json=brief_body(**TAGS)) as response:
            brief = await response.json()
        sent = time.monotonic()
        async with http.post(f"/api/v1/briefs/{brief['id']}/publish", json={}) as response:
            if response.status != 200:
                raise SystemExit(f"publish failed: {response.status} {await response.text()}")
    return sent


async def bodies(url: str, n: int) -> list[bytes]:
    """The bodies of the last ``n`` messages queued: the last publication's alerts."""
    engine = db.create_engine(url)
    try:
        async with db.sessionmaker(engine)() as session:
            query = select(MailMessage.body).order_by(MailMessage.id.desc()).limit(n)
            return [b for b in await session.scalars(query) if b]
    finally:
        await engine.dispose()


async def register(base: str, token: str, port: int, endpoints: int) -> None:
    """Partners' endpoints told of every publication, registered as an admin would."""
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(base_url=base, headers=headers) as http:
        for e in range(endpoints):
            body = {"url": f"http://127.0.0.1:{port}/e{e}", "event_types": ["brief.published"]}
            async with http.post("/api/v1/webhooks", json=body) as response:
                if response.status != 201:
                    raise SystemExit(
                        f"registering failed: {response.status} {await response.text()}"
                    )


async def posted(count: Any, target: int, within: float = 120) -> float:
    """Wait until the receiver has taken ``target`` posts; time.monotonic() then."""
    deadline = time.monotonic() + within
    while target and count.value < target:
        if time.monotonic() > deadline:
            raise SystemExit(f"the receiver got {count.value} of {target} posts")
        await asyncio.sleep(0.005)
    return time.monotonic()


@dataclass
class Round:
    first: float  # publish -> first accepted
    real: float  # publish -> all accepted
    bare: float  # the bare loop, the same messages
    webhooks: float | None = None  # publish -> the last endpoint posted

    @property
    def ratio(self) -> float:
        return self.bare / self.real


async def main(url: str | None, n: int, concurrency: int, rounds: int, endpoints: int) -> None:
    async with scratch_database(url) as database_url, sink() as target:
        with (
            tempfile.TemporaryDirectory(prefix="learnhub-bench-") as tmp,
            contextlib.ExitStack() as stack,
        ):
            env = learnhub_env(
                database_url,
                tmp,
                smtp_url=f"smtp://127.0.0.1:{target.port}",
                mail_concurrency=str(concurrency),
                practitioner_domains=",".join(PRACTITIONER_DOMAINS),
                webhooks_allow_private="true",
            )
            await asyncio.to_thread(learnhub, env, "db", "upgrade")
            token = await asyncio.to_thread(
                learnhub, env, "staff", "add", "bench@example.org", "--role", "publisher"
            )
            await seed(database_url, n)
            results = []
            count: Any = None
            async with serve(env) as base:
                if endpoints:
                    port, count = stack.enter_context(webhook_receiver())
                    admin = await asyncio.to_thread(
                        learnhub, env, "staff", "add", "admin@example.org", "--role", "admin"
                    )
                    await register(base, admin, port, endpoints)
                for k in range(1, rounds + 1):
                    target.reset()
                    sent = await publish(base, token)
                    hooks = asyncio.create_task(posted(count, k * endpoints if endpoints else 0))
                    done = await target.until(n)
                    first = target.first.value - sent
                    webhooks = await hooks - sent if endpoints else None
                    messages = await bodies(database_url, n)
                    bare = await bare_smtp(target, messages, concurrency)
                    results.append(Round(first, done - sent, bare, webhooks))
    size = sum(map(len, messages)) / len(messages) / 1024
    print(
        f"database  {database_url.split(':')[0]}; {n} immediate subscribers, "
        f"messages of {size:.1f} KB, {concurrency} SMTP connections, "
        f"{endpoints} webhook endpoints; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    table(
        [
            "round",
            "first email",
            "all accepted",
            "real path",
            "bare aiosmtplib",
            "ratio",
            "webhooks posted",
        ],
        [
            [
                k,
                f"{r.first:.2f} s",
                f"{r.real:.1f} s",
                f"{n / r.real:.0f} msg/s",
                f"{n / r.bare:.0f} msg/s",
                f"{r.ratio:.2f}",
                "-" if r.webhooks is None else f"{r.webhooks:.2f} s",
            ]
            for k, r in enumerate(results, start=1)
        ],
    )
    ratio = statistics.median(r.ratio for r in results)
    first = statistics.median(r.first for r in results)
    print(f"median ratio {ratio:.2f} (aim >= 0.7); publish -> first email {first:.2f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: a temp SQLite file")
    parser.add_argument("-n", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3, help="publications, each then bare")
    parser.add_argument(
        "--webhook-endpoints", type=int, default=0, help="partners' endpoints told of each"
    )
    args = parser.parse_args()
    asyncio.run(
        main(args.database_url, args.n, args.concurrency, args.rounds, args.webhook_endpoints)
    )
